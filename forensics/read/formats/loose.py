"""Loose files: what an engineer gathered by hand, in a folder, an archive, or one file.

Any `.json`, `.yaml` or `.yml` file is read and recognised by its content, never its name:

- Kubernetes objects (`kubectl get ... -o json|yaml`): a typed List (`PodList`, ...), a mixed
  `kind: List`, a bare array, a single object, or several YAML documents; objects without `kind`
  by their shape (`formats.shapes`). Kinds the analysis does not use (Service, Secret, ConfigMap,
  ...) are skipped quietly and counted once in the gaps; a field of an unexpected type drops that
  field only (a load problem says which); old internal-version JSON is reported, not decoded.
- image inspections (`skopeo inspect [--raw]`, `crane manifest`, `docker manifest inspect`, ...):
  whatever `forensics.knowledge.manifests.parse_inspection` recognises. An image config (`architecture`,
  `os`, `rootfs`) next to exactly one manifest is that manifest's config.

A manifest is tied to its image reference by, in order: a `ref.txt` in the same folder, a pod's
`imageID` digest equal to the manifest's (sha256 of the raw bytes, or skopeo's `Digest`), or the
`Name` skopeo printed. An unmatched manifest is kept under its file name and reported.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.errors import ManifestError, UnusableInput
from forensics.knowledge.manifests import parse_inspection
from forensics.read import chunks, inputs, kube, layout
from forensics.read.formats.common import (
    LIST_KINDS,
    OBJECT_KINDS,
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    add_images,
    convert_items,
    files_of,
    finish,
    items_by_kind,
    open_raw,
    short,
    yaml_docs,
)
from forensics.read.formats.raw import RawDump, merge, whole_file
from forensics.read.formats.raw import items as raw_items
from forensics.read.formats.raw import objects as raw_objects
from forensics.read.formats.shapes import internal_version, kind_by_shape
from forensics.read.load import Dump
from forensics.read.source import (
    DumpSource,
    FileInfo,
    open_single,
    read_or_stream,
    read_upto,
    single_name,
)

FORMAT = "loose-files"
EXTENSIONS = (".json", ".yaml", ".yml")
REF = "ref.txt"

GAPS = [
    {
        "what": "hand-gathered files",
        "impact": "only the objects present were read: anything not gathered (events, logs, other "
        "namespaces) is unknown, and the collection time is derived",
    },
]


def candidate(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def looks_like_object(head: bytes) -> bool:
    """One plain file that may be a kubectl output or an image inspection (decided fully at load)."""
    text = head.lstrip()
    if text.startswith((b"{", b"[")):
        return any(k in text for k in (b'"kind"', b'"mediaType"', b'"schemaVersion"', b'"Digest"'))
    return any(k in text for k in (b"kind:", b"apiVersion:"))


class _Kind(msgspec.Struct):
    kind: Any = None


_KIND = msgspec.json.Decoder(_Kind)
UNTYPED_MAX = 64 * 1024 * 1024  # documents other than JSON Lists are built as Python objects: capped lower
LIST_MAX = 1024 * 1024 * 1024  # a JSON List is decoded object by object, never as dicts
# one file given alone (its size known only once decompressed) is held whole up to this; a bigger
# JSON list in kubectl's layout is decoded as it is read, in reads of SINGLE_CHUNK
SINGLE_WHOLE_MAX = 64 * 1024 * 1024
SINGLE_CHUNK = 16 * 1024 * 1024


class _RawList(msgspec.Struct):
    kind: Any = None
    items: list[msgspec.Raw] | None = None


_RAW_LIST = msgspec.json.Decoder(_RawList)


def _typed(data: bytes) -> tuple[dict[str, list[Any]], list[str]] | None:
    """Typed items by kind file, and notes, of a JSON List (`kubectl get -o json`'s `kind: List`, or a
    typed `PodList`, ...), decoded object by object without building dicts; None for anything else."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        top = _RAW_LIST.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if top.items is None or not isinstance(top.kind, str) or not top.kind.endswith("List"):
        return None
    default = LIST_KINDS.get(top.kind)
    by_kind: dict[str, list[Any]] = {}
    for raw in top.items:
        try:
            k = _KIND.decode(raw).kind
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            k = None
        if k == "List" or (k is not None and not isinstance(k, str)):
            return None
        kind = OBJECT_KINDS.get(k) if k is not None else default
        if kind is not None:
            by_kind.setdefault(kind, []).append(raw)
    notes: list[str] = []
    return {k: kube.decode_items(k, raws, notes) for k, raws in by_kind.items()}, notes


