"""A dump's members as the raw objects and logs `forensics serve` answers with, read by one loop.

    read_raw(spec, src, detected, path) -> RawDump(lists={kind file: [object, ...]}, logs={key: bytes})

The analyzer decodes only the fields it needs; the server hands kubectl whole objects, so it reads the
same members again as plain JSON/YAML. What a member is comes from the format's own declaration (its
`SPEC`), never from a table here:

- `SPEC.raw(src, detected, path)`, when the format has roles of its own (a must-gather's per-pod files,
  a cluster-info dump's log blocks, an Insights archive's kind-less objects);
- else, for one file, the objects it holds;
- else `SPEC.classify`, read by `from_parts`: `objects` members become objects of their `kind`, `log`
  members the log of their container; other roles are the analyzer's alone.

Nothing here decides what an object may be served as: `forensics.serve.served` leaves out the ones
the server cannot answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forensics.read.formats.common import Detected, Format, Part, items_by_kind, parts_of, yaml_docs
from forensics.read.source import DumpSource, read_single

__all__ = ["LogKey", "LogSink", "RawDump", "from_parts", "merge", "objects", "read_raw", "whole_file"]

LogKey = tuple[str, str, str, bool]  # namespace, pod, container, previous
Lists = dict[str, list[dict[str, Any]]]


@dataclass
class RawDump:
    """The raw objects of a one-snapshot dump by kind file name, and its logs by container."""

    lists: Lists = field(default_factory=dict)
    logs: dict[LogKey, bytes] = field(default_factory=dict)
    # must-gather logs carry a timestamp on every line (oc logs --timestamps): the server strips them
    timestamped_logs: bool = False


def read_raw(spec: Format, src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers for a one-snapshot dump of format `spec` (see the module docstring)."""
    if spec.raw is not None:
        return spec.raw(src, found, path)
    if found.single_file:
        return whole_file(src, path)
    if spec.classify is not None:
        return from_parts(src, found.prefix, spec.classify)
    return RawDump()


def from_parts(src: DumpSource, prefix: str, classify: Callable[[str], Part | None]) -> RawDump:
    """The generic loop: the `objects` and `log` members of a format, as `classify` maps them."""
    out = RawDump()
    cap = src.limits.member_bytes
    for _, c, data in parts_of(src, prefix, classify, lambda c: cap if c.role in ("objects", "log") else None):
        if c.role == "objects":
            merge(out.lists, objects(items(data), c.kind))
        else:
            out.logs[(str(c.namespace), str(c.pod), str(c.container), c.previous)] = data
    return out


def whole_file(src: DumpSource, path: Path) -> RawDump:
    """The objects of one plain file, decompressed when it is gz/zst (nothing when it is over the
    per-member cap)."""
    data = read_single(path, src.limits.member_bytes, src.limits) or b""
    return RawDump(objects(items(data)))


def items(data: bytes, *, yaml_form: bool = False) -> list[Any]:
    """Documents of a file: JSON (one value) or YAML (every document); [] when it does not decode."""
    text = data.lstrip()
    try:
        if not yaml_form and text.startswith((b"{", b"[")):
            return [json.loads(data.decode("utf-8", errors="replace"))]

        return yaml_docs(data)
    except (ValueError, yaml.YAMLError, RecursionError):
        return []


def objects(docs: list[Any], kind: str | None = None) -> Lists:
    """Objects by kind file. Items of a typed List or a bare array at a path that names the kind
    (support bundles write `json.MarshalIndent(list.Items)`, without `kind` in the items) go to `kind`."""

    if kind is not None:
        out: Lists = {}
        for d in docs:
            its = d if isinstance(d, list) else d.get("items") if isinstance(d, dict) and "items" in d else [d]
            for it in its if isinstance(its, list) else []:
                if isinstance(it, dict):
                    out.setdefault(kind, []).append(it)
        return out
    return items_by_kind(docs)


def merge(into: Lists, more: Lists) -> None:
    for k, v in more.items():
        into.setdefault(k, []).extend(v)


class LogSink:
    """Takes the logs a format's log-block splitter hands to `add_log_text` (the `ForeignBuilder` call)."""

    def __init__(self, logs: dict[LogKey, bytes]) -> None:
        self.logs = logs

    def add_log_text(
        self,
        snapshot: str,
        namespace: str,
        pod: str,
        container: str,
        previous: bool,
        file: str,
        data: bytes,
        line_offset: int = 0,
    ) -> None:
        self.logs[(namespace, pod, container, previous)] = data
