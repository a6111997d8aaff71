"""The folders of `forensics/` are the stages of the analysis (docs/architecture.md): each stage imports
only the stages before it, so the data flow can be read off the tree and a reader never reaches into the
analysis, nor knowledge into a dump."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "forensics"
STAGES = ("read", "knowledge", "analysis", "render", "serve", "several")
# stage -> the other stages it may import (the top-level cli, errors and values are open to all)
MAY_IMPORT = {
    "knowledge": set(),
    "read": {"knowledge"},
    "analysis": {"read", "knowledge"},
    "render": {"analysis", "knowledge"},
    "serve": {"read", "knowledge"},
    "several": {"read", "knowledge", "analysis", "render"},
}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("forensics"):
            out += [f"{node.module}.{a.name}" for a in node.names] if node.module == "forensics" else [node.module]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("forensics")]
    return out


def test_every_stage_imports_only_the_stages_before_it() -> None:
    wrong = []
    seen = set()
    for path in sorted(PKG.rglob("*.py")):
        own = _stage(".".join(path.relative_to(PKG.parent).with_suffix("").parts))
        if own is None:
            continue
        seen.add(own)
        for mod in _imports(path):
            other = _stage(mod)
            if other is not None and other != own and other not in MAY_IMPORT[own]:
                wrong.append(f"{path.relative_to(PKG.parent)} imports {mod}")
    assert seen == set(STAGES)  # the check walked every stage
    assert wrong == []


def test_only_the_entry_points_and_shared_values_sit_at_the_top() -> None:
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py", "errors.py", "values.py"]
    assert sorted(p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(STAGES)
