"""Reading an untrusted dump: a directory or an archive, member by member, never extracted.

A customer dump may hold `..` paths, absolute paths, symlinks and hardlinks pointing anywhere,
device files, members far larger than they should be, a tar bomb, a truncated gzip stream. None of
that is an exception here: each becomes a `LoadProblem` (file, what, why) and the rest of the dump is
still read. Nothing is written to disk at all: archive members are streamed into memory one at a
time (`iter_files`), each under a size cap. Only input that is not a dump at all (a missing path, a
file that is neither a directory nor an archive) raises `UnusableInput`.

Names handed out are root-relative posix paths, after stripping the single top folder an archive
(or a directory) usually wraps the dump in.
"""

from __future__ import annotations

import collections
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from forensics.errors import UnusableInput

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile archive from exhausting memory or time."""

    member_bytes: int = 3 * GiB  # one object list (pods.json of a 150k-pod cluster is ~1 GiB)
    log_bytes: int = 8 * MiB  # a log keeps its *tail* past this: the crash is at the end
    small_bytes: int = 64 * MiB  # manifests, configs, metadata, binfmt entries
    total_bytes: int = 48 * GiB  # everything read, uncompressed (tar bombs)
    members: int = 2_000_000


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
    """A member too big to hold at once: `chunks()` yields its bytes in order, once."""

    def __init__(self, name: str, size: int, fh: Any, chunk: int) -> None:
        self.name, self.size, self._fh, self._chunk = name, size, fh, chunk

    def chunks(self) -> Iterator[bytes]:
        while True:
            b = self._fh.read(self._chunk)
            if not b:
                return
            yield b


STREAM_OVER = 256 * MiB  # object lists larger than this are handed out as `Chunked`

Select = Callable[[str], "int | None"]
"""Given a member name, the byte cap to read it under, or None to skip it."""


@dataclass
class DumpSource:
    """A dump to read. Subclasses stream members; `problems` collects what went wrong."""

    path: Path
    limits: Limits = field(default_factory=Limits)
    problems: list[LoadProblem] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    strip_top: bool = True  # archives: strip the one top folder (False: names as stored, for other formats)
    _cache: dict[str, bytes] | None = None

    def problem(self, file: str, what: str, why: str) -> None:
        self.problems.append(LoadProblem(file, what, why))

    def iter_files(self, select: Select, stream: Callable[[str], bool] | None = None
                   ) -> Iterator[tuple[str, bytes | Chunked]]:
        """Yield (name, bytes) for each selected member; members for which `stream(name)` holds and
        that are larger than STREAM_OVER come as `Chunked` (to be consumed before the next item)."""
        raise NotImplementedError

    def names(self) -> list[str]:
        """All regular-file names (reads an archive once, fully; for small dumps and `serve`)."""
        return sorted(self._all())

    def read(self, name: str) -> bytes | None:
        """Random access by name (whole dump cached in memory for archives: for small dumps)."""
        return self._all().get(name)

    def _all(self) -> dict[str, bytes]:
        if self._cache is None:
            self._cache = {n: d for n, d in self.iter_files(lambda n: self.limits.small_bytes)
                           if isinstance(d, bytes)}
        return self._cache


def _clean_name(raw: str) -> tuple[str | None, str]:
    """Normalize a member name; (None, why) when it is unsafe to even consider."""
    if "\x00" in raw:
        return None, "name holds a NUL byte"
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None, "absolute path"
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None, "path climbs out of the dump with '..'"
    return "/".join(parts), ""


class _TopFolder:
    """Strips the one top folder an archive wraps a dump in, once it is known from the first names."""

    def __init__(self, root_entries: frozenset[str]) -> None:
        self.root_entries = root_entries
        self.prefix: str | None = None

    def strip(self, name: str) -> str | None:
        first, _, rest = name.partition("/")
        if self.prefix is None:
            if not rest or first in self.root_entries:
                self.prefix = ""
            else:
                self.prefix = first + "/"
        if self.prefix and name.startswith(self.prefix):
            return name[len(self.prefix):]
        if self.prefix and name + "/" == self.prefix:
            return None
        return name if not self.prefix else None


class DirectorySource(DumpSource):
    """A dump unpacked in a directory. Symlinks and special files are never followed."""

    def iter_files(self, select: Select, stream: Callable[[str], bool] | None = None
                   ) -> Iterator[tuple[str, bytes | Chunked]]:
        root = self.path
        total = 0
        seen = 0
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            for d in list(dirnames):
                p = os.path.join(dirpath, d)
                if os.path.islink(p):
                    self.problem(_join(rel_dir, d), "symlink skipped", f"points to {os.readlink(p)!r}; never followed")
                    dirnames.remove(d)
            dirnames.sort()
            for f in sorted(filenames):
                name = _join(rel_dir, f)
                p = os.path.join(dirpath, f)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    self.problem(name, "symlink skipped", f"points to {os.readlink(p)!r}; never followed")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.problem(name, "special file skipped", "not a regular file")
                    continue
                cap = select(name)
                if cap is None:
                    continue
                seen += 1
                if seen > self.limits.members:
                    self.problem(name, "too many files", f"stopped after {self.limits.members}")
                    return
                if total + min(st.st_size, cap) > self.limits.total_bytes:
                    self.problem(name, "dump too large", f"stopped after {total} bytes read")
                    return
                if stream is not None and st.st_size > STREAM_OVER and st.st_size <= cap and stream(name):
                    with open(p, "rb", opener=_nofollow_opener) as fh:
                        total += st.st_size
                        self.files.append(FileInfo(name, st.st_size))
                        yield name, Chunked(name, st.st_size, fh, 64 * MiB)
                    continue
                try:
                    with open(p, "rb", opener=_nofollow_opener) as fh:
                        data, truncated = _read_capped(fh, st.st_size, cap, name)
                except OSError as e:
                    self.problem(name, "unreadable file", str(e))
                    continue
                if data is None:
                    self.problem(name, "file too large", f"{st.st_size} bytes, cap {cap}")
                    continue
                if truncated:
                    self.problem(name, "file truncated to its tail", f"{st.st_size} bytes, kept the last {cap}")
                total += len(data)
                self.files.append(FileInfo(name, st.st_size, truncated))
                yield name, data


def _nofollow_opener(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def _join(rel_dir: str, name: str) -> str:
    return name if rel_dir in ("", ".") else f"{rel_dir}/{name}"


def _read_capped(fh: Any, size: int, cap: int, name: str) -> tuple[bytes | None, bool]:
    """Read a member under `cap`. Logs keep their tail; other files over the cap are refused."""
    read = fh.read
    if size <= cap:
        return read(), False
    if not name.endswith(".log") and not name.endswith(".txt"):
        return None, False
    tail: collections.deque[bytes] = collections.deque()
    kept = 0
    while True:
        chunk = read(MiB)
        if not chunk:
            break
        tail.append(chunk)
        kept += len(chunk)
        while kept - len(tail[0]) >= cap:
            kept -= len(tail.popleft())
    data = b"".join(tail)
    return data[-cap:], True


class TarSource(DumpSource):
    """A `.tar`, `.tar.gz`/`.tgz` or `.tar.zst` archive, streamed once per `iter_files` call."""

    compression: str = ""

    def _open_stream(self) -> tarfile.TarFile:
        if self.compression == "zst":
            try:
                import zstandard
            except ImportError as e:  # pragma: no cover - depends on the machine
                raise UnusableInput(f"{self.path}: a zstd-compressed archive; reading it needs the optional "
                                   "zstandard package: pip install 'cluster-forensics[zstd]'") from e
            raw = open(self.path, "rb")  # noqa: SIM115 - owned and closed by the tar stream
            reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
            return tarfile.open(fileobj=reader, mode="r|")  # type: ignore[arg-type]
        if self.compression == "gz":
            return tarfile.open(self.path, mode="r|gz")
        return tarfile.open(self.path, mode="r|")

    def iter_files(self, select: Select, stream: Callable[[str], bool] | None = None
                   ) -> Iterator[tuple[str, bytes | Chunked]]:
        top = _TopFolder(_root_entries())
        total = 0
        count = 0
        try:
            tf = self._open_stream()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise UnusableInput(f"{self.path}: not a readable archive ({e})") from None
        last = ""
        try:
            while True:
                try:
                    m = tf.next()
                except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                    self.problem(last or self.path.name, "archive truncated or corrupt",
                                 f"{type(e).__name__}: {e}; members after this point were not read")
                    return
                if m is None:
                    return
                count += 1
                if count > self.limits.members:
                    self.problem(m.name, "too many members", f"stopped after {self.limits.members}")
                    return
                clean, why = _clean_name(m.name)
                if clean is None:
                    self.problem(m.name, "unsafe member skipped", why)
                    continue
                if m.isdir():
                    continue
                if m.issym() or m.islnk():
                    self.problem(clean, "link member skipped", f"links to {m.linkname!r}; never followed")
                    continue
                if not m.isfile():
                    self.problem(clean, "special member skipped", "device, fifo or other non-regular file")
                    continue
                name = top.strip(clean) if self.strip_top else clean
                if name is None:
                    self.problem(clean, "member outside the dump folder skipped",
                                 "the archive holds more than one top folder")
                    continue
                last = name
                cap = select(name)
                if cap is None:
                    continue
                if m.size > cap and not name.endswith((".log", ".txt")):
                    self.problem(name, "member too large", f"{m.size} bytes, cap {cap}")
                    continue
                if total + min(m.size, cap) > self.limits.total_bytes:
                    self.problem(name, "dump too large", f"stopped after {total} bytes: a tar bomb?")
                    return
                fh = tf.extractfile(m)
                if fh is None:
                    continue
                if stream is not None and m.size > STREAM_OVER and stream(name):
                    total += m.size
                    self.files.append(FileInfo(name, m.size))
                    try:
                        yield name, Chunked(name, m.size, fh, 64 * MiB)
                    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                        self.problem(name, "archive truncated or corrupt", f"{type(e).__name__}: {e}")
                        return
                    continue
                try:
                    data, truncated = _read_capped(fh, m.size, cap, name)
                except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                    self.problem(name, "archive truncated or corrupt", f"{type(e).__name__}: {e}")
                    return
                if data is None:
                    continue
                if len(data) < min(m.size, cap) and not truncated:
                    self.problem(name, "member truncated", f"{len(data)} of {m.size} bytes present")
                if truncated:
                    self.problem(name, "file truncated to its tail", f"{m.size} bytes, kept the last {cap}")
                total += len(data)
                self.files.append(FileInfo(name, m.size, truncated))
                yield name, data
        finally:
            tf.close()


def _root_entries() -> frozenset[str]:
    from forensics import layout

    return layout.ROOT_ENTRIES


def _unwrap_dir(p: Path) -> Path:
    """A directory that only wraps the dump in one real (non-symlink) folder: descend into it."""
    try:
        entries = [e for e in os.scandir(p) if not e.name.startswith(".")]
    except OSError as e:
        raise UnusableInput(f"{p}: cannot list ({e.strerror or e})") from None
    if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
        return Path(entries[0].path)
    return p


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
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except OSError as e:
        raise UnusableInput(f"{p}: cannot read ({e.strerror or e})") from None
    src = TarSource(p, lim)
    if head[:2] == b"\x1f\x8b":
        src.compression = "gz"
    elif head[:4] == b"\x28\xb5\x2f\xfd":
        src.compression = "zst"
    elif len(head) >= 262 and head[257:262] == b"ustar":
        src.compression = ""
    else:
        raise UnusableInput(f"{p}: not a dump (expected a directory or a .tar/.tar.gz/.tar.zst archive)")
    return src
