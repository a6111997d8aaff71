"""liveness-probe: found from the kubelet's Unhealthy/Killing events on a restarted container;
readiness failures and probe failures without restarts are not it; a missing Killing event is said."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.liveness_probe import CAUSE, find
from tests.rules.builders import context, ctr, event, only, pod, running, terminated

POD = "web-6d4cf56db6-abcde"
UNHEALTHY = (
    'Liveness probe failed: Get "http://10.244.0.10:8080/healthz": context deadline exceeded '
    "(Client.Timeout exceeded while awaiting headers)"
)
KILLING = "Container app failed liveness probe, will be restarted"


def _ctx(tmp_path: Path, events: list[dict], restarts: int = 5, liveness: bool = True, **kw: object) -> Context:
    c = ctr(state=running(), ready=False, last=terminated("Error", 137), restarts=restarts, liveness=liveness)
    return context(tmp_path, pods=[pod(POD, containers=[c])], events=events, **kw)  # type: ignore[arg-type]


def failing_example(tmp_path: Path) -> Context:
    return _ctx(
        tmp_path,
        [
            event(POD, "Unhealthy", UNHEALTHY, container="app", count=15),
            event(POD, "Killing", KILLING, container="app", type="Normal", count=5, seq=1),
        ],
        previous_logs={("shop", POD, "app"): "GC pause 9.8s\n"},
    )


def test_found_from_unhealthy_and_killing_events(tmp_path: Path) -> None:
    f = only(find(failing_example(tmp_path)))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/web" and f.restarts == 5
    assert f.confidence >= 0.9
    texts = {e.text for e in f.evidence if e.kind == "event"}
    assert texts == {UNHEALTHY, KILLING}
    assert all(e.file == "snapshots/20261122T050000Z/events.json" for e in f.evidence)
    assert not f.missing_evidence
    patch = next(r for r in f.remediation if "patch" in r.command)
    argv = shlex.split(patch.command.splitlines()[-1])
    assert argv[:6] == ["kubectl", "-n", "shop", "patch", "deployment", "web"]
    body = json.loads(argv[argv.index("-p") + 1])
    assert body["spec"]["template"]["spec"]["containers"][0]["name"] == "app"
    assert "livenessProbe" in body["spec"]["template"]["spec"]["containers"][0]


def test_unhealthy_alone_is_weaker_and_asks_for_the_killing_event(tmp_path: Path) -> None:
    f = only(find(_ctx(tmp_path, [event(POD, "Unhealthy", UNHEALTHY, container="app", count=15)])))
    assert 0.6 <= f.confidence < 0.9
    missing = " | ".join(m.what for m in f.missing_evidence)
    assert "Killing" in missing and f"no logs for {POD}/app" in missing


def test_startup_probe_kills_count_too(tmp_path: Path) -> None:
    f = only(
        find(
            _ctx(
                tmp_path,
                [
                    event(
                        POD,
                        "Unhealthy",
                        "Startup probe failed: HTTP probe failed with statuscode: 503",
                        container="app",
                        count=30,
                    )
                ],
            )
        )
    )
    assert "startup probe" in f.summary and any("startupProbe" in r.command for r in f.remediation)


def test_readiness_failures_never_restart_a_container(tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        [
            event(
                POD,
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                container="app",
                count=40,
            )
        ],
    )
    assert find(ctx) == []


def test_probe_failures_without_restarts_are_not_it(tmp_path: Path) -> None:
    assert find(_ctx(tmp_path, [event(POD, "Unhealthy", UNHEALTHY, container="app")], restarts=0)) == []


def test_exit_137_with_a_probe_but_no_probe_message_is_not_evidence(tmp_path: Path) -> None:
    assert find(_ctx(tmp_path, [])) == []
