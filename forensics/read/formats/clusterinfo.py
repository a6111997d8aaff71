"""`kubectl cluster-info dump`: the directory form (`--output-directory`) and the stdout form.

Directory form (extensions follow `-o`, `.json` by default, `.yaml` with `-o yaml`):

    nodes.json
    <namespace>/{events,replication-controllers,services,daemonsets,deployments,replicasets,pods}.json
    <namespace>/<pod>/logs.txt

`logs.txt` holds every container's *current* log between `==== START logs for container C of pod
NS/POD ====` and `==== END logs for container C of pod NS/POD ====` lines; a log kubectl could not
get reads `Request log error: ...` inside its block. The stdout form is one stream: pretty-printed
JSON lists (NodeList, then per namespace events, replication controllers, services, daemonsets,
deployments, replicasets, pods) interleaved with the same log blocks. Seen with kubectl 1.32 against
`forensics serve` (see tests/test_formats_clusterinfo.py).

Neither form holds a collection time, previous logs, statefulsets, jobs or cronjobs.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.read.formats.common import (
    LIST_KINDS,
    OBJECT_KINDS,
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    Part,
    add_images,
    convert_items,
    decode_json_items,
    finish,
    items_by_kind,
    open_raw,
    parts_of,
    short,
    yaml_docs,
)
from forensics.read.formats.raw import LogSink, RawDump, merge
from forensics.read.formats.raw import items as raw_items
from forensics.read.formats.raw import objects as raw_objects
from forensics.read.load import Dump
from forensics.read.source import DumpSource, FileInfo, open_single, read_single, single_name

FORMAT = "kubectl-cluster-info-dump"
NODES = ("nodes.json", "nodes.yaml")
LOGS = "logs.txt"
# file stem in <namespace>/ -> kind file name (None: known, carries nothing the analysis reads)
NAMESPACE_FILES: dict[str, str | None] = {
    "events": "events",
    "daemonsets": "daemonsets",
    "deployments": "deployments",
    "replicasets": "replicasets",
    "pods": "pods",
    "replication-controllers": None,
    "services": None,
}
EXTENSIONS = (".json", ".yaml")
_START = re.compile(rb"^==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====\s*$")
_END = re.compile(rb"^==== END logs for container (\S+) of pod ([^/\s]+)/(\S+) ====\s*$")
REQUEST_LOG_ERROR = b"Request log error"
LOG_MARKER = b"==== START logs for container "
MAX_LOG_BLOCKS = 50_000  # container logs read from one file
LINE_MAX = 16 * 1024 * 1024  # a longer line is read in pieces
LIST_WHOLE_MAX = 64 * 1024 * 1024  # a JSON list is held whole up to this; past it, decoded as it is read ...
STREAM_PIECE = 16 * 1024 * 1024  # ... in pieces of this many bytes
_FIRST_KIND = re.compile(rb'"kind"\s*:\s*"(\w{1,100})"')
YAML_MAX = 64 * 1024 * 1024  # YAML is built as Python objects: a smaller cap than for JSON lists

GAPS = [
    {
        "what": "no previous container logs",
        "impact": "kubectl cluster-info dump keeps only the current log of each container: the output of the "
        "container that crashed before the restart is only seen if the current one crashed the same way",
    },
    {
        "what": "no statefulsets, jobs or cronjobs",
        "impact": "kubectl cluster-info dump does not list them: their pods are attributed by owner reference only",
    },
]


def marker(parts: list[str]) -> tuple[str, bool] | None:
    """(root prefix, decisive) when a name looks like part of a cluster-info dump directory."""
    name = parts[-1]
    if len(parts) >= 2 and name.rsplit(".", 1)[0] == "replication-controllers" and name.endswith(EXTENSIONS):
        return "".join(p + "/" for p in parts[:-2]), True
    if len(parts) >= 3 and name == LOGS:
        return "".join(p + "/" for p in parts[:-3]), False
    if name in NODES:
        return "".join(p + "/" for p in parts[:-1]), False
    return None


def weak_root(hits: set[tuple[str, str]]) -> str | None:
    """The root prefix when weak hits agree: a nodes file and a `<ns>/<pod>/logs.txt` under the same root."""
    nodes = {p for p, last in hits if last in NODES}
    logs = {p for p, last in hits if last == LOGS}
    both = sorted(nodes & logs, key=len)
    return both[0] if both else None


# lines people and tools put before kubectl's output when they save it: a `#` comment, a shell
# prompt with the command, kubectl's own warnings (`W0102 12:00:00.000000 1234 file.go:12] ...`,
# `Warning: ...`), `kubectl cluster-info dump` echoed
_PREAMBLE = re.compile(rb"^(?:#.*|\$ .*|\S*[$#>] .*kubectl.*|kubectl .*|[WIE]\d{4} .*|Warning: .*|\s*)$")


def skip_preamble(head: bytes, max_lines: int = 20) -> bytes:
    """`head` without the leading lines that are not kubectl's output (see `_PREAMBLE`)."""
    lines = head.split(b"\n")
    i = 0
    while (
        i < min(len(lines) - 1, max_lines)
        and _PREAMBLE.match(lines[i].rstrip(b"\r"))
        and lines[i].strip() not in (b"{", b"---")
    ):
        i += 1
    return b"\n".join(lines[i:])


