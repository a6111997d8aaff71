"""The HTML report in a real browser (Debian's chromium driven by playwright): for every sample
dump and for the hand-written findings document holding script payloads, the page shows the
verdict and each expected cause, makes no request but for the file itself, logs no console error,
and never runs a payload. A screenshot is kept in test-output/ for a human to look at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from forensics.render.html import render_html
from forensics.render.view import workload_label

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_dumps"
STORIES = sorted(p.parent.name for p in SAMPLES.glob("*/expected.yaml"))
EXAMPLE = ROOT / "tests" / "fixtures" / "findings-example.json"
CHROMIUM = Path("/usr/bin/chromium")
OUT = ROOT / "test-output"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Visit:
    """A page opened on one report file, with everything it asked for and everything it said."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        # a payload that ran would call alert(); count it even if it was called without a dialog
        self.page.add_init_script("window.__alerts = 0; window.alert = function () { window.__alerts += 1; };")
        self.url = path.as_uri()
        self.page.goto(self.url, wait_until="load")

    def _dialog(self, d: Any) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def close(self) -> None:
        self.context.close()

    def assert_clean(self) -> None:
        assert self.requests == [self.url], f"requests other than the file: {self.requests}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.dialogs == []
        assert self.page.evaluate("window.__alerts") == 0


def _render(doc: dict[str, Any], tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.html"
    out.write_text(render_html(doc), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def sample_docs() -> dict[str, dict[str, Any]]:
    from forensics.analysis.analyze import analyze
    from tests.samples import load_story

    return {s: analyze(load_story(s)) for s in STORIES}


def _wl_key(w: dict[str, Any]) -> tuple[str, str, str]:
    return (w.get("kind") or "", w.get("namespace") or "", w.get("name") or "")


@pytest.mark.parametrize("story", STORIES)
def test_sample_report_in_browser(
    browser: Any, sample_docs: dict[str, dict[str, Any]], story: str, tmp_path: Path
) -> None:
    doc = sample_docs[story]
    expected = yaml.safe_load((SAMPLES / story / "expected.yaml").read_text())
    v = Visit(browser, _render(doc, tmp_path, story))
    try:
        page = v.page
        by_id = {f["id"]: f for f in doc["findings"]}
        caused_by = {_wl_key(f["workload"]): f.get("caused_by") for f in doc["findings"]}
        lead = page.locator("#verdict .lead")
        assert lead.is_visible()
        assert lead.inner_text().strip() == doc["summary"]["verdict"].strip()
        for e in expected.get("findings") or []:
            label = workload_label(e["workload"])
            if e.get("latent") or not e["cause"].startswith("arch."):
                # every finding is a row of the findings table, every latent risk one of the latent table
                table = "#latent-table" if e.get("latent") else "#findings-table"
                row = page.locator(f"{table} tbody tr", has_text=label)
                assert row.is_visible(), f"{label} not visible in {table}"
                assert row.get_attribute("data-cause") == e["cause"]
                if not e.get("latent"):
                    # a consequence is not a root cause: the verdict names the cause it follows from
                    root = by_id.get(caused_by.get(_wl_key(e["workload"])) or "", {}).get("cause") or e["cause"]
                    assert page.locator("#verdict .causes code.cause-id", has_text=root).first.is_visible()
                continue
            card = page.locator("#findings article.finding", has=page.locator("h3", has_text=label))
            assert card.count() == 1, f"no finding card for {label}"
            assert card.is_visible()
            assert card.locator("code.cause-id").first.inner_text() == e["cause"]
            assert card.locator(".finding-summary").is_visible()
            cause_in_verdict = page.locator("#verdict .causes code.cause-id", has_text=e["cause"])
            assert cause_in_verdict.first.is_visible()
            for c in e.get("contributing") or []:
                assert card.locator(f".contrib .chip[title='{c}']").is_visible()
        if expected.get("no_findings"):
            assert page.locator("#verdict .lead.ok").is_visible()
            assert page.locator("article.finding").count() == 0
        if expected.get("load_problems_min"):
            rows = page.locator("#limits table tbody tr", has_text="unreadable")
            assert rows.count() >= 1 and rows.first.is_visible()
        v.assert_clean()
        if story == "graviton-new-pool":
            OUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT / "report.png"), full_page=True)
            assert (OUT / "report.png").stat().st_size > 10_000
    finally:
        v.close()


def test_payloads_render_as_text_and_never_run(browser: Any, tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    v = Visit(browser, _render(doc, tmp_path, "example"))
    try:
        page = v.page
        # the pod name, the log line and the load problem are shown, literally, as text
        pod = page.get_by_text(
            "Pod payments/ledger-api-w4wr2qc9p-<script>alert(1)</script> container ledger-api", exact=True
        )
        assert pod.first.is_visible()
        line = page.get_by_text("exec /app/ledger-api: exec format error <img src=x onerror=alert(1)>", exact=False)
        assert line.first.is_visible()
        problem = page.locator("#limits td", has_text="invalid UTF-8 <script>alert(1)</script>")
        assert problem.first.is_visible()
        # no element was made from the payloads
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 1
        page.mouse.move(10, 10)
        v.assert_clean()
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "report-example.png"), full_page=True)
    finally:
        v.close()


def test_copy_button_copies_the_command(browser: Any, tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    v = Visit(browser, _render(doc, tmp_path, "copy"))
    try:
        page = v.page
        v.context.grant_permissions(["clipboard-read", "clipboard-write"])
        block = page.locator("#findings .remedy .cmd").nth(1)
        button = block.locator("button.copy")
        assert button.is_visible()
        button.click()
        page.wait_for_function("b => b.textContent !== 'Copy'", arg=button.element_handle(), timeout=3000)
        assert button.inner_text() == "Copied"
        want = doc["findings"][0]["remediation"][1]["command"]
        assert "\n" in want  # a multi-line command survives the copy
        assert page.evaluate("navigator.clipboard.readText()") == want
        v.assert_clean()
    finally:
        v.close()


def test_tables_sort_and_filter(browser: Any, tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    v = Visit(browser, _render(doc, tmp_path, "sort"))
    try:
        page = v.page
        table = page.locator("#findings-table")
        restarts = lambda: [int(t) for t in table.locator("tbody tr td:nth-child(5)").all_inner_texts()]
        table.locator("th", has_text="Restarts").click()
        assert restarts() == sorted(restarts())
        table.locator("th", has_text="Restarts").click()
        assert restarts() == sorted(restarts(), reverse=True)
        page.locator("input[data-filter='findings-table']").fill("fraud")
        visible = [r for r in table.locator("tbody tr").all() if r.is_visible()]
        assert len(visible) == 1 and "fraud-scorer" in visible[0].inner_text()
        total = table.locator("tbody tr").count()
        assert page.locator("[data-filter-count='findings-table']").inner_text() == f"1 of {total} rows"
        v.assert_clean()
    finally:
        v.close()
