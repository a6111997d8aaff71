"""Failing now versus restart history (docs/findings.md): what counts as failing at the last snapshot,
what is only history, node-restart terminations, clean stops, and severity by impact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forensics.analysis.analyze import analyze
from forensics.read.load import load_dump
from tests.rules.builders import SNAP, SNAP2, crashloop, ctr, node, pod, running, terminated, unscheduled, write_dump


def _doc(
    tmp_path: Path,
    snaps: dict[str, dict[str, list[dict[str, Any]]]],
    logs: dict[tuple[str, str, str, str, bool], str] | None = None,
) -> dict[str, Any]:
    return analyze(load_dump(write_dump(tmp_path / "dump", snaps, logs)))


def _old_restart(reason: str = "Error", code: int = 1, message: str | None = None) -> dict[str, Any]:
    # terminated two days before the 05:00 snapshot, Running and Ready since
    return ctr(
        state=running("2026-11-20T03:00:05Z"),
        ready=True,
        restarts=3,
        last=terminated(reason, code, message, started="2026-11-20T02:00:00Z", finished="2026-11-20T03:00:00Z"),
    )


def test_an_old_restart_is_history_not_a_finding(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[_old_restart()])]}}
    )
    assert doc["findings"] == []
    (h,) = doc["restart_history"]
    assert h["workload"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
    assert h["restarts"] == 3 and h["severity"] == "info" and not h["node_event"]
    assert "Nothing is failing now among 1 pod(s)" in doc["summary"]["verdict"]


def test_a_recent_restart_of_a_running_container_is_failing(tmp_path: Path) -> None:
    c = ctr(state=running("2026-11-22T04:58:10Z"), ready=True, restarts=2, last=terminated("Error", 1))  # 04:58
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[c])]}})
    assert [f["cause"] for f in doc["findings"]] == ["app-crash"] and doc["restart_history"] == []


def test_restarts_that_grew_between_snapshots_are_failing(tmp_path: Path) -> None:
    def snap(restarts: int) -> dict[str, list[dict[str, Any]]]:
        c = ctr(
            state=running("2026-11-20T03:00:05Z"),
            ready=True,
            restarts=restarts,
            last=terminated("Error", 1, started="2026-11-20T02:00:00Z", finished="2026-11-20T03:00:00Z"),
        )
        return {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[c])]}

    grew = _doc(tmp_path / "grew", {SNAP: snap(3), SNAP2: snap(5)})
    assert [f["cause"] for f in grew["findings"]] == ["app-crash"]
    same = _doc(tmp_path / "same", {SNAP: snap(3), SNAP2: snap(3)})
    assert same["findings"] == [] and len(same["restart_history"]) == 1


def test_a_node_restart_termination_is_a_node_event(tmp_path: Path) -> None:
    recent = ctr(state=running("2026-11-22T04:58:10Z"), ready=True, restarts=40, last=terminated("Unknown", 255))
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[recent])]}})
    assert doc["findings"] == []
    (h,) = doc["restart_history"]
    assert h["node_event"] and "node" in h["note"]


def test_a_clean_shutdown_message_is_a_stop_not_a_crash(tmp_path: Path) -> None:
    stopped = ctr(
        state=crashloop(), restarts=2, last=terminated("Error", 143, "received SIGTERM, shutting down gracefully")
    )
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[stopped])]}})
    assert "app-crash" not in [f["cause"] for f in doc["findings"]]


def test_termination_messages_are_evidence(tmp_path: Path) -> None:
    c = ctr(
        state=crashloop(), restarts=7, last=terminated("Error", 1, "could not connect to db-0:5432: connection refused")
    )
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[c])]}})
    (f,) = doc["findings"]
    assert "dependency" in f["summary"] and "db-0:5432" in f["summary"]
    assert any(e["kind"] == "last-terminated-message" for e in f["evidence"])
    assert any("termination message: could not connect" in e["text"] for e in f["evidence"])


def test_severity_follows_impact(tmp_path: Path) -> None:
    bad = ctr(state=crashloop(), restarts=7, last=terminated("Error", 1))
    ok = ctr(state=running(), ready=True)
    doc = _doc(
        tmp_path,
        {
            SNAP: {
                "nodes": [node()],
                "pods": [
                    pod("web-6d4cf56db6-aaaaa", containers=[bad]),
                    pod("api-7c9d8b6f5d-aaaaa", owner="Deployment/api", containers=[bad]),
                    pod("api-7c9d8b6f5d-bbbbb", owner="Deployment/api", containers=[ok]),
                ],
            }
        },
    )
    sev = {f["workload"]["name"]: f["severity"] for f in doc["findings"]}
    assert sev == {"web": "high", "api": "medium"}
    assert [f["workload"]["name"] for f in doc["findings"]] == ["web", "api"]


def test_failing_with_no_cause_is_named_never_called_healthy(tmp_path: Path) -> None:
    # Running for an hour but never Ready (a readiness probe, say): no rule explains it, the verdict says so
    c = ctr(state=running("2026-11-22T04:00:00Z"), ready=False)
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[c])]}})
    assert doc["findings"] == []
    assert doc["summary"]["unexplained"] == ["Deployment shop/web"]
    assert (
        "failing with no cause found" in doc["summary"]["verdict"]
        and "Nothing is failing" not in doc["summary"]["verdict"]
    )


def test_an_init_container_that_succeeded_on_a_retry_has_recovered(tmp_path: Path) -> None:
    from tests.rules.builders import T0

    init = ctr(
        "migrate",
        state={
            "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": T0, "finishedAt": "2026-11-22T04:57:00Z"}
        },
        restarts=1,
        last=terminated("Error", 1, started="2026-11-22T04:55:00Z", finished="2026-11-22T04:56:00Z"),
    )
    app = ctr(state=running("2026-11-22T04:57:30Z"), ready=True)
    doc = _doc(
        tmp_path, {SNAP: {"nodes": [node()], "pods": [pod("web-6d4cf56db6-aaaaa", containers=[app], init=[init])]}}
    )
    assert doc["findings"] == [] and doc["summary"]["unexplained"] == []


def test_a_workload_failing_healing_and_failing_again_has_two_intervals(tmp_path: Path) -> None:
    """Crash-looping at 05:00, restarted by 07:00 (failing: its restarts grew), Running and Ready with no
    new restart at 09:00 (healthy), crash-looping again at 11:00: two failing intervals, and the
    timeline draws the workload's bar over those two only."""
    import re

    from forensics.render.charts import timeline_svg

    name = "web-6d4cf56db6-aaaaa"
    crash1 = terminated("Error", 1, started="2026-11-22T04:58:00Z", finished="2026-11-22T04:58:05Z")
    crash2 = terminated("Error", 1, started="2026-11-22T10:57:00Z", finished="2026-11-22T10:57:05Z")
    up = running("2026-11-22T05:03:00Z")
    snaps = {
        SNAP: [ctr(state=crashloop(), ready=False, restarts=3, last=crash1)],
        "20261122T070000Z": [ctr(state=up, ready=True, restarts=4, last=crash1)],
        "20261122T090000Z": [ctr(state=up, ready=True, restarts=4, last=crash1)],
        "20261122T110000Z": [ctr(state=crashloop(), ready=False, restarts=6, last=crash2)],
    }
    doc = _doc(tmp_path, {s: {"nodes": [node()], "pods": [pod(name, containers=c)]} for s, c in snaps.items()})
    (f,) = doc["findings"]
    assert [(i["from"], i["to"]) for i in f["failing_intervals"]] == [
        ("2026-11-22T04:58:05Z", "2026-11-22T07:00:00Z"),
        ("2026-11-22T10:57:05Z", "2026-11-22T11:00:00Z"),
    ]
    svg = timeline_svg(doc["timeline"], doc["findings"])
    assert svg is not None
    # a failing bar is a thick red stroke (forensics/render/charts.py), one per interval
    bars = re.findall(r"stroke: #c0392b; stroke-width: 5", svg)
    assert len(bars) == 2


def test_a_surge_pod_pending_beside_crash_looping_replicas_is_not_the_cause(tmp_path: Path) -> None:
    """Three replicas crash-loop and the rollout's new pod is Pending for lack of room: the workload
    fails because it crashes; the Pending pod is named, contributing."""
    crashing = [
        pod(
            f"web-6d4cf56db6-{c * 5}",
            containers=[ctr(state=crashloop(), restarts=12, last=terminated("Error", 1))],
        )
        for c in "abc"
    ]
    pending = pod(
        "web-7f8e9d0c1b-zzzzz",
        node=None,
        containers=[ctr(status=False)],
        conditions=unscheduled("0/3 nodes are available: 3 Insufficient cpu."),
    )
    pending["status"]["phase"] = "Pending"
    doc = _doc(tmp_path, {SNAP: {"nodes": [node()], "pods": [*crashing, pending]}})
    (f,) = [f for f in doc["findings"] if f["workload"]["name"] == "web"]
    assert f["cause"] == "app-crash" and "unschedulable" in f["contributing"]
    assert "web-7f8e9d0c1b-zzzzz" in f["pods"]
