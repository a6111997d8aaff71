"""oom-killed: a container used more memory than its limit (or the node ran out) and the kernel's
OOM killer ended it. Symptom: restarts with `lastState.terminated.reason: OOMKilled`, exit code
137 (SIGKILL), often no line at all in the previous log because the process got no chance to write
one; sometimes the runtime's own view (`java.lang.OutOfMemoryError`, `fatal error: runtime: out of
memory`, `JavaScript heap out of memory`, a shell's bare `Killed`).

Proof: the OOMKilled reason in the container status is near-certain, more so with exit code 137
and a memory line in a log or event. A memory line in the log of a failing container without the
reason is a weaker sign (a JVM heap limit is not the cgroup limit); a bare `Killed` is weak (any
SIGKILL prints it). Exit 137 alone is not evidence: the kubelet also SIGKILLs after a failed
liveness probe or a grace period.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, is_na
from forensics.analysis.findings import Finding, MissingEvidence, Remediation, Workload, clamp
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import (
    by_workload,
    container_flag,
    container_known,
    group_evidence,
    missing_logs,
    new_finding,
    sig_evidence,
)
from forensics.analysis.rules._restart import (
    any_is,
    has_previous,
    logs_cmd,
    marks,
    q,
    raise_memory,
    resource,
    severity,
    sigs_by_workload,
)

CAUSE = "oom-killed"
TITLE = "Out of memory (OOMKilled)"
SPECIFICITY = 50
HINTS = ("oom",)

STRONG_DIALECTS = ("kernel", "java", "go", "node", "python")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    cand = p[p["oom_reason"] | (p["oom_sig"] & p["failing_b"])]
    sigs_of = sigs_by_workload(ctx, cand, ("oom",))
    strong_of = sigs_by_workload(ctx, cand, ("oom",), STRONG_DIALECTS)
    groups = by_workload(cand)
    oom = cand["oom_reason"].to_numpy(dtype=bool)
    out: list[Finding] = []
    for i, w in groups.each():
        sigs = sigs_of(w)
        strong = strong_of(w)
        reasons = groups.values(i, "oom_reason")
        codes = groups.values(i, "exit_code")
        has_reason = any(reasons)
        exit137 = any(c == 137 for c, r in zip(codes, reasons) if (r or not has_reason) and not is_na(c))
        # runc's own StartError wording: the memory cgroup killed the container's init (as good as the reason)
        runc = any_is(sigs["dialect"], "runc")
        if has_reason:
            conf = 0.85 + (0.08 if exit137 else 0.0) + (0.05 if not sigs.empty else 0.0)
        elif runc:
            conf = 0.9
        elif not strong.empty:
            conf = 0.55 + (0.1 if exit137 else 0.0)
        else:  # only a shell's `Killed`: any SIGKILL prints it
            conf = 0.3 + (0.1 if exit137 else 0.0)
        limits = _distinct(groups.values(i, "memory_limit"))
        # a container known from its spec (image, limits) vs one a `get pods` row only names: no limit
        # in the first is a fact, in the second unknown
        spec_seen = any(not is_na(v) and str(v) for v in groups.values(i, "image"))
        lim = (
            f" (memory limit {', '.join(limits)})"
            if limits
            else " (no memory limit set)"
            if spec_seen
            else " (memory limit not shown)"
        )
        what = "were OOMKilled" if has_reason else "ran out of memory"
        n_containers = len({c for c in groups.values(i, "container") if not is_na(c)})
        f = new_finding(
            CAUSE,
            w,
            cand,
            severity=severity(ctx, w),
            confidence=round(clamp(min(conf, 0.99)), 2),
            summary=f"{w}: {n_containers} container(s) {what}{lim}; raise resources.limits.memory or fix the leak",
            facts=groups.facts(i),
        )
        f.restart_matrix = groups.restart_matrix(i)
        f.evidence.extend(group_evidence(groups, i, _status_text, where=oom))
        f.evidence.extend(sig_evidence(sigs))
        if not has_reason:
            f.evidence.extend(group_evidence(groups, i, _status_text))
            f.missing_evidence.append(
                MissingEvidence(
                    what="no OOMKilled reason in the container status",
                    why="the termination reason would confirm the kernel killed the container for memory",
                    how="kubectl get pod -o jsonpath='{.status.containerStatuses[*].lastState}'",
                )
            )
        f.missing_evidence.extend(missing_logs(ctx, cand, groups.lacking_logs(i, ctx.log_keys)))
        if not limits:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no memory limit known for the container",
                    why="without a limit the node itself ran out of memory, or the pod spec was not collected",
                    how=f"kubectl -n {q(w.namespace)} get {resource(w)} {q(w.name)} -o yaml",
                )
            )
        by_container: dict[str, list[Any]] = {}
        for c, m in zip(groups.values(i, "container"), groups.values(i, "memory_limit")):
            if not is_na(c):
                by_container.setdefault(str(c), []).append(m)
        f.remediation.extend(_remedies(w, by_container, groups.records([groups.last_row(i)])[0]))
        out.append(f)
    return out


def _distinct(values: list[Any], limit: int = 5) -> list[str]:
    """The first `limit` distinct values, as strings, in order of appearance."""
    return list(dict.fromkeys(str(v) for v in values if not is_na(v)))[:limit]


def _status_text(r: Any) -> str:
    reason = "unknown" if pd.isna(r.reason) else r.reason
    code = "?" if pd.isna(r.exit_code) else int(r.exit_code)
    spec_seen = not is_na(getattr(r, "image", None)) and bool(str(r.image))
    lim = r.memory_limit if not pd.isna(r.memory_limit) else "none" if spec_seen else "not shown"
    return f"terminated: reason {reason}, exit code {code}, restartCount {r.restart_count}, memory limit {lim}"


def _remedies(w: Workload, limits: dict[str, list[Any]], r: Any) -> list[Remediation]:
    """`limits`: each container's memory limits, row by row; `r`: the workload's most recent row."""
    out = []
    res = resource(w)
    for c in sorted(limits):
        cur = _distinct(limits[c])
        new = raise_memory(cur[0]) if cur else None
        target = new or "<NEW_LIMIT>"
        now = f"from {cur[0]} " if cur else ""
        known = container_known(c)
        which = f"container {c}" if known else "the container"
        if w.kind == "Pod":
            cmd = (
                f"# a bare pod's resources cannot be changed in place: edit its manifest, set "
                f"containers[{c if known else '<CONTAINER>'}].resources.limits.memory={target}, and recreate it\n"
                f"kubectl -n {q(w.namespace)} get pod {q(w.name)} -o yaml > pod.yaml"
            )
        elif w.kind == "Job":
            # a Job's pod template is immutable: `kubectl set resources job/...` is refused
            cmd = (
                f"# a Job's pod template cannot be changed: re-create the Job with "
                f"containers[{c}].resources.limits.memory={target} (or change its CronJob's jobTemplate)\n"
                f"kubectl -n {q(w.namespace)} get job {q(w.name)} -o yaml > job.yaml"
                f"   # edit the limit; drop spec.selector and the controller-uid labels\n"
                f"kubectl -n {q(w.namespace)} replace --force -f job.yaml"
            )
        else:
            cmd = (
                f"kubectl -n {q(w.namespace)} set resources {res}/{q(w.name)}{container_flag(c)} "
                f"--limits={q('memory=' + target)}"
            )
        out.append(
            Remediation(
                title=f"Raise the memory limit of {which} {now}to {target} "
                "(after checking its real usage: kubectl top pod --containers)",
                command=cmd,
                kind="resources",
            )
        )
    out.append(
        Remediation(
            title="Read what the process was doing before it was killed",
            command=logs_cmd(str(r.namespace), str(r.pod), str(r.container), previous=has_previous(r)),
            kind="investigate",
        )
    )
    return out
