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

from forensics.analysis.correlate import Context, is_na
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
    handler_rows = list(handlers.itertuples(index=False))
    listing = dict(zip(b["node"].astype(str), b["file"].astype(str)))  # any file of the node's listing
    # the masks over the failing workloads' rows, once; each workload's part is read from column lists
    groups = ctx.arch_failing
    ran = groups.flag("healthy") | groups.flag("emu_sig")
    arch_fail, exec_sig = groups.flag("arch_fail"), groups.flag("exec_sig")
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        archs = image_archs(rows)
        if len(archs) != 1:
            continue
        arch = next(iter(archs))
        foreign = rows.keep([not is_na(a) and a != arch for a in rows["node_arch"]])
        if foreign.empty:
            continue
        nodes = foreign.text("node")
        emu = foreign.keep([(n, arch) in emulates for n in nodes])
        bare = foreign.keep([n in listed and (n, arch) not in emulates for n in nodes])
        ran_emulated = emu.where(ran)
        bad = bare.where(arch_fail)
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
                sig=bad.any(exec_sig),
                node_arch_known=True,
                runs_elsewhere=True,
                pods=bad.nunique("pod"),
            ),
            summary=(
                f"{w} runs {'an' if arch[:1] in 'aeiosx' else 'a'} {arch} image that only works on nodes with a "
                f"qemu-{arch} binfmt handler "
                f"({ran_emulated.nunique('node')} node(s)); on {bad.nunique('node')} node(s) without "
                f"one it fails with exec format error"
            ),
        )
        standard_parts(ctx, f, rows, bad, archs)
        ran_on = set(ran_emulated.text("node"))
        for r in [h for h in handler_rows if not is_na(h.node) and h.node in ran_on][:5]:
            f.evidence.append(
                Evidence(
                    kind="binfmt",
                    file=str(r.file),
                    object=f"Node {r.node}",
                    text=f"binfmt_misc {r.entry}: enabled, interpreter {r.interpreter}, "
                    f"flags {r.flags} (emulates {r.arch})",
                )
            )
        for n in sorted(set(bad.text("node")))[:5]:
            f.evidence.append(
                Evidence(
                    kind="binfmt",
                    file=listing.get(n, ""),
                    object=f"Node {n}",
                    text=f"no {arch} handler registered in its binfmt_misc listing",
                )
            )
        unlisted = sorted(set(foreign.text("node")) - listed)
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
