"""platform.os-mismatch: Linux images on Windows nodes and the reverse, and Windows build mismatches;
never an arch.* cause, whatever the runtime's words."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.analyze import merge
from forensics.analysis.correlate import Context
from forensics.analysis.rules import all_rules, run_all
from forensics.analysis.rules.platform_os_mismatch import CAUSE, find
from tests.rules.exec_family_scenario import FamilyScenario, Node, Pod, config, index_with_configs

IMG = "registry.example.com/shop/api:3.0"
WIN = Node("amd64", os="windows", labels={"node.kubernetes.io/windows-build": "10.0.17763"}, kernel="10.0.17763.5820")
DOCKER_LINUX = 'rpc error: code = Unknown desc = image operating system "linux" cannot be used on this platform'
CONTAINERD = (
    'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/api:3.0": '
    "no match for platform in manifest: not found"
)


def _linux_index() -> tuple[bytes, dict[str, bytes]]:
    return index_with_configs([("linux/amd64", config("amd64")), ("linux/arm64", config("arm64"))])


def _s(
    message: str, *, inspected: bool = True, node: Node = WIN, image: tuple[bytes, dict[str, bytes]] | None = None
) -> FamilyScenario:
    idx, cfgs = image or _linux_index()
    return FamilyScenario(
        nodes={},
        node_specs={"win-1": node, "lin-1": Node("amd64")},
        images={IMG: (idx, None)} if inspected else {},
        child_configs={IMG: cfgs} if inspected else {},
        pods=[Pod("api-w", "win-1", IMG, pull_error=message), Pod("api-l", "lin-1", IMG)],
    )


def failing_example(tmp_path: Path) -> Context:
    return _s(DOCKER_LINUX).context(tmp_path / "dump")


def _merged(ctx: Context) -> object:
    return {f.workload.name: f for f in merge(run_all(ctx, all_rules())) if not f.latent}["api"]


def test_linux_image_on_a_windows_node(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    (f,) = find(ctx)
    assert f.cause == CAUSE and f.pods == ["api-w"] and f.confidence >= 0.9
    assert "linux image on windows nodes" in f.summary
    assert any(e.object == "Node win-1" and "operating system windows" in e.text for e in f.evidence)
    assert any('"kubernetes.io/os": "linux"' in r.command for r in f.remediation)
    merged = _merged(ctx)
    assert merged.cause == CAUSE
    assert not [c for c in merged.contributing if c.startswith("arch.")]


def test_containerd_wording_on_a_windows_node_without_inspection(tmp_path: Path) -> None:
    ctx = _s(CONTAINERD, inspected=False).context(tmp_path)
    (f,) = find(ctx)
    assert f.confidence < 0.8
    assert any(m.what == "no image inspection" for m in f.missing_evidence)
    assert _merged(ctx).cause == CAUSE


def test_windows_build_mismatch(tmp_path: Path) -> None:
    image = index_with_configs(
        [("windows/amd64", config("amd64", os="windows"))], os_versions={"windows/amd64": "10.0.20348.2461"}
    )
    msg = (
        "failed to create containerd task: failed to create shim task: hcs::CreateComputeSystem api: "
        "The container operating system does not match the host operating system.: unknown"
    )
    s = _s(msg, image=image)
    s.pods = [Pod("api-w", "win-1", IMG, crash=True, log=msg + "\n")]
    (f,) = find(s.context(tmp_path))
    assert "10.0.20348" in f.summary and "10.0.17763" in f.summary
    assert any("windows-build" in r.command and "10.0.17763" in r.command for r in f.remediation)


def test_windows_image_on_a_linux_node(tmp_path: Path) -> None:
    image = index_with_configs(
        [("windows/amd64", config("amd64", os="windows"))], os_versions={"windows/amd64": "10.0.17763.5820"}
    )
    s = _s(CONTAINERD, image=image)
    s.pods = [Pod("api-l", "lin-1", IMG, pull_error=CONTAINERD)]
    ctx = s.context(tmp_path)
    (f,) = find(ctx)
    assert "windows image on linux nodes" in f.summary
    assert any('"kubernetes.io/os": "windows"' in r.command for r in f.remediation)
    assert _merged(ctx).cause == CAUSE


def test_linux_everywhere_is_silent(tmp_path: Path) -> None:
    s = _s(CONTAINERD, node=Node("arm64"))
    # an arm64 Linux node missing from a linux index is an architecture question, not an OS one
    idx, cfgs = index_with_configs([("linux/amd64", config("amd64"))])
    s.images, s.child_configs = {IMG: (idx, None)}, {IMG: cfgs}
    assert find(s.context(tmp_path)) == []
