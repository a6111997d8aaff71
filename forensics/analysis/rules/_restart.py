"""What the common restart-cause rules share: per-container marks saying which known failure explains
a container (so `app-crash` can stay silent where another cause holds), the severity of a workload's
trouble, event evidence, and a few remediation pieces.

`marks(ctx)` is `ctx.placement` (every container of every snapshot) plus boolean columns:

    reason        the failure reason: state.terminated.reason, else lastState.terminated.reason
    oom_reason    OOMKilled in the current or last termination
    oom_sig       a memory signature (kernel oom-kill, java OutOfMemoryError, ...) for the container
    probe_sig     a liveness/startup probe failure (Unhealthy / Killing events, messages)
    auth_sig      a registry authentication failure during a pull
    notfound_sig  a registry `manifest unknown` / `not found` during a pull
    net_sig       a pull that failed on the way: TLS/x509, DNS, timeouts, registry rate limits
    volume_sig    a volume the kubelet cannot attach or mount (FailedMount, hostPath type, unbound PVC)
    config_sig    a missing ConfigMap/Secret/key, incl. FailedMount events without a container
    cmd_sig       `executable file not found` and relatives
    app_sig       an application crash line (panic, traceback, FATAL, segfault, ...)
    appexec_sig   the application itself failed to exec a foreign binary (`fork/exec x: exec format error`)
    arch_sig      a signature of the exec-format family: exec format error from the runtime, platform pull
                  errors, qemu/Rosetta, an OS mismatch, an x86-64 level message, an entrypoint script
                  the kernel cannot execute (their own rules own those)
    start_fail    StartError / ContainerCannotRun / RunContainerError / CreateContainerError
    pull_wait     waiting in ErrImagePull / ImagePullBackOff
    config_wait   waiting in CreateContainerConfigError
    failing_b     `failing` as a plain bool
    evicted       the pod was evicted (phase Failed, reason Evicted) in that snapshot
    node_down     the pod's node was not Ready in that snapshot
    clean_stop    the termination message says the container was stopped cleanly (SIGTERM handled,
                  "shutting down gracefully") with exit code 0 or 143: stopped, not crashed

Signatures are matched per container over all snapshots; event signatures without a container
(FailedMount, pod-level events) mark every container of their pod.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis import causes, remediation
from forensics.analysis.correlate import WL_KEYS, Context, Rows, Workloads, is_na, restart_sig_marks
from forensics.analysis.findings import Evidence, MissingEvidence, Remediation, Severity, Workload
from forensics.analysis.rules._common import container_flag
from forensics.values import iso_z

q = shlex.quote
# the kubelet's names for a node's disk in eviction messages and conditions (ephemeral-storage, nodefs,
# imagefs and their inodes variants)
DISK_RESOURCES = ("ephemeral-storage", "nodefs", "imagefs")


def marks(ctx: Context) -> pd.DataFrame:
    """`ctx.restart_marks`: the placement with the columns described in the module docstring,
    computed once in forensics/analysis/correlate.py."""
    return ctx.restart_marks


def termination_messages(ctx: Context) -> dict[tuple[str, str, str, str], str]:
    """(snapshot, namespace, pod, container) -> the termination message shown with the container's state
    (current termination, else the last one): `ctx.term_messages`."""
    return ctx.term_messages


def severity(ctx: Context, w: Workload) -> Severity:
    """high when no pod of the workload is healthy now, medium when some still serve."""
    return "medium" if ctx.healthy_pods.get((w.kind, w.namespace, w.name), 0) > 0 else "high"


def sigs_by_workload(
    ctx: Context, rows: pd.DataFrame, hints: tuple[str, ...], dialects: tuple[str, ...] | None = None
) -> Callable[[Workload], Rows]:
    """`ctx.sigs_for(rows, hints)` computed once for all candidate rows, then looked up per workload."""
    s = ctx.sigs_for(rows, hints)
    if dialects is not None:
        s = s[s["dialect"].isin(list(dialects))]
    return split_by_workload(s)


def split_by_workload(s: pd.DataFrame) -> Callable[[Workload], Rows]:
    """Signature rows (with workload columns) split by workload once; the lookup returns a workload's
    rows in their order (empty when it has none), as `Rows` over `s` whose columns are read once."""
    table = Workloads.at(s, [])
    groups: dict[tuple[str, str, str], Rows] = {}
    if not s.empty:
        for key, pos in s.groupby(WL_KEYS, dropna=False, sort=False).indices.items():
            kind, ns, name = (str(k) if not pd.isna(k) else "" for k in key)
            groups[(kind or "Pod", ns, name)] = Rows(table, np.sort(pos))
    empty = Rows(table, np.zeros(0, dtype=np.int64))
    return lambda w: groups.get((w.kind, w.namespace, w.name), empty)


def texts(sigs: Rows) -> list[str]:
    """The signature lines of `sigs`, in row order."""
    return [str(t) for t in sigs.present("text")]


def any_is(values: list[Any], want: str) -> bool:
    """Whether one of `values` (a column of `Rows`, missing values allowed) equals `want`."""
    return any(not is_na(v) and v == want for v in values)


def events_for_pods(ctx: Context, rows: pd.DataFrame | Rows, reasons: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Pod events (all snapshots, each event once) about the pods in `rows`."""
    ev, idx = ctx.pod_events
    r = Rows.of(rows)
    keys = set(zip(r.text("namespace"), r.text("pod"))) if not r.empty else set()
    pos = [idx[k] for k in keys if k in idx]
    if not pos:
        return ev.iloc[0:0]
    out = ev.iloc[np.sort(np.concatenate(pos))]
    return out[out["reason"].isin(list(reasons))] if reasons is not None else out


