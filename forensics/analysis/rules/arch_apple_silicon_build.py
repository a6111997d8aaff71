"""arch.apple-silicon-build: a lone arm64 artifact running on amd64 nodes: an image built on an arm64
machine (an Apple Silicon laptop, `docker build` without `--platform`) and pushed straight to the
registry. It is a single manifest whose config says `architecture: arm64`; amd64 nodes pull it
silently and every container dies with `exec format error`.

Proof: the image config's architecture is arm64 (single manifest, no index) and the failing pods are
on amd64 nodes; an exec format error in the logs/messages confirms. Without an inspection, pods of
the same image healthy on arm64 nodes and crashing on amd64 nodes point here too.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import arch_confidence, inferred_archs, standard_parts
from forensics.analysis.rules._common import new_finding

CAUSE = "arch.apple-silicon-build"
TITLE = "Image built on an Apple Silicon laptop (arm64) for an amd64 cluster"
SPECIFICITY = 190
ARCH = "platform"
HINTS = ("arch", "arch-pull")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    groups = ctx.arch_failing
    a = groups.frame
    # the masks, for all rows at once; only the workloads with a hit are looked at, from column lists
    bad_rows = groups.flag("arch_fail") & (a["node_arch"] == "amd64").fillna(False).to_numpy(dtype=bool)
    arm_manifest = (
        ((a["img_kind"] == "manifest") & (a["img_config_arch"] == "arm64")).fillna(False).to_numpy(dtype=bool)
    )
    exec_sig, healthy = groups.flag("exec_sig"), groups.flag("healthy")
    uninspected_exec = ~groups.flag("img_inspected") & exec_sig
    maybe = bad_rows & (arm_manifest | uninspected_exec)
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.sel(i)
        bad = rows.where(bad_rows)
        inspected = bad.where(arm_manifest)
        ran_on_arm = inferred_archs(rows) == {"arm64"}
        guessed = bad.where(uninspected_exec) if ran_on_arm else bad.none()
        hit = inspected + guessed
        if hit.empty:
            continue
        f = new_finding(
            CAUSE,
            w,
            hit,
            severity="critical" if not rows.any(healthy) else "high",
            confidence=arch_confidence(
                base=0.4,
                inspected=not inspected.empty,
                sig=hit.any(exec_sig),
                node_arch_known=True,
                runs_elsewhere=ran_on_arm,
                pods=hit.nunique("pod"),
            ),
            summary=(
                f"{w} runs an arm64-only image (built on an arm64 machine, likely a laptop, without "
                f"--platform) on amd64 nodes: {hit.nunique('pod')} pod(s) cannot execute it"
            ),
        )
        standard_parts(ctx, f, rows, hit, {"arm64"})
        out.append(f)
    return out