def looks_like_stdout(head: bytes) -> bool:
    """The stdout form starts with the NodeList (or, with no nodes readable, a log block); with `-o yaml`
    it is YAML documents separated by `---`, the log blocks between them. Lines before it that are not
    kubectl's output (a comment, a prompt, a warning) are allowed."""
    text = skip_preamble(head).lstrip()
    if text.startswith(LOG_MARKER):
        return True
    if text.startswith(b"{"):
        return re.search(rb'"kind"\s*:\s*"NodeList"', text[:2000]) is not None
    return text.startswith((b"apiVersion:", b"items:")) and (
        re.search(rb"^kind: NodeList\s*$", text, re.MULTILINE) is not None and LOG_MARKER in head
    )


# kubectl before 1.3 printed the internal version: Go field names, no kind (formats/shapes.py)
_INTERNAL = re.compile(rb'^\s*\{?\s*"(?:Items|ObjectMeta|TypeMeta)"\s*:', re.MULTILINE)
_INTERNAL_WHY = (
    "Go field names (Items, Status, ContainerStatuses) and no kind: the output of a kubectl older than "
    "1.3; re-export with a current kubectl (`kubectl cluster-info dump`)"
)


class _Kind(msgspec.Struct):
    kind: str = ""


_KIND = msgspec.json.Decoder(_Kind)


def classify(rel: str) -> Part | None:
    """`objects` of a kind (None for the known files the analysis does not read: services, replication
    controllers), `log-blocks` (a `logs.txt` of one pod's containers), or None."""
    parts = rel.split("/")
    if len(parts) == 1 and rel in NODES:
        return Part("objects", "nodes")
    if len(parts) == 2 and parts[1].endswith(EXTENSIONS) and (stem := parts[1].rsplit(".", 1)[0]) in NAMESPACE_FILES:
        return Part("objects", NAMESPACE_FILES[stem], namespace=parts[0])
    if len(parts) == 3 and parts[2] == LOGS:
        return Part("log-blocks", namespace=parts[0], pod=parts[1])
    return None


def load(path: Path, prefix: str, *, source: DumpSource | None = None, images: Path | None = None) -> Dump:
    """Load the directory form rooted at `prefix` inside `path` (a directory or archive)."""
    src = source or open_raw(path)
    b = ForeignBuilder()

    def cap(part: Part) -> int:
        return src.limits.log_bytes * 4 if part.role == "log-blocks" else src.limits.member_bytes

    for r, c, data in parts_of(src, prefix, classify, cap):
        if c.role == "log-blocks":
            add_log_blocks(b, src, r, data)
        elif c.kind is not None:
            add_list(b, src, c.kind, r, data, yaml_form=r.endswith(".yaml"))
    meta: dict[str, Any] = {"source_format": FORMAT, "form": "directory"}
    _images(b, src, images)
    return finish(b, src, path=Path(path), fmt=FORMAT, meta=meta, collected_at=None, gaps=list(GAPS))


