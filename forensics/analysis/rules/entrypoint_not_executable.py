"""entrypoint-not-executable: the container's entrypoint is a file the kernel cannot execute, and it
is *not* an architecture problem although it prints the same words. A shell script without a `#!`
line (or with a UTF-8 BOM before it) makes execve fail with ENOEXEC: runc prints `exec
/entrypoint.sh: exec format error`, exactly what a foreign binary gives. A script saved with CRLF
line endings names the interpreter `/bin/bash\\r`: runc says `exec /docker-entrypoint.sh: no such file
or directory` for a file that is there, GNU env says `/usr/bin/env: 'bash\\r': No such file or
directory`, bash says `/bin/bash^M: bad interpreter`. A file without the execute bit gives `exec:
"/entrypoint.sh": permission denied`. Rebuilding the image for other architectures fixes none of it.

Proof, the differential: the image's platform matches the node's (the inspected index or manifest
has the node's OS, architecture and variant, and no child config says otherwise), or, without an
inspection, the same image fails the same way on nodes of two architectures. Then no `arch.*` cause
is the explanation. The CRLF, BOM and permission wordings prove the specific fault by themselves.
Refuted by an ELF header of another architecture in the entrypoint file (`head -c 20 FILE | od -c`
inside the image: a binary built for the wrong arch and labelled right), or by the same image
running on other nodes of the same platform.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import WL_KEYS, Context, Rows, Workloads, is_na
from forensics.analysis.findings import Finding, MissingEvidence, Remediation
from forensics.analysis.remediation import q, resource_of
from forensics.analysis.rules import rule
from forensics.analysis.rules._arch import image_dicts, image_evidence, marked, node_evidence, sig_mask
from forensics.analysis.rules._common import by_workload, container_evidence, missing_logs, new_finding, sig_evidence

CAUSE = "entrypoint-not-executable"
TITLE = "Entrypoint script not executable (not an architecture problem)"
SPECIFICITY = 230
HINTS = ("entrypoint",)

_PATH = re.compile(
    r"exec (/[^\s:\"]+)|exec: \\?\"(/[^\"\\]+)\\?\"|(/\S+?\.sh)\b|exec container process [`'\"]?([^`'\"]+)"
)


def entrypoint_paths(texts: list[str]) -> list[str]:
    """The files the runtime or a shell failed to execute, in order, once each."""
    out = []
    for t in texts:
        for m in _PATH.finditer(t):
            out.append(next(g for g in m.groups() if g))
    return list(dict.fromkeys(out))


def _kind(texts: str) -> str:
    if "\\r" in texts or "\r" in texts or "^M" in texts:
        return "crlf"
    if "\ufeff#!" in texts or "\u00ef\u00bb\u00bf#!" in texts or "\ufffd\ufffd\ufffd#!" in texts:
        return "bom"
    if "permission denied" in texts.lower():
        return "chmod"
    if "bad interpreter" in texts:
        return "interpreter"
    if "no such file or directory" in texts:
        return "crlf-or-interpreter"
    return "no-shebang"


_WHAT = {
    "crlf": "its entrypoint script has Windows (CRLF) line endings, so its #! line names an interpreter "
    "ending in \\r that does not exist",
    "bom": "its entrypoint script starts with a UTF-8 byte-order mark, which hides the #! line",
    "chmod": "its entrypoint file is not executable (no execute bit)",
    "interpreter": "the interpreter named by its entrypoint's #! line is not in the image",
    "crlf-or-interpreter": "the runtime cannot find the interpreter of its entrypoint script (CRLF line "
    "endings, or a #! naming a shell the image lacks)",
    "no-shebang": "its entrypoint is not an executable the kernel recognises (a script without a #! line, "
    "or a BOM before it): exec format error without any architecture mismatch",
    "unknown": "its entrypoint cannot be executed although the image's platform matches the node's (a script "
    "without a #! line, or a binary of another architecture inside a correctly labelled image)",
}
_SCRIPT = (".sh", ".bash", ".py", ".pl", ".rb", ".js", ".ksh", ".zsh")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marked(ctx)
    failing = p["failing"].fillna(False).to_numpy(dtype=bool)
    s = ctx.signatures
    has_ep = sig_mask(p, s[s["hint"] == "entrypoint"] if not s.empty else s)
    exec_not_arch = p["exec_sig"].to_numpy(dtype=bool) & (
        p["platform_match"].to_numpy(dtype=bool) | p["exec_everywhere"].to_numpy(dtype=bool)
    )
    cand = p[failing & (has_ep | exec_not_arch) & ~p["pull_sig"].to_numpy(dtype=bool)]
    # every placement row of a workload, by its (kind, namespace, name) as they equal the workload's
    # names (rows with a missing key match none), found once for all workloads
    every = Workloads.at(p, [])
    of_workload = p.groupby(WL_KEYS, dropna=True, sort=False).indices if not cand.empty else {}
    groups = by_workload(cand)
    inspected_at = groups.flag("img_inspected")
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = ctx.sig_rows(rows, ("entrypoint",)) + ctx.sig_rows(rows, ("arch",))
        texts = [str(t) for t in sigs.present("text")]
        kind = _kind(" ".join(t for t in texts))
        inspected = bool(inspected_at[rows.pos].all())
        matched = all(bool(v) for v in rows.present("platform_match"))
        everywhere = any(bool(v) for v in rows.present("exec_everywhere"))
        paths = entrypoint_paths(texts)
        if kind == "no-shebang" and not any(x.endswith(_SCRIPT) for x in paths):
            kind = "unknown"  # a binary path: the file's first bytes decide, the dump cannot
        specific = kind in ("crlf", "bom", "chmod", "interpreter")
        if specific:
            conf = 0.85 + (0.1 if matched else 0.0)
        elif matched:
            conf = 0.75 if kind != "unknown" else 0.6
        elif everywhere:
            conf = 0.55 if kind != "unknown" else 0.45  # the differential without an inspection: unconfirmed
        else:
            conf = 0.5 if kind == "crlf-or-interpreter" else 0.35
        plats = sorted({str(v) for v in rows.present("img_platform")})
        node_plats = sorted({str(v) for v in rows.present("node_arch")})
        why = (
            f"the image's platform ({', '.join(plats)}) matches its nodes ({', '.join(node_plats)})"
            if matched
            else f"the same image fails this way on {', '.join(node_plats)} nodes alike"
            if everywhere
            else "the error names the entrypoint file itself"
        )
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity="high" if not _healthy(every, of_workload.get((w.kind, w.namespace, w.name))) else "medium",
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w} cannot start: {_WHAT[kind]}"
            + (f" ({', '.join(paths[:2])})" if paths else "")
            + f"; not an architecture problem: {why}",
        )
        f.evidence.extend(sig_evidence(sigs))
        f.evidence.extend(container_evidence(rows, _state_text))
        imgs = image_dicts(ctx, rows)
        f.images = imgs
        for img in imgs:
            e = image_evidence(img)
            if e:
                f.evidence.append(e)
        f.evidence.extend(node_evidence(ctx, f.nodes))
        if not inspected:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no image inspection: the image's platform cannot be compared with the nodes'",
                    why=(
                        "an exec format error is also what a foreign-architecture image gives; only the image's "
                        "platforms (and its config) can rule that out, so this finding's confidence is lowered"
                    ),
                    how="forensics analyze DUMP --images DIR  (collectors/inspect-images, or skopeo inspect --raw)",
                )
            )
        if not any(not is_na(h) and h == "entrypoint" for h in sigs["hint"]) and not specific:
            f.missing_evidence.append(
                MissingEvidence(
                    what="the entrypoint file's first bytes",
                    why="a #! line proves a script; an ELF header of another architecture would refute this finding",
                    how=f"docker run --rm --entrypoint sh {q(imgs[0]['ref']) if imgs else 'IMAGE'} -c "
                    f"{q('head -c 64 ' + (paths[0] if paths else '/entrypoint.sh') + ' | od -c | head -5')}",
                )
            )
        f.missing_evidence.extend(missing_logs(ctx, rows))
        f.remediation.extend(_remedies(w, rows, kind, paths[0] if paths else "/entrypoint.sh"))
        out.append(f)
    return out


def _healthy(every: Workloads, pos: np.ndarray | None) -> bool:
    """Whether the workload (its placement rows at `pos`) has a healthy row in its latest snapshot."""
    if pos is None:
        return False
    rows = Rows(every, np.sort(pos))
    present = rows.present("snapshot_index")
    if not present:
        return False
    latest = max(present)
    healthy = rows.flags("healthy")
    return any(h and not is_na(si) and si == latest for si, h in zip(rows["snapshot_index"], healthy))


def _state_text(r: Any) -> str:
    reason = r.waiting_reason if r.state == "waiting" and not pd.isna(r.waiting_reason) else r.last_reason
    code = r.last_exit_code if not pd.isna(r.last_exit_code) else r.term_exit_code
    return f"{reason}{'' if pd.isna(code) else f', exit code {int(code)}'} on node {r.node} ({r.node_arch})"


def _remedies(w: Any, rows: Rows, kind: str, path: str) -> list[Remediation]:
    images = rows.present("image")
    image = str(images[0]) if images else "IMAGE"
    fix = {
        "crlf": (
            "Convert the entrypoint to LF line endings before building (and pin it in .gitattributes)",
            (
                f"dos2unix {q(path.lstrip('/'))}   # or in the Dockerfile: RUN sed -i 's/\\r$//' {q(path)}\n"
                "echo '*.sh text eol=lf' >> .gitattributes"
            ),
        ),
        "bom": (
            "Remove the UTF-8 byte-order mark before the #! line",
            f"sed -i '1s/^\\xEF\\xBB\\xBF//' {q(path.lstrip('/'))}",
        ),
        "chmod": (
            "Make the entrypoint executable in the image",
            (
                f"RUN chmod +x {q(path)}   # Dockerfile, after COPY; or: git update-index --chmod=+x "
                f"{q(path.lstrip('/'))}"
            ),
        ),
        "interpreter": (
            "Install the interpreter the #! line names, or point #! at one the image has",
            f"head -1 {q(path.lstrip('/'))}   # e.g. #!/bin/sh on alpine, which has no bash",
        ),
        "crlf-or-interpreter": (
            "Fix the entrypoint's #! line: LF line endings and an interpreter the image has",
            f"dos2unix {q(path.lstrip('/'))} && head -1 {q(path.lstrip('/'))}",
        ),
        "no-shebang": (
            "Start the entrypoint script with a #! line (no BOM before it), e.g. #!/bin/sh",
            f"sed -i '1i #!/bin/sh' {q(path.lstrip('/'))}   # and RUN chmod +x {q(path)}",
        ),
        "unknown": (
            (
                "If it is a script, start it with a #! line; if it is an ELF binary, rebuild it for the "
                "image's architecture (GOARCH/TARGETARCH in the build)"
            ),
            f"file {q(path.lstrip('/'))}   # from the build context; or in the image: head -c 20 | od -c",
        ),
    }[kind]
    ns = q(w.namespace)
    return [
        Remediation(
            title=f"Look at the first bytes of {path} in {image}",
            kind="investigate",
            command=f"docker run --rm --entrypoint sh {q(image)} -c "
            f"{q('head -c 64 ' + q(path) + ' | od -c | head -5; ls -l ' + q(path))}",
        ),
        Remediation(title=fix[0], command=fix[1], kind="rebuild"),
        Remediation(
            title="Roll out the rebuilt image",
            kind="restart",
            command=f"kubectl -n {ns} set image {resource_of(w)}/{q(w.name)} "
            f"{q(str(rows['container'][0]))}={q(image)}  # with the fixed tag",
        ),
    ]
