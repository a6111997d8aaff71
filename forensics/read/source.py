"""Reading an untrusted dump: a directory or an archive, member by member, never extracted.

A customer dump may hold `..` paths, absolute paths, symlinks and hardlinks pointing anywhere,
device files, members far larger than they should be, a tar or zip bomb, a truncated or corrupt
compressed stream, names that are not UTF-8, the same name twice. None of that is an exception here:
each becomes a `LoadProblem` (file, what, why) and the rest of the dump is still read. Nothing is
written to disk at all: archive members are streamed into memory one at a time (`iter_files`), each
under a size cap. Only input that is not a dump at all (a missing path, a file that is neither a
directory nor an archive) raises `UnusableInput`.

Caps bound *time*, not only what is kept (`Limits`):

- a member over its cap is never read to its end: an object list is refused unread, a log keeps its
  tail by seeking to it (free in a directory, a plain `.tar` and a `.zip`; in a compressed stream the
  bytes before the tail are decompressed and dropped);
- everything decompressed from a compressed stream, kept or passed over, counts against a scan
  budget (`Limits.scan_bytes`, at least `scan_ratio` times the compressed size): past it the archive
  is given up with one load problem (a gzip or zstd bomb), members before that point are kept;
- zstd frames may not ask for a window larger than `Limits.zstd_window` (memory);
- the number of members is capped.

The caps are one policy (`_Policy`) for every backend: a directory, a tar and a zip count the
same things and say the same words; only how bytes are reached differs.

Recognised by content (magic bytes): directories, `.tar`, `.tar.gz`/`.tgz` (several gzip members,
as `pigz` writes, are one stream), `.tar.zst` (several frames likewise), `.zip`, and one gzip- or
zstd-compressed plain file (`pods.json.gz`, a gzipped `kubectl cluster-info dump` stdout), which
`open_single` reads.

Names handed out are root-relative posix paths. For our own format, the folder an archive (or a
directory) wraps the dump in is found from the first name that holds a dump entry
(`layout.ROOT_ENTRIES`) and stripped; entries before it (a README, macOS `._*` AppleDouble files) are
not part of the dump. AppleDouble files, `__MACOSX/` and `.DS_Store` are never dump content and are
skipped silently everywhere. When a name occurs twice, the first one is read and the others are a
load problem.
"""

from __future__ import annotations

import io
import os
import queue
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from forensics.errors import UnusableInput

_inflate: Any
try:  # ISA-L's inflate: the same decompressobj API as zlib, about twice as fast, and it drops the GIL
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - a platform without its wheels: the standard library's zlib
    _inflate = zlib

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile archive from exhausting memory or time."""

    member_bytes: int = 3 * GiB  # one object list (pods.json of a 150k-pod cluster is ~1 GiB)
    log_bytes: int = 8 * MiB  # a log keeps its *tail* past this: the crash is at the end
    small_bytes: int = 64 * MiB  # manifests, configs, metadata, binfmt entries
    total_bytes: int = 48 * GiB  # everything kept, uncompressed
    members: int = 300_000  # archive entries looked at (a 150k-pod dump has about 20,000)
    log_files: int = 50_000  # logs read (collectors fetch the restarting and unready containers')
    scan_bytes: int = 2 * GiB  # decompressed bytes read or passed over in one compressed stream ...
    scan_ratio: int = 32  # ... or this many times the compressed size, whichever is larger
    zstd_window: int = 1 << 27  # 128 MiB: what `zstd --long=27` needs; larger windows are refused


@dataclass
class LoadProblem:
    """One part of a dump that could not be read as it should: the rest still loads."""

    file: str
    what: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "what": self.what, "why": self.why}


@dataclass
class FileInfo:
    name: str
    size: int
    truncated: bool = False


class Chunked:
    """A member too big to hold at once: `chunks()` yields its bytes in order, once.

    The bytes are read while the consumer iterates, so a read error (a truncated or corrupt archive, a
    compression bomb) would surface in the consumer's frame. `chunks()` stops there instead and keeps the
    error in `error`; the source that handed this out records it as a load problem when it resumes."""

    def __init__(self, name: str, size: int, fh: Any, chunk: int | None = None) -> None:
        self.name, self.size, self._fh = name, size, fh
        self._chunk = chunk or STREAM_CHUNK
        self.error: BaseException | None = None

    def chunks(self) -> Iterator[bytes]:
        while True:
            try:
                b = self._fh.read(self._chunk)
            except _READ_ERRORS as e:
                self.error = e
                return
            if not b:
                return
            yield b


STREAM_OVER = 256 * MiB  # object lists larger than this are handed out as `Chunked`
STREAM_CHUNK = 64 * MiB  # ... in reads of this size (both module constants, so a test can lower them)
CACHED_LOG_BYTES = 1 * GiB  # `DumpSource.read`: logs held in memory; later ones are read when asked for

Select = Callable[[str], "int | None"]
"""Given a member name, the byte cap to read it under, or None to skip it."""


class ScanBudgetExceeded(OSError):
    """More bytes were decompressed from one stream than `Limits.scan_bytes` allows (a bomb)."""


class CorruptStream(OSError):
    """A compressed stream that cannot be decompressed (bad magic inside, corrupt frame)."""


_READ_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    OSError,
    EOFError,
    zlib.error,
    _inflate.error,
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
)


def _display(raw: str) -> str | None:
    """A name as text; None when it holds bytes that are not UTF-8 (decoded with surrogateescape)."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return raw


