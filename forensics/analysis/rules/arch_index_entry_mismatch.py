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

from typing import Any

import numpy as np

from forensics.analysis.correlate import WL_KEYS, Context, Rows, Workloads, is_na
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
    # every placement row of a workload, by its (kind, namespace, name) as they equal the workload's
    # names (rows with a missing key match none), found once for all workloads
    every = Workloads.at(p, [])
    of_workload = p.groupby(WL_KEYS, dropna=True, sort=False).indices
    healthy = every.flag("healthy")
    # the index entries whose config disagrees with the platform they are listed for, by image key
    plat = ctx.frames["image_platforms"]
    wrong = plat[(plat["config_platform"].notna() & (plat["config_platform"] != plat["platform"])).to_numpy(dtype=bool)]
    entries: dict[Any, list[Any]] = {}
    for e in wrong.itertuples(index=False):
        if not is_na(e.image_key):
            entries.setdefault(e.image_key, []).append(e)
    groups = by_workload(cand)
    sig_at = groups.flag("exec_sig") | groups.flag("pull_sig")
    out: list[Finding] = []
    for i, w in groups.each():
        rows_bad = groups.sel(i)
        rows = Rows(every, np.sort(of_workload.get((w.kind, w.namespace, w.name), np.zeros(0, dtype=np.int64))))
        sig = rows_bad.any(sig_at)
        claimed = sorted({str(x) for x in rows_bad.present("img_platform")})
        really = sorted({str(x) for x in rows_bad.present("img_config_platform")})
        nodes_arch = sorted({str(x) for x in rows_bad.present("node_arch")})
        runs = inferred_archs(rows)
        f = new_finding(
            CAUSE,
            w,
            rows_bad,
            severity="critical" if not rows.any(healthy) else "high",
            confidence=arch_confidence(
                base=0.45,
                inspected=True,
                sig=sig,
                node_arch_known=True,
                runs_elsewhere=bool(runs),
                pods=rows_bad.nunique("pod"),
            ),
            summary=(
                f"{w} uses an image whose index lists {', '.join(claimed)} but that entry's config says "
                f"{', '.join(really)}: its {rows_bad.nunique('pod')} pod(s) on {', '.join(nodes_arch)} nodes "
                "pull the wrong binaries and cannot execute them"
            ),
        )
        standard_parts(ctx, f, rows, rows_bad, {a.split("/")[1] for a in really if "/" in a})
        imgs = {i["ref"]: i for i in f.images}
        per_image = rows_bad.unique(("image_key",))
        for key, ref in zip(per_image["image_key"], per_image["image"]):
            img = imgs.get(str(ref), {})
            for e in [] if is_na(key) else entries.get(key, []):
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