def pod_event_rows(ctx: Context, rows: pd.DataFrame | Rows, reasons: tuple[str, ...] | None = None) -> list[Any]:
    """`events_for_pods` as the named tuples `itertuples` gives, in the same order, read from rows
    taken out of the event frame once: a rule working on one workload makes no pandas call."""
    _, idx = ctx.pod_events
    r = Rows.of(rows)
    keys = set(zip(r.text("namespace"), r.text("pod"))) if not r.empty else set()
    pos = [idx[k] for k in keys if k in idx]
    if not pos:
        return []
    recs = ctx.pod_event_records
    out = [recs[j] for j in np.sort(np.concatenate(pos))]
    return out if reasons is None else [e for e in out if not is_na(e.reason) and e.reason in reasons]


def event_evidence(ev: pd.DataFrame | list[Any], supports: str | None = None, limit: int = 10) -> list[Evidence]:
    """Evidence from event rows (a frame, or its rows as the named tuples `itertuples` gives), the first `limit`."""
    out = []
    for r in ev.head(limit).itertuples(index=False) if isinstance(ev, pd.DataFrame) else ev[:limit]:
        count = f" (x{int(r.count)})" if not pd.isna(r.count) and int(r.count) > 1 else ""
        obj = (
            r.object_name
            if r.object_kind == "Node" or pd.isna(r.object_namespace)
            else f"{r.object_namespace}/{r.object_name}"
        )  # nodes are cluster-scoped
        out.append(
            Evidence(
                kind="event",
                file=str(r.file),
                object=f"Event {r.reason} on {r.object_kind} {obj}",
                text=f"{'' if pd.isna(r.message) else r.message}{count}",
                snapshot=str(r.snapshot),
                supports=supports,
            )
        )
    return out


def missing_events(ctx: Context, rows: pd.DataFrame | Rows, what: str) -> list[MissingEvidence]:
    """Say so when the dump holds no event about the pods in `rows`."""
    r = Rows.of(rows)
    _, idx = ctx.pod_events
    if not r.empty and any(k in idx for k in zip(r.text("namespace"), r.text("pod"))):
        return []
    pod = r["pod"][0] if not r.empty else ""
    ns = r["namespace"][0] if not r.empty else ""
    scope = "no events in the dump" if ctx.frames["events"].empty else f"no events about pod {pod}"
    return [
        MissingEvidence(
            what=scope,
            why=f"the kubelet's events would confirm {what}",
            how=f"kubectl -n {q(str(ns))} get events --field-selector "
            f"{q('involvedObject.name=' + str(pod))}  (events expire after an hour)",
        )
    ]


def resource(w: Workload) -> str:
    return remediation.resource_of(w)


def logs_cmd(ns: str, pod: str, container: str, *, previous: bool = True) -> str:
    return f"kubectl -n {q(ns)} logs {q(pod)}{container_flag(container)}" + (" --previous" if previous else "")


def has_previous(r: Any) -> bool:
    """Whether the container of row `r` has a previous instance to read with `logs --previous`: not
    when it never restarted (a Job's pod with restartPolicy Never keeps its one terminated container
    as the current one, and kubectl answers `previous terminated container ... not found`)."""
    rc: Any = r["restart_count"] if isinstance(r, (dict, pd.Series)) else getattr(r, "restart_count", None)
    return rc is None or is_na(rc) or int(rc) > 0


def explained_elsewhere(cause: str) -> list[str]:
    """The signature columns whose hints all belong to causes more specific than `cause`: a
    container marked by one of them is another rule's case."""
    return [
        col
        for col, (hints, _) in restart_sig_marks().items()
        if hints and all(causes.specificity(o) > causes.specificity(cause) for h in hints for o in causes.owners(h))
    ]


