"""app-crash: found from a crash line; the trap of an application exec'ing a foreign binary while
its image matches the node; silent wherever a more specific cause explains the container."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.analysis.correlate import Context
from forensics.analysis.rules.app_crash import CAUSE, find
from tests.rules.arch_scenario import single_manifest
from tests.rules.builders import (
    IMAGE,
    causes,
    context,
    crashloop,
    ctr,
    event,
    node,
    only,
    pod,
    running,
    terminated,
    waiting,
)

POD = "web-6d4cf56db6-abcde"
PANIC = "panic: runtime error: invalid memory address or nil pointer dereference"
FORK_EXEC = 'level=error msg="plugin failed" error="fork/exec /plugins/aws-x86: exec format error"'
RUNC_EXEC = "exec /usr/local/bin/web: exec format error"  # runc >= 1.1, from the real error strings


def _crashing(tmp_path: Path, log: str | None, **kw: object) -> Context:
    return context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=crashloop(), last=terminated("Error", 2), restarts=9)])],
        previous_logs={("shop", POD, "app"): log} if log else None,
        **kw,
    )  # type: ignore[arg-type]


def failing_example(tmp_path: Path) -> Context:
    return _crashing(tmp_path, "starting web 1.4\n" + PANIC + "\ngoroutine 1 [running]:\n", events=[])


def test_found_from_a_crash_line(tmp_path: Path) -> None:
    f = only(find(failing_example(tmp_path)))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/web" and f.severity == "high"
    assert f.confidence >= 0.8
    log = [e for e in f.evidence if e.kind == "log"]
    assert [(e.text, e.line) for e in log] == [(PANIC, 2)]
    assert any(e.kind == "pod" and "exit code 2" in e.text for e in f.evidence)
    # the previous log is in the dump already: never ask for it again (#13)
    assert not any("--previous" in r.command for r in f.remediation)
    assert not any("--previous" in m.how for m in f.missing_evidence)
    assert PANIC[:40] in f.summary


def test_asks_for_the_previous_log_only_when_the_dump_lacks_it(tmp_path: Path) -> None:
    f = only(find(_crashing(tmp_path, None, events=[])))
    assert any(r.command == f"kubectl -n shop logs {POD} -c app --previous" for r in f.remediation)


def test_a_failed_job_pod_that_never_restarted_is_read_without_previous(tmp_path: Path) -> None:
    """A Job's pod (restartPolicy Never) keeps its one terminated container as the current one:
    `logs --previous` would only get kubectl's "previous terminated container ... not found"."""
    job_pod = pod(
        "report-28566720-t22qj",
        owner="Job/report-28566720",
        phase="Failed",
        containers=[ctr(state=terminated("Error", 3), ready=False, restarts=0)],
    )
    f = only(find(context(tmp_path, pods=[job_pod], events=[])))
    cmds = [r.command for r in f.remediation] + [m.how for m in f.missing_evidence]
    assert "kubectl -n shop logs report-28566720-t22qj -c app" in cmds
    assert not [c for c in cmds if "--previous" in c]


def test_a_command_line_usage_error_points_at_the_args(tmp_path: Path) -> None:
    usage = 'Error: unknown command "server-junk" for "velero"\nRun \'velero --help\' for usage.\n'
    f = only(find(_crashing(tmp_path, usage, events=[])))
    assert "command line is rejected" in f.summary and "server-junk" in f.summary
    assert f.remediation[0].kind == "config" and "args" in f.remediation[0].command
    assert not any("--previous" in r.command for r in f.remediation)


def test_app_exec_of_a_foreign_binary_is_app_crash_when_the_image_matches(tmp_path: Path) -> None:
    """`fork/exec ...: exec format error` is the app's own exec: with an amd64 image on an amd64
    node it is app-crash, and no architecture cause claims it."""
    ctx = _crashing(tmp_path, "loading plugins\n" + FORK_EXEC + "\n", images={IMAGE: single_manifest("amd64")})
    assert bool(ctx.placement["supported"].iloc[0]) is True
    f = only(find(ctx))
    assert f.confidence >= 0.85 and "/plugins/aws-x86" in f.summary
    assert any(r.kind == "rebuild" and "/plugins/aws-x86" in r.title for r in f.remediation)
    found = causes(ctx)
    assert found.get(CAUSE) == {"Deployment shop/web"}
    assert not [c for c in found if c.startswith("arch.")]


