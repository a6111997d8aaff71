"""The findings table of a big report in a real browser: the first rows laid out when the page opens, every
row reachable by filtering, sorting and "show all" (Debian's chromium driven by playwright)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from forensics.render.html import TABLE_PAGE
from tests.test_report_browser import EXAMPLE, Visit, _render, browser  # noqa: F401 - the fixture

N = TABLE_PAGE + 250


def _doc() -> dict[str, Any]:
    doc = json.loads(EXAMPLE.read_text())
    f0 = doc["findings"][0]
    findings = []
    for i in range(N):
        f = copy.deepcopy(f0)
        f.update(
            id=f"f-{i:010d}",
            caused_by=None,
            consequences=[],
            restarts=i,
            workload={"kind": "Deployment", "namespace": "shop", "name": f"svc-{i:04d}"},
        )
        findings.append(f)
    doc["findings"] = findings
    return doc


def test_big_table_pages_filters_sorts_and_shows_all(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    v = Visit(browser, _render(_doc(), tmp_path, "big"))
    try:
        page = v.page
        table = page.locator("#findings-table")
        visible = lambda: page.evaluate(
            "[...document.querySelectorAll('#findings-table tbody tr')].filter(r => !r.hidden).length"
        )
        count = page.locator("[data-filter-count='findings-table']")
        assert visible() == TABLE_PAGE
        assert count.inner_text() == f"{N} rows (the first {TABLE_PAGE} shown)"
        # a row past the first page is found by the filter
        page.locator("input[data-filter='findings-table']").fill(f"svc-{N - 1:04d}")
        assert visible() == 1 and table.locator("tbody tr", has_text=f"svc-{N - 1:04d}").is_visible()
        assert count.inner_text() == f"1 of {N} rows"
        page.locator("input[data-filter='findings-table']").fill("")
        assert visible() == TABLE_PAGE
        # sorting by restarts, descending: the last rows of the document come first and are shown
        table.locator("th", has_text="Restarts").click()
        table.locator("th", has_text="Restarts").click()
        first = table.locator("tbody tr").first
        assert first.is_visible() and f"svc-{N - 1:04d}" in first.inner_text()
        assert visible() == TABLE_PAGE
        page.locator("button[data-show-all='findings-table']").click()
        assert visible() == N
        assert page.locator("button[data-show-all='findings-table']").is_hidden()
        assert count.inner_text() == f"{N} rows"
        v.assert_clean()
    finally:
        v.close()
