"""What every foreign-format reader shares: listing names, decoding lists, one snapshot, images.

A foreign dump (cluster-info dump, support bundle, must-gather, loose files) is read like a v1 dump:
one streaming pass over a `DumpSource`, each file typed-decoded into a `FrameBuilder`, bad files
recorded as `LoadProblem`s. Differences handled here once:

- names are as stored (no top-folder stripping); each format finds its own root `prefix` from
  marker paths, since must-gather wraps its root two folders deep;
- objects come as List objects, bare JSON arrays (troubleshoot before 2022), YAML lists or single
  YAML objects; `decode_json_items` / `yaml_docs` / `items_by_kind` read all of them;
- the collection time is often absent: rows are added under a pending snapshot name, and the
  snapshot is renamed (`YYYYMMDDTHHMMSSZ`) once the time is known or derived from the newest
  timestamp inside (`FrameBuilder.rename_snapshot`, `newest_time`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from forensics.read import kube, layout, yamlsafe
from forensics.read.formats.shapes import kind_by_shape
from forensics.read.frames import FrameBuilder
from forensics.read.gaps import frame_gaps
from forensics.read.load import Dump
from forensics.read.source import DirectorySource, DumpSource, Select, open_source

if TYPE_CHECKING:
    from forensics.read.formats.raw import RawDump

PENDING = "pending"

# `kind` of a Kubernetes object -> the kind file name the frames know
OBJECT_KINDS = {
    "Pod": "pods",
    "Node": "nodes",
    "Event": "events",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "DaemonSet": "daemonsets",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "CronJob": "cronjobs",
}
LIST_KINDS = {f"{k}List": v for k, v in OBJECT_KINDS.items()}
REDACTED = b"***HIDDEN***"


def yaml_docs(data: bytes) -> list[Any]:
    """Every YAML document in `data` (safe loader, timestamps kept as strings, alias bombs refused:
    `forensics.read.yamlsafe`). Raises yaml.YAMLError."""
    return yamlsafe.load_all(data.decode("utf-8", errors="replace"))


def decode_json_items(kind: str, data: bytes, notes: list[str] | None = None) -> list[Any]:
    """Typed items of a JSON object list: a List object or a bare array (support bundles before 2022)."""
    head = data[:4096].lstrip()
    if head.startswith(b"["):
        data = b'{"items":' + data + b"}"
    elif b'"Items"' in head and b'"items"' not in head and b'"kind"' not in head:
        # kubectl's old internal version (formats/shapes.py): say so rather than read an empty list
        raise msgspec.DecodeError(
            "internal-version JSON (Go field names Items, Status, no kind): not decoded; "
            "re-export with a current kubectl"
        )
    return kube.decode_list(kind, data, notes)


def convert_items(kind: str, items: list[Any], problems: list[str] | None = None) -> list[Any]:
    """Typed items from already-decoded objects (YAML or generic JSON). Raises msgspec.ValidationError,
    unless `problems` is given: then an object with a field of an unexpected type loses that field
    only (the error names its path), each dropped field is described in `problems`, and an object
    still unreadable after a few such drops is left out (also described)."""
    try:
        out: Any = msgspec.convert({"items": items}, kube.LIST_TYPES[kind], strict=False)
        return list(out.items or [])
    except msgspec.ValidationError:
        if problems is None:
            raise
    kept: list[Any] = []
    for i, obj in enumerate(items):
        cur = obj
        for _ in range(_MAX_FIELD_DROPS):
            try:
                kept.extend(msgspec.convert({"items": [cur]}, kube.LIST_TYPES[kind], strict=False).items or [])
                break
            except msgspec.ValidationError as e:
                path = _error_path(str(e))
                name = _name_of(obj) or f"item {i}"
                if path is None or not path:
                    problems.append(f"{name}: {short(e)}; object left out")
                    break
                cur = _without(cur, path)
                problems.append(f"{name}: field {'.'.join(str(p) for p in path)} dropped ({str(e).split(' - at ')[0]})")
        else:
            problems.append(f"{_name_of(obj) or f'item {i}'}: too many odd fields; object left out")
    return kept


_MAX_FIELD_DROPS = 5
_PATH = re.compile(r"- at `\$\.items\[0\]((?:\.[A-Za-z_][\w]*|\[\d+\]|\[\.\.\.\])*)`")


def _error_path(message: str) -> list[str | int] | None:
    """The field path of a msgspec error (`$.items[0].spec.containers[0].ports`), without the list wrapper.
    msgspec names fields by their Python (snake_case) names: they are mapped back to the camelCase keys."""
    m = _PATH.search(message)
    if m is None:
        return None
    out: list[str | int] = []
    for tok in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]|\[\.\.\.\]", m.group(1)):
        name, idx = tok
        if name:
            out.append(_camel(name))
        elif idx:
            out.append(int(idx))
        else:
            break  # a dict value: drop the whole mapping
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _without(obj: Any, path: list[str | int]) -> Any:
    """A copy of `obj` without the field at `path` (copies only along the path)."""
    if not path:
        return obj
    key, rest = path[0], path[1:]
    if isinstance(obj, dict):
        k = key if key in obj else next((x for x in obj if isinstance(x, str) and x.lower() == str(key).lower()), key)
        if k not in obj:
            return obj
        new = dict(obj)
        if rest:
            new[k] = _without(obj[k], rest)
        else:
            del new[k]
        return new
    if isinstance(obj, list) and isinstance(key, int) and 0 <= key < len(obj):
        new_l = list(obj)
        if rest:
            new_l[key] = _without(obj[key], rest)
        else:
            del new_l[key]
        return new_l
    return obj


def _name_of(obj: Any) -> str | None:
    md = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(md, dict) and md.get("name"):
        ns = md.get("namespace")
        return f"{obj.get('kind') or 'object'} {str(ns) + '/' if ns else ''}{md['name']}"
    return None


def items_by_kind(docs: Iterable[Any], skipped: Counter[str] | None = None) -> dict[str, list[Any]]:
    """Group the objects of decoded documents by kind file name: Lists (typed or `kind: List` with mixed
    items), bare arrays and single objects; an object without `kind` by its shape (`formats.shapes`).
    Objects of kinds the frames do not use are dropped, counted by kind in `skipped` when given."""
    out: dict[str, list[Any]] = {}

    def one(obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        kind = obj.get("kind")
        if isinstance(kind, str) and kind in OBJECT_KINDS:
            out.setdefault(OBJECT_KINDS[kind], []).append(obj)
        elif not kind and (shaped := kind_by_shape(obj)) is not None:
            out.setdefault(shaped, []).append(obj)
        elif isinstance(kind, str) and kind and not kind.endswith("List") and kind != "List" and skipped is not None:
            skipped[kind] += 1
        elif isinstance(obj.get("items"), list):
            list_kind = LIST_KINDS.get(kind) if isinstance(kind, str) else None
            for it in obj["items"]:
                if list_kind and isinstance(it, dict) and "kind" not in it:
                    out.setdefault(list_kind, []).append(it)
                else:
                    one(it)

    for d in docs:
        if isinstance(d, list):
            for x in d:
                one(x)
        else:
            one(d)
    return out


def snapshot_name(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class ForeignBuilder(FrameBuilder):
    """A FrameBuilder that also takes a container log by its names, outside v1 paths."""

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
        """Add one container log; `line_offset` shifts signature line numbers when the log is a block
        inside a bigger file (cluster-info `logs.txt`), so evidence points at the file's own line."""
        m = layout.Member(
            layout.ROLE_LOG, snapshot=snapshot, namespace=namespace, pod=pod, container=container, previous=previous
        )
        self.add_log(m, file, data, line_offset=line_offset)