def first_row(rows: pd.DataFrame | Rows) -> Any:
    """The most recent row (the one to name in commands): a row of the frame, or of `Rows` the named
    tuple `itertuples` gives; read its fields as attributes."""
    if isinstance(rows, Rows):
        return rows.last()
    return rows.sort_values("snapshot_index").iloc[-1]


def distinct(values: pd.Series | list[Any], limit: int = 5) -> list[str]:
    """The first `limit` distinct present values, as text, in order of appearance."""
    if isinstance(values, pd.Series):
        return [str(v) for v in values.dropna().astype(str).unique().tolist()[:limit]]
    return list(dict.fromkeys(str(v) for v in values if not is_na(v)))[:limit]


_QTY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|k)?\s*$")
_MULT = {
    None: 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}


def memory_bytes(qty: str | None) -> int | None:
    """A Kubernetes memory quantity in bytes; None for what this parser does not know."""
    if not qty:
        return None
    m = _QTY.match(str(qty))
    if not m:
        return None
    return int(float(m.group(1)) * _MULT[m.group(2)])


def raise_memory(qty: str | None) -> str | None:
    """A limit twice `qty`, in Mi (rounded up to a multiple of 64Mi)."""
    b = memory_bytes(qty)
    if not b:
        return None
    mi = -(-2 * b // (1024**2))
    return f"{-(-mi // 64) * 64}Mi"


def pull_findings(ctx: Context, cause: str, sig_col: str, hint: str, problem: str) -> list[Any]:
    """Findings for a pull failure of one kind (`hint`): containers waiting in ErrImagePull /
    ImagePullBackOff, or with a pull error of that kind in their waiting message or events.

    The waiting reason alone does not say why a pull fails (ImagePullBackOff's message is only
    `Back-off pulling image "x"`), so a finding needs the registry's answer; the reason raises
    confidence when both are present."""
    from forensics.analysis.findings import Finding
    from forensics.analysis.rules._common import by_workload, container_evidence, new_finding, sig_evidence

    p = marks(ctx)
    cand = p[p[sig_col] & (p["pull_wait"] | p["failing_b"] | (p["state"] == "waiting").fillna(False))]
    hints = restart_sig_marks()[sig_col][0]
    sigs_of = sigs_by_workload(ctx, cand, hints)
    ghosts = ghost_events(ctx)
    s = ctx.signatures
    ghost_sigs = s[(s["source"] == "event") & s["hint"].isin(list(hints))] if not s.empty else s
    gkeys = set(zip(ghost_sigs["namespace"].astype(str), ghost_sigs["pod"].astype(str)))
    ghost = (
        ghosts[[(str(n), str(p_)) in gkeys for n, p_ in zip(ghosts["object_namespace"], ghosts["object_name"])]]
        if not ghosts.empty
        else ghosts
    )
    ghost = (
        ghost[ghost["reason"].isin(["Failed", "BackOff", "ErrImagePull"]).fillna(False)] if not ghost.empty else ghost
    )
    out: list[Finding] = []
    groups = by_workload(cand)
    pull_wait = groups.flag("pull_wait")
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = sigs_of(w)
        waiting = rows.any(pull_wait)
        from_event = any_is(sigs["source"], "event")
        conf = 0.6 + (0.25 if waiting else 0.0) + (0.1 if from_event else 0.0)
        images = distinct(rows["image"])
        f = new_finding(
            cause,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w} cannot pull {', '.join(images) or 'its image'}: {problem}",
        )
        f.images = [
            {"ref": i, "digest": None, "kind": "unknown", "media_type": None, "platforms": [], "inspected": False}
            for i in images
        ]
        f.evidence.extend(sig_evidence(sigs))
        f.evidence.extend(container_evidence(rows.where(pull_wait), _waiting_text))
        f.missing_evidence.extend(missing_events(ctx, rows, "the registry's answer to the pull"))
        if not waiting:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no container seen waiting in ErrImagePull/ImagePullBackOff",
                    why="the pull error may be from an earlier attempt that later succeeded",
                    how=f"kubectl -n {q(w.namespace)} get pods -o wide",
                )
            )
        out.append(f)
    sig_texts = set(ghost_sigs["text"].astype(str)) if not ghost_sigs.empty else set()
    ghost = (
        ghost[ghost["message"].fillna("").astype(str).map(lambda m: any(t in m for t in sig_texts))]
        if not ghost.empty
        else ghost
    )
    out.extend(ghost_findings(ctx, cause, ghost, f"pulls fail: {problem}"))
    return out


def _waiting_text(r: Any) -> str:
    msg = "" if pd.isna(r.waiting_message) else f": {r.waiting_message}"
    return f"waiting: {r.waiting_reason}{msg}"[:500]


