"""unschedulable: Pending pods without a node, from the PodScheduled=False condition and the
scheduler's FailedScheduling event (real wording from the troubleshoot fixtures); pods that got a
node later, and the scheduler's `skip schedule deleting pod`, are not it."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.unschedulable import CAUSE, find
from tests.rules.builders import (
    SNAP,
    SNAP2,
    context,
    ctr,
    event,
    load,
    node,
    only,
    pod,
    realdata_items,
    unscheduled,
    write_dump,
)

POD = "trainer-6d4cf56db6-abcde"


def _real_message(prefix: str) -> str:
    ev = realdata_items("troubleshoot", "events-message-image-pull-fail.json")
    return next(e["message"] for e in ev if e["reason"] == "FailedScheduling" and e["message"].startswith(prefix))


GPU = _real_message("0/1 nodes are available")
SKIP = _real_message("skip schedule deleting pod")


def _pending(conditions: list | None = None) -> dict:
    return pod(POD, node=None, owner="Deployment/trainer", containers=[ctr(status=False)], conditions=conditions)


def failing_example(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        pods=[_pending(unscheduled(GPU))],
        events=[event(POD, "FailedScheduling", GPU, component="default-scheduler", count=7)],
    )


def test_found_with_the_schedulers_message(tmp_path: Path) -> None:
    f = only(find(failing_example(tmp_path)))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/trainer" and f.severity == "high"
    assert f.confidence >= 0.95 and "Insufficient nvidia.com/gpu" in f.summary
    assert f.pods == [POD] and f.nodes == []
    assert any(e.kind == "pod" and "PodScheduled=False" in e.text for e in f.evidence)
    assert any(e.kind == "event" and e.text.startswith(GPU) and "(x7)" in e.text for e in f.evidence)
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]
    assert ["kubectl", "-n", "shop", "describe", "pod", POD] in cmds
    assert any("Allocated resources" in r.command for r in f.remediation)


def test_event_alone_and_condition_alone(tmp_path: Path) -> None:
    ev = only(
        find(
            context(
                tmp_path / "a",
                pods=[_pending(conditions=[])],
                events=[event(POD, "FailedScheduling", GPU, component="default-scheduler")],
            )
        )
    )
    cond = only(find(context(tmp_path / "b", pods=[_pending(unscheduled(GPU))], events=[])))
    assert 0.85 <= ev.confidence < 0.95 and 0.85 <= cond.confidence < 0.95
    affinity = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    aff = only(find(context(tmp_path / "c", pods=[_pending(unscheduled(affinity))])))
    assert any("kubernetes.io/arch" in r.command for r in aff.remediation)


def test_not_found_for_the_deleting_pod_message_and_for_scheduled_pods(tmp_path: Path) -> None:
    assert (
        find(
            context(
                tmp_path / "a",
                pods=[_pending(conditions=[])],
                events=[event(POD, "FailedScheduling", SKIP, component="default-scheduler")],
            )
        )
        == []
    )
    assert (
        find(
            context(
                tmp_path / "b",
                pods=[pod(POD, containers=[ctr()])],
                events=[event(POD, "FailedScheduling", GPU, component="default-scheduler")],
            )
        )
        == []
    )


def test_a_pod_that_got_a_node_later_was_only_waiting(tmp_path: Path) -> None:
    root = write_dump(
        tmp_path / "dump",
        {
            SNAP: {"nodes": [node()], "pods": [_pending(unscheduled(GPU))]},
            SNAP2: {"nodes": [node()], "pods": [pod(POD, owner="Deployment/trainer", containers=[ctr()])]},
        },
    )
    assert find(load(root)) == []


def test_without_message_or_events_says_so(tmp_path: Path) -> None:
    f = only(find(context(tmp_path, pods=[_pending([{"type": "PodScheduled", "status": "False"}])])))
    missing = " | ".join(m.what for m in f.missing_evidence)
    assert "the scheduler's message" in missing and "no events in the dump" in missing


def test_pending_behind_not_ready_nodes_is_their_consequence(tmp_path: Path) -> None:
    from forensics.analysis.findings import Workload, finding_id
    from tests.rules.builders import node as mknode

    all_down = "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
    nodes = [
        mknode("node-a", ready="False", reason="KubeletNotReady", message="cni config uninitialized"),
        mknode("node-b", ready="False", reason="KubeletNotReady", message="cni config uninitialized"),
    ]
    ctx = context(
        tmp_path / "a",
        nodes=nodes,
        pods=[pod("dns-6d4cf56db6-aaaaa", node=None, owner="Deployment/dns", conditions=unscheduled(all_down))],
    )
    (f,) = find(ctx)
    assert f.caused_by == finding_id("node-not-ready", Workload("Node", "", "node-a"))
    # one node down, the other too small: the pod's own requests are the cause
    mixed = (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
    )
    ctx = context(
        tmp_path / "b",
        nodes=[mknode("node-a"), nodes[1]],
        pods=[pod("dns-6d4cf56db6-aaaaa", node=None, owner="Deployment/dns", conditions=unscheduled(mixed))],
    )
    (f,) = find(ctx)
    assert f.caused_by is None


UNBOUND = (
    "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
    "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
)
NO_CLASS = 'storageclass.storage.k8s.io "fast-ssd" not found'
NO_PV = "no persistent volumes available for this claim and no storage class is set"


def _claiming(name: str, owner: str, claim: str | None) -> dict:
    p = pod(name, node=None, owner=owner, containers=[ctr(status=False)], conditions=unscheduled(UNBOUND))
    if claim is not None:
        p["spec"]["volumes"] = [
            {"name": "data", "persistentVolumeClaim": {"claimName": claim}},
            {"name": "kube-api-access", "projected": {"sources": []}},
        ]
    return p


def _two_claims_in_one_namespace(tmp_path: Path, *, volumes: bool) -> dict[str, object]:
    pods = [
        _claiming("orders-6d4cf56db6-aaaaa", "Deployment/orders", "orders-data" if volumes else None),
        _claiming("reports-6d4cf56db6-bbbbb", "Deployment/reports", "reports-data" if volumes else None),
    ]
    events = [
        event(p["metadata"]["name"], "FailedScheduling", UNBOUND, component="default-scheduler") for p in pods
    ] + [
        event("orders-data", "ProvisioningFailed", NO_CLASS, kind="PersistentVolumeClaim", component="pv-controller"),
        event("reports-data", "FailedBinding", NO_PV, kind="PersistentVolumeClaim", component="pv-controller"),
    ]
    return {f.workload.name: f for f in find(context(tmp_path, pods=pods, events=events))}


def test_each_pod_is_told_why_its_own_claim_does_not_bind(tmp_path: Path) -> None:
    got = _two_claims_in_one_namespace(tmp_path, volumes=True)
    orders, reports = got["orders"], got["reports"]
    assert "claim orders-data" in orders.summary and NO_CLASS in orders.summary
    assert "reports-data" not in orders.summary and NO_PV not in orders.summary
    assert not any("reports-data" in e.object for e in orders.evidence)
    assert "claim reports-data" in reports.summary and NO_PV in reports.summary
    assert NO_CLASS not in reports.summary
    assert any("storage class" in r.title.lower() for r in orders.remediation)


def test_without_the_pods_volumes_every_claim_of_the_namespace_is_shown(tmp_path: Path) -> None:
    got = _two_claims_in_one_namespace(tmp_path, volumes=False)
    for f in got.values():  # a `get pods` row shows no volumes: both claims' reasons are the evidence
        objects = " ".join(e.object for e in f.evidence if e.kind == "event")
        assert "shop/orders-data" in objects and "shop/reports-data" in objects


def test_a_claim_event_repeated_is_shown_once_at_its_latest(tmp_path: Path) -> None:
    pods = [_claiming("orders-6d4cf56db6-aaaaa", "Deployment/orders", "orders-data")]
    old = event("orders-data", "ProvisioningFailed", NO_CLASS, kind="PersistentVolumeClaim", seq=1)
    new = dict(event("orders-data", "ProvisioningFailed", NO_CLASS, kind="PersistentVolumeClaim", seq=2, count=9))
    new["lastTimestamp"] = "2026-11-22T05:30:00Z"
    other = event("orders-data", "ExternalProvisioning", "waiting for a volume", kind="PersistentVolumeClaim", seq=3)
    events = [
        event(pods[0]["metadata"]["name"], "FailedScheduling", UNBOUND, component="default-scheduler"),
        new,
        other,
        old,
    ]
    (f,) = find(context(tmp_path, pods=pods, events=events))
    claim = [e for e in f.evidence if "orders-data" in e.object]
    assert sum(NO_CLASS in e.text for e in claim) == 1
    assert any(NO_CLASS in e.text and "x9" in e.text for e in claim)  # the latest of the repeats
    assert f.summary.endswith(NO_CLASS)  # the summary gives the latest claim event