def load_stdout(path: Path, *, images: Path | None = None) -> Dump:
    """Load the stdout form: one file (maybe gzip/zstd-compressed) of concatenated JSON lists (or YAML
    documents) and log blocks, streamed line by line: memory holds one list or one log at a time."""
    src = DumpSource(Path(path))
    b = ForeignBuilder()
    file = single_name(path)
    src.files.append(FileInfo(file, Path(path).stat().st_size))
    blocks = _LogBlocks(b, src, file)
    yaml_form: bool | None = None
    segment: list[bytes] = []  # a JSON list being gathered, or YAML documents between log blocks
    seg_bytes = 0
    seg_start = 0
    in_json = False
    skipping = False

    def flush_yaml() -> None:
        nonlocal segment, seg_bytes
        if segment and not skipping:
            add_list(b, src, "", file, b"".join(segment), yaml_form=True)
        segment, seg_bytes = [], 0

    shift = 0  # lines read by a streamed list (`_stream_list`), not by this loop

    try:
        with open_single(path, src.limits) as fh:
            for n, line in enumerate(iter(lambda: fh.readline(LINE_MAX), b"")):
                i = n + shift
                stripped = line.rstrip(b"\r\n")
                if blocks.open or stripped.startswith(LOG_MARKER):
                    if not blocks.open and yaml_form:
                        flush_yaml()
                        skipping = False
                    blocks.feed(i, line, stripped)
                    continue
                if in_json:
                    seg_bytes += len(line)
                    if not skipping:
                        segment.append(line)
                    if stripped == b"}":
                        in_json = False
                        if not skipping:
                            _add_json_list(b, src, file, seg_start, b"".join(segment))
                        segment, seg_bytes, skipping = [], 0, False
                    elif not skipping and seg_bytes > LIST_WHOLE_MAX:
                        kind = _head_kind(segment)
                        if kind is None:
                            src.problem(
                                f"{file}:{seg_start + 1}",
                                "object list too large",
                                f"over {LIST_WHOLE_MAX} bytes and of no kind read here: not read",
                            )
                            segment, skipping = [], True
                            continue
                        read, ended = _stream_list(b, src, kind, file, seg_start, segment, fh)
                        shift += read
                        segment, seg_bytes = [], 0
                        if ended:
                            in_json = False
                        else:
                            skipping = True  # the rest of the list, up to its closing line, is passed over
                    continue
                if yaml_form is None and stripped.strip():
                    if _PREAMBLE.match(stripped):
                        continue  # a comment, prompt or warning before kubectl's output
                    yaml_form = stripped != b"{"
                if yaml_form:
                    seg_bytes += len(line)
                    if not skipping:
                        segment.append(line)
                        if seg_bytes > YAML_MAX:
                            src.problem(
                                f"{file}:{i + 1}",
                                "YAML too large",
                                f"over {YAML_MAX} bytes of YAML between log blocks: not read "
                                "(kubectl's default JSON output is read up to the object-list cap)",
                            )
                            segment, skipping = [], True
                    continue
                if stripped == b"{":
                    # kubectl pretty-prints each list; its closing brace is the first line that is exactly "}"
                    in_json, seg_start, segment, seg_bytes = True, i, [line], len(line)
    except OSError as e:
        src.problem(file, "file truncated or corrupt", f"{e}; what came before was read")
    blocks.close()
    if in_json and segment and not skipping:
        src.problem(f"{file}:{seg_start + 1}", "unreadable object list", "the file ends inside a list (truncated?)")
    if yaml_form:
        flush_yaml()
    meta: dict[str, Any] = {"source_format": FORMAT, "form": "stdout"}
    _images(b, src, images)
    return finish(b, src, path=Path(path), fmt=FORMAT, meta=meta, collected_at=None, gaps=list(GAPS))


def _head_kind(segment: list[bytes]) -> str | None:
    """The kind file of a list from its first lines: its own kind (printed first by cluster-info dump),
    or, when the list's keys are sorted, its first item's."""
    head = b"".join(segment[:200])[:65536]
    m = _FIRST_KIND.search(head)
    if m is None:
        return None
    name = m.group(1).decode()
    return LIST_KINDS.get(name) or OBJECT_KINDS.get(name)


