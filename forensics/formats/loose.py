"""Loose files: what an engineer gathered by hand, in a folder, an archive, or one file.

Any `.json`, `.yaml` or `.yml` file is read and recognised by its content, never its name:

- Kubernetes objects (`kubectl get ... -o json|yaml`): a typed List (`PodList`, ...), a mixed
  `kind: List`, a bare array, a single object, or several YAML documents; objects without `kind`
  by their shape (`formats.shapes`). Kinds the analysis does not use (Service, Secret, ConfigMap,
  ...) are skipped quietly and counted once in the gaps; a field of an unexpected type drops that
  field only (a load problem says which); old internal-version JSON is reported, not decoded.
- image inspections (`skopeo inspect [--raw]`, `crane manifest`, `docker manifest inspect`, ...):
  whatever `forensics.manifests.parse_inspection` recognises. An image config (`architecture`,
  `os`, `rootfs`) next to exactly one manifest is that manifest's config.

A manifest is tied to its image reference by, in order: a `ref.txt` in the same folder, a pod's
`imageID` digest equal to the manifest's (sha256 of the raw bytes, or skopeo's `Digest`), or the
`Name` skopeo printed. An unmatched manifest is kept under its file name and reported.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics import layout
from forensics.errors import ManifestError
from forensics.formats.common import (
    PENDING,
    ForeignBuilder,
    add_images,
    convert_items,
    files_of,
    finish,
    items_by_kind,
    open_raw,
    short,
    yaml_docs,
)
from forensics.formats.shapes import internal_version
from forensics.load import Dump
from forensics.manifests import parse_inspection
from forensics.source import DumpSource, FileInfo

FORMAT = "loose-files"
EXTENSIONS = (".json", ".yaml", ".yml")
REF = "ref.txt"

GAPS = [
    {"what": "hand-gathered files",
     "impact": "only the objects present were read: anything not gathered (events, logs, other "
               "namespaces) is unknown, and the collection time is derived"},
]


def candidate(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def looks_like_object(head: bytes) -> bool:
    """One plain file that may be a kubectl output or an image inspection (decided fully at load)."""
    text = head.lstrip()
    if text.startswith((b"{", b"[")):
        return any(k in text for k in (b'"kind"', b'"mediaType"', b'"schemaVersion"', b'"Digest"'))
    return any(k in text for k in (b"kind:", b"apiVersion:"))


def _decode(name: str, data: bytes) -> list[Any]:
    text = data.lstrip()
    if text.startswith((b"{", b"[")):
        try:
            return [json.loads(data.decode("utf-8", errors="replace"))]
        except ValueError:
            pass
    return yaml_docs(data)


def _is_config(doc: Any) -> bool:
    return isinstance(doc, dict) and "architecture" in doc and "rootfs" in doc


def load(path: Path, *, single_file: bool = False, source: DumpSource | None = None,
         images: Path | None = None) -> Dump:
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
            size = p.stat().st_size
            if size > src.limits.member_bytes:
                src.problem(p.name, "file too large", f"{size} bytes, cap {src.limits.member_bytes}")
                return
            src.files.append(FileInfo(p.name, size))
            yield p.name, p.read_bytes()
            return
        yield from files_of(src, lambda n: src.limits.member_bytes if candidate(n)
                                  else (4096 if n.rsplit("/", 1)[-1] == REF else None))

    for name, data in files():
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        if name.rsplit("/", 1)[-1] == REF:
            refs[folder] = data.decode("utf-8", errors="replace").strip()
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
            src.problem(name, "internal-version JSON (not decoded)",
                        "Go field names (Items, Status, ContainerStatuses) and no kind: the output of a kubectl "
                        "older than 1.3; re-export with a current kubectl (`kubectl get pods -A -o json`)")
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

    by_digest = _container_digests(b)
    per_folder: dict[str, int] = {}
    for name, _, _ in manifests:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        per_folder[folder] = per_folder.get(folder, 0) + 1
    for name, data, doc in manifests:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        ref = _ref_for(folder, data, doc, refs, by_digest, per_folder)
        if ref is None:
            ref = name
            src.problem(name, "image manifest not matched",
                        "no ref.txt beside it and no pod imageID with its digest: kept under its file name")
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
        gaps.append({"what": f"{sum(skipped.values())} objects of kinds the analysis does not use, skipped",
                     "impact": f"none for the findings ({kinds}{', ...' if len(skipped) > 6 else ''})"})
    return finish(b, src, path=p, fmt=FORMAT, meta=meta, collected_at=None, gaps=gaps)


def _container_digests(b: ForeignBuilder) -> dict[str, str]:
    """image digest (from pods' imageID) -> the image reference the pod spec names."""
    out: dict[str, str] = {}
    data = b.containers.data
    for digest, image in zip(data["image_digest"], data["image"], strict=True):
        if digest and image and digest not in out:
            out[digest] = image
    return out


def _ref_for(folder: str, data: bytes, doc: Any, refs: dict[str, str], by_digest: dict[str, str],
             per_folder: dict[str, int]) -> str | None:
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