def _single(p: Path, src: DumpSource) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
    """The one file of a single-file input, perhaps compressed (its size unknown until decompressed).

    Up to `SINGLE_WHOLE_MAX` bytes it is handed out whole. Past that, a JSON list laid out as kubectl prints
    it is handed out as chunks and decoded item batch by item batch, like a big object list of a
    directory dump (`chunks.item_batches`): a big cluster's `pods.json.gz` loads, within the memory of
    a directory dump. Anything else past it is counted, not held, up to `LIST_MAX`: over that it is
    refused ("file too large") without having been kept; within it, it is read again, whole."""
    name = single_name(p)
    try:
        with open_single(p, src.limits) as fh:
            data, rest = read_or_stream(fh, SINGLE_WHOLE_MAX, SINGLE_CHUNK)
            if data is None:
                first = next(rest)
                if chunks.kubectl_list(first):
                    info = FileInfo(name, 0)
                    src.files.append(info)
                    yield name, _counted(itertools.chain((first,), rest), info)
                    return
                size = len(first)
                del first
                for more in rest:
                    size += len(more)
                    if size > LIST_MAX:
                        why = f"over {LIST_MAX} bytes and not a JSON list as kubectl prints it: not read"
                        src.problem(name, "file too large", why)
                        return
        if data is None:
            with open_single(p, src.limits) as fh:
                data = read_upto(fh, LIST_MAX + 1)
    except OSError as e:
        src.problem(name, "file truncated or corrupt", str(e))
        return
    src.files.append(FileInfo(name, len(data)))
    yield name, data


def _counted(parts: Iterator[bytes], info: FileInfo) -> Iterator[bytes]:
    for part in parts:
        info.size += len(part)
        yield part


def _add_streamed(b: ForeignBuilder, src: DumpSource, name: str, parts: Iterator[bytes], skipped: Counter[str]) -> int:
    """Decode a JSON list in kubectl's layout batch by batch, each item by its own `kind` (or its shape);
    what cannot be read past some point is a load problem, the items before it are kept."""
    notes: list[str] = []
    count = 0
    try:
        for batch in chunks.item_batches(parts):
            if batch.whole:  # pragma: no cover - `kubectl_list` saw the items open
                raise msgspec.DecodeError("not a JSON list as kubectl prints it")
            raws = msgspec.json.decode(batch.data, type=list[msgspec.Raw])
            by_kind: dict[str, list[msgspec.Raw]] = {}
            for raw in raws:
                try:
                    k = _KIND.decode(raw).kind
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                    k = None
                kind = OBJECT_KINDS.get(k) if isinstance(k, str) else None
                if kind is None and not k:
                    try:
                        kind = kind_by_shape(msgspec.json.decode(raw))
                    except (msgspec.DecodeError, RecursionError):
                        kind = None
                if kind is not None:
                    by_kind.setdefault(kind, []).append(raw)
                elif isinstance(k, str) and k:
                    skipped[k] += 1
            del raws
            for kind, raws_of in by_kind.items():
                items = kube.decode_items(kind, raws_of, notes)
                b.add_items(PENDING, kind, name, items)
                count += len(items)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
        src.problem(name, "unreadable object list", f"{short(e)}; the {count} objects before were read")
    except OSError as e:
        src.problem(name, "file truncated or corrupt", f"{e}; the {count} objects before were read")
    for note in notes[:20]:
        src.problem(name, "object list partly read", note)
    return count


def _decode(name: str, data: bytes) -> list[Any]:
    if len(data) > UNTYPED_MAX:
        raise yaml.YAMLError(
            f"{len(data)} bytes and not a JSON object List: over the {UNTYPED_MAX}-byte cap "
            f"for other documents (loose JSON Lists are read up to {LIST_MAX} bytes)"
        )
    text = data.lstrip()
    if text.startswith((b"{", b"[")):
        try:
            return [json.loads(data.decode("utf-8", errors="replace"))]
        except RecursionError:
            raise yaml.YAMLError("JSON nested too deeply") from None
        except ValueError:
            pass
    return yaml_docs(data)


def _is_config(doc: Any) -> bool:
    return isinstance(doc, dict) and "architecture" in doc and "rootfs" in doc


