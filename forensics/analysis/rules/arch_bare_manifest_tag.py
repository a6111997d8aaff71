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

from typing import Any

from forensics.analysis.correlate import Context, Rows, is_na
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


def _text(v: Any) -> str:
    return "nan" if is_na(v) else str(v)  # what `astype(str)` gives a missing value


def _ran_before(ok: Rows, bad: Rows, archs: set[str], keys: set[str]) -> Rows:
    """The same container healthy on an arch the current image lacks, under another image or digest:
    in an earlier snapshot, or in another pod of the workload (old ReplicaSet). A sidecar, or the
    container's own pod seen at the same time, says nothing about what the tag used to be."""
    containers = {_text(c) for c in bad["container"]}
    picks = [
        not is_na(arch) and arch not in archs and not is_na(c) and c in containers
        for arch, c in zip(ok["node_arch"], ok["container"])
    ]
    ok = ok.keep(picks)
    ok = ok.keep(
        [
            is_na(k) or k not in keys or is_na(kind) or (not is_na(d) and not is_na(want) and d != want)
            for k, kind, d, want in zip(ok["image_key"], ok["img_kind"], ok["image_digest"], ok["img_digest"])
        ]
    )
    if ok.empty:
        return ok
    first_bad = min((x for x in bad["snapshot_index"] if not is_na(x)), default=None)
    bad_pods = {_text(p if is_na(u) else u) for u, p in zip(bad["uid"], bad["pod"])}
    return ok.keep(
        [
            (first_bad is not None and not is_na(si) and si < first_bad) or _text(p if is_na(u) else u) not in bad_pods
            for si, u, p in zip(ok["snapshot_index"], ok["uid"], ok["pod"])
        ]
    )


def _digest_changes(rows: Rows, keys: set[str]) -> list[Evidence]:
    """The same tag resolving to different digests over time: per tag (in name order) its digests in the
    order the snapshots first show them, the first and the last named."""
    seen: dict[str, list[tuple[Any, int]]] = {}
    for j, (k, d, si) in enumerate(zip(rows["image_key"], rows["image_digest"], rows["snapshot_index"], strict=True)):
        if not is_na(k) and k in keys and not is_na(d):
            seen.setdefault(k, []).append((si, j))
    out = []
    files, snaps, digests = rows["file"], rows["snapshot"], rows["image_digest"]
    for key in sorted(seen):
        order = sorted(seen[key], key=lambda t: (is_na(t[0]), 0 if is_na(t[0]) else t[0]))  # stable: ties in row order
        firsts: dict[Any, int] = {}
        for _, j in order:
            firsts.setdefault(digests[j], j)
        if len(firsts) > 1:
            first, *_, last = firsts.values()
            out.append(
                Evidence(
                    kind="pod",
                    file=str(files[last]),
                    object=f"Image {key}",
                    text=f"tag digest changed: {digests[first]} (snapshot {snaps[first]}) -> {digests[last]} "
                    f"(snapshot {snaps[last]})",
                )
            )
    return out


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
    # the masks, for all rows at once; only the workloads failing on a single-platform manifest are
    # looked at, from column lists
    bad_mask = groups.flag("arch_fail") & (a["img_kind"] == "manifest").fillna(False).to_numpy(dtype=bool)
    healthy, exec_sig = groups.flag("healthy"), groups.flag("exec_sig")
    for i, w in groups.each():
        if not groups.any(i, bad_mask):
            continue
        rows = groups.sel(i)
        bad = rows.where(bad_mask)
        archs = image_archs(bad)
        keys = {_text(k) for k in bad["image_key"]}
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
        before = _ran_before(rows.where(healthy), bad, archs, keys)
        for r in before.unique(("node_arch", "image")).records()[:3]:
            why.append(
                Evidence(
                    kind="pod",
                    file=str(r.file),
                    object=f"Pod {r.namespace}/{r.pod}",
                    text=f"in snapshot {r.snapshot} ran healthy on {r.node_arch} node {r.node} with {r.image}",
                    snapshot=str(r.snapshot),
                )
            )
        why.extend(_digest_changes(rows, keys))
        if not why:
            continue
        last = max((x for x in rows["snapshot_index"] if not is_na(x)), default=None)
        now = rows.keep([not is_na(x) and x == last for x in rows["snapshot_index"]])
        f = new_finding(
            CAUSE,
            w,
            bad,
            severity="critical" if not now.any(healthy) else "high",
            confidence=arch_confidence(
                base=0.3 + 0.05 * min(len(why), 3),
                inspected=True,
                sig=bad.any(exec_sig),
                node_arch_known=True,
                runs_elsewhere=not before.empty,
                pods=bad.nunique("pod"),
            ),
            summary=(
                f"{w} now runs {', '.join(sorted({_text(x) for x in bad['image']}))}, a bare "
                f"{'/'.join(sorted(archs))} manifest where a multi-arch index was expected: a build without "
                f"the right --platform replaced the index, and {bad.nunique('pod')} pod(s) on "
                f"{', '.join(sorted({str(x) for x in bad.present('node_arch')}))} nodes fail"
            ),
        )
        f.evidence.extend(why)
        standard_parts(ctx, f, rows, bad, archs)
        out.append(f)
    return out
