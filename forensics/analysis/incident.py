"""When a workload started failing: the earliest evidence of failure, decided once per finding.

A support engineer asks "since when?" first, and the answer must not be the most recent crash
(`lastState.terminated` only remembers the last one). The first failure of a failing workload is
the earliest of:

- the start of the first failing container run: a container that was never seen Ready, has
  restarted, and whose restart count fills the time since its pod started under the kubelet's
  crash-loop back-off (10 s doubling to 5 min, `kubelet` `backOffPeriod`/`MaxContainerBackOff`)
  has failed on every run since the pod started, so its failure began at the pod's `startTime`;
- the `firstTimestamp` of a Warning event about one of the workload's failing pods;
- the earliest termination seen (`startedAt`/`finishedAt` of a last or current termination);
- else the first snapshot in which the workload was seen failing.

`settle(ctx, findings)` writes that time into each active finding's `first_seen` and into the one
`first-failure` event of its timeline; the verdict, cards, charts, JSON and Markdown all read it
from there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import Context, Workloads
from forensics.analysis.findings import Evidence, Finding
from forensics.values import is_missing, iso_z

_EPOCH_FLOOR = pd.Timestamp("1990-01-01", tz="UTC")
_BACKOFF_START, _BACKOFF_CAP = 10.0, 300.0


def backoff_seconds(restarts: int) -> float:
    """The least time `restarts` crash-loop restarts take: the sum of the kubelet's back-off waits."""
    total, wait = 0.0, _BACKOFF_START
    for _ in range(max(0, restarts)):
        total += wait
        wait = min(wait * 2, _BACKOFF_CAP)
    return total


def _ts(v: Any) -> pd.Timestamp | None:
    if is_missing(v):
        return None
    t = pd.Timestamp(v)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t if t > _EPOCH_FLOOR else None


def _rows_of(ctx: Context, f: Finding) -> pd.DataFrame:
    """The placement rows (every snapshot) of the containers a finding names."""
    narrow, index = ctx.container_rows
    return narrow.iloc[_positions(index, f)]


def _positions(index: dict[Any, Any], f: Finding) -> np.ndarray:
    keys = {(f.workload.namespace, *c.split("/", 1)) for c in f.containers if "/" in c}
    return np.array(sorted(i for k in keys for i in index.get(k, ())), dtype=np.int64)


def _indexes(ctx: Context) -> tuple[Any, Any]:
    """Per pod (namespace, name): its earliest startTime, and the earliest firstTimestamp of a Warning
    event about it (`ctx.pod_first_times`)."""
    return ctx.pod_first_times


_FIRST_COLS = [
    "namespace",
    "pod",
    "container",
    "failing",
    "ready",
    "restart_count",
    "last_started",
    "last_finished",
    "term_finished",
    "observed_at",
    "file",
    "snapshot",
]


def first_failure(
    ctx: Context, f: Finding, rows: pd.DataFrame | None = None, recs: list[tuple[Any, ...]] | None = None
) -> tuple[pd.Timestamp | None, Evidence | None]:
    """The earliest evidence of failure of a finding, and the evidence item for a pod-start decision.
    `recs` are the finding's rows as tuples of `_FIRST_COLS` (else read from `rows`, else looked up).
    A finding's rows are few: plain loops over them."""
    if recs is None:
        if rows is None:
            rows = _rows_of(ctx, f)
        recs = list(zip(*(rows[c].tolist() for c in _FIRST_COLS))) if not rows.empty else []
    times: list[pd.Timestamp] = []
    ever_ready: set[tuple[Any, Any, Any]] = set()
    by_container: dict[tuple[Any, Any, Any], list[tuple[Any, ...]]] = {}
    for r in recs:
        key = (r[0], r[1], r[2])
        if r[4] is True:
            ever_ready.add(key)
        if r[3] is True:
            by_container.setdefault(key, []).append(r)
            times += [t for t in (_ts(r[6]), _ts(r[7]), _ts(r[8])) if t is not None]
    starts, warned = _indexes(ctx)
    note: Evidence | None = None
    note_at: pd.Timestamp | None = None
    for key, obs in sorted(by_container.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if key in ever_ready:
            continue
        ns, pod, cont = key
        n = max(0 if is_missing(r[5]) else int(r[5]) for r in obs)
        start = _ts(starts.get((ns, pod)))
        last = max((t for t in (_ts(r[7]) for r in obs) if t is not None), default=None)
        if n <= 0 or start is None or last is None or last < start:
            continue
        runs = [
            (b - a).total_seconds() for a, b in ((_ts(r[6]), _ts(r[7])) for r in obs) if a is not None and b is not None
        ]
        run = max([1.0, *runs])
        if (last - start).total_seconds() <= (backoff_seconds(n) + (n + 1) * run) * 1.25 + 60:
            times.append(start)
            if note_at is None or start < note_at:
                note_at = start
                note = Evidence(
                    kind="pod",
                    file=str(obs[0][10]),
                    object=f"Pod {ns}/{pod} container {cont}",
                    text=f"failing since its pod started at {iso_z(start)}: never Ready, {n} restarts, as many as a "
                    "crash loop fits in that time",
                    snapshot=str(obs[-1][11]),
                )
    for pod in f.pods:
        t = _ts(warned.get((f.workload.namespace, pod)))
        if t is not None:
            times.append(t)
    if not times:
        times = [t for t in (_ts(r[9]) for obs in by_container.values() for r in obs) if t is not None]
    return (min(times) if times else None), note


def settle(ctx: Context, findings: list[Finding]) -> None:
    """Decide, once per active finding, the figures every rendering shows: its first failure (see the
    module docstring), in `first_seen` and as the single `first-failure` event of its timeline, and
    its restarts: those of the containers it names, counted once over snapshots (the highest
    restartCount of each pod instance and container), the same containers as its restart matrix
    and the summary's restarts chart."""
    active = [f for f in findings if not (f.latent or f.cause.startswith("analyzer."))]
    # every finding's container rows at once: the figures are computed from slices of the columns
    narrow, index = ctx.container_rows
    positions = [_positions(index, f) for f in active]
    # only the rows the findings name are read out of the frame (a time column read whole costs a
    # Timestamp per row of the cluster)
    needed = np.unique(np.concatenate(positions)) if positions else np.zeros(0, dtype=np.int64)
    groups = Workloads.at(narrow.iloc[needed], [np.searchsorted(needed, p) for p in positions])
    cols = [groups.col(c) for c in _FIRST_COLS]
    for i, f in enumerate(active):
        pos = groups.positions[i]
        if len(pos):
            f.restarts = groups.restarts_at(pos)
            f.restart_matrix = groups.restart_matrix(i)
        first, note = first_failure(ctx, f, recs=[tuple(c[j] for c in cols) for j in pos])
        when = iso_z(first) if first is not None else f.first_seen
        if when is None:
            continue
        f.first_seen = when
        if f.last_seen is not None and f.last_seen < when:
            f.last_seen = when
        if note is not None:
            f.evidence.append(note)
        f.timeline = [e for e in f.timeline if e.get("kind") != "first-failure"]
        f.timeline.append(
            {
                "at": when,
                "what": f"first failure of {f.workload}",
                "kind": "first-failure",
                "source": note.file if note is not None else "",
            }
        )
        f.timeline.sort(key=lambda e: str(e.get("at") or ""))