def _stream_list(
    b: ForeignBuilder, src: DumpSource, kind: str, file: str, start: int, segment: list[bytes], fh: Any
) -> tuple[int, bool]:
    """Decode a list too big to hold (past `LIST_WHOLE_MAX`) in batches of whole items, reading on from
    `fh` up to the list's closing line: (lines read, whether that line was reached). A bomb or padding
    inside the list is a load problem; the items before it are kept."""
    read = 0
    ended = False

    def chunks() -> Iterator[bytes]:
        nonlocal read, ended
        head = [b"".join(segment)]
        segment.clear()
        yield head.pop()
        buf: list[bytes] = []
        size = 0
        while line := fh.readline(LINE_MAX):
            read += 1
            buf.append(line)
            size += len(line)
            if line.rstrip(b"\r\n") == b"}":
                ended = True
                break
            if size >= STREAM_PIECE:
                yield b"".join(buf)
                buf, size = [], 0
        if buf:
            yield b"".join(buf)

    notes: list[str] = []
    try:
        b.add_objects_chunked(PENDING, kind, file, chunks(), notes)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        src.problem(f"{file}:{start + 1}", "unreadable object list", f"{short(e)}; the items before were read")
    for note in notes[:20]:
        src.problem(f"{file}:{start + 1}", "object list partly read", note)
    return read, ended


def _add_json_list(b: ForeignBuilder, src: DumpSource, file: str, start: int, chunk: bytes) -> None:
    try:
        kind_name = _KIND.decode(chunk).kind
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
        src.problem(f"{file}:{start + 1}", "unreadable object list", short(e))
        return
    kind = LIST_KINDS.get(kind_name)
    if kind is not None:
        add_list(b, src, kind, file, chunk)
    elif not kind_name and _INTERNAL.search(chunk[:4096]):
        src.problem(f"{file}:{start + 1}", "internal-version JSON (not decoded)", _INTERNAL_WHY)


class _LogBlocks:
    """Splits `==== START/END logs ... ====` blocks into one log per container, fed line by line.
    A log keeps its last `log_bytes`; at most MAX_LOG_BLOCKS blocks per file are read."""

    def __init__(self, b: ForeignBuilder, src: DumpSource, file: str, line_offset: int = 0) -> None:
        self.b, self.src, self.file, self.line_offset = b, src, file, line_offset
        self.cur: tuple[str, str, str] | None = None
        self.start = 0
        self.body: collections.deque[bytes] = collections.deque()
        self.kept = 0
        self.count = 0
        self.cut = False

    @property
    def open(self) -> bool:
        return self.cur is not None

    def feed(self, idx: int, line: bytes, stripped: bytes) -> None:
        if stripped.startswith(b"==== "):
            m = _START.match(stripped)
            if m:
                self.flush()
                self.count += 1
                if self.count == MAX_LOG_BLOCKS + 1:
                    self.src.problem(
                        f"{self.file}:{self.line_offset + idx + 1}",
                        "too many log blocks",
                        f"only the first {MAX_LOG_BLOCKS} container logs of this file were read",
                    )
                self.cur = (
                    m.group(1).decode(errors="replace"),
                    m.group(2).decode(errors="replace"),
                    m.group(3).decode(errors="replace"),
                )
                self.start, self.kept, self.cut = idx, 0, False
                self.body.clear()
                return
            if _END.match(stripped):
                self.flush()
                self.cur = None
                return
        if self.cur is not None and self.count <= MAX_LOG_BLOCKS:
            self.body.append(line)
            self.kept += len(line)
            limit = self.src.limits.log_bytes
            while self.kept - len(self.body[0]) >= limit:
                self.kept -= len(self.body.popleft())
                self.cut = True

    def flush(self) -> None:
        if self.cur is None or self.count > MAX_LOG_BLOCKS:
            return
        container, ns, pod = self.cur
        text = b"".join(self.body)
        self.body.clear()
        where = f"{self.file}:{self.line_offset + self.start + 1}"
        if text.lstrip().startswith(REQUEST_LOG_ERROR):
            first = text.strip().splitlines()[0].decode("utf-8", errors="replace")[:300]
            self.src.problem(where, "container log not collected", f"{ns}/{pod} container {container}: {first}")
            return
        if self.cut:
            self.src.problem(
                where,
                "file truncated to its tail",
                f"{ns}/{pod} container {container}: kept the last {self.src.limits.log_bytes} bytes",
            )
            # line numbers of a cut log are not the file's: evidence names the block, not a line
            self.b.add_log_text(PENDING, ns, pod, container, False, self.file, text)
            return
        self.b.add_log_text(
            PENDING, ns, pod, container, False, self.file, text, line_offset=self.line_offset + self.start + 1
        )

    def close(self) -> None:
        if self.cur is not None:
            self.src.problem(self.file, "log block not closed", "the file ends inside a log block (truncated?)")
            self.flush()
            self.cur = None


