"""Wordings that tickets carry (tests/fixtures/kubectl-text/SOURCES.md says where each line was seen)."""

from __future__ import annotations

import pytest

from forensics.knowledge.signatures import scan_text

REAL = [
    # runc through Docker/containerd: the memory cgroup killed the container's init while it started
    (
        (
            "CannotStartContainerError: Error response from daemon: OCI runtime create failed: container_linux.go:380: "
            "starting container process caused: container init was OOM-killed (memory limit too low?): unknown"
        ),
        "oom",
        "oom",
    ),
    # DNS failing during a pull: a network problem, not a missing tag
    (
        (
            "v2 ping attempt failed with error: Get https://gcr.io/v2/: dial tcp: lookup gcr.io: Temporary failure in "
            "name resolution"
        ),
        "pull-network",
        "image-pull-network",
    ),
    (
        (
            'Failed to pull image "hjacobs/kube-ops-view:0.8.1": rpc error: code = Unknown desc = Error response from '
            "daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: "
            "server misbehaving"
        ),
        "pull-network",
        "image-pull-network",
    ),
    # Spring: the root cause line of a failed start-up
    (
        (
            "Caused by: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'liquibase' "
            "defined in file [/application/BOOT-INF/classes/com/faendir/acra/liquibase/ChangeAwareSpringLiquibase.class]: "
            "Invocation of init method failed; nested exception is liquibase.exception.DatabaseException: "
            "java.sql.SQLException: Access denied for user 'acrarium'@'172.21.0.3' (using password: YES)"
        ),
        "java-exception",
        "app-crash",
    ),
]


@pytest.mark.parametrize(("line", "signature", "hint"), REAL)
def test_real_lines(line: str, signature: str, hint: str) -> None:
    (m,) = scan_text(line)
    assert (m.signature, m.hint) == (signature, hint)


def test_spring_boot_failure_line() -> None:
    (m,) = scan_text("2024-06-03 10:20:13.902 ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed")
    assert (m.signature, m.dialect, m.hint) == ("spring-boot-failed", "spring-boot", "app-crash")


def test_name_resolution_outside_a_pull_is_not_a_pull_error() -> None:
    """The application's own DNS trouble is not an image pull failure."""
    assert not [
        m
        for m in scan_text("ERROR could not reach db.internal: Temporary failure in name resolution")
        if m.hint.startswith("image-pull")
    ]


def test_oom_killed_init_wins_over_the_generic_runtime_start_failure() -> None:
    line = (
        "Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc "
        "create failed: unable to start container process: container init was OOM-killed (memory limit too low?)"
        ": unknown"
    )
    (m,) = scan_text(line)
    assert m.hint == "oom"
