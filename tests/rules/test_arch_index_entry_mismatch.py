"""arch.index-entry-mismatch: an index whose arm64 entry's config says amd64 (the `crane validate`
check), from child configs in the dump; without them the lie cannot be seen."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.analyze import merge
from forensics.analysis.correlate import Context
from forensics.analysis.rules import all_rules, run_all
from forensics.analysis.rules.arch_index_entry_mismatch import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC
from tests.rules.exec_family_scenario import FamilyScenario, Node, Pod, config, index_with_configs

IMG = "registry.example.com/shop/api:2.0"


def _s(*, lie: bool = True, with_configs: bool = True, log: str = EXEC_RUNC + "\n") -> FamilyScenario:
    idx, cfgs = index_with_configs(
        [("linux/amd64", config("amd64")), ("linux/arm64", config("amd64" if lie else "arm64"))]
    )
    return FamilyScenario(
        nodes={},
        node_specs={"x-1": Node("amd64"), "a-1": Node("arm64"), "a-2": Node("arm64")},
        images={IMG: (idx, None)},
        child_configs={IMG: cfgs} if with_configs else {},
        pods=[
            Pod("api-x", "x-1", IMG),
            Pod("api-a", "a-1", IMG, crash=True, log=log),
            Pod("api-b", "a-2", IMG, crash=True, log=log),
        ],
    )


def failing_example(tmp_path: Path) -> Context:
    return _s().context(tmp_path / "dump")


def test_found_with_the_entry_and_its_config_as_evidence(tmp_path: Path) -> None:
    (f,) = find(failing_example(tmp_path))
    assert f.cause == CAUSE and f.pods == ["api-a", "api-b"] and f.node_archs == ["arm64"]
    assert "linux/arm64" in f.summary and "linux/amd64" in f.summary
    lie = [e for e in f.evidence if e.kind == "image" and "its config says linux/amd64" in e.text]
    assert lie and "says linux/arm64/v8" in lie[0].text
    assert any(e.kind == "log" and "exec format error" in e.text for e in f.evidence)
    assert any("crane validate" in r.command for r in f.remediation)


def test_is_primary_over_the_platform_causes(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    (f,) = [x for x in merge(run_all(ctx, all_rules())) if not x.latent and x.workload.name == "api"]
    assert f.cause == CAUSE
    assert "entrypoint-not-executable" not in f.contributing


def test_an_honest_index_is_not_a_lie(tmp_path: Path) -> None:
    assert find(_s(lie=False).context(tmp_path)) == []


def test_without_child_configs_the_lie_cannot_be_seen(tmp_path: Path) -> None:
    assert find(_s(with_configs=False).context(tmp_path)) == []


def test_operator_signals_are_evidence(tmp_path: Path) -> None:
    from tests.rules.exec_family_scenario import event

    s = _s()
    s.pod_labels = {"api-a": {"multiarch.openshift.io/exec-format-error": "true", "multiarch.openshift.io/arm64": ""}}
    s.events = [
        event(
            "api-b",
            "ArchAwareInspectionError",
            "The operator encountered an error while inspecting the "
            "container image to determine its supported architectures. Registry error: unauthorized",
            container=None,
        )
    ]
    (f,) = find(s.context(tmp_path))
    texts = [e.text for e in f.evidence]
    assert "label multiarch.openshift.io/exec-format-error=true" in texts
    assert any(t.startswith("multiarch tuning operator labels: arm64=,exec-format-error=true") for t in texts)
    assert any("could not inspect the image" in m.what for m in f.missing_evidence)
