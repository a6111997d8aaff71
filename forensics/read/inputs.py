"""Say what an unusable input *is*, for the one-line message that refuses it.

"not a dump we know" alone leaves the user guessing; "an empty file", "a zip archive", "gzip-
compressed JSON", "JSON with trailing data at byte 1234" tells them what went wrong (the wrong
file, a half-finished upload, two outputs concatenated). `describe(path)` looks at a bounded
amount of the input: the first bytes of a file (decompressing at most `_PEEK` bytes of a gzip
stream), at most `_JSON_CAP` bytes for a JSON parse, and at most `_DIR_CAP` directory entries.
It never follows a symlink and never raises: the worst it says is "unreadable".
"""

from __future__ import annotations

import json
import os
import re
import stat
import zlib
from pathlib import Path

_PEEK = 64 * 1024
_JSON_CAP = 8 * 1024 * 1024
_DIR_CAP = 10_000
# kubectl before 1.3 printed its internal version: Go field names and no kind (formats/shapes.py)
_INTERNAL = re.compile(r'^\s*\{?\s*"(?:Items|ObjectMeta|TypeMeta)"\s*:')
INTERNAL_VERSION = (
    "JSON in kubectl's internal version (Go field names Items, ObjectMeta, Status; no kind), the output "
    "of a kubectl older than 1.3, which this tool cannot read: re-export with a current kubectl"
)

# what a user is told we looked for, after what their input is
LOOKED_FOR = (
    "a cluster-forensics dump (forensics-dump.yaml, snapshots/TIME/), a support bundle (cluster-resources/), "
    "an Insights Operator archive (insights-operator/gathers.json, config/pod/), "
    "a must-gather (namespaces/NS/, cluster-scoped-resources/), a kubectl cluster-info dump (nodes.json, "
    "NS/pods.json, NS/POD/logs.txt, or its standard output), kubectl describe/get/logs text, or Kubernetes "
    "objects / image manifests in .json or .yaml files"
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def describe(path: str | os.PathLike[str]) -> str:
    """A short noun phrase for what `path` holds: "an empty directory", "random bytes", ..."""
    p = Path(path)
    try:
        st = p.lstat()
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(st.st_mode):
        return describe_dir(p)
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a device, socket or pipe)"
    return describe_file(p)


def describe_file(p: Path) -> str:
    try:
        with open(p, "rb") as fh:
            head = fh.read(_PEEK)
    except OSError as e:
        return f"an unreadable file ({e.strerror or e})"
    if not head:
        return "an empty file"
    return describe_bytes(head, p)


def describe_bytes(head: bytes, p: Path | None = None) -> str:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip_head(head if p is None else _read(p, _PEEK))
        if inner is None:
            return "a damaged gzip file"
        if not inner:
            return "gzip-compressed, empty inside"
        if len(inner) >= 262 and inner[257:262] == b"ustar":
            return "a gzip-compressed tar archive"
        return "gzip-compressed " + _text_kind(inner, None)
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "a tar archive"
    return _text_kind(head, p)


def _read(p: Path, n: int) -> bytes:
    try:
        with open(p, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _gunzip_head(data: bytes) -> bytes | None:
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(data, _PEEK)
    except zlib.error:
        return None


def _text_kind(head: bytes, p: Path | None) -> str:
    """What bytes that are no known container format look like: JSON (and how it is broken),
    YAML, text, or binary data."""
    sample = head[:4096]
    if b"\x00" in sample:
        return "binary data (random bytes: not an archive, JSON or YAML)"
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(head) <= len(sample) or e.start < len(sample) - 4:  # not just a character cut where the sample ends
            return "binary data (random bytes: not an archive, JSON or YAML)"
        text = sample[: e.start].decode("utf-8")
    stripped = text.lstrip()
    if not stripped:
        return "a file of whitespace only"
    if _INTERNAL.match(stripped):
        return INTERNAL_VERSION
    if stripped[0] in "{[":
        data = head if p is None else _read(p, _JSON_CAP)
        return _json_kind(data)
    if any(k in text for k in ("apiVersion:", "kind:")) or text.startswith("---"):
        return "YAML without a Kubernetes object this tool reads"
    if ":" in text.split("\n", 1)[0]:
        return "a text or YAML file that is not a Kubernetes object"
    return "a text file that is not a Kubernetes object"


def _json_kind(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    lead = len(text) - len(text.lstrip())
    try:
        obj, end = json.JSONDecoder().raw_decode(text, lead)
    except RecursionError:
        return "JSON nested too deeply to be a Kubernetes object"
    except json.JSONDecodeError as e:
        at = len(text[: e.pos].encode("utf-8"))
        if len(data) >= _JSON_CAP:
            return f"JSON larger than {_JSON_CAP // (1024 * 1024)} MiB that could not be checked"
        return f"broken JSON at byte {at}: {e.msg}"
    rest = text[end:].strip()
    if rest:
        start = end + (len(text[end:]) - len(text[end:].lstrip()))
        at = len(text[:start].encode("utf-8"))
        snippet = " ".join(rest[:40].split())
        return f"JSON with trailing data at byte {at}: {snippet!r}"
    if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
        items = obj.get("items")
        if isinstance(items, list) and not items:
            return f"JSON: an empty {obj['kind']}"
        return f"JSON of kind {obj['kind']!r}, not one this tool reads"
    if isinstance(obj, dict):
        keys = ", ".join(sorted(map(str, obj))[:5])
        return f"JSON that is not a Kubernetes object (keys: {keys})" if keys else "an empty JSON object"
    if isinstance(obj, list):
        return "a JSON list of no Kubernetes objects" if obj else "an empty JSON list"
    return f"a bare JSON {type(obj).__name__}"


def describe_dir(p: Path) -> str:
    names: list[str] = []
    files = dirs = 0
    more = False
    try:
        for root, dnames, fnames in os.walk(p):
            dnames[:] = sorted(d for d in dnames if not d.startswith("."))
            for f in sorted(fnames):
                if f.startswith("."):
                    continue
                files += 1
                if len(names) < 3:
                    names.append(os.path.relpath(os.path.join(root, f), p))
            dirs += len(dnames)
            if files + dirs > _DIR_CAP:
                more = True
                break
    except OSError as e:
        return f"an unreadable directory ({e.strerror or e})"
    if files == 0:
        return "an empty directory" if dirs == 0 else f"a directory of {dirs} empty folder(s), no files"
    count = f"more than {_DIR_CAP:,}" if more else f"{files:,}"
    example = ", ".join(names) + (", ..." if files > len(names) else "")
    if any(_INTERNAL.match(_read(p / n, 256).decode("utf-8", errors="replace")) for n in names):
        return f"a folder of {count} file(s) ({example}) holding {INTERNAL_VERSION}"
    return f"a folder of {count} unrelated file(s) ({example})"


def unusable_message(path: str | os.PathLike[str], what: str | None = None) -> str:
    """`PATH: WHAT IT IS; not a dump this tool reads. Looked for: ...` (one line)."""
    return f"{path}: {what or describe(path)}; not a dump this tool reads. Looked for {LOOKED_FOR}"
