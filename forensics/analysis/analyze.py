"""From a loaded dump to the findings document (contract: docs/findings.md).

Rules run on one shared `Context`; their findings are merged per workload: the most specific cause
becomes the primary one, the others that also hold become `contributing`, their evidence is kept
(marked with the cause it supports). Everything a renderer needs is put in the document.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from forensics import __version__
from forensics.analysis import incident
from forensics.analysis.causes import arch_ids, specificity, unplaced_ids
from forensics.analysis.correlate import WL_KEYS, Context, build_context, restart_history
from forensics.analysis.findings import INTERNAL_CAUSES, Finding, Workload, severity_rank
from forensics.analysis.rules import run_all
from forensics.read.load import Dump
from forensics.values import iso_z, opt_str, snapshot_time

SCHEMA = "cluster-forensics-findings/1"


def _rank(cause: str) -> int:
    """Sorts the most specific cause first (each rule module declares its `SPECIFICITY`)."""
    return -specificity(cause)


def merge(findings: list[Finding], present: set[tuple[str, str]] | None = None) -> list[Finding]:
    """One finding per (workload, latent): the most specific cause is the primary one (by the
    `SPECIFICITY` its module declares: `forensics.analysis.causes.precedence()`), the others contributing.
    A cause about pods that never got a node (declared `UNPLACED`) is not primary over a cause of
    *other* pods of the workload, more of them: nine pods crash-looping and one surge pod Pending is
    a crash, with the Pending pod contributing. Only the pods in `present` (namespace, pod: the last
    snapshot's) count, so that pods known from events alone (deleted since) never outweigh the ones
    there are."""
    groups: dict[tuple[str, str, str, bool], list[Finding]] = {}
    for f in findings:
        key = (f.workload.kind, f.workload.namespace, f.workload.name, f.latent)
        groups.setdefault(key, []).append(f)
    out = []
    for fs in groups.values():
        fs.sort(key=lambda f: (_rank(f.cause), -f.confidence))
        primary = _widest_apart(fs, present)
        fs.remove(primary)
        fs.insert(0, primary)
        for other in fs[1:]:
            if other.cause == primary.cause:
                continue
            if other.cause not in primary.contributing:
                primary.contributing.append(other.cause)
            seen = {(e.file, e.line, e.text) for e in primary.evidence}
            for e in other.evidence:
                if (e.file, e.line, e.text) not in seen:
                    e.supports = e.supports or other.cause
                    primary.evidence.append(e)
            known = {m.what for m in primary.missing_evidence}
            primary.missing_evidence += [m for m in other.missing_evidence if m.what not in known]
            titles = {r.title for r in primary.remediation}
            primary.remediation += [r for r in other.remediation if r.title not in titles]
            for attr in ("pods", "nodes", "containers", "node_archs"):
                setattr(primary, attr, sorted(set(getattr(primary, attr)) | set(getattr(other, attr))))
            if severity_rank(other.severity) > severity_rank(primary.severity):
                primary.severity = other.severity
            # agreeing causes raise confidence a little
            primary.confidence = min(0.99, primary.confidence + 0.02)
        out.append(primary)
    out.sort(
        key=lambda f: (
            f.latent,
            -severity_rank(f.severity),
            f.cause not in arch_ids(),
            -f.confidence,
            f.workload.namespace,
            f.workload.name,
        )
    )
    return out


def _widest_apart(fs: list[Finding], present: set[tuple[str, str]] | None) -> Finding:
    """The first of `fs` (the most specific), unless it is about pods that never got a node and a
    finding about other pods names more of the pods there are: then the first of those naming the most."""

    def there(f: Finding) -> set[str]:
        return {p for p in f.pods if present is None or (f.workload.namespace, p) in present}

    first = fs[0]
    if first.cause not in unplaced_ids():
        return first
    mine = set(first.pods)
    apart = [f for f in fs[1:] if f.pods and mine and not mine & set(f.pods)]
    widest = max(apart, key=lambda f: len(there(f)), default=None)  # max keeps the first of equals
    return widest if widest is not None and len(there(widest)) > len(there(first)) else first


# findings about something other than a workload's pods: never judged by the workload's state now
_NOT_WORKLOADS = ("Node", "Rule")


def split_history(ctx: Context, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(failing now, history): a finding whose workload is not failing at the last snapshot
    (`Context.failing_now`) is history, whatever its cause."""
    now, past = [], []
    for f in findings:
        w = f.workload
        if f.latent or w.kind in _NOT_WORKLOADS or (w.kind, w.namespace, w.name) in ctx.failing_now:
            now.append(f)
        else:
            past.append(f)
    return now, past


def link(findings: list[Finding]) -> list[Finding]:
    """Resolve `caused_by` (a rule names the cause's finding id; a link to a finding that is not in
    the document is dropped), fill each cause's `consequences`, and order the findings so that a
    consequence follows its cause: causes by severity, each followed by its consequences."""
    by_id = {f.id: f for f in findings}
    for f in findings:
        if f.caused_by is not None and (f.caused_by not in by_id or f.caused_by == f.id):
            f.caused_by = None
    for f in findings:
        if f.caused_by is not None:
            cause = by_id[f.caused_by]
            cause.consequences.append({"id": f.id, "cause": f.cause, "workload": str(f.workload)})
            if str(f.workload) not in cause.takes_down:
                cause.takes_down.append(str(f.workload))
    ids = [f.id for f in findings]
    children: dict[str, list[tuple[str, Finding]]] = {}
    for fid, f in zip(ids, findings):
        if f.caused_by is not None:
            children.setdefault(f.caused_by, []).append((fid, f))
    out: list[Finding] = []
    placed: set[str] = set()
    for fid, f in zip(ids, findings):
        if f.caused_by is not None or fid in placed:
            continue
        out.append(f)
        placed.add(fid)
        for cid, c in children.get(fid, []):
            if cid not in placed:
                out.append(c)
                placed.add(cid)
    out.extend(f for fid, f in zip(ids, findings) if fid not in placed)
    return out


def analyze(dump: Dump) -> dict[str, Any]:
    ctx = build_context(dump.frames, dump.snapshots, dump.meta)
    findings, past = split_history(ctx, merge(run_all(ctx), ctx.present_pods))
    findings = link(findings)
    incident.settle(ctx, findings)
    add_intervals(ctx, findings)
    active = [f for f in findings if not f.latent]
    latent = [f for f in findings if f.latent]
    history = restart_history(ctx, {(f.workload.kind, f.workload.namespace, f.workload.name) for f in active})
    _add_past(history, past)
    dump_doc = dump_section(dump, ctx)
    return {
        "schema": SCHEMA,
        "tool": {"name": "cluster-forensics", "version": __version__},
        "dump": dump_doc,
        "summary": summary(ctx, active, dump_doc["counts"], history, dropped_parts(dump)),
        "inventory": inventory(ctx),
        "findings": [f.to_dict() for f in active],
        "latent": [f.to_dict() for f in latent],
        "restart_history": history,
        "series": {"restarts_by_arch": restarts_series(ctx, active)},
        "timeline": cluster_timeline(ctx, active),
        "gaps": relevant_gaps(ctx, dump.gaps + _dropped_gap(dump), findings),
        "load_problems": [p.to_dict() for p in dump.problems],
    }


# gaps that only limit architecture conclusions: they matter when there is an architecture finding
# (failing or latent) or the cluster runs several architectures, never for an all-amd64 cluster
# whose failures have other causes
ARCH_GAPS = frozenset({"no binfmt_misc listings", "no image inspections"})


def relevant_gaps(ctx: Context, gaps: list[dict[str, str]], findings: list[Finding]) -> list[dict[str, Any]]:
    """Each gap with `relevant`: whether it limits a conclusion about this dump (see ARCH_GAPS)."""
    arch_question = ctx.mixed or any(f.cause in arch_ids() for f in findings)
    return [{**g, "relevant": arch_question or str(g.get("what")) not in ARCH_GAPS} for g in gaps]


def add_intervals(ctx: Context, findings: list[Finding]) -> None:
    """Each finding's `failing_intervals`: the runs of consecutive snapshots in which its workload was
    failing (a container failing, or a pod Pending/Failed), from the first termination seen since the
    previous snapshot (else that snapshot's time) to the run's last snapshot. A workload failing,
    then healthy, then failing again gets two intervals; the timeline draws only those."""
    c = ctx.placement
    if c.empty or not ctx.snapshots:
        return
    order = {s: i for i, s in enumerate(ctx.snapshots)}
    times = {s: c.loc[c["snapshot"] == s, "observed_at"].max() for s in ctx.snapshots}
    fail = c[c["failing"].fillna(False)]
    pods = ctx.frames["pods"]
    stuck = pods[pods["phase"].isin(["Pending", "Failed"]).fillna(False)]
    per: dict[tuple[str, str, str], dict[int, Any]] = {}
    for kind, ns, name, snap, fin in zip(
        fail["workload_kind"], fail["namespace"], fail["workload_name"], fail["snapshot"], fail["last_finished"]
    ):
        d = per.setdefault(_key(kind, ns, name), {})
        i = order.get(str(snap))
        if i is not None:
            prev = d.get(i)
            d[i] = fin if prev is None or (not pd.isna(fin) and (pd.isna(prev) or fin < prev)) else prev
    for kind, ns, name, snap, t in zip(
        stuck["workload_kind"], stuck["namespace"], stuck["workload_name"], stuck["snapshot"], stuck["created"]
    ):
        d = per.setdefault(_key(kind, ns, name), {})
        i = order.get(str(snap))
        if i is not None and i not in d:
            d[i] = t
    for f in findings:
        got = per.get((f.workload.kind, f.workload.namespace, f.workload.name))
        if not got:
            continue
        d = got
        runs: list[list[int]] = []
        for i in sorted(d):
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        out = []
        for run in runs:
            first, last = run[0], run[-1]
            start = times.get(ctx.snapshots[first])
            floor = times.get(ctx.snapshots[first - 1]) if first > 0 else None
            t = d[first]
            if not pd.isna(t) and (start is None or pd.isna(start) or t < start) and (floor is None or t > floor):
                start = t
            out.append({"from": iso_z(start), "to": iso_z(times.get(ctx.snapshots[last]))})
        f.failing_intervals = out


def _key(kind: Any, ns: Any, name: Any) -> tuple[str, str, str]:
    return (
        str(kind) if not pd.isna(kind) and kind else "Pod",
        "" if pd.isna(ns) else str(ns),
        "" if pd.isna(name) else str(name),
    )


def dropped_parts(dump: Dump) -> list[str]:
    """What the load dropped, in words for the verdict: unreadable files and unknown shapes, by kind of
    problem (the full list is in `load_problems`)."""
    counts: Counter[str] = Counter(
        p.what
        for p in dump.problems
        if any(k in p.what for k in ("unreadable", "not recognised", "internal-version", "not decoded"))
    )
    return [f"{n} x {what}" if n > 1 else what for what, n in counts.most_common()]


def _dropped_gap(dump: Dump) -> list[dict[str, str]]:
    parts = dropped_parts(dump)
    if not parts:
        return []
    return [
        {
            "what": "parts of the dump not read: " + "; ".join(parts[:5]) + (" ..." if len(parts) > 5 else ""),
            "impact": "what they held is unknown (each is listed under load problems, with why); the rest was analyzed",
        }
    ]


def _add_past(history: list[dict[str, Any]], past: list[Finding]) -> None:
    """Findings whose workload is not failing now join the restart history as what explained it then."""
    by_w = {(h["workload"]["kind"], h["workload"]["namespace"], h["workload"]["name"]): h for h in history}
    for f in past:
        key = (f.workload.kind, f.workload.namespace, f.workload.name)
        h = by_w.get(key)
        if h is None:
            h = {
                "workload": {"kind": key[0], "namespace": key[1], "name": key[2]},
                "pods": f.pods,
                "containers": f.containers,
                "nodes": f.nodes,
                "restarts": f.restarts,
                "last_reasons": [],
                "last_reason": None,
                "last_exit_code": None,
                "last_finished": f.last_seen,
                "node_event": False,
                "severity": "info",
                "note": "failed in an earlier observation; not failing at the last snapshot",
                "file": f.evidence[0].file if f.evidence else None,
            }
            history.append(by_w.setdefault(key, h))
        h.setdefault("earlier_causes", []).append(
            {"cause": f.cause, "summary": f.summary, "confidence": round(float(f.confidence), 2)}
        )


def dump_section(dump: Dump, ctx: Context) -> dict[str, Any]:
    meta = dump.meta
    raw_commands = meta.get("commands")
    commands = [c for c in raw_commands if isinstance(c, dict)] if isinstance(raw_commands, list) else []
    f = dump.frames
    files_meta = meta.get("files")
    # the collector's checksums; anything but a string there is not a checksum (the metadata is input)
    sums = (
        {
            str(x.get("path")): x.get("sha256")
            for x in files_meta
            if isinstance(x, dict) and isinstance(x.get("sha256"), str)
        }
        if isinstance(files_meta, list)
        else {}
    )
    return {
        "path": str(dump.path),
        "format": dump.format,
        "collected_at": opt_str(meta.get("collected_at")),
        "collected_at_derived": bool(meta.get("collected_at_derived", False)),
        "cluster": meta.get("cluster") if isinstance(meta.get("cluster"), dict) else {},
        "collector": meta.get("collector") if isinstance(meta.get("collector"), dict) else {},
        "snapshots": [{"name": s, "observed_at": iso_z(snapshot_time(s))} for s in dump.snapshots],
        "commands": commands,
        "commands_failed": [c for c in commands if c.get("exit_code") not in (0, None)],
        "counts": counts(f),
        "files": [{"path": fi.name, "size": fi.size, "sha256": sums.get(fi.name)} for fi in dump.files],
    }


def counts(f: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How much the dump holds, each figure with one definition (docs/findings.md, "Counts"): distinct
    objects seen in any snapshot. Nodes are the union of Node objects and the nodes pods ran on, so a
    dump without Node objects still counts the nodes its pods name."""
    pods = f["pods"]
    node_names = set(f["nodes"]["node"].dropna().astype(str)) | set(pods["node"].dropna().astype(str))
    c = f["containers"]
    return {
        "nodes": len(node_names),
        "pods": int(pods[["namespace", "pod"]].drop_duplicates().shape[0]),
        "containers": int(c[["namespace", "pod", "container"]].drop_duplicates().shape[0]),
        "workloads": int(pods[WL_KEYS].drop_duplicates().shape[0]) if set(WL_KEYS) <= set(pods.columns) else 0,
        # an event without a uid (kubectl text, a hand-written object) is told apart by its name
        "events": int(f["events"]["uid"].mask(f["events"]["uid"] == "").fillna(f["events"]["name"]).nunique()),
        "images": int(f["images"]["image"].nunique()),
        "logs": len(f["logs"]),
    }


def _workloads(active: list[Finding]) -> list[Finding]:
    """The findings that are failing workloads (an `analyzer.*` finding is about the analyzer)."""
    return [f for f in active if f.cause not in INTERNAL_CAUSES]


def summary(
    ctx: Context,
    active: list[Finding],
    counts: dict[str, int],
    history: list[dict[str, Any]] | None = None,
    dropped: list[str] | None = None,
) -> dict[str, Any]:
    """The verdict and its figures. Every figure is defined once (docs/findings.md, "Counts") over the
    failing workloads' findings, and the verdict sentence is written from these same figures. Root
    causes (findings without `caused_by`) speak first; nodes are not workloads; workloads failing now
    that no finding explains are named; the verdict never claims health over nothing read."""
    history = history or []
    failing = _workloads(active)
    workloads = [f for f in failing if f.workload.kind not in _NOT_WORKLOADS]
    down_nodes = sorted({f.workload.name for f in failing if f.workload.kind == "Node" and f.cause == "node-not-ready"})
    pressed_nodes = sorted(
        {f.workload.name for f in failing if f.workload.kind == "Node" and f.cause == "node-pressure"}
    )
    by_cause = Counter(f.cause for f in active)
    pods = {(f.workload.namespace, p) for f in workloads for p in f.pods}
    nodes = {n for f in failing for n in f.nodes}
    firsts = sorted(f.first_seen for f in failing if f.first_seen)
    lasts = sorted(f.last_seen for f in failing if f.last_seen)
    roots = [f for f in active if f.caused_by is None]
    causes: list[dict[str, Any]] = []
    for cause in sorted({f.cause for f in roots}, key=_rank):
        fs = [f for f in roots if f.cause == cause]
        n = len(fs)
        best = max(fs, key=lambda f: f.confidence)
        causes.append(
            {
                "cause": cause,
                "findings": n,
                "max_confidence": round(best.confidence, 2),
                "sentence": best.summary + (f" (and {n - 1} more)" if n > 1 else ""),
            }
        )
    consequences = sum(1 for f in workloads if f.caused_by is not None)
    covered = {str(f.workload) for f in active} | {w for f in active for w in f.takes_down}
    # workloads with pods in the dump (those known only from events have their own findings or none)
    present = (
        {
            str(Workload(*k))
            for k in set(
                zip(
                    ctx.current["workload_kind"].fillna("Pod").astype(str),
                    ctx.current["namespace"].astype(str),
                    ctx.current["workload_name"].astype(str),
                )
            )
        }
        if not ctx.current.empty
        else set()
    )
    unexplained = sorted(w for w in (str(Workload(*k)) for k in ctx.failing_now) if w not in covered and w in present)
    if failing:
        parts = []
        if down_nodes:
            parts.append(f"{len(down_nodes)} node(s) not Ready")
        if pressed_nodes:
            parts.append(f"{len(pressed_nodes)} node(s) under resource pressure")
        if workloads:
            parts.append(
                f"{len(workloads)} workload(s) failing ({len(pods)} of {counts['pods']} pods, on {len(nodes)} "
                f"of {counts['nodes']} node(s)"
                + (f", {consequences} as a consequence of another finding" if consequences else "")
                + ")"
            )
        verdict = (
            "; ".join(parts)
            + (f" since {firsts[0]}" if firsts else "")
            + ". "
            + " ".join(c["sentence"] + f" [confidence {c['max_confidence']:.2f}]." for c in causes[:3])
            + (f" {len(causes) - 3} more root cause(s) below." if len(causes) > 3 else "")
        )
    elif active:
        verdict = " ".join(c["sentence"] + "." for c in causes)
    else:
        seen = f"{counts['pods']} pod(s)" + (f" on {counts['nodes']} node(s)" if counts["nodes"] else "")
        verdict = (
            (
                f"Nothing is failing now among {seen} read from the dump."
                if not unexplained
                else f"No known cause found among {seen} read from the dump."
            )
            if counts["pods"]
            else (
                f"No pod could be read from the dump ({counts['nodes']} node(s) read, all Ready): nothing can be said "
                "about workloads."
            )
        )
        if history:
            verdict += (
                f" {len(history)} workload(s) restarted earlier and run since (restart history, "
                "no action needed unless it repeats)."
            )
    if unexplained:
        verdict += (
            f" {len(unexplained)} more workload(s) are failing with no cause found (Pending, not Ready or "
            f"restarting without a known reason): {', '.join(unexplained[:5])}"
            + (" ..." if len(unexplained) > 5 else "")
            + "."
        )
    if dropped:
        verdict += " Not read: " + "; ".join(dropped[:3]) + (" ..." if len(dropped) > 3 else "") + "."
    return {
        "verdict": verdict,
        "architecture": architecture_verdict(ctx, workloads),
        "failing_workloads": len(workloads),
        "failing_pods": len(pods),
        "affected_nodes": len(nodes),
        "restarts": sum(f.restarts for f in workloads),
        "first_failure": firsts[0] if firsts else None,
        "last_failure": lasts[-1] if lasts else None,
        "by_cause": dict(by_cause),
        "causes": causes,
        "unexplained": unexplained,
    }


def architecture_verdict(ctx: Context, failing: list[Finding]) -> dict[str, Any]:
    """The question every ticket asks first: is this the ARM/amd64 mismatch?

    `{answer, sentence}`: `answer` is `yes` (every failing workload has an architecture cause),
    `partly`, `no` (failing workloads, none with an architecture cause), `unknown` (none with an
    architecture cause, but the dump names no node's architecture, so none could be found) or `none`
    (nothing failing)."""
    arch_causes = arch_ids()
    arch = [f for f in failing if f.cause in arch_causes]
    other = [f for f in failing if f.cause not in arch_causes]
    names = ", ".join(sorted({f.cause for f in other}))
    archs = ", ".join(ctx.cluster_archs) or "unknown"
    if not failing:
        return {"answer": "none", "sentence": ""}
    if not arch and not ctx.cluster_archs:
        return {
            "answer": "unknown",
            "sentence": "Whether this is the ARM/amd64 mismatch cannot be told: the dump names no node's CPU "
            f"architecture (no Node objects, or none with an architecture); the {len(other)} failing "
            f"workload(s) fail for: {names}.",
        }
    if not arch:
        where = (
            f"every node is {ctx.cluster_archs[0]}" if len(ctx.cluster_archs) == 1 else f"node architectures: {archs}"
        )
        return {
            "answer": "no",
            "sentence": f"Not the ARM/amd64 mismatch: none of the {len(other)} failing workload(s) has an "
            f"architecture cause ({where}); they fail for: {names}.",
        }
    if other:
        return {
            "answer": "partly",
            "sentence": f"{len(arch)} of {len(failing)} failing workload(s) are the CPU architecture mismatch; "
            f"the other {len(other)} fail for: {names}.",
        }
    return {
        "answer": "yes",
        "sentence": f"The CPU architecture mismatch: every failing workload ({len(arch)}) "
        "runs an image its nodes cannot execute.",
    }


def inventory(ctx: Context) -> dict[str, Any]:
    n = ctx.nodes
    archs = {str(k): int(v) for k, v in n["arch"].fillna("unknown").value_counts().sort_index().items()}
    pools = []
    for (pool, arch), g in n.groupby([n["pool"].fillna("(none)"), n["arch"].fillna("unknown")], sort=True):
        pools.append(
            {
                "pool": str(pool),
                "arch": str(arch),
                "instance_types": sorted(g["instance_type"].dropna().astype(str).unique().tolist()),
                "nodes": len(g),
                "ready": int(g["ready"].fillna(False).sum()),
                "first_created": iso_z(g["created"].min()),
                "last_created": iso_z(g["created"].max()),
            }
        )
    nodes = [
        {
            "name": str(r.node),
            "arch": opt_str(r.arch),
            "variant": opt_str(r.variant),
            "os": opt_str(r.os),
            "pool": opt_str(r.pool),
            "instance_type": opt_str(r.instance_type),
            "created": iso_z(r.created),
            "ready": None if pd.isna(r.ready) else bool(r.ready),
            "runtime": opt_str(r.runtime),
            "runtime_version": opt_str(r.runtime_version),
            "kernel": opt_str(r.kernel),
            "os_image": opt_str(r.os_image),
        }
        for r in n.sort_values(["arch", "pool", "node"]).head(2000).itertuples(index=False)
    ]
    return {"architectures": archs, "pools": pools, "nodes": nodes, "nodes_total": len(n)}


def restarts_series(ctx: Context, active: list[Finding]) -> list[dict[str, Any]]:
    """The failing workloads' restarts by node architecture, per interval between snapshots.

    `restarts` of a snapshot are the restarts *during* the interval that ends with it: the growth of
    each container's restartCount since the previous snapshot (for the first snapshot, the count it
    saw: restarts since each container started). Summed over every row they give `summary.restarts`.
    `failing_pods` are the pods named by a failing workload's finding seen in that snapshot (summed
    over the last snapshot's rows: the summary's `failing_pods` still present at collection)."""
    c = ctx.placement
    keys = {(f.workload.namespace, *x.split("/", 1)) for f in _workloads(active) for x in f.containers if "/" in x}
    if c.empty or not keys:
        return []
    ck = pd.MultiIndex.from_arrays([c["namespace"].astype(str), c["pod"].astype(str), c["container"].astype(str)])
    c = c[ck.isin(list(keys))]
    if c.empty:
        return []
    c = c.assign(_k=c["uid"].fillna(c["pod"]), rc=c["restart_count"].fillna(0).astype("int64"))
    c = c.sort_values("snapshot_index")
    c["delta"] = c.groupby(["_k", "container"])["rc"].diff().fillna(c["rc"]).clip(lower=0)
    c["arch"] = c["node_arch"].fillna("no node" if c["node"].isna().all() else "unknown")
    c.loc[c["node"].isna(), "arch"] = "no node"
    c["fpod"] = c["namespace"].astype(str) + "/" + c["pod"].astype(str)
    order = {s: i for i, s in enumerate(ctx.snapshots)}
    g = c.groupby(["snapshot", "arch"], sort=True).agg(
        restarts=("delta", "sum"), at=("observed_at", "first"), failing_pods=("fpod", "nunique")
    )
    rows = [
        {
            "snapshot": str(s),
            "at": iso_z(r["at"]),
            "arch": str(a),
            "restarts": int(r["restarts"]),
            "failing_pods": int(r["failing_pods"]),
        }
        for (s, a), r in g.iterrows()
        if r["restarts"] or r["failing_pods"]
    ]
    return sorted(rows, key=lambda r: (order.get(r["snapshot"], 0), r["arch"]))


def cluster_timeline(ctx: Context, active: list[Finding]) -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []
    seen = set()
    for f in active:
        for e in f.timeline:
            key = (e["at"], e["what"])
            if key not in seen:
                seen.add(key)
                ev.append(e)
    if not ev:
        n = ctx.nodes
        for (pool, arch), g in n.groupby([n["pool"].fillna("(none)"), n["arch"].fillna("unknown")]):
            if g["created"].notna().any():
                ev.append(
                    {
                        "at": iso_z(g["created"].min()),
                        "what": f"first {arch} node of pool {pool} created",
                        "kind": "node-pool",
                        "source": str(g["file"].iloc[0]),
                    }
                )
    for s in ctx.snapshots:
        from forensics.values import snapshot_time

        t = snapshot_time(s)
        if t is not None:
            ev.append({"at": iso_z(t), "what": f"snapshot {s} collected", "kind": "snapshot", "source": s})
    return sorted(ev, key=lambda e: e["at"] or "")
