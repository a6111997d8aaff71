"""Time the rules on a dump where many workloads fail for the restart causes whose rules loop over
workloads: each workload's work must cost what its rows hold, never a scan of a whole frame.

    python -m bench.rules [--workloads N] [--target SECONDS] [--keep DIR]

Writes (with the rule tests' builders, so the objects are those the rule tests use) one snapshot with
N workloads of each of: a hostPath volume that fails to mount (Pending, FailedMount event), a missing
ConfigMap (CreateContainerConfigError), a pod no node fits (Pending, PodScheduled=False and a
FailedScheduling event), a missing executable (RunContainerError), an eviction (Failed/Evicted with
its event); spread over 40 namespaces. Then runs every rule three times on fresh contexts and prints
each rule's best CPU time. Exit 1 when all rules together take more than `--target` seconds (the
default, 2.0 s for N=400, is about four times what a 2-core machine needs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from forensics.analysis.correlate import build_context
from forensics.analysis.rules import all_rules
from forensics.read.formats import load_any
from tests.rules.builders import context, ctr, event, pod, terminated, unscheduled, waiting

_HOSTPATH = 'MountVolume.SetUp failed for volume "host" : hostPath type check failed: /var/lib/x is not a directory'
_NO_FIT = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available"
_NO_EXE = 'failed to create containerd task: exec: "/app/run": stat /app/run: no such file or directory: unknown'


def write(root: Path, n: int) -> Path:
    """The dump with `n` failing workloads of each cause under `root`; returns its path."""
    pods: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(n):
        ns = f"ns{i % 40}"
        p = f"vol{i}-abcde"
        pods.append(
            pod(
                p,
                ns,
                owner=f"DaemonSet/vol{i}",
                phase="Pending",
                containers=[ctr("copy", state=waiting("ContainerCreating"))],
            )
        )
        events.append(event(p, "FailedMount", _HOSTPATH, ns=ns, count=10 + i % 7))
        p = f"cfg{i}-abcde"
        missing = waiting("CreateContainerConfigError", f'configmap "settings{i}" not found')
        pods.append(pod(p, ns, owner=f"Deployment/cfg{i}", containers=[ctr("app", state=missing)]))
        p = f"sch{i}-abcde"
        pods.append(
            pod(
                p,
                ns,
                node=None,
                owner=f"Deployment/sch{i}",
                phase="Pending",
                conditions=unscheduled(_NO_FIT),
                containers=[ctr("app", status=False)],
            )
        )
        events.append(event(p, "FailedScheduling", _NO_FIT, ns=ns, component="default-scheduler", count=3))
        p = f"cmd{i}-abcde"
        pods.append(
            pod(
                p,
                ns,
                owner=f"Deployment/cmd{i}",
                containers=[ctr("app", restarts=4, state=waiting("RunContainerError", _NO_EXE))],
            )
        )
        p = f"evi{i}-abcde"
        pods.append(
            pod(
                p,
                ns,
                owner=f"Deployment/evi{i}",
                phase="Failed",
                reason="Evicted",
                message="The node was low on resource: memory. ",
                containers=[ctr("app", state=terminated("Error", 137))],
            )
        )
        events.append(event(p, "Evicted", "The node was low on resource: memory.", ns=ns))
    context(root, pods=pods, events=events)
    return root / "dump"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", type=int, default=400, help="failing workloads per cause (400)")
    ap.add_argument("--target", type=float, default=2.0, help="CPU seconds all rules together may take (2.0)")
    ap.add_argument("--keep", type=Path, default=None, help="write the dump here (a new folder) and keep it")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        root = a.keep if a.keep is not None else Path(tmp)
        dump = load_any(write(root, a.workloads))
        best: dict[str, float] = {}
        found: dict[str, int] = {}
        for _ in range(3):
            ctx = build_context(dump.frames, dump.snapshots, dump.meta)
            for r in all_rules():
                t = time.process_time()
                found[r.cause] = len(r.find(ctx))
                best[r.cause] = min(best.get(r.cause, float("inf")), time.process_time() - t)
    total = sum(best.values())
    for cause, s in sorted(best.items(), key=lambda x: -x[1]):
        print(f"{cause:32} {s:7.3f} s  {found[cause]:6} findings")
    print(f"{'all rules':32} {total:7.3f} s  (target {a.target:.1f} s)")
    return 0 if total <= a.target else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
