"""arch.single-arch-image: the image was published for one architecture only (a bare manifest, no
index) and pods landed on nodes of another: the Graviton case, an amd64-only image on a new arm64
node pool. The pull succeeds silently (a single manifest is never platform-checked), the container
starts and dies at once with `exec /app: exec format error` (runc >= 1.1), `standard_init_linux.go:
...: exec user process caused: exec format error` (older runc) or crun's `Exec format error`;
CrashLoopBackOff follows. Exit codes (1, 255) prove nothing by themselves.

Proof: the image inspection shows one platform that is not the node's; the runtime's message in a
previous log, termination message or event; the same image running on nodes of its own arch.
Without an inspection, an exec format error plus healthy pods of the same image on another arch
still name the cause, with lower confidence. Also reports the *latent* risk: a single-arch image,
no arch constraint, nodes of another arch in the cluster.
"""

from __future__ import annotations

import pandas as pd

from forensics.analysis.correlate import Context, is_na
from forensics.analysis.findings import Finding
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import (
    arch_confidence,
    image_archs,
    inferred_archs,
    marked,
    standard_parts,
)
from forensics.analysis.rules._common import by_workload, new_finding

CAUSE = "arch.single-arch-image"
TITLE = "Image built for one architecture, pods on nodes of another"
SPECIFICITY = 170
ARCH = "platform"
HINTS = ("arch", "arch-pull")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    out: list[Finding] = []
    groups = ctx.arch_failing
    a = groups.frame
    # the masks, for all rows at once; only the workloads with a hit are looked at, from column lists
    fail = groups.flag("arch_fail") & ~groups.flag("pull_sig")
    manifest = (a["img_kind"] == "manifest").fillna(False).to_numpy(dtype=bool)
    uninspected_exec = ~groups.flag("img_inspected") & groups.flag("exec_sig")
    ok_elsewhere = ~groups.flag("arch_fail") & groups.flag("healthy")
    maybe = fail & (manifest | uninspected_exec)
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.sel(i)
        bad = rows.where(fail)
        single = bad.where(manifest)
        hit = single + bad.where(uninspected_exec)
        inspected = not single.empty
        runs = inferred_archs(rows)
        archs = image_archs(single) if inspected else runs
        node_archs = hit.present("node_arch")
        fail_archs = sorted({str(x) for x in node_archs})
        img_desc = ",".join(sorted(archs)) or "one architecture"
        f = new_finding(
            CAUSE,
            w,
            hit,
            severity="critical" if not rows.any(ok_elsewhere) else "high",
            confidence=arch_confidence(
                base=0.35,
                inspected=inspected,
                sig=hit.any(groups.flag("exec_sig")),
                node_arch_known=len(node_archs) == len(hit),
                runs_elsewhere=bool(runs),
                pods=hit.nunique("pod"),
            ),
            summary=(
                f"{w} runs an image built only for {img_desc}, but {hit.nunique('pod')} pod(s) landed on "
                f"{', '.join(fail_archs) or 'unknown-arch'} nodes and cannot execute it"
            ),
        )
        standard_parts(ctx, f, rows, hit, archs)
        out.append(f)
    out.extend(_latent(ctx, p))
    return out


def _latent(ctx: Context, p: pd.DataFrame) -> list[Finding]:
    """Healthy today, broken on the next reschedule: single-arch image, no constraint, other archs present."""
    if not ctx.mixed:
        return []
    out = []
    failing_wl = set(map(tuple, p[p["arch_fail"]][["workload_kind", "namespace", "workload_name"]].astype(str).values))
    # the last snapshot's rows with an inspected single-platform image: one mask, one take of the wide frame
    now = (p["snapshot_index"] == p["snapshot_index"].max()).fillna(False).to_numpy(dtype=bool)
    single = ((p["img_kind"] == "manifest") & p["img_inspected"].fillna(False)).fillna(False).to_numpy(dtype=bool)
    cand = p[now & single]
    groups = by_workload(cand)
    for i, w in groups.each():
        # static (mirror) pods are bound to their node: never rescheduled
        if (w.kind, w.namespace, w.name) in failing_wl or w.kind in ("Node", "StaticPod"):
            continue
        archs = {x for v in groups.values(i, "img_archs") if not is_na(v) for x in v if x}
        if not archs:
            continue
        # unconstrained (`_arch.unconstrained`), from the column slices: no arch constraint on the pods
        # nor on their controller's pod template
        if not all(
            is_na(a) and is_na(e) for a, e in zip(groups.values(i, "arch_allowed"), groups.values(i, "arch_excluded"))
        ):
            continue
        ns, pod = groups.values(i, "namespace")[0], groups.values(i, "pod")[0]
        key = (groups.values(i, "workload_kind")[0], ns, groups.values(i, "workload_name")[0])
        if not ctx.frames["workloads"].empty and not any(is_na(k) for k in key) and key in ctx.arch_constrained:
            continue
        others = sorted(ctx.reachable_archs(ctx.pod_tolerations(ns, pod)) - archs)
        if not others:
            continue
        rows = groups.sel(i)
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity="low",
            latent=True,
            confidence=0.9 if len(rows.present("node_arch")) == len(rows) else 0.7,
            summary=(
                f"{w} is healthy but its image runs only on {','.join(sorted(archs))}; with no "
                f"kubernetes.io/arch constraint its pods can be scheduled onto the cluster's "
                f"{', '.join(others)} nodes and would crash there"
            ),
        )
        standard_parts(ctx, f, rows, rows.none(), archs)
        f.missing_evidence = [m for m in f.missing_evidence if not m.what.startswith("no exec format")]
        out.append(f)
    return out