def repo_of(image: str) -> str:
    """The repository of an image reference, without tag or digest."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def pod_spec_path(w: Workload) -> str:
    """The JSONPath of the pod spec inside the workload's object (for `kubectl get -o jsonpath`)."""
    return {"Pod": ".spec", "CronJob": ".spec.jobTemplate.spec.template.spec"}.get(w.kind, ".spec.template.spec")


# --- workloads known only from events: the pod no longer exists ---------------------------------------

GHOST_CONFIDENCE = 0.45
_EVENT_IMAGE = re.compile(r"image \"([^\"\s]+)\"")


def ghost_by_reason(ctx: Context, reasons: tuple[str, ...], needle: str, min_count: int) -> pd.DataFrame:
    """`ghost_events` of these reasons whose message contains `needle`, for workloads whose matching
    events add up to at least `min_count` occurrences (one BackOff is a pod that ran once, not a loop)."""
    g = ghost_events(ctx)
    if g.empty:
        return g
    g = g[g["reason"].isin(list(reasons)).fillna(False) & g["message"].fillna("").str.contains(needle, regex=False)]
    if g.empty:
        return g
    total = g.groupby(["workload_kind", "object_namespace", "workload_name"])["count"].transform(
        lambda c: c.fillna(1).sum()
    )
    return g[total >= min_count]


def ghost_events(ctx: Context) -> pd.DataFrame:
    """Pod events (each once) about pods the dump holds no Pod object for (`ctx.ghost_events`)."""
    return ctx.ghost_events


def ghost_findings(ctx: Context, cause: str, events: pd.DataFrame, what: str) -> list[Any]:
    """Findings for workloads whose pods are gone, from `events` (a subset of `ghost_events`): the
    workload is named from the pod names, the confidence says only events back it. The events are
    grouped once (keys sorted, rows without a key left out, as a sorted `groupby`); each workload's
    part is read from column lists."""
    from forensics.analysis.findings import Finding

    out: list[Any] = []
    if events.empty:
        return out
    keys = ["workload_kind", "object_namespace", "workload_name"]
    codes = events.groupby(keys, sort=True).ngroup().to_numpy(dtype=float)
    kept = np.flatnonzero(~np.isnan(codes))
    if not len(kept):
        return out
    order = kept[np.argsort(codes[kept], kind="stable")]
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    groups = Workloads.at(events, np.split(order, bounds))
    for i, _ in groups.each():
        rows = groups.sel(i)
        kind, ns, name = (rows[k][0] for k in keys)
        w = Workload(str(kind), str(ns), str(name))
        pods = sorted(set(rows.text("object_name")))
        count = int(sum(1 if is_na(c) else c for c in rows["count"]))
        firsts, seen = rows.present("first_seen"), rows.present("last_seen")
        f = Finding(
            cause=cause,
            severity="low",
            confidence=GHOST_CONFIDENCE + (0.05 if count >= 10 else 0.0),
            workload=w,
            pods=pods,
            summary=f"{w}: {what} (only events tell: pod(s) {', '.join(pods[:3])} no longer in the dump)",
            first_seen=iso_z(min(firsts)) if firsts else None,
            last_seen=iso_z(max(seen)) if seen else None,
        )
        f.evidence.extend(event_evidence(_by_count(rows)))
        images = list(
            dict.fromkeys(m.group(1) for t in rows.present("message") for m in [_EVENT_IMAGE.search(str(t))] if m)
        )
        f.images = [
            {"ref": i, "digest": None, "kind": "unknown", "media_type": None, "platforms": [], "inspected": False}
            for i in images[:3]
        ]
        f.missing_evidence.append(
            MissingEvidence(
                what=f"no Pod object for {pods[0]}" + (f" (and {len(pods) - 1} more)" if len(pods) > 1 else ""),
                why="the pod was deleted or replaced before the dump: its status, node and image are unknown",
                how=f"kubectl -n {q(w.namespace)} get pods -o wide",
            )
        )
        f.remediation.append(
            Remediation(
                title=f"See whether {w} still fails now, and read its current pods' events",
                command=f"kubectl -n {q(w.namespace)} get pods -o wide\n"
                f"kubectl -n {q(w.namespace)} get events --field-selector {q('involvedObject.name=' + pods[0])}",
                kind="investigate",
            )
        )
        out.append(f)
    return out


def _by_count(rows: Rows) -> list[Any]:
    """`rows` as named tuples, the largest count first; equal counts in the events' order, unknown
    counts last."""
    counts = rows["count"]
    order = sorted(range(len(counts)), key=lambda k: (is_na(counts[k]), 0 if is_na(counts[k]) else -counts[k]))
    recs = rows.records()
    return [recs[k] for k in order]
