"""arch.emulation-fault: a foreign-architecture image *was* emulated (a qemu-user binfmt_misc handler
on a Kubernetes node, Rosetta under Docker Desktop) and the emulation broke. The runtime accepted the
binary, so there is no exec format error; instead the emulator speaks: `qemu: uncaught target signal
11 (Segmentation fault) - core dumped`, `qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2':
No such file or directory` (the guest's dynamic loader is not in the image, e.g. a glibc binary in a
musl image), `rosetta error: failed to open elf at /lib64/ld-linux-x86-64.so.2`. Emulated pods that
do run are 5-20x slower and often miss liveness deadlines: then the probe is the primary cause and
this one contributes.

Proof: the emulator's own message in a log, termination message or event; the image's platforms
lacking the node's architecture; an enabled binfmt_misc handler for the image's architecture on the
node (when the dump holds the listing). Without a listing the emulator's message still proves that
emulation ran, with lower confidence. Refuted by a native image for the node's architecture (then the
crash is the application's own) or by the same crash on nodes of the image's own architecture.
"""

from __future__ import annotations

import numpy as np

from forensics.analysis import remediation
from forensics.analysis.correlate import Context, Rows, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Severity
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import image_archs, image_dicts, image_evidence, marked, node_evidence, sig_mask
from forensics.analysis.rules._common import by_workload, new_finding, restart_matrix, sig_evidence

