"""The node x image platform join compares OS, architecture and variant, normalized the way runtimes
match (aarch64 = arm64 = arm64/v8, armhf = armv7l = arm/v7), and 32-bit ARM shows its variant in the
evidence of the existing causes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forensics.analysis.analyze import merge
from forensics.analysis.rules import all_rules, run_all
from forensics.knowledge.arch import (
    lacks_aarch32,
    normalize_os,
    parse_platform,
    platform_label,
    windows_build,
    x86_level_from_features,
)
from tests.rules.arch_scenario import EXEC_RUNC, single_manifest
from tests.rules.exec_family_scenario import FamilyScenario, Node, Pod, config, index_with_configs

IMG = "registry.example.com/iot/agent:1.0"


@pytest.mark.parametrize(
    ("os", "arch", "variant", "label"),
    [
        ("linux", "aarch64", None, "arm64"),
        ("linux", "arm64", "v8", "arm64"),
        ("linux", "armv7l", None, "arm/v7"),
        ("linux", "armhf", None, "arm/v7"),
        ("linux", "arm", None, "arm/v7"),
        ("linux", "armv6l", None, "arm/v6"),
        ("Windows", "x86_64", None, "windows/amd64"),
        (None, "amd64", "v3", "amd64"),
    ],
)
def test_platform_labels(os: str | None, arch: str, variant: str | None, label: str) -> None:
    assert platform_label(os, arch, variant) == label


def test_normalizations() -> None:
    assert parse_platform("linux/arm64/v8") == parse_platform("linux/aarch64") == parse_platform("arm64")
    assert parse_platform("linux/armhf") == parse_platform("linux/arm/v7")
    assert normalize_os("Windows") == "windows" and normalize_os("") == ""
    assert windows_build("10.0.17763.5820") == "10.0.17763" and windows_build("6.1") is None
    assert lacks_aarch32("m7g.xlarge") and lacks_aarch32("Standard_D4ps_v5") and not lacks_aarch32("rpi4")
    assert x86_level_from_features(set()) is None
    assert x86_level_from_features({"X87", "FXSR"}) == "v1"
    assert x86_level_from_features({"AVX"}) == "v2"
    assert x86_level_from_features({"AVX", "AVX2", "FMA3"}) == "v3"


def _run(
    tmp_path: Path,
    nodes: dict[str, Node],
    image: tuple[bytes, bytes | None],
    cfgs: dict[str, bytes],
    log: str = EXEC_RUNC + "\n",
):
    s = FamilyScenario(
        nodes={},
        node_specs=nodes,
        images={IMG: image},
        child_configs={IMG: cfgs} if cfgs else {},
        pods=[Pod(f"p-{n}", n, IMG, crash=True, log=log, workload="agent") for n in nodes],
    )
    ctx = s.context(tmp_path)
    return ctx, {f.workload.name: f for f in merge(run_all(ctx, all_rules())) if not f.latent}


def test_arm64_only_image_on_32_bit_arm_nodes(tmp_path: Path) -> None:
    ctx, found = _run(tmp_path, {"pi-1": Node("arm")}, single_manifest("arm64"), {})
    f = found["agent"]
    assert f.cause == "arch.single-arch-image"
    assert any(e.object == "Node pi-1" and "architecture arm/v7" in e.text for e in f.evidence)
    assert ctx.placement["supported"].tolist() == [False]


def test_arm_v7_image_on_graviton_without_aarch32(tmp_path: Path) -> None:
    idx, cfgs = index_with_configs([("linux/arm/v7", config("arm", variant="v7")), ("linux/amd64", config("amd64"))])
    node = Node("arm64", labels={"node.kubernetes.io/instance-type": "m7g.xlarge"})
    _, found = _run(tmp_path, {"g-1": node}, (idx, None), cfgs)
    f = found["agent"]
    assert f.cause == "arch.index-missing-platform"
    assert any("linux/arm/v7" in e.text for e in f.evidence if e.kind == "image")
    assert any(e.object == "Node g-1" and "without AArch32" in e.text for e in f.evidence)


def test_variants_compare(tmp_path: Path) -> None:
    idx, cfgs = index_with_configs([("linux/arm/v6", config("arm", variant="v6"))])
    ctx, _ = _run(tmp_path / "a", {"pi-1": Node("arm")}, (idx, None), cfgs, log="ok\n")
    assert ctx.placement["supported"].tolist() == [True]  # a v7 CPU runs v6 binaries
    idx, cfgs = index_with_configs([("linux/arm64/v8", config("arm64", variant="v8"))])
    ctx, _ = _run(tmp_path / "b", {"a-1": Node("aarch64")}, (idx, None), cfgs, log="ok\n")
    assert ctx.placement["supported"].tolist() == [True]  # aarch64 = arm64 = arm64/v8


def test_os_is_part_of_the_platform(tmp_path: Path) -> None:
    idx, cfgs = index_with_configs([("linux/amd64", config("amd64"))])
    ctx, _ = _run(tmp_path, {"w-1": Node("amd64", os="windows")}, (idx, None), cfgs, log="ok\n")
    assert ctx.placement["supported"].tolist() == [False]
    assert ctx.placement["os_mismatch"].tolist() == [True]


@pytest.mark.parametrize(
    ("cfg", "level", "why"),
    [
        (config("amd64", labels={"com.redhat.component": "ubi9-container"}), "v2", "RHEL 9"),
        (config("amd64", labels={"cpe": "cpe:/o:redhat:enterprise_linux:10::baseos"}), "v3", "RHEL 10"),
        (config("amd64", env=["PATH=/usr/bin", "GOAMD64=v3"]), "v3", "GOAMD64=v3"),
        (config("amd64", history=["RUN /bin/sh -c gcc -O2 -march=x86-64-v4 -o /app app.c # buildkit"]), "v4", "-march"),
        (config("amd64", variant="v2"), "v2", "variant"),
        (config("amd64", labels={"com.redhat.component": "ubi8-container"}), None, None),
        (config("arm64", labels={"com.redhat.component": "ubi9-container"}), None, None),
    ],
)
def test_image_level_from_config(cfg: bytes, level: str | None, why: str | None) -> None:
    from forensics.knowledge.manifests import amd64_level_of_config

    got, because = amd64_level_of_config(cfg)
    assert got == level
    assert (why is None and because is None) or (why in (because or ""))


def test_containers_image_arch_mismatch_names_a_single_arch_image(tmp_path: Path) -> None:
    msg = 'Error: choosing image: Image architecture mismatch: image uses "amd64", expecting "arm64"'
    s = FamilyScenario(
        nodes={},
        node_specs={"a-1": Node("arm64"), "x-1": Node("amd64")},
        images={},
        pods=[Pod("p-a", "a-1", IMG, pull_error=msg, workload="agent"), Pod("p-x", "x-1", IMG, workload="agent")],
    )
    ctx = s.context(tmp_path)
    found = {f.workload.name: f for f in merge(run_all(ctx, all_rules())) if not f.latent}
    assert found["agent"].cause == "arch.single-arch-image"
    assert any("Image architecture mismatch" in e.text for e in found["agent"].evidence)


def test_frames_carry_cpu_level_windows_build_operator_labels_and_child_configs(tmp_path: Path) -> None:
    nfd = {
        "feature.node.kubernetes.io/cpu-cpuid.AVX": "true",
        "feature.node.kubernetes.io/cpu-model.vendor_id": "Intel",
        "feature.node.kubernetes.io/cpu-model.family": "6",
        "feature.node.kubernetes.io/cpu-model.id": "45",
    }
    idx, cfgs = index_with_configs([("linux/amd64", config("amd64")), ("linux/arm64", config("amd64"))])
    s = FamilyScenario(
        nodes={},
        node_specs={"x-1": Node("amd64", labels=nfd), "w-1": Node("amd64", os="Windows", kernel="10.0.20348.2461")},
        images={IMG: (idx, None)},
        child_configs={IMG: cfgs},
        pods=[Pod("p-x", "x-1", IMG, workload="agent")],
        pod_labels={"p-x": {"multiarch.openshift.io/single-arch": "", "multiarch.openshift.io/amd64": ""}},
    )
    f = s.context(tmp_path).frames
    nodes = f["nodes"].set_index("node")
    assert nodes.loc["x-1", "cpu_level"] == "v2" and "AVX" in nodes.loc["x-1", "cpu_level_from"]
    assert nodes.loc["x-1", "cpu_model"] == "vendor_id=Intel family=6 id=45"
    assert nodes.loc["w-1", "os"] == "windows" and nodes.loc["w-1", "windows_build"] == "10.0.20348"
    assert f["pods"]["multiarch"].tolist() == ["amd64=,single-arch="]
    plats = f["image_platforms"].set_index("platform")
    assert plats.loc["linux/arm64/v8", "config_platform"] == "linux/amd64"
    assert plats.loc["linux/amd64", "config_platform"] == "linux/amd64"


def test_cpuinfo_collected_from_the_node_gives_its_level(tmp_path: Path) -> None:
    from forensics.read import layout
    from forensics.read.load import load_dump

    # a KVM guest with the default CPU model: the model name from meshtastic/web#148, the flags line from
    # Unstructured-IO/unstructured-api#497 (both public issue threads): no ssse3/sse4_2/popcnt, so x86-64-v1
    kvm64 = (
        "model name\t: Common KVM processor\nflags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
        "pse36 clflush mmx fxsr sse sse2 ht syscall nx lm rep_good nopl xtopology eagerfpu pni cx16 x2apic "
        "hypervisor lahf_lm\n"
    )
    s = FamilyScenario(nodes={}, node_specs={"x-1": Node("amd64"), "a-1": Node("arm64")}, images={}, pods=[])
    root = s.write(tmp_path)
    for n in ("x-1", "a-1"):
        (root / layout.cpuinfo_file(n)).parent.mkdir(parents=True, exist_ok=True)
    (root / layout.cpuinfo_file("x-1")).write_text(kvm64)
    (root / layout.cpuinfo_file("a-1")).write_text("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n")
    nodes = load_dump(root).frames["nodes"].set_index("node")
    assert nodes.loc["x-1", "cpu_level"] == "v1" and nodes.loc["x-1", "cpu_model"] == "Common KVM processor"
    assert nodes.loc["x-1", "cpu_level_from"].startswith("nodes/x-1/cpuinfo")
    assert pd.isna(nodes.loc["a-1", "cpu_level"])
