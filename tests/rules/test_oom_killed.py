"""oom-killed: found from the OOMKilled reason (with and without a log line), weakly from a log line
alone, not from exit code 137 alone; missing limit / logs are said."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from forensics.analysis.correlate import Context
from forensics.analysis.rules.oom_killed import CAUSE, find
from tests.rules.builders import (
    SNAP,
    SNAP2,
    context,
    crashloop,
    ctr,
    event,
    load,
    node,
    only,
    pod,
    running,
    terminated,
    write_dump,
)

POD = "web-6d4cf56db6-abcde"
JAVA_OOM = 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'


def failing_example(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        pods=[
            pod(
                POD,
                containers=[
                    ctr(state=crashloop(), last=terminated("OOMKilled", 137), restarts=6, memory_limit="256Mi")
                ],
            )
        ],
        previous_logs={("shop", POD, "app"): "loading cache\n" + JAVA_OOM + "\n"},
        events=[],
    )


def test_found_with_evidence_and_a_real_limit_in_the_command(tmp_path: Path) -> None:
    f = only(find(failing_example(tmp_path)))
    assert f.cause == CAUSE and (f.workload.kind, f.workload.namespace, f.workload.name) == (
        "Deployment",
        "shop",
        "web",
    )
    assert f.pods == [POD] and f.restarts == 6 and f.severity == "high"
    assert f.confidence >= 0.95
    status = [e for e in f.evidence if e.kind == "pod"]
    assert status and status[0].file == "snapshots/20261122T050000Z/pods.json"
    assert "OOMKilled" in status[0].text and "256Mi" in status[0].text
    log = [e for e in f.evidence if e.kind == "log"]
    assert log and log[0].text == JAVA_OOM and log[0].line == 2
    assert log[0].file.endswith(f"logs/shop/{POD}/app.previous.log")
    cmd = f.remediation[0].command
    assert shlex.split(cmd) == [
        "kubectl",
        "-n",
        "shop",
        "set",
        "resources",
        "deployment/web",
        "-c",
        "app",
        "--limits=memory=512Mi",
    ]
    assert "256Mi" in f.remediation[0].title
    assert not [m for m in f.missing_evidence if "memory limit" in m.what]


@pytest.mark.parametrize(
    ("last", "log", "lo", "hi"),
    [
        (terminated("OOMKilled", 137), JAVA_OOM, 0.95, 0.99),  # reason + exit 137 + memory line
        (terminated("OOMKilled", 137), None, 0.9, 0.94),  # reason + exit 137
        (terminated("Error", 1), JAVA_OOM, 0.5, 0.6),  # a memory line, no reason
        (terminated("Error", 137), "Killed", 0.35, 0.45),  # a bare `Killed` is weak
    ],
)
def test_confidence_follows_the_evidence(tmp_path: Path, last: dict, log: str | None, lo: float, hi: float) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=crashloop(), last=last, restarts=3)])],
        previous_logs={("shop", POD, "app"): log + "\n"} if log else None,
    )
    f = only(find(ctx))
    assert lo <= f.confidence <= hi


def test_exit_137_alone_is_not_oom(tmp_path: Path) -> None:
    """SIGKILL has other senders (probe kills, grace periods): no reason, no memory line, no finding."""
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=crashloop(), last=terminated("Error", 137), restarts=3)])],
        previous_logs={("shop", POD, "app"): "serving on :8080\n"},
    )
    assert find(ctx) == []


def test_healthy_pod_with_an_old_memory_line_is_not_a_finding(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=running())])],
        logs={("shop", POD, "app"): JAVA_OOM + " (recovered, cache shrunk)\n"},
    )
    assert find(ctx) == []


def test_missing_limit_logs_and_one_finding_per_workload(tmp_path: Path) -> None:
    pods = [
        pod(f"web-6d4cf56db6-{s}", containers=[ctr(state=crashloop(), last=terminated("OOMKilled", 137), restarts=2)])
        for s in ("aaaaa", "bbbbb")
    ]
    pods.append(pod("web-6d4cf56db6-ccccc", containers=[ctr(state=running(), ready=True)]))
    ctx = context(
        tmp_path,
        pods=pods,
        events=[
            event(
                "web-6d4cf56db6-aaaaa", "BackOff", "Back-off restarting failed container app in pod x", container="app"
            )
        ],
    )
    f = only(find(ctx))
    assert f.pods == ["web-6d4cf56db6-aaaaa", "web-6d4cf56db6-bbbbb"] and f.restarts == 4
    assert f.severity == "medium"  # one pod still serves
    missing = " | ".join(m.what for m in f.missing_evidence)
    assert "no memory limit" in missing and "no logs for" in missing
    assert "<NEW_LIMIT>" in f.remediation[0].command
    assert "(no memory limit set)" in f.summary  # the spec was seen: no limit is a fact
    assert " -c app " in f.remediation[0].command


def test_hostile_names_are_quoted_in_commands(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[
            pod(
                POD,
                containers=[
                    ctr(
                        "app;touch x",
                        state=crashloop(),
                        last=terminated("OOMKilled", 137),
                        restarts=1,
                        memory_limit="1Gi",
                    )
                ],
            )
        ],
    )
    f = only(find(ctx))
    argv = shlex.split(f.remediation[0].command)
    assert argv[argv.index("-c") + 1] == "app;touch x" and argv[-1] == "--limits=memory=2048Mi"


def test_restarts_are_counted_once_over_snapshots(tmp_path: Path) -> None:
    def snap(restarts: int) -> dict:
        c = ctr(state=crashloop(), last=terminated("OOMKilled", 137), restarts=restarts, memory_limit="256Mi")
        return {"nodes": [node()], "pods": [pod(POD, containers=[c])]}

    f = only(find(load(write_dump(tmp_path / "dump", {SNAP: snap(3), SNAP2: snap(5)}))))
    assert f.restarts == 5 and f.pods == [POD]
    assert len([e for e in f.evidence if e.kind == "pod"]) == 1  # one container, its last status


def test_a_job_is_recreated_not_set_resources(tmp_path: Path) -> None:
    """A Job's pod template is immutable (`kubectl set resources job/...` is refused): the remediation
    re-creates the Job with the raised limit, and reads the log without --previous (it never restarted)."""
    job_pod = pod(
        "eater-gbb89",
        owner="Job/eater",
        phase="Failed",
        containers=[ctr(state=terminated("OOMKilled", 137), ready=False, restarts=0, memory_limit="100Mi")],
    )
    f = only(find(context(tmp_path, pods=[job_pod], events=[])))
    assert str(f.workload) == "Job shop/eater"
    (raise_limit,) = [r for r in f.remediation if r.kind == "resources"]
    assert "set resources" not in raise_limit.command
    assert "replace --force" in raise_limit.command and "memory=256Mi" in raise_limit.command
    assert not [r for r in f.remediation if "--previous" in r.command]


def test_runc_oom_at_init_is_an_oom_as_sure_as_the_reason(tmp_path: Path) -> None:
    """runc >= 1.1.5 reports a container whose init the memory cgroup killed as a StartError (exit 128)
    with its own wording (tests/test_signatures_ticket_wordings.py has its source): an OOM, not a weak guess."""
    msg = (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
        "failed: unable to start container process: container init was OOM-killed (memory limit too low?): unknown"
    )
    p = pod(
        "web-6d4cf56db6-aaaaa",
        containers=[ctr(state=crashloop(), last=terminated("StartError", 128, msg), restarts=5, memory_limit="64Mi")],
    )
    f = only(find(context(tmp_path, pods=[p])))
    assert f.confidence >= 0.85 and "64Mi" in f.summary
