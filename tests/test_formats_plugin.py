"""Adding a dump format is its module and one line in `FORMATS`: a tiny format declared here, in the
test, is recognised, analyzed and served with no other change.

The tiny layout: a `TINY-DUMP` marker file holding the collection time, `objects/<kind>.json` kubectl
lists and `logs/<namespace>/<pod>/<container>[.previous].log`, under any wrapping folder."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis.analyze import analyze
from forensics.read import formats
from forensics.read.formats.common import (
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    Part,
    add_images,
    decode_json_items,
    finish,
    open_raw,
    parts_of,
    prefix_before,
    snapshot_name,
)
from forensics.read.load import Dump, load_dump
from forensics.serve.served import open_served
from tests.foreign_dumps import KINDS, SAMPLES, assert_same_findings, collected_at, latest_snapshot, read_logs

# --- the format, as its module would declare it -------------------------------------------------------

TINY = "tiny-dump"
MARKER = "TINY-DUMP"
PREVIOUS = ".previous.log"


def marker(parts: list[str]) -> tuple[str, bool] | None:
    return (prefix_before(parts, len(parts) - 1), True) if parts[-1] == MARKER else None


def classify(rel: str) -> Part | None:
    parts = rel.split("/")
    if rel == MARKER:
        return Part("stamp")
    if len(parts) == 2 and parts[0] == "objects" and parts[1].endswith(".json"):
        return Part("objects", parts[1][: -len(".json")])
    if len(parts) == 4 and parts[0] == "logs" and parts[3].endswith(".log"):
        prev = parts[3].endswith(PREVIOUS)
        container = parts[3][: -len(PREVIOUS)] if prev else parts[3][: -len(".log")]
        return Part("log", namespace=parts[1], pod=parts[2], container=container, previous=prev)
    return None


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    src = open_raw(path)
    b = ForeignBuilder()
    when: datetime | None = None
    for rel, c, data in parts_of(src, found.prefix, classify, lambda c: src.limits.member_bytes):
        if c.role == "stamp":
            when = datetime.fromisoformat(data.decode().strip())
        elif c.role == "objects" and c.kind is not None:
            b.add_items(PENDING, c.kind, rel, decode_json_items(c.kind, data))
        elif c.role == "log":
            b.add_log_text(PENDING, str(c.namespace), str(c.pod), str(c.container), c.previous, rel, data)
    if images is not None:
        add_images(b, images, src)
    return finish(b, src, path=path, fmt=TINY, meta={}, collected_at=when, gaps=[])


SPEC = Format(TINY, read, marker=marker, classify=classify)

# --- the tests ---------------------------------------------------------------------------------------


def _tiny(
    v1: Path, root: Path
) -> tuple[Path, dict[str, list[dict[str, Any]]], dict[tuple[str, str, str, bool], bytes]]:
    """The latest snapshot of a v1 sample in the tiny layout, under `root/wrap/`; returns the tree, the
    objects and the logs written."""
    snap = latest_snapshot(v1)
    top = root / "wrap"
    (top / "objects").mkdir(parents=True)
    (top / MARKER).write_text(collected_at(v1).isoformat())
    lists: dict[str, list[dict[str, Any]]] = {}
    for kind in ("nodes", *KINDS):
        src = v1 / "snapshots" / snap / f"{kind}.json"
        if src.is_file():
            shutil.copyfile(src, top / "objects" / f"{kind}.json")
            lists[kind] = json.loads(src.read_text())["items"]
    logs = {}
    for ns, pod, container, prev, data in read_logs(v1, snap):
        f = top / "logs" / ns / pod / (container + (PREVIOUS if prev else ".log"))
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
        logs[(ns, pod, container, prev)] = data
    return root, lists, logs


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one line a new format adds: its SPEC in FORMATS (before the content-recognised formats)."""
    monkeypatch.setattr(formats, "FORMATS", (*formats.FORMATS[:-2], SPEC, *formats.FORMATS[-2:]))


def test_unregistered_the_tree_is_not_read_as_the_tiny_format(tmp_path: Path) -> None:
    tree, _, _ = _tiny(SAMPLES / "graviton-new-pool", tmp_path)
    assert formats.detect(tree).format != TINY


@pytest.mark.parametrize("story", ["graviton-new-pool", "laptop-build"])
def test_registered_it_is_analyzed_like_the_native_dump(story: str, tmp_path: Path, registered: None) -> None:
    v1 = SAMPLES / story
    tree, _, _ = _tiny(v1, tmp_path)
    assert formats.detect(tree) == Detected(TINY, "wrap/")
    dump = formats.load_any(tree, images=v1 / "images")
    assert dump.format == TINY
    native = load_dump(v1)
    assert dump.snapshots == [snapshot_name(collected_at(v1))]  # named from the marker's collection time
    doc, want = analyze(dump), analyze(native)
    assert want["findings"], "a story with findings proves something"
    assert_same_findings(want, doc)
    assert {f["cause"] for f in doc["findings"]} == {f["cause"] for f in want["findings"]}


def test_registered_it_is_served_whole(tmp_path: Path, registered: None) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    tree, lists, logs = _tiny(v1, tmp_path)
    served = open_served(tree)
    assert served.format == TINY
    assert served.snapshots == formats.load_any(tree).snapshots
    snap = served.snapshot(served.snapshots[0])
    assert snap.problems == []
    assert {k: v for k, v in snap.lists.items() if v} == {k: v for k, v in lists.items() if v}
    assert logs and any(prev for *_, prev in logs), "the sample has current and previous logs"
    for (ns, pod, container, prev), data in logs.items():
        assert snap.log(ns, pod, container, prev) == data
    assert snap.log("no-such-namespace", "p", "c", False) is None