def printable_name(raw: str) -> str:
    """A name for messages: bytes that are not UTF-8 shown as U+FFFD."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def ignorable(name: str) -> bool:
    """Files an archiver or a desktop adds that are never dump content (macOS AppleDouble, Finder)."""
    parts = name.split("/")
    base = parts[-1]
    return base.startswith("._") or base == ".DS_Store" or "__MACOSX" in parts


@dataclass
class DumpSource:
    """A dump to read. Subclasses stream members; `problems` collects what went wrong."""

    path: Path
    limits: Limits = field(default_factory=Limits)
    problems: list[LoadProblem] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    strip_top: bool = True  # archives: strip the one top folder (False: names as stored, for other formats)
    _cache: dict[str, bytes] | None = None
    _lazy: set[str] = field(default_factory=set)
    _sizes: dict[str, int] = field(default_factory=dict)

    def problem(self, file: str, what: str, why: str) -> None:
        self.problems.append(LoadProblem(file, what, why))

    def _inside(self, top: _TopFolder, clean: str) -> str | None:
        """An archive member's name inside the dump folder; None (a problem once the folder is known)
        for a member outside it."""
        if not self.strip_top:
            return clean
        name = top.strip(clean)
        if name is None and top.prefix is not None:
            self.problem(clean, "member outside the dump folder skipped", "the archive holds more than one top folder")
        return name

    def iter_files(
        self, select: Select, stream: Callable[[str], bool] | None = None
    ) -> Iterator[tuple[str, bytes | Chunked]]:
        """Yield (name, bytes) for each selected member; members for which `stream(name)` holds and
        that are larger than STREAM_OVER come as `Chunked` (to be consumed before the next item)."""
        raise NotImplementedError

    def iter_names(self) -> Iterator[str]:
        """Regular-file names as stored (safe ones only), without reading contents; may stop early."""
        raise NotImplementedError

    def names(self) -> list[str]:
        """All regular-file names (reads an archive once, fully; for `serve`)."""
        cache = self._all()
        return sorted({*cache, *self._lazy})

    def read(self, name: str) -> bytes | None:
        """Random access by name, for `serve`: an archive is read once and cached in memory, except logs
        beyond `CACHED_LOG_BYTES` in all, which are read again from the archive when asked for. Logs
        keep their last `limits.log_bytes` (see `size`), other files are read up to `small_bytes`."""
        cache = self._all()
        if name in cache or name not in self._lazy:
            return cache.get(name)
        for n, d in self.iter_files(lambda n: self._cap(n) if n == name else None):
            if n == name and isinstance(d, bytes):
                return d
        return None

    def size(self, name: str) -> int | None:
        """The full size of a file `read` returned (larger than what it returned when it was cut)."""
        self._all()
        return self._sizes.get(name)

    def _cap(self, name: str) -> int:
        return self.limits.log_bytes if is_log(name) else self.limits.small_bytes

    def _all(self) -> dict[str, bytes]:
        if self._cache is None:
            logs = 0

            def select(n: str) -> int | None:
                if is_log(n) and logs > CACHED_LOG_BYTES:
                    self._lazy.add(n)
                    return None
                return self._cap(n)

            self._cache = {}
            for n, d in self.iter_files(select):
                if isinstance(d, bytes):
                    self._cache[n] = d
                    if is_log(n):
                        logs += len(d)
            self._sizes.update((f.name, f.size) for f in self.files)
        return self._cache


def _clean_name(raw: str) -> tuple[str | None, str]:
    """Normalize a member name; (None, why) when it is unsafe to even consider."""
    if "\x00" in raw:
        return None, "name holds a NUL byte"
    if _display(raw) is None:
        return None, "name is not valid UTF-8 (Kubernetes names are ASCII): not dump content"
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None, "absolute path"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None, "path climbs out of the dump with '..'"
    return "/".join(parts), ""


class _TopFolder:
    """Finds the folder an archive wraps a dump in from the first name that holds a dump entry
    (`root_entries`) and strips it. Names before that one are not part of the dump (None)."""

    def __init__(self, root_entries: frozenset[str]) -> None:
        self.root_entries = root_entries
        self.prefix: str | None = None

    def strip(self, name: str) -> str | None:
        if self.prefix is None:
            parts = name.split("/")
            if parts[0] in self.root_entries:
                self.prefix = ""
            elif len(parts) > 1 and parts[1] in self.root_entries:
                self.prefix = parts[0] + "/"
            else:
                return None
        if not self.prefix:
            return name
        return name[len(self.prefix) :] if name.startswith(self.prefix) else None


class _Policy:
    """The limits policy, one for every backend: what is counted, what is skipped, where reading stops,
    and the words each load problem uses. A backend walks its entries and asks:

    - `entry(name)` for every entry it looks at (counted against `Limits.members`, kept or not: the
      count bounds the time spent walking, so it is taken before any other choice);
    - `admit(name, size, select)` for a regular file: its cap, or None to skip it (not selected, a
      repeated name, past `Limits.log_files`, or not a log and over its cap);
    - `room(name, size, cap)` before reading: False once `Limits.total_bytes` would be passed;
    - `kept(...)` / `streamed(...)` for what it hands out (sizes, truncation)."""

    def __init__(self, src: DumpSource) -> None:
        self.src, self.limits = src, src.limits
        self.entries = self.logs = self.total = 0
        self.names: set[str] = set()

    def entry(self, name: str) -> bool:
        self.entries += 1
        if self.entries > self.limits.members:
            self.src.problem(name, "too many members", f"stopped after {self.limits.members}")
            return False
        return True

    def admit(self, name: str, size: int, select: Select) -> int | None:
        cap = select(name)
        if cap is None:
            return None
        if name in self.names:
            self.src.problem(
                name, "duplicate member skipped", "the archive holds this name more than once; the first one was read"
            )
            return None
        self.names.add(name)
        if is_log(name):
            self.logs += 1
            if self.logs == self.limits.log_files + 1:
                self.src.problem(name, "too many logs", f"only the first {self.limits.log_files} logs were read")
            if self.logs > self.limits.log_files:
                return None
        elif size > cap:
            self.src.problem(name, "member too large", f"{size} bytes, cap {cap}: not read")
            return None
        return cap

    def room(self, name: str, size: int, cap: int) -> bool:
        if self.total + min(size, cap) > self.limits.total_bytes:
            self.src.problem(name, "dump too large", f"stopped after {self.total} bytes read")
            return False
        return True

    def streamed(self, name: str, size: int) -> None:
        self.total += size
        self.src.files.append(FileInfo(name, size))

    def kept(self, name: str, size: int, cap: int, data: bytes, truncated: bool) -> None:
        if len(data) < min(size, cap):
            self.src.problem(name, "member truncated", f"{len(data)} of {min(size, cap)} bytes present")
        if truncated:
            self.src.problem(name, "file truncated to its tail", f"{size} bytes, kept the last {cap}")
        self.total += len(data)
        self.src.files.append(FileInfo(name, size, truncated))


class DirectorySource(DumpSource):
    """A dump unpacked in a directory. Symlinks and special files are never followed."""

    def _walk(self) -> Iterator[tuple[str, str, os.stat_result]]:
        """(name, path, lstat) of every regular file; links, special files and bad names are problems."""
        root = self.path
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            for d in list(dirnames):
                p = os.path.join(dirpath, d)
                shown = printable_name(_join(rel_dir, d))
                if os.path.islink(p):
                    self.problem(
                        shown, "symlink skipped", f"points to {printable_name(os.readlink(p))!r}; never followed"
                    )
                    dirnames.remove(d)
                elif _display(d) is None:
                    self.problem(shown, "folder skipped", "name is not valid UTF-8 (Kubernetes names are ASCII)")
                    dirnames.remove(d)
                elif d == "__MACOSX":
                    dirnames.remove(d)
            dirnames.sort()
            for f in sorted(filenames):
                name = _join(rel_dir, f)
                p = os.path.join(dirpath, f)
                if _display(f) is None:
                    self.problem(
                        printable_name(name),
                        "file skipped",
                        "name is not valid UTF-8 (Kubernetes names are ASCII): not dump content",
                    )
                    continue
                if ignorable(name):
                    continue
                try:
                    st = os.lstat(p)
                except OSError as e:
                    self.problem(name, "unreadable file", e.strerror or str(e))
                    continue
                if stat.S_ISLNK(st.st_mode):
                    self.problem(
                        name, "symlink skipped", f"points to {printable_name(os.readlink(p))!r}; never followed"
                    )
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.problem(name, "special file skipped", "not a regular file")
                    continue
                yield name, p, st

    def iter_names(self) -> Iterator[str]:
        n = len(self.problems)
        try:
            for name, _, _ in self._walk():
                yield name
        finally:
            del self.problems[n:]  # listing names is not reading: problems are recorded by iter_files

    def iter_files(
        self, select: Select, stream: Callable[[str], bool] | None = None
    ) -> Iterator[tuple[str, bytes | Chunked]]:
        policy = _Policy(self)
        for name, p, st in self._walk():
            if not policy.entry(name):
                return
            cap = policy.admit(name, st.st_size, select)
            if cap is None:
                continue
            if not policy.room(name, st.st_size, cap):
                return
            if stream is not None and st.st_size > STREAM_OVER and st.st_size <= cap and stream(name):
                try:
                    fh = open(p, "rb", opener=_nofollow_opener)  # noqa: SIM115 - closed below
                except OSError as e:
                    self.problem(name, "unreadable file", e.strerror or str(e))
                    continue
                with fh:
                    policy.streamed(name, st.st_size)
                    big = Chunked(name, st.st_size, fh)
                    yield name, big
                if big.error is not None:
                    self.problem(
                        name,
                        "unreadable file",
                        f"{type(big.error).__name__}: {big.error}; the items before it were read",
                    )
                continue
            try:
                with open(p, "rb", opener=_nofollow_opener) as fh:
                    data, truncated = _read_capped(fh, st.st_size, cap, name)
            except OSError as e:
                self.problem(name, "unreadable file", e.strerror or str(e))
                continue
            if data is None:
                continue
            policy.kept(name, st.st_size, cap, data, truncated)
            yield name, data

    def read(self, name: str) -> bytes | None:
        """One file by name, read directly (no cache), refusing links on the way and files over the
        small-file cap (logs keep their tail)."""
        clean, _ = _clean_name(name)
        if clean is None or clean != name or ignorable(name):
            return None
        p = self.path
        for part in name.split("/"):
            p = p / part
            try:
                st = os.lstat(p)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode):
                return None
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            with open(p, "rb", opener=_nofollow_opener) as fh:
                data, _ = _read_capped(fh, st.st_size, self._cap(name), name)
        except OSError:
            return None
        self._sizes[name] = st.st_size
        return data

    def size(self, name: str) -> int | None:
        return self._sizes.get(name)

    def names(self) -> list[str]:
        return sorted(self.iter_names())


def _nofollow_opener(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def _join(rel_dir: str, name: str) -> str:
    return name if rel_dir in ("", ".") else f"{rel_dir}/{name}"


def is_log(name: str) -> bool:
    return name.endswith((".log", ".txt"))


def _read_capped(fh: Any, size: int, cap: int, name: str) -> tuple[bytes | None, bool]:
    """Read a member under `cap`. Logs keep their tail (reached by seeking, never by reading what is
    dropped when the file allows it); other files over the cap are refused unread. At most `cap` bytes
    are read even when the file holds more than its declared size."""
    if size <= cap:
        return fh.read(size), False  # never more than the declared size, whatever follows
    if not is_log(name):
        return None, False
    if isinstance(fh, tarfile.ExFileObject):
        fh = fh.raw  # the member's own view: seeks over sparse holes for free, over a stream by reading
    fh.seek(size - cap)
    return fh.read(cap), True


class _Counted(io.RawIOBase):
    """Decompressed bytes of one stream, counted against a scan budget; decompressor failures become
    `CorruptStream` and an exhausted budget `ScanBudgetExceeded` (both OSErrors)."""

    def __init__(self, inner: Any, budget: int, what: str, raw: Any = None) -> None:
        super().__init__()
        self.inner, self.budget, self.what, self.count, self.raw = inner, budget, what, 0, raw
        self.error: OSError | None = None
        self._skip_buf = bytearray(1 << 16)

    def close(self) -> None:
        if not self.closed:
            for f in (self.inner, self.raw):
                try:
                    if f is not None:
                        f.close()
                except Exception:  # noqa: BLE001 - closing a corrupt stream may fail again
                    pass
        super().close()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 20
        buf = bytearray(n)
        got = self.readinto(buf)
        return bytes(memoryview(buf)[:got])  # a copy: a view still held by a failure's traceback forbids resizing

    def readinto(self, b: Any) -> int:
        """Fill `b` in pieces, so that a stream failing midway still hands out what came before the
        failure; the failure is raised by the next call."""
        if self.error is not None:
            raise self.error
        view = memoryview(b).cast("B")
        n = len(view)
        got = 0
        while got < n:
            try:
                k = self.inner.readinto(view[got : got + min(n - got, 1 << 18)])
            except EOFError as e:
                self.error = CorruptStream(f"{self.what} stream truncated ({e})")
            except Exception as e:  # noqa: BLE001 - zlib.error, gzip.BadGzipFile, zstandard.ZstdError, ...
                self.error = CorruptStream(f"{self.what} stream corrupt ({type(e).__name__}: {e})")
            if self.error is not None:
                if got:
                    break
                raise self.error
            if not k:
                break
            got += k
            self.count += k
            if self.count > self.budget:
                self.error = ScanBudgetExceeded(
                    f"more than {self.budget} bytes decompressed from the {self.what} stream"
                )
                raise self.error
        return got

    # Forward-only seeking, so that tarfile can run in its seeking mode over a compressed stream:
    # passing over a member is then one tight loop here instead of tarfile's block-by-block reads.

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.count

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self.count
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a compressed stream seeks forward from its start only")
        if pos < self.count:
            raise io.UnsupportedOperation(f"cannot seek back in a {self.what} stream")
        buf = self._skip_buf
        view = memoryview(buf)
        while self.count < pos:
            if self.error is not None:
                raise self.error
            want = min(pos - self.count, len(buf))
            try:
                got = self.inner.readinto(view[:want])
            except EOFError as e:
                self.error = CorruptStream(f"{self.what} stream truncated ({e})")
                raise self.error from None
            except Exception as e:  # noqa: BLE001 - as in read
                self.error = CorruptStream(f"{self.what} stream corrupt ({type(e).__name__}: {e})")
                raise self.error from None
            if not got:
                break  # the end: the caller's next read finds nothing
            self.count += got
            if self.count > self.budget:
                self.error = ScanBudgetExceeded(
                    f"more than {self.budget} bytes decompressed from the {self.what} stream"
                )
                raise self.error
        return self.count


class _Gunzip:
    """Several gzip members (what `pigz` and `cat a.gz b.gz` make) as one stream. zlib checks each
    member's header and CRC itself; zero padding after the last member is allowed, as gzip(1) does."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.d = _inflate.decompressobj(31)
        self.inbuf = b""
        self.in_member = False
        self.done = False

    def readinto(self, view: Any) -> int:
        n = len(view)
        while not self.done:
            if self.d.unconsumed_tail:
                data = self.d.unconsumed_tail
            elif self.inbuf:
                data, self.inbuf = self.inbuf, b""
            else:
                data = self.raw.read(1 << 16)
                if not data:
                    if self.in_member:
                        raise EOFError("compressed file ended before the end-of-stream marker was reached")
                    self.done = True
                    break
            self.in_member = True
            out = self.d.decompress(data, n)
            if self.d.eof:
                self.inbuf = self.d.unused_data
                self.d = _inflate.decompressobj(31)
                self.in_member = False
                if self.inbuf and not self.inbuf.strip(b"\0"):
                    self.inbuf = b""
            if out:
                view[: len(out)] = out
                return len(out)
        return 0

    def close(self) -> None:
        self.done = True


