"""Shared pieces for rules: grouping rows by workload, evidence rows from frames, the fields every
finding carries (pods, nodes, restarts counted once, first/last seen, restart matrix)."""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterator
from typing import Any

import pandas as pd

from forensics.correlate import WL_KEYS, Context, iso, restarts_once
from forensics.findings import Evidence, Finding, MissingEvidence, Severity, Workload

MAX_EVIDENCE = 25
_EPOCH_FLOOR = pd.Timestamp("1990-01-01", tz="UTC")


def by_workload(rows: pd.DataFrame) -> Iterator[tuple[Workload, pd.DataFrame]]:
    """Yield (workload, its rows) in a stable order."""
    if rows.empty:
        return
    for key, g in rows.groupby(WL_KEYS, sort=True, dropna=False):
        kind, ns, name = (str(k) if not pd.isna(k) else "" for k in key)
        yield Workload(kind or "Pod", ns, name), g


_SOURCE_ORDER = {"previous-log": 0, "log": 1, "last-terminated-message": 2, "terminated-message": 3,
                 "waiting-message": 4, "event": 5}


def sig_evidence(sigs: pd.DataFrame, supports: str | None = None, limit: int = MAX_EVIDENCE) -> list[Evidence]:
    """Evidence items from signature rows: one per distinct (file, line, text), logs first, the
    line verbatim. A plain loop: a workload's signature rows are few."""
    if sigs.empty:
        return []
    cols = ["source", "snapshot", "pod", "file", "line", "text", "object"]
    recs = sorted(zip(*(sigs[c].tolist() for c in cols)),
                  key=lambda r: (_SOURCE_ORDER.get(r[0], 9), str(r[1]), str(r[2])))
    out: list[Evidence] = []
    seen: set[tuple[Any, Any, Any]] = set()
    for source, snap, _pod, file, line, text, obj in recs:
        key = (file, None if _na(line) else line, text)
        if key in seen:
            continue
        seen.add(key)
        out.append(Evidence(kind="log" if source in ("previous-log", "log") else str(source), file=str(file),
                            object=str(obj), text=str(text), line=None if _na(line) else int(line),
                            snapshot=str(snap), supports=supports))
        if len(out) >= limit:
            break
    return out


def container_evidence(rows: pd.DataFrame, text_of: Any, supports: str | None = None,
                       limit: int = MAX_EVIDENCE) -> list[Evidence]:
    """Evidence from container status rows (each container's last observation); `text_of(row) -> str`
    says what the row shows."""
    if rows.empty:
        return []
    last: dict[tuple[Any, Any, Any], int] = {}
    for i, key in enumerate(zip(rows["namespace"].tolist(), rows["pod"].tolist(), rows["container"].tolist())):
        last.pop(key, None)
        last[key] = i
    picked = rows.iloc[sorted(last.values())[:limit]]
    return [Evidence(kind="pod", file=str(r.file), object=f"Pod {r.namespace}/{r.pod} container {r.container}",
                     text=text_of(r), snapshot=str(r.snapshot), supports=supports)
            for r in picked.itertuples(index=False)]


def _na(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def restart_matrix(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The workload's restarts by node architecture and node: where it fails and where it runs.

    A workload's rows are few, so this is a plain loop (pandas' per-call overhead would dominate):
    each container's last observation gives the pod and state counts; restarts are counted once per
    pod instance (uid) and container, on its last node."""
    if rows.empty:
        return []
    names = ["uid", "pod", "container", "node_arch", "node", "snapshot_index", "restart_count", "failing", "healthy"]
    last: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    peak: dict[tuple[Any, Any], int] = {}
    for uid, pod, cont, arch, node, si, rc, fl, hl in zip(*(rows[c].tolist() for c in names)):
        k = (pod if _na(uid) else uid, cont)
        si = -1 if _na(si) else si
        if k not in last or si >= last[k][0]:
            last[k] = (si, None if _na(arch) else str(arch), None if _na(node) else str(node), pod,
                       not _na(fl) and bool(fl), not _na(hl) and bool(hl))
        peak[k] = max(peak.get(k, 0), 0 if _na(rc) else int(rc))
    cells: dict[tuple[Any, Any], dict[str, Any]] = {}
    for k, (_, arch, node, pod, fl, hl) in last.items():
        c = cells.setdefault((arch or "", node or ""), {"arch": arch, "node": node, "pods": set(), "restarts": 0,
                                                        "failing": 0, "running": 0})
        c["pods"].add(pod)
        c["restarts"] += peak[k]
        c["failing"] += fl
        c["running"] += hl
    return [{**c, "pods": len(c["pods"])} for _, c in sorted(cells.items())]


def _times(rows: pd.DataFrame) -> tuple[str | None, str | None]:
    cols = [c for c in ("last_started", "last_finished", "term_finished", "observed_at")
            if c in rows]
    first = last = None
    for c in cols:
        v = rows[c].dropna()
        v = v[v > _EPOCH_FLOOR]  # a StartError's startedAt is 1970-01-01: "never started", not a time
        if v.empty:
            continue
        lo, hi = v.min(), v.max()
        first = lo if first is None or lo < first else first
        last = hi if last is None or hi > last else last
    # a failure first shows at the earliest last-termination, if known
    return iso(first), iso(last)


def new_finding(cause: str, w: Workload, rows: pd.DataFrame, *, severity: Severity, confidence: float,
                summary: str, latent: bool = False) -> Finding:
    """A finding with the fields every rule fills the same way, from the workload's failing rows."""
    first, last = _times(rows)
    return Finding(
        cause=cause, severity=severity, confidence=confidence, workload=w, summary=summary, latent=latent,
        pods=sorted(rows["pod"].dropna().astype(str).unique().tolist()),
        nodes=sorted(rows["node"].dropna().astype(str).unique().tolist()),
        containers=sorted({f"{p}/{c}" for p, c in zip(rows["pod"].astype(str), rows["container"].astype(str))}),
        node_archs=sorted(rows["node_arch"].dropna().astype(str).unique().tolist()),
        restarts=restarts_once(rows), first_seen=first, last_seen=last,
    )


def missing_logs(ctx: Context, rows: pd.DataFrame) -> list[MissingEvidence]:
    """Say so when failing containers have no previous log in the dump."""
    have = ctx.log_keys
    lacking = [(n, p, c) for n, p, c in rows[["namespace", "pod", "container"]].drop_duplicates()
               .astype(str).itertuples(index=False, name=None) if (n, p, c) not in have]
    if not lacking:
        return []
    n, p, c = lacking[0]
    more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
    return [MissingEvidence(
        what=f"no logs for {p}/{c}{more}",
        why="the crash line is usually only in the previous container's log",
        how=f"kubectl -n {shlex.quote(n)} logs {shlex.quote(p)} -c {shlex.quote(c)} --previous",
    )]
