"""The Markdown post-mortem, parsed back with a CommonMark + GFM-tables parser (markdown-it-py):
dump text with pipes, backticks, HTML and list markers must not break a table, end a code span or
fence early, or pass through as raw HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from forensics.render.markdown import code, esc, fence, render_markdown, table

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py is not installed")

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "findings-example.json"


def md_to_html(text: str) -> str:
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def tables(html: str) -> list[list[list[str]]]:
    """Each table as rows of raw cell HTML."""
    out = []
    for t in re.findall(r"<table>(.*?)</table>", html, re.DOTALL):
        out.append(
            [
                re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.DOTALL)
                for r in re.findall(r"<tr>(.*?)</tr>", t, re.DOTALL)
            ]
        )
    return out


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def rendered(doc: dict[str, Any]) -> tuple[str, str]:
    md = render_markdown(doc)
    return md, md_to_html(md)


def test_no_raw_html_from_the_dump(rendered: tuple[str, str]) -> None:
    _, html = rendered
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_every_table_row_has_as_many_cells_as_its_header(rendered: tuple[str, str]) -> None:
    _, html = rendered
    ts = tables(html)
    assert len(ts) >= 8
    for t in ts:
        assert all(len(r) == len(t[0]) for r in t), t


def test_pipes_and_backticks_in_a_log_line_stay_in_their_cell(rendered: tuple[str, str]) -> None:
    _, html = rendered
    cells = [c for t in tables(html) for r in t for c in r]
    hit = [c for c in cells if "onerror" in c and "exec format error" in c]
    assert len(hit) == 1
    # the whole line, pipe and backticks included, is one code span
    assert (
        hit[0]
        == "<code>exec /app/ledger-api: exec format error &lt;img src=x onerror=alert(1)&gt; | `tick` **bold**</code>"
    )
    crash = [c for c in cells if "FRAUD_URL" in c and "<code>" in c]
    assert crash and all("panic: config key | missing `FRAUD_URL` ```" in c for c in crash)


def test_sections_in_reader_order(rendered: tuple[str, str], doc: dict[str, Any]) -> None:
    md, html = rendered
    heads = re.findall(r"^## (.*)$", md, re.MULTILINE)
    assert [h.split(". ", 1)[0] for h in heads] == ["1", "2", "3", "4", "5", "6", "7"]
    for c in doc["summary"]["causes"]:
        assert f"<code>{c['cause']}</code>" in html


def test_multi_line_commands_are_fenced_code(rendered: tuple[str, str], doc: dict[str, Any]) -> None:
    _, html = rendered
    blocks = [
        b.replace("&quot;", '"').replace("&gt;", ">").replace("&#x27;", "'")
        for b in re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, re.DOTALL)
    ]
    cmd = doc["findings"][0]["remediation"][1]["command"]
    assert "\n" in cmd
    assert cmd + "\n" in blocks


def test_escape_helpers_round_trip() -> None:
    nasty = "a | b `c` ``d`` *e* _f_ [g](h) <i> & 1. # ~j~ $k$"
    rendered = md_to_html(esc(nasty, block=True))
    assert rendered == "<p>" + nasty.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>\n"
    span = md_to_html(code("x ``y`` `z"))
    assert span == "<p><code>x ``y`` `z</code></p>\n"
    block = md_to_html(fence("echo ```\n```\nend", "sh"))
    assert block == '<pre><code class="language-sh">echo ```\n```\nend\n</code></pre>\n'
    t = md_to_html(table(["a", "b"], [[esc("x|y\nz"), code("p|q", cell=True)]]))
    assert tables(t) == [[["a", "b"], ["x|y z", "<code>p|q</code>"]]]


def test_controls_and_bidi_overrides_are_neutralized() -> None:
    assert esc("a\x1b[31mred\x00\u202eb") == "a\ufffd\\[31mred\ufffd\ufffdb"
    assert "\x1b" not in code("\x1b[0m")