CAUSE = "arch.emulation-fault"
TITLE = "Foreign-architecture image ran under emulation and the emulation broke"
SPECIFICITY = 30
ARCH = "platform"
HINTS = ("emulation",)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    # a container that crashed under emulation earlier and runs since still shows the emulation is
    # faulty; whether its workload is failing now is decided for the whole finding (restart history)
    failing = (p["failing"].fillna(False) | (p["restart_count"].fillna(0) > 0)).to_numpy(dtype=bool)
    foreign = (p["unsupported"] | ~p["img_inspected"].fillna(False)).to_numpy(dtype=bool)
    emulated = p["emulated_or_ran"].to_numpy(dtype=bool)
    s = ctx.signatures
    level = sig_mask(p, s[s["hint"] == "microarch"] if not s.empty else s)  # the emulated CPU lacks a level
    crashed = failing & ((p["emu_sig"].to_numpy(dtype=bool) & (foreign | emulated)) | (level & emulated))
    slow = failing & emulated & ~p["exec_sig"].to_numpy(dtype=bool)
    cand = p[crashed | slow]
    if cand.empty:
        return []
    probe = ctx.sigs_for(cand, ("probe",))
    probe = probe[probe["dialect"].isin(["liveness", "startup"])]
    probe_keys = list(zip(probe["namespace"].astype(str), probe["pod"].astype(str)))
    probed = set(probe_keys)
    probe_sel = Rows.of(probe)
    b = ctx.frames["binfmt"]
    # enabled handlers, read once: (node, arch, row)
    handlers_on = (
        [(r.node, r.arch, r) for r in b[b["enabled"].fillna(False).to_numpy(dtype=bool)].itertuples(index=False)]
        if not b.empty
        else []
    )
    # the masks, for all candidate rows at once; each workload's part is read from column lists
    groups = by_workload(cand)
    emu_sig = groups.flag("emu_sig")
    level_only = level[crashed | slow] & ~emu_sig
    in_probe = np.array(
        [(n, x) in probed for n, x in zip(cand["namespace"].astype(str), cand["pod"].astype(str))], dtype=bool
    )
    probe_only = in_probe & groups.flag("emulated_or_ran") & ~emu_sig
    listed_at, inspected_at = groups.flag("emulated"), groups.flag("img_inspected")
    ran_foreign = groups.flag("ran_foreign")
    empty_sigs = ctx.sig_rows(cand.iloc[0:0])
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        level_rows = rows.where(level_only)
        emu_rows = rows.where(emu_sig) + level_rows
        probe_rows = rows.where(probe_only)
        hit = emu_rows + probe_rows
        if hit.empty:
            continue
        sigs = ctx.sig_rows(emu_rows, ("emulation", "microarch")) if not emu_rows.empty else empty_sigs
        texts = " ".join(sigs.text("text"))
        listed = hit.any(listed_at)
        archs = sorted(image_archs(hit)) or ["foreign-architecture"]
        an = "an" if archs[0][0] in "aeiou" else "a"
        nodes_arch = sorted({str(x) for x in hit.present("node_arch")})
        if emu_rows.empty:
            how = (
                "qemu emulation (binfmt_misc)" if listed else "emulation (inferred: it ran, with no exec format error)"
            )
            what = (
                f"runs its {'/'.join(archs)} image under {how} on {', '.join(nodes_arch)} nodes and "
                "misses its liveness deadlines there (emulated code runs many times slower)"
            )
            conf = 0.55 + (0.15 if listed else 0.0)
            sev: Severity = "medium"
        else:
            if not level_rows.empty and len(level_rows) == len(emu_rows):
                cause_text = "the emulated CPU lacks the x86-64 level the image needs"
            elif "Could not open" in texts or "failed to open elf" in texts:
                cause_text = "the emulator could not load the image's dynamic loader (/lib64/ld-linux-*)"
            elif "rosetta" in texts.lower():
                cause_text = "Rosetta failed"
            else:
                cause_text = "qemu crashed (uncaught target signal)"
            what = (
                f"runs {an} {'/'.join(archs)} image under emulation on {', '.join(nodes_arch) or 'its'} nodes and "
                f"{cause_text}"
            )
            conf = 0.6 + (0.2 if listed else 0.0) + (0.1 if hit.any(inspected_at) else 0.0)
            sev = "high"
        f = new_finding(CAUSE, w, hit, severity=sev, confidence=round(min(conf, 0.95), 2), summary=f"{w} {what}")
        f.evidence.extend(sig_evidence(sigs))
        if not probe_rows.empty:
            pods = set(zip(probe_rows.text("namespace"), probe_rows.text("pod")))
            f.evidence.extend(sig_evidence(probe_sel.keep([k in pods for k in probe_keys]), limit=5))
        imgs = image_dicts(ctx, hit)
        f.images = imgs
        for img in imgs:
            e = image_evidence(img)
            if e:
                f.evidence.append(e)
        nodes = sorted({str(x) for x in hit.present("node")})
        on_nodes = [r for n, a, r in handlers_on if not is_na(n) and n in nodes and not is_na(a) and a in archs]
        for r in on_nodes[:5]:
            f.evidence.append(
                Evidence(
                    kind="binfmt",
                    file=str(r.file),
                    object=f"Node {r.node}",
                    text=f"binfmt_misc {r.entry}: enabled, interpreter {r.interpreter}, "
                    f"flags {r.flags} (emulates {r.arch})",
                )
            )
        f.evidence.extend(node_evidence(ctx, nodes))
        f.restart_matrix = restart_matrix(rows)
        for r in hit.where(ran_foreign).unique(("namespace", "pod")).head(3).records():
            f.evidence.append(
                Evidence(
                    kind="pod",
                    file=str(r.file),
                    object=f"Pod {r.namespace}/{r.pod} container {r.container}",
                    text=f"{an} {'/'.join(archs)} binary ran on {r.node_arch} node {r.node} without an "
                    f"exec format error: "
                    "it was emulated",
                    snapshot=str(r.snapshot),
                )
            )
        if not listed:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no binfmt_misc listing for the nodes where it ran",
                    why="the handler (qemu, its flags) would confirm where emulation happens and which emulator",
                    how="collectors/collect --node-binfmt",
                )
            )
        native = sorted(set(ctx.cluster_archs) & set(image_archs(hit)))
        for img in imgs[:2]:
            f.remediation.append(remediation.rebuild(img["ref"], sorted(set(ctx.cluster_archs) or set(nodes_arch))))
        if native:
            f.remediation.append(remediation.pin(w, native))
        if emu_rows.empty:
            f.remediation.append(
                Remediation(
                    title="Or give the emulated pods time: a longer liveness timeout and initial delay",
                    command=f"kubectl -n {remediation.q(w.namespace)} edit {remediation.resource_of(w)} "
                    f"{remediation.q(w.name)}  # livenessProbe.timeoutSeconds / initialDelaySeconds",
                    kind="config",
                )
            )
        out.append(f)
    return out
