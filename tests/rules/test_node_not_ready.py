"""node-not-ready: pods on nodes whose Ready condition is not True in the same snapshot, one
finding per workload; a node Ready again, or missing from the dump, is not it."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.correlate import Context
from forensics.rules.node_not_ready import CAUSE, find
from tests.rules.builders import SNAP, SNAP2, context, ctr, event, load, node, only, pod, write_dump

DOWN = node("node-b", "arm64", ready="Unknown", reason="NodeStatusUnknown",
            message="Kubelet stopped posting node status.")


def _pods() -> list[dict]:
    return [pod("web-6d4cf56db6-aaaaa", node="node-b", containers=[ctr(ready=True)]),
            pod("web-6d4cf56db6-bbbbb", node="node-b", containers=[ctr(ready=True)]),
            pod("web-6d4cf56db6-ccccc", node="node-a", containers=[ctr(ready=True)]),
            pod("agent-x1", ns="kube-system", node="node-b", owner="DaemonSet/agent", containers=[ctr("agent")]),
            pod("db-0", node="node-a", owner="StatefulSet/db", containers=[ctr("db")])]


def failing_example(tmp_path: Path) -> Context:
    return context(tmp_path, nodes=[node("node-a"), DOWN], pods=_pods(),
                   events=[event("node-b", "NodeNotReady", "Node node-b status is now: NodeNotReady", kind="Node",
                                 type="Normal", component="node-controller")])


def test_one_finding_per_workload_on_the_down_node(tmp_path: Path) -> None:
    fs = find(failing_example(tmp_path))
    assert sorted(str(f.workload) for f in fs) == ["DaemonSet kube-system/agent", "Deployment shop/web"]
    web = next(f for f in fs if f.workload.name == "web")
    assert web.cause == CAUSE and web.pods == ["web-6d4cf56db6-aaaaa", "web-6d4cf56db6-bbbbb"]
    assert web.nodes == ["node-b"] and web.severity == "medium" and web.confidence >= 0.95  # -ccccc serves
    assert "NodeStatusUnknown" in web.summary
    assert any(e.kind == "node" and e.object == "Node node-b" and "NodeStatusUnknown" in e.text for e in web.evidence)
    assert any(e.kind == "event" and e.object == "Event NodeNotReady on Node node-b" for e in web.evidence)
    cmds = [shlex.split(line) for r in web.remediation for line in r.command.splitlines() if not line.startswith("#")]
    assert ["kubectl", "describe", "node", "node-b"] in cmds
    assert ["kubectl", "drain", "node-b", "--ignore-daemonsets", "--delete-emptydir-data"] in cmds
    agent = next(f for f in fs if f.workload.name == "agent")
    assert not [r for r in agent.remediation if "drain" in r.command]


def test_all_ready_or_node_missing_is_not_it(tmp_path: Path) -> None:
    assert find(context(tmp_path / "a", nodes=[node("node-a"), node("node-b", "arm64")], pods=_pods())) == []
    assert find(context(tmp_path / "b", nodes=[node("node-a")], pods=_pods())) == []


def test_readiness_is_taken_from_the_same_snapshot(tmp_path: Path) -> None:
    """node-b was down in the first snapshot with no pods on it; the pods came after it recovered."""
    root = write_dump(tmp_path / "dump", {
        SNAP: {"nodes": [node("node-a"), DOWN], "pods": [p for p in _pods() if p["spec"]["nodeName"] == "node-a"]},
        SNAP2: {"nodes": [node("node-a"), node("node-b", "arm64")], "pods": _pods()},
    })
    assert find(load(root)) == []


def test_without_node_events_says_so(tmp_path: Path) -> None:
    ctx = context(tmp_path, nodes=[node("node-a"), node("node-b", ready="False", reason="KubeletNotReady",
                                                        message="container runtime network not ready")],
                  pods=[pod("web-6d4cf56db6-aaaaa", node="node-b", containers=[ctr(ready=True)])])
    f = only(find(ctx))
    assert "KubeletNotReady" in f.summary and f.confidence < 0.95
    assert f.severity == "high"  # its only pod shows a stale Ready status
    assert any(m.what == "no NodeNotReady events" for m in f.missing_evidence)
