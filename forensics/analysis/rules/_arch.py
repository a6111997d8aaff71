"""What the architecture rules share: which container rows fail for an architecture reason, the
image facts of a workload, its timeline, and the standard evidence / remediation of an arch finding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis import remediation
from forensics.analysis.causes import platform_hints
from forensics.analysis.correlate import Context, Rows, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Workload
from forensics.analysis.rules._common import restart_matrix, sig_evidence
from forensics.knowledge.arch import lacks_aarch32, platform_label
from forensics.values import iso_z


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(df[cols].astype(object).fillna(""))


def marked(ctx: Context) -> pd.DataFrame:
    """Placement rows with `arch_sig` (an arch signature seen for the container, or for its pod in an
    event without a container), `pull_sig` (a pull-time platform error), `emu_sig` (qemu/rosetta),
    `exec_sig` (the runtime's exec format error), `unsupported` (image inspected and lacking the node's
    arch), `platform_match`, `exec_everywhere`, `ran_foreign`, `emulated_or_ran` and `arch_fail` (failing
    for one of these): `ctx.arch_marks`, computed once in forensics/analysis/correlate.py."""
    return ctx.arch_marks


def sig_mask(p: pd.DataFrame, sigs: pd.DataFrame) -> np.ndarray:
    """Which rows of `p` have a row in `sigs` (by container, or by pod for signatures without one)."""
    if sigs.empty or p.empty:
        return np.zeros(len(p), dtype=bool)
    with_c = sigs[sigs["container"].notna()]
    no_c = sigs[sigs["container"].isna()]
    hit = (
        _keys(p, ["namespace", "pod", "container"]).isin(_keys(with_c, ["namespace", "pod", "container"]))
        if not with_c.empty
        else np.zeros(len(p), dtype=bool)
    )
    if not no_c.empty:
        hit = hit | _keys(p, ["namespace", "pod"]).isin(_keys(no_c, ["namespace", "pod"]))
    return np.asarray(hit, dtype=bool)


def failing_workloads(p: pd.DataFrame) -> pd.DataFrame:
    """Rows of workloads with at least one arch failure (all their rows, for the full picture)."""
    bad = p[p["arch_fail"]][["workload_kind", "namespace", "workload_name"]].drop_duplicates()
    return p.merge(bad, on=["workload_kind", "namespace", "workload_name"], how="inner")


def unconstrained(rows: pd.DataFrame | Rows, ctx: Context | None = None) -> bool:
    """No kubernetes.io/arch constraint on the pods, nor (with `ctx`) on their controller's pod
    template. The template decides where new pods go: the DaemonSet controller replaces a pod's
    required node affinity with a per-node `matchFields` term, so its pods never show the
    template's arch terms."""
    r = Rows.of(rows)
    if not (all(is_na(v) for v in r["arch_allowed"]) and all(is_na(v) for v in r["arch_excluded"])):
        return False
    if ctx is None or r.empty:
        return True
    if ctx.frames["workloads"].empty:
        return True
    key = tuple(r[c][0] for c in ("workload_kind", "namespace", "workload_name"))
    return any(is_na(k) for k in key) or key not in ctx.arch_constrained


def image_dicts(ctx: Context, rows: pd.DataFrame | Rows) -> list[dict[str, Any]]:
    imgs = ctx.image_records
    out: list[dict[str, Any]] = []
    running: dict[Any, set[str]] = {}
    refs: dict[Any, Any] = {}
    sel = Rows.of(rows)
    for key, ref, digest in zip(sel["image_key"], sel["image"], sel["image_digest"]):
        refs.setdefault(key, ref)
        d = running.setdefault(key, set())
        if not is_na(digest) and not is_na(key):  # a row without an image key matches no image
            d.add(str(digest))
    for key, ref in refs.items():
        r = imgs.get(key) if not is_na(key) else None
        digests = sorted(running[key])
        if r is None or not bool(r.inspected):
            out.append(
                {
                    "ref": str(ref),
                    "digest": digests[0] if digests else None,
                    "kind": "unknown",
                    "media_type": None,
                    "platforms": [],
                    "attestations": 0,
                    "config_arch": None,
                    "created": None,
                    "inspected": False,
                    "file": None,
                }
            )
            continue
        out.append(
            {
                "ref": str(ref),
                "digest": _s(r.digest) or (digests[0] if digests else None),
                "kind": _s(r.kind),
                "media_type": _s(r.media_type),
                "platforms": [] if is_na(r.platforms) else [x for x in r.platforms if x],
                "attestations": int(r.attestations) if not pd.isna(r.attestations) else 0,
                "config_arch": _s(r.config_arch),
                "created": iso_z(r.created),
                "inspected": True,
                "file": _s(r.file),
                "running_digests": digests,
            }
        )
    return out


