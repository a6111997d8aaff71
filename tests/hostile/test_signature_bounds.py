"""Signature patterns over crafted lines: the scan is linear in the text (patterns run on a bounded
window of each line), and a real signature is still found after, or inside, a crafted line."""

from __future__ import annotations

import time

import pytest

from forensics.knowledge.signatures import _TABLE, MAX_LINE, scan_text

pytestmark = pytest.mark.hostile


def _crafted(pattern: str, needles: tuple[str, ...], length: int) -> list[str]:
    """Lines made of a pattern's own literal pieces, repeated, with one of its prefilter needles (so
    the line is tried): what makes `.*?` after a repeated literal backtrack on every start position."""
    words = [w for w in "".join(c if c.isalnum() or c in " :/=\"'`" else " " for c in pattern).split() if len(w) > 2]
    out = []
    for k in (1, 2, 4):
        unit = " ".join(words[:k]) + " "
        for sep in ("", " ", '"', ": "):
            u = unit + sep
            for needle in needles:
                out.append((u * (length // len(u) + 1))[:length] + needle)
                out.append(needle + " " + (u * (length // len(u) + 1))[:length])
    return out


@pytest.mark.parametrize("row", _TABLE, ids=lambda r: f"{r[0].id}:{r[0].dialect}")
def test_each_pattern_on_its_worst_lines_is_bounded(row) -> None:
    sig, needles = row
    lines = _crafted(sig.pattern.pattern, needles, 64 * 1024)
    start = time.process_time()
    scan_text("\n".join(lines))
    spent = time.process_time() - start
    # whole-line matching took seconds per line for several patterns here; windows make it milliseconds
    assert spent < 5.0, (sig.id, sig.dialect, spent)


def test_signature_inside_a_long_line_is_found_by_its_window() -> None:
    line = "x" * (10 * MAX_LINE) + " exec /app: exec format error " + "y" * (10 * MAX_LINE)
    found = scan_text("start\n" + line + "\n")
    assert [(m.line, m.signature) for m in found] == [(2, "exec-format-error")]
