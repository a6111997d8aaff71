"""Bounded work: whatever a dump claims to hold, the analysis ends in seconds and within memory, with
one load problem for the part it gave up on, and the rest of the dump analyzed."""

from __future__ import annotations

import io
import json
import os
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.hostile.harness import (
    CHUNK,
    SAMPLE,
    SNAP,
    GiB,
    MiB,
    analyze,
    assert_bounded,
    assert_problem,
    assert_rest_analyzed,
    copy_sample,
    forensics,
    sample_files,
    tar_bytes,
    tar_members,
    tgz_with_big_member,
    write_tgz,
)

pytestmark = pytest.mark.hostile

CRASH_LOG = f"snapshots/{SNAP}/logs/payments/ledger-api-w4wr2qc9p-swgfk/ledger-api.log"
TB = 1 << 40


def test_gzip_bomb_member_stops_at_the_scan_budget(tmp_path: Path) -> None:
    # a 10 GiB log of zeros, about 10 MB compressed, after the real members
    arc = tgz_with_big_member(
        tmp_path / "bomb.tar.gz",
        sample_files(),
        f"dump/snapshots/{SNAP}/logs/payments/ledger-api-w4wr2qc9p-swgfk/zeros.log",
        b"",
        10 * GiB,
    )
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "archive reading stopped", "zeros.log", "compression bomb")
    assert_rest_analyzed(doc)


def _pax_sparse(name: str, realsize: int, tail: bytes) -> tuple[tarfile.TarInfo, bytes]:
    """A PAX 1.0 sparse member (GNU tar --sparse --format=posix): `realsize` bytes, all a hole but `tail`."""
    offset = realsize - len(tail)
    sparse_map = f"1\n{offset}\n{len(tail)}\n".encode()
    sparse_map += b"\0" * (-len(sparse_map) % 512)
    info = tarfile.TarInfo(f"{os.path.dirname(name)}/GNUSparseFile.0/{os.path.basename(name)}")
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": name,
        "GNU.sparse.realsize": str(realsize),
    }
    data = sparse_map + tail
    info.size = len(data)
    return info, data


def _gnu_sparse(name: str, realsize: int, tail: bytes) -> bytes:
    """An old GNU sparse member (type 'S', map in the header, base-256 numbers past 8 GiB)."""
    info = tarfile.TarInfo(name)
    info.size = len(tail)
    head = bytearray(info.tobuf(tarfile.GNU_FORMAT)[-512:])

    def b256(n: int) -> bytes:
        return b"\x80" + n.to_bytes(11, "big")

    head[156:157] = b"S"
    head[386:398] = b256(realsize - len(tail))  # the one data region: at the very end
    head[398:410] = b256(len(tail))
    head[482:483] = b"\0"
    head[483:495] = b256(realsize)
    head[148:156] = b"        "
    head[148:156] = b"%06o\0 " % sum(head)
    return bytes(head) + tail + b"\0" * (-len(tail) % 512)


@pytest.mark.parametrize("kind", ["pax", "gnu"])
def test_sparse_tar_member_of_a_terabyte(tmp_path: Path, kind: str) -> None:
    log = (SAMPLE / CRASH_LOG).read_bytes()
    members = [(n, d) for n, d in sample_files() if n != "dump/" + CRASH_LOG]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for n, d in members:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            tf.addfile(ti, io.BytesIO(d))
        if kind == "pax":
            info, data = _pax_sparse("dump/" + CRASH_LOG, TB, log)
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    if kind == "gnu":
        raw = tar_members(members) + _gnu_sparse("dump/" + CRASH_LOG, TB, log) + b"\0" * 1024
    import gzip

    arc = tmp_path / "sparse.tar.gz"
    arc.write_bytes(gzip.compress(raw, compresslevel=1))
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "file truncated to its tail", CRASH_LOG, str(TB))
    assert_rest_analyzed(doc)


def test_sparse_file_in_a_directory_dump(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    log = dump / CRASH_LOG
    data = log.read_bytes()
    with open(log, "r+b") as f:
        f.truncate(TB)
        f.seek(TB - len(data))
        f.write(data)
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "file truncated to its tail", CRASH_LOG)
    assert_rest_analyzed(doc)


def test_zstd_frames_of_many_gigabytes(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    cctx = zstandard.ZstdCompressor(level=3)
    frame = cctx.compress(b"\0" * CHUNK)  # one frame: 64 MiB of zeros in a few KB
    name = f"dump/snapshots/{SNAP}/logs/payments/ledger-api-w4wr2qc9p-swgfk/zeros.log"
    size = 100 * GiB
    head = tar_members(sample_files())
    info = tarfile.TarInfo(name)
    info.size = size
    arc = tmp_path / "bomb.tar.zst"
    with open(arc, "wb") as f:
        f.write(cctx.compress(head + info.tobuf(tarfile.PAX_FORMAT)))
        f.write(frame * 40)  # 2.5 GiB in frames: past the scan budget; the header claims 100 GiB
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "archive reading stopped", "zeros.log")
    assert_rest_analyzed(doc)


