"""node-not-ready: one finding per node whose Ready condition is not True at its last observation
(cluster-scoped, with the condition's reason and message, the workloads it takes down, remediation
for its runtime), and one per workload whose pods are not Ready there, `caused_by` the node; a node
Ready again, or missing from the dump, is not it."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Workload, finding_id
from forensics.analysis.rules.node_not_ready import CAUSE, find
from tests.rules.builders import SNAP, SNAP2, context, ctr, event, load, node, pod, write_dump

DOWN = node(
    "node-b", "arm64", ready="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status."
)


def _pods() -> list[dict]:
    return [
        pod("web-6d4cf56db6-aaaaa", node="node-b", containers=[ctr(ready=True)]),
        pod("web-6d4cf56db6-bbbbb", node="node-b", containers=[ctr(ready=True)]),
        pod("web-6d4cf56db6-ccccc", node="node-a", containers=[ctr(ready=True)]),
        pod("agent-x1", ns="kube-system", node="node-b", owner="DaemonSet/agent", containers=[ctr("agent")]),
        pod("db-0", node="node-a", owner="StatefulSet/db", containers=[ctr("db")]),
    ]


def _not_ready_pods() -> list[dict]:
    """The pods of `_pods()` as the node lifecycle controller leaves them on a node gone Unknown: Ready=False."""
    out = _pods()
    for p in out:
        if p["spec"]["nodeName"] == "node-b":
            for c in p["status"]["conditions"]:
                if c["type"] == "Ready":
                    c["status"] = "False"
    return out


def test_the_node_is_the_cause_and_its_pods_the_consequence(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[node("node-a"), DOWN],
        pods=_not_ready_pods(),
        events=[
            event(
                "node-b",
                "NodeNotReady",
                "Node node-b status is now: NodeNotReady",
                kind="Node",
                type="Normal",
                component="node-controller",
            )
        ],
    )
    fs = find(ctx)
    by = {str(f.workload): f for f in fs}
    assert sorted(by) == ["DaemonSet kube-system/agent", "Deployment shop/web", "Node node-b"]
    n = by["Node node-b"]
    assert n.workload.namespace == "" and n.severity == "high" and n.nodes == ["node-b"]
    assert "NodeStatusUnknown" in n.summary and "Kubelet stopped posting node status." in n.summary
    assert any(e.kind == "node" and e.object == "Node node-b" and "stopped posting" in e.text for e in n.evidence)
    assert any(e.kind == "event" and e.object == "Event NodeNotReady on Node node-b" for e in n.evidence)
    assert set(n.takes_down) == {"DaemonSet kube-system/agent", "Deployment shop/web"}
    cmds = [shlex.split(line) for r in n.remediation for line in r.command.splitlines() if not line.startswith("#")]
    assert ["kubectl", "describe", "node", "node-b"] in cmds
    assert ["kubectl", "drain", "node-b", "--ignore-daemonsets", "--delete-emptydir-data"] in cmds  # node-a is Ready
    assert any("containerd" in r.command for r in n.remediation)  # the node's runtime
    web = by["Deployment shop/web"]
    assert web.caused_by == n.id == finding_id(CAUSE, Workload("Node", "", "node-b"))
    assert web.pods == ["web-6d4cf56db6-aaaaa", "web-6d4cf56db6-bbbbb"] and web.severity == "medium"  # -ccccc serves


def failing_example(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        nodes=[node("node-a"), DOWN],
        pods=_not_ready_pods(),
        events=[
            event(
                "node-b",
                "NodeNotReady",
                "Node node-b status is now: NodeNotReady",
                kind="Node",
                type="Normal",
                component="node-controller",
            )
        ],
    )


def test_every_node_down_no_cni_no_drain(tmp_path: Path) -> None:
    msg = (
        "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network "
        "plugin is not ready: cni config uninitialized"
    )
    ctx = context(
        tmp_path,
        nodes=[
            node("node-a", ready="False", reason="KubeletNotReady", message=msg),
            node("node-b", ready="False", reason="KubeletNotReady", message=msg),
        ],
        pods=[pod("db-0", node="node-a", owner="StatefulSet/db", containers=[ctr("db", ready=True)])],
    )
    fs = [f for f in find(ctx) if f.workload.kind == "Node"]
    assert [f.workload.name for f in fs] == ["node-a", "node-b"]
    for f in fs:
        assert f.severity == "critical" and "cni config uninitialized" in f.summary and "no CNI" in f.summary
        assert not [r for r in f.remediation if "drain" in r.command]
        assert any("network add-on" in r.title for r in f.remediation)
    # db-0 is still Ready on node-a (hostNetwork-like): listed as taken down, not a failing consequence
    assert [f for f in find(ctx) if f.workload.kind != "Node"] == []


def test_all_ready_or_node_missing_is_not_it(tmp_path: Path) -> None:
    assert find(context(tmp_path / "a", nodes=[node("node-a"), node("node-b", "arm64")], pods=_pods())) == []
    assert find(context(tmp_path / "b", nodes=[node("node-a")], pods=_pods())) == []


def test_readiness_is_taken_from_the_same_snapshot(tmp_path: Path) -> None:
    """node-b was down in the first snapshot with no pods on it; the pods came after it recovered."""
    root = write_dump(
        tmp_path / "dump",
        {
            SNAP: {"nodes": [node("node-a"), DOWN], "pods": [p for p in _pods() if p["spec"]["nodeName"] == "node-a"]},
            SNAP2: {"nodes": [node("node-a"), node("node-b", "arm64")], "pods": _pods()},
        },
    )
    assert find(load(root)) == []


def test_without_node_events_says_so(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        nodes=[
            node("node-a"),
            node("node-b", ready="False", reason="KubeletNotReady", message="container runtime network not ready"),
        ],
        pods=[pod("web-6d4cf56db6-aaaaa", node="node-b", containers=[ctr(ready=True)])],
    )
    f = next(f for f in find(ctx) if f.workload.kind == "Node")
    assert "KubeletNotReady" in f.summary and f.confidence < 0.99
    assert any(m.what == "no NodeNotReady events" for m in f.missing_evidence)