def load(
    path: Path, *, single_file: bool = False, source: DumpSource | None = None, images: Path | None = None
) -> Dump:
    """Load loose files from a folder or archive, or one file (`single_file`)."""
    p = Path(path)
    src = source or (DumpSource(p) if single_file else open_raw(p))
    b = ForeignBuilder()
    objects = 0
    manifests: list[tuple[str, bytes, Any]] = []
    configs: dict[str, list[tuple[str, bytes]]] = {}
    refs: dict[str, str] = {}
    skipped: Counter[str] = Counter()

    def files() -> Any:
        if single_file:
            yield from _single(p, src)
            return
        yield from files_of(
            src, lambda n: LIST_MAX if candidate(n) else (4096 if n.rsplit("/", 1)[-1] == REF else None)
        )

    for name, data in files():
        if not isinstance(data, bytes):  # a list too big to hold, decoded as it is read
            objects += _add_streamed(b, src, name, data, skipped)
            continue
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        if name.rsplit("/", 1)[-1] == REF:
            refs[folder] = data.decode("utf-8", errors="replace").strip()
            continue
        typed = _typed(data)
        if typed is not None:
            by_kind, notes = typed
            for kind, items in by_kind.items():
                b.add_items(PENDING, kind, name, items)
                objects += len(items)
            for note in notes:
                src.problem(name, "object list partly read", note)
            if by_kind or notes:
                continue
        try:
            docs = _decode(name, data)
        except yaml.YAMLError as e:
            src.problem(name, "neither JSON nor YAML", short(e))
            continue
        before = sum(skipped.values())
        grouped = items_by_kind(docs, skipped)
        for kind, objs in grouped.items():
            odd: list[str] = []
            try:
                items = convert_items(kind, objs, odd)
            except msgspec.ValidationError as e:  # pragma: no cover - convert_items reports instead
                src.problem(name, "unreadable objects", short(e))
                continue
            b.add_items(PENDING, kind, name, items)
            objects += len(items)
            for why in odd[:20]:
                src.problem(name, "odd field dropped" if "dropped" in why else "unreadable object", why)
        if grouped or len(docs) != 1 or sum(skipped.values()) > before:
            continue
        doc = docs[0]
        if internal_version(doc):
            src.problem(
                name,
                "internal-version JSON (not decoded)",
                "Go field names (Items, Status, ContainerStatuses) and no kind: the output of a kubectl "
                "older than 1.3; re-export with a current kubectl (`kubectl get pods -A -o json`)",
            )
            continue
        if _is_config(doc):
            configs.setdefault(folder, []).append((name, data))
            continue
        try:
            parse_inspection(data)
        except ManifestError:
            src.problem(name, "file not recognised", "neither Kubernetes objects nor an image inspection")
            continue
        manifests.append((name, data, doc))

    by_digest = b.image_by_digest()
    per_folder: dict[str, int] = {}
    for name, _, _ in manifests:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        per_folder[folder] = per_folder.get(folder, 0) + 1
    for name, data, doc in manifests:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        ref = _ref_for(folder, data, doc, refs, by_digest, per_folder)
        if ref is None:
            ref = name
            src.problem(
                name,
                "image manifest not matched",
                "no ref.txt beside it and no pod imageID with its digest: kept under its file name",
            )
        slug = layout.image_slug(ref)
        b.add_image_part(layout.Member(layout.ROLE_IMAGE_REF, slug=slug), name, ref.encode())
        b.add_image_part(layout.Member(layout.ROLE_IMAGE_MANIFEST, slug=slug), name, data)
        cfgs = configs.get(folder, [])
        if len(cfgs) == 1 and per_folder[folder] == 1:
            b.add_image_part(layout.Member(layout.ROLE_IMAGE_CONFIG, slug=slug), cfgs[0][0], cfgs[0][1])
        objects += 1
    if images is not None:
        add_images(b, images, src)
    meta: dict[str, Any] = {"source_format": FORMAT, "objects_found": objects}
    gaps = list(GAPS)
    if skipped:
        meta["skipped_kinds"] = dict(skipped.most_common())
        kinds = ", ".join(f"{k} x{n}" for k, n in skipped.most_common(6))
        gaps.append(
            {
                "what": f"{sum(skipped.values())} objects of kinds the analysis does not use, skipped",
                "impact": f"none for the findings ({kinds}{', ...' if len(skipped) > 6 else ''})",
            }
        )
    return finish(b, src, path=p, fmt=FORMAT, meta=meta, collected_at=None, gaps=gaps)


def _ref_for(
    folder: str, data: bytes, doc: Any, refs: dict[str, str], by_digest: dict[str, str], per_folder: dict[str, int]
) -> str | None:
    if folder in refs and per_folder.get(folder) == 1:
        return refs[folder]
    digests = ["sha256:" + hashlib.sha256(data).hexdigest()]
    if isinstance(doc, dict) and isinstance(doc.get("Digest"), str):
        digests.append(doc["Digest"])
    for d in digests:
        if d in by_digest:
            return by_digest[d]
    if isinstance(doc, dict) and isinstance(doc.get("Name"), str) and doc["Name"]:
        return str(doc["Name"])
    return None


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    """Loose files; a folder or file holding no object or manifest this tool reads is `UnusableInput`."""
    dump = load(path, single_file=found.single_file, images=images)
    if not dump.meta.get("objects_found"):
        what = inputs.describe(path)
        if path.is_dir() and what.startswith("a folder of") and inputs.INTERNAL_VERSION not in what:
            what += ", none a Kubernetes object or image manifest this tool reads"
        given_up = [q for q in dump.problems if q.what in ("file too large", "file truncated or corrupt")]
        if found.single_file and given_up:  # the reader gave up on the file: that, not its first bytes, says why
            what = f"{given_up[0].what} ({given_up[0].why})"
        raise UnusableInput(inputs.unusable_message(path, what))
    return dump


def raw(src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers: the objects of one file, or of every `.json`/`.yaml` file of a tree."""
    if found.single_file:
        return whole_file(src, path)
    out = RawDump()
    for _, data in src.iter_files(lambda nm: src.limits.member_bytes if candidate(nm) else None):
        if isinstance(data, bytes):
            merge(out.lists, raw_objects(raw_items(data)))
    return out


# Recognised by content, not by layout: one file by its first bytes (`sniff`), a tree by holding any
# `.json`/`.yaml` member (`fallback`) when no other format's marker decides; which objects it holds is
# decided file by file while reading.
SPEC = Format(FORMAT, read, sniff=looks_like_object, fallback=candidate, raw=raw)