def test_zstd_frame_asking_for_a_huge_window(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, write_content_size=False)
    cctx = zstandard.ZstdCompressor(compression_params=params)
    tail = tar_bytes([(f"dump/snapshots/{SNAP}/logs/payments/p/c.log", b"x" * 1000)])
    good = zstandard.ZstdCompressor().compress(tar_members(sample_files()))
    out = io.BytesIO()
    with cctx.stream_writer(out, closefd=False) as w:  # streamed: the frame states its 2 GiB window
        w.write(tail)
    bad = out.getvalue()
    arc = tmp_path / "window.tar.zst"
    arc.write_bytes(good + bad)
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "archive truncated or corrupt", why="zstd")
    assert_rest_analyzed(doc)


def test_pods_json_of_three_gigabytes_sparse_in_a_directory(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    pods = dump / "snapshots" / SNAP / "pods.json"
    with open(pods, "r+b") as f:
        f.truncate(int(2.9 * GiB))  # kubectl's list, then a 2.9 GB hole of zeros
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unreadable object list", "pods.json")
    assert_rest_analyzed(doc)  # the pods before the padding were read


def test_pods_json_padded_with_three_gigabytes_of_whitespace(tmp_path: Path) -> None:
    files = sample_files()
    pods_name = f"dump/snapshots/{SNAP}/pods.json"
    pods = dict(files)[pods_name]
    body = pods.rsplit(b"]", 1)[0]  # the list, then padding where its end should be
    size = int(2.9 * GiB)
    arc = tgz_with_big_member(
        tmp_path / "padded.tar.gz", [(n, d) for n, d in files if n != pods_name], pods_name, body, size, fill=b" "
    )
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unreadable object list", "pods.json")
    assert_rest_analyzed(doc)


def test_two_hundred_thousand_tiny_members(tmp_path: Path) -> None:
    junk = [(f"dump/snapshots/{SNAP}/logs/junk/pod-{i}/c.log", b"ok\n") for i in range(200_000)]
    arc = write_tgz(tmp_path / "many.tar.gz", sample_files() + junk)
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    assert_rest_analyzed(run.doc())


def test_a_hundred_thousand_snapshot_folders(tmp_path: Path) -> None:
    empty = json.dumps({"apiVersion": "v1", "kind": "List", "items": []}).encode()
    # all older than the sample's snapshot, after its files in the archive
    start = datetime(2020, 1, 1, tzinfo=UTC)
    extra = [
        (f"dump/snapshots/{start + timedelta(seconds=i):%Y%m%dT%H%M%SZ}/events.json", empty) for i in range(100_000)
    ]
    arc = write_tgz(tmp_path / "snaps.tar.gz", sample_files() + extra)
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "too many snapshots")
    assert_rest_analyzed(doc)


def test_index_with_a_hundred_thousand_children_and_cyclic_references(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    own = "sha256:" + "c" * 64  # nested entries name the index itself: a cycle, if it were followed
    manifests = [
        (
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{i:064x}",
                "size": 1,
                "platform": {"os": "linux", "architecture": "arm64"},
            }
            if i % 2 == 0
            else {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": own, "size": 1}
        )
        for i in range(100_000)
    ]
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    folder = dump / "images" / "cyclic"
    (folder / "configs").mkdir(parents=True)
    (folder / "ref.txt").write_text("example.com/cyclic:1\n")
    (folder / "manifest.json").write_text(json.dumps(index))
    config = json.dumps({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers"}})
    for i in range(3000):  # child configs, each naming an entry
        (folder / "configs" / f"sha256_{2 * i:064x}.json").write_text(config)
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "too many child configs", "cyclic")
    assert_rest_analyzed(doc)


def test_yaml_alias_bomb_in_the_dump_metadata(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    meta = dump / "forensics-dump.yaml"
    meta.write_text(meta.read_text() + "\n".join(lines) + "\n")
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unreadable dump metadata", "forensics-dump.yaml", "alias")
    assert_rest_analyzed(doc)


def test_adversarial_log_lines_scan_in_linear_time(tmp_path: Path) -> None:
    from forensics.knowledge.signatures import MAX_LINE, SIGNATURES

    dump = copy_sample(tmp_path)
    log = dump / CRASH_LOG
    crash = log.read_bytes()
    # for every pattern: lines made of its own literal pieces, repeated to 64 KiB (these make the
    # backtracking patterns take hundreds of milliseconds per line when run on whole lines)
    pieces: list[str] = []
    for sig in SIGNATURES:
        words = [
            w
            for w in "".join(c if c.isalnum() or c in " :/=\"'`" else " " for c in sig.pattern.pattern).split()
            if len(w) > 2
        ]
        pieces.append(" ".join(words[:4]) + " ")
    # as long as the log cap allows for two lines per pattern, at most 64 KiB, always far past MAX_LINE
    width = min(64 * 1024, (8 * MiB - len(crash)) // (2 * len(pieces)) - 2)
    assert width > 16 * MAX_LINE
    lines = [((p * (width // len(p) + 1))[:width]).encode() for p in pieces]
    body = b"\n".join(lines * 2) + b"\n"
    assert len(body) < 8 * MiB  # the whole log is scanned, nothing is cut
    log.write_bytes(body + crash)
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    assert_rest_analyzed(run.doc())


def test_frames_command_is_bounded_too(tmp_path: Path) -> None:
    arc = tgz_with_big_member(
        tmp_path / "bomb.tar.gz",
        sample_files(),
        f"dump/snapshots/{SNAP}/events.json",
        b'{"items": [\n',
        3 * GiB - 1,
        fill=b"\0",
    )
    run = forensics("frames", arc, cwd=tmp_path)
    assert_bounded(run)
    assert "pods" in run.stdout
    assert "load problem:" in run.stderr
