"""command-not-found: the real troubleshoot pods (ContainerCannotRun, exit 127, `executable file not
found`), containerd's StartError 128, a shell's `not found`; never an arch cause or app-crash; exit
127 alone is not evidence."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.command_not_found import CAUSE, find, missing_executables
from tests.rules.builders import causes, context, crashloop, ctr, node, only, pod, realdata_items, terminated

POD = "web-6d4cf56db6-abcde"
START_ERROR = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
    'failed: unable to start container process: exec: "/app/server": stat /app/server: no such file or '
    "directory: unknown"
)


def failing_example(tmp_path: Path) -> Context:
    """The real troubleshoot init-container pod (RunContainerError, ContainerCannotRun 127) and its events."""
    return context(
        tmp_path,
        pods=realdata_items("troubleshoot", "pods-message-pod-init-crashloop-backoff.json"),
        events=realdata_items("troubleshoot", "events-message-pod-init-crashloop-backoff.json"),
    )


def test_real_container_cannot_run_127(tmp_path: Path) -> None:
    ctx = context(tmp_path, pods=realdata_items("troubleshoot", "pods-message-pod-crashloop-backoff.json"))
    f = only(find(ctx))
    assert f.cause == CAUSE and str(f.workload) == "Pod message-pod-crashloop-backoff/init-demo"
    assert f.confidence >= 0.9
    assert "`wge`" in f.summary and "not an architecture mismatch" in f.summary
    assert any(e.kind == "pod" and "ContainerCannotRun, exit code 127" in e.text for e in f.evidence)
    assert any(
        e.kind == "last-terminated-message" and 'exec: "wge": executable file not found' in e.text for e in f.evidence
    )
    check = next(r for r in f.remediation if "docker run" in r.command)
    assert shlex.split(check.command) == [
        "docker",
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        "nginx",
        "-c",
        "command -v wge",
    ]
    assert set(causes(ctx)) == {CAUSE}


def test_real_init_container_run_container_error_with_events(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.containers == ["init-demo2/install"] and f.confidence >= 0.9
    assert any(
        e.kind == "event" and e.object == "Event Failed on Pod message-pod-init-crashloop-backoff/init-demo2"
        for e in f.evidence
    )
    assert not [m for m in f.missing_evidence if "events" in m.what]
    # the fixture's events also tell of `init-demo`, a pod that is gone (an app-crash known from events only)
    assert not [
        c
        for c, ws in causes(ctx).items()
        if (c.startswith("arch.") or c == "app-crash") and any("init-demo2" in w for w in ws)
    ]


def test_containerd_start_error_128_on_an_arm_node_is_not_arch(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-a", "arm64"), node("node-b", "amd64")],
        pods=[
            pod(POD, containers=[ctr(state=crashloop(), restarts=3, last=terminated("StartError", 128, START_ERROR))])
        ],
    )
    f = only(find(ctx))
    assert "`/app/server`" in f.summary and f.confidence >= 0.9
    assert set(causes(ctx)) == {CAUSE}


def test_shell_not_found_in_the_log(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=crashloop(), restarts=3, last=terminated("Error", 127))])],
        previous_logs={("shop", POD, "app"): "+ wge -q http://config/app.yaml\n/bin/sh: 1: wge: not found\n"},
    )
    f = only(find(ctx))
    assert 0.6 <= f.confidence < 0.9 and "`wge`" in f.summary
    assert any(m.what == "no events in the dump" for m in f.missing_evidence)


def test_exit_127_alone_is_not_evidence(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod(POD, containers=[ctr(state=crashloop(), restarts=3, last=terminated("Error", 127))])],
        previous_logs={("shop", POD, "app"): "bye\n"},
    )
    assert find(ctx) == []


def test_missing_executables_parses_runtime_and_shell_wordings() -> None:
    assert missing_executables(
        [
            'exec: "wge": executable file not found in $PATH: unknown',
            "executable file `/bin/zsh` not found in $PATH: No such file or directory",
            "/bin/bash: line 1: curl: command not found",
        ]
    ) == ["wge", "/bin/zsh", "curl"]
