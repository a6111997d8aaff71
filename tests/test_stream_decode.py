"""The streaming decoder for huge object lists (`source.Chunked` -> `FrameBuilder.add_objects_chunked`).

Real dumps reach it only past `source.STREAM_OVER` (256 MiB); the tests lower that threshold and the read
size so a dump of a few MB, written by the benchmark's generator in kubectl's own layout, takes the
same path and crosses hundreds of chunk boundaries.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench.gen_dump import generate
from forensics.read import parallel, source
from forensics.read.frames import FrameBuilder
from forensics.read.load import Dump, load_dump

PODS = 400
CHUNK = 10_007  # prime: chunk boundaries fall anywhere inside items


@pytest.fixture(scope="module")
def dump_tgz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stream") / "big.tar.gz"
    generate(out, pods=PODS, nodes=12, images=12, restart_fraction=0.2)
    return out


@pytest.fixture(scope="module")
def dump_tar(dump_tgz: Path) -> Path:
    out = dump_tgz.with_name("big.tar")
    out.write_bytes(gzip.decompress(dump_tgz.read_bytes()))
    return out


def _members(tar: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tar) as tf:
        return {m.name.split("/", 1)[1]: m for m in tf.getmembers() if m.isfile()}


def _member_bytes(tar: Path, name: str) -> bytes:
    with tarfile.open(tar) as tf:
        m = next(m for m in tf.getmembers() if m.name.endswith("/" + name))
        f = tf.extractfile(m)
        assert f is not None
        return f.read()


def _pods_file(tar: Path) -> str:
    return next(n for n in _members(tar) if n.endswith("/pods.json"))


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    """Lower the streaming threshold; record what each `add_items` call of the chunked path received."""
    monkeypatch.setattr(source, "STREAM_OVER", 64 * 1024)
    monkeypatch.setattr(source, "STREAM_CHUNK", CHUNK)
    monkeypatch.setattr(parallel, "PARALLEL_KINDS", frozenset())  # every batch decoded here, where the spy is
    calls: list[tuple[str, list[Any]]] = []
    chunked = FrameBuilder.add_objects_chunked
    add_items = FrameBuilder.add_items
    inside = [False]

    def spy_chunked(self: FrameBuilder, *a: Any, **kw: Any) -> None:
        inside[0] = True
        try:
            chunked(self, *a, **kw)
        finally:
            inside[0] = False

    def spy_items(self: FrameBuilder, snapshot: str, kind: str, file: str, items: list[Any]) -> None:
        if inside[0]:
            calls.append((kind, list(items)))
        add_items(self, snapshot, kind, file, items)

    monkeypatch.setattr(FrameBuilder, "add_objects_chunked", spy_chunked)
    monkeypatch.setattr(FrameBuilder, "add_items", spy_items)
    return calls


def _same_frames(a: Dump, b: Dump) -> None:
    assert a.frames.keys() == b.frames.keys()
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_exact=True, obj=name)


def test_streamed_lists_give_the_frames_of_the_one_shot_decode(dump_tar: Path, streamed: list) -> None:
    whole = _load_unstreamed(dump_tar)
    assert not streamed
    chunked = load_dump(dump_tar)
    kinds = {k for k, _ in streamed}
    assert {"pods", "events"} <= kinds  # the big lists took the streaming path
    assert len(chunked["pods"]) > 0 and chunked["pods"]["pod"].nunique() == PODS
    _same_frames(whole, chunked)
    assert [p.to_dict() for p in chunked.problems] == [p.to_dict() for p in whole.problems]


def _load_unstreamed(path: Path) -> Dump:
    saved = source.STREAM_OVER
    source.STREAM_OVER = 1 << 62
    try:
        return load_dump(path)
    finally:
        source.STREAM_OVER = saved


def test_batches_hold_whole_items_in_file_order_across_chunk_boundaries(dump_tar: Path, streamed: list) -> None:
    name = _pods_file(dump_tar)
    raw = _member_bytes(dump_tar, name)
    items = json.loads(raw)["items"]
    # the input really crosses chunk boundaries between items, whose bytes are contiguous (only "," between):
    # boundaries fall inside items
    starts = [raw.index(f'"uid": "{p["metadata"]["uid"]}"'.encode()) for p in items]
    assert sum(a // CHUNK != b // CHUNK for a, b in itertools.pairwise(starts)) > 10
    load_dump(dump_tar)
    batches = [b for kind, b in streamed if kind == "pods"]
    assert len(batches) > 10 and all(batches)
    got = [(p.metadata.namespace, p.metadata.name, p.metadata.uid) for b in batches for p in b]
    want = [(p["metadata"]["namespace"], p["metadata"]["name"], p["metadata"]["uid"]) for p in items]
    assert got == want  # every item once, whole, in order: none split, none lost at a boundary


def _cut_inside(tar: Path, name: str, out: Path, fraction: float = 0.5) -> Path:
    m = _members(tar)[name]
    data = tar.read_bytes()
    out.write_bytes(data[: m.offset_data + int(m.size * fraction)])
    return out


@pytest.mark.parametrize("packing", ["tar", "tar.gz"])
def test_truncated_archive_inside_a_streamed_list_is_a_load_problem(
    dump_tar: Path, streamed: list, tmp_path: Path, packing: str
) -> None:
    name = _pods_file(dump_tar)
    cut = _cut_inside(dump_tar, name, tmp_path / "cut.tar")
    if packing == "tar.gz":
        path = tmp_path / "cut.tar.gz"
        path.write_bytes(gzip.compress(cut.read_bytes(), compresslevel=1))
    else:
        path = cut
    d = load_dump(path)  # no traceback
    problems = {(p.file, p.what) for p in d.problems}
    assert (name, "archive truncated or corrupt") in problems, d.problems
    n = d["pods"]["pod"].nunique()
    assert 0 < n < PODS  # the items before the cut were kept
    assert len(d["nodes"]) > 0  # and what came before the list


def test_corrupt_zip_member_on_the_streamed_path_keeps_the_other_members(
    dump_tar: Path, streamed: list, tmp_path: Path
) -> None:
    path = tmp_path / "dump.zip"
    pods = _pods_file(dump_tar)
    with tarfile.open(dump_tar) as tf, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in tf.getmembers():
            f = tf.extractfile(m) if m.isfile() else None
            if f is not None:
                zf.writestr(m.name, f.read())
        info = zf.getinfo(next(n for n in zf.namelist() if n.endswith("/" + pods)))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(info.filename)
    mid = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    data[mid : mid + 64] = bytes(64)  # break the deflate stream in the middle of pods.json
    path.write_bytes(bytes(data))
    d = load_dump(path)
    # a broken deflate stream is met either as an inflate/CRC error or as bytes that are no JSON
    assert [p.file for p in d.problems] == [pods], d.problems
    assert d["pods"]["pod"].nunique() < PODS
    assert len(d["events"]) > 0 and len(d["workloads"]) > 0  # the members after the broken one still loaded
