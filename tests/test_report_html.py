"""The HTML report without a browser: escaping of dump text, the Content-Security-Policy, no
reference to anything outside the file, the sections in reader order, and a bounded size for a
150,000-pod dump."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from forensics.render import charts
from forensics.render.html import render_html

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "findings-example.json"
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


class Page(HTMLParser):
    """Every element and attribute of a page, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def page(doc: dict[str, Any]) -> tuple[str, Page]:
    html = render_html(doc)
    return html, parse(html)


def test_fixture_holds_the_payloads(doc: dict[str, Any]) -> None:
    raw = json.dumps(doc)
    assert all(json.dumps(p)[1:-1] in raw for p in PAYLOADS)


def test_payloads_are_text_not_markup(page: tuple[str, Page]) -> None:
    html, p = page
    for payload in PAYLOADS:
        assert payload not in html
    text = "".join(p.text)
    assert "ledger-api-w4wr2qc9p-<script>alert(1)</script>" in text
    assert "<img src=x onerror=alert(1)>" in text
    assert [t for t, _ in p.tags].count("script") == 1
    assert "img" not in [t for t, _ in p.tags]
    handlers = [(t, a) for t, attrs in p.tags for a in attrs if a.lower().startswith("on")]
    assert handlers == []


def test_csp_allows_only_our_script_and_nothing_remote(page: tuple[str, Page]) -> None:
    _, p = page
    metas = [a for t, a in p.tags if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1
    policy = {d.split()[0]: d.split()[1:] for d in (metas[0]["content"] or "").split(";") if d.strip()}
    assert policy["default-src"] == ["'none'"]
    assert policy["img-src"] == ["data:"]
    (script,) = p.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy["script-src"] == [f"'sha256-{digest}'"]
    # the policy must come before anything it governs
    names = [t for t, _ in p.tags]
    assert names.index("meta") < names.index("style") < names.index("script")


def test_nothing_outside_the_file_is_referenced(page: tuple[str, Page]) -> None:
    html, p = page
    for tag, attrs in p.tags:
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            v = attrs.get(name)
            if v is not None and name != "data":
                assert v.startswith("#"), f"<{tag} {name}={v!r}>"
    assert tag not in ("link", "iframe", "object", "embed", "base")
    assert not re.search(r"@import|url\((?!#)|@font-face", html)


def test_sections_in_reader_order(page: tuple[str, Page], doc: dict[str, Any]) -> None:
    _, p = page
    ids = [a.get("id") for t, a in p.tags if t == "section" and a.get("id")]
    assert ids == ["verdict", "inventory", "findings", "latent", "other", "limits", "metadata"]
    text = " ".join(" ".join(p.text).split())
    assert " ".join(doc["summary"]["verdict"].split()) in text
    for c in doc["summary"]["causes"]:
        assert c["cause"] in text
    for f in doc["dump"]["files"]:
        assert f["sha256"] in text
    assert "Input data was truncated" in text
    assert 'User "support" cannot list resource "events"' in text


def test_charts_are_inline_svg_without_prologue(page: tuple[str, Page]) -> None:
    html, p = page
    svgs = [a for t, a in p.tags if t == "svg"]
    assert len(svgs) == 2
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    ids = [a["id"] for _, a in p.tags if a.get("id")]
    assert len(ids) == len(set(ids)), "element ids must be unique in the page"


def test_chart_labels_from_the_dump_cannot_become_markup() -> None:
    evil = [
        {
            "at": "2024-03-12T10:00:00Z",
            "what": "pool <script>alert(1)</script> $x^2$ created",
            "kind": "node-pool",
            "source": "nodes.json",
        },
        {"at": "2024-03-12T11:00:00Z", "what": "first failure", "kind": "first-failure", "source": ""},
    ]
    svg = charts.timeline_svg(evil, [])
    assert svg is not None and svg.startswith("<svg")
    assert "<script" not in svg and "alert(1)" in svg
    series = [
        {"snapshot": "s1", "at": "2024-03-12T10:00:00Z", "arch": "<b>arm64</b>", "restarts": 3, "failing_pods": 1}
    ]
    svg = charts.restarts_by_arch_svg(series)
    assert svg is not None and "<b>" not in svg
    assert charts.restarts_by_arch_svg([]) is None
    assert charts.timeline_svg([], []) is None


def test_an_empty_document_still_renders() -> None:
    html = render_html(
        {"schema": "cluster-forensics-findings/1", "tool": {"name": "cluster-forensics", "version": "0"}}
    )
    assert "No failing workloads found" in html
    assert html.count("<section") == 7


def test_big_dump_report_stays_small(doc: dict[str, Any]) -> None:
    """150,000 pods: 3,000 failing workloads of 50 pods, each with 100 evidence items."""
    big = copy.deepcopy(doc)
    f0 = big["findings"][0]
    ev = f0["evidence"][0]
    findings = []
    for i in range(3000):
        f = dict(f0)
        f["id"] = f"f-{i:010d}"
        f["workload"] = {"kind": "Deployment", "namespace": f"ns-{i % 40}", "name": f"svc-{i}"}
        f["pods"] = [f"svc-{i}-pod-{j}" for j in range(50)]
        f["evidence"] = [dict(ev, text=f"exec /app/svc-{i}: exec format error #{j % 7}", line=j) for j in range(100)]
        f["restart_matrix"] = [
            {"arch": "arm64", "node": f"node-{j}", "pods": 1, "restarts": 5, "failing": 1} for j in range(50)
        ]
        findings.append(f)
    big["findings"] = findings
    big["inventory"]["nodes"] = [dict(big["inventory"]["nodes"][0], name=f"node-{j}") for j in range(2000)]
    big["inventory"]["nodes_total"] = 5000
    big["dump"]["files"] = [
        {"path": f"snapshots/s/logs/ns/p{j}/c.log", "size": 100, "sha256": "0" * 64} for j in range(150_000)
    ]
    big["load_problems"] = [{"file": f"f{j}", "what": "bad", "why": "truncated"} for j in range(20_000)]
    html = render_html(big)
    assert len(html.encode()) < 4_000_000
    assert "and 149,700 more files" in html
    p = parse(html)
    cards = [a for t, a in p.tags if t == "article"]
    assert 1 < len(cards) <= 60
    # every failing workload is a row of the findings table (tests/test_report_scale.py has the details)
    text = " ".join(p.text)
    assert all(f"svc-{i} " in text or text.endswith(f"svc-{i}") or f"/svc-{i}" in text for i in range(3000))
