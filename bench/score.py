#!/usr/bin/env python3
"""Score a findings document against what the generator planted (`<dump>.truth.json`).

Per cause:
- recall: of the workloads where the cause was planted, the share whose finding names it (as the
  primary cause or a contributing one);
- precision: of the findings whose primary cause is this one, the share where it was planted (or is
  acceptable for that workload, see `gen_dump.truth`).
Overall: `primary_correct` counts findings whose primary cause is the workload's expected primary;
`unplanted` lists findings for workloads where nothing was planted (false alarms).

    python bench/score.py findings.json /tmp/dump-150k.tar.gz.truth.json
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def _key(w: dict[str, Any]) -> tuple[str, str, str]:
    return (w.get("kind") or "", w.get("namespace") or "", w.get("name") or "")


def score(findings: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    planted = {_key(w): w for w in truth["workloads"]}
    named: dict[tuple[str, str, str], set[str]] = {}
    primary_of: dict[tuple[str, str, str], str] = {}
    for f in findings.get("findings", []):
        k = _key(f.get("workload") or {})
        primary_of[k] = f["cause"]
        named.setdefault(k, set()).update([f["cause"], *f.get("contributing", [])])

    causes = sorted({c for w in planted.values() for c in w["planted"]} | set(primary_of.values()))
    per_cause: dict[str, dict[str, Any]] = {}
    for cause in causes:
        want = [k for k, w in planted.items() if cause in w["planted"]]
        found = [k for k in want if cause in named.get(k, set())]
        fired = [k for k, c in primary_of.items() if c == cause]
        right = [k for k in fired if k in planted and cause in planted[k]["acceptable"]]
        per_cause[cause] = {
            "planted": len(want),
            "found": len(found),
            "recall": len(found) / len(want) if want else None,
            "fired": len(fired),
            "correct": len(right),
            "precision": len(right) / len(fired) if fired else None,
        }
    unplanted = sorted(k for k in primary_of if k not in planted)
    primary_correct = sum(1 for k, c in primary_of.items() if k in planted and planted[k]["expected_primary"] == c)
    wrong_primary = Counter(
        (planted[k]["expected_primary"], c)
        for k, c in primary_of.items()
        if k in planted and planted[k]["expected_primary"] != c
    )
    missed = sorted(k for k in planted if k not in primary_of)
    return {
        "findings": len(primary_of),
        "planted_workloads": len(planted),
        "primary_correct": primary_correct,
        "missed_workloads": len(missed),
        "unplanted_findings": len(unplanted),
        "wrong_primary": {f"{want} -> {got}": n for (want, got), n in sorted(wrong_primary.items())},
        "per_cause": per_cause,
        "examples": {"missed": [list(k) for k in missed[:5]], "unplanted": [list(k) for k in unplanted[:5]]},
    }


def lines(s: dict[str, Any]) -> list[str]:
    out = [
        f"  truth         {s['planted_workloads']} planted workloads, {s['findings']} findings: "
        f"{s['primary_correct']} with the expected primary cause, {s['missed_workloads']} missed, "
        f"{s['unplanted_findings']} unplanted"
    ]
    for cause, c in s["per_cause"].items():
        rec = "-" if c["recall"] is None else f"{c['recall']:.3f}"
        prec = "-" if c["precision"] is None else f"{c['precision']:.3f}"
        out.append(
            f"    {cause:<32} recall {rec} ({c['found']}/{c['planted']})  "
            f"precision {prec} ({c['correct']}/{c['fired']})"
        )
    for pair, n in s["wrong_primary"].items():
        out.append(f"    wrong primary {pair}: {n}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    s = score(json.loads(Path(argv[0]).read_text()), json.loads(Path(argv[1]).read_text()))
    print("\n".join(lines(s)))
    print(json.dumps(s, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
