"""job-failed: a Job whose pods are gone is seen failed from its own condition or the job controller's
event, says what is known and missing without naming a root cause, and is history once old."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from forensics.analysis.analyze import link, merge, split_history
from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import run_all
from forensics.analysis.rules.job_failed import CAUSE, find
from tests.rules.builders import SNAP, ctr, event, load, node, only, pod, running, terminated, write_dump

BACKOFF = "Job has reached the specified backoff limit"
DEADLINE = "Job was active longer than specified deadline"


def job(
    name: str,
    *,
    failed: tuple[str, str, str] | None = None,
    cronjob: str | None = None,
    ns: str = "batch",
) -> dict[str, Any]:
    """A batch/v1 Job; `failed` is its Failed condition (reason, message, lastTransitionTime)."""
    md: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{name}",
        "creationTimestamp": "2026-11-22T04:00:00Z",
    }
    if cronjob:
        md["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob, "uid": f"uid-{cronjob}", "controller": True}
        ]
    conditions = []
    if failed:
        conditions.append(
            {
                "type": "Failed",
                "status": "True",
                "reason": failed[0],
                "message": failed[1],
                "lastProbeTime": failed[2],
                "lastTransitionTime": failed[2],
            }
        )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": md,
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 600,
            "template": {"spec": {"containers": [{"name": "migrate", "image": "registry.example/batch/migrate:2"}]}},
        },
        "status": {"conditions": conditions, "failed": 7, "startTime": "2026-11-22T04:00:00Z"},
    }


def cronjob(name: str, ns: str = "batch") -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {
            "schedule": "*/30 * * * *",
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "registry.example/batch/r:1"}]}}}
            },
        },
    }


def _ctx(tmp_path: Path, *, jobs: list[dict], pods: list[dict] | None = None, **kinds: list[dict]) -> Context:
    objs: dict[str, list[dict[str, Any]]] = {"nodes": [node()], "pods": pods or [], "jobs": jobs, **kinds}
    return load(write_dump(tmp_path / "dump", {SNAP: objs}))


def analyzed(ctx: Context) -> tuple[list[Finding], list[Finding]]:
    now, past = split_history(ctx, merge(run_all(ctx)))
    return link(now), past


def failing_example(tmp_path: Path) -> Context:
    return _ctx(
        tmp_path,
        jobs=[job("db-migrate", failed=("BackoffLimitExceeded", BACKOFF, "2026-11-22T04:40:00Z"))],
        pods=[pod("web-6d4cf56db6-bbbbb", ns="shop", containers=[ctr(state=running(), ready=True)])],
    )


def test_a_failed_job_without_pods_says_what_is_known_and_missing(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and str(f.workload) == "Job batch/db-migrate"
    assert "BackoffLimitExceeded: Job has reached the specified backoff limit" in f.summary
    assert "2026-11-22T04:40:00Z" in f.summary and f.last_seen == "2026-11-22T04:40:00Z"
    assert f.confidence <= 0.6  # no pod, no log: no root cause
    assert any(e.object == "Job batch/db-migrate" and "Failed=True" in e.text for e in f.evidence)
    assert any("ttlSecondsAfterFinished" in m.how and "job-name=db-migrate" in m.how for m in f.missing_evidence)
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]
    assert ["kubectl", "-n", "batch", "describe", "job", "db-migrate"] in cmds
    now, _ = analyzed(ctx)
    assert [g.cause for g in now if str(g.workload) == "Job batch/db-migrate"] == [CAUSE]


def test_the_job_controllers_event_alone_is_enough_and_a_cronjob_run_is_the_cronjob(tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        jobs=[],
        cronjobs=[cronjob("nightly-report")],
        events=[
            event(
                "nightly-report-29397570",
                "DeadlineExceeded",
                DEADLINE,
                ns="batch",
                kind="Job",
                component="job-controller",
            )
        ],
    )
    f = only(find(ctx))
    assert str(f.workload) == "CronJob batch/nightly-report" and "DeadlineExceeded" in f.summary
    assert f.confidence < 0.6
    assert any(e.kind == "event" and "nightly-report-29397570" in e.object for e in f.evidence)
    assert any("--from=cronjob/nightly-report" in r.command for r in f.remediation)
    assert any("activeDeadlineSeconds" in r.command for r in f.remediation)


def test_without_any_batch_object_the_controllers_job_name_names_the_cronjob(tmp_path: Path) -> None:
    """A cluster-info dump collects no Job or CronJob: the event's Job name, `<cronjob>-<minutes>`, is all
    there is, and it names the CronJob as the native dump does. Where Jobs are read and no such CronJob
    is among them, the Job keeps its own name."""
    failed = event(
        "nightly-report-29397570", "BackoffLimitExceeded", BACKOFF, ns="batch", kind="Job", component="job-controller"
    )
    f = only(find(_ctx(tmp_path / "bare", jobs=[], events=[failed])))
    assert str(f.workload) == "CronJob batch/nightly-report"
    g = only(find(_ctx(tmp_path / "jobs", jobs=[job("other")], events=[failed])))
    assert str(g.workload) == "Job batch/nightly-report-29397570"


def test_a_cronjobs_job_owned_by_it_is_named_as_the_cronjob(tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        jobs=[job("report-x", failed=("BackoffLimitExceeded", BACKOFF, "2026-11-22T04:50:00Z"), cronjob="report")],
        cronjobs=[cronjob("report")],
    )
    assert str(only(find(ctx)).workload) == "CronJob batch/report"


def test_a_job_whose_pods_are_in_the_dump_is_judged_by_its_pods(tmp_path: Path) -> None:
    failed_pod = pod(
        "db-migrate-x7k2p",
        ns="batch",
        owner="Job/db-migrate",
        phase="Failed",
        containers=[ctr("migrate", state=terminated("Error", 1), ready=False)],
    )
    ctx = _ctx(
        tmp_path,
        jobs=[job("db-migrate", failed=("BackoffLimitExceeded", BACKOFF, "2026-11-22T04:40:00Z"))],
        pods=[failed_pod],
    )
    assert find(ctx) == []


def test_a_job_that_failed_long_ago_is_history(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, jobs=[job("db-migrate", failed=("BackoffLimitExceeded", BACKOFF, "2026-11-20T04:40:00Z"))])
    assert only(find(ctx)).cause == CAUSE
    now, past = analyzed(ctx)
    assert not any(f.cause == CAUSE for f in now)
    assert [str(f.workload) for f in past if f.cause == CAUSE] == ["Job batch/db-migrate"]


def test_a_job_that_completed_or_runs_is_not_it(tmp_path: Path) -> None:
    done = job("db-migrate")
    done["status"]["conditions"] = [
        {"type": "Complete", "status": "True", "lastTransitionTime": "2026-11-22T04:40:00Z"}
    ]
    ctx = _ctx(tmp_path, jobs=[done, job("db-seed")])
    assert find(ctx) == []
