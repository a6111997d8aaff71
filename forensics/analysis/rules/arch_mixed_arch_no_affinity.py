"""arch.mixed-arch-no-affinity: the cluster has nodes of several architectures, the workload has no
`kubernetes.io/arch` constraint (nodeSelector or required node affinity), and its image cannot run
on some of them. The scheduler places pods anywhere: the same image runs on some nodes and crashes
on others. Usually a contributing cause beside the image's own problem (single-arch image, index
without a platform); the fix is the image, the pin is the stopgap.

Proof: node architectures from the node objects, the absence of an arch constraint in the pod spec,
and either the image's platforms or the restart matrix (healthy on one arch, failing on another).
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import (
    arch_confidence,
    image_archs,
    inferred_archs,
    standard_parts,
    unconstrained,
)
from forensics.analysis.rules._common import new_finding

CAUSE = "arch.mixed-arch-no-affinity"
TITLE = "Mixed-architecture cluster, workload without an arch constraint"
SPECIFICITY = 160
ARCH = "platform"
HINTS = ("arch", "arch-pull")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    if not ctx.mixed:
        return []
    out: list[Finding] = []
    groups = ctx.arch_failing
    fail = groups.flag("arch_fail")
    unsupported, exec_sig, arch_sig = groups.flag("unsupported"), groups.flag("exec_sig"), groups.flag("arch_sig")
    # workloads with an arch failure on a node of known arch, for all at once; only those are looked at
    maybe = fail & groups.frame["node_arch"].notna().to_numpy(dtype=bool)
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.sel(i)
        if not unconstrained(rows, ctx):
            continue
        bad = rows.where(fail)
        archs = image_archs(rows) or inferred_archs(rows)
        fail_archs = {str(x) for x in bad.present("node_arch")}
        if not fail_archs or (archs and fail_archs <= archs and not bad.any(unsupported) and not bad.any(exec_sig)):
            continue
        runs = inferred_archs(rows)
        f = new_finding(
            CAUSE,
            w,
            bad,
            severity="high",
            confidence=arch_confidence(
                base=0.35,
                inspected=bool(image_archs(rows)),
                sig=bad.any(arch_sig),
                node_arch_known=True,
                runs_elsewhere=bool(runs),
                pods=bad.nunique("pod"),
            ),
            summary=(
                f"{w} has no kubernetes.io/arch constraint in a {'+'.join(ctx.cluster_archs)} cluster: its "
                f"pods on {', '.join(sorted(fail_archs))} nodes fail"
                + (f" while those on {', '.join(sorted(runs))} nodes run" if runs else "")
            ),
        )
        standard_parts(ctx, f, rows, bad, archs)
        out.append(f)
    return out
