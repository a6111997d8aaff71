"""arch.emulation-fault: the foreign image ran under qemu/Rosetta and the emulator failed; emulated
pods that only miss liveness deadlines make the probe primary, with the emulation contributing."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.analyze import merge
from forensics.analysis.correlate import Context
from forensics.analysis.rules import all_rules, run_all
from forensics.analysis.rules.arch_emulation_fault import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, single_manifest
from tests.rules.exec_family_scenario import FamilyScenario, Node, Pod, event

IMG = "registry.example.com/ci/runner:2019"
LOADER = "qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory\n"
SEGV = "qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n"


def _s(log: str, *, binfmt: bool = True, extra: list[Pod] | None = None) -> FamilyScenario:
    return FamilyScenario(
        nodes={},
        node_specs={"arm-1": Node("arm64"), "arm-2": Node("arm64")},
        images={IMG: single_manifest("amd64")},
        binfmt={"arm-1": ["qemu-x86_64"], "arm-2": ["qemu-x86_64"]} if binfmt else {},
        pods=[
            Pod("r-a", "arm-1", IMG, crash=True, log=log),
            Pod("r-b", "arm-2", IMG, crash=True, log=log),
            *(extra or []),
        ],
    )


def failing_example(tmp_path: Path) -> Context:
    return _s(LOADER).context(tmp_path / "dump")


def _merged(ctx: Context) -> dict[str, object]:
    return {f.workload.name: f for f in merge(run_all(ctx, all_rules())) if not f.latent}


def test_loader_missing_under_qemu(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    (f,) = find(ctx)
    assert f.cause == CAUSE and f.pods == ["r-a", "r-b"] and "dynamic loader" in f.summary
    assert any(e.kind == "binfmt" and "qemu-x86_64" in e.text for e in f.evidence)
    assert f.confidence >= 0.85
    merged = _merged(ctx)["api"]
    assert merged.cause == CAUSE  # not "single-arch image": the runtime did run it, emulated


def test_without_binfmt_listing_the_message_still_proves_emulation(tmp_path: Path) -> None:
    (f,) = find(_s(SEGV, binfmt=False).context(tmp_path))
    assert "qemu crashed" in f.summary and f.confidence < 0.85
    assert any("binfmt_misc listing" in m.what for m in f.missing_evidence)


def test_rosetta(tmp_path: Path) -> None:
    (f,) = find(
        _s("rosetta error: failed to open elf at /lib64/ld-linux-x86-64.so.2\n", binfmt=False).context(tmp_path)
    )
    assert "dynamic loader" in f.summary


def test_slow_under_emulation_makes_the_probe_primary(tmp_path: Path) -> None:
    s = _s("", extra=[])
    s.pods = [Pod("r-a", "arm-1", IMG, crash=True, log="starting runner\n")]
    s.events = [
        event(
            "r-a",
            "Unhealthy",
            'Liveness probe failed: Get "http://10.0.0.5:8080/healthz": '
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        )
    ]
    ctx = s.context(tmp_path)
    (f,) = find(ctx)
    assert "liveness" in f.summary and f.severity == "medium"
    merged = _merged(ctx)["api"]
    assert merged.cause == "liveness-probe" and CAUSE in merged.contributing


def test_exec_format_error_without_handler_is_not_an_emulation_fault(tmp_path: Path) -> None:
    assert find(_s(EXEC_RUNC + "\n", binfmt=False).context(tmp_path)) == []
