from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_missing_emulation import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, single_manifest

IMG = "registry.example.com/ci/runner:2019"
NODES = {"arm-1": "arm64", "arm-2": "arm64", "arm-3": "arm64"}
QEMU = "qemu: uncaught target signal 11 (Segmentation fault) - core dumped"


def _s(**kw) -> Scenario:
    kw.setdefault("binfmt", {"arm-1": ["qemu-x86_64"], "arm-2": ["qemu-x86_64"], "arm-3": []})
    return Scenario(
        nodes=NODES,
        images={IMG: single_manifest("amd64")},
        pods=[
            Pod("r-a", "arm-1", IMG),
            Pod("r-b", "arm-2", IMG, crash=True, log=QEMU + "\n"),
            Pod("r-c", "arm-3", IMG, crash=True, log=EXEC_RUNC + "\n"),
        ],
        **kw,
    )


def test_found(tmp_path: Path) -> None:
    (f,) = find(_s().context(tmp_path / "d"))
    assert f.cause == CAUSE and f.pods == ["r-c"] and f.nodes == ["arm-3"]
    binfmt = [e for e in f.evidence if e.kind == "binfmt"]
    assert any("qemu-x86_64" in e.text and "emulates amd64" in e.text for e in binfmt)
    assert any(e.object == "Node arm-3" and "no amd64 handler" in e.text for e in binfmt)


def test_not_found_without_binfmt_listings(tmp_path: Path) -> None:
    assert find(_s(binfmt={}).context(tmp_path)) == []


def test_partial_listings_are_missing_evidence(tmp_path: Path) -> None:
    s = _s(binfmt={"arm-1": ["qemu-x86_64"], "arm-3": []})
    s.nodes["arm-4"] = "arm64"
    s.pods.append(Pod("r-d", "arm-4", IMG, crash=True, log=EXEC_RUNC + "\n"))
    (f,) = find(s.context(tmp_path))
    assert any(
        ("no binfmt_misc listing" in m.what and "arm-2" in m.what) or "arm-4" in m.what for m in f.missing_evidence
    )
