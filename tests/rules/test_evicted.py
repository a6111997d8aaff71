"""evicted: pods in phase Failed with reason Evicted and the kubelet's message; the resource drives
the remediation; app-crash stays silent on evicted pods."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.evicted import CAUSE, find
from tests.rules.builders import causes, context, ctr, event, only, pod, running, terminated

MEMORY = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 82148Ki. Container app was "
    "using 1349416Ki, request is 0, has larger consumption of memory. "
)
DISK = "The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1536Mi. "


def _evicted(name: str, message: str | None) -> dict:
    return pod(
        name,
        phase="Failed",
        reason="Evicted",
        message=message,
        containers=[ctr(state=terminated("Error", 137), ready=False)],
    )


def failing_example(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        pods=[
            _evicted("web-6d4cf56db6-aaaaa", MEMORY),
            pod("web-6d4cf56db6-bbbbb", node="node-b", containers=[ctr(ready=True)]),
        ],
        events=[event("web-6d4cf56db6-aaaaa", "Evicted", MEMORY)],
    )


def test_found_with_the_resource_and_real_names(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/web" and f.pods == ["web-6d4cf56db6-aaaaa"]
    assert f.severity == "medium"  # a replacement serves
    assert f.confidence >= 0.95 and "memory" in f.summary
    assert any(e.kind == "pod" and "reason Evicted" in e.text and "1349416Ki" in e.text for e in f.evidence)
    assert any(e.kind == "event" and e.object == "Event Evicted on Pod shop/web-6d4cf56db6-aaaaa" for e in f.evidence)
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]
    assert ["kubectl", "describe", "node", "node-a"] in cmds
    assert any(c[:6] == ["kubectl", "-n", "shop", "set", "resources", "deployment/web"] for c in cmds)
    assert "app-crash" not in causes(ctx)


def test_disk_pressure_asks_for_ephemeral_storage_bounds(tmp_path: Path) -> None:
    f = only(find(context(tmp_path, pods=[_evicted("web-6d4cf56db6-aaaaa", DISK)])))
    assert "ephemeral-storage" in f.summary and f.severity == "high"
    assert any("ephemeral-storage" in r.command for r in f.remediation)


def test_failed_pods_that_were_not_evicted_are_not_it(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[
            pod("web-6d4cf56db6-aaaaa", phase="Failed", containers=[ctr(state=terminated("Error", 1))]),
            pod("web-6d4cf56db6-bbbbb", containers=[ctr(state=running())]),
        ],
    )
    assert find(ctx) == []


def test_without_message_says_so(tmp_path: Path) -> None:
    f = only(find(context(tmp_path, pods=[_evicted("web-6d4cf56db6-aaaaa", None)])))
    assert f.confidence < 0.9
    assert any(m.what == "no eviction message" for m in f.missing_evidence)
