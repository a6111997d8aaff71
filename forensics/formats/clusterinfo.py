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

import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.formats.common import (
    LIST_KINDS,
    PENDING,
    ForeignBuilder,
    add_images,
    convert_items,
    decode_json_items,
    files_of,
    finish,
    items_by_kind,
    open_raw,
    short,
    yaml_docs,
)
from forensics.load import Dump
from forensics.source import DumpSource, FileInfo

FORMAT = "kubectl-cluster-info-dump"
NODES = ("nodes.json", "nodes.yaml")
LOGS = "logs.txt"
# file stem in <namespace>/ -> kind file name (None: known, carries nothing the analysis reads)
NAMESPACE_FILES: dict[str, str | None] = {
    "events": "events", "daemonsets": "daemonsets", "deployments": "deployments",
    "replicasets": "replicasets", "pods": "pods", "replication-controllers": None, "services": None,
}
EXTENSIONS = (".json", ".yaml")
_START = re.compile(rb"^==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====\s*$")
_END = re.compile(rb"^==== END logs for container (\S+) of pod ([^/\s]+)/(\S+) ====\s*$")
REQUEST_LOG_ERROR = b"Request log error"
LOG_MARKER = b"==== START logs for container "

GAPS = [
    {"what": "no previous container logs",
     "impact": "kubectl cluster-info dump keeps only the current log of each container: the output of the "
               "container that crashed before the restart is only seen if the current one crashed the same way"},
    {"what": "no statefulsets, jobs or cronjobs",
     "impact": "kubectl cluster-info dump does not list them: their pods are attributed by owner reference only"},
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
    while i < min(len(lines) - 1, max_lines) and _PREAMBLE.match(lines[i].rstrip(b"\r")) \
            and lines[i].strip() not in (b"{", b"---"):
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
        re.search(rb"^kind: NodeList\s*$", text, re.MULTILINE) is not None and LOG_MARKER in head)


# kubectl before 1.3 printed the internal version: Go field names, no kind (formats/shapes.py)
_INTERNAL = re.compile(rb'^\s*\{?\s*"(?:Items|ObjectMeta|TypeMeta)"\s*:', re.MULTILINE)
_INTERNAL_WHY = ("Go field names (Items, Status, ContainerStatuses) and no kind: the output of a kubectl older than "
                 "1.3; re-export with a current kubectl (`kubectl cluster-info dump`)")


class _Kind(msgspec.Struct):
    kind: str = ""


_KIND = msgspec.json.Decoder(_Kind)


def load(path: Path, prefix: str, *, source: DumpSource | None = None, images: Path | None = None) -> Dump:
    """Load the directory form rooted at `prefix` inside `path` (a directory or archive)."""
    src = source or open_raw(path)
    b = ForeignBuilder()
    seen: set[str] = set()

    def rel(name: str) -> str | None:
        return name[len(prefix):] if name.startswith(prefix) else None

    def select(name: str) -> int | None:
        r = rel(name)
        if r is None:
            return None
        parts = r.split("/")
        if len(parts) == 1 and r in NODES:
            return src.limits.member_bytes
        if len(parts) == 2 and parts[1].endswith(EXTENSIONS) and parts[1].rsplit(".", 1)[0] in NAMESPACE_FILES:
            return src.limits.member_bytes
        if len(parts) == 3 and parts[2] == LOGS:
            return src.limits.log_bytes * 4
        return None

    for name, data in files_of(src, select):
        r = rel(name) or name
        parts = r.split("/")
        if parts[-1] == LOGS:
            add_log_blocks(b, src, r, data)
            continue
        stem, _, ext = parts[-1].rpartition(".")
        kind = "nodes" if len(parts) == 1 else NAMESPACE_FILES.get(stem)
        seen.add(stem)
        if kind is None:
            continue
        add_list(b, src, kind, r, data, yaml_form=ext == "yaml")
    meta: dict[str, Any] = {"source_format": FORMAT, "form": "directory"}
    _images(b, src, images)
    return finish(b, src, path=Path(path), fmt=FORMAT, meta=meta, collected_at=None, gaps=list(GAPS))


