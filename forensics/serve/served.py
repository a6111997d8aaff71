"""From any dump to what `forensics serve` answers: the raw objects of one snapshot and its logs.

    open_served(path) -> ServedDump           (any format `forensics.read.formats.detect` recognises)
    ServedDump.snapshots                      snapshot names, oldest first
    ServedDump.snapshot(name) -> ServedSnapshot(lists={kind file: [object, ...]}, log(ns, pod, c, previous))

The analyzer decodes only the fields it needs; the server must hand kubectl whole objects, so this
module reads the same files again as plain JSON/YAML. Which members are which objects and logs is
derived from the format registry (`forensics.read.formats.FORMATS`): the v1 layout
(`forensics.read.layout`) for the native format, and for any other format what its `SPEC` declares,
read by `forensics.read.formats.raw.read_raw`; nothing here names a foreign format. A foreign dump is
one snapshot, named as the analyzer names it (the collection time, derived when the format has none),
so `serve` and `analyze` agree.

Reading goes through `forensics.read.source` (no link followed, every cap kept); a file that does not
decode is skipped, as the v1 server always did. A dump is hostile input: each object is kept or left
out on its own (one that is not JSON, nests deeper than MAX_DEPTH or has no string name is left
out, and counted in `ServedSnapshot.problems`), never fatal to the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from forensics.errors import UnusableInput
from forensics.read import kube, layout
from forensics.read.formats import V1, detect, load_any, spec
from forensics.read.formats.common import open_raw
from forensics.read.formats.raw import LogKey, read_raw
from forensics.read.source import DumpSource, Limits, open_source

__all__ = ["LogKey", "ServedDump", "ServedSnapshot", "open_served"]

LOG_BYTES = 16 * 1024 * 1024  # a log is served up to its last this many bytes (a Warning says so)
MAX_DEPTH = 200  # objects nested deeper are not served (real objects nest about 15 levels)
_TS_PREFIX = re.compile(rb"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}) ", re.MULTILINE)


@dataclass
class ServedSnapshot:
    """The objects of one snapshot (`lists`: kind file name -> objects) and a way to read its logs."""

    name: str
    lists: dict[str, list[dict[str, Any]]]
    read_log: Callable[[LogKey], bytes | None]
    # must-gather logs carry a timestamp on every line (oc logs --timestamps): stripped unless asked
    timestamped_logs: bool = False
    # the whole size of a log that was read only in part (its tail), when the format knows it
    log_full_size: Callable[[LogKey], int | None] = lambda _key: None
    problems: list[str] = field(default_factory=list)

    def log_size(self, namespace: str, pod: str, container: str, previous: bool) -> int | None:
        return self.log_full_size((namespace, pod, container, previous))

    def log(self, namespace: str, pod: str, container: str, previous: bool, timestamps: bool = False) -> bytes | None:
        data = self.read_log((namespace, pod, container, previous))
        if data is not None and self.timestamped_logs and not timestamps:
            data = _TS_PREFIX.sub(b"", data)
        return data


@dataclass
class ServedDump:
    path: Path
    format: str
    snapshots: list[str]
    _load: Callable[[str], ServedSnapshot] = field(repr=False)

    def snapshot(self, name: str) -> ServedSnapshot:
        return self._load(name)


def _source(path: Path, raw: bool) -> DumpSource:
    """Whole files up to the per-member cap (the server answers object lists whole), logs up to their
    last LOG_BYTES."""
    limits = Limits()
    limits = replace(limits, small_bytes=limits.member_bytes, log_bytes=LOG_BYTES)
    if raw:
        src = open_raw(path)
        src.limits = limits
        return src
    return open_source(path, limits)


def decode_items(raw: bytes) -> tuple[list[dict[str, Any]], int]:
    """The objects of one `kubectl get -o json` list, each decoded on its own: an object that is not
    JSON, nested absurdly deep, or without a string name in a metadata object is left out (and
    counted), never fatal."""
    try:
        raws: list[Any] = _RAW_LIST.decode(raw).items or []
    except RecursionError:  # one object nested absurdly: cut kubectl's layout at its item lines instead
        raws = [b"[" + p + b"]" for p in kube.kubectl_items(raw) or []]
        if not raws:
            return [], 1
    except (msgspec.DecodeError, msgspec.ValidationError):
        return [], 1
    items: list[dict[str, Any]] = []
    bad = 0
    for r in raws:
        try:
            obj = msgspec.json.decode(r)
        except (msgspec.DecodeError, RecursionError):
            bad += 1
            continue
        if isinstance(obj, list):  # a piece cut from the layout
            if len(obj) != 1:
                bad += 1
                continue
            obj = obj[0]
        if acceptable(obj):
            items.append(obj)
        else:
            bad += 1
    return items, bad


def acceptable(obj: Any) -> bool:
    """An object the server can answer: a metadata object with a string name (and namespace, if any),
    nested no deeper than MAX_DEPTH."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return (
        isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
        and isinstance(meta.get("namespace", ""), str)
        and not _too_deep(obj)
    )