# --- a format declares itself ---------------------------------------------------------------------


@dataclass(frozen=True)
class Detected:
    """What a path holds: `format`, the root `prefix` inside it, and whether it is a single text file."""

    format: str
    prefix: str = ""
    single_file: bool = False


@dataclass(frozen=True)
class Format:
    """A dump format as its own module declares it (its `SPEC`); `formats.FORMATS` lists them in order
    of precedence, and detection, loading and serving are derived from that list.

    How it is recognised (at least one of `marker`, `sniff`, `content`):
    - `marker(parts)`: a member name split on `/`: (root prefix, decisive) or None;
    - `weak(hits)`: the root prefix on which the format's non-decisive marker hits agree, or None;
    - `peek`: how many names are still looked at once only this format's marker has decided (a later,
      more specific marker may sort after it);
    - `sniff(head)`: one plain file, by its first bytes;
    - `content(path, strict)`: a directory or archive, by reading its first files; tried when no
      marker decided, or when only a later format's `fallback` did (`strict` then);
    - `fallback(name)`: a member name the format reads by content: when no marker decides, a tree
      holding one is this format's.

    How it is read:
    - `read(path, detected, images)`: the frames of what detection found (`images`: a v1 `images/`);
    - `classify(rel)`: a member as a frame input (`Part`); `serve` reads its `objects` and `log` parts;
    - `raw(src, detected, path)`: the raw objects and logs `serve` answers with, for a format with
      roles of its own (`forensics.read.formats.raw`; without it, `classify` is read generically);
    - `needs_pods`: a dump of it from which no Pod and no Node was read is unusable."""

    name: str
    read: Callable[[Path, Detected, Path | None], Dump]
    marker: Callable[[list[str]], tuple[str, bool] | None] | None = None
    sniff: Callable[[bytes], bool] | None = None
    weak: Callable[[set[tuple[str, str]]], str | None] | None = None
    peek: int = 64
    content: Callable[[Path, bool], bool] | None = None
    fallback: Callable[[str], bool] | None = None
    classify: Callable[[str], Part | None] | None = None
    raw: Callable[[DumpSource, Detected, Path], RawDump] | None = None
    needs_pods: bool = True


