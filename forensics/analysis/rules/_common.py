"""Shared pieces for rules: grouping rows by workload, evidence rows from frames, the fields every
finding carries (pods, nodes, restarts counted once, first/last seen, restart matrix)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import Context, LogKey, Rows, WorkloadFacts, Workloads, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Severity, Workload
from forensics.values import is_missing

MAX_EVIDENCE = 25


def container_known(c: Any) -> bool:
    """Whether `c` names a real container. kubectl text knows a pod seen only in a `get pods` row by
    its status, not its containers' names, and calls them `?` (`?2`, ...): no command may name them."""
    return not is_missing(c) and bool(str(c)) and not str(c).startswith("?")


def container_flag(c: Any) -> str:
    """` -c NAME` for a kubectl command, or nothing when the name is not known (kubectl then takes the
    pod's default container)."""
    return f" -c {shlex.quote(str(c))}" if container_known(c) else ""


def merge_key(v: Any) -> Any:
    """A join key: missing values equal one another, as `merge` matches them."""
    return None if is_na(v) else v


def keyed(recs: list[tuple[Hashable, Any]]) -> Callable[[Iterable[Hashable]], list[Any]]:
    """Records (key, record) indexed once; the function returned gives the records of some keys in
    their original order, as a scan of every record would, without scanning them for each workload."""
    at: dict[Hashable, list[int]] = {}
    for j, (k, _) in enumerate(recs):
        at.setdefault(k, []).append(j)

    def of(keys: Iterable[Hashable]) -> list[Any]:
        return [recs[j][1] for j in sorted(j for k in set(keys) for j in at.get(k, ()))]

    return of


def by_workload(rows: pd.DataFrame) -> Workloads:
    """`rows` grouped by workload in a stable order: iterate for (workload, its rows), or use the
    `Workloads` accessors (facts, evidence rows, missing logs, restart matrix) computed for all
    workloads at once."""
    return Workloads(rows)


_SOURCE_ORDER = {
    "previous-log": 0,
    "log": 1,
    "last-terminated-message": 2,
    "terminated-message": 3,
    "waiting-message": 4,
    "event": 5,
}


def sig_evidence(sigs: pd.DataFrame | Rows, supports: str | None = None, limit: int = MAX_EVIDENCE) -> list[Evidence]:
    """Evidence items from signature rows: one per distinct (file, line, text), logs first, the
    line verbatim. A plain loop: a workload's signature rows are few."""
    if sigs.empty:
        return []
    cols = ["source", "snapshot", "pod", "file", "line", "text", "object"]
    rows = Rows.of(sigs)
    recs = sorted(zip(*(rows[c] for c in cols)), key=lambda r: (_SOURCE_ORDER.get(r[0], 9), str(r[1]), str(r[2])))
    out: list[Evidence] = []
    seen: set[tuple[Any, Any, Any]] = set()
    for source, snap, _pod, file, line, text, obj in recs:
        key = (file, None if is_missing(line) else line, text)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            Evidence(
                kind="log" if source in ("previous-log", "log") else str(source),
                file=str(file),
                object=str(obj),
                text=str(text),
                line=None if is_missing(line) else int(line),
                snapshot=str(snap),
                supports=supports,
            )
        )
        if len(out) >= limit:
            break
    return out


def container_evidence(
    rows: pd.DataFrame | Rows, text_of: Any, supports: str | None = None, limit: int = MAX_EVIDENCE
) -> list[Evidence]:
    """Evidence from container status rows (each container's last observation); `text_of(row) -> str`
    says what the row shows."""
    if rows.empty:
        return []
    r = Rows.of(rows)
    return _evidence(r.groups.records(r.groups.last_observations_at(r.pos)[:limit]), text_of, supports)


def group_evidence(
    groups: Workloads,
    i: int,
    text_of: Any,
    supports: str | None = None,
    limit: int = MAX_EVIDENCE,
    where: np.ndarray | None = None,
) -> list[Evidence]:
    """`container_evidence` of workload `i` of `groups` (its rows where `where` holds), from rows read
    out of the frame once."""
    return _evidence(groups.records(groups.last_observations(i, where)[:limit]), text_of, supports)


def _evidence(picked: list[Any], text_of: Any, supports: str | None) -> list[Evidence]:
    return [
        Evidence(
            kind="pod",
            file=str(r.file),
            object=f"Pod {r.namespace}/{r.pod} container {r.container}",
            text=text_of(r),
            snapshot=str(r.snapshot),
            supports=supports,
        )
        for r in picked
    ]


def restart_matrix(rows: pd.DataFrame | Rows) -> list[dict[str, Any]]:
    """The workload's restarts by node architecture and node: where it fails and where it runs
    (`Workloads.restart_matrix`)."""
    return Rows.of(rows).restart_matrix() if not rows.empty else []


def new_finding(
    cause: str,
    w: Workload,
    rows: pd.DataFrame | Rows,
    *,
    severity: Severity,
    confidence: float,
    summary: str,
    latent: bool = False,
    facts: WorkloadFacts | None = None,
) -> Finding:
    """A finding with the fields every rule fills the same way, from the workload's failing rows
    (`facts`, when the rule has them from `by_workload`, are those of `rows`)."""
    if facts is None:
        facts = Rows.of(rows).facts()
    return Finding(
        cause=cause,
        severity=severity,
        confidence=confidence,
        workload=w,
        summary=summary,
        latent=latent,
        pods=list(facts.pods),
        nodes=list(facts.nodes),
        containers=list(facts.containers),
        node_archs=list(facts.node_archs),
        restarts=facts.restarts,
        first_seen=facts.first_seen,
        last_seen=facts.last_seen,
    )


def missing_logs(ctx: Context, rows: pd.DataFrame | Rows, lacking: list[LogKey] | None = None) -> list[MissingEvidence]:
    """Say so when failing containers have no previous log in the dump (`lacking`, when the rule has
    it from `Workloads.lacking_logs`, is that of `rows`)."""
    if lacking is None:
        lacking = Rows.of(rows).lacking_logs(ctx.log_keys) if not rows.empty else []
    if not lacking:
        return []
    n, p, c = lacking[0]
    more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
    # a container that never restarted (a Job's pod, restartPolicy Never) has no previous instance:
    # its own log is the one to read, and `--previous` would only get kubectl's "not found"
    previous = True
    r = Rows.of(rows)
    if "restart_count" in r:
        mine = [
            rc
            for ns_, pod, cont, rc in zip(r["namespace"], r["pod"], r["container"], r["restart_count"])
            if not (is_missing(ns_) or is_missing(pod) or is_missing(cont)) and (ns_, pod, cont) == (n, p, c)
        ]
        previous = not mine or any(is_missing(x) for x in mine) or any(x > 0 for x in mine)
    return [
        MissingEvidence(
            what=f"no logs for {p}{'/' + str(c) if container_known(c) else ''}{more}",
            why="the crash line is usually only in the previous container's log"
            if previous
            else "the container's log holds its last words (it never restarted: no previous log)",
            how=f"kubectl -n {shlex.quote(n)} logs {shlex.quote(p)}{container_flag(c)}"
            + (" --previous" if previous else ""),
        )
    ]