def _s(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def image_archs(rows: pd.DataFrame | Rows) -> set[str]:
    """Architectures the workload's (inspected) images can run on; empty when unknown."""
    out: set[str] = set()
    for v in Rows.of(rows)["img_archs"]:
        if not is_na(v):
            out.update(x for x in v if x)
    return out


def inferred_archs(rows: pd.DataFrame | Rows) -> set[str]:
    """Architectures where the workload demonstrably runs (healthy, no arch signature)."""
    r = Rows.of(rows)
    return {
        str(a)
        for h, sig, a in zip(r["healthy"], r["arch_sig"], r["node_arch"])
        if not is_na(h) and bool(h) and not bool(sig) and not is_na(a)
    }


def node_evidence(ctx: Context, nodes: list[str], limit: int = 6, *, aarch32_matters: bool = False) -> list[Evidence]:
    by_name = ctx.node_records
    out = []
    for r in (by_name[x] for x in nodes[:limit] if x in by_name):
        pool = f", pool {r.pool}" if not pd.isna(r.pool) else ""
        it = f", {r.instance_type}" if not pd.isna(r.instance_type) else ""
        label = platform_label(_s(r.os), _s(r.arch), _s(r.variant)) or r.arch
        no32 = (
            " (a CPU without AArch32: 32-bit arm binaries cannot run)"
            if r.arch == "arm64" and lacks_aarch32(_s(r.instance_type)) and aarch32_matters
            else ""
        )
        out.append(
            Evidence(
                kind="node",
                file=str(r.file),
                object=f"Node {r.node}",
                text=f"architecture {label}{pool}{it}{no32}, created {iso_z(r.created)}",
                snapshot=str(r.snapshot),
            )
        )
    return out


def operator_evidence(ctx: Context, rows: pd.DataFrame | Rows, limit: int = 3) -> list[Evidence]:
    """The multiarch tuning operator's labels on the workload's pods (OpenShift): which
    architectures it found the pod's images support, and whether its ENOEXEC monitor fired."""
    labelled = ctx.multiarch_pods
    if not labelled or rows.empty:
        return []
    r = Rows.of(rows)
    want = set(zip(map(str, r["namespace"]), map(str, r["pod"])))
    out = []
    for p in labelled:
        if (str(p.namespace), str(p.pod)) in want:
            out.append(
                Evidence(
                    kind="pod",
                    file=str(p.file),
                    object=f"Pod {p.namespace}/{p.pod}",
                    text=f"multiarch tuning operator labels: {p.multiarch}",
                    snapshot=str(p.snapshot),
                )
            )
            if len(out) >= limit:
                break
    return out


def image_evidence(img: dict[str, Any]) -> Evidence | None:
    if not img.get("inspected"):
        return None
    plats = ", ".join(img["platforms"]) or "none"
    what = "multi-platform index" if img["kind"] == "index" else "single-platform manifest (no index)"
    att = f"; {img['attestations']} attestation entries not counted" if img.get("attestations") else ""
    return Evidence(
        kind="image",
        file=img["file"] or "",
        object=f"Image {img['ref']}",
        text=f"{what} {img['media_type']}: runnable on {plats}{att}",
    )


def timeline(ctx: Context, w: Workload, rows: pd.DataFrame | Rows, imgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The facts around a finding, in time order: node pools created, rollouts, image builds, first crash."""
    ev: list[dict[str, Any]] = list(ctx.pool_events)
    if w.kind == "Deployment":
        for r in ctx.replicaset_records(w.namespace, w.name):
            ev.append(
                {
                    "at": iso_z(r.created),
                    "what": f"rollout: ReplicaSet {r.name} created ({r.images})",
                    "kind": "rollout",
                    "source": str(r.file),
                }
            )
    for img in imgs:
        if img.get("created"):
            ev.append(
                {
                    "at": img["created"],
                    "what": f"image {img['ref']} built",
                    "kind": "image-built",
                    "source": img.get("file") or "",
                }
            )
    # the first failure: the earliest last termination of a failing row, else when one was first seen
    r = Rows.of(rows)
    fail = r["arch_fail"] if "arch_fail" in r else [True] * len(r)
    ended = [t for t, b in zip(r["last_finished"], fail) if b and not is_na(t)]
    first = min(ended) if ended else None
    if first is None:
        seen = [t for t, b in zip(r["observed_at"], fail) if b and not is_na(t)]
        first = min(seen) if seen else None
    if first is not None and not pd.isna(first):
        ev.append({"at": iso_z(first), "what": f"first failure of {w}", "kind": "first-failure", "source": ""})
    return sorted([e for e in ev if e["at"]], key=lambda e: e["at"])


def pool_events(ctx: Context) -> list[dict[str, Any]]:
    """The first node of each pool and arch (`ctx.pool_events`)."""
    return ctx.pool_events


def standard_parts(
    ctx: Context, f: Finding, rows: pd.DataFrame | Rows, bad: pd.DataFrame | Rows, runnable: set[str]
) -> None:
    """Fill the evidence, missing evidence, images, matrix, timeline and remediation of an arch finding."""
    rows, bad = Rows.of(rows), Rows.of(bad)
    imgs = image_dicts(ctx, bad if not bad.empty else rows)
    f.images = imgs
    f.restart_matrix = restart_matrix(rows)
    sigs = ctx.sig_rows(bad, platform_hints())
    f.evidence.extend(sig_evidence(sigs))
    for img in imgs:
        e = image_evidence(img)
        if e:
            f.evidence.append(e)
    arm32 = any(p.split("/")[1:2] == ["arm"] for img in imgs for p in img["platforms"])
    f.evidence.extend(node_evidence(ctx, f.nodes, aarch32_matters=arm32))
    f.evidence.extend(operator_evidence(ctx, bad if not bad.empty else rows))
    f.timeline = timeline(ctx, f.workload, rows, imgs)
    for img in imgs:
        if not img["inspected"]:
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"no image inspection for {img['ref']}",
                    why="the image's platforms would confirm (or refute) that it lacks the node architecture",
                    how=f"collectors/inspect-images DUMP  (or: skopeo inspect --raw docker://{img['ref']})",
                )
            )
    failed_inspection = ctx.sig_rows(bad if not bad.empty else rows, ("inspection",))
    if not failed_inspection.empty:
        f.evidence.extend(sig_evidence(failed_inspection, limit=2))
        f.missing_evidence.append(
            MissingEvidence(
                what="the multiarch tuning operator could not inspect the image (its ArchAwareInspectionError event)",
                why="its view of the image's architectures, which it would have pinned the pods to, is unknown",
                how="check the operator's pull secret and the registry; skopeo inspect --raw docker://IMAGE",
            )
        )
    if sigs.empty:
        f.missing_evidence.append(
            MissingEvidence(
                what="no exec format error or platform error seen in logs, termination messages or events",
                why="the runtime's own message would confirm the mismatch",
                how="kubectl logs --previous of a failing pod; events expire after an hour",
            )
        )
    if ctx.frames["nodes"].empty:
        f.missing_evidence.append(
            MissingEvidence(
                what="no node objects", why="node architectures are unknown", how="kubectl get nodes -o json"
            )
        )
    cluster = ctx.cluster_archs or sorted(set(f.node_archs))
    for img in imgs[:3]:
        f.remediation.append(remediation.rebuild(img["ref"], cluster))
    if imgs:
        f.remediation.append(remediation.ci_check(imgs[0]["ref"], cluster))
    if runnable and ctx.mixed and set(runnable) & set(ctx.cluster_archs):
        f.remediation.append(remediation.pin(f.workload, sorted(set(runnable) & set(ctx.cluster_archs))))
    f.remediation.append(remediation.restart(f.workload))


def arch_confidence(
    *, base: float, inspected: bool, sig: bool, node_arch_known: bool, runs_elsewhere: bool, pods: int
) -> float:
    c = base
    c += 0.25 if inspected else 0.0
    c += 0.2 if sig else 0.0
    c += 0.05 if node_arch_known else -0.15
    c += 0.1 if runs_elsewhere else 0.0
    c += 0.04 if pods > 1 else 0.0
    if not inspected:
        c = min(c, 0.75)
    if not sig and not inspected:
        c = min(c, 0.4)
    return round(max(0.05, min(0.99, c)), 2)
