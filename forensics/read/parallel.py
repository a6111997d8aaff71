"""The second core for the one list that dominates a big dump: pods.json.

A 150,000-pod cluster's pods.json is about 2 GiB, and turning it into rows (typed decode, then a row per
pod and per container) is most of the load. `FrameBuilder.add_objects_chunked` already cuts such a list
into batches of whole items (`forensics.read.chunks`); here every other batch goes to one helper process,
which decodes it and builds its rows, while this process reads and cuts the next batch and builds the one
after it. The helper sends back plain column lists; they are appended in batch order, so the frames are
exactly those a single process builds, row for row.

The helper is `python -m forensics.read.parallel`, started afresh (not a fork of this process, whose
inflate thread may hold locks, and not through `multiprocessing`, which would run the caller's main
script again). It is a convenience, never a requirement: with one CPU, in a daemonic process (a Dask
worker: there the cores are already shared out among dumps), or when the helper cannot start or dies on
a batch, the batch is built here and the load goes on as before.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import msgspec

if TYPE_CHECKING:
    from forensics.read.frames import FrameBuilder

PARALLEL_KINDS = frozenset({"pods"})  # the lists worth a second process (the others are small)
ROW_FRAMES = ("nodes", "pods", "containers", "events", "workloads", "sigs")  # what a batch adds rows to
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
# what reading the answer of a helper that died or sent something unreadable raises
_HELPER_FAILED = (OSError, EOFError, MemoryError, pickle.PickleError, AttributeError, ImportError)


@dataclass
class Part:
    """The rows one batch added: each row frame's column lists (only the frames it touched), the notes
    on items it could not read, and the error that stopped it (as the single-process load raises it)."""

    columns: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: Exception | None = None


def build_part(snapshot: str, kind: str, file: str, data: bytes, with_notes: bool) -> Part:
    """Decode one batch (a JSON array of whole items) and build its rows in a fresh builder."""
    from forensics.read import kube
    from forensics.read.frames import FrameBuilder

    builder = FrameBuilder()
    part = Part()
    notes: list[str] | None = part.notes if with_notes else None
    try:
        builder.add_batch(snapshot, kind, file, kube.item_decoder(kind), data, notes)
    except _ERRORS as e:
        part.error = type(e)(str(e))  # a plain copy: it crosses a process boundary
    for name in ROW_FRAMES:
        cols = getattr(builder, name)
        if any(cols.data.values()):
            part.columns[name] = cols.data
    return part


class Helper:
    """The helper process: `python -m forensics.read.parallel`, fed batches on its standard input and
    answering each with its `Part` (pickled) on its standard output, one batch at a time. A batch is
    written from a thread, so this process goes on while the helper reads it."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])  # the helper imports this very code
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "forensics.read.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def send(self, args: tuple[str, str, str, bool], data: bytes) -> None:
        head = pickle.dumps(args)
        self._writer = threading.Thread(
            target=self._write, args=(head, data), name="forensics-helper-feed", daemon=True
        )
        self._writer.start()

    def _write(self, head: bytes, data: bytes) -> None:
        try:
            assert self.proc.stdin is not None
            for blob in (head, data):
                self.proc.stdin.write(len(blob).to_bytes(8, "little"))
                self.proc.stdin.write(blob)
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:  # the helper is gone
            self._write_error = e

    def receive(self) -> Part:
        if self._writer is not None:
            self._writer.join()
        if self._write_error is not None:
            raise OSError(f"the helper did not take the batch: {self._write_error}")
        assert self.proc.stdout is not None
        blob = _read_exact(self.proc.stdout, int.from_bytes(_read_exact(self.proc.stdout, 8), "little"))
        part = pickle.loads(blob)  # our own child's answer, never dump text
        if not isinstance(part, Part):
            raise OSError("the helper answered something else")
        return part

    def close(self) -> None:
        """End the helper: its input closed, it exits; an answer it is still writing breaks off."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a helper that hangs
            self.proc.kill()
            self.proc.wait()


def _read_exact(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"the helper stopped ({len(data)} of {n} bytes)")
    return data


def _helper() -> Helper | None:
    """A helper process, or None when this process should not (or cannot) start one: one CPU, or a
    daemonic process (a Dask worker: there the cores are already shared out among dumps)."""
    if multiprocessing.current_process().daemon:
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return None
    try:
        return Helper()
    except OSError:  # no process can be started here
        return None


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The helper's side: read (args, batch) pairs until the input closes, answer each with its Part."""
    gc.disable()  # as in the load: millions of small acyclic objects; this process does nothing else
    while True:
        size = inp.read(8)
        if len(size) < 8:
            return
        snapshot, kind, file, with_notes = pickle.loads(_read_exact(inp, int.from_bytes(size, "little")))
        data = _read_exact(inp, int.from_bytes(_read_exact(inp, 8), "little"))
        blob = pickle.dumps(build_part(snapshot, kind, file, data, with_notes), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(blob).to_bytes(8, "little"))
        out.write(blob)
        out.flush()


def add_batches(
    builder: FrameBuilder, snapshot: str, kind: str, file: str, batches: Iterator[bytes], notes: list[str] | None
) -> int:
    """Add the batches' rows to `builder` in order, every other batch built by the helper process;
    returns how many the helper built. Raises the first batch's error (msgspec.DecodeError or
    ValidationError) after the rows of every batch before it were added, as building them one after
    the other does."""
    helper = _helper() if kind in PARALLEL_KINDS else None
    inflight: deque[tuple[bool, bytes]] = deque()  # (sent to the helper, the batch)
    helped = 0

    def settle() -> None:
        """Add the rows of the batches in flight, oldest first."""
        nonlocal helped, helper
        while inflight:
            sent, data = inflight.popleft()
            part = None
            if sent and helper is not None:
                try:
                    part = helper.receive()
                    helped += 1
                except _HELPER_FAILED:  # the helper died: this batch and the rest are built here
                    helper.close()
                    helper = None
            if part is None:
                part = build_part(snapshot, kind, file, data, notes is not None)
            merge(builder, part, snapshot, notes)

    try:
        try:
            for data in batches:
                if helper is not None and not inflight:
                    helper.send((snapshot, kind, file, notes is not None), data)
                    inflight.append((True, data))
                    continue
                local = build_part(snapshot, kind, file, data, notes is not None)
                settle()
                merge(builder, local, snapshot, notes)
        except _ERRORS:  # the list cannot be cut further: the batches before keep their rows
            settle()
            raise
        settle()
    finally:
        if helper is not None:
            helper.close()
    return helped


def merge(builder: FrameBuilder, part: Part, snapshot: str, notes: list[str] | None) -> None:
    """Append a batch's rows to the builder's columns; raise the error that stopped the batch."""
    if notes is not None:
        notes.extend(part.notes)
    if part.error is not None:
        raise part.error
    builder.note_snapshot(snapshot)
    for name, data in part.columns.items():
        own = getattr(builder, name).data
        for c, col in own.items():
            col.extend(data[c])


if __name__ == "__main__":  # the helper: its Parts must pickle as this module's, not as __main__'s
    from forensics.read.parallel import serve as _serve

    _serve(sys.stdin.buffer, sys.stdout.buffer)
