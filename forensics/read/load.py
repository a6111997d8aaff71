"""Load a dump into the analysis frames, in one streaming pass over its files.

Each file is handled as it arrives (archive order is arbitrary, so handlers only accumulate):
object lists are typed-decoded (`forensics.read.kube`) straight into column lists, logs are scanned for
signatures and dropped, image inspections are parsed, binfmt entries read. The frames are built at
the end (`forensics.read.frames`). A file that cannot be read or decoded becomes a `LoadProblem`; the
rest loads. A path that holds no dump at all raises `UnusableInput`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import yaml

from forensics.errors import UnusableInput
from forensics.read import layout, yamlsafe
from forensics.read.frames import FrameBuilder
from forensics.read.gaps import frame_gaps
from forensics.read.source import Chunked, DumpSource, FileInfo, LoadProblem, open_source


@dataclass
class Dump:
    """A loaded dump: its metadata, its frames (name -> DataFrame), and what could not be read."""

    path: Path
    format: str
    meta: dict[str, Any]
    snapshots: list[str]
    frames: dict[str, pd.DataFrame]
    problems: list[LoadProblem] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    gaps: list[dict[str, str]] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    @property
    def collected_at(self) -> str | None:
        v = self.meta.get("collected_at")
        return str(v) if v is not None else None


Progress = Callable[[str, int], None]
MAX_SNAPSHOTS = 1000  # a collector takes a handful; thousands of folders are an attack on time


def load_dump(path: str | Path, *, progress: Progress | None = None, source: DumpSource | None = None) -> Dump:
    """Load a format-v1 dump (directory or archive). Other formats: `forensics.read.formats.load_any`."""
    # Millions of small, acyclic objects are created while decoding: the cyclic collector's full
    # passes over them grow with the heap and make the load superlinear in pods. Pause it.
    was = gc.isenabled()
    gc.disable()
    try:
        return _load_dump(path, progress, source)
    finally:
        if was:
            gc.enable()


def _load_dump(path: str | Path, progress: Progress | None, source: DumpSource | None) -> Dump:
    src = source or open_source(path)
    builder = FrameBuilder()
    meta: dict[str, Any] = {}
    found_meta = False
    seen_any = False

    snaps: set[str] = set()

    def select(name: str) -> int | None:
        m = layout.classify(name)
        if m is None:
            return None
        if m.snapshot and m.snapshot not in snaps:
            if len(snaps) >= MAX_SNAPSHOTS:
                if len(snaps) == MAX_SNAPSHOTS:
                    snaps.add("")  # report once
                    src.problem(
                        f"{layout.SNAPSHOTS}/{m.snapshot}",
                        "too many snapshots",
                        f"only the first {MAX_SNAPSHOTS} snapshot folders met were read",
                    )
                return None
            snaps.add(m.snapshot)
        if m.role == layout.ROLE_OBJECTS:
            return src.limits.member_bytes
        if m.role == layout.ROLE_LOG:
            return src.limits.log_bytes
        return src.limits.small_bytes

    def stream(name: str) -> bool:
        m = layout.classify(name)
        return m is not None and m.role == layout.ROLE_OBJECTS

    for name, data in src.iter_files(select, stream):
        m = layout.classify(name)
        if m is None:  # pragma: no cover - select filtered these
            continue
        seen_any = True
        if progress:
            progress(name, data.size if isinstance(data, Chunked) else len(data))
        if isinstance(data, Chunked):
            if m.role == layout.ROLE_OBJECTS:
                notes: list[str] = []
                try:
                    builder.add_objects_chunked(m.snapshot, m.kind, name, data.chunks(), notes)
                except (msgspec.DecodeError, msgspec.ValidationError) as e:
                    src.problem(name, "unreadable object list", _short(e))
                for note in notes:
                    src.problem(name, "object list partly read", note)
            continue
        if m.role == layout.ROLE_META:
            found_meta = True
            meta = _read_meta(name, data, src)
        elif m.role == layout.ROLE_OBJECTS:
            notes = []
            try:
                builder.add_objects(m.snapshot, m.kind, name, data, notes)
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                src.problem(name, "unreadable object list", _short(e))
            for note in notes:
                src.problem(name, "object list partly read", note)
        elif m.role == layout.ROLE_LOG:
            if builder.add_log(m, name, data):
                src.problem(name, "invalid UTF-8", "undecodable bytes shown as U+FFFD; the rest of the log was scanned")
        elif m.role == layout.ROLE_BINFMT:
            builder.add_binfmt(m.node, m.entry, name, data)
        elif m.role == layout.ROLE_CPUINFO:
            builder.add_cpuinfo(m.node, name, data)
        else:
            builder.add_image_part(m, name, data)

    if not seen_any:
        raise UnusableInput(
            f"{src.path}: not a cluster-forensics dump (no {layout.META} and no snapshots/ inside); "
            "for cluster-info dumps, support bundles and must-gather use `forensics analyze` which detects them"
        )
    if not found_meta:
        src.problem(layout.META, "missing", "no dump metadata: collection time, cluster and commands unknown")
    elif meta.get("format") not in (None, layout.FORMAT_NAME):
        src.problem(layout.META, "unexpected format", f"format is {str(meta.get('format'))[:100]!r}; read as version 1")
    version = meta.get("version", layout.FORMAT_VERSION)
    if isinstance(version, int) and version > layout.FORMAT_VERSION:
        src.problem(layout.META, "newer format version", f"version {version}; read as version 1, newer parts ignored")

    snapshots = _snapshot_order(meta, builder.snapshots_seen(), src)
    frames = builder.build(snapshots, src.problems)
    return Dump(
        path=Path(path),
        format=f"{layout.FORMAT_NAME}/{layout.FORMAT_VERSION}",
        meta=meta,
        snapshots=snapshots,
        frames=frames,
        problems=src.problems,
        files=src.files,
        gaps=frame_gaps(frames, len(builder.snapshots_seen())),
    )


def _short(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text if len(text) < 300 else text[:300] + "..."


def _read_meta(name: str, data: bytes, src: DumpSource) -> dict[str, Any]:
    try:
        doc = yamlsafe.load(data.decode("utf-8", errors="replace"))
    except yaml.YAMLError as e:
        src.problem(name, "unreadable dump metadata", _short(e))
        return {}
    if not isinstance(doc, dict):
        src.problem(name, "unreadable dump metadata", "not a mapping")
        return {}
    listed = doc.get("snapshots")
    if listed is not None and not isinstance(listed, list):
        src.problem(name, "unreadable dump metadata", "snapshots is not a list: ignored")
        doc.pop("snapshots")
    elif isinstance(listed, list) and len(listed) > MAX_SNAPSHOTS:
        src.problem(
            name,
            "too many snapshots",
            f"the metadata lists {len(listed)}; only the first {MAX_SNAPSHOTS} are considered",
        )
        doc["snapshots"] = listed[:MAX_SNAPSHOTS]
    return doc


def _snapshot_order(meta: dict[str, Any], seen: set[str], src: DumpSource) -> list[str]:
    listed = meta.get("snapshots")
    order: list[str] = []
    if isinstance(listed, list):
        for s in listed:
            s = str(s)
            if s in seen:
                order.append(s)
            else:
                src.problem(f"{layout.SNAPSHOTS}/{s}", "snapshot missing", "listed in the metadata, not in the dump")
    order.extend(sorted(seen - set(order)))
    return sorted(order, key=lambda s: (layout.SNAPSHOT_RE.match(s) is None, s))