def test_app_exec_without_image_inspection_is_app_crash_with_less_confidence(tmp_path: Path) -> None:
    f = only(find(_crashing(tmp_path, FORK_EXEC + "\n")))
    assert 0.7 <= f.confidence < 0.85


def test_runtime_exec_format_error_belongs_to_the_arch_rules(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-a", "arm64"), node("node-b", "amd64")],
        pods=[pod(POD, containers=[ctr(state=crashloop(), last=terminated("Error", 255), restarts=9)])],
        previous_logs={("shop", POD, "app"): RUNC_EXEC + "\n"},
    )
    assert find(ctx) == []
    assert [c for c in causes(ctx) if c.startswith("arch.")]


def test_image_known_not_to_run_on_the_node_is_not_app_crash(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-a", "arm64")],
        images={IMAGE: single_manifest("amd64")},
        pods=[pod(POD, containers=[ctr(state=crashloop(), last=terminated("Error", 1), restarts=9)])],
    )
    assert find(ctx) == []


@pytest.mark.parametrize(
    "c",
    [
        ctr(state=crashloop(), last=terminated("OOMKilled", 137), restarts=3),
        ctr(state=waiting("CreateContainerConfigError", 'configmap "web-config" not found')),
        ctr(
            state=waiting(
                "ErrImagePull",
                "rpc error: code = NotFound desc = failed to pull and unpack image "
                f'"{IMAGE}": failed to resolve reference "{IMAGE}": {IMAGE}: not found',
            )
        ),
        ctr(state=waiting("ImagePullBackOff", f'Back-off pulling image "{IMAGE}"')),
        ctr(
            state=crashloop(),
            restarts=4,
            last=terminated(
                "StartError",
                128,
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                'runc create failed: unable to start container process: exec: "web": executable file not found in $PATH: '
                "unknown",
            ),
        ),
    ],
    ids=["oom", "config", "pull-not-found", "pull-backoff", "command-not-found"],
)
def test_silent_where_a_specific_cause_explains_the_container(tmp_path: Path, c: dict) -> None:
    assert find(context(tmp_path, pods=[pod(POD, containers=[c])])) == []


def test_silent_for_probe_kills(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=running(), last=terminated("Error", 137), restarts=5, liveness=True)])],
        events=[
            event(
                POD, "Killing", "Container app failed liveness probe, will be restarted", container="app", type="Normal"
            )
        ],
    )
    assert find(ctx) == []


def test_healthy_and_completed_are_not_crashes(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=running(), ready=True, last=terminated("Completed", 0), restarts=1)])],
        logs={("shop", POD, "app"): PANIC + " (handled, request aborted)\n"},
    )
    assert find(ctx) == []


def test_no_crash_line_and_no_logs_lowers_confidence_and_says_what_is_missing(tmp_path: Path) -> None:
    with_log = only(find(_crashing(tmp_path / "a", "listening on :8080\nshutting down\n")))
    no_log = only(find(_crashing(tmp_path / "b", None)))
    assert 0.5 <= with_log.confidence < 0.8 and no_log.confidence < with_log.confidence
    missing = " | ".join(m.what for m in no_log.missing_evidence)
    assert "no crash line" in missing and f"no logs for {POD}/app" in missing


def test_mixed_cluster_without_inspection_or_logs_cannot_rule_out_arch(tmp_path: Path) -> None:
    ctx = _crashing(tmp_path, None, nodes=[node("node-a", "amd64"), node("node-b", "arm64")])
    f = only(find(ctx))
    assert f.confidence <= 0.3
    assert any("no image inspection" in m.what and IMAGE in m.what for m in f.missing_evidence)


def test_a_java_chain_is_summarized_by_its_innermost_cause(tmp_path: Path) -> None:
    """Spring Boot logs `Application run failed`, then the chain; the reason is the last `Caused by:`
    (wording from the kubectl-text fixtures' sources, tests/fixtures/kubectl-text/SOURCES.md)."""
    log = (
        "2024-06-03 10:20:13.902 ERROR 1 --- [           main] o.s.boot.SpringApplication               : "
        "Application run failed\n"
        "org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource'\n"
        "Caused by: org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection\n"
        "Caused by: java.sql.SQLException: Access denied for user 'api'@'10.0.3.17' (using password: YES)\n"
    )
    f = only(find(_crashing(tmp_path, log, events=[])))
    assert "java.sql.SQLException: Access denied" in f.summary and "Application run failed" not in f.summary
    assert any("Application run failed" in e.text for e in f.evidence if e.kind == "log")
