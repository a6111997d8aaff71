from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_bare_manifest_tag import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, index, single_manifest

OLD = "registry.example.com/shop/checkout:2.3"
NEW = "registry.example.com/shop/checkout:2.4"
NODES = {"amd-1": "amd64", "arm-1": "arm64"}


def test_found_previous_tag_was_index(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={OLD: (index("linux/amd64", "linux/arm64"), None), NEW: single_manifest("amd64")},
        pods=[Pod("co-a", "amd-1", NEW), Pod("co-b", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n")],
    )
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.pods == ["co-b"]
    assert any("multi-platform index" in e.text and "2.3" in e.object for e in f.evidence)


def test_found_ran_on_arm64_before_rollout(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        snapshots=2,
        images={NEW: single_manifest("amd64")},
        pods=[
            Pod("co-old", "arm-1", OLD, snapshot=0),
            Pod("co-new", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n", snapshot=1),
        ],
    )
    (f,) = find(s.context(tmp_path))
    assert any("ran healthy on arm64" in e.text for e in f.evidence)


def test_the_tag_resolving_to_another_digest_is_evidence(tmp_path: Path) -> None:
    """The same tag pulled at two digests over the snapshots: the first and the new digest are named, in
    the order the snapshots show them, whatever order the pods are listed in."""
    s = Scenario(
        nodes=NODES,
        snapshots=2,
        images={OLD: (index("linux/amd64", "linux/arm64"), None), NEW: single_manifest("amd64")},
        pods=[
            Pod("co-c", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n", snapshot=1, digest="c" * 64),
            Pod("co-a", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n", snapshot=0, digest="a" * 64),
            Pod("co-b", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n", snapshot=0, digest="b" * 64),
        ],
    )
    (f,) = find(s.context(tmp_path))
    (changed,) = [e for e in f.evidence if "tag digest changed" in e.text]
    first, _, last = changed.text.partition(" -> ")
    assert "a" * 64 in first and "c" * 64 in last and changed.object == f"Image {NEW}"
    assert "b" * 64 not in changed.text  # the digests between the first and the last are not named


def test_not_found_for_a_plain_single_arch_image(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={NEW: single_manifest("amd64")},
        pods=[Pod("co-a", "amd-1", NEW), Pod("co-b", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n")],
    )
    assert find(s.context(tmp_path)) == []


def test_needs_the_inspection(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        snapshots=2,
        pods=[
            Pod("co-old", "arm-1", OLD, snapshot=0),
            Pod("co-new", "arm-1", NEW, crash=True, log=EXEC_RUNC + "\n", snapshot=1),
        ],
    )
    assert find(s.context(tmp_path)) == []


def test_a_healthy_sidecar_is_no_evidence_of_a_lost_index(tmp_path: Path) -> None:
    """The sidecar of the same pod runs on the same arm64 node under another image: that says nothing about
    what the app's tag used to be. Without history the single manifest is single-arch-image, not this."""
    from tests.rules.builders import context, crashloop, ctr, node, pod, terminated

    ctx = context(
        tmp_path,
        nodes=[node("node-a"), node("node-b", "arm64")],
        pods=[
            pod(
                "web-6d4cf56db6-bbbbb",
                node="node-b",
                containers=[
                    ctr("app", NEW, state=crashloop(), last=terminated("Error", 1), restarts=4),
                    ctr("proxy", "docker.io/envoyproxy/envoy:v1.30.1", ready=True),
                ],
            )
        ],
        previous_logs={("shop", "web-6d4cf56db6-bbbbb", "app"): EXEC_RUNC + "\n"},
        images={NEW: single_manifest("amd64")},
    )
    assert find(ctx) == []
