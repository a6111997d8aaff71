#!/usr/bin/env python3
"""The floor: the least any loader could spend to see every object of a dump, on one core and on two.

The floor decompresses the whole archive, walks every tar member, typed-decodes every object list
(`snapshots/*/<kind>.json`, each kind of `forensics.read.kube.LIST_TYPES`, with the product's own
typed structs) and reads every other member (logs, image inspections, metadata) into memory. It
builds no frame and keeps nothing: the structs are counted and dropped. Everything here is what
the product itself could do, with what it already depends on:

- inflate with ISA-L (`isal.isal_zlib`, as `forensics.read.source` does), or the standard
  library's zlib where isal is missing (the result then says `"inflate": "zlib"`); `.tar.zst`
  through `zstandard` and a plain `.tar` are read as well;
- the cyclic garbage collector is off while decoding, as `forensics.read.load` has it;
- an object list larger than one read (`BATCH_OVER`, the loader's `STREAM_CHUNK` of 64 MiB:
  pods.json) is never held whole: it is read in `STREAM_CHUNK` reads into one reused buffer and
  decoded in batches of whole items, cut after an item's closing line as `forensics.read.chunks`
  cuts kubectl's layout, each batch decoded in place (`kube.item_decoder(kind)` on a view of the
  buffer: the comma after the last item is overwritten with `]`, the byte before the first with
  `[`, so no batch is copied). The loader itself batches only lists over `STREAM_OVER`; the floor
  batches earlier because that is cheaper and splits the work for the second core. A list not in
  kubectl's layout is read whole and decoded whole;
- smaller object lists are read whole and decoded whole with the list type;
- tar headers are parsed here (ustar, pax and GNU long names): the floor does not pay for
  `tarfile`'s per-member objects.

Variants (`VARIANTS`), each a separate measurement in its own process:

- `1core`: all of the above in one thread.
- `thread`: inflation in a second thread (ISA-L, zlib and zstd release the GIL), handing 4 MiB
  blocks to the main thread, which walks the tar and decodes. The product's loader does the same
  (`source._ReadAhead`).
- `procs`: one worker process decodes every other unit of decoding (an item batch of a huge list,
  or a whole small list), the parent inflates, walks the tar, reads every member and decodes the
  other units. The parent reads each unit straight into one of three shared-memory slots and hands
  the worker the slot's number and length, so nothing is copied between the processes; the worker
  answers with the number of items it decoded. Structs are not shipped back: the floor only
  decodes, and a loader that decoded in two processes would ship built columns (Arrow buffers),
  not Python objects, which is the loader's cost, not the floor's.
- `procs+thread`: both, inflation in a thread of the parent.

Measured on the 2-core machine, 150,000 pods (2.32 GiB uncompressed, pods.json 2.03 GiB), one run
each: `1core` 4.4-5.1 s (inflation alone about 1.2 s of it); `procs` 2.45 s and 2.56 s while the
other core was free, about 4.1-4.9 s while another process held it (CPU time equals wall time
then: nothing can overlap). `thread` was never lower than `1core` (4.8-5.4 s against 4.4-4.9 s,
also with 4 MiB inflate pieces or a 0.5 ms GIL switch interval): the main thread holds the GIL
while it decodes, so the inflating thread waits for it after every piece, and the handoff costs
one more copy of every byte. `procs+thread` (3.5-5.3 s) was never lower than `procs` either: three
busy threads on two cores. Gunzip in a second process (`gzip -dc` piped in, the floor before this
one) was slower than ISA-L in-process; an ISA-L inflating process writing into the shared slots was
not built: decoding alone (about 3.3 s here: the `1core` floor less
inflation) is longer than a balanced split of the whole. So
`run.py` measures `1core` and `procs`, and the floor the targets are judged against is the lower of
the two medians.

    python bench/floor.py /tmp/dump-150k.tar.gz --variant 1core
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing as mp
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import msgspec  # noqa: E402

from forensics.read import kube, layout  # noqa: E402
from forensics.read.chunks import ITEM_MAX  # noqa: E402
from forensics.read.source import STREAM_CHUNK  # noqa: E402

VARIANTS = ("1core", "thread", "procs", "procs+thread")
TWO_CORE = "procs"  # the two-core variant run.py measures (the lowest, see the docstring)

_inflate: Any
try:
    from isal import isal_zlib as _inflate

    INFLATE = "isal"
except ImportError:  # pragma: no cover - a platform without isal's wheels
    _inflate = zlib
    INFLATE = "zlib"

_ITEMS_OPEN = b'"items": [\n'  # kubectl's list layout, as forensics.read.chunks describes it
_ITEM_CLOSE = b"\n        }"
_SHAPE_PROBE = 16 * 1024 * 1024
_BLOCK = 512
_PIECE = 1 << 20  # inflated per call: small enough that the output buffers are reused, not new pages
BATCH_OVER = STREAM_CHUNK  # lists larger than one read are decoded in item batches (the product: STREAM_OVER)
_SLOTS = 4  # two waiting for the worker, one decoded here, one being read
_QUEUE = 2  # units handed to the worker and not yet answered, at most
_SLOT_BYTES = STREAM_CHUNK + ITEM_MAX  # a read plus the partial item carried over from the last one


# ----------------------------------------------------------------------------- decompressed bytes


class _Gunzip(io.RawIOBase):
    """Every gzip member of a file (as pigz writes them) as one raw stream, inflated in this thread."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.d = _inflate.decompressobj(31)
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while True:
            data = self.d.unconsumed_tail or self.pending
            self.pending = b""
            if not data:
                data = self.raw.read(1 << 20)
                if not data:
                    return 0
            out = self.d.decompress(data, min(len(view), _PIECE))
            if self.d.eof:
                rest = self.d.unused_data.lstrip(b"\0")
                self.d = _inflate.decompressobj(31)
                self.pending = rest
            if out:
                n = len(out)
                view[:n] = out
                return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Zstd(io.RawIOBase):
    def __init__(self, path: Path) -> None:
        super().__init__()
        import zstandard

        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.r = zstandard.ZstdDecompressor().stream_reader(self.raw, read_across_frames=True)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return int(self.r.readinto(b))

    def close(self) -> None:
        self.r.close()
        self.raw.close()
        super().close()


