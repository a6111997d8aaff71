"""The findings contract is a type (`forensics.analysis.document`): what `analyze` writes is exactly what the
types describe, the example fixture has the same shape, docs/findings.md documents every field of
the generated JSON Schema and nothing else, and `forensics render` refuses a document of the wrong
shape in one line naming the field.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from forensics.analysis import document
from forensics.analysis.analyze import analyze
from forensics.read.formats import load_any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted(p for p in (ROOT / "sample_dumps").iterdir() if (p / "expected.yaml").is_file())
EXAMPLE = ROOT / "tests" / "fixtures" / "findings-example.json"
DOC = (ROOT / "docs" / "findings.md").read_text()
SCHEMA = document.schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]


def _same(a: Any, b: Any, where: str = "$") -> list[str]:
    """Where two JSON values differ (keys, lengths, kinds or values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in {'the document' if k in a else 'the types'}" for k in set(a) ^ set(b)]
        return out + [d for k in set(a) & set(b) for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items, {len(b)} after the round trip"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f"{where}[{i}]")]
    if type(a) is not type(b) or a != b:
        return [f"{where}: {a!r} became {b!r}"]
    return []


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_analyze_writes_exactly_what_the_types_describe(sample: Path) -> None:
    doc = json.loads(json.dumps(analyze(load_any(sample)), default=str))
    typed = document.convert(doc)
    assert typed.findings or typed.latent or typed.restart_history or typed.summary.verdict
    # nothing the types do not know is dropped, nothing is added, no kind changes
    assert _same(doc, msgspec.to_builtins(typed)) == []


def test_hostile_metadata_still_gives_a_document_render_accepts(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(ROOT / "sample_dumps" / "not-arch", dump)
    member = min((dump / "snapshots").rglob("*.json")).relative_to(dump).as_posix()
    with (dump / "forensics-dump.yaml").open("a") as fh:
        fh.write(f"files:\n- {{path: {member}, sha256: 12345}}\n- {{path: [1, 2], sha256: {{a: 1}}}}\n")
    doc = json.loads(json.dumps(analyze(load_any(dump)), default=str))
    typed = document.convert(doc)
    assert member in [f.path for f in typed.dump.files]
    assert all(f.sha256 is None or isinstance(f.sha256, str) for f in typed.dump.files)
    assert _same(doc, msgspec.to_builtins(typed)) == []


def test_the_example_fixture_has_the_shape_analyze_writes() -> None:
    raw = EXAMPLE.read_bytes()
    typed = document.decode(raw)
    assert typed.findings and typed.latent
    assert _same(json.loads(raw), msgspec.to_builtins(typed)) == []


# ------------------------------------------------------------------------------------ docs vs schema


def _refs(prop: dict[str, Any]) -> set[str]:
    """The struct names a schema property refers to (directly, as list items, or in a union)."""
    out: set[str] = set()
    if "$ref" in prop:
        out.add(prop["$ref"].rsplit("/", 1)[-1])
    for key in ("items", "additionalProperties"):
        if isinstance(prop.get(key), dict):
            out |= _refs(prop[key])
    for alt in prop.get("anyOf", []):
        out |= _refs(alt)
    return out


def _names(text: str) -> set[str]:
    return {n.rstrip("?").strip() for n in text.split(",") if n.strip()}


def _sections() -> dict[str, str]:
    """`## `name`` section title -> its text."""
    parts = re.split(r"^## ", DOC, flags=re.MULTILINE)
    return {
        m.group(1): body
        for part in parts[1:]
        if (m := re.match(r"`([^`]+)`\n(.*)", part, re.DOTALL))
        for body in [m.group(2)]
    }


def _documented() -> list[tuple[str, set[str], str]]:
    """(struct, the fields the docs give it, where): every place docs/findings.md lists fields."""
    out: list[tuple[str, set[str], str]] = []
    block = re.search(r"```json\n(.*?)```", DOC, re.DOTALL)
    assert block, "docs/findings.md opens with the document's outline"
    out.append(("FindingsDocument", set(re.findall(r'^  "([a-z_]+)":', block.group(1), re.MULTILINE)), "outline"))
    tool = re.search(r'"tool": \{([^}]*)\}', block.group(1))
    assert tool
    out.append(("Tool", set(re.findall(r'"([a-z_]+)":', tool.group(1))), "outline tool"))
    tables = {
        "dump": "Dump",
        "summary": "Summary",
        "inventory": "Inventory",
        "findings[]": "Finding",
        "series": "Series",
    }
    prose = {
        "restart_history[]": "RestartHistory",
        "timeline[]": "TimelineEvent",
        "gaps[]": "Gap",
        "load_problems[]": "LoadProblem",
    }
    sections = _sections()
    assert set(tables) | set(prose) <= set(sections)
    for title, struct in tables.items():
        fields: set[str] = set()
        for line in sections[title].splitlines():
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if len(cells) != 3 or not cells[0].startswith("`"):
                continue
            names = set(re.findall(r"`([a-z_]+)`", cells[0]))
            fields |= names
            nested = re.search(r"`\[?\{([^}]*)\}", cells[2])
            for name in names:
                props = DEFS[struct]["properties"]
                inner = _refs(props[name]) if name in props else set()
                if nested and inner:
                    out.append((inner.pop(), _names(nested.group(1)), f"{title}.{name}"))
        out.append((struct, fields, title))
    for title, struct in prose.items():
        text = sections[title]
        items = re.search(r"`\[\{([^}]*)\}\]`", text, re.DOTALL)
        assert items, f"docs/findings.md, {title}: no `[{{...}}]` list of fields"
        out.append((struct, _names(" ".join(items.group(1).split())), title))
        for name, inner_text in re.findall(r"`([a-z_]+)` \(`\[?\{([^}]*)\}", text):
            inner = _refs(DEFS[struct]["properties"].get(name, {}))
            if inner:
                out.append((inner.pop(), _names(inner_text), f"{title}.{name}"))
    return out


def test_docs_document_every_field_of_the_schema_and_nothing_else() -> None:
    documented = _documented()
    for struct, fields, where in documented:
        props = set(DEFS[struct]["properties"])
        assert fields == props, (
            f"docs/findings.md ({where}) vs {struct}: undocumented {sorted(props - fields)}, "
            f"not in the contract {sorted(fields - props)}"
        )
    reachable = set(DEFS)
    assert reachable == {s for s, _, _ in documented}, (
        f"types whose fields docs/findings.md never lists: {sorted(reachable - {s for s, _, _ in documented})}"
    )


def test_the_schema_says_what_a_finding_needs() -> None:
    finding = DEFS["Finding"]
    assert {"id", "cause", "severity", "confidence", "workload"} <= set(finding["required"])
    sev = finding["properties"]["severity"]
    assert set(sev.get("enum", [])) == {"critical", "high", "medium", "low", "info"}
    assert SCHEMA["$ref"].endswith("/FindingsDocument") and DEFS["FindingsDocument"]["required"] == ["schema"]


# ------------------------------------------------------------------------- render, as a user meets it


def _render(tmp_path: Path, doc: Any) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(doc))
    exe = Path(sys.executable).with_name("forensics")
    return subprocess.run(
        [str(exe), "render", str(src), "-o", str(tmp_path / "r.html")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def _example() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return doc


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda d: d["findings"][0].__setitem__("severity", "warning"), "findings[0].severity"),
        (lambda d: d["findings"][1].pop("cause"), "findings[1]: Object missing required field `cause`"),
        (
            lambda d: d["findings"][0]["images"][0].__setitem__("platforms", "linux/amd64"),
            "findings[0].images[0].platforms is a string, not a list",
        ),
        (lambda d: d["summary"]["architecture"].__setitem__("answer", 1), "summary.architecture.answer"),
        (
            lambda d: d["latent"][0]["evidence"][0].__setitem__("line", "12"),
            "latent[0].evidence[0].line is a string, not an integer or null",
        ),
        (
            lambda d: d["gaps"][0].__setitem__("relevant", "yes"),
            "gaps[0].relevant is a string, not a boolean",
        ),
        (
            lambda d: d.__setitem__("restart_history", [{"pods": []}]),
            "restart_history[0]: Object missing required",
        ),
    ],
)
def test_render_refuses_the_wrong_shape_in_one_line_naming_the_field(change: Any, says: str, tmp_path: Path) -> None:
    doc = _example()
    change(doc)
    r = _render(tmp_path, doc)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert says in lines[0] and "docs/findings.md" in lines[0]
    assert not (tmp_path / "r.html").exists(), "no half report"


def test_render_reads_the_example_and_a_document_without_optional_parts(tmp_path: Path) -> None:
    doc = _example()
    assert _render(tmp_path, doc).returncode == 0
    (tmp_path / "r.html").unlink()
    for key in ("restart_history", "series", "timeline", "inventory", "load_problems"):
        doc.pop(key)
    r = _render(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    assert "ledger-api" in (tmp_path / "r.html").read_text()


def test_the_published_schema_is_the_generated_one() -> None:
    published = json.loads((ROOT / "docs" / "findings.schema.json").read_text())
    assert published == SCHEMA, "regenerate docs/findings.schema.json from forensics.analysis.document.schema()"
