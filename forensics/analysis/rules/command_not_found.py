"""command-not-found: the container's command (or a command its entrypoint script runs) is not in
the image: a typo in `command:`, a binary in another path, a slim image without a shell. Symptom:
the runtime cannot start the process; the container terminates with `StartError` (containerd),
`ContainerCannotRun` (Docker) or waits in `RunContainerError`, exit code 127 or 128, and the message
`exec: "wge": executable file not found in $PATH` (runc) / crun's `executable file `x` not found`;
or a shell in the log says `/bin/sh: 1: wge: not found`.

Proof: a start-failure reason with that message is near-certain; the message alone (an event or a
log line) is strong. Exit 127/128 alone is not evidence. This is the trap next to `exec format
error`: a start failure with *executable file not found* is a missing file, not a foreign
architecture, and points away from the arch causes.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, Rows, is_na
from forensics.analysis.findings import Finding, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, container_evidence, missing_logs, new_finding, sig_evidence
from forensics.analysis.rules._restart import (
    first_row,
    marks,
    missing_events,
    pod_spec_path,
    q,
    resource,
    severity,
    sigs_by_workload,
    texts,
)

CAUSE = "command-not-found"
TITLE = "Entrypoint or command not found in the image"
SPECIFICITY = 100
HINTS = ("command-not-found",)

_EXE = re.compile(
    r"exec: \\?\"([^\"\\]*)\\?\": executable file not found|executable file `([^`]*)` not found"
    r"|stat (\S+): no such file or directory"
    r"|\b(?:ba|da|z)?sh: (?:line \d+: |\d+: )?([^:\s]+): (?:command )?not found"
)


def missing_executables(texts: list[str]) -> list[str]:
    """The commands the runtime or a shell could not find, in order, once each."""
    out = []
    for t in texts:
        for m in _EXE.finditer(t):
            out.append(next(g for g in m.groups() if g))
    return list(dict.fromkeys(out))


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    cand = p[p["cmd_sig"] & (p["failing_b"] | p["start_fail"])]
    sigs_of = sigs_by_workload(ctx, cand, ("command-not-found",))
    out: list[Finding] = []
    groups = by_workload(cand)
    start_fail = groups.flag("start_fail")
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = sigs_of(w)
        runtime = sigs.keep([not is_na(d) and d != "shell" for d in sigs["dialect"]])
        start = rows.any(start_fail)
        if not runtime.empty:
            conf = 0.8 + (0.15 if start else 0.0)
        else:  # a shell in the container could not find a command its script runs
            conf = 0.6 + (0.1 if any(not is_na(c) and c == 127 for c in rows["exit_code"]) else 0.0)
        exes = missing_executables(texts(sigs))
        what = ", ".join(f"`{e}`" for e in exes[:3]) or "the container's command"
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w} cannot start: {what} not found in the image (a missing executable, "
            "not an architecture mismatch)",
        )
        f.evidence.extend(container_evidence(rows.where(start_fail), _text))
        f.evidence.extend(sig_evidence(sigs))
        if runtime.empty:
            f.missing_evidence.extend(missing_logs(ctx, rows))
        f.missing_evidence.extend(missing_events(ctx, rows, "the runtime's start error"))
        f.remediation.extend(_remedies(w, rows, exes))
        out.append(f)
    return out


def _text(r: Any) -> str:
    reason = r.waiting_reason if r.state == "waiting" and r.waiting_reason in ("RunContainerError",) else r.reason
    code = "" if pd.isna(r.exit_code) else f", exit code {int(r.exit_code)}"
    return f"{reason}{code}"


def _remedies(w: Any, rows: Rows, exes: list[str]) -> list[Remediation]:
    r = first_row(rows)
    ns, c, image = str(r.namespace), str(r.container), str(r.image)
    exe = exes[0] if exes else "<COMMAND>"
    jp = f'{{{pod_spec_path(w)}.containers[?(@.name=="{c}")].command}}'
    return [
        Remediation(
            title=f"See the command container {c} runs",
            kind="investigate",
            command=f"kubectl -n {q(ns)} get {resource(w)} {q(w.name)} -o jsonpath={q(jp)}",
        ),
        Remediation(
            title=f"Check whether {exe} exists in {image}",
            kind="investigate",
            command=f"docker run --rm --entrypoint sh {q(image)} -c {q('command -v ' + q(exe))}",
        ),
        Remediation(
            title="Fix `command`/`args` (or the image's PATH/entrypoint) and roll out",
            kind="config",
            command=f"kubectl -n {q(ns)} edit {resource(w)} {q(w.name)}",
        ),
    ]
