"""arch.index-entry-mismatch: an index entry claims a platform its image does not have. One of its
entries says `platform: linux/arm64`, but the
image config that entry points to says `architecture: amd64` (a CI matrix that pushed the amd64 build
under both digests, a `docker manifest create --amend` with the wrong child, a build script that
ignored TARGETARCH). Runtimes trust the index: pods on arm64 nodes pull that entry without complaint
and die with `exec /app: exec format error`, although the index "has" arm64. Podman/CRI-O sometimes
notice (`Image architecture mismatch: image uses "amd64", expecting "arm64"`); containerd never does.
This is the check `crane validate` makes.

Proof: the dump holds the child's config (`images/<slug>/configs/<digest>.json`) and its platform
disagrees with the index entry that the failing node matches; an exec format error (or the
podman/CRI-O mismatch message) on pods of the advertised architecture; the same image healthy on
nodes of the architecture the config really has. Without child configs this cannot be seen: the
failure then looks like an entrypoint problem or an application one, and is reported as such.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Evidence, Finding, Remediation
from forensics.analysis.remediation import q
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import arch_confidence, inferred_archs, marked, standard_parts
from forensics.analysis.rules._common import by_workload, new_finding

CAUSE = "arch.index-entry-mismatch"
TITLE = "Index entry claims a platform its image config does not have"
SPECIFICITY = 220
ARCH = "platform"
HINTS = ("arch", "arch-pull")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    lie = p["platform_lie"].fillna(False).to_numpy(dtype=bool)
    if not lie.any():
        return []
    failing = p["failing"].fillna(False).to_numpy(dtype=bool)
    cand = p[lie & failing]
    out: list[Finding] = []
    for w, rows_bad in by_workload(cand):
        rows = p[
            ((p["workload_kind"] == w.kind) & (p["namespace"] == w.namespace) & (p["workload_name"] == w.name))
            .fillna(False)
            .to_numpy(dtype=bool)
        ]
        sig = bool((rows_bad["exec_sig"] | rows_bad["pull_sig"]).any())
        claimed = sorted(rows_bad["img_platform"].dropna().astype(str).unique())
        really = sorted(rows_bad["img_config_platform"].dropna().astype(str).unique())
        nodes_arch = sorted(rows_bad["node_arch"].dropna().astype(str).unique())
        runs = inferred_archs(rows)
        f = new_finding(
            CAUSE,
            w,
            rows_bad,
            severity="critical" if not rows["healthy"].fillna(False).any() else "high",
            confidence=arch_confidence(
                base=0.45,
                inspected=True,
                sig=sig,
                node_arch_known=True,
                runs_elsewhere=bool(runs),
                pods=rows_bad["pod"].nunique(),
            ),
            summary=(
                f"{w} uses an image whose index lists {', '.join(claimed)} but that entry's config says "
                f"{', '.join(really)}: its {rows_bad['pod'].nunique()} pod(s) on {', '.join(nodes_arch)} nodes "
                "pull the wrong binaries and cannot execute them"
            ),
        )
        standard_parts(ctx, f, rows, rows_bad, {a.split("/")[1] for a in really if "/" in a})
        imgs = {i["ref"]: i for i in f.images}
        plat = ctx.frames["image_platforms"]
        for key, ref in rows_bad[["image_key", "image"]].drop_duplicates("image_key").itertuples(index=False):
            bad_entries = plat[
                (plat["image_key"] == key)
                & plat["config_platform"].notna()
                & (plat["config_platform"] != plat["platform"])
            ]
            img = imgs.get(str(ref), {})
            for e in bad_entries.itertuples(index=False):
                f.evidence.insert(
                    0,
                    Evidence(
                        kind="image",
                        file=img.get("file") or "",
                        object=f"Image {ref}",
                        text=f"index entry {e.digest} says {e.platform}, its config says {e.config_platform}",
                    ),
                )
            f.remediation.insert(
                0,
                Remediation(
                    title=f"Check every entry of {ref} against its config (what `crane validate` does)",
                    command=f"crane validate --remote {q(str(ref))}\n"
                    f"docker buildx imagetools inspect {q(str(ref))} --format '{{{{json .Image}}}}'",
                    kind="investigate",
                ),
            )
        out.append(f)
    return out
