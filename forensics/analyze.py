"""From a loaded dump to the findings document (contract: docs/findings.md).

Rules run on one shared `Context`; their findings are merged per workload: the most specific cause
becomes the primary one, the others that also hold become `contributing`, their evidence is kept
(marked with the cause it supports). Everything a renderer needs is put in the document.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from forensics import __version__, incident
from forensics.correlate import WL_KEYS, Context, build_context, iso
from forensics.findings import ARCH_CAUSES, INTERNAL_CAUSES, Finding, severity_rank
from forensics.load import Dump
from forensics.rules import run_all

# the most specific explanation wins; the rest contribute
# (an OS mismatch and an entrypoint that is not executable come first: when they hold, no
# architecture cause is the explanation; an emulation fault ranks below a failing liveness probe,
# because an emulated pod that is only slow is a probe problem the emulation contributes to)
PRIORITY = (
    "platform.os-mismatch", "entrypoint-not-executable", "arch.index-entry-mismatch",
    "arch.bare-manifest-tag", "arch.missing-emulation", "arch.apple-silicon-build",
    "arch.index-missing-platform", "arch.single-arch-image", "arch.mixed-arch-no-affinity",
    "arch.microarch-level",
    "image-pull-auth", "image-pull-not-found", "missing-config", "command-not-found", "unschedulable",
    "node-not-ready", "evicted", "oom-killed", "liveness-probe", "arch.emulation-fault", "app-crash",
    "analyzer.rule-error",
)
SCHEMA = "cluster-forensics-findings/1"


def _rank(cause: str) -> int:
    return PRIORITY.index(cause) if cause in PRIORITY else len(PRIORITY)


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (workload, latent): the primary by PRIORITY, the others contributing."""
    groups: dict[tuple[str, str, str, bool], list[Finding]] = {}
    for f in findings:
        key = (f.workload.kind, f.workload.namespace, f.workload.name, f.latent)
        groups.setdefault(key, []).append(f)
    out = []
    for fs in groups.values():
        fs.sort(key=lambda f: (_rank(f.cause), -f.confidence))
        primary = fs[0]
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
    out.sort(key=lambda f: (f.latent, -severity_rank(f.severity), f.cause not in ARCH_CAUSES, -f.confidence,
                            f.workload.namespace, f.workload.name))
    return out


def analyze(dump: Dump) -> dict[str, Any]:
    ctx = build_context(dump.frames, dump.snapshots, dump.meta)
    findings = merge(run_all(ctx))
    incident.settle(ctx, findings)
    active = [f for f in findings if not f.latent]
    latent = [f for f in findings if f.latent]
    dump_doc = dump_section(dump, ctx)
    return {
        "schema": SCHEMA,
        "tool": {"name": "cluster-forensics", "version": __version__},
        "dump": dump_doc,
        "summary": summary(ctx, active, dump_doc["counts"]),
        "inventory": inventory(ctx),
        "findings": [f.to_dict() for f in active],
        "latent": [f.to_dict() for f in latent],
        "series": {"restarts_by_arch": restarts_series(ctx, active)},
        "timeline": cluster_timeline(ctx, active),
        "gaps": relevant_gaps(ctx, dump.gaps, findings),
        "load_problems": [p.to_dict() for p in dump.problems],
    }


# gaps that only limit architecture conclusions: they matter when there is an architecture finding
# (failing or latent) or the cluster runs several architectures, never for an all-amd64 cluster
# whose failures have other causes
ARCH_GAPS = frozenset({"no binfmt_misc listings", "no image inspections"})


def relevant_gaps(ctx: Context, gaps: list[dict[str, str]], findings: list[Finding]) -> list[dict[str, Any]]:
    """Each gap with `relevant`: whether it limits a conclusion about this dump (see ARCH_GAPS)."""
    arch_question = ctx.mixed or any(f.cause in ARCH_CAUSES for f in findings)
    return [{**g, "relevant": arch_question or str(g.get("what")) not in ARCH_GAPS} for g in gaps]


def dump_section(dump: Dump, ctx: Context) -> dict[str, Any]:
    meta = dump.meta
    raw_commands = meta.get("commands")
    commands = [c for c in raw_commands if isinstance(c, dict)] if isinstance(raw_commands, list) else []
    f = dump.frames
    files_meta = meta.get("files")
    sums = {str(x.get("path")): x.get("sha256") for x in files_meta if isinstance(x, dict)} \
        if isinstance(files_meta, list) else {}
    return {
        "path": str(dump.path),
        "format": dump.format,
        "collected_at": _str(meta.get("collected_at")),
        "collected_at_derived": bool(meta.get("collected_at_derived", False)),
        "cluster": meta.get("cluster") if isinstance(meta.get("cluster"), dict) else {},
        "collector": meta.get("collector") if isinstance(meta.get("collector"), dict) else {},
        "snapshots": [{"name": s, "observed_at": iso(_snap_time(s))} for s in dump.snapshots],
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
        "events": int(f["events"]["uid"].fillna(f["events"]["name"]).nunique()),
        "images": int(f["images"]["image"].nunique()),
        "logs": len(f["logs"]),
    }


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _snap_time(s: str) -> Any:
    from forensics.frames import snapshot_time

    return snapshot_time(s)


def _workloads(active: list[Finding]) -> list[Finding]:
    """The findings that are failing workloads (an `analyzer.*` finding is about the analyzer)."""
    return [f for f in active if f.cause not in INTERNAL_CAUSES]


