"""arch.apple-silicon-build: a lone arm64 artifact running on amd64 nodes: an image built on an arm64
machine (an Apple Silicon laptop, `docker build` without `--platform`) and pushed straight to the
registry. It is a single manifest whose config says `architecture: arm64`; amd64 nodes pull it
silently and every container dies with `exec format error`.

Proof: the image config's architecture is arm64 (single manifest, no index) and the failing pods are
on amd64 nodes; an exec format error in the logs/messages confirms. Without an inspection, pods of
the same image healthy on arm64 nodes and crashing on amd64 nodes point here too.
"""

from __future__ import annotations

import pandas as pd

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
    # which workloads may have a hit, for all at once; only those are sliced
    maybe = (a["arch_fail"] & (a["node_arch"] == "amd64").fillna(False)).to_numpy(dtype=bool) & (
        ((a["img_kind"] == "manifest") & (a["img_config_arch"] == "arm64")).fillna(False).to_numpy(dtype=bool)
        | (~a["img_inspected"].fillna(False) & a["exec_sig"]).to_numpy(dtype=bool)
    )
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.rows(i)
        bad = rows[rows["arch_fail"] & (rows["node_arch"] == "amd64")]
        inspected = bad[(bad["img_kind"] == "manifest") & (bad["img_config_arch"] == "arm64")]
        ran_on_arm = inferred_archs(rows) == {"arm64"}
        guessed = bad[~bad["img_inspected"].fillna(False) & bad["exec_sig"]] if ran_on_arm else bad.iloc[0:0]
        hit = pd.concat([inspected, guessed])
        if hit.empty:
            continue
        f = new_finding(
            CAUSE,
            w,
            hit,
            severity="critical" if not rows["healthy"].fillna(False).any() else "high",
            confidence=arch_confidence(
                base=0.4,
                inspected=not inspected.empty,
                sig=bool(hit["exec_sig"].any()),
                node_arch_known=True,
                runs_elsewhere=ran_on_arm,
                pods=hit["pod"].nunique(),
            ),
            summary=(
                f"{w} runs an arm64-only image (built on an arm64 machine, likely a laptop, without "
                f"--platform) on amd64 nodes: {hit['pod'].nunique()} pod(s) cannot execute it"
            ),
        )
        standard_parts(ctx, f, rows, hit, {"arm64"})
        out.append(f)
    return out
