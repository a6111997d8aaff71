"""platform.os-mismatch: a container image built for one operating system on a node of another: a
Linux image scheduled onto a Windows node (the usual case: a mixed AKS/EKS cluster and a workload
without a `kubernetes.io/os` nodeSelector), or a Windows image on a Linux node; and its Windows
variant, an image built for another Windows *build* than the node's (process isolation needs the
host's build: an ltsc2022 image on a Windows Server 2019 node). It is not an architecture problem:
both sides are amd64, and rebuilding "multi-arch" changes nothing. Wordings: Docker/dockershim
`image operating system "linux" cannot be used on this platform`, Docker on Windows `no matching
manifest for windows/amd64 10.0.17763 in the manifest list entries`, containerd on a Windows node
`no match for platform in manifest: not found`, hcsshim `hcs::CreateComputeSystem ...: The
container operating system does not match the host operating system.`, and for the build case
Docker's `a Windows version 10.0.20348-based image is incompatible with a 10.0.17763 host`.

Proof: the node's OS (`nodeInfo.operatingSystem`, `kubernetes.io/os`) and the image's platforms
(no entry for that OS), or the runtime's own wording on that node; for builds, the node's
`node.kubernetes.io/windows-build` (or kernel version) against the index entries' `os.version`.
Refuted by an image entry for the node's OS and build.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import Context, Rows, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation
from forensics.analysis.remediation import q, resource_of
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import image_dicts, image_evidence, marked, sig_mask
from forensics.analysis.rules._common import by_workload, container_evidence, new_finding, restart_matrix, sig_evidence
from forensics.knowledge.arch import windows_build

CAUSE = "platform.os-mismatch"
TITLE = "Image built for another operating system (Linux vs Windows) or Windows build"
SPECIFICITY = 240
HINTS = ("os",)


def _builds(ctx: Context) -> dict[str, set[str]]:
    """image_key -> the Windows builds its index entries name."""
    plat = ctx.frames["image_platforms"]
    win = plat[(plat["os"] == "windows") & plat["os_version"].notna()]
    out: dict[str, set[str]] = {}
    for key, v in zip(win["image_key"].astype(str), win["os_version"].astype(str)):
        b = windows_build(v)
        if b:
            out.setdefault(key, set()).add(b)
    return out


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    failing = p["failing"].fillna(False).to_numpy(dtype=bool)
    node_os = p["node_os"].fillna("linux").astype(str)
    windows = (node_os == "windows").to_numpy()
    s = ctx.signatures
    os_sig = sig_mask(p, s[s["hint"] == "os"] if not s.empty else s)
    pull_sig = p["pull_sig"].to_numpy(dtype=bool)
    os_mismatch = p["os_mismatch"].fillna(False).to_numpy(dtype=bool)
    builds = _builds(ctx)
    build_off = np.zeros(len(p), dtype=bool)
    if builds:  # only images with Windows builds in their index: a handful of rows to look at
        idx = np.flatnonzero(windows & p["image_key"].astype(str).isin(list(builds)).to_numpy())
        for i in idx:
            nb = p["node_windows_build"].iat[i]
            build_off[i] = not pd.isna(nb) and str(nb) not in builds[str(p["image_key"].iat[i])]
    hit = failing & (os_mismatch | os_sig | (windows & pull_sig) | build_off)
    cand = p[hit]
    # the masks over the candidate rows, once; each workload's part is read from column lists
    groups = by_workload(cand)
    inspected_at, os_mismatch_at = groups.flag("img_inspected"), groups.flag("os_mismatch")
    build_off_at, windows_at = build_off[hit], windows[hit]
    has_windows = bool(ctx.frames["nodes"]["os"].eq("windows").any()) if not cand.empty else False
    out: list[Finding] = []
    for k, w in groups.each():
        rows = groups.sel(k)
        sigs = ctx.sig_rows(rows, ("os",)) + ctx.sig_rows(rows, ("arch-pull",))
        texts = " ".join(sigs.text("text"))
        inspected = rows.any(inspected_at)
        build_case = (
            rows.any(build_off_at) and not rows.any(os_mismatch_at)
        ) or "-based image is incompatible" in texts
        nodes_os = sorted({"linux" if is_na(v) else str(v) for v in rows["node_os"]})
        imgs = image_dicts(ctx, rows)
        img_oses = sorted({pl.split("/")[0] for i in imgs for pl in i["platforms"]})
        if build_case:
            node_builds = sorted({str(v) for v in rows.present("node_windows_build")})
            img_builds = sorted(set().union(*(builds.get(k, set()) for k in rows.text("image_key"))))
            summary = (
                f"{w} runs a Windows image built for {', '.join(img_builds) or 'another Windows build'} on "
                f"Windows nodes of build {', '.join(node_builds) or 'another build'}: process-isolated "
                "containers need the host's build"
            )
        else:
            summary = (
                f"{w} runs a {'/'.join(img_oses) or 'foreign-OS'} image on {', '.join(nodes_os)} nodes: "
                f"the image has no {', '.join(nodes_os)} variant (an operating-system mismatch, not an "
                "architecture one)"
            )
        conf = (
            0.5
            + (0.3 if inspected else 0.0)
            + (0.15 if any(not is_na(h) and h == "os" for h in sigs["hint"]) else 0.0)
            + (0.1 if rows.any(windows_at) and not sigs.empty else 0.0)
        )
        f = new_finding(CAUSE, w, rows, severity="high", confidence=round(min(conf, 0.97), 2), summary=summary)
        f.images = imgs
        f.evidence.extend(sig_evidence(sigs))
        f.evidence.extend(container_evidence(rows, _state))
        for img in imgs:
            e = image_evidence(img)
            if e:
                f.evidence.append(e)
        f.evidence.extend(_node_os_evidence(ctx, f.nodes))
        f.restart_matrix = restart_matrix(rows)
        if not inspected:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no image inspection",
                    why="the image's platform list (os, os.version) would confirm which operating systems it has",
                    how="collectors/inspect-images DUMP  (or: skopeo inspect --raw docker://IMAGE)",
                )
            )
        f.remediation.extend(_remedies(has_windows, w, rows, build_case, img_oses))
        out.append(f)
    return out


def _state(r: Any) -> str:
    msg = "" if pd.isna(r.waiting_message) else f": {r.waiting_message}"
    reason = r.waiting_reason if r.state == "waiting" else r.last_reason
    return f"{reason}{msg} on node {r.node} ({r.node_os or 'linux'})"[:500]


def _node_os_evidence(ctx: Context, nodes: list[str], limit: int = 6) -> list[Evidence]:
    by_name = ctx.node_records
    out = []
    for r in (by_name[n] for n in nodes[:limit] if n in by_name):
        build = f", Windows build {r.windows_build}" if not pd.isna(r.windows_build) else ""
        image = f", {r.os_image}" if not pd.isna(r.os_image) else ""
        out.append(
            Evidence(
                kind="node",
                file=str(r.file),
                object=f"Node {r.node}",
                text=f"operating system {r.os or 'unknown'}, architecture {r.arch}{build}{image}",
                snapshot=str(r.snapshot),
            )
        )
    return out


def _remedies(has_windows: bool, w: Any, rows: Rows, build_case: bool, img_oses: list[str]) -> list[Remediation]:
    """The fixes; `has_windows`: the dump has a Windows node."""
    res, ns, name = resource_of(w), q(w.namespace), q(w.name)
    images = rows.present("image")
    image = str(images[0]) if images else "IMAGE"
    if build_case:
        nb = sorted({str(v) for v in rows.present("node_windows_build")})
        sel = {"node.kubernetes.io/windows-build": nb[0]} if nb else {"kubernetes.io/os": "windows"}
        return [
            Remediation(
                title=f"Publish {image} for the nodes' Windows build too (a manifest list with one entry per "
                "build, each with its os.version)",
                command=f"docker manifest inspect -v {q(image)}   # compare os.version with the nodes' build",
                kind="rebuild",
            ),
            Remediation(
                title=f"Schedule {w} onto nodes of the build its image has (windows-build label)",
                command=f"kubectl -n {ns} patch {res} {name} --type merge -p "
                f"{q(json.dumps(_spec(w, {'nodeSelector': sel})))}",
                kind="pin",
            ),
        ]
    want = img_oses[0] if len(img_oses) == 1 else "linux"
    patch = {"nodeSelector": {"kubernetes.io/os": want}}
    out = [
        Remediation(
            title=f"Pin {w} to {want} nodes with a kubernetes.io/os nodeSelector",
            command=f"kubectl -n {ns} patch {res} {name} --type merge -p {q(json.dumps(_spec(w, patch)))}",
            kind="pin",
        )
    ]
    if has_windows:
        out.append(
            Remediation(
                title="Keep Linux pods off Windows nodes for good: taint the Windows pool",
                command="kubectl taint nodes -l kubernetes.io/os=windows os=windows:NoSchedule",
                kind="config",
            )
        )
    out.append(
        Remediation(
            title=f"Or build {image} for the other OS as well (a Windows variant needs a Windows "
            "base image and build host)",
            command=f"docker manifest inspect {q(image)}",
            kind="rebuild",
        )
    )
    return out


def _spec(w: Any, spec: dict[str, Any]) -> dict[str, Any]:
    if w.kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    if w.kind == "Pod":
        return {"spec": spec}
    return {"spec": {"template": {"spec": spec}}}
