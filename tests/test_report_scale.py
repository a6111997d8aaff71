"""The HTML report at scale: thousands of findings keep full detail for the most severe few, and every
finding is a row of the one findings table (sortable, filterable), so nothing is left out and the page
stays small. Size and load time at 150,000 pods are measured by bench/run.py, not here."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from forensics.render.html import TABLE_PAGE, TOP_IN_FULL, render_html
from forensics.render.view import workload_label

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "findings-example.json"
CAUSES = (
    "arch.single-arch-image",
    "arch.index-missing-platform",
    "oom-killed",
    "app-crash",
    "liveness-probe",
)
SEVERITIES = ("critical", "high", "medium", "low")


class Report(HTMLParser):
    """The rows of the findings and latent tables, the finding cards, and every anchor target."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.cards: list[str] = []
        self.ids: set[str] = set()
        self.anchors: list[str] = []
        self._table: str | None = None
        self._row: dict[str, Any] | None = None
        self._cell = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "table" and a.get("id") in ("findings-table", "latent-table"):
            self._table = str(a["id"])
            self.rows[self._table] = []
        elif tag == "tr" and self._table is not None and "data-cause" in a:
            self._row = {"cause": a["data-cause"], "cells": [], "links": [], "hidden": "hidden" in a}
            self._cell = -1
        elif tag == "td" and self._row is not None:
            self._row["cells"].append("")
            self._cell += 1
        elif tag == "a" and self._row is not None:
            self._row["links"].append(a.get("href"))
        if tag == "a" and str(a.get("href") or "").startswith("#"):
            self.anchors.append(str(a["href"])[1:])
        elif tag == "article" and "finding" in (a.get("class") or ""):
            self.cards.append(str(a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None and self._table is not None:
            self.rows[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell >= 0:
            self._row["cells"][self._cell] += data


def _parse(html: str) -> Report:
    r = Report()
    r.feed(html)
    r.close()
    return r


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    doc = json.loads(EXAMPLE.read_text())
    f0 = doc["findings"][0]
    findings = []
    for i in range(4000):
        f = copy.deepcopy(f0)
        f.update(
            id=f"f-{i:010d}",
            cause=CAUSES[i % len(CAUSES)],
            severity=SEVERITIES[min(i // 1000, 3)],
            workload={"kind": "Deployment", "namespace": f"team-{i % 37}", "name": f"svc-{i}"},
            pods=[f"svc-{i}-{j}" for j in range(8)],
            restarts=i % 97,
            caused_by=None,
            consequences=[],
        )
        f["evidence"] = [
            dict(e, text=f"evidence line unique to svc-{i} #{j}")
            for j, e in enumerate(f["evidence"] or [{"kind": "log", "file": "x.log", "object": "Pod a/b", "text": ""}])
        ]
        findings.append(f)
    # causal links across the cut: a card naming a consequence shown only as a row, and the reverse
    findings[1]["consequences"] = [{"id": findings[3000]["id"], "cause": "app-crash", "workload": "Deployment a/b"}]
    findings[2]["caused_by"] = findings[3001]["id"]
    findings[3001]["consequences"] = [{"id": findings[2]["id"], "cause": "oom-killed", "workload": "Deployment c/d"}]
    doc["findings"] = findings
    doc["latent"] = [
        dict(
            copy.deepcopy(f0),
            id=f"l-{i:010d}",
            latent=True,
            caused_by=None,
            consequences=[],
            workload={"kind": "Deployment", "namespace": "later", "name": f"risk-{i}"},
        )
        for i in range(700)
    ]
    return doc


def test_top_findings_in_full_and_every_finding_in_the_table(big: dict[str, Any]) -> None:
    html = render_html(big)
    r = _parse(html)
    findings = big["findings"]
    # full detail (a card) for the first TOP_IN_FULL in the document's order, which is most severe first
    assert r.cards[:TOP_IN_FULL] == [f["id"] for f in findings[:TOP_IN_FULL]]
    assert len([c for c in r.cards if c.startswith("f-")]) == TOP_IN_FULL
    assert "evidence line unique to svc-0 #0" in html
    assert f"evidence line unique to svc-{TOP_IN_FULL} #0" not in html  # the rest are not in full ...
    # ... but every finding is a row, in the document's order, with its cause and workload
    rows = r.rows["findings-table"]
    assert len(rows) == len(findings)
    assert [row["cause"] for row in rows] == [f["cause"] for f in findings]
    assert [row["cells"][2].strip() for row in rows] == [workload_label(f["workload"]) for f in findings]
    # a row links to its card when it has one, and no link points at a card that is not on the page
    links = [row["links"] for row in rows]
    assert links[:TOP_IN_FULL] == [[f"#{f['id']}"] for f in findings[:TOP_IN_FULL]]
    assert all(not x for x in links[TOP_IN_FULL:])
    # latent risks: every one listed too
    assert [row["cells"][2].strip() for row in r.rows["latent-table"]] == [
        workload_label(f["workload"]) for f in big["latent"]
    ]
    for row in r.rows["latent-table"]:
        assert all(h is None or h[1:] in r.ids for h in row["links"])
    assert len(html.encode()) < 5_000_000
    # every in-page link goes somewhere: none to a finding that is only a row
    assert r.anchors and all(a in r.ids for a in r.anchors), sorted(set(r.anchors) - r.ids)[:5]


def test_the_table_is_sortable_and_filterable(big: dict[str, Any]) -> None:
    html = render_html(big)
    assert f'<table class="sortable findings-index" id="findings-table" data-page="{TABLE_PAGE}">' in html
    assert 'data-filter="findings-table"' in html and 'data-show-all="findings-table"' in html
    # the first page of rows is laid out when the page opens, the rest wait for a filter, a sort or "show all"
    hidden = [row["hidden"] for row in _parse(html).rows["findings-table"]]
    assert hidden == [False] * TABLE_PAGE + [True] * (len(big["findings"]) - TABLE_PAGE)
    # the sort key of the severity column orders critical first, not alphabetically
    r = _parse(html)
    assert r.rows["findings-table"][0]["cells"][0].strip() == "critical"


def test_a_few_findings_are_all_in_full(big: dict[str, Any]) -> None:
    small = dict(big, findings=big["findings"][:3], latent=[])
    r = _parse(render_html(small))
    assert r.cards == [f["id"] for f in small["findings"]]
    assert [row["links"] for row in r.rows["findings-table"]] == [[f"#{f['id']}"] for f in small["findings"]]
