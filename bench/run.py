#!/usr/bin/env python3
"""Load benchmark: how far is `forensics.load.load_dump` from the cost of just reading the dump?

For each dump, in one run, two measurements, each in a fresh subprocess so that peak RSS
(`ru_maxrss`) belongs to that measurement alone:

- floor: stream through the tar (`tarfile.open(mode="r|gz")`), decode every
  `snapshots/*/<kind>.json` with `msgspec.json.decode(data, type=forensics.kube.LIST_TYPES[kind])`,
  read every other member without decoding it. No loader can do less and still see every object.
- load: `forensics.load.load_dump(path)`, until all frames are built.

Targets: load <= 1.5 x floor, peak RSS of the load <= 2 GiB (meant for the 150,000-pod dump),
and with `--also` a second, smaller dump, the time per pod of the big dump at most 1.5 x that of the
small one (the load is linear). Prints human-readable lines, then one JSON line. Exits 0, or 1 with
`--check` when a target is missed.

    python bench/run.py /tmp/dump-150k.tar.gz --also /tmp/dump-15k.tar.gz
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LOAD_OVER_FLOOR_MAX = 1.5
RSS_MAX_BYTES = 2 * 2**30
PER_POD_GROWTH_MAX = 1.5


# ----------------------------------------------------------------------------- measured in a child


def _measure_floor(path: str) -> dict[str, Any]:
    import tarfile

    import msgspec

    from forensics.kube import LIST_TYPES

    decoders = {k: msgspec.json.Decoder(t) for k, t in LIST_TYPES.items()}
    pods = 0
    objects = 0
    members = 0
    payload = 0
    largest = ("", 0)
    t0 = time.perf_counter()
    with tarfile.open(path, mode="r|gz") as tar:
        for m in tar:
            if not m.isfile():
                continue
            f = tar.extractfile(m)
            if f is None:
                continue
            data = f.read()
            members += 1
            payload += len(data)
            if len(data) > largest[1]:
                largest = (m.name.split("/", 1)[-1], len(data))
            parts = m.name.split("/")
            if len(parts) == 4 and parts[1] == "snapshots" and parts[3].endswith(".json"):
                kind = parts[3][:-5]
                if kind in decoders:
                    items = decoders[kind].decode(data).items
                    objects += len(items)
                    if kind == "pods":
                        pods += len(items)
    return {"seconds": time.perf_counter() - t0, "pods": pods, "objects": objects, "members": members,
            "uncompressed_bytes": payload, "largest_member": largest[0], "largest_member_bytes": largest[1]}


def _measure_load(path: str) -> dict[str, Any]:
    from forensics.load import load_dump

    t0 = time.perf_counter()
    dump = load_dump(path)
    seconds = time.perf_counter() - t0
    frames = {name: len(df) for name, df in dump.frames.items()}
    return {"seconds": seconds, "frames": frames, "problems": len(dump.problems)}


def _child(what: str, path: str) -> int:
    sys.path.insert(0, str(REPO))
    out = _measure_floor(path) if what == "floor" else _measure_load(path)
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps(out))
    return 0


# ----------------------------------------------------------------------------- the parent


def measure(what: str, path: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", what, str(path)],
                          check=False, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{what} failed (exit {proc.returncode}): {tail[:300]}"}
    return json.loads(lines[-1])


def _warm(path: Path) -> None:
    """Read the archive once so both measurements see it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def bench_one(path: Path) -> dict[str, Any]:
    _warm(path)
    floor = measure("floor", path)
    load = measure("load", path)
    r: dict[str, Any] = {"path": str(path), "compressed_bytes": path.stat().st_size,
                         "uncompressed_bytes": floor.get("uncompressed_bytes"), "pods": floor.get("pods"),
                         "floor_seconds": floor.get("seconds"), "floor_peak_rss_bytes": floor.get("peak_rss_bytes"),
                         "load_seconds": load.get("seconds"), "load_peak_rss_bytes": load.get("peak_rss_bytes"),
                         "frames": load.get("frames"), "load_problems": load.get("problems"),
                         "largest_member": floor.get("largest_member"),
                         "largest_member_bytes": floor.get("largest_member_bytes")}
    errors = [m["error"] for m in (floor, load) if "error" in m]
    if errors:
        r["errors"] = errors
    if r["floor_seconds"] and r["load_seconds"] is not None:
        r["load_over_floor"] = r["load_seconds"] / r["floor_seconds"]
    return r


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.1f} MiB"


def _secs(s: float | None) -> str:
    return "?" if s is None else f"{s:.2f} s"


def report(main: dict[str, Any], also: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Check the targets; returns the JSON summary and the human lines."""
    lines = []
    for r in [main] + ([also] if also else []):
        lines += [
            f"dump            {r['path']}: {r['pods'] if r['pods'] is not None else '?'} pods",
            f"  size          {_mib(r['compressed_bytes'])} compressed, {_mib(r['uncompressed_bytes'])} uncompressed",
            f"  largest file  {r['largest_member']} ({_mib(r['largest_member_bytes'])})",
            f"  floor         {_secs(r['floor_seconds'])}, peak RSS {_mib(r['floor_peak_rss_bytes'])}",
            f"  load          {_secs(r['load_seconds'])}, peak RSS {_mib(r['load_peak_rss_bytes'])}",
        ]
        if "load_over_floor" in r:
            lines.append(f"  load/floor    {r['load_over_floor']:.2f}x (target <= {LOAD_OVER_FLOOR_MAX}x)")
        lines += [f"  error         {e}" for e in r.get("errors", [])]

    checks: dict[str, bool | None] = {
        "load_over_floor": (main["load_over_floor"] <= LOAD_OVER_FLOOR_MAX) if "load_over_floor" in main else None,
        "peak_rss": (main["load_peak_rss_bytes"] <= RSS_MAX_BYTES) if main["load_peak_rss_bytes"] else None,
    }
    summary: dict[str, Any] = {"dump": main}
    if also is not None:
        summary["also"] = also
        if main["load_seconds"] and also["load_seconds"] and main["pods"] and also["pods"]:
            time_ratio = main["load_seconds"] / also["load_seconds"]
            pods_ratio = main["pods"] / also["pods"]
            growth = time_ratio / pods_ratio
            summary.update(time_ratio=time_ratio, pods_ratio=pods_ratio, per_pod_growth=growth)
            checks["linear"] = growth <= PER_POD_GROWTH_MAX
            lines.append(f"linearity       load time x{time_ratio:.2f} for pods x{pods_ratio:.2f}: "
                         f"per-pod cost x{growth:.2f} (target <= {PER_POD_GROWTH_MAX}x)")
        else:
            checks["linear"] = None
    summary["targets"] = {"load_over_floor_max": LOAD_OVER_FLOOR_MAX, "peak_rss_max_bytes": RSS_MAX_BYTES,
                          "per_pod_growth_max": PER_POD_GROWTH_MAX}
    summary["checks"] = checks
    summary["ok"] = all(v is True for v in checks.values())
    for name, ok in checks.items():
        lines.append(f"target {name:<16} {'met' if ok else 'not measured' if ok is None else 'MISSED'}")
    return summary, lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", type=Path, help="the big dump (150,000 pods)")
    ap.add_argument("--also", type=Path, help="a smaller dump (15,000 pods) for the linearity ratio")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    main_r = bench_one(a.dump)
    also_r = bench_one(a.also) if a.also else None
    summary, lines = report(main_r, also_r)
    print("\n".join(lines))
    print(json.dumps(summary, sort_keys=True))
    return 1 if a.check and not summary["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
