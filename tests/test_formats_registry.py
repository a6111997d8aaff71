"""Formats declare themselves: one registry in order of precedence, one member loop, one reader of
times in names."""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path

from forensics.read import formats
from forensics.read.formats import FORMATS, detect
from forensics.read.formats.common import Format, Part, open_raw, parts_of, time_in_names


def test_every_declared_format_is_registered_once() -> None:
    declared = set()
    for mod in pkgutil.iter_modules(formats.__path__):
        spec = getattr(importlib.import_module(f"forensics.read.formats.{mod.name}"), "SPEC", None)
        if isinstance(spec, Format):
            declared.add(spec.name)
    names = [f.name for f in FORMATS]
    assert len(names) == len(set(names))
    assert declared <= set(names)
    assert all(any((f.marker, f.sniff, f.content, f.fallback)) for f in FORMATS), "a format nobody can recognise"


def test_precedence_is_the_order_of_the_registry(tmp_path: Path) -> None:
    """A folder matching two layouts (a must-gather tree inside a support bundle's root) is read as the
    format listed first."""
    root = tmp_path / "both"
    (root / "cluster-resources").mkdir(parents=True)
    (root / "cluster-resources" / "nodes.json").write_text('{"items": []}')
    (root / "cluster-scoped-resources" / "core" / "nodes").mkdir(parents=True)
    (root / "cluster-scoped-resources" / "core" / "nodes" / "n1.yaml").write_text("kind: Node\n")
    order = [f.name for f in FORMATS]
    got = detect(root).format
    assert got in ("troubleshoot-bundle", "must-gather")
    other = "must-gather" if got == "troubleshoot-bundle" else "troubleshoot-bundle"
    assert order.index(got) < order.index(other)


def test_parts_of_reads_only_classified_members_under_the_root(tmp_path: Path) -> None:
    (tmp_path / "wrap" / "root" / "logs").mkdir(parents=True)
    (tmp_path / "wrap" / "root" / "pods.json").write_bytes(b"[]")
    (tmp_path / "wrap" / "root" / "logs" / "a.log").write_bytes(b"x" * 100)
    (tmp_path / "wrap" / "root" / "notes.md").write_bytes(b"not ours")
    (tmp_path / "wrap" / "pods.json").write_bytes(b"outside the root")

    def classify(rel: str) -> Part | None:
        if rel == "pods.json":
            return Part("objects", "pods")
        if rel.startswith("logs/"):
            return Part("log", container=rel[5:-4])
        return None

    src = open_raw(tmp_path)
    got = {
        rel: (part, data)
        for rel, part, data in parts_of(src, "wrap/root/", classify, lambda p: 10 if p.role == "log" else 1000)
    }
    assert set(got) == {"pods.json", "logs/a.log"}
    assert got["pods.json"] == (Part("objects", "pods"), b"[]")
    assert got["logs/a.log"][0].container == "a" and got["logs/a.log"][1] == b"x" * 10  # a log keeps its tail
    skipped = list(parts_of(open_raw(tmp_path), "wrap/root/", classify, lambda p: None))
    assert skipped == []


def test_time_in_names_takes_the_first_name_that_spells_one() -> None:
    pat = re.compile(r"bundle-(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2})")
    fmt = "%Y-%m-%dT%H_%M_%S"
    assert time_in_names(pat, fmt, "x/", "bundle-2024-02-30T10_00_00", "bundle-2024-03-01T10_00_05.tgz") == datetime(
        2024, 3, 1, 10, 0, 5, tzinfo=UTC
    )
    assert time_in_names(pat, fmt, "bundle.tgz") is None
