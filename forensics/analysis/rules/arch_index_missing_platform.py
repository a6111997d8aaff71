"""arch.index-missing-platform: the image is a multi-arch index, but not for this node's architecture.
Usually it fails at pull time, with the runtime naming the platform it wanted: containerd `no match
for platform in manifest: not found`, Docker `no matching manifest for linux/arm64/v8 in the manifest
list entries`, CRI-O `no image found in manifest list for architecture arm64`; pods sit in
ErrImagePull / ImagePullBackOff. Sometimes the runtime falls back to a compatible-looking entry
(arm/v7 on an arm64 node) and the container dies with `exec format error` instead.

Proof: the inspected index lists platforms that exclude the node's (attestation `unknown/unknown`
entries do not count), or the pull error itself, which names the missing platform.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import arch_confidence, image_archs, standard_parts
from forensics.analysis.rules._common import new_finding

CAUSE = "arch.index-missing-platform"
TITLE = "Multi-arch index lacks a platform the cluster runs"
SPECIFICITY = 180
ARCH = "platform"
HINTS = ("arch", "arch-pull")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    groups = ctx.arch_failing
    a = groups.frame
    kind = a["img_kind"]
    fail, pull, exec_sig = groups.flag("arch_fail"), groups.flag("pull_sig"), groups.flag("exec_sig")
    index_lacks = (kind == "index").fillna(False).to_numpy(dtype=bool) & groups.flag("unsupported")
    pull_error = pull & (kind.isna() | (kind == "index")).fillna(False).to_numpy(dtype=bool)
    healthy = groups.flag("healthy")
    # which workloads have a hit, for all at once; only those are looked at
    maybe = fail & (index_lacks | pull_error)
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.sel(i)
        bad = rows.where(fail)
        by_index = bad.where(index_lacks)
        hit = (by_index + bad.where(pull_error)).unique(("snapshot", "namespace", "pod", "container"))
        if hit.empty:
            continue
        archs = image_archs(hit)
        node_archs = hit.present("node_arch")
        wanted = sorted({str(x) for x in node_archs})
        sig = hit.any(pull) or hit.any(exec_sig)
        conf = arch_confidence(
            base=0.35,
            inspected=not by_index.empty,
            sig=sig,
            node_arch_known=len(node_archs) == len(hit),
            runs_elsewhere=False,
            pods=hit.nunique("pod"),
        )
        if by_index.empty and hit.any(pull):
            conf = max(conf, 0.75)  # the pull error names the missing platform itself
        have = ", ".join(sorted(archs)) if archs else "other architectures"
        f = new_finding(
            CAUSE,
            w,
            hit,
            severity="critical" if not rows.any(healthy) else "high",
            confidence=conf,
            summary=(
                f"{w} uses a multi-arch image whose index has {have} but no "
                f"{'/'.join(wanted) or 'node'} entry: {hit.nunique('pod')} pod(s) on "
                f"{', '.join(wanted) or 'those'} nodes cannot pull or run it"
            ),
        )
        standard_parts(ctx, f, rows, hit, archs)
        out.append(f)
    return out
