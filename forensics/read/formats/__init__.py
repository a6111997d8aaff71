"""Load any dump a customer may send, recognised by its content, never by what the user says it is.

    load_any(path, images=None) -> Dump

Recognised, in this order of precedence (`FORMATS`; each module declares itself in its `SPEC` and
holds its own layout constants):

    cluster-forensics-dump v1   forensics-dump.yaml or snapshots/<YYYYMMDDTHHMMSSZ>/  (forensics.read.load)
    insights-operator-archive   insights-operator/gathers.json, config/pod|node/...     (insights)
    troubleshoot-bundle         cluster-resources/...                                   (troubleshoot)
    must-gather                 namespaces/<ns>/core|apps|pods/..., cluster-scoped-resources/ (mustgather)
    kubectl-cluster-info-dump   nodes.json + <ns>/replication-controllers.json, <ns>/<pod>/logs.txt, or
                                one file of JSON lists and log blocks (stdout form)     (clusterinfo)
    kubectl-text                kubectl describe / get tables / logs / pasted objects as text, recognised
                                by content when no layout above matches                 (kubectltext)
    loose-files                 .json/.yaml files whose `kind` or `mediaType` is known  (loose)

Detection reads names only (a directory listing, or archive member headers until a decisive name);
a v1 archive is decided from its first members and then read by `load_dump` in one pass. A layout
that matches none of them raises `UnusableInput` naming what was looked for. `images=` adds image
inspections in the v1 `images/<slug>/` layout to any format.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forensics.errors import UnusableInput
from forensics.read import inputs, layout
from forensics.read.formats import clusterinfo, insights, kubectltext, loose, mustgather, troubleshoot
from forensics.read.formats.common import Detected, Format, iter_image_files, iter_names
from forensics.read.load import Dump, load_dump
from forensics.read.source import DumpSource, Select, open_single, open_source

__all__ = ["FORMATS", "LOOKED_FOR", "Detected", "Format", "detect", "load_any", "spec"]

V1 = f"{layout.FORMAT_NAME}/{layout.FORMAT_VERSION}"
# what an unusable input is told we looked for (forensics.read.inputs says what the input is instead)
LOOKED_FOR = inputs.LOOKED_FOR


def _v1_marker(parts: list[str]) -> tuple[str, bool] | None:
    for i, p in enumerate(parts):
        if p == layout.SNAPSHOTS and i + 2 < len(parts) and layout.SNAPSHOT_RE.match(parts[i + 1]):
            return "".join(x + "/" for x in parts[:i]), True
    if parts[-1] == layout.META and len(parts) <= 2:
        return "".join(x + "/" for x in parts[:-1]), True
    return None


def _v1_read(p: Path, found: Detected, images: Path | None) -> Dump:
    # a directory holding the dump folder beside other things (a README, notes): read that folder
    root = p / found.prefix if found.prefix and p.is_dir() else p
    source: DumpSource = open_source(root)
    if images is not None:
        source = _WithImages(source, images)
    return load_dump(p, source=source)


# Every format, in order of precedence: the first whose marker decides a layout wins; single files
# are offered to the sniffers in this order. Adding a format is its module (with a `SPEC`) and one line
# here: detection, `load_any` and `forensics serve` read only this tuple. (v1 is the native format: it
# has snapshots, read by `forensics.read.load` and served by snapshot, so it declares no `raw`.)
FORMATS: tuple[Format, ...] = (
    Format(V1, _v1_read, marker=_v1_marker, peek=0),
    insights.SPEC,
    troubleshoot.SPEC,
    mustgather.SPEC,
    clusterinfo.SPEC,
    kubectltext.SPEC,
    loose.SPEC,
)


def spec(name: str) -> Format:
    """The registered format called `name` (KeyError when none is)."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise KeyError(name)


