#!/usr/bin/env python3
"""The HTML report at scale: its size, and how long headless Chromium takes to open it.

Targets (#16): under 5 MB, and open in under 2 s at 150,000 pods with thousands of findings. "Open"
is the page's own load event (navigation start to the end of `load`, from the Navigation Timing
entry: parsing, layout, our script wiring up the sortable and filterable tables), the median of three
fresh pages in one browser; the browser's own start is not counted. Also timed: sorting the findings
table by restarts and filtering it, the two things a reader does first on a big report.

    python bench/report_html.py REPORT.html          # or FINDINGS.json: rendered first, that time printed

`bench/run.py` calls `measure_report` on the HTML it made with `forensics analyze --format html`.
Needs Debian's chromium (/usr/bin/chromium) and playwright; without them only the size is measured.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HTML_MAX_BYTES = 5_000_000
HTML_OPEN_MAX_SECONDS = 2.0
CHROMIUM = Path("/usr/bin/chromium")
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def measure_report(html: Path, runs: int = 3) -> dict[str, Any]:
    """Size, rows, load time in Chromium (median of `runs`), and sort/filter times of the findings table."""
    r: dict[str, Any] = {"bytes": html.stat().st_size}
    if not CHROMIUM.exists():
        r["browser_error"] = f"no {CHROMIUM}"
        return r
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        r["browser_error"] = "playwright is not installed"
        return r
    loads, walls = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            for i in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                t0 = time.perf_counter()
                page.goto(html.as_uri(), wait_until="load")
                walls.append(time.perf_counter() - t0)
                nav = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
                loads.append(json.loads(nav)["loadEventEnd"] / 1000)
                if i == runs - 1:
                    r.update(_interact(page))
                page.close()
        finally:
            browser.close()
    r["open_seconds"] = statistics.median(loads)
    r["open_wall_seconds"] = statistics.median(walls)
    return r


_SORT = """() => { const th = [...document.querySelectorAll('#findings-table thead th')]
  .find(h => h.textContent.trim() === 'Restarts'); const t0 = performance.now(); th.click();
  return (performance.now() - t0) / 1000; }"""
_FILTER = """() => { const i = document.querySelector("input[data-filter='findings-table']");
  const t0 = performance.now(); i.value = 'oom'; i.dispatchEvent(new Event('input'));
  return (performance.now() - t0) / 1000; }"""


def _interact(page: Any) -> dict[str, Any]:
    """Rows, cards, and the in-page time of a sort by restarts and of a filter (both run synchronously)."""
    if not page.evaluate("!!document.querySelector('#findings-table')"):
        return {}
    return {
        "table_rows": page.evaluate("document.querySelectorAll('#findings-table tbody tr').length"),
        "cards": page.evaluate("document.querySelectorAll('#findings article.finding').length"),
        "sort_seconds": page.evaluate(_SORT),
        "filter_seconds": page.evaluate(_FILTER),
    }


def lines(r: dict[str, Any]) -> list[str]:
    """Human lines for bench/run.py and for this script."""
    out = [
        f"  report html   {r['bytes'] / 1e6:.2f} MB (target < {HTML_MAX_BYTES / 1e6:.0f} MB)"
        + (f", {r['table_rows']:,} table rows, {r['cards']} in full" if "table_rows" in r else "")
    ]
    if "open_seconds" in r:
        out.append(
            f"  report open   {r['open_seconds']:.2f} s in Chromium to the load event "
            f"(target < {HTML_OPEN_MAX_SECONDS:.0f} s; {r['open_wall_seconds']:.2f} s wall)"
            + (f", sort {r['sort_seconds']:.2f} s, filter {r['filter_seconds']:.2f} s" if "sort_seconds" in r else "")
        )
    elif "browser_error" in r:
        out.append(f"  report open   not measured: {r['browser_error']}")
    return out


def checks(r: dict[str, Any]) -> dict[str, bool | None]:
    return {
        "report_html_size": r["bytes"] < HTML_MAX_BYTES if "bytes" in r else None,
        "report_html_open": r["open_seconds"] < HTML_OPEN_MAX_SECONDS if "open_seconds" in r else None,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[-3].strip(), file=sys.stderr)
        return 2
    path = Path(argv[0])
    if path.suffix == ".json":
        from forensics.render.html import render_html

        t0 = time.perf_counter()
        text = render_html(json.loads(path.read_text(encoding="utf-8")))
        print(
            f"  render        {time.perf_counter() - t0:.2f} s ({len(json.loads(path.read_text())['findings']):,} "
            "findings)"
        )
        path = path.with_suffix(".bench.html")
        path.write_text(text, encoding="utf-8")
    r = measure_report(path)
    print("\n".join(lines(r)))
    print(json.dumps(r, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
