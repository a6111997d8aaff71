"""The redaction's literal sweep: every known secret value replaced wherever it appears, in one pass per line.

The single alternation must give byte for byte what the per-value scan it replaced gave (kept in
tests/fixtures/collectors/redact-per-value.awk), on hundreds of values that hold every character a
regular expression gives a meaning to. Both run under the system awk (mawk on Debian), as the collector does.
"""

from __future__ import annotations

import json
import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from tests.dump_builder import REPO

AWK = shutil.which("awk")
CURRENT = REPO / "collectors" / "redact.awk"
BEFORE = Path(__file__).resolve().parent / "fixtures" / "collectors" / "redact-per-value.awk"
pytestmark = pytest.mark.skipif(AWK is None, reason="no awk")

SPECIAL = ".[]$^|()*+?{}/\\"


def _apply(script: Path, work: Path, files: list[Path]) -> tuple[dict[str, bytes], str]:
    assert AWK is not None
    counts = work / f"counts-{script.stem}"
    subprocess.run(
        [
            AWK,
            "-v",
            "mode=apply",
            "-v",
            f"map={work / 'map'}",
            "-v",
            f"counts={counts}",
            "-f",
            str(script),
            *map(str, files),
        ],
        check=True,
        timeout=300,
    )
    out = {}
    for f in files:
        red = Path(str(f) + ".redacting")
        out[f.name] = red.read_bytes()
        red.unlink()
    return out, counts.read_text() if counts.exists() else ""


def _secrets(rng: random.Random, n: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "-_.+/=@:%!~" + SPECIAL
    out: set[str] = set()
    while len(out) < n:
        v = "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 48)))
        if v.strip() == v and "\t" not in v:
            out.add(v)
    return sorted(out)


def _no_overlap(values: list[str]) -> list[str]:
    """Drop values that contain another: where values overlap the two sweeps may legitimately differ."""
    return [v for v in values if not any(o != v and o in v for o in values)]


def test_single_pass_gives_what_the_per_value_scan_gave_on_hundreds_of_values(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    values = _no_overlap(_secrets(rng, 400))
    assert len(values) >= 300
    assert all(any(c in v for v in values) for c in SPECIAL)  # every metacharacter is in some value
    (tmp_path / "map").write_text("".join(f"REDACTED-{i:08x}\t{v}\n" for i, v in enumerate(values)))
    pods = [
        {
            "metadata": {"name": f"p-{i}", "namespace": "ns"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "args": [f"--conf={rng.choice(values)}", "--x=1"],
                        "env": [
                            {
                                "name": "PLAIN",
                                "value": f"{rng.choice(values)} and {rng.choice(values)}{rng.choice(values)}",
                            }
                        ],
                    }
                ]
            },
        }
        for i in range(600)
    ]
    (tmp_path / "pods.json").write_text(json.dumps({"items": pods}, indent=4, sort_keys=True) + "\n")
    log = []
    for i in range(3000):
        words = [rng.choice(values) if rng.random() < 0.2 else f"word{i}" for _ in range(rng.randint(0, 6))]
        log.append(f"2026-01-01T00:00:{i % 60:02d}Z level=info " + " ".join(words))
    (tmp_path / "app.log").write_text("\n".join(log) + "\n")
    files = [tmp_path / "pods.json", tmp_path / "app.log"]

    before, before_counts = _apply(BEFORE, tmp_path, files)
    after, after_counts = _apply(CURRENT, tmp_path, files)
    assert after == before
    assert after_counts == before_counts
    # and it did replace: no value is left, and the counts are real
    for text in after.values():
        assert not any(v.encode() in text for v in values)
    assert sum(int(line.split("\t")[1]) for line in after_counts.splitlines()) > 1000


def test_overlapping_values_the_longer_one_is_replaced_whole(tmp_path: Path) -> None:
    (tmp_path / "map").write_text(
        "REDACTED-0000000a\tabcdef12\nREDACTED-0000000b\tabcdef1234\nREDACTED-0000000c\tf1234zz\n"
    )
    (tmp_path / "app.log").write_text("x abcdef1234 y abcdef12 z abcdef1234zz\n")
    after, _ = _apply(CURRENT, tmp_path, [tmp_path / "app.log"])
    assert after["app.log"] == b"x REDACTED-0000000b y REDACTED-0000000a z REDACTED-0000000bzz\n"


def test_values_shorter_than_six_are_not_swept_and_an_empty_map_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "map").write_text("REDACTED-0000000a\tab.cd\n")
    (tmp_path / "app.log").write_text("ab.cd abXcd\n")
    after, counts = _apply(CURRENT, tmp_path, [tmp_path / "app.log"])
    assert after["app.log"] == b"ab.cd abXcd\n" and counts == ""
    (tmp_path / "map").write_text("")
    after, counts = _apply(CURRENT, tmp_path, [tmp_path / "app.log"])
    assert after["app.log"] == b"ab.cd abXcd\n" and counts == ""