def summary(ctx: Context, active: list[Finding], counts: dict[str, int]) -> dict[str, Any]:
    """The verdict and its figures. Every figure is defined once (docs/findings.md, "Counts") over the
    failing workloads' findings, and the verdict sentence is written from these same figures."""
    failing = _workloads(active)
    by_cause = Counter(f.cause for f in active)
    pods = {(f.workload.namespace, p) for f in failing for p in f.pods}
    nodes = {n for f in failing for n in f.nodes}
    firsts = sorted(f.first_seen for f in failing if f.first_seen)
    lasts = sorted(f.last_seen for f in failing if f.last_seen)
    causes: list[dict[str, Any]] = []
    for cause, n in sorted(by_cause.items(), key=lambda kv: _rank(kv[0])):
        fs = [f for f in active if f.cause == cause]
        best = max(fs, key=lambda f: f.confidence)
        causes.append({"cause": cause, "findings": n, "max_confidence": round(best.confidence, 2),
                       "sentence": best.summary + (f" (and {n - 1} more workload(s))" if n > 1 else "")})
    if failing:
        verdict = (f"{len(failing)} workload(s) failing ({len(pods)} of {counts['pods']} pods, on {len(nodes)} of "
                   f"{counts['nodes']} node(s))" + (f" since {firsts[0]}" if firsts else "") + ". "
                   + " ".join(c["sentence"] + f" [confidence {c['max_confidence']:.2f}]." for c in causes[:3])
                   + (f" {len(causes) - 3} more root cause(s) below." if len(causes) > 3 else ""))
    elif active:
        verdict = " ".join(c["sentence"] + "." for c in causes)
    else:
        verdict = f"No failing workloads found among {counts['pods']} pods."
    return {
        "verdict": verdict,
        "architecture": architecture_verdict(ctx, failing),
        "failing_workloads": len(failing),
        "failing_pods": len(pods),
        "affected_nodes": len(nodes),
        "restarts": sum(f.restarts for f in failing),
        "first_failure": firsts[0] if firsts else None,
        "last_failure": lasts[-1] if lasts else None,
        "by_cause": dict(by_cause),
        "causes": causes,
    }


def architecture_verdict(ctx: Context, failing: list[Finding]) -> dict[str, Any]:
    """The question every ticket asks first: is this the ARM/amd64 mismatch?

    `{answer, sentence}`: `answer` is `yes` (every failing workload has an architecture cause),
    `partly`, `no` (failing workloads, none with an architecture cause) or `none` (nothing failing)."""
    arch = [f for f in failing if f.cause in ARCH_CAUSES]
    other = [f for f in failing if f.cause not in ARCH_CAUSES]
    names = ", ".join(sorted({f.cause for f in other}))
    archs = ", ".join(ctx.cluster_archs) or "unknown"
    if not failing:
        return {"answer": "none", "sentence": ""}
    if not arch:
        where = (f"every node is {ctx.cluster_archs[0]}" if len(ctx.cluster_archs) == 1
                 else f"node architectures: {archs}")
        return {"answer": "no",
                "sentence": f"Not the ARM/amd64 mismatch: none of the {len(other)} failing workload(s) has an "
                            f"architecture cause ({where}); they fail for: {names}."}
    if other:
        return {"answer": "partly",
                "sentence": f"{len(arch)} of {len(failing)} failing workload(s) are the CPU architecture mismatch; "
                            f"the other {len(other)} fail for: {names}."}
    return {"answer": "yes", "sentence": f"The CPU architecture mismatch: every failing workload ({len(arch)}) "
                                         "runs an image its nodes cannot execute."}


def inventory(ctx: Context) -> dict[str, Any]:
    n = ctx.nodes
    archs = {str(k): int(v) for k, v in n["arch"].fillna("unknown").value_counts().sort_index().items()}
    pools = []
    for (pool, arch), g in n.groupby([n["pool"].fillna("(none)"), n["arch"].fillna("unknown")], sort=True):
        pools.append({"pool": str(pool), "arch": str(arch),
                      "instance_types": sorted(g["instance_type"].dropna().astype(str).unique().tolist()),
                      "nodes": len(g), "ready": int(g["ready"].fillna(False).sum()),
                      "first_created": iso(g["created"].min()), "last_created": iso(g["created"].max())})
    nodes = [{
        "name": str(r.node), "arch": _na(r.arch), "variant": _na(r.variant), "os": _na(r.os), "pool": _na(r.pool),
        "instance_type": _na(r.instance_type), "created": iso(r.created),
        "ready": None if pd.isna(r.ready) else bool(r.ready), "runtime": _na(r.runtime),
        "runtime_version": _na(r.runtime_version), "kernel": _na(r.kernel), "os_image": _na(r.os_image),
    } for r in n.sort_values(["arch", "pool", "node"]).head(2000).itertuples(index=False)]
    return {"architectures": archs, "pools": pools, "nodes": nodes, "nodes_total": len(n)}


def _na(v: Any) -> Any:
    return None if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)) else str(v)


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
    ck = pd.Series(list(zip(c["namespace"].astype(str), c["pod"].astype(str), c["container"].astype(str))),
                   index=c.index)
    c = c[ck.isin(keys)]
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
        restarts=("delta", "sum"), at=("observed_at", "first"), failing_pods=("fpod", "nunique"))
    rows = [{"snapshot": str(s), "at": iso(r["at"]), "arch": str(a), "restarts": int(r["restarts"]),
             "failing_pods": int(r["failing_pods"])} for (s, a), r in g.iterrows()
            if r["restarts"] or r["failing_pods"]]
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
                ev.append({"at": iso(g["created"].min()), "what": f"first {arch} node of pool {pool} created",
                           "kind": "node-pool", "source": str(g["file"].iloc[0])})
    for s in ctx.snapshots:
        from forensics.frames import snapshot_time

        t = snapshot_time(s)
        if t is not None:
            ev.append({"at": iso(t), "what": f"snapshot {s} collected", "kind": "snapshot", "source": s})
    return sorted(ev, key=lambda e: e["at"] or "")
