"""missing-config: found from CreateContainerConfigError and the kubelet's message naming the
object (and key); FailedMount of a missing ConfigMap; the reason without its message is weaker."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding
from forensics.analysis.rules.missing_config import CAUSE, find, missing_objects
from tests.rules.builders import context, ctr, event, only, pod, running, waiting

POD = "web-6d4cf56db6-abcde"


def _ctx(tmp_path: Path, state: dict, events: list[dict] | None = None) -> Context:
    return context(tmp_path, pods=[pod(POD, containers=[ctr(state=state)])], events=events)


def failing_example(tmp_path: Path) -> Context:
    return _ctx(
        tmp_path,
        waiting("CreateContainerConfigError", 'configmap "web-config" not found'),
        [event(POD, "Failed", 'Error: configmap "web-config" not found', container="app", count=12)],
    )


def _argv(f: Finding) -> list[list[str]]:
    return [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]


def test_found_names_the_missing_configmap(tmp_path: Path) -> None:
    f = only(find(failing_example(tmp_path)))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/web" and f.severity == "high"
    assert f.confidence >= 0.9 and "configmap web-config" in f.summary
    assert ["kubectl", "-n", "shop", "get", "configmap", "web-config"] in _argv(f)
    assert any(a[:6] == ["kubectl", "-n", "shop", "create", "configmap", "web-config"] for a in _argv(f))
    assert {e.kind for e in f.evidence} >= {"pod", "event", "waiting-message"}


def test_missing_key_in_a_secret(tmp_path: Path) -> None:
    f = only(
        find(
            _ctx(tmp_path, waiting("CreateContainerConfigError", "couldn't find key password in Secret shop/db-creds"))
        )
    )
    patch = next(a for a in _argv(f) if "patch" in a)
    assert patch[:6] == ["kubectl", "-n", "shop", "patch", "secret", "db-creds"]
    assert json.loads(patch[-1]) == {"stringData": {"password": "<VALUE>"}}


def test_failed_mount_of_a_missing_configmap(tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        waiting("ContainerCreating"),
        [
            event(
                POD,
                "FailedMount",
                'MountVolume.SetUp failed for volume "config" : configmap "web-config" not found',
                count=20,
            )
        ],
    )
    f = only(find(ctx))
    assert 0.5 <= f.confidence < 0.9 and "web-config" in f.summary


def test_not_found_for_running_or_merely_creating_pods(tmp_path: Path) -> None:
    assert find(_ctx(tmp_path / "a", running())) == []
    assert find(_ctx(tmp_path / "b", waiting("ContainerCreating"), [])) == []


def test_reason_without_message_is_weaker_and_says_what_is_missing(tmp_path: Path) -> None:
    f = only(find(_ctx(tmp_path, waiting("CreateContainerConfigError"), None)))
    assert f.confidence <= 0.6
    missing = " | ".join(m.what for m in f.missing_evidence)
    assert "the message naming the missing object" in missing and "no events in the dump" in missing


def test_missing_objects_parses_the_kubelet_wordings() -> None:
    assert missing_objects(
        [
            'configmap "a" not found',
            'Error: secret "b" not found',
            "couldn't find key K in ConfigMap ns/c",
            'configmap "a" not found',
        ]
    ) == [("configmap", "a", None), ("secret", "b", None), ("configmap", "c", "K")]


def test_a_hostile_name_from_the_message_stays_one_quoted_argument(tmp_path: Path) -> None:
    name = "cfg$(touch /tmp/pwned);x"
    f = only(find(_ctx(tmp_path, waiting("CreateContainerConfigError", f'configmap "{name}" not found'))))
    assert ["kubectl", "-n", "shop", "get", "configmap", name] in _argv(f)
