"""volume-mount: a pod that never starts because a volume cannot be attached or mounted (hostPath
type check, attach failure, mount timeout, unbound claim); a missing ConfigMap volume is not it,
nor a pod that is running."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.volume_mount import CAUSE, find
from tests.rules.builders import causes, context, ctr, event, only, pod, unscheduled, waiting

POD = "collector-x7k2p"
HOSTPATH = (
    'MountVolume.SetUp failed for volume "host" : hostPath type check failed: /var/lib/collectd is not a directory'
)
TIMEOUT = (
    "Unable to attach or mount volumes: unmounted volumes=[host], unattached volumes=[host "
    "kube-api-access-xddvj]: timed out waiting for the condition"
)


def _creating(tmp_path: Path, events: list[dict], *, state: dict | None = None, phase: str = "Pending") -> Context:
    st = state if state is not None else waiting("ContainerCreating")
    return context(
        tmp_path,
        pods=[pod(POD, owner="DaemonSet/collector", phase=phase, containers=[ctr("copy", state=st)])],
        events=events,
    )


def failing_example(tmp_path: Path) -> Context:
    # the kubelet's real messages, from replicatedhq/troubleshoot's analyzer fixtures
    return _creating(
        tmp_path, [event(POD, "FailedMount", HOSTPATH, count=178), event(POD, "FailedMount", TIMEOUT, count=40, seq=1)]
    )


def test_a_hostpath_that_is_not_a_directory(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and str(f.workload) == "DaemonSet shop/collector" and f.severity == "high"
    assert "/var/lib/collectd is not a directory" in f.summary and f.confidence >= 0.9
    assert any(e.kind == "event" and "(x178)" in e.text for e in f.evidence)
    for r in f.remediation:
        for line in r.command.splitlines():
            if not line.startswith("#"):
                shlex.split(line)
    assert not {"missing-config", "app-crash", "unschedulable"} & set(causes(ctx))


def test_a_mount_timeout_and_an_unbound_claim(tmp_path: Path) -> None:
    f = only(find(_creating(tmp_path / "t", [event(POD, "FailedMount", TIMEOUT, count=3)])))
    assert "host" in f.summary
    ctx = context(
        tmp_path / "p",
        pods=[
            pod(
                "db-0",
                owner="StatefulSet/db",
                node=None,
                containers=[ctr("db")],
                conditions=unscheduled("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
            )
        ],
    )
    f = only(find(ctx))
    assert "PersistentVolumeClaim" in f.summary and any("get pvc" in r.command for r in f.remediation)


def test_missing_configmap_volume_or_running_pod_is_not_it(tmp_path: Path) -> None:
    cm = 'MountVolume.SetUp failed for volume "cfg" : configmap "app-settings" not found'
    assert find(_creating(tmp_path / "c", [event(POD, "FailedMount", cm, count=5)])) == []
    ran = _creating(
        tmp_path / "r",
        [event(POD, "FailedMount", HOSTPATH, count=2)],
        state={"running": {"startedAt": "2026-11-22T04:50:00Z"}},
        phase="Running",
    )
    assert find(ran) == []