def load_stdout(path: Path, *, images: Path | None = None) -> Dump:
    """Load the stdout form: one file of concatenated JSON lists and log blocks."""
    src = DumpSource(Path(path))
    b = ForeignBuilder()
    file = Path(path).name
    size = Path(path).stat().st_size
    if size > src.limits.member_bytes:
        src.problem(file, "file too large", f"{size} bytes, cap {src.limits.member_bytes}")
        data = b""
    else:
        data = Path(path).read_bytes()
    src.files.append(FileInfo(file, size))
    lines = data.splitlines(keepends=True)
    yaml_form = _is_yaml_stream(lines)
    segment: list[bytes] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if yaml_form and not _START.match(line.rstrip(b"\r\n")):
            segment.append(line)
            i += 1
            continue
        if segment:
            add_list(b, src, "", file, b"".join(segment), yaml_form=True)
            segment = []
        if line.rstrip(b"\r\n") == b"{":
            # kubectl pretty-prints each list; its closing brace is the first line that is exactly "}"
            j = i + 1
            while j < n and lines[j].rstrip(b"\r\n") != b"}":
                j += 1
            chunk = b"".join(lines[i:j + 1])
            try:
                kind_name = _KIND.decode(chunk).kind
            except msgspec.DecodeError as e:
                src.problem(f"{file}:{i + 1}", "unreadable object list", short(e))
                kind_name = ""
            kind = LIST_KINDS.get(kind_name)
            if kind is not None:
                add_list(b, src, kind, file, chunk)
            elif not kind_name and _INTERNAL.search(chunk[:4096]):
                src.problem(f"{file}:{i + 1}", "internal-version JSON (not decoded)", _INTERNAL_WHY)
            i = j + 1
            continue
        if _START.match(line.rstrip(b"\r\n")):
            j = i + 1
            while j < n and not _END.match(lines[j].rstrip(b"\r\n")):
                j += 1
            add_log_blocks(b, src, file, b"".join(lines[i:j + 1]), line_offset=i)
            i = j + 1
            continue
        i += 1
    if segment:
        add_list(b, src, "", file, b"".join(segment), yaml_form=True)
    meta: dict[str, Any] = {"source_format": FORMAT, "form": "stdout"}
    _images(b, src, images)
    return finish(b, src, path=Path(path), fmt=FORMAT, meta=meta, collected_at=None, gaps=list(GAPS))


def _is_yaml_stream(lines: list[bytes]) -> bool:
    """JSON (`-o json`, the default) or YAML (`-o yaml`): the first line outside log blocks says."""
    in_log = False
    for line in lines:
        stripped = line.rstrip(b"\r\n")
        if _START.match(stripped):
            in_log = True
        elif _END.match(stripped):
            in_log = False
        elif not in_log and stripped.strip() and not _PREAMBLE.match(stripped):
            return stripped != b"{"
    return False


def _images(b: ForeignBuilder, src: DumpSource, images: Path | None) -> None:
    if images is not None:
        add_images(b, images, src)


def add_list(b: ForeignBuilder, src: DumpSource, kind: str, file: str, data: bytes, *, yaml_form: bool = False
             ) -> None:
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
    """Split `==== START/END logs ... ====` blocks into one log per container."""
    lines = data.splitlines(keepends=True)
    cur: tuple[str, str, str] | None = None
    start = 0
    body: list[bytes] = []

    def flush() -> None:
        if cur is None:
            return
        container, ns, pod = cur
        text = b"".join(body)
        if text.lstrip().startswith(REQUEST_LOG_ERROR):
            first = text.strip().splitlines()[0].decode("utf-8", errors="replace")[:300]
            src.problem(f"{file}:{line_offset + start + 1}", "container log not collected",
                        f"{ns}/{pod} container {container}: {first}")
            return
        b.add_log_text(PENDING, ns, pod, container, False, file, text, line_offset=line_offset + start + 1)

    for idx, line in enumerate(lines):
        stripped = line.rstrip(b"\r\n")
        m = _START.match(stripped)
        if m:
            flush()
            cur = (m.group(1).decode(errors="replace"), m.group(2).decode(errors="replace"),
                   m.group(3).decode(errors="replace"))
            start = idx
            body = []
            continue
        if _END.match(stripped):
            flush()
            cur = None
            body = []
            continue
        if cur is not None:
            body.append(line)
    if cur is not None:
        src.problem(file, "log block not closed", "the file ends inside a log block (truncated?)")
        flush()
