"""arch.missing-emulation: a foreign-architecture image that only ever ran where a qemu/binfmt_misc
handler was registered (someone ran `tonistiigi/binfmt --install` or `multiarch/qemu-user-static` on
some nodes), and fails on nodes without one. On emulated nodes it runs slowly or crashes differently
(`qemu: uncaught target signal 11 (Segmentation fault)`), not with exec format error; on the others,
exec format error.

Proof: the binfmt_misc listings of the nodes (an enabled handler for the image's arch on the nodes
where it runs, none where it fails), the image's architecture, the runtime's messages. Without
binfmt listings this cause cannot be told from a plain single-arch image: that is said as missing
evidence, and the finding is not made.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Evidence, Finding, MissingEvidence
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import arch_confidence, image_archs, standard_parts
from forensics.analysis.rules._common import new_finding

CAUSE = "arch.missing-emulation"
TITLE = "Foreign-architecture image with no emulation (binfmt/qemu) on the node"
SPECIFICITY = 200
ARCH = "platform"
HINTS = ("arch", "emulation")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    if not ctx.has_binfmt:
        return []
    b = ctx.frames["binfmt"]
    handlers = b[b["enabled"].fillna(False) & b["arch"].notna() & (b["entry"] != "status")]
    # a node whose global binfmt status is disabled emulates nothing
    off = set(b[(b["entry"] == "status") & ~b["enabled"].fillna(False)]["node"].astype(str))
    emulates = {(str(n), str(a)) for n, a in zip(handlers["node"], handlers["arch"]) if str(n) not in off}
    listed = set(b["node"].astype(str))
    out: list[Finding] = []
    for w, rows in ctx.arch_failing:
        archs = image_archs(rows)
        if len(archs) != 1:
            continue
        arch = next(iter(archs))
        foreign = rows[rows["node_arch"].notna() & (rows["node_arch"] != arch)]
        if foreign.empty:
            continue
        nodes = foreign["node"].astype(str)
        emu = foreign[[(n, arch) in emulates for n in nodes]]
        bare = foreign[[n in listed and (n, arch) not in emulates for n in nodes]]
        ran_emulated = emu[emu["healthy"].fillna(False) | emu["emu_sig"]]
        bad = bare[bare["arch_fail"]]
        if ran_emulated.empty or bad.empty:
            continue
        f = new_finding(
            CAUSE,
            w,
            bad,
            severity="high",
            confidence=arch_confidence(
                base=0.45,
                inspected=True,
                sig=bool(bad["exec_sig"].any()),
                node_arch_known=True,
                runs_elsewhere=True,
                pods=bad["pod"].nunique(),
            ),
            summary=(
                f"{w} runs a {arch} image that only works on nodes with a qemu-{arch} binfmt handler "
                f"({ran_emulated['node'].nunique()} node(s)); on {bad['node'].nunique()} node(s) without "
                f"one it fails with exec format error"
            ),
        )
        standard_parts(ctx, f, rows, bad, archs)
        for r in (
            handlers[handlers["node"].isin(list(ran_emulated["node"].astype(str)))].head(5).itertuples(index=False)
        ):
            f.evidence.append(
                Evidence(
                    kind="binfmt",
                    file=str(r.file),
                    object=f"Node {r.node}",
                    text=f"binfmt_misc {r.entry}: enabled, interpreter {r.interpreter}, "
                    f"flags {r.flags} (emulates {r.arch})",
                )
            )
        listing = dict(zip(b["node"].astype(str), b["file"].astype(str)))  # any file of the node's listing
        for n in sorted(set(bad["node"].astype(str)))[:5]:
            f.evidence.append(
                Evidence(
                    kind="binfmt",
                    file=listing.get(n, ""),
                    object=f"Node {n}",
                    text=f"no {arch} handler registered in its binfmt_misc listing",
                )
            )
        unlisted = sorted(set(foreign["node"].astype(str)) - listed)
        if unlisted:
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"no binfmt_misc listing for {len(unlisted)} node(s), e.g. {unlisted[0]}",
                    why="whether those nodes emulate the image's architecture is unknown",
                    how="collectors/collect --node-binfmt",
                )
            )
        out.append(f)
    return out