class _ReadAhead:
    """Decompress ahead in a second thread, so that inflating the archive (which releases the GIL, in
    zlib, ISA-L and zstd alike) runs on the other core while this one parses tar headers and decodes
    JSON. At most `blocks` blocks of `block` bytes wait decompressed: the scan budget still bounds
    the work, a few MiB late. A failure of the decompressor is raised, in order, after the bytes that
    came before it; `close` stops the thread."""

    _END = object()
    PIECE = 1 << 16

    def __init__(self, inner: Any, block: int = 1 << 20, blocks: int = 4) -> None:
        self.inner, self.block = inner, block
        self.q: queue.Queue[Any] = queue.Queue(maxsize=blocks)
        self.stop = threading.Event()
        self.cur, self.pos = memoryview(b""), 0
        self.finished = False
        self.thread = threading.Thread(target=self._run, name="forensics-inflate", daemon=True)
        self.thread.start()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        buf, got = memoryview(bytearray(self.block)), 0
        try:
            while not self.stop.is_set():
                # in pieces, as the reader itself would ask: a decompressor that fails midway loses
                # no more than the piece it was producing
                k = self.inner.readinto(buf[got : got + self.PIECE])
                got += k or 0
                if got and (not k or got == len(buf)):
                    if not self._put(buf[:got]):
                        return
                    buf, got = memoryview(bytearray(self.block)), 0
                if not k:
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the reading thread, raised there in order
            if got:
                self._put(buf[:got])
            self._put(e)
            return
        if got:
            self._put(buf[:got])
        self._put(self._END)

    def readinto(self, view: Any) -> int:
        while self.pos >= len(self.cur):
            if self.finished:
                return 0
            item = self.q.get()
            if item is self._END:
                self.finished = True
                return 0
            if isinstance(item, BaseException):
                self.finished = True
                try:
                    raise item
                finally:
                    item = None  # no cycle through this frame: it would keep the caller's buffers exported
            self.cur, self.pos = item, 0
        n = min(len(view), len(self.cur) - self.pos)
        view[:n] = self.cur[self.pos : self.pos + n]
        self.pos += n
        return n

    def close(self) -> None:
        self.stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self.q.get_nowait()
            except queue.Empty:
                break
        self.thread.join(timeout=5)
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def _decompressed(path: Path, compression: str, limits: Limits) -> _Counted:
    """The decompressed bytes of a `gz` or `zst` file as a counted stream (all members / frames)."""
    raw = open(path, "rb")  # noqa: SIM115 - owned by the returned stream
    try:
        size = os.fstat(raw.fileno()).st_size
        budget = max(limits.scan_bytes, limits.scan_ratio * size)
        if compression == "zst":
            try:
                import zstandard
            except ImportError as e:  # pragma: no cover - depends on the machine
                raise UnusableInput(
                    f"{path}: a zstd-compressed archive; reading it needs the optional "
                    "zstandard package: pip install 'cluster-forensics[zstd]'"
                ) from e
            dctx = zstandard.ZstdDecompressor(max_window_size=limits.zstd_window)
            inner: Any = dctx.stream_reader(raw, read_across_frames=True, closefd=True)
            return _Counted(_ReadAhead(inner), budget, "zstd", raw)
        return _Counted(_ReadAhead(_Gunzip(raw)), budget, "gzip", raw)
    except BaseException:
        raw.close()
        raise


