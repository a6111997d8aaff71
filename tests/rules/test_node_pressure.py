"""node-pressure: a Ready node whose kubelet reports a pressure condition, or whose evictions and
eviction events say so, is the cause of the evictions on it; a NotReady node stays node-not-ready's."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from forensics.analysis.analyze import link, merge, split_history
from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import run_all
from forensics.analysis.rules.node_pressure import CAUSE, find, node_pressure_id
from tests.rules.builders import context, ctr, event, node, only, pod, running, terminated

MEMORY = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 92Mi. Container app was "
    "using 1349416Ki, request is 0, has larger consumption of memory. "
)
DISK = (
    "The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1536Mi. "
    "Container app was using 3Gi, request is 0, has larger consumption of ephemeral-storage. "
)
LIMIT = "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. "


def pressed(name: str = "node-a", kind: str = "MemoryPressure", *, ready: str = "True", status: str = "True") -> dict:
    words = {
        "MemoryPressure": ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
        "DiskPressure": ("KubeletHasDiskPressure", "kubelet has disk pressure"),
        "PIDPressure": ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
    }[kind]
    if status == "False":
        words = ("KubeletHasSufficientMemory", "kubelet has sufficient memory available")
    n: dict[str, Any] = node(
        name,
        ready=ready,
        reason="KubeletReady" if ready == "True" else "KubeletNotReady",
        message="kubelet is posting ready status" if ready == "True" else "PLEG is not healthy",
    )
    n["status"]["conditions"].insert(
        0,
        {
            "type": kind,
            "status": status,
            "reason": words[0],
            "message": words[1],
            "lastHeartbeatTime": "2026-11-22T04:40:00Z",
            "lastTransitionTime": "2026-11-22T04:30:00Z",
        },
    )
    return n


def _evicted(name: str, message: str, node_name: str = "node-a") -> dict:
    return pod(
        name,
        node=node_name,
        phase="Failed",
        reason="Evicted",
        message=message,
        containers=[ctr(state=terminated("Error", 137), ready=False)],
    )


def _reclaim(node_name: str = "node-a", what: str = "memory") -> dict:
    return event(node_name, "EvictionThresholdMet", f"Attempting to reclaim {what}", kind="Node")


def analyzed(ctx: Context) -> list[Finding]:
    """The findings failing now, merged and linked as the document holds them."""
    return link(split_history(ctx, merge(run_all(ctx)))[0])


def failing_example(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        nodes=[pressed("node-a"), node("node-b")],
        pods=[
            _evicted("web-6d4cf56db6-aaaaa", MEMORY),
            pod("web-6d4cf56db6-bbbbb", node="node-b", containers=[ctr(state=running(), ready=True)]),
        ],
        events=[_reclaim(), event("web-6d4cf56db6-aaaaa", "Evicted", MEMORY)],
    )


def test_a_ready_node_with_memory_pressure_is_the_cause_in_its_own_words(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and f.workload.kind == "Node" and f.workload.namespace == "" and f.nodes == ["node-a"]
    assert "KubeletHasInsufficientMemory: kubelet has insufficient memory available" in f.summary
    assert f.takes_down == ["Deployment shop/web"] and f.severity == "high"
    assert any(e.kind == "event" and "Attempting to reclaim memory" in e.text for e in f.evidence)
    assert any(e.kind == "pod" and "low on resource: memory" in e.text for e in f.evidence)
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines() if not line.startswith("#")]
    assert ["kubectl", "describe", "node", "node-a"] in cmds
    assert any(c[:3] == ["kubectl", "top", "pods"] for c in cmds)


def test_the_eviction_is_a_consequence_of_the_node(tmp_path: Path) -> None:
    findings = analyzed(failing_example(tmp_path))
    by_cause = {f.cause: f for f in findings}
    assert by_cause["evicted"].caused_by == by_cause[CAUSE].id == node_pressure_id("node-a")
    assert [c["workload"] for c in by_cause[CAUSE].consequences] == ["Deployment shop/web"]
    order = [f.cause for f in findings]
    assert order.index(CAUSE) < order.index("evicted")
    assert "node-not-ready" not in by_cause


def test_evictions_and_events_alone_name_the_node_and_the_disk(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-a")],
        pods=[_evicted("web-6d4cf56db6-aaaaa", DISK)],
        events=[_reclaim(what="ephemeral-storage")],
    )
    f = only(find(ctx))
    assert "ephemeral-storage" in f.summary and "was under resource pressure" in f.summary
    assert f.takes_down == ["Deployment shop/web"]
    assert any("crictl rmi --prune" in r.command for r in f.remediation)


def test_node_events_without_a_node_object_still_name_the_node(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-b")],
        pods=[pod("web-6d4cf56db6-bbbbb", node="node-b", containers=[ctr(state=running(), ready=True)])],
        events=[event("node-a", "NodeHasDiskPressure", "Node node-a status is now: NodeHasDiskPressure", kind="Node")],
    )
    f = only(find(ctx))
    assert f.nodes == ["node-a"] and "ephemeral-storage" in f.summary
    assert any(m.what == "no Node object for node-a" for m in f.missing_evidence)


def test_a_not_ready_node_is_node_not_readys_alone(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[pressed("node-a", ready="False"), node("node-b")],
        pods=[_evicted("web-6d4cf56db6-aaaaa", MEMORY)],
        events=[_reclaim()],
    )
    assert find(ctx) == []
    findings = analyzed(ctx)
    nodes = [f for f in findings if f.workload.kind == "Node"]
    assert [f.cause for f in nodes] == ["node-not-ready"]
    web = next(f for f in findings if str(f.workload) == "Deployment shop/web")
    assert web.caused_by == nodes[0].id


def test_healthy_conditions_and_limit_evictions_are_not_node_pressure(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[pressed("node-a", status="False")],
        pods=[_evicted("web-6d4cf56db6-aaaaa", LIMIT)],
        events=[event("web-6d4cf56db6-aaaaa", "Evicted", LIMIT)],
    )
    assert find(ctx) == []
    ev = next(f for f in analyzed(ctx) if f.cause == "evicted")
    assert ev.caused_by is None


def test_pid_pressure_without_evictions_is_still_said(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[pressed("node-a", "PIDPressure")],
        pods=[pod("web-6d4cf56db6-bbbbb", containers=[ctr(state=running(), ready=True)])],
    )
    f = only(find(ctx))
    assert "kubelet has insufficient PID available" in f.summary and f.takes_down == []
    assert any("nlwp" in r.command for r in f.remediation)
    assert any(m.what == "no eviction events about node node-a" for m in f.missing_evidence)


def test_old_events_about_a_node_that_recovered_and_evicted_nothing_are_history(tmp_path: Path) -> None:
    old = event("node-a", "NodeHasDiskPressure", "Node node-a status is now: NodeHasDiskPressure", kind="Node")
    old["firstTimestamp"] = old["lastTimestamp"] = "2026-11-20T04:00:00Z"
    recent = event("node-a", "NodeHasDiskPressure", "Node node-a status is now: NodeHasDiskPressure", kind="Node")
    healthy = [pressed("node-a", status="False")]
    pods = [pod("web-6d4cf56db6-bbbbb", containers=[ctr(state=running(), ready=True)])]
    assert find(context(tmp_path / "old", nodes=healthy, pods=pods, events=[old])) == []
    f = only(find(context(tmp_path / "recent", nodes=healthy, pods=pods, events=[recent])))
    assert f.severity == "low" and "was under resource pressure" in f.summary
