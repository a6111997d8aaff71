from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_apple_silicon_build import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, single_manifest

IMG = "registry.example.com/web/storefront:3.1"
NODES = {"amd-1": "amd64", "amd-2": "amd64"}


def test_found_arm64_config_on_amd64(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={IMG: single_manifest("arm64")},
        pods=[Pod("sf-a", "amd-1", IMG, crash=True, log=EXEC_RUNC + "\n"), Pod("sf-b", "amd-2", IMG, crash=True)],
    )
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.node_archs == ["amd64"] and f.severity == "critical"
    assert f.confidence >= 0.9
    assert any("--platform linux/amd64" in r.command for r in f.remediation)


def test_not_found_for_amd64_image(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES,
        images={IMG: single_manifest("amd64")},
        pods=[Pod("sf-a", "amd-1", IMG, crash=True, log="panic: nil map\n")],
    )
    assert find(s.context(tmp_path)) == []


def test_missing_inspection_needs_arm64_runs(tmp_path: Path) -> None:
    # no inspection and nothing shows the image is arm64: not claimed
    s = Scenario(nodes=NODES, pods=[Pod("sf-a", "amd-1", IMG, crash=True, log=EXEC_RUNC + "\n")])
    assert find(s.context(tmp_path)) == []
    # healthy on arm64, exec format error on amd64: inferred, capped confidence, inspection asked for
    s = Scenario(
        nodes={"amd-1": "amd64", "arm-1": "arm64"},
        pods=[Pod("sf-a", "amd-1", IMG, crash=True, log=EXEC_RUNC + "\n"), Pod("sf-b", "arm-1", IMG)],
    )
    (f,) = find(s.context(tmp_path / "2"))
    assert f.confidence <= 0.75 and any("no image inspection" in m.what for m in f.missing_evidence)
