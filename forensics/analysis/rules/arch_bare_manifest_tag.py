"""arch.bare-manifest-tag: a tag everyone believes is multi-arch is a bare single-platform manifest.
A build with a wrong or missing `--platform` (or `docker build` + `docker push` instead of `buildx
--push`) replaced the index: the previous tag of the repository was an index, or the workload's pods
ran on several architectures before the rollout, or the tag's digest changed between snapshots.
After the rollout, pods on the lost architecture crash with exec format error.

Proof: the inspected tag is a single manifest, and one of: another tag of the same repository in the
dump is a multi-platform index; earlier observations show the same container healthy on an
architecture the new image lacks (an earlier snapshot, or another pod of the workload under another
image or digest); the imageID digest of the same tag differs between snapshots. A sidecar of the
same pod, or a repository whose every known image is a single manifest, is no such evidence: a
single-arch image without history is `arch.single-arch-image`.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Evidence, Finding
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import arch_confidence, image_archs, standard_parts
from forensics.analysis.rules._common import new_finding

CAUSE = "arch.bare-manifest-tag"
TITLE = "Tag lost its multi-arch index: now a bare single-platform manifest"
SPECIFICITY = 210
ARCH = "platform"
HINTS = ("arch", "arch-pull")


def _repo(key: str) -> str:
    name = key.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    imgs = ctx.frames["images"]
    multi = imgs[(imgs["kind"] == "index") & (imgs["n_platforms"].fillna(0) > 1)]
    multi_repos: dict[str, list[tuple[str, str, str]]] = {}
    for key, ref, plats, file in zip(
        multi["image_key"].astype(str),
        multi["image"].astype(str),
        (",".join(v) for v in multi["platforms"].tolist()),
        multi["file"].astype(str),
    ):
        multi_repos.setdefault(_repo(key), []).append((ref, plats, file))
    out: list[Finding] = []
    groups = ctx.arch_failing
    a = groups.frame
    # which workloads fail on a single-platform manifest, for all at once; only those are sliced
    maybe = (a["arch_fail"] & (a["img_kind"] == "manifest").fillna(False)).to_numpy(dtype=bool)
    for i, w in groups.each():
        if not groups.any(i, maybe):
            continue
        rows = groups.rows(i)
        bad = rows[rows["arch_fail"] & (rows["img_kind"] == "manifest")]
        if bad.empty:
            continue
        archs = image_archs(bad)
        keys = set(bad["image_key"].astype(str))
        why: list[Evidence] = []
        for k in sorted(keys):
            for ref, plats, file in multi_repos.get(_repo(k), []):
                why.append(
                    Evidence(
                        kind="image",
                        file=file,
                        object=f"Image {ref}",
                        text=f"another tag of the same repository is a multi-platform index: {ref} ({plats})",
                    )
                )
        # the same container healthy on an arch the current image lacks, under another image or digest:
        # in an earlier snapshot, or in another pod of the workload (old ReplicaSet). A sidecar, or the
        # container's own pod seen at the same time, says nothing about what the tag used to be.
        before = rows[
            rows["healthy"].fillna(False)
            & rows["node_arch"].notna()
            & ~rows["node_arch"].isin(list(archs))
            & rows["container"].isin(list(set(bad["container"].astype(str))))
        ]
        before = (
            before[
                ~before["image_key"].isin(list(keys))
                | before["img_kind"].isna()
                | (before["image_digest"] != before["img_digest"])
            ]
            if not before.empty
            else before
        )
        if not before.empty:
            first_bad = bad["snapshot_index"].min()
            bad_pods = set(bad["uid"].fillna(bad["pod"]).astype(str))
            before = before[
                (before["snapshot_index"] < first_bad).fillna(False)
                | ~before["uid"].fillna(before["pod"]).astype(str).isin(bad_pods)
            ]
        for r in before.drop_duplicates(["node_arch", "image"]).head(3).itertuples(index=False):
            why.append(
                Evidence(
                    kind="pod",
                    file=str(r.file),
                    object=f"Pod {r.namespace}/{r.pod}",
                    text=f"in snapshot {r.snapshot} ran healthy on {r.node_arch} node {r.node} with {r.image}",
                    snapshot=str(r.snapshot),
                )
            )
        # the same tag resolving to different digests over time
        same = rows[rows["image_key"].isin(list(keys)) & rows["image_digest"].notna()]
        for key, g in same.groupby("image_key"):
            d = g.sort_values("snapshot_index").drop_duplicates("image_digest")
            if len(d) > 1:
                why.append(
                    Evidence(
                        kind="pod",
                        file=str(d.iloc[-1]["file"]),
                        object=f"Image {key}",
                        text=f"tag digest changed: {d.iloc[0]['image_digest']} (snapshot "
                        f"{d.iloc[0]['snapshot']}) -> {d.iloc[-1]['image_digest']} "
                        f"(snapshot {d.iloc[-1]['snapshot']})",
                    )
                )
        if not why:
            continue
        f = new_finding(
            CAUSE,
            w,
            bad,
            severity="critical"
            if not rows[rows["snapshot_index"] == rows["snapshot_index"].max()]["healthy"].fillna(False).any()
            else "high",
            confidence=arch_confidence(
                base=0.3 + 0.05 * min(len(why), 3),
                inspected=True,
                sig=bool(bad["exec_sig"].any()),
                node_arch_known=True,
                runs_elsewhere=not before.empty,
                pods=bad["pod"].nunique(),
            ),
            summary=(
                f"{w} now runs {', '.join(sorted(set(bad['image'].astype(str))))}, a bare "
                f"{'/'.join(sorted(archs))} manifest where a multi-arch index was expected: a build without "
                f"the right --platform replaced the index, and {bad['pod'].nunique()} pod(s) on "
                f"{', '.join(sorted(set(bad['node_arch'].dropna().astype(str))))} nodes fail"
            ),
        )
        f.evidence.extend(why)
        standard_parts(ctx, f, rows, bad, archs)
        out.append(f)
    return out
