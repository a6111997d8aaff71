"""`forensics.read.parallel`: pods.json's batches shared with a helper process give the rows one process
builds, in the same order, with the same notes and errors, and the load goes on when there is no helper."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest

from bench.gen_dump import generate
from forensics.read import kube, parallel, source
from forensics.read.chunks import item_batches
from forensics.read.frames import FrameBuilder
from forensics.read.load import load_dump

CHUNK = 20_011  # prime: batches of a few items each


def _pods_list(n: int) -> bytes:
    items = []
    for i in range(n):
        items.append(
            {
                "metadata": {"name": f"web-{i}", "namespace": "shop", "uid": f"u{i}", "labels": {"app": "web"}},
                "spec": {"nodeName": f"node-{i % 3}", "containers": [{"name": "app", "image": f"img:{i % 5}"}]},
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {"name": "app", "image": f"img:{i % 5}", "restartCount": i % 7, "ready": i % 2 == 0}
                    ],
                },
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4).encode()


def _batches(data: bytes) -> Iterator[bytes]:
    return (b.data for b in item_batches(data[i : i + CHUNK] for i in range(0, len(data), CHUNK)))


def _one_process(data: bytes, notes: list[str] | None) -> tuple[FrameBuilder, BaseException | None]:
    b = FrameBuilder()
    dec = kube.item_decoder("pods")
    try:
        for batch in _batches(data):
            b.add_batch("s1", "pods", "pods.json", dec, batch, notes)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        return b, e
    return b, None


def _columns(b: FrameBuilder) -> dict[str, dict[str, list[Any]]]:
    return {name: getattr(b, name).data for name in parallel.ROW_FRAMES}


def test_the_helper_builds_every_other_batch_and_the_rows_are_the_same() -> None:
    data = _pods_list(300)
    want, _ = _one_process(data, [])
    got = FrameBuilder()
    helped = parallel.add_batches(got, "s1", "pods", "pods.json", _batches(data), [])
    assert helped >= 5  # the helper really took batches
    assert _columns(got) == _columns(want)
    assert len(got.pods.data["pod"]) == 300 and got.snapshots_seen() == {"s1"}


def test_a_broken_batch_keeps_the_rows_before_it_and_raises_as_one_process_does() -> None:
    data = _pods_list(300)
    at = data.index(b'"name": "web-200"')
    broken = data[:at] + b'"name": web-200"' + data[at + len(b'"name": "web-200"') :]  # no longer JSON
    want, want_err = _one_process(broken, [])
    assert want_err is not None
    got = FrameBuilder()
    with pytest.raises(type(want_err)) as err:
        parallel.add_batches(got, "s1", "pods", "pods.json", _batches(broken), [])
    assert str(err.value) == str(want_err)
    assert _columns(got) == _columns(want) and 0 < len(got.pods.data["pod"]) < 200


def test_items_of_the_wrong_shape_are_noted_in_order_by_either_process() -> None:
    data = _pods_list(300)
    doc = json.loads(data)
    for i in (10, 150, 290):  # spread over batches built here and by the helper
        doc["items"][i]["spec"]["containers"] = "not a list"
    data = json.dumps(doc, indent=4).encode()
    want_notes: list[str] = []
    want, _ = _one_process(data, want_notes)
    notes: list[str] = []
    got = FrameBuilder()
    parallel.add_batches(got, "s1", "pods", "pods.json", _batches(data), notes)
    assert notes == want_notes and len(notes) == 3
    assert _columns(got) == _columns(want)


def test_no_helper_in_a_daemonic_process() -> None:
    """Where this process may have no children (a Dask worker), every batch is built here."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_helped_in_child) == (0, 300)


def _helped_in_child() -> tuple[int, int]:
    b = FrameBuilder()
    helped = parallel.add_batches(b, "s1", "pods", "pods.json", _batches(_pods_list(300)), [])
    return helped, len(b.pods.data["pod"])


def test_a_helper_that_cannot_start_leaves_the_load_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.sys, "executable", "/nonexistent/python3")
    data = _pods_list(120)
    want, _ = _one_process(data, [])
    got = FrameBuilder()
    assert parallel.add_batches(got, "s1", "pods", "pods.json", _batches(data), []) == 0
    assert _columns(got) == _columns(want)


def test_a_helper_that_dies_leaves_its_batch_and_the_rest_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    send = parallel.Helper.send
    helpers: list[parallel.Helper] = []

    def send_then_die(self: parallel.Helper, args: Any, data: bytes) -> None:
        send(self, args, data)
        if len(helpers) == 0:
            helpers.append(self)
        if self._writer is not None:
            self._writer.join()
        self.proc.kill()

    monkeypatch.setattr(parallel.Helper, "send", send_then_die)
    data = _pods_list(300)
    want, _ = _one_process(data, [])
    got = FrameBuilder()
    assert parallel.add_batches(got, "s1", "pods", "pods.json", _batches(data), []) == 0
    assert helpers and helpers[0].proc.poll() is not None
    assert _columns(got) == _columns(want)


def test_a_dump_loads_to_the_same_frames_with_and_without_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "d.tar.gz"
    generate(dump, pods=600, nodes=12, images=12, restart_fraction=0.2)
    monkeypatch.setattr(source, "STREAM_OVER", 64 * 1024)
    monkeypatch.setattr(source, "STREAM_CHUNK", CHUNK)
    shared = load_dump(dump)
    monkeypatch.setattr(parallel, "PARALLEL_KINDS", frozenset())
    alone = load_dump(dump)
    assert len(shared.frames["pods"]) == 600
    for name in alone.frames:
        pd.testing.assert_frame_equal(shared.frames[name], alone.frames[name], check_exact=True, obj=name)
    assert [p.to_dict() for p in shared.problems] == [p.to_dict() for p in alone.problems]


def test_the_collector_is_left_as_it_was() -> None:
    """The helper pauses its own garbage collector; this process's stays as the caller set it."""
    import gc

    assert gc.isenabled()
    parallel.add_batches(FrameBuilder(), "s1", "pods", "pods.json", _batches(_pods_list(60)), [])
    assert gc.isenabled()
