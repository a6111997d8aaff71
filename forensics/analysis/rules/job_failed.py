"""job-failed: a Job failed and its pods are gone from the dump, so only the Job itself says so.
The job controller marks a Job `Failed` when its pods failed more often than `backoffLimit`
(`BackoffLimitExceeded: Job has reached the specified backoff limit`), when it ran past
`activeDeadlineSeconds` (`DeadlineExceeded: Job was active longer than specified deadline`), or by a
`podFailurePolicy` rule; it posts the same reason as an event about the Job. `ttlSecondsAfterFinished`,
a CronJob's `failedJobsHistoryLimit` or a manual cleanup then deletes the pods, and with them their
exit codes and logs.

Proof: the Job's `Failed` condition True (its reason, message and transition time), else the job
controller's `BackoffLimitExceeded` / `DeadlineExceeded` event about it; and no pod of the Job in the
dump. Nothing in the dump says *why* the pods failed, so the finding names no root cause: it says what
is known, what is missing and how to keep it next time. A Job whose pods are in the dump is judged by
its pods (their own causes); a Job that failed longer ago than the failing-now window is history. A
CronJob's Job is reported as the CronJob.
"""

from __future__ import annotations

from typing import Any

from forensics.analysis.correlate import Context, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload
from forensics.analysis.rules import rule
from forensics.analysis.rules._restart import q
from forensics.values import iso_z

CAUSE = "job-failed"
TITLE = "Job failed, its pods gone"
SPECIFICITY = 15

_MEANS = {
    "BackoffLimitExceeded": "its pods failed more times than its backoffLimit allows",
    "DeadlineExceeded": "it ran longer than its activeDeadlineSeconds",
    "PodFailurePolicy": "a pod failure matched a podFailurePolicy rule that fails the Job",
    "FailedIndexes": "some of its indexes failed",
    "MaxFailedIndexesExceeded": "more indexes failed than its maxFailedIndexes allows",
}


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    jobs = ctx.failed_jobs
    if jobs.empty:
        return []
    out: list[Finding] = []
    # the failed Jobs' rows read once, grouped by workload in key order (as a sorted group-by, rows with
    # a missing key left out); each group's rows by time, missing times first, ties in row order
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in jobs.to_dict("records"):
        key = (r["workload_kind"], r["namespace"], r["workload_name"])
        if not any(is_na(k) for k in key):
            groups.setdefault(tuple(str(k) for k in key), []).append(r)  # type: ignore[arg-type]
    for (kind, ns, name), group in sorted(groups.items()):
        w = Workload(kind, ns, name)
        rows = sorted(group, key=lambda r: (0, 0) if is_na(r["at"]) else (1, r["at"]))
        last = rows[-1]
        reason = str(last["reason"])
        message = "" if is_na(last["message"]) else str(last["message"])
        at = None if is_na(last["at"]) else iso_z(last["at"])
        names = [str(r["job"]) for r in rows]
        times = [r["at"] for r in rows if not is_na(r["at"])]
        what = _MEANS.get(reason)
        f = Finding(
            cause=CAUSE,
            severity="medium",
            confidence=0.6 if any(_from_condition(r) for r in rows) else 0.5,
            workload=w,
            summary=f"{w}: Job {names[-1]} failed"
            + (f" at {at}" if at else "")
            + f" ({reason}"
            + (f": {message[:200]}" if message else "")
            + ")"
            + (f": {what}" if what else "")
            + (f"; {len(names)} failed Jobs" if len(names) > 1 else "")
            + "; its pods are gone from the dump, so why they failed is unknown",
            first_seen=iso_z(min(times)) if times else None,
            last_seen=at,
        )
        f.evidence.extend(
            Evidence(
                kind="workload" if _from_condition(r) else "event",
                file=str(r["file"]),
                object=f"Job {ns}/{r['job']}" if _from_condition(r) else f"Event {r['reason']} on Job {ns}/{r['job']}",
                text=(f"condition Failed=True, reason {r['reason']}" if _from_condition(r) else str(r["reason"]))
                + ("" if is_na(r["message"]) else f": {r['message']}")
                + ("" if is_na(r["at"]) else f" (at {iso_z(r['at'])})"),
                snapshot=str(r["snapshot"]),
            )
            for r in rows[-10:]
        )
        job = names[-1]
        f.missing_evidence.append(
            MissingEvidence(
                what=f"no pod of Job {job} in the dump (deleted by ttlSecondsAfterFinished, the CronJob's history "
                "limit or a cleanup): their exit codes, termination messages and logs are gone",
                why="they say why the pods failed; without them no cause can be named",
                how="collect before the Job's pods are deleted: "
                f"kubectl -n {q(ns)} get pods -l job-name={job} -o yaml; "
                f"kubectl -n {q(ns)} logs job/{job} --all-containers; raise ttlSecondsAfterFinished "
                "(or failedJobsHistoryLimit) so the next failure keeps them",
            )
        )
        f.remediation.extend(_remedies(w, job, reason))
        out.append(f)
    return out


def _from_condition(r: dict[str, Any]) -> bool:
    return not is_na(r["from"]) and r["from"] == "condition"


def _remedies(w: Workload, job: str, reason: str) -> list[Remediation]:
    ns = q(w.namespace)
    out = [
        Remediation(
            title=f"Read Job {job}'s conditions and events, and whether any of its pods is left",
            command=f"kubectl -n {ns} describe job {q(job)}\n"
            f"kubectl -n {ns} get pods -l job-name={job} -o wide\n"
            f"kubectl -n {ns} get events --field-selector involvedObject.name={job}",
            kind="investigate",
        )
    ]
    if w.kind == "CronJob":
        out.append(
            Remediation(
                title=f"Run CronJob {w.name} once now and keep its pods to see why they fail",
                command=f"kubectl -n {ns} create job {q(w.name + '-debug')} --from=cronjob/{q(w.name)}\n"
                f"kubectl -n {ns} logs -f job/{q(w.name + '-debug')} --all-containers",
                kind="investigate",
            )
        )
    if reason == "DeadlineExceeded":
        out.append(
            Remediation(
                title="If the work is slow rather than stuck, give the Job a longer activeDeadlineSeconds",
                command=f"kubectl -n {ns} get job {q(job)} -o jsonpath='{{.spec.activeDeadlineSeconds}}'",
                kind="config",
            )
        )
    return out
