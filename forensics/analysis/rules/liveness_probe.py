"""liveness-probe: the kubelet killed a container because its liveness (or startup) probe failed:
the endpoint is slow under load, the probe's timeout or initialDelaySeconds is too short for the
start-up, the port or path is wrong. Symptom: restarts with exit code 137 or 143 (SIGKILL/SIGTERM
from the kubelet) and nothing wrong in the log; events `Unhealthy` `Liveness probe failed: HTTP
probe failed with statuscode: 500` and `Killing` `Container app failed liveness probe, will be
restarted`.

Proof: those events (or the same text elsewhere) for a container that restarted. The `Killing`
event is the kubelet saying it restarted the container for the probe; `Unhealthy` alone says the
probe failed, which restarts only after failureThreshold failures. Readiness probes never restart
a container and are not this cause. Events expire after an hour, so an old probe kill may leave
only exit codes, which are not evidence by themselves.
"""

from __future__ import annotations

import json
from typing import Any

from forensics.analysis.correlate import Context, Rows, is_na, restarts_once
from forensics.analysis.findings import Finding, MissingEvidence, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, missing_logs, new_finding, restart_matrix, sig_evidence
from forensics.analysis.rules._restart import (
    first_row,
    ghost_by_reason,
    ghost_findings,
    logs_cmd,
    marks,
    missing_events,
    q,
    resource,
    severity,
    sigs_by_workload,
    texts,
)

CAUSE = "liveness-probe"
TITLE = "Liveness probe failures"
SPECIFICITY = 40
HINTS = ("probe",)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    restarted = (p["restart_count"].fillna(0) > 0).to_numpy(dtype=bool)
    cand = p[p["probe_sig"] & (restarted | p["failing_b"])]
    sigs_of = sigs_by_workload(ctx, cand, ("probe",))
    out: list[Finding] = []
    groups = by_workload(cand)
    has_probe = groups.flag("has_liveness_probe")
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = sigs_of(w)
        sigs = sigs.keep([not is_na(d) and d in ("liveness", "startup") for d in sigs["dialect"]])
        restarts = restarts_once(rows)
        killed = any("will be restarted" in t for t in texts(sigs))
        configured = rows.any(has_probe)
        kill_code = any(not is_na(c) and c in (137, 143) for c in rows["exit_code"])
        conf = (0.7 if killed else 0.55) + (0.1 if configured else 0.0) + (0.1 if kill_code else 0.0)
        kind = "startup" if all(d == "startup" for d in sigs["dialect"]) else "liveness"
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w}: the kubelet restarts {rows.nunique('container')} container(s) because "
            f"their {kind} probe fails ({restarts} restarts)",
        )
        f.restart_matrix = restart_matrix(rows)
        f.evidence.extend(sig_evidence(sigs))
        if not killed:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no `Killing ... failed liveness probe, will be restarted` event",
                    why="it would confirm the kubelet, not the application, ended the container",
                    how=f"kubectl -n {q(w.namespace)} get events --field-selector reason=Killing",
                )
            )
        f.missing_evidence.extend(missing_logs(ctx, rows))
        f.missing_evidence.extend(missing_events(ctx, rows, "the probe failures"))
        f.remediation.extend(_remedies(w, rows, kind))
        out.append(f)
    out.extend(
        ghost_findings(
            ctx,
            CAUSE,
            ghost_by_reason(ctx, ("Unhealthy", "Killing"), "iveness probe", 3),
            "the kubelet kills it for failing its liveness probe",
        )
    )
    return out


def _remedies(w: Any, rows: Rows, kind: str) -> list[Remediation]:
    r = first_row(rows)
    c = str(r.container)
    field = "startupProbe" if kind == "startup" else "livenessProbe"
    probe = {field: {"initialDelaySeconds": 30, "timeoutSeconds": 5, "failureThreshold": 6}}
    out = [
        Remediation(
            title="Read the application's log up to the kill: was it slow, or down?",
            command=logs_cmd(str(r.namespace), str(r.pod), c),
            kind="investigate",
        )
    ]
    if w.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        patch = {"spec": {"template": {"spec": {"containers": [{"name": c, **probe}]}}}}
        out.append(
            Remediation(
                title=f"Check the probe's path and port, then give container {c} more time "
                "(or add a startupProbe for slow starts)",
                command=f"kubectl -n {q(w.namespace)} get {resource(w)} {q(w.name)} -o "
                f"jsonpath={q('{.spec.template.spec.containers[*].' + field + '}')}\n"
                f"kubectl -n {q(w.namespace)} patch {resource(w)} {q(w.name)} -p {q(json.dumps(patch))}",
                kind="config",
            )
        )
    else:
        out.append(
            Remediation(
                title=f"Check the {field} of container {c} (path, port, timeouts) in the manifest",
                command=f"kubectl -n {q(w.namespace)} get pod {q(str(r.pod))} -o yaml",
                kind="config",
            )
        )
    return out
