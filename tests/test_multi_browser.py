"""The diff and fleet pages in a real browser (Debian's chromium driven by playwright): they make no
request but for the file itself, log no console error (a CSP violation is one), run no payload, and
show the dump text literally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forensics.read.dumpspec import load_spec, parse_spec
from forensics.render.multi import diff_html
from forensics.several.diff import diff_dumps
from forensics.several.fleet import analyze_one, content_id, summarize, write_summary
from tests.multi_dumps import SAMPLES, copy_story, snapshots_of
from tests.test_report_browser import Visit, browser  # noqa: F401 - the shared browser fixture

pytestmark = pytest.mark.browser
EVIL = "evil.example/x:1<script>alert(1)</script><img src=x onerror=alert(2)>"
LOST = SAMPLES / "lost-multiarch-tag"


def test_diff_page(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    old = load_spec(parse_spec(f"{LOST}@0"))
    new_dir = copy_story("lost-multiarch-tag", tmp_path / "new")
    last = snapshots_of(new_dir)[-1]
    pods_file = new_dir / "snapshots" / last / "pods.json"
    pods = json.loads(pods_file.read_text())
    for pod in pods["items"]:
        if pod["metadata"]["name"].startswith("catalog-"):
            for c in pod["spec"]["containers"]:
                c["image"] = EVIL
    pods_file.write_text(json.dumps(pods))
    doc = diff_dumps(old, load_spec(parse_spec(f"{new_dir}@-1")))
    page_file = tmp_path / "diff.html"
    page_file.write_text(diff_html(doc), encoding="utf-8")
    v = Visit(browser, page_file)
    try:
        page = v.page
        assert page.locator("#summary .lead", has_text="lost linux/arm64").first.is_visible()
        row = page.locator("#workloads tbody tr", has_text="Deployment shop/catalog")
        assert row.locator("code", has_text=EVIL).first.is_visible()  # the payload, as text
        assert page.locator("#findings tbody tr", has_text="arch.bare-manifest-tag").is_visible()
        v.assert_clean()
    finally:
        v.close()


def test_fleet_page_links_to_each_report(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "fleet"
    for story in ("not-arch", "hostile", "lost-multiarch-tag"):
        path = SAMPLES / story
        analyze_one(str(path), content_id(path), str(out))
    write_summary(out, summarize(out))
    v = Visit(browser, out / "fleet.html")
    try:
        page = v.page
        assert page.locator("#causes tbody tr", has_text="arch.bare-manifest-tag").is_visible()
        links = page.locator("#dumps a")
        assert links.count() == 3
        v.assert_clean()
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    finally:
        v.close()
    for href in hrefs:
        assert href is not None
        report = Visit(browser, out / href)
        try:
            assert report.page.locator("#verdict .lead").is_visible()
            report.assert_clean()
        finally:
            report.close()