def _images(b: ForeignBuilder, src: DumpSource, images: Path | None) -> None:
    if images is not None:
        add_images(b, images, src)


def add_list(b: ForeignBuilder, src: DumpSource, kind: str, file: str, data: bytes, *, yaml_form: bool = False) -> None:
    """Decode one object list (JSON, or YAML with `-o yaml`) into the builder; failures become problems."""
    if not yaml_form and _INTERNAL.search(data[:4096]) and b'"kind"' not in data[:4096]:
        src.problem(file, "internal-version JSON (not decoded)", _INTERNAL_WHY)
        return
    try:
        if yaml_form:
            grouped = items_by_kind(yaml_docs(data))
            for k, objs in grouped.items():
                odd: list[str] = []
                b.add_items(PENDING, k, file, convert_items(k, objs, odd))
                for why in odd[:20]:
                    src.problem(file, "odd field dropped" if "dropped" in why else "unreadable object", why)
        else:
            b.add_items(PENDING, kind, file, decode_json_items(kind, data))
    except (msgspec.DecodeError, msgspec.ValidationError, yaml.YAMLError) as e:
        src.problem(file, "unreadable object list", short(e))


def add_log_blocks(b: ForeignBuilder, src: DumpSource, file: str, data: bytes, line_offset: int = 0) -> None:
    """Split `==== START/END logs ... ====` blocks of one `logs.txt` into one log per container."""
    blocks = _LogBlocks(b, src, file, line_offset)
    for idx, line in enumerate(data.splitlines(keepends=True)):
        blocks.feed(idx, line, line.rstrip(b"\r\n"))
    blocks.close()


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    """The stdout form when detection found one file, else the directory form rooted at the prefix."""
    if found.single_file:
        return load_stdout(path, images=images)
    return load(path, found.prefix, images=images)


def raw(src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers: the object lists and each container's log split out of the `logs.txt`
    blocks, from the directory form or the stdout form (`raw_stdout`)."""
    if found.single_file:
        return raw_stdout(src, path)
    out = RawDump()
    sink = LogSink(out.logs)

    def cap(part: Part) -> int:
        return src.limits.log_bytes * 4 if part.role == "log-blocks" else src.limits.member_bytes

    for rel, c, data in parts_of(src, found.prefix, classify, cap):
        if c.role == "log-blocks":
            add_log_blocks(sink, src, rel, data)  # type: ignore[arg-type]
            continue
        merge(out.lists, raw_objects(raw_items(data, yaml_form=rel.endswith(".yaml"))))
    return out


def raw_stdout(src: DumpSource, path: Path) -> RawDump:
    """The stdout form: pretty-printed JSON lists (each from a line `{` to a line `}`) or `---` YAML
    documents, with log blocks between them."""
    out = RawDump()
    data = read_single(path, src.limits.member_bytes, src.limits)  # gz/zst decompressed
    if data is None:
        return out
    lines = data.splitlines(keepends=True)
    del data
    sink = LogSink(out.logs)
    i, n, segment = 0, len(lines), []
    while i < n:
        line = lines[i].rstrip(b"\r\n")
        if line.startswith(LOG_MARKER):
            j = i + 1
            while j < n and not lines[j].startswith(b"==== END logs for container "):
                j += 1
            add_log_blocks(sink, src, path.name, b"".join(lines[i : j + 1]))  # type: ignore[arg-type]
            i = j + 1
            continue
        if line == b"{":
            j = i + 1
            while j < n and lines[j].rstrip(b"\r\n") != b"}":
                j += 1
            merge(out.lists, raw_objects(raw_items(b"".join(lines[i : j + 1]))))
            i = j + 1
            continue
        segment.append(lines[i])
        if i + 1 == n or lines[i + 1].startswith(LOG_MARKER):
            merge(out.lists, raw_objects(raw_items(b"".join(segment), yaml_form=True)))
            segment = []
        i += 1
    return out


SPEC = Format(FORMAT, read, marker=marker, sniff=looks_like_stdout, weak=weak_root, classify=classify, raw=raw)