# tarfile's own header exceptions (not in its public surface)
_EOF_HEADER: type[Exception] = getattr(tarfile, "EOFHeaderError")  # noqa: B009
_CUT_HEADER: tuple[type[Exception], ...] = (
    getattr(tarfile, "TruncatedHeaderError"),  # noqa: B009
    getattr(tarfile, "EmptyHeaderError"),  # noqa: B009
)


class _Info(tarfile.TarInfo):
    """Remembers why the archive ended: tarfile returns None both for a proper end-of-archive block
    and for a header cut short, which is a truncated archive."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> _Info:
        try:
            return super().fromtarfile(tarfile_)
        except Exception as e:
            tarfile_._forensics_end = e  # type: ignore[attr-defined]
            raise


def _end_problem(tf: tarfile.TarFile) -> str | None:
    """Why a tar stream that returned no more members stopped, when that was not a proper end."""
    end = getattr(tf, "_forensics_end", None)
    if end is None or isinstance(end, _EOF_HEADER):
        return None
    if isinstance(end, _CUT_HEADER):
        return "archive truncated: it ends inside a member header or without its end-of-archive blocks"
    if isinstance(end, OSError):
        return f"{end}"
    return f"archive corrupt: unreadable member header ({end})"


class TarSource(DumpSource):
    """A `.tar`, `.tar.gz`/`.tgz` or `.tar.zst` archive, streamed once per `iter_files` call."""

    compression: str = ""

    def _open_stream(self) -> tarfile.TarFile:
        if self.compression in ("gz", "zst"):
            stream = _decompressed(self.path, self.compression, self.limits)
            try:
                # buffered: tarfile's many small header reads are served in C; seeks pass through
                buffered = io.BufferedReader(stream, buffer_size=1 << 16)
                tf = tarfile.open(  # noqa: SIM115 - closed with the stream, after the walk
                    fileobj=buffered,
                    mode="r:",
                    tarinfo=_Info,
                )  # type: ignore[call-overload]
            except BaseException:
                stream.close()
                raise
            tf._forensics_stream = stream  # type: ignore[attr-defined]
            return tf
        # a plain tar can be seeked: members over their cap are skipped without reading them
        return tarfile.open(self.path, mode="r:", tarinfo=_Info)

    def _members(self, tf: tarfile.TarFile, last: list[str], policy: _Policy) -> Iterator[tarfile.TarInfo]:
        """Members in order; a corrupt, truncated or bomb stream ends them with one load problem."""
        while True:
            try:
                m = tf.next()
            except ScanBudgetExceeded as e:
                self.problem(
                    last[0] or self.path.name,
                    "archive reading stopped",
                    f"{e} (a compression bomb?); members after this point were not read",
                )
                return
            except _READ_ERRORS as e:
                self.problem(
                    last[0] or self.path.name,
                    "archive truncated or corrupt",
                    f"{type(e).__name__}: {e}; members after this point were not read",
                )
                return
            if m is None:
                why = _end_problem(tf)
                if why is not None:
                    self.problem(
                        last[0] or self.path.name,
                        "archive truncated or corrupt",
                        f"{why}; members after this point were not read",
                    )
                return
            tf.members.clear()  # type: ignore[attr-defined]  # we never look back; a million TarInfos would only cost memory
            if not policy.entry(printable_name(m.name)):
                return
            yield m

    def iter_names(self) -> Iterator[str]:
        try:
            tf = self._open_stream()
        except _READ_ERRORS:
            return
        n = len(self.problems)
        try:
            for m in self._members(tf, [""], _Policy(self)):
                clean, _ = _clean_name(_member_name(m))
                if clean is not None and m.isfile() and not ignorable(clean):
                    yield clean
        finally:
            _close(tf)
            del self.problems[n:]  # listing names is not reading: problems are recorded by iter_files

    def iter_files(
        self, select: Select, stream: Callable[[str], bool] | None = None
    ) -> Iterator[tuple[str, bytes | Chunked]]:
        top = _TopFolder(_root_entries())
        policy = _Policy(self)
        try:
            tf = self._open_stream()
        except _READ_ERRORS as e:
            raise UnusableInput(f"{self.path}: not a readable archive ({e})") from None
        last = [""]
        try:
            for m in self._members(tf, last, policy):
                clean, why = _clean_name(_member_name(m))
                if clean is None:
                    self.problem(printable_name(_member_name(m)), "unsafe member skipped", why)
                    continue
                if m.isdir() or ignorable(clean):
                    continue
                if m.issym() or m.islnk():
                    self.problem(
                        clean, "link member skipped", f"links to {printable_name(m.linkname)!r}; never followed"
                    )
                    continue
                if not m.isfile():
                    self.problem(clean, "special member skipped", "device, fifo or other non-regular file")
                    continue
                name = self._inside(top, clean)
                if name is None:
                    continue
                last[0] = name
                cap = policy.admit(name, m.size, select)
                if cap is None:
                    continue
                if not policy.room(name, m.size, cap):
                    return
                try:
                    fh = tf.extractfile(m)
                except _READ_ERRORS as e:
                    self.problem(name, "unreadable member", f"{type(e).__name__}: {e}")
                    continue
                if fh is None:
                    continue
                if stream is not None and m.size > STREAM_OVER and stream(name):
                    policy.streamed(name, m.size)
                    big = Chunked(name, m.size, fh)
                    yield name, big
                    if isinstance(big.error, ScanBudgetExceeded):
                        self.problem(
                            name,
                            "archive reading stopped",
                            f"{big.error} (a compression bomb?); "
                            "the rest of this member and the ones after it were not read",
                        )
                        return
                    if big.error is not None:
                        self.problem(
                            name,
                            "archive truncated or corrupt",
                            f"{type(big.error).__name__}: {big.error}; the items before it were read",
                        )
                        return
                    continue
                try:
                    data, truncated = _read_capped(fh, m.size, cap, name)
                except ScanBudgetExceeded as e:
                    self.problem(
                        name,
                        "archive reading stopped",
                        f"{e} (a compression bomb?); this member and the ones after it were not read",
                    )
                    return
                except _READ_ERRORS as e:
                    self.problem(name, "archive truncated or corrupt", f"{type(e).__name__}: {e}")
                    return
                if data is None:
                    continue
                policy.kept(name, m.size, cap, data, truncated)
                yield name, data
        finally:
            _close(tf)


def _member_name(m: tarfile.TarInfo) -> str:
    """A member's name; for a PAX sparse member the real one (GNU.sparse.name), which tarfile may let a
    `path` record (holding the `GNUSparseFile.0/` stand-in) override."""
    name = m.pax_headers.get("GNU.sparse.name") if m.pax_headers else None
    return name if isinstance(name, str) and name else m.name


def _close(tf: tarfile.TarFile) -> None:
    for f in (tf, getattr(tf, "_forensics_stream", None)):
        try:
            if f is not None:
                f.close()
        except Exception:  # noqa: BLE001 - closing a corrupt stream may fail again
            pass


class ZipSource(DumpSource):
    """A `.zip` archive: the same rules as a tar (no `..`, no absolute paths, no links, caps, first of
    duplicate names wins). Members are read by random access, so skipping costs nothing; a member is
    never read past its cap, whatever size its header claims (zip bombs)."""

    def _open(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
            raise UnusableInput(f"{self.path}: not a readable zip archive ({e})") from None

    def _entries(self, zf: zipfile.ZipFile, policy: _Policy) -> Iterator[tuple[zipfile.ZipInfo, str | None, str]]:
        """(info, clean name or None, why) of every entry, in archive order, under the member cap."""
        for info in zf.infolist():
            if not policy.entry(printable_name(info.filename)):
                return
            clean, why = _clean_name(info.filename)
            yield info, clean, why

    def iter_names(self) -> Iterator[str]:
        zf = self._open()
        with zf:
            n = len(self.problems)
            for info, clean, _ in self._entries(zf, _Policy(self)):
                if clean is not None and not info.is_dir() and _zip_kind(info) == "file" and not ignorable(clean):
                    yield clean
            del self.problems[n:]

    def iter_files(
        self, select: Select, stream: Callable[[str], bool] | None = None
    ) -> Iterator[tuple[str, bytes | Chunked]]:
        top = _TopFolder(_root_entries())
        policy = _Policy(self)
        scanned = 0  # bytes decompressed, kept or passed over to reach a log's tail
        budget = max(self.limits.scan_bytes, self.limits.scan_ratio * self.path.stat().st_size)
        zf = self._open()
        with zf:
            for info, clean, why in self._entries(zf, policy):
                if clean is None:
                    self.problem(printable_name(info.filename), "unsafe member skipped", why)
                    continue
                if info.is_dir() or ignorable(clean):
                    continue
                kind = _zip_kind(info)
                if kind == "link":
                    self.problem(clean, "link member skipped", "a symlink (zip external attributes); never followed")
                    continue
                if kind != "file":
                    self.problem(clean, "special member skipped", "device, fifo or other non-regular file")
                    continue
                name = self._inside(top, clean)
                if name is None:
                    continue
                size = info.file_size
                cap = policy.admit(name, size, select)
                if cap is None:
                    continue
                if scanned + min(size, cap) > budget:
                    self.problem(
                        name,
                        "archive reading stopped",
                        f"more than {budget} bytes to decompress "
                        "(a zip bomb?); this member and the ones after it were not read",
                    )
                    return
                if not policy.room(name, size, cap):
                    return
                if stream is not None and size > STREAM_OVER and stream(name):
                    scanned += size
                    policy.streamed(name, size)
                    try:
                        with zf.open(info) as fh:
                            big = Chunked(name, size, fh)
                            yield name, big
                    except _READ_ERRORS as e:
                        self.problem(name, "unreadable member", f"{type(e).__name__}: {e}")
                        continue
                    if big.error is not None:
                        self.problem(
                            name,
                            "unreadable member",
                            f"{type(big.error).__name__}: {big.error}; the items before it were read",
                        )
                    continue
                try:
                    with zf.open(info) as fh:
                        if size > cap:
                            data, truncated = _zip_tail(fh, cap, budget - scanned), True
                        else:
                            data, truncated = fh.read(size), False
                except _READ_ERRORS as e:
                    self.problem(name, "unreadable member", f"{type(e).__name__}: {e}")
                    continue
                if data is None:
                    self.problem(
                        name,
                        "archive reading stopped",
                        f"more than {budget} bytes to decompress "
                        "(a zip bomb?); this member and the ones after it were not read",
                    )
                    return
                scanned += size if truncated else len(data)
                policy.kept(name, size, cap, data, truncated)
                yield name, data


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """'file', 'link' or 'special' from the Unix mode in a zip entry's external attributes."""
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # made on Unix: the high 16 bits are st_mode
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "dir"
        if not stat.S_ISREG(mode):
            return "special"
    return "file"


