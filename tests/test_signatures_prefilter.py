"""The log prefilter is a trie-shaped pattern: it must stop exactly where the plain alternation of
every needle would, on real log lines, on needles cut and glued together, and on near misses."""

from __future__ import annotations

import random
import re

from forensics.knowledge import signatures as sg

FLAT = re.compile("|".join(re.escape(n) for n in sg._NEEDLES))


def _texts() -> list[str]:
    rnd = random.Random(7)
    out = ["", "nothing here", "exec format error" * 3, "\n".join(sg._NEEDLES)]
    for _ in range(4000):
        parts = []
        for _ in range(rnd.randint(1, 8)):
            n = rnd.choice(sg._NEEDLES)
            cut = rnd.randint(1, len(n))
            parts.append(rnd.choice([n, n[:cut], n[cut:], n[:-1] + "#", " ", "\n", "xyz"]))
        out.append("".join(parts))
    return out


def test_first_hit_is_where_the_plain_alternation_stops() -> None:
    hits = 0
    for t in _texts():
        for pos in (0, len(t) // 3, len(t) // 2):
            a, b = FLAT.search(t, pos), sg._PREFILTER.search(t, pos)
            assert (a and a.start()) == (b and b.start()), (t, pos)
            hits += a is not None
    assert hits > 2000  # the texts do contain needles, so the comparison means something


def test_every_needle_is_found_alone_and_inside_text() -> None:
    for n in sg._NEEDLES:
        assert sg._PREFILTER.fullmatch(n) or sg._PREFILTER.match(n), n
        m = sg._PREFILTER.search(f"2024-06-11T10:00:00Z level=info {n} tail")
        assert m is not None and m.start() <= 32