def decide(names: Iterator[str]) -> Detected | None:
    """The format member names decide, from the registry alone: the first format (in precedence order)
    whose marker decided, looking on while a decided format's `peek` asks to; else the first whose weak
    hits agree on a root; else the first with a `fallback` name in the tree."""
    markers = [(f, f.marker) for f in FORMATS if f.marker is not None]
    fallbacks = [f for f in FORMATS if f.fallback is not None]
    decisive: dict[str, str] = {}
    weak: dict[str, set[tuple[str, str]]] = {}
    fallen: set[str] = set()
    peek: int | None = None
    count = 0
    for name in names:
        count += 1
        parts = name.split("/")
        for f, mark in markers:
            hit = mark(parts)
            if hit is None:
                continue
            prefix, strong = hit
            if not strong:
                weak.setdefault(f.name, set()).add((prefix, parts[-1]))
            elif f.name not in decisive or len(prefix) < len(decisive[f.name]):
                decisive[f.name] = prefix
                peek = f.peek if peek is None else min(peek, f.peek)
        for f in fallbacks:
            if f.name not in fallen and f.fallback is not None and f.fallback(name):
                fallen.add(f.name)
        if peek is not None and count >= peek:
            break
    for f, _ in markers:
        if f.name in decisive:
            return Detected(f.name, decisive[f.name])
    for f in FORMATS:
        root = f.weak(weak.get(f.name, set())) if f.weak is not None else None
        if root is not None:
            return Detected(f.name, root)
    for f in fallbacks:
        if f.name in fallen:
            return Detected(f.name)
    return None


def detect(path: str | Path) -> Detected:
    """Say what `path` holds by looking at names (and, for one plain file, its first bytes)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise UnusableInput(f"{p}: cannot open ({e.strerror or e})") from None
    if stat.S_ISREG(st.st_mode) and not _is_archive(p):
        try:
            with open_single(p) as fh:  # a gzip/zstd-compressed file is read as what it holds
                head = fh.read(64 * 1024)
        except OSError as e:
            raise UnusableInput(f"{p}: cannot read ({e.strerror or e})") from None
        for f in FORMATS:
            if f.sniff is not None and f.sniff(head):
                return Detected(f.name, single_file=True)
        raise UnusableInput(inputs.unusable_message(p))
    found = decide(iter_names(p))
    # a format recognised by content takes the tree when no marker decided, before a later format's fallback
    if found is None or spec(found.format).fallback is not None:
        for f in FORMATS:
            if found is not None and f.name == found.format:
                break
            if f.content is not None and f.content(p, found is not None):
                return Detected(f.name)
    if found is None:
        what = inputs.describe(p)
        if "tar archive" in what:
            what += " whose member names match no dump layout"
        raise UnusableInput(inputs.unusable_message(p, what))
    return found


def _is_archive(p: Path) -> bool:
    try:
        open_source(p)
    except UnusableInput:
        return False
    return True


def load_any(path: str | Path, *, images: Path | None = None) -> Dump:
    """Load whatever dump `path` is (directory, archive or single file); see the module docstring.

    A recognised dump from which no Pod and no Node could be read is unusable: an empty verdict
    over it would read as a healthy cluster (`UnusableInput`, naming what was found)."""
    dump = _load_any(Path(path), images=images)
    # kubectl text (a saved `kubectl logs`) and image manifests alone are inputs of their own, without pods
    if (
        dump.frames["pods"].empty
        and dump.frames["nodes"].empty
        and dump.frames["images"].empty
        and spec(dump.format).needs_pods
    ):
        raise UnusableInput(_nothing_read(Path(path), dump))
    return dump


def _nothing_read(p: Path, dump: Dump) -> str:
    found = (
        ", ".join(
            f"{n} {k}"
            for k, n in (
                ("files", len(dump.files)),
                ("events", len(dump.frames["events"])),
                ("logs", len(dump.frames["logs"])),
                ("workload objects", len(dump.frames["workloads"])),
                ("image inspections", len(dump.frames["images"])),
            )
            if n
        )
        or "nothing usable"
    )
    probs = (
        f"; {len(dump.problems)} part(s) unreadable, first: {dump.problems[0].file}: "
        f"{dump.problems[0].what} ({dump.problems[0].why[:120]})"
        if dump.problems
        else ""
    )
    return (
        f"{p}: read as {dump.format}, but no Pod and no Node could be read from it (found {found}{probs}); "
        f"expected Pod and Node objects ({LOOKED_FOR})"
    )


def _load_any(p: Path, *, images: Path | None = None) -> Dump:
    found = detect(p)
    return spec(found.format).read(p, found, Path(images) if images is not None else None)


class _WithImages(DumpSource):
    """A v1 source followed by image inspections from another folder, read in the same pass."""

    def __init__(self, base: DumpSource, images: Path) -> None:
        super().__init__(base.path, base.limits, base.problems, base.files)
        self.base = base
        self.images = images

    def iter_files(self, select: Select, stream: Any = None) -> Iterator[tuple[str, Any]]:
        yield from self.base.iter_files(select, stream)
        for name, data in iter_image_files(self.images, self):
            if select(name) is not None:
                yield name, data