def _zip_tail(fh: Any, cap: int, budget: int) -> bytes | None:
    """The last `cap` bytes of a zip member, reading at most `budget` decompressed bytes (None past it)."""
    tail = b""
    read = 0
    while True:
        chunk = fh.read(MiB)
        if not chunk:
            return tail
        read += len(chunk)
        if read > budget:
            return None
        tail = (tail + chunk)[-cap:]


def _root_entries() -> frozenset[str]:
    from forensics.read import layout

    return layout.ROOT_ENTRIES


def _unwrap_dir(p: Path) -> Path:
    """A directory that wraps the dump in one real (non-symlink) folder, perhaps beside a README or
    macOS litter: descend into that folder."""
    try:
        entries = [e for e in os.scandir(p) if not e.name.startswith(".") and e.name != "__MACOSX"]
    except OSError as e:
        raise UnusableInput(f"{p}: cannot list ({e.strerror or e})") from None
    if any(e.name in _root_entries() for e in entries):
        return p
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    if len(dirs) == 1:
        return Path(dirs[0].path)
    return p


def _sniff(p: Path) -> tuple[str, bytes]:
    """('tar' | 'gz' | 'zst' | 'zip' | '', first bytes) of a regular file."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except OSError as e:
        raise UnusableInput(f"{p}: cannot read ({e.strerror or e})") from None
    if head[:2] == b"\x1f\x8b":
        return "gz", head
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zst", head
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip", head
    if _tar_header(head):
        return "tar", head
    return "", head


def _tar_header(head: bytes) -> bool:
    if len(head) >= 262 and head[257:262] == b"ustar":
        return True
    if len(head) < 512:
        return False
    try:  # a v7 tar has no magic: its header checksum says it is one
        return int(head[148:156].rstrip(b"\x00 ").decode("ascii") or "x", 8) in getattr(tarfile, "calc_chksums")(head)  # noqa: B009
    except (ValueError, UnicodeDecodeError):
        return False


def compressed_head(p: Path, compression: str, n: int = 64 * 1024, limits: Limits | None = None) -> bytes:
    """The first `n` decompressed bytes of a gz/zst file (b'' when it cannot be decompressed)."""
    try:
        with _decompressed(p, compression, limits or Limits()) as s:
            out = b""
            while len(out) < n:
                b = s.read(n - len(out))
                if not b:
                    break
                out += b
            return out
    except (OSError, UnusableInput):
        return b""


def single_compression(path: str | os.PathLike[str]) -> str:
    """'gz' or 'zst' when `path` is one compressed plain file (not a compressed tar), else ''."""
    p = Path(path)
    if not p.is_file():
        return ""
    kind, _ = _sniff(p)
    if kind in ("gz", "zst") and not _tar_header(compressed_head(p, kind, 512)):
        return kind
    return ""


def open_single(path: str | os.PathLike[str], limits: Limits | None = None) -> BinaryIO:
    """A plain dump file as a binary stream, decompressed when it is gz/zst (several members or frames
    are one file); the decompressed bytes are counted against the scan budget (reads raise OSError)."""
    p = Path(path)
    kind = single_compression(p)
    if kind:
        return io.BufferedReader(_decompressed(p, kind, limits or Limits()), buffer_size=1 << 20)
    try:
        return open(p, "rb")
    except OSError as e:
        raise UnusableInput(f"{p}: cannot read ({e.strerror or e})") from None


def read_upto(fh: Any, limit: int) -> bytes:
    """At most `limit` bytes of a stream, read in pieces (a single read of `limit` would reserve it all).
    The pieces go into one growing buffer whose bytes are handed out without a copy: joining a list of
    pieces at the end held everything twice."""
    out = io.BytesIO()
    got = 0
    while got < limit:
        b = fh.read(min(limit - got, 16 * MiB))
        if not b:
            break
        out.write(b)
        got += len(b)
    return out.getvalue()


def read_or_stream(fh: Any, whole_max: int, chunk: int | None = None) -> tuple[bytes | None, Iterator[bytes]]:
    """A stream read whole when it ends within `whole_max` bytes: `(data, no chunks)`. Past that, `(None,
    chunks)`: the bytes read so far, then the rest of the stream, in pieces of `chunk`, each let go of
    once handed out, so that a consumer that decodes as it goes (`chunks.item_batches`) never holds the
    whole; read errors (truncation, the scan budget of a bomb) are raised by the iteration."""
    step = chunk or STREAM_CHUNK
    pieces: list[bytes] = []
    got = 0
    while got <= whole_max:
        b = fh.read(min(step, whole_max + 1 - got))
        if not b:
            out = io.BytesIO()
            while pieces:
                out.write(pieces.pop(0))
            return out.getvalue(), iter(())
        pieces.append(b)
        got += len(b)

    def rest() -> Iterator[bytes]:
        while pieces:
            yield pieces.pop(0)
        while b := fh.read(step):
            yield b

    return None, rest()


def read_single(path: str | os.PathLike[str], cap: int, limits: Limits | None = None) -> bytes | None:
    """The whole content of a single-file dump, decompressed when it is gz/zst; None when it is over `cap`
    (a plain file by its size, unread; a compressed one once `cap` bytes came out of it, which are let go)
    or cannot be read to its end."""
    p = Path(path)
    try:
        if not single_compression(p) and p.stat().st_size > cap:
            return None
        with open_single(p, limits) as fh:
            data, _ = read_or_stream(fh, cap)
    except (OSError, UnusableInput):
        return None
    return data


def single_name(path: str | os.PathLike[str]) -> str:
    """The name a single compressed file stands for (`pods.json.gz` -> `pods.json`)."""
    name = Path(path).name
    for suf in (".gz", ".zst", ".gzip"):
        if name.endswith(suf) and single_compression(path):
            return name[: -len(suf)]
    return name


def open_source(path: str | os.PathLike[str], limits: Limits | None = None) -> DumpSource:
    """Open a dump directory or archive, recognised by content (magic bytes), not by extension."""
    p = Path(path)
    lim = limits or Limits()
    try:
        st = p.stat()
    except OSError as e:
        raise UnusableInput(f"{p}: cannot open ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        return DirectorySource(_unwrap_dir(p), lim)
    if not stat.S_ISREG(st.st_mode):
        raise UnusableInput(f"{p}: neither a directory nor an archive")
    kind, _ = _sniff(p)
    if kind == "zip":
        return ZipSource(p, lim)
    if kind in ("gz", "zst"):
        head = compressed_head(p, kind, 512, lim)
        if not head:
            raise UnusableInput(
                f"{p}: not a readable archive (the {'gzip' if kind == 'gz' else 'zstd'} stream cannot be decompressed)"
            )
        if not _tar_header(head):
            raise UnusableInput(f"{p}: a compressed file that holds no tar archive")
        src = TarSource(p, lim)
        src.compression = kind
        return src
    if kind == "tar":
        return TarSource(p, lim)
    raise UnusableInput(f"{p}: not a dump (expected a directory or a .tar/.tar.gz/.tar.zst/.zip archive)")
