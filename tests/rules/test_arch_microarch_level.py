"""arch.microarch-level: amd64 on amd64, and still no run: the image needs an x86-64 level the node's
CPU lacks. Levels come from NFD labels (nodes) and from the image's base labels, build history and
index variant; the loader's or runtime's message names the level itself."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.analyze import merge
from forensics.analysis.correlate import Context
from forensics.analysis.rules import all_rules, run_all
from forensics.analysis.rules.arch_microarch_level import CAUSE, find, level_in_texts
from tests.rules.exec_family_scenario import (
    FamilyScenario,
    Node,
    Pod,
    config,
    index_with_configs,
    manifest_for,
)

IMG = "registry.example.com/data/etl:4.2"
NFD = "feature.node.kubernetes.io/cpu-cpuid."
OLD = {NFD + f: "true" for f in ("CMPXCHG8", "FXSR", "HYPERVISOR", "SYSCALL", "X87")}  # a kvm64 vCPU
NEW = {NFD + f: "true" for f in ("AVX", "AVX2", "FMA3", "AESNI", "HYPERVISOR")}
GLIBC = "Fatal glibc error: CPU does not support x86-64-v2\n"


def _s(
    *, log: str = GLIBC, cfg: bytes | None = None, old: dict[str, str] = OLD, exit_code: int | None = None
) -> FamilyScenario:
    cfg = cfg or config("amd64", labels={"com.redhat.component": "ubi9-minimal-container", "name": "ubi9-minimal"})
    s = FamilyScenario(
        nodes={},
        node_specs={"old-1": Node("amd64", labels=old), "new-1": Node("amd64", labels=NEW)},
        images={IMG: (manifest_for(cfg), cfg)},
        pods=[
            Pod("etl-a", "old-1", IMG, crash=True, log=log, workload="etl"),
            Pod("etl-b", "new-1", IMG, workload="etl"),
        ],
    )
    if exit_code is not None:
        s.exit_codes["etl-a"] = exit_code
    return s


def failing_example(tmp_path: Path) -> Context:
    return _s().context(tmp_path / "dump")


def test_glibc_level_on_an_old_cpu(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    (f,) = find(ctx)
    assert f.cause == CAUSE and f.pods == ["etl-a"] and f.confidence >= 0.9
    assert "x86-64-v2" in f.summary and "x86-64-v1" in f.summary
    texts = [e.text for e in f.evidence]
    assert any("ubi9-minimal-container" in t for t in texts)
    assert any(e.object == "Node old-1" and "x86-64-v1" in e.text for e in f.evidence)
    merged = {x.workload.name: x for x in merge(run_all(ctx, all_rules())) if not x.latent}["etl"]
    assert merged.cause == CAUSE


def test_go_level_without_nfd_says_what_is_missing(tmp_path: Path) -> None:
    s = _s(log="This program can only be run on AMD64 processors with v3 microarchitecture support.\n", old={})
    (f,) = find(s.context(tmp_path))
    assert "x86-64-v3" in f.summary and f.confidence < 0.9
    assert any(m.what == "the nodes' CPU features" for m in f.missing_evidence)


def test_bare_sigill_needs_both_levels(tmp_path: Path) -> None:
    cfg = config("amd64", history=["RUN /bin/sh -c CGO_ENABLED=0 GOAMD64=v3 go build -o /app ./cmd # buildkit"])
    (f,) = find(_s(log="Illegal instruction (core dumped)\n", cfg=cfg, exit_code=132).context(tmp_path / "a"))
    assert "x86-64-v3" in f.summary and "GOAMD64=v3" in f.summary
    plain = config("amd64")
    assert find(_s(log="Illegal instruction (core dumped)\n", cfg=plain, exit_code=132).context(tmp_path / "b")) == []


def test_the_level_is_present_refutes_it(tmp_path: Path) -> None:
    cfg = config("amd64", history=["RUN /bin/sh -c GOAMD64=v3 go build . # buildkit"])
    s = _s(log="Illegal instruction (core dumped)\n", cfg=cfg, old=NEW, exit_code=132)
    assert find(s.context(tmp_path)) == []


def test_index_variant_names_the_level(tmp_path: Path) -> None:
    idx, cfgs = index_with_configs(
        [("linux/amd64/v3", config("amd64", variant="v3")), ("linux/arm64", config("arm64"))]
    )
    s = FamilyScenario(
        nodes={},
        node_specs={"old-1": Node("amd64", labels=OLD)},
        images={IMG: (idx, None)},
        child_configs={IMG: cfgs},
        pods=[Pod("etl-a", "old-1", IMG, crash=True, log="Illegal instruction\n", workload="etl")],
    )
    (f,) = find(s.context(tmp_path))
    assert "x86-64-v3" in f.summary


def test_level_in_texts() -> None:
    assert level_in_texts(["Fatal glibc error: CPU does not support x86-64-v2"]) == "v2"
    assert level_in_texts(["RuntimeError: NumPy was built with baseline optimizations: (X86_V2) but ..."]) == "v2"
    assert (
        level_in_texts(
            [
                "This program can only be run on AMD64 processors with v3 microarchitecture support.",
                "Fatal glibc error: CPU does not support x86-64-v2",
            ]
        )
        == "v3"
    )
    assert level_in_texts(["Illegal instruction"]) is None


def test_under_emulation_the_emulated_cpu_lacks_the_level(tmp_path: Path) -> None:
    cfg = config("amd64", labels={"com.redhat.component": "ubi9-container"})
    s = FamilyScenario(
        nodes={},
        node_specs={"arm-1": Node("arm64")},
        images={IMG: (manifest_for(cfg), cfg)},
        binfmt={"arm-1": ["qemu-x86_64"]},
        pods=[Pod("etl-a", "arm-1", IMG, crash=True, log=GLIBC, workload="etl")],
    )
    ctx = s.context(tmp_path)
    (f,) = find(ctx)
    assert "under emulation on arm64 nodes" in f.summary and "x86-64-v2" in f.summary
    assert any("QEMU_CPU" in r.command for r in f.remediation)
    merged = {x.workload.name: x for x in merge(run_all(ctx, all_rules())) if not x.latent}["etl"]
    assert merged.cause == CAUSE and "arch.emulation-fault" in merged.contributing
    assert not [c for c in merged.contributing if c in ("arch.single-arch-image", "arch.missing-emulation")]