class _Plain(io.RawIOBase):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return self.raw.readinto(b)

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Ahead(io.RawIOBase):
    """Another raw stream read ahead in a second thread by the loader's own read-ahead
    (`forensics.read.source._ReadAhead`, blocks of `block` bytes, at most `blocks` waiting):
    inflation runs on the other core while this one walks the tar and decodes."""

    def __init__(self, inner: io.RawIOBase, block: int = 4 << 20, blocks: int = 4) -> None:
        from forensics.read.source import _ReadAhead

        super().__init__()
        self.ahead = _ReadAhead(inner, block, blocks)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return int(self.ahead.readinto(memoryview(b).cast("B")))

    def close(self) -> None:
        if not self.closed:
            self.ahead.close()
        super().close()


def open_stream(path: Path, ahead: bool) -> tuple[io.BufferedReader, str]:
    """The archive's decompressed bytes, buffered (tar headers are small reads, served from the
    buffer; a large `readinto` goes straight into the caller's buffer), and how they are inflated."""
    with open(path, "rb") as f:
        magic = f.read(4)
    raw: io.RawIOBase
    if magic[:2] == b"\x1f\x8b":
        raw, how = _Gunzip(path), INFLATE
    elif magic == b"\x28\xb5\x2f\xfd":
        raw, how = _Zstd(path), "zstd"
    else:
        raw, how = _Plain(path), "none"
    if ahead:
        raw = _Ahead(raw)
    return io.BufferedReader(raw, buffer_size=1 << 20), how