# --- members as frame inputs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """What one member of a foreign dump is, in frame terms, as its format's `classify` maps it.

    `role` is `objects` (a list of `kind`, the frames' kind file name), `log` (one container's log) or
    a role of the format's own (`errors`, `version`, `pod`, `node`, `events`, `maybe-pod`, ...)."""

    role: str
    kind: str | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    previous: bool = False


def parts_of(
    src: DumpSource, prefix: str, classify: Callable[[str], Part | None], cap: Callable[[Part], int | None]
) -> Iterator[tuple[str, Part, bytes]]:
    """The one classify-and-read loop of a foreign format: (root-relative name, part, bytes) of every
    member under `prefix` that `classify` maps to a part, each read under `cap(part)` (None: skip)."""

    def select(name: str) -> int | None:
        part = classify(name[len(prefix) :]) if name.startswith(prefix) else None
        return None if part is None else cap(part)

    for name, data in files_of(src, select):
        rel = name[len(prefix) :]
        part = classify(rel)
        if part is not None:
            yield rel, part, data


def time_in_names(pattern: re.Pattern[str], fmt: str, *names: str) -> datetime | None:
    """The UTC time that `pattern`'s first group spells (in strptime `fmt`) in the first name holding
    one, e.g. a bundle's `support-bundle-2006-01-02T15_04_05` folder or an archive's file name."""
    for n in names:
        m = pattern.search(n)
        if m:
            try:
                return datetime.strptime(m.group(1), fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    return None


# --- names without reading contents ----------------------------------------------------------------


def iter_names(path: Path) -> Iterator[str]:
    """Regular-file names of a directory (not following links) or archive, as stored, without reading
    file contents (an archive's headers are read in one stream; the caller stops when it has decided).
    Unsafe names (`..`, absolute, not UTF-8) and macOS litter are left out: they never decide a format."""
    yield from open_raw(path).iter_names()


def files_of(src: DumpSource, select: Select) -> Iterator[tuple[str, bytes]]:
    """`src.iter_files(select)` as whole bytes (foreign formats never ask for chunked lists)."""
    for name, data in src.iter_files(select):
        if isinstance(data, bytes):
            yield name, data


def open_raw(path: Path) -> DumpSource:
    """A source whose names are as stored: a directory is not unwrapped, an archive's top folder kept."""
    if path.is_dir():
        return DirectorySource(path)
    src = open_source(path)
    src.strip_top = False
    return src


def prefix_before(parts: list[str], index: int) -> str:
    return "".join(p + "/" for p in parts[:index])


# --- images from a v1 images/ folder ----------------------------------------------------------------


def iter_image_files(images: Path, into: DumpSource) -> Iterator[tuple[str, bytes]]:
    """Image inspection files in the v1 `images/<slug>/...` layout from `images` (the `images/` folder
    itself, or a folder or archive holding one), named as in a v1 dump; problems go to `into`."""
    root = images / layout.IMAGES if (images / layout.IMAGES).is_dir() else images
    src = open_raw(root)
    src.problems = into.problems
    for name, data in files_of(src, lambda nm: into.limits.small_bytes if _image_member(nm) else None):
        into.files.extend(src.files[-1:])
        yield f"{layout.IMAGES}/{_image_rel(name)}", data


def add_images(builder: FrameBuilder, images: Path, into: DumpSource) -> int:
    """Add image inspections from `images` (see `iter_image_files`) to `builder`; returns files read."""
    n = 0
    for name, data in iter_image_files(images, into):
        m = layout.classify(name)
        if m is not None:
            builder.add_image_part(m, name, data)
            n += 1
    return n


def _image_rel(name: str) -> str:
    parts = name.split("/")
    if layout.IMAGES in parts[:-2]:
        parts = parts[parts.index(layout.IMAGES) + 1 :]
    elif len(parts) > 3 or (len(parts) == 3 and parts[1] != "configs"):
        parts = parts[1:]  # an archive's top folder
    return "/".join(parts)


def _image_member(name: str) -> layout.Member | None:
    return layout.classify(f"{layout.IMAGES}/{_image_rel(name)}")


# --- finishing ------------------------------------------------------------------------------------


def finish(
    builder: ForeignBuilder,
    src: DumpSource,
    *,
    path: Path,
    fmt: str,
    meta: dict[str, Any],
    collected_at: datetime | None,
    gaps: list[dict[str, str]],
    extra_times: Iterable[Any] = (),
) -> Dump:
    """Name the one snapshot from the collection time (derived when absent), build frames, list gaps."""
    derived = collected_at is None
    if collected_at is None:
        newest = builder.newest_time(extra_times)
        if newest is not None:
            collected_at = newest.to_pydatetime()
    if collected_at is None:
        collected_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        meta["collected_at_source"] = "file modification time (no timestamp inside the dump)"
    snap = snapshot_name(collected_at)
    builder.rename_snapshot(PENDING, snap)
    meta["collected_at"] = collected_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["format"] = fmt
    meta["snapshots"] = [snap]
    if derived and meta.get("collected_at_source"):
        meta["collected_at_derived"] = True
        gaps = [
            *gaps,
            {
                "what": "no collection time and no timestamp inside the dump",
                "impact": f"the collection time {meta['collected_at']} is the file modification time of "
                "the dump, which copying can change: 'recent' and ages may be wrong",
            },
        ]
    elif derived:
        meta["collected_at_derived"] = True
        meta["collected_at_source"] = "the newest timestamp inside the dump"
        gaps = [
            *gaps,
            {
                "what": "no collection time",
                "impact": f"the collection time {meta['collected_at']} is derived from the newest "
                "timestamp inside the dump; ages and 'recent' are relative to it",
            },
        ]
    frames = builder.build([snap], src.problems)
    return Dump(
        path=path,
        format=fmt,
        meta=meta,
        snapshots=[snap],
        frames=frames,
        problems=src.problems,
        files=src.files,
        gaps=[*gaps, *frame_gaps(frames, len(builder.snapshots_seen()))],
    )


def short(e: Exception) -> str:
    text = str(e).replace("\n", " ")
    return text if len(text) < 300 else text[:300] + "..."
