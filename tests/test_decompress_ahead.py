"""The decompressor runs ahead in a second thread: the bytes, their order, a failure's place in the
stream and the end of the thread must be exactly those of reading in the caller's thread."""

from __future__ import annotations

import gzip
import io
import os
import threading
import zlib
from pathlib import Path

import pytest

from forensics.read import source
from forensics.read.source import Limits, _decompressed, _ReadAhead


class _Pieces:
    """A stream that hands out `data` in pieces of at most `k` bytes, then raises `fail` (if any)."""

    def __init__(self, data: bytes, k: int, fail: BaseException | None = None) -> None:
        self.data, self.k, self.fail, self.pos, self.closed = data, k, fail, 0, False

    def readinto(self, view: memoryview) -> int:
        if self.pos >= len(self.data):
            if self.fail is not None:
                raise self.fail
            return 0
        n = min(len(view), self.k, len(self.data) - self.pos)
        view[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def close(self) -> None:
        self.closed = True


def _drain(r: _ReadAhead, ask: int) -> bytes:
    out = bytearray()
    buf = bytearray(ask)
    while n := r.readinto(memoryview(buf)):
        out += buf[:n]
    return bytes(out)


@pytest.mark.parametrize("ask", [1, 511, 4096, 1 << 20, 3 << 20])
def test_same_bytes_in_the_same_order(ask: int) -> None:
    data = os.urandom(3 * 1024 * 1024 + 777)
    r = _ReadAhead(_Pieces(data, 10_000), block=1 << 16, blocks=2)
    assert _drain(r, ask) == data
    r.close()
    assert not r.thread.is_alive()


def test_a_failure_comes_after_every_byte_before_it() -> None:
    data = os.urandom(200_001)
    r = _ReadAhead(_Pieces(data, 7_000, EOFError("cut")), block=1 << 16)
    got = bytearray()
    buf = bytearray(5000)
    with pytest.raises(EOFError, match="cut"):
        while n := r.readinto(memoryview(buf)):
            got += buf[:n]
    assert bytes(got) == data
    r.close()


def test_close_stops_a_producer_that_is_far_ahead() -> None:
    r = _ReadAhead(_Pieces(b"x" * (50 << 20), 1 << 16), block=1 << 16, blocks=2)
    buf = bytearray(10)
    assert r.readinto(memoryview(buf)) == 10
    before = threading.active_count()
    r.close()
    assert not r.thread.is_alive()
    assert r.inner.closed
    assert threading.active_count() == before - 1
    # it never decompressed much more than the queue holds
    assert r.inner.pos < 1 << 20


def test_gzip_members_and_truncation_through_the_stream(tmp_path: Path) -> None:
    a, b = os.urandom(300_000), b"second member " * 50_000
    whole = tmp_path / "two.gz"
    whole.write_bytes(gzip.compress(a) + gzip.compress(b) + b"\0" * 64)
    with _decompressed(whole, "gz", Limits()) as s:
        assert io.BufferedReader(s).read() == a + b
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(a + b)[:-2000])
    inflatable = zlib.decompressobj(31).decompress(cut.read_bytes())  # all that the cut stream holds
    s = _decompressed(cut, "gz", Limits())
    got = bytearray()
    with pytest.raises(source.CorruptStream, match="truncated"):
        while chunk := s.read(1 << 16):
            got += chunk
    s.close()
    assert len(inflatable) > 100_000
    # every byte before the cut came out, then the failure; ISA-L may keep back the last byte it
    # cannot finish decoding at the cut (zlib hands it out), which nothing after a cut relies on
    assert inflatable.startswith(bytes(got)) and len(inflatable) - len(got) <= 8


def test_the_gzip_codec_inflates_like_zlib() -> None:
    data = os.urandom(1000) * 500
    blob = gzip.compress(data)
    d = source._inflate.decompressobj(31)
    out = d.decompress(blob, 4096)
    while d.unconsumed_tail:
        out += d.decompress(d.unconsumed_tail, 4096)
    assert out == data == zlib.decompress(blob, 31)
    assert d.eof
