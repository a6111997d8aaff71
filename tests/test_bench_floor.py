"""The benchmark's floor (bench/floor.py) sees every object of a dump, whatever way it reads it: each
variant decodes exactly the objects a whole typed decode finds, through every tar header form and
compression, with big lists cut into item batches (the read size lowered so a small list is cut)."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import msgspec
import pytest

from forensics.read import layout
from forensics.read.kube import LIST_TYPES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import floor

SNAP = "20240101T000000Z"


def _pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"web-{i}", "namespace": "ns", "labels": {"app": "web", "note": "}, {" * (i % 3)}},
        "spec": {"nodeName": f"node-{i % 4}", "containers": [{"name": "app", "image": "nginx:1.25"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": i % 5}]},
    }


def _list(items: list[dict[str, Any]], kubectl: bool) -> bytes:
    doc = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
    if kubectl:  # as `kubectl get -A -o json` prints it
        return json.dumps(doc, indent=4, sort_keys=True).encode()
    return json.dumps(doc, separators=(",", ":")).encode()


def _dump(tmp: Path, *, pods: int, kubectl: bool, fmt: int, compress: str) -> Path:
    files = {
        layout.META: f"format: {layout.FORMAT_NAME}\nversion: {layout.FORMAT_VERSION}\nsnapshots: [{SNAP}]\n".encode(),
        layout.objects_file(SNAP, "pods"): _list([_pod(i) for i in range(pods)], kubectl),
        layout.objects_file(SNAP, "nodes"): _list(
            [{"metadata": {"name": f"node-{i}"}, "status": {"nodeInfo": {"architecture": "arm64"}}} for i in range(4)],
            kubectl,
        ),
        layout.objects_file(SNAP, "events"): _list([], kubectl),
        # a name over 100 bytes: a pax or GNU long-name header
        f"{layout.SNAPSHOTS}/{SNAP}/logs/ns/{'p' * 90}/app.log": b"exec /app: exec format error\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"dump/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        d = tarfile.TarInfo("dump/snapshots")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
    body = raw.getvalue()
    out = tmp / f"dump-{fmt}-{compress}.tar"
    if compress == "gz":  # two gzip members, as pigz writes
        half = len(body) // 2
        out = out.with_suffix(".tar.gz")
        out.write_bytes(gzip.compress(body[:half]) + gzip.compress(body[half:]))
    else:
        out.write_bytes(body)
    return out


def _truth(path: Path) -> dict[str, int]:
    """Objects per kind by decoding each list whole with the product's list types."""
    out = {}
    with tarfile.open(path) as tar:
        for m in tar:
            mem = layout.classify(m.name.split("/", 1)[1])
            if m.isfile() and mem is not None and mem.role == layout.ROLE_OBJECTS:
                f = tar.extractfile(m)
                assert f is not None
                items = msgspec.json.decode(f.read(), type=LIST_TYPES[mem.kind]).items
                out[mem.kind] = len(items or [])
    return out


@pytest.fixture
def small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of 4 KiB: a list of a few hundred pods is cut into many batches, items straddling reads."""
    monkeypatch.setattr(floor, "STREAM_CHUNK", 4096)
    monkeypatch.setattr(floor, "BATCH_OVER", 4096)
    monkeypatch.setattr(floor, "_SLOT_BYTES", 4096 + 64 * 1024)


@pytest.mark.parametrize("variant", floor.VARIANTS)
@pytest.mark.parametrize(
    ("fmt", "compress"), [(tarfile.PAX_FORMAT, "gz"), (tarfile.GNU_FORMAT, "gz"), (tarfile.USTAR_FORMAT, "")]
)
def test_every_variant_decodes_every_object_in_batches(
    tmp_path: Path, small_reads: None, variant: str, fmt: int, compress: str
) -> None:
    path = _dump(tmp_path, pods=300, kubectl=True, fmt=fmt, compress=compress)
    r = floor.measure(path, variant)
    truth = _truth(path)
    assert truth["pods"] == 300
    assert r["objects_by_kind"] == truth  # the empty events list too
    assert r["pods"] == 300
    assert r["decode_units"] > 10  # pods.json was cut into batches
    assert r["members"] == 5  # the directory is not a member read; the long-named log is
    assert r["largest_member"] == layout.objects_file(SNAP, "pods")
    assert r["inflate"] == ("none" if not compress else floor.INFLATE)
    if "procs" in variant:  # the worker takes what it has room for: how many depends on timing
        assert 0 < r["decode_units_in_worker"] <= r["decode_units"]
    else:
        assert r["decode_units_in_worker"] == 0


def test_a_list_not_in_kubectls_layout_is_decoded_whole(tmp_path: Path, small_reads: None) -> None:
    path = _dump(tmp_path, pods=300, kubectl=False, fmt=tarfile.PAX_FORMAT, compress="gz")
    for variant in ("1core", "procs"):
        r = floor.measure(path, variant)
        assert r["pods"] == 300 and r["objects_by_kind"]["nodes"] == 4


@pytest.mark.parametrize("variant", floor.VARIANTS)
def test_an_item_larger_than_the_buffer_is_an_error_not_a_wrong_count(
    tmp_path: Path, small_reads: None, variant: str
) -> None:
    big = _pod(0)
    big["metadata"]["annotations"] = {"blob": "x" * (200 * 1024)}
    path = tmp_path / "one.tar"
    data = _list([_pod(1), big, _pod(2)], kubectl=True)
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"dump/{layout.objects_file(SNAP, 'pods')}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    shm = Path("/dev/shm")
    before = set(shm.iterdir()) if shm.is_dir() else set()
    with pytest.raises(ValueError, match="no end of an item"):
        floor.measure(path, variant)
    if shm.is_dir():  # the worker's shared memory is removed after a failure too
        assert set(shm.iterdir()) <= before


def test_without_isal_the_floor_inflates_with_zlib_and_says_so(
    tmp_path: Path, small_reads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zlib

    monkeypatch.setattr(floor, "_inflate", zlib)
    monkeypatch.setattr(floor, "INFLATE", "zlib")
    path = _dump(tmp_path, pods=120, kubectl=True, fmt=tarfile.PAX_FORMAT, compress="gz")
    r = floor.measure(path, "1core")
    assert r["inflate"] == "zlib" and r["objects_by_kind"] == _truth(path)


def test_a_zstd_archive(tmp_path: Path, small_reads: None) -> None:
    zstandard = pytest.importorskip("zstandard")
    plain = _dump(tmp_path, pods=120, kubectl=True, fmt=tarfile.PAX_FORMAT, compress="")
    path = tmp_path / "dump.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    r = floor.measure(path, "procs")
    assert r["inflate"] == "zstd" and r["objects_by_kind"] == _truth(plain)
