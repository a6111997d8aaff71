#!/usr/bin/env python3
"""Fleet benchmark: dumps per minute through `forensics fleet` with 1 and 2 Dask workers, and the
peak memory of a worker.

Generates N distinct dumps with `bench/gen_dump.py` (different seeds, so different content ids),
then for each worker count starts a fresh `LocalCluster` (one single-threaded worker process per
worker), runs `forensics.several.fleet.run_fleet` into an empty folder and measures the wall time of the run
(cluster start-up excluded and printed apart). Memory per worker is each worker process's peak RSS
(`getrusage().ru_maxrss`) after the run. Prints human-readable lines, then one JSON line.

    python bench/fleet.py                      # 24 dumps of 1,500 pods, workers 1 and 2
    python bench/fleet.py --dumps 40 --pods 3000 --workers 1,2,4 --keep /tmp/fleet-bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _warm() -> None:
    import matplotlib.pyplot  # noqa: F401 - the report's charts import it on first use

    import forensics.analysis.analyze
    import forensics.render.html  # noqa: F401


def generate(work: Path, n: int, pods: int, nodes: int) -> list[Path]:
    out = []
    for i in range(n):
        p = work / f"dump-{i:03d}.tar.gz"
        if not p.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "bench" / "gen_dump.py"),
                    "--pods",
                    str(pods),
                    "--nodes",
                    str(nodes),
                    "--seed",
                    str(i + 1),
                    "--out",
                    str(p),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        out.append(p)
    return out


def measure(dumps: list[Path], workers: int, out: Path) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    from forensics.several.fleet import run_fleet

    t0 = time.monotonic()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(_warm)  # imports are start-up, not per-dump work
    started = time.monotonic() - t0
    try:
        t1 = time.monotonic()
        summary = run_fleet([str(d) for d in dumps], out, client=client)
        wall = time.monotonic() - t1
        rss = client.run(_peak_rss)
    finally:
        client.close()
        cluster.close()
    ok = summary["counts"]["ok"]
    from forensics.several.fleet import read_table

    rows = read_table(out, "dumps")
    cpu = float(rows["cpu_seconds"].sum())
    return {
        "workers": workers,
        "dumps": len(dumps),
        "ok": ok,
        "failed": summary["counts"]["failed"],
        "wall_s": round(wall, 2),
        "startup_s": round(started, 2),
        "dumps_per_minute": round(len(dumps) / wall * 60, 1),
        "cpu_s_per_dump": round(cpu / max(ok, 1), 2),
        # CPU seconds spent in the dump tasks per wall second: how many cores the run really got
        "parallelism": round(cpu / wall, 2),
        "worker_peak_rss_mib": sorted(round(v / 2**20) for v in rss.values()),
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dumps", type=int, default=24)
    ap.add_argument("--pods", type=int, default=1500)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--keep", type=Path, help="generate dumps here and keep them (default: a temporary folder)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.monotonic()
        dumps = generate(work, args.dumps, args.pods, args.nodes)
        size = sum(d.stat().st_size for d in dumps)
        print(f"{_cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs")
        print(
            f"{len(dumps)} dumps of {args.pods} pods / {args.nodes} nodes, {size / 2**20:.1f} MiB compressed, "
            f"generated in {time.monotonic() - t:.1f} s"
        )
        results = []
        for w in (int(x) for x in args.workers.split(",")):
            out = work / f"out-{w}"
            shutil.rmtree(out, ignore_errors=True)
            r = measure(dumps, w, out)
            results.append(r)
            print(
                f"workers={w}: {r['dumps_per_minute']} dumps/min ({r['wall_s']} s for {r['dumps']} dumps, "
                f"{r['ok']} ok, {r['failed']} failed; cluster start {r['startup_s']} s; "
                f"{r['cpu_s_per_dump']} CPU s per dump, cores used {r['parallelism']}); "
                f"peak RSS per worker {r['worker_peak_rss_mib']} MiB"
            )
        if len(results) > 1:
            print(
                f"speed-up {results[-1]['workers']} vs {results[0]['workers']} workers: "
                f"{results[-1]['dumps_per_minute'] / results[0]['dumps_per_minute']:.2f}x"
            )
        print(json.dumps({"pods": args.pods, "nodes": args.nodes, "results": results}))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
