from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_mixed_arch_no_affinity import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, single_manifest

IMG = "registry.example.com/data/ingest:7"
NODES = {"amd-1": "amd64", "arm-1": "arm64"}


def test_found_runs_here_fails_there(tmp_path: Path) -> None:
    s = Scenario(
        nodes=NODES, pods=[Pod("in-a", "amd-1", IMG), Pod("in-b", "arm-1", IMG, crash=True, log=EXEC_RUNC + "\n")]
    )
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.pods == ["in-b"]
    assert "amd64" in f.summary and "arm64" in f.summary
    assert any(r.kind == "pin" and '"amd64"' in r.command for r in f.remediation)
    assert any("no image inspection" in m.what for m in f.missing_evidence)


def test_not_found_single_arch_cluster_or_pinned(tmp_path: Path) -> None:
    s = Scenario(nodes={"arm-1": "arm64"}, pods=[Pod("in-b", "arm-1", IMG, crash=True, log=EXEC_RUNC + "\n")])
    assert find(s.context(tmp_path)) == []
    s = Scenario(
        nodes=NODES,
        images={IMG: single_manifest("amd64")},
        pods=[Pod("in-b", "arm-1", IMG, crash=True, log=EXEC_RUNC + "\n", arch_selector="arm64")],
    )
    assert find(s.context(tmp_path / "pinned")) == []