def _too_deep(obj: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `obj` nests deeper than `limit` (json.dumps would recurse that deep when answering)."""
    stack = [(obj, 0)]
    while stack:
        o, d = stack.pop()
        if d > limit:
            return True
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values() if isinstance(v, (dict, list)))
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o if isinstance(v, (dict, list)))
    return False


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw] | None = None


_RAW_LIST = msgspec.json.Decoder(_RawList)


# --- format v1 --------------------------------------------------------------------------------------


def _v1(path: Path) -> ServedDump:
    source = _source(path, raw=False)
    names = source.names()
    snaps = sorted({n.split("/")[1] for n in names if n.startswith(layout.SNAPSHOTS + "/") and n.count("/") >= 2})
    if not snaps:
        raise UnusableInput(f"{path}: no snapshots/ in this dump")

    def load(snapshot: str) -> ServedSnapshot:
        lists: dict[str, list[dict[str, Any]]] = {}
        problems = []
        for kind in layout.KINDS:
            raw = source.read(layout.objects_file(snapshot, kind))
            items: list[dict[str, Any]] = []
            if raw is not None:
                items, bad = decode_items(raw)
                if bad:
                    problems.append(f"{kind}: {bad} object(s) unreadable or malformed, not served")
            lists[kind] = items

        def log_file(k: LogKey) -> str:
            return layout.log_file(snapshot, k[0], k[1], k[2], k[3])

        return ServedSnapshot(
            snapshot,
            lists,
            lambda k: source.read(log_file(k)),
            log_full_size=lambda k: source.size(log_file(k)),
            problems=problems,
        )

    return ServedDump(path, f"{layout.FORMAT_NAME}/{layout.FORMAT_VERSION}", snaps, load)


# --- foreign formats: one pass, one snapshot --------------------------------------------------------


def _one(
    path: Path,
    fmt: str,
    snapshot: str,
    lists: dict[str, list[dict[str, Any]]],
    logs: dict[LogKey, bytes],
    timestamped: bool = False,
) -> ServedDump:
    problems = []
    for kind, items in lists.items():
        kept = [i for i in items if acceptable(i)]
        if len(kept) < len(items):
            problems.append(f"{kind}: {len(items) - len(kept)} object(s) malformed, not served")
            lists[kind] = kept
    snap = ServedSnapshot(snapshot, lists, logs.get, timestamped_logs=timestamped, problems=problems)

    def load(name: str) -> ServedSnapshot:
        if name != snapshot:
            raise UnusableInput(f"{path}: no snapshot {name!r} (have: {snapshot})")
        return snap

    return ServedDump(path, fmt, [snapshot], load)


def open_served(path: str | Path) -> ServedDump:
    """What `serve` answers for the dump at `path`, whatever its format (UnusableInput when none)."""

    p = Path(path)
    found = detect(p)
    if found.format == V1:
        return _v1(p)
    # the snapshot is named from the collection time exactly as `analyze` names it
    snapshot = load_any(p).snapshots[0]
    if found.single_file:
        src = DumpSource(p, replace(Limits(), small_bytes=Limits().member_bytes))
    else:
        src = _source(p, raw=True)
    got = read_raw(spec(found.format), src, found, p)
    return _one(p, found.format, snapshot, got.lists, got.logs, got.timestamped_logs)
