"""app-crash: the application itself exits with an error: a panic, an uncaught exception, a failed
start-up check, a fatal log line. Symptom: CrashLoopBackOff after `lastState.terminated.reason:
Error` with a non-zero exit code, and the reason in the previous container log (`panic: ...`,
`Traceback (most recent call last):`, `Exception in thread "main"`, `FATAL`, `level=fatal`).

This is the cause that remains when nothing more specific explains the failure: it never fires for a
container explained by an architecture signature (the runtime's `exec format error`, a platform pull
error, qemu signals: the arch rules own those), nor for OOMKilled, probe kills, pulls, missing
config, a missing executable, start errors, evictions or a node that is not Ready. One trap goes the
other way: an application that itself execs a foreign binary (`fork/exec /plugins/x: exec format
error`, Java `error=8, Exec format error`) while its own image runs on its node is an app-crash:
the image is fine, the plugin it ships or downloads is not.

Proof: a crash line in the previous log of a failing container. Without one, only the termination
reason remains (exit codes are not evidence by themselves) and the confidence says so; with no logs
at all in a mixed-architecture cluster and no image inspection, a silent arch mismatch cannot be
ruled out.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, is_na
from forensics.analysis.findings import Finding, MissingEvidence, Remediation
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
    explained_elsewhere,
    ghost_by_reason,
    ghost_findings,
    has_previous,
    logs_cmd,
    marks,
    pod_spec_path,
    q,
    resource,
    severity,
    split_by_workload,
    termination_messages,
    texts,
)

CAUSE = "app-crash"
TITLE = "Application crash at start-up"
SPECIFICITY = 20
HINTS = ("app-crash", "app-exec")

_FORK_EXEC = re.compile(r"fork/exec (\S+): exec format error|Cannot run program \"([^\"]+)\"")
# container states that are another cause's case; the signature columns of more specific causes
# are added from the declarations (`_restart.explained_elsewhere`)
_EXPLAINED_STATES = ("oom_reason", "pull_wait", "config_wait", "start_fail", "evicted", "node_down", "clean_stop")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    # an inspected image that lacks the node's arch is the arch rules' case, signature or not
    explained = p[[*_EXPLAINED_STATES, *explained_elsewhere(CAUSE)]].any(axis=1).to_numpy(dtype=bool) | p[
        "supported"
    ].eq(False).fillna(False).to_numpy(dtype=bool)
    # pull / config / create errors that no signature explained are still not the application's
    not_started = (
        p["waiting_reason"]
        .isin(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerError"])
        .fillna(False)
    )
    crashed = (
        (p["reason"] == "Error").fillna(False)
        | p["app_sig"]
        | p["appexec_sig"]
        | (p["reason"].isna() & (p["waiting_reason"] == "CrashLoopBackOff").fillna(False))
    )
    cand = p[p["failing_b"] & ~explained & ~not_started.to_numpy(dtype=bool) & crashed.to_numpy(dtype=bool)]
    s = ctx.sigs_for(cand, HINTS)
    sigs_of = split_by_workload(s)
    exec_of = split_by_workload(s[s["hint"] == "app-exec"]) if not s.empty else sigs_of
    usage_of = split_by_workload(s[s["signature"] == "cli-usage"]) if not s.empty else sigs_of
    dep_of = split_by_workload(s[s["signature"] == "dependency-unreachable"]) if not s.empty else sigs_of
    said = termination_messages(ctx)
    groups = by_workload(cand)
    out: list[Finding] = []
    for i, w in groups.each():
        sigs = sigs_of(w)
        app_exec = exec_of(w)
        keys = groups.container_keys(i)
        lacking = groups.lacking_logs(i, ctx.log_keys)
        logged = len(lacking) < len(keys)
        image_ok = all(_true(v) for v in groups.values(i, "supported"))
        unknown_arch = ctx.mixed and not image_ok
        if not app_exec.empty:
            conf = 0.85 if image_ok else 0.7
        elif not sigs.empty:
            conf = 0.8
        else:
            conf = 0.5 if logged else 0.35
        if any(v == "Error" for v in groups.values(i, "reason") if not is_na(v)):
            conf += 0.05
        if sigs.empty and unknown_arch:
            conf = min(conf, 0.3)
        plugins = _exec_targets(texts(app_exec))
        usage = usage_of(w)
        dep = dep_of(w)
        inits = sorted(
            {str(c) for c, init in zip(groups.values(i, "container"), groups.values(i, "init")) if _true(init)}
        )
        where = f" (init container {', '.join(inits[:2])}: the pod never starts)" if inits else ""
        if plugins:
            what = f"the application fails to exec {', '.join(plugins[:2])} (exec format error inside the app)"
        elif not dep.empty:
            what = f"a dependency it needs does not answer: {str(dep['text'][0])[:200]}"
        elif not usage.empty:
            what = f"the command line is rejected (bad args or command): {str(usage['text'][0])[:160]}"
        elif not sigs.empty:
            # a Java chain (Spring Boot's `Application run failed`, a stack trace) names its reason in
            # the last `Caused by:`, the innermost exception
            caused = [t for t in sigs["text"] if not is_na(t) and "Caused by:" in str(t)]
            line = str(caused[-1] if caused else sigs["text"][0]).strip()
            what = f"the application crashes: {line[:200]}"
        else:
            codes = sorted({int(x) for x in groups.values(i, "exit_code") if not is_na(x)} - {0})
            what = (
                "the job's container exits with an error"
                if w.kind in ("Job", "CronJob")
                else "the application exits with an error"
            ) + (f" (exit code {', '.join(map(str, codes[:3]))})" if codes else "")
        f = new_finding(
            CAUSE,
            w,
            cand,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.95), 2),
            summary=f"{w}: {what}{where}",
            facts=groups.facts(i),
        )
        f.restart_matrix = groups.restart_matrix(i)
        f.evidence.extend(sig_evidence(sigs))
        f.evidence.extend(group_evidence(groups, i, partial(_text, said=said)))
        last = groups.records([int(groups.positions[i][-1])])[0]
        if sigs.empty:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no crash line (panic, traceback, fatal) in the logs of the failing containers",
                    why="the application's last words would say why it exits; the exit code alone does not",
                    how=logs_cmd(str(last.namespace), str(last.pod), str(last.container), previous=has_previous(last)),
                )
            )
        f.missing_evidence.extend(missing_logs(ctx, cand, lacking))
        if unknown_arch and sigs.empty:
            refs = sorted({str(v) for v in groups.values(i, "image") if not is_na(v)})[:3]
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"no image inspection for {', '.join(refs)} in a cluster of several architectures",
                    why="a silent architecture mismatch cannot be ruled out without the image's platforms",
                    how="collectors/inspect-images DUMP",
                )
            )
        r0 = groups.records([groups.last_row(i)])[0]
        if not dep.empty:
            f.remediation.append(
                Remediation(
                    title="Check the dependency named in the error (database, service, API) is up and reachable from "
                    "the pod: its Service and endpoints, DNS, NetworkPolicy, credentials; the image is not at fault",
                    command=f"kubectl -n {q(w.namespace)} get svc,endpoints\n"
                    f"kubectl -n {q(w.namespace)} exec {q(str(r0.pod))} -- sh -c 'nc -vz <host> <port>'",
                    kind="investigate",
                )
            )
        archs = sorted({str(v) for v in groups.values(i, "node_arch") if not is_na(v)})
        f.remediation.extend(
            _remedies(
                w,
                r0,
                archs,
                plugins,
                usage=not usage.empty,
                logged_previous=any(k in ctx.previous_log_keys for k in keys),
            )
        )
        out.append(f)
    out.extend(
        ghost_findings(
            ctx,
            CAUSE,
            ghost_by_reason(ctx, ("BackOff",), "restarting failed container", 5),
            "its containers crash-loop (BackOff restarting failed container)",
        )
    )
    return out


def _exec_targets(texts: list[str]) -> list[str]:
    out = []
    for t in texts:
        for m in _FORK_EXEC.finditer(t):
            out.append(m.group(1) or m.group(2))
    return list(dict.fromkeys(out))


def _text(r: Any, said: dict[tuple[str, str, str, str], str] | None = None) -> str:
    reason = "unknown" if pd.isna(r.reason) else r.reason
    code = "?" if pd.isna(r.exit_code) else int(r.exit_code)
    wait = "" if pd.isna(r.waiting_reason) else f", now {r.waiting_reason}"
    msg = (said or {}).get((str(r.snapshot), str(r.namespace), str(r.pod), str(r.container)))
    told = f"; termination message: {msg.strip()[:300]}" if msg else ""
    return f"terminated: reason {reason}, exit code {code}, restartCount {r.restart_count}{wait}{told}"


def _true(v: Any) -> bool:
    return not is_na(v) and bool(v)


def _remedies(
    w: Any, r: Any, archs: list[str], plugins: list[str], *, usage: bool = False, logged_previous: bool = False
) -> list[Remediation]:
    """Remediation naming the workload's most recent row `r`; `archs` are its node architectures."""
    ns, pod, c = str(r.namespace), str(r.pod), str(r.container)
    out = []
    if usage:
        spec = pod_spec_path(w)
        path = (
            "{"
            + f'{spec}.containers[?(@.name=="{c}")].command}}{{"\\n"}}'
            + "{"
            + f'{spec}.containers[?(@.name=="{c}")].args}}'
        )
        out.append(
            Remediation(
                title=f"Fix the command/args of container {c} in {w}: the binary rejects them (unknown "
                f"command or flag)",
                command=f"kubectl -n {q(ns)} get {resource(w)} {q(w.name)} -o jsonpath={q(path)}\n"
                f"kubectl -n {q(ns)} edit {resource(w)} {q(w.name)}   # correct spec.containers[].args",
                kind="config",
            )
        )
    if not logged_previous:
        prev = has_previous(r)
        out.append(
            Remediation(
                title=f"Read the crash in the {'previous ' if prev else ''}log of "
                f"{pod}{'/' + c if container_known(c) else ''}",
                command=logs_cmd(ns, pod, c, previous=prev),
                kind="investigate",
            )
        )
    if plugins:
        out.append(
            Remediation(
                title=f"Ship {plugins[0]} built for the node architecture ({', '.join(archs) or 'the node arch'}); "
                "the image itself runs, the binary it executes does not",
                command=f"kubectl -n {q(ns)} cp{container_flag(c)} {q(pod + ':' + plugins[0])} ./plugin "
                "&& file ./plugin",
                kind="rebuild",
            )
        )
    if usage:
        return out
    out.append(
        Remediation(
            title="Check the configuration and environment the application starts with",
            command=f"kubectl -n {q(ns)} get {resource(w)} {q(w.name)} -o yaml",
            kind="investigate",
        )
    )
    return out