def _read_exact(f: io.BufferedReader, view: memoryview) -> int:
    got = 0
    while got < len(view):
        k = f.readinto(view[got:])
        if not k:
            break
        got += k
    return got


# ----------------------------------------------------------------------------- the tar walk


def _octal(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256 for sizes over 8 GiB
        return int.from_bytes(field[1:], "big")
    s = field.split(b"\0", 1)[0].strip()
    return int(s, 8) if s else 0


def _pax(data: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        sp = data.index(b" ", pos)
        n = int(data[pos:sp])
        key, _, value = data[sp + 1 : pos + n - 1].partition(b"=")
        out[key] = value
        pos += n
    return out


def walk(f: io.BufferedReader, on_member: Callable[[str, int, bool], None]) -> None:
    """Call `on_member(name, size, regular)` for each member; it must read exactly `size` bytes from
    `f`. Padding and metadata headers (pax, GNU long names) are handled here."""
    long_name: str | None = None
    pax: dict[bytes, bytes] = {}
    while True:
        hdr = f.read(_BLOCK)
        if len(hdr) < _BLOCK or hdr == bytes(_BLOCK):
            return
        size = _octal(hdr[124:136])
        flag = hdr[156:157]
        pad = -size % _BLOCK
        if flag in (b"x", b"g", b"L"):
            data = f.read(size)
            f.read(pad)
            if flag == b"L":
                long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif flag == b"x":
                pax = _pax(data)
            continue
        name = hdr[0:100].split(b"\0", 1)[0]
        if hdr[257:262] == b"ustar" and hdr[345:346] != b"\0":
            name = hdr[345:500].split(b"\0", 1)[0] + b"/" + name
        text = name.decode("utf-8", "surrogateescape")
        if long_name is not None:
            text = long_name
        if b"path" in pax:
            text = pax[b"path"].decode("utf-8", "surrogateescape")
        if b"size" in pax:
            size = int(pax[b"size"])
            pad = -size % _BLOCK
        long_name, pax = None, {}
        on_member(text, size, flag in (b"0", b"\0", b"7"))
        if pad:
            f.read(pad)


# ----------------------------------------------------------------------------- decoding


def decode_unit(kind: str, data: Any, whole: bool) -> int:
    """Typed-decode one unit: a whole list file, or `[item, ...]` batch. Returns the items."""
    if whole:
        items = _LIST_DECODERS[kind].decode(data).items
        return len(items) if items else 0
    return len(kube.item_decoder(kind).decode(data))


_LIST_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {k: msgspec.json.Decoder(t) for k, t in kube.LIST_TYPES.items()}


def _worker(conn: Connection, names: list[str]) -> None:
    gc.disable()
    shms = [shared_memory.SharedMemory(name=n) for n in names]
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                return
            slot, start, end, kind, whole = msg
            view = shms[slot].buf[start:end]  # type: ignore[index]
            try:
                n = decode_unit(kind, view, whole)
            finally:
                view.release()
            conn.send((slot, n))
    finally:
        for s in shms:
            s.close()


@dataclass
class Counts:
    objects: dict[str, int] = field(default_factory=dict)
    members: int = 0
    payload: int = 0
    largest: tuple[str, int] = ("", 0)
    units: int = 0
    units_in_worker: int = 0


class _Decoder:
    """Hands units of decoding out: all decoded here, or (`procs`) to the worker process whenever it
    has room, the rest here."""

    def __init__(self, procs: bool, counts: Counts) -> None:
        self.counts = counts
        self.busy: dict[int, str] = {}  # slot -> kind, while the worker decodes it
        self.proc: Any = None
        if procs:
            self.shms = [shared_memory.SharedMemory(create=True, size=_SLOT_BYTES) for _ in range(_SLOTS)]
            self.bufs: list[memoryview] = [s.buf for s in self.shms]  # type: ignore[misc]
            ctx = mp.get_context("fork")
            self.conn, child = ctx.Pipe()
            self.proc = ctx.Process(target=_worker, args=(child, [s.name for s in self.shms]), daemon=True)
            self.proc.start()
            child.close()
        else:
            self.shms = []
            self.bufs = [memoryview(bytearray(_SLOT_BYTES))]

    def _collect(self, block: bool) -> None:
        while self.busy and (block or self.conn.poll()):
            slot, n = self.conn.recv()
            kind = self.busy.pop(slot)
            self.counts.objects[kind] = self.counts.objects.get(kind, 0) + n
            block = False

    def buffer(self) -> tuple[int, memoryview]:
        """A free slot to read the next unit into."""
        if self.proc is None:
            return 0, self.bufs[0]
        self._collect(block=False)
        while len(self.busy) == _SLOTS:
            self._collect(block=True)
        slot = next(i for i in range(_SLOTS) if i not in self.busy)
        return slot, self.bufs[slot]

    def decode(self, slot: int, start: int, end: int, kind: str, whole: bool) -> None:
        """Decode a unit here, or hand it to the worker when it has less than `_QUEUE` units to do:
        the work balances itself (this process also inflates and reads)."""
        self.counts.units += 1
        if self.proc is not None:
            self._collect(block=False)
            if len(self.busy) < _QUEUE:
                self.busy[slot] = kind
                self.counts.units_in_worker += 1
                self.conn.send((slot, start, end, kind, whole))
                return
        n = decode_unit(kind, self.bufs[slot][start:end], whole)
        self.counts.objects[kind] = self.counts.objects.get(kind, 0) + n

    def finish(self) -> None:
        if self.proc is None:
            return
        while self.busy:
            self._collect(block=True)
        self.conn.send(None)
        self.proc.join()
        self.close()

    def close(self) -> None:
        """Stop the worker and remove the shared memory, also after a failure midway."""
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        for s in self.shms:
            try:
                s.close()
            except BufferError:  # a view still held by a failure's traceback: freed with the process
                pass
            s.unlink()
        self.shms = []


def _huge_list(f: io.BufferedReader, size: int, kind: str, dec: _Decoder) -> None:
    """Read a huge object list in `STREAM_CHUNK` reads, decoding whole items as they complete."""
    slot, buf = dec.buffer()
    have = 0  # valid bytes in buf
    left = size
    opened = -1  # position of the `[` that opens the current batch
    while left:
        room = min(STREAM_CHUNK, left, len(buf) - have)
        if not room:
            raise ValueError(f"no end of an item in {kind}.json within {len(buf) - STREAM_CHUNK} bytes")
        n = _read_exact(f, buf[have : have + room])
        if not n:
            raise EOFError(f"archive ended inside {kind}.json")
        have += n
        left -= n
        if opened < 0:
            i = bytes(buf[: min(have, _SHAPE_PROBE)]).find(_ITEMS_OPEN)
            if i < 0:
                full = have + min(STREAM_CHUNK, left) > len(buf)
                if have >= _SHAPE_PROBE or not left or full:  # not kubectl's layout: whole, as the product does
                    n_items = decode_unit(kind, bytes(buf[:have]) + f.read(left), True)
                    dec.counts.objects[kind] = dec.counts.objects.get(kind, 0) + n_items
                    return
                continue
            opened = i + len(_ITEMS_OPEN) - 2
        cut = _last_close(buf, opened, have, final=not left)
        if cut < 0:
            if have - opened > ITEM_MAX:
                raise ValueError(f"no end of an item in {kind}.json within {ITEM_MAX} bytes")
            continue
        end_char = buf[cut]
        buf[opened] = ord("[")
        buf[cut] = ord("]")
        carry = have - cut
        dec.decode(slot, opened, cut + 1, kind, whole=False)
        if not left:
            return
        nslot, nbuf = dec.buffer()
        nbuf[:carry] = buf[cut:have]
        nbuf[0] = end_char  # the comma, to be overwritten by the next batch's `[`
        slot, buf, have, opened = nslot, nbuf, carry, 0


def _last_close(buf: memoryview, start: int, end: int, final: bool) -> int:
    """Position of the `,` (or, at the end of the list, the newline) right after the last complete
    item in buf[start:end]; -1 when no item completes there."""
    hay = _Hay(buf)
    i = hay.rfind(_ITEM_CLOSE + b",", start, end)
    if final:
        j = hay.rfind(_ITEM_CLOSE + b"\n", start, end)
        i = max(i, j)
    return i + len(_ITEM_CLOSE) if i >= 0 else -1


class _Hay:
    """`rfind` on a memoryview without copying it (a bytearray's or shared memory's buffer)."""

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def rfind(self, needle: bytes, start: int, end: int) -> int:
        # bytes.rfind needs a bytes-like haystack it can search in place: a bytearray over the view
        # would copy, so search from the end in bounded windows instead
        step = 1 << 20
        hi = end
        while hi > start:
            lo = max(start, hi - step)
            w = bytes(self.view[lo:hi])
            k = w.rfind(needle)
            if k >= 0:
                return lo + k
            hi = lo + len(needle) - 1 if lo > start else start
        return -1


# ----------------------------------------------------------------------------- one measurement


def measure(path: str | Path, variant: str = "1core") -> dict[str, Any]:
    """Run one floor variant over the dump; the seconds and what was seen."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown floor variant {variant!r} (one of {', '.join(VARIANTS)})")
    path = Path(path)
    counts = Counts()
    was = gc.isenabled()
    gc.disable()
    t0 = time.perf_counter()
    dec = _Decoder("procs" in variant, counts)  # forked before the inflating thread starts
    try:
        f, how = open_stream(path, ahead="thread" in variant)
        try:

            def on_member(name: str, size: int, regular: bool) -> None:
                if not regular:
                    f.read(size)
                    return
                counts.members += 1
                counts.payload += size
                rel = name.split("/", 1)[-1]
                if size > counts.largest[1]:
                    counts.largest = (rel, size)
                m = layout.classify(rel)
                kind = m.kind if m is not None and m.role == layout.ROLE_OBJECTS else ""
                if kind not in kube.LIST_TYPES:
                    f.read(size)  # a log, an image inspection, metadata: read, as the loader must
                    return
                if size > BATCH_OVER:
                    _huge_list(f, size, kind, dec)
                    return
                if size <= _SLOT_BYTES:
                    slot, buf = dec.buffer()
                    got = _read_exact(f, buf[:size])
                    dec.decode(slot, 0, got, kind, whole=True)
                    return
                n = decode_unit(kind, f.read(size), True)
                counts.objects[kind] = counts.objects.get(kind, 0) + n

            walk(f, on_member)
            dec.finish()
        finally:
            f.close()
    finally:
        dec.close()
        if was:
            gc.enable()
    seconds = time.perf_counter() - t0
    return {
        "variant": variant,
        "inflate": how,
        "seconds": seconds,
        "pods": counts.objects.get("pods", 0),
        "objects": sum(counts.objects.values()),
        "objects_by_kind": dict(sorted(counts.objects.items())),
        "members": counts.members,
        "uncompressed_bytes": counts.payload,
        "largest_member": counts.largest[0],
        "largest_member_bytes": counts.largest[1],
        "decode_units": counts.units,
        "decode_units_in_worker": counts.units_in_worker,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import resource

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", type=Path)
    ap.add_argument("--variant", choices=VARIANTS, default="1core")
    a = ap.parse_args(argv)
    out = measure(a.dump, a.variant)
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["peak_rss_bytes"] = max(own.ru_maxrss, kids.ru_maxrss) * 1024
    out["cpu_seconds"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
