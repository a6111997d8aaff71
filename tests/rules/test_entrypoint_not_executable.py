"""entrypoint-not-executable: the same words as an architecture mismatch, a different fault. The
differential (image platform = node platform, or the same image failing alike on two architectures)
keeps every arch.* cause from being primary."""

from __future__ import annotations

from pathlib import Path

from forensics.analysis.analyze import merge
from forensics.analysis.correlate import Context
from forensics.analysis.rules import all_rules, run_all
from forensics.analysis.rules.entrypoint_not_executable import CAUSE, entrypoint_paths, find
from tests.rules.arch_scenario import single_manifest
from tests.rules.exec_family_scenario import FamilyScenario, Node, Pod, config, index_with_configs

IMG = "registry.example.com/shop/worker:7.1"
NOSHEBANG = "exec /entrypoint.sh: exec format error\n"
CRLF = "exec /docker-entrypoint.sh: no such file or directory\n"


def _s(
    log: str, *, nodes: dict[str, str] | None = None, inspected: bool = True, image_arch: str = "amd64"
) -> FamilyScenario:
    nodes = nodes or {"x-1": "amd64", "x-2": "amd64"}
    return FamilyScenario(
        nodes={},
        node_specs={n: Node(a) for n, a in nodes.items()},
        images={IMG: single_manifest(image_arch)} if inspected else {},
        pods=[Pod(f"w-{i}", n, IMG, crash=True, log=log, workload="worker") for i, n in enumerate(nodes)],
    )


def failing_example(tmp_path: Path) -> Context:
    return _s(NOSHEBANG).context(tmp_path / "dump")


def _merged(ctx: Context) -> dict[str, object]:
    return {f.workload.name: f for f in merge(run_all(ctx, all_rules())) if not f.latent}


def test_exec_format_error_on_a_matching_platform_is_not_arch(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    (f,) = find(ctx)
    assert f.cause == CAUSE and "not an architecture problem" in f.summary and "/entrypoint.sh" in f.summary
    assert f.confidence >= 0.7
    merged = _merged(ctx)["worker"]
    assert merged.cause == CAUSE
    assert not [c for c in [merged.cause, *merged.contributing] if c.startswith("arch.")]
    cmds = " ".join(r.command for r in f.remediation)
    assert "/entrypoint.sh" in cmds and "#!/bin/sh" in cmds


def test_crlf_names_the_file_and_dos2unix(tmp_path: Path) -> None:
    s = _s(CRLF + "/usr/bin/env: 'bash\\r': No such file or directory\n")
    (f,) = find(s.context(tmp_path))
    assert "CRLF" in f.summary and f.confidence >= 0.9
    assert any("dos2unix docker-entrypoint.sh" in r.command for r in f.remediation)


def test_missing_execute_bit(tmp_path: Path) -> None:
    s = _s('exec: "/entrypoint.sh": permission denied\n')
    (f,) = find(s.context(tmp_path))
    assert "not executable" in f.summary
    assert any("chmod +x /entrypoint.sh" in r.command for r in f.remediation)


def test_without_an_inspection_two_architectures_alike_is_a_lowered_guess(tmp_path: Path) -> None:
    s = _s(NOSHEBANG, nodes={"x-1": "amd64", "a-1": "arm64"}, inspected=False)
    ctx = s.context(tmp_path)
    (f,) = find(ctx)
    assert f.confidence < 0.6
    assert any(m.what.startswith("no image inspection") for m in f.missing_evidence)
    merged = _merged(ctx)["worker"]
    assert not merged.cause.startswith("arch.")


def test_a_real_architecture_mismatch_is_left_to_the_arch_causes(tmp_path: Path) -> None:
    s = _s(NOSHEBANG, nodes={"a-1": "arm64", "a-2": "arm64"}, image_arch="amd64")
    ctx = s.context(tmp_path)
    assert find(ctx) == []
    assert _merged(ctx)["worker"].cause.startswith("arch.")


def test_uninspected_on_one_arch_is_not_claimed(tmp_path: Path) -> None:
    # exec format error on arm64 nodes only, no inspection: could be either; the arch causes decide
    s = _s(NOSHEBANG, nodes={"a-1": "arm64", "a-2": "arm64"}, inspected=False)
    assert find(s.context(tmp_path)) == []


def test_index_with_the_nodes_platform_matches(tmp_path: Path) -> None:
    idx, cfgs = index_with_configs([("linux/amd64", config("amd64")), ("linux/arm64", config("arm64"))])
    s = FamilyScenario(
        nodes={},
        node_specs={"a-1": Node("arm64")},
        images={IMG: (idx, None)},
        child_configs={IMG: cfgs},
        pods=[Pod("w-0", "a-1", IMG, crash=True, log=NOSHEBANG)],
    )
    (f,) = find(s.context(tmp_path))
    assert "linux/arm64/v8" in f.summary


def test_entrypoint_paths() -> None:
    assert entrypoint_paths(
        [
            "exec /entrypoint.sh: exec format error",
            'exec: "/docker-entrypoint.sh": permission denied',
            "/bin/bash: /start.sh: /bin/bash^M: bad interpreter",
            "exec /entrypoint.sh: exec format error",
        ]
    ) == ["/entrypoint.sh", "/docker-entrypoint.sh", "/start.sh"]


def test_bom_before_the_shebang(tmp_path: Path) -> None:
    # run through a shell, the BOM shows: the shell reads "\ufeff#!/bin/sh" as a command
    s = _s(NOSHEBANG + "/entrypoint.sh: line 1: \ufeff#!/bin/sh: not found\n")
    (f,) = find(s.context(tmp_path))
    assert "byte-order mark" in f.summary
    assert any("\\xEF\\xBB\\xBF" in r.command for r in f.remediation)


def test_interpreter_missing_from_the_image(tmp_path: Path) -> None:
    s = _s("/bin/sh: /entrypoint.sh: /bin/bash: bad interpreter: No such file or directory\n")
    (f,) = find(s.context(tmp_path))
    assert "interpreter" in f.summary and "CRLF" not in f.summary


def test_a_binary_entrypoint_is_not_called_a_script(tmp_path: Path) -> None:
    # `exec /app/server: exec format error` on a matching platform: a script without #!, or a binary of
    # another architecture inside a correctly labelled image; the dump cannot tell which
    (f,) = find(_s("exec /app/server: exec format error\n").context(tmp_path))
    assert "binary of another architecture" in f.summary and f.confidence <= 0.6
    assert any("ELF header" in m.why for m in f.missing_evidence)
