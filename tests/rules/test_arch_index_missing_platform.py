from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_index_missing_platform import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, index

IMG = "ghcr.io/acme/exporter:0.9"
NODES = {"amd-1": "amd64", "arm-1": "arm64"}
# the containerd wording, verbatim from a real kubelet event (see the real-data error strings)
PULL = 'failed to pull and unpack image "ghcr.io/acme/exporter:0.9": no match for platform in manifest: not found'


def test_found_at_pull_time(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={IMG: (index("linux/amd64"), None)},
        pods=[Pod("ex-a", "amd-1", IMG), Pod("ex-b", "arm-1", IMG, pull_error=PULL)],
    )
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.pods == ["ex-b"] and f.node_archs == ["arm64"]
    assert any(e.kind == "waiting-message" and "no match for platform" in e.text for e in f.evidence)
    img = f.images[0]
    assert img["kind"] == "index" and img["platforms"] == ["linux/amd64"] and img["attestations"] == 1


def test_found_after_fallback_exec(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={IMG: (index("linux/amd64", "linux/arm/v7"), None)},
        pods=[Pod("ex-b", "arm-1", IMG, crash=True, log=EXEC_RUNC + "\n")],
    )
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.confidence >= 0.8


def test_not_found_when_index_has_the_arch(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={IMG: (index("linux/amd64", "linux/arm64"), None)},
        pods=[Pod("ex-b", "arm-1", IMG, crash=True, log="panic: x\n")],
    )
    assert find(s.context(tmp_path)) == []


def test_pull_error_alone_without_inspection(tmp_path: Path) -> None:
    s = Scenario(nodes=NODES, pods=[Pod("ex-b", "arm-1", IMG, pull_error=PULL)])
    (f,) = find(s.context(tmp_path))
    assert 0.7 <= f.confidence <= 0.75
    assert any("no image inspection" in m.what for m in f.missing_evidence)
