"""arch.microarch-level: an amd64 image on an amd64 node, platform and all, that still cannot run: its
binaries need a newer x86-64 microarchitecture level than the node's CPU offers. RHEL 9 / UBI 9
userlands are built for x86-64-v2 (SSE4.2, POPCNT), RHEL 10 for v3 (AVX2, FMA, BMI); Go binaries
built with `GOAMD64=v3`, C/C++ built with `-march=x86-64-v3` or `-march=native` on a newer build
host, NumPy wheels with a raised baseline. The nodes are old Xeons, small Atom/Celeron boxes, or VMs
whose hypervisor hides CPU features (QEMU's default `qemu64`/`kvm64` models, Proxmox "kvm64",
CloudStack). Wordings: glibc's loader `Fatal glibc error: CPU does not support x86-64-v2`, the Go
runtime's `This program can only be run on AMD64 processors with v3 microarchitecture support.`,
NumPy's `RuntimeError: NumPy was built with baseline optimizations: (...) but your machine doesn't
support: (...)`, and for `-march` builds a bare `Illegal instruction (core dumped)` / exit code 132
(128 + SIGILL). The same happens to an amd64 image emulated by qemu-user on an arm64 node: the
emulator's virtual CPU model (qemu's default before 7.2 has no SSE4.2) lacks the level; then the
level message on an emulated node is the proof, and `arch.emulation-fault` contributes. Rebuilding
"for amd64" changes nothing; the fix is the build's level, the nodes, or the emulator's CPU model.

Proof: the platform matches (no arch.* platform cause holds); the loader's or runtime's own message,
which names the level; the node's CPU level from Node Feature Discovery labels
(`feature.node.kubernetes.io/cpu-cpuid.AVX2` ...) below the level the image needs (its index
variant `linux/amd64/v3`, `GOAMD64=v3` / `-march=x86-64-v3` in its build history, a RHEL 9/10 base
label); the same image healthy on nodes with a higher level. A bare SIGILL counts only with both
levels known. Refuted by the node's CPU having the level (then the SIGILL is the application's own
bug), or by the image failing identically on newer CPUs.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import WL_KEYS, Context, Rows, Workloads, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation
from forensics.analysis.remediation import q, resource_of
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import image_dicts, image_evidence, marked, sig_mask
from forensics.analysis.rules._common import by_workload, container_evidence, new_finding, restart_matrix, sig_evidence
from forensics.knowledge.arch import level_rank

CAUSE = "arch.microarch-level"
TITLE = "amd64 image needs a newer x86-64 level than the node's CPU"
SPECIFICITY = 150
ARCH = "cpu-level"
HINTS = ("microarch",)

_LEVEL_IN_TEXT = re.compile(r"x86-64-(v[2-4])|with (v[2-4]) microarchitecture|\((X86_V[2-4])\)", re.IGNORECASE)


def level_in_texts(texts: list[str]) -> str | None:
    """The highest x86-64 level a runtime message names (v2..v4)."""
    found = []
    for t in texts:
        for m in _LEVEL_IN_TEXT.finditer(t):
            g = next(x for x in m.groups() if x)
            found.append("v" + g[-1])
    return max(found, key=level_rank) if found else None


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    s = ctx.signatures
    code = p["last_exit_code"].fillna(p["term_exit_code"]).fillna(0).astype(int).to_numpy() == 132
    sigill = (p["last_signal"].fillna(0).astype(int).to_numpy() == 4) | code
    has_sig = sig_mask(p, s[s["hint"].isin(["microarch", "sigill"])] if not s.empty else s)
    amd = (p["node_arch"] == "amd64").fillna(False).to_numpy(dtype=bool)
    not_foreign = ~p["unsupported"].to_numpy(dtype=bool)
    failing = p["failing"].fillna(False).to_numpy(dtype=bool)
    # an amd64 image emulated on another architecture runs on qemu's emulated CPU model, which may lack
    # the level (qemu's default x86-64 model before 7.2 has no SSE4.2): the named level is then the proof
    named = sig_mask(p, s[s["hint"] == "microarch"] if not s.empty else s)
    emulated = p["emulated_or_ran"].to_numpy(dtype=bool).copy()
    at = np.flatnonzero(emulated)  # the image platforms are read only where something ran emulated
    emulated[at] = [not is_na(v) and "amd64" in v for v in p["img_archs"].iloc[at].tolist()]
    p = p.assign(emulated_cpu=emulated)
    cand = p[failing & ((amd & not_foreign & (has_sig | sigill)) | (emulated & named))]
    # every placement row of a workload, by its (kind, namespace, name) as they equal the workload's
    # names (rows with a missing key match none), found once for all workloads
    every = Workloads.at(p, [])
    of_workload = p.groupby(WL_KEYS, dropna=True, sort=False).indices if not cand.empty else {}
    groups = by_workload(cand)
    emulated_cpu = groups.flag("emulated_cpu")
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = ctx.sig_rows(rows, ("microarch", "sigill"))
        named_sigs = sigs.keep([not is_na(h) and h == "microarch" for h in sigs["hint"]])
        texts = named_sigs.text("text")
        need = level_in_texts(texts)
        need_from = f"the runtime's message names x86-64-{need}" if need else None
        img_level = _first(rows["img_level"])
        if (img_level and level_rank(img_level) > level_rank(need)) or (img_level and need_from is None):
            need, need_from = img_level, _first(rows["img_level_from"])
        node_levels = {
            str(n): (str(lv), str(lf))
            for n, lv, lf in zip(rows["node"], rows["node_cpu_level"], rows["node_cpu_level_from"])
            if not is_na(lv)
        }
        below = [n for n, (lv, _) in node_levels.items() if need and level_rank(lv) < level_rank(need)]
        if named_sigs.empty:
            # a bare SIGILL is the application's own unless both levels say otherwise
            if not (need and below):
                continue
            conf = 0.65
        else:
            conf = 0.75 + (0.15 if below else 0.0) + (0.05 if img_level else 0.0)
        runs_elsewhere = _healthy_on_higher(every, of_workload.get((w.kind, w.namespace, w.name)), need)
        conf += 0.04 if runs_elsewhere else 0.0
        level_txt = f"x86-64-{need}" if need else "a newer x86-64 level"
        node_txt = ", ".join(sorted({f"x86-64-{lv}" for lv, _ in node_levels.values()})) or "an unknown level"
        emu = rows.any(emulated_cpu)
        if emu:
            on = sorted({str(x) for x in rows.present("node_arch")})
            summary = (
                f"{w} runs an amd64 image built for {level_txt} under emulation on {', '.join(on)} nodes: the "
                "emulator's virtual x86-64 CPU lacks that level" + (f" ({need_from})" if need_from else "")
            )
        else:
            summary = (
                f"{w} runs an amd64 image built for {level_txt} on amd64 nodes whose CPUs offer {node_txt}: "
                "the platform matches, the CPU features do not" + (f" ({need_from})" if need_from else "")
            )
        f = new_finding(CAUSE, w, rows, severity="high", confidence=round(min(conf, 0.97), 2), summary=summary)
        f.evidence.extend(sig_evidence(sigs))
        if named_sigs.empty:
            f.evidence.extend(
                container_evidence(
                    rows,
                    lambda r: (
                        f"terminated with exit code 132 / signal 4 (SIGILL: illegal instruction) on node {r.node}"
                    ),
                )
            )
        imgs = image_dicts(ctx, rows)
        f.images = imgs
        for img in imgs:
            e = image_evidence(img)
            if e:
                f.evidence.append(e)
        if img_level:
            f.evidence.append(
                Evidence(
                    kind="image",
                    file=next((i["file"] or "" for i in imgs if i.get("file")), ""),
                    object=f"Image {imgs[0]['ref'] if imgs else ''}",
                    text=f"needs x86-64-{img_level}: {_first(rows['img_level_from'])}",
                )
            )
        f.evidence.extend(_node_cpu_evidence(ctx, sorted({str(x) for x in rows.present("node")})))
        f.restart_matrix = restart_matrix(rows)
        if emu:
            f.remediation.append(
                Remediation(
                    title="Give the emulator a CPU model with the level (qemu-user reads QEMU_CPU), or a newer qemu",
                    command="QEMU_CPU=max   # in the container's env under qemu-user; or reinstall: "
                    "docker run --privileged --rm tonistiigi/binfmt --install amd64",
                    kind="config",
                )
            )
        elif not node_levels:
            f.missing_evidence.append(
                MissingEvidence(
                    what="the nodes' CPU features",
                    why="a CPU level below the image's would confirm this; the level present would refute it",
                    how="collectors/collect --node-binfmt (keeps each node's cpuinfo flags), or install Node Feature "
                    "Discovery (feature.node.kubernetes.io/cpu-cpuid.* labels)",
                )
            )
        if not img_level and not need:
            f.missing_evidence.append(
                MissingEvidence(
                    what="the x86-64 level the image was built for",
                    why="its base image labels and build history would show RHEL 9/10, GOAMD64 or -march",
                    how="collectors/inspect-images DUMP (keeps the image config)",
                )
            )
        f.remediation.extend(_remedies(w, rows, need))
        out.append(f)
    return out


def _first(values: list[Any]) -> str | None:
    """The first present value, as text."""
    return next((str(v) for v in values if not is_na(v)), None)


def _healthy_on_higher(every: Workloads, pos: np.ndarray | None, need: str | None) -> bool:
    """Whether the workload (its placement rows at `pos`) runs healthy on a node whose CPU has the level."""
    if not need or pos is None:
        return False
    rows = Rows(every, np.sort(pos)).where(every.flag("healthy"))
    return any(level_rank(str(lv)) >= level_rank(need) for lv in rows.present("node_cpu_level"))


def _node_cpu_evidence(ctx: Context, nodes: list[str], limit: int = 6) -> list[Evidence]:
    by_name = ctx.node_records
    out = []
    for r in (by_name[n] for n in nodes[:limit] if n in by_name):
        it = f", {r.instance_type}" if not pd.isna(r.instance_type) else ""
        level = (
            f"CPU level x86-64-{r.cpu_level} ({r.cpu_level_from})"
            if not pd.isna(r.cpu_level)
            else "CPU level unknown (no Node Feature Discovery labels)"
        )
        model = f", {r.cpu_model}" if not pd.isna(r.cpu_model) else ""
        out.append(
            Evidence(
                kind="node",
                file=str(r.file),
                object=f"Node {r.node}",
                text=f"architecture {r.arch}{it}: {level}{model}",
                snapshot=str(r.snapshot),
            )
        )
    return out


def _remedies(w: Any, rows: Rows, need: str | None) -> list[Remediation]:
    first = _first(rows["image"])
    image = first if first is not None else "IMAGE"
    label = (
        "feature.node.kubernetes.io/cpu-cpuid.AVX2"
        if need in ("v3", "v4")
        else "feature.node.kubernetes.io/cpu-cpuid.AVX"
    )
    patch = '{"spec":{"template":{"spec":{"nodeSelector":{"' + label + '":"true"}}}}}'
    return [
        Remediation(
            title=f"Rebuild {image} for the x86-64 baseline (v1), or on a base image the nodes' CPUs run",
            command="GOAMD64=v1 go build ...   # Go\n"
            "CFLAGS='-march=x86-64 -mtune=generic'   # C/C++ (no -march=native)\n"
            "FROM a base whose userland targets x86-64-v1 (e.g. UBI 8, Debian) instead of UBI 9/10",
            kind="rebuild",
        ),
        Remediation(
            title=f"Or schedule {w} only onto nodes whose CPUs have the level (NFD label {label})",
            command=f"kubectl -n {q(w.namespace)} patch {resource_of(w)} {q(w.name)} --type merge -p {q(patch)}",
            kind="pin",
        ),
        Remediation(
            title="On VMs, expose the host CPU's features to the guest (the hypervisor's default model "
            "hides SSE4.2/AVX)",
            command="virsh edit VM   # <cpu mode='host-passthrough'/>; Proxmox: cpu: host; "
            "QEMU: -cpu host or -cpu x86-64-v2-AES",
            kind="config",
        ),
    ]
