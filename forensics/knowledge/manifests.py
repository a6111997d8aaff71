"""Recognise image-inspection outputs by their content and say which platforms an image can run on.

A dump keeps, per image reference, whatever the collector's tool printed: registry bytes from
`skopeo inspect --raw`, `crane manifest` or `docker buildx imagetools inspect --raw`; the rebuilt
list of `docker manifest inspect`; the `{Ref, Descriptor, Raw, ...}` objects of
`docker manifest inspect -v`; buildx's `--format '{{json .}}'` / `'{{json .Manifest}}'`; or the
summary of a plain `skopeo inspect`. We never trust a file name or a tool name: the shape of the
JSON decides (see `tests/fixtures/realdata/SOURCES.md` for where each shape was seen).

Shape of the result: one `ImageInspection` whose `platforms` holds only *runnable* platforms.
BuildKit attestation entries, regclient `builder` references and anything `unknown/unknown` go to
`excluded` (docker CLI drops the annotations when it rebuilds a list, so `unknown/unknown` alone is
enough to exclude an entry).

Anything that is not a recognised shape raises `ManifestError` with a one-line reason; nothing else
escapes `parse_inspection`, whatever the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from forensics.errors import ManifestError
from forensics.knowledge.arch import Platform, normalize_arch, normalize_platform

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

_INDEX_TYPES = {OCI_INDEX: "oci-index", DOCKER_LIST: "docker-manifest-list"}
_MANIFEST_TYPES = {OCI_MANIFEST: "oci-manifest", DOCKER_MANIFEST: "docker-manifest"}

# BuildKit marks attestation manifests, regclient marks build-context references this way
_REF_TYPE = "vnd.docker.reference.type"
_REF_REASONS = {"attestation-manifest": "attestation-manifest", "builder": "builder reference"}

_KNOWN_VARIANTS = {
    "arm": {"v5", "v6", "v7", "v8"},
    "arm64": {"v8", "v9"} | {f"v{major}.{minor}" for major in (8, 9) for minor in range(10)},
}

_MAX_BYTES = 16 * 1024 * 1024
# entries of an index (and child configs) read: real indexes hold a few dozen; every step over them is
# linear, and the cap bounds what a crafted index costs
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class PlatformEntry:
    """One runnable platform of an image; `digest` is the child manifest's (None for single manifests
    without a descriptor). `created` comes from the child's config when the dump held it."""

    platform: Platform
    digest: str | None
    media_type: str | None
    os_version: str | None = None
    created: str | None = None
    config_platform: Platform | None = None  # what the child's config says, when the dump held it
    amd64_level: str | None = None  # x86-64 level the child needs (v2..v4), from its variant or config
    amd64_level_from: str | None = None  # the fact that level rests on


@dataclass
class ImageInspection:
    """What one image-inspection output says about an image.

    `digest_from` says how much `digest` can be trusted: "bytes" (sha256 of the file, equal to the
    registry digest only when the file holds the registry's exact bytes), "tool" (printed by the
    tool), or None.
    """

    kind: str
    media_type: str | None
    source_format: str
    digest: str | None
    platforms: list[PlatformEntry] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    attestations: int = 0
    config_os: str | None = None
    config_arch: str | None = None
    config_variant: str | None = None
    created: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    digest_from: str | None = None
    amd64_level: str | None = None  # x86-64 level a single amd64 manifest needs (v2..v4), when it says
    amd64_level_from: str | None = None

    @property
    def platform_strings(self) -> set[str]:
        """The runnable platforms as strings ("linux/arm/v7"), handy for messages and sets."""
        return {str(p.platform) for p in self.platforms}


def parse_inspection(
    manifest: bytes, *, config: bytes | None = None, configs: dict[str, bytes] | None = None
) -> ImageInspection:
    """Parse one inspection output; `config` is the image config for a single manifest, `configs`
    maps child manifest digests (or config digests) to configs of an index's platform manifests."""
    try:
        return _parse(manifest, config, configs)
    except ManifestError:
        raise
    except Exception as exc:  # the contract: hostile bytes never become a traceback
        raise ManifestError(f"unreadable image inspection output ({type(exc).__name__})") from exc


def parse_config(config: bytes) -> tuple[Platform | None, str | None]:
    """Return (platform, created) of an image config; platform is None when it names no architecture."""
    doc = _decode(config, what="image config")
    if not isinstance(doc, dict):
        raise ManifestError(f"image config is a JSON {_type_name(doc)}, not an object")
    return _config_platform(doc)


_LEVEL_VARIANTS = ("v2", "v3", "v4")
_GOAMD64 = re.compile(r"\bGOAMD64=(v[2-4])\b")
_MARCH = re.compile(r"-march=x86-64-(v[2-4])\b")
# base userlands that are built for a level above the baseline: RHEL/UBI 9 and its rebuilds need
# x86-64-v2, RHEL/UBI 10 needs x86-64-v3 (Red Hat's published hardware requirements)
_BASE_LEVEL = (
    (re.compile(r"\b(?:ubi|rhel|el)10\b|enterprise_linux:10\b"), "v3", "RHEL 10 userland"),
    (
        re.compile(r"\b(?:ubi|rhel|el)9\b|enterprise_linux:9\b|centos stream 9|\bcentos:stream9\b"),
        "v2",
        "RHEL 9 userland",
    ),
)
_LEVEL_LABELS = (
    "com.redhat.component",
    "name",
    "cpe",
    "io.openshift.tags",
    "org.opencontainers.image.base.name",
    "base.image",
    "distribution-scope",
)


def amd64_level_of_config(config: bytes) -> tuple[str | None, str | None]:
    """(level, why) when an image config shows its binaries need an x86-64 level above v1: a
    `variant` v2..v4, `GOAMD64=vN` in Env or a build step, `-march=x86-64-vN` in a build step, or a
    base image whose userland is built for a level (RHEL/UBI 9: v2, RHEL/UBI 10: v3). (None, None)
    when nothing says so or the config is not amd64."""
    try:
        doc = _decode(config, what="image config")
    except ManifestError:
        return None, None
    if not isinstance(doc, dict) or normalize_arch(_str(doc.get("architecture")))[0] != "amd64":
        return None, None
    variant = _str(doc.get("variant"))
    if variant in _LEVEL_VARIANTS:
        return variant, f"config variant {variant}"
    raw_cfg = doc.get("config")
    cfg: dict[str, Any] = raw_cfg if isinstance(raw_cfg, dict) else {}
    env = cfg.get("Env")
    for e in env if isinstance(env, list) else []:
        m = _GOAMD64.search(str(e))
        if m:
            return m.group(1), f"config Env {str(e)[:80]}"
    raw_hist = doc.get("history")
    hist: list[Any] = raw_hist if isinstance(raw_hist, list) else []
    for h in hist[:500]:
        by = str(h.get("created_by") or "")[:4000] if isinstance(h, dict) else ""
        m = _GOAMD64.search(by) or _MARCH.search(by)
        if m:
            return m.group(1), f"build step `{by.strip()[:120]}`"
    raw_labels = cfg.get("Labels")
    labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
    for key in _LEVEL_LABELS:
        val = labels.get(key)
        if not isinstance(val, str):
            continue
        for pattern, level, what in _BASE_LEVEL:
            if pattern.search(val.lower()):
                return level, f"label {key}={val[:80]} ({what}, built for x86-64-{level})"
    return None, None


# -- decoding ---------------------------------------------------------------------------------


def _decode(raw: Any, *, what: str) -> Any:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ManifestError(f"{what} is a {type(raw).__name__}, not bytes")
    raw = bytes(raw)
    if len(raw) > _MAX_BYTES:
        raise ManifestError(f"{what} is {len(raw)} bytes, larger than any manifest")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise ManifestError(f"{what} is empty")
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ManifestError(f"{what} is not valid JSON: {str(exc).splitlines()[0][:120]}") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{what} is not valid UTF-8 (byte {exc.start})") from exc
    except RecursionError as exc:
        raise ManifestError(f"{what} is nested too deeply to be a manifest") from exc


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# -- dispatch on shape --------------------------------------------------------------------------


def _parse(manifest: Any, config: Any, configs: Any) -> ImageInspection:
    doc = _decode(manifest, what="manifest")
    raw = bytes(manifest) if isinstance(manifest, (bytes, bytearray, memoryview)) else b""
    if isinstance(doc, list):
        return _verbose_list(doc, configs)
    if not isinstance(doc, dict):
        raise ManifestError(f"manifest is a JSON {_type_name(doc)}, not an object or array")

    if "Descriptor" in doc and ({"Ref", "Raw", "SchemaV2Manifest", "OCIManifest"} & doc.keys()):
        return _verbose_single(doc, config)
    if isinstance(doc.get("manifest"), dict) and ("name" in doc or "image" in doc):
        return _buildx_all(doc, config, configs)
    if "Digest" in doc and ({"Architecture", "Os", "Layers", "LayersData"} & doc.keys()):
        return _skopeo_inspect(doc, config)
    if "manifests" in doc:
        insp = _index(doc, _with_config(configs, config))
        _set_digest(insp, doc, raw)
        return insp
    if doc.get("schemaVersion") == 1 or "fsLayers" in doc:
        return _schema1(doc, raw)
    if "rootfs" in doc or ("architecture" in doc and "layers" not in doc):
        raise ManifestError("this is an image config, not a manifest or index")
    if "config" in doc or "layers" in doc:
        insp = _manifest(doc, config)
        _set_digest(insp, doc, raw)
        return insp
    keys = ", ".join(repr(str(k)[:40]) for k in sorted(doc)[:8]) or "none"
    raise ManifestError(f"JSON object is not a known image inspection format (keys: {keys})")


def _with_config(configs: Any, config: Any) -> Any:
    """A config.json next to an index (e.g. `skopeo inspect --config`, which picks the host's
    platform) is matched to an entry by its platform, like a config keyed by its own digest."""
    if config is None or (configs is not None and not isinstance(configs, dict)):
        return configs
    return {**(configs or {}), "config.json": config}


def _set_digest(insp: ImageInspection, doc: dict[str, Any], raw: bytes) -> None:
    """Registry bytes hash to the registry digest; buildx's `{{json .Manifest}}` prints it instead."""
    printed = _str(doc.get("digest"))
    if printed is not None:
        insp.source_format = "buildx-imagetools-json"
        insp.digest, insp.digest_from = printed, "tool"
    elif insp.digest_from == "none":
        insp.digest_from = None
    elif raw.startswith(b"\xef\xbb\xbf"):
        insp.warnings.append("file starts with a UTF-8 byte order mark: not registry bytes, no digest")
    elif b"\n\t" in raw:
        # `docker manifest inspect` re-indents a single manifest with tabs (docker/cli
        # cli/command/manifest/inspect.go); the sha256 of that text is not the registry digest
        insp.warnings.append("tab-indented JSON (docker manifest inspect re-indents): no digest computed")
    else:
        insp.digest, insp.digest_from = _sha256(raw), "bytes"
    if insp.kind == "manifest" and insp.digest:
        insp.platforms = [replace(e, digest=insp.digest) for e in insp.platforms]


# -- platforms ----------------------------------------------------------------------------------


def _platform_of(plat: Any, warnings: list[str], where: str) -> tuple[Platform | None, str | None, str | None]:
    """(platform, os.version, reason-not-runnable) of an index descriptor's `platform` field."""
    if plat is None:
        return None, None, "no platform"
    if not isinstance(plat, dict):
        warnings.append(f"{where}: platform is a {_type_name(plat)}, not an object")
        return None, None, "malformed platform"
    os_, arch, variant = plat.get("os"), plat.get("architecture"), plat.get("variant")
    for name, val in (("os", os_), ("architecture", arch), ("variant", variant)):
        if val is not None and not isinstance(val, str):
            warnings.append(f"{where}: platform {name} is a {_type_name(val)}, not a string")
            return None, None, "malformed platform"
    if (os_ or "").lower() == "unknown" or (arch or "").lower() == "unknown":
        return None, None, "unknown/unknown"
    if not arch:
        return None, None, "no architecture"
    if not os_:
        warnings.append(f"{where}: platform has no os, assumed linux")
    p = normalize_platform(os_, arch, variant)
    _check_variant(p, variant, warnings, where)
    os_version = plat.get("os.version")
    return p, os_version if isinstance(os_version, str) and os_version else None, None


def _check_variant(p: Platform, raw_variant: str | None, warnings: list[str], where: str) -> None:
    known = _KNOWN_VARIANTS.get(p.arch)
    if known is not None and p.variant not in known:
        warnings.append(f"{where}: unrecognized variant {p.variant!r} for {p.os}/{p.arch}")
    elif raw_variant and not p.variant and p.arch not in _KNOWN_VARIANTS:
        warnings.append(f"{where}: variant {raw_variant!r} ignored for {p.os}/{p.arch}")


def _config_platform(doc: dict[str, Any]) -> tuple[Platform | None, str | None]:
    created = _str(doc.get("created"))
    arch, os_, variant = doc.get("architecture"), doc.get("os"), doc.get("variant")
    if not isinstance(arch, str) or not arch:
        return None, created
    os_ = os_ if isinstance(os_, str) else None
    variant = variant if isinstance(variant, str) else None
    return normalize_platform(os_, arch, variant), created


def _apply_config(insp: ImageInspection, config: Any, descriptor: Platform | None = None) -> None:
    """Fill the config_* fields of a single manifest; a broken config is a warning, not a failure."""
    if config is None:
        return
    try:
        plat, created = parse_config(config)
    except ManifestError as exc:
        insp.warnings.append(f"config ignored: {exc}")
        return
    _fill_config(insp, plat, created)
    insp.amd64_level, insp.amd64_level_from = amd64_level_of_config(config)
    if plat is not None and descriptor is not None and plat != descriptor:
        insp.warnings.append(f"config says {plat} but the descriptor says {descriptor}")


def _fill_config(insp: ImageInspection, plat: Platform | None, created: str | None) -> None:
    insp.created = created
    if plat is None:
        insp.warnings.append("image config names no architecture")
        return
    insp.config_os, insp.config_arch, insp.config_variant = plat.os, plat.arch, plat.variant or None


def _annotations(value: Any, warnings: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        warnings.append(f"annotations is a {_type_name(value)}, not an object")
        return {}
    out = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    if len(out) != len(value):
        warnings.append("annotations with non-string values ignored")
    return out


# -- indexes ------------------------------------------------------------------------------------


def _index(doc: dict[str, Any], configs: Any) -> ImageInspection:
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise ManifestError(f"'manifests' is a JSON {_type_name(manifests)}, not an array")
    media_type = doc.get("mediaType")
    if media_type is not None and not isinstance(media_type, str):
        raise ManifestError(f"index mediaType is a {_type_name(media_type)}, not a string")
    if media_type is None:
        source = "oci-index"  # the OCI image-spec lets an index omit mediaType
    elif media_type in _INDEX_TYPES:
        source = _INDEX_TYPES[media_type]
    else:
        raise ManifestError(f"document with 'manifests' has unknown mediaType {media_type[:100]!r}")
    insp = ImageInspection(kind="index", media_type=media_type, source_format=source, digest=None)
    insp.annotations = _annotations(doc.get("annotations"), insp.warnings)
    if len(manifests) > MAX_ENTRIES:
        insp.warnings.append(f"{len(manifests)} entries in the index: only the first {MAX_ENTRIES} were read")
        manifests = manifests[:MAX_ENTRIES]
    bare_unknown = 0
    for i, entry in enumerate(manifests):
        if not isinstance(entry, dict):
            raise ManifestError(f"manifests[{i}] is a JSON {_type_name(entry)}, not an object")
        bare_unknown += _index_entry(insp, entry, f"manifests[{i}]")
    if bare_unknown:
        # docker/cli rebuilds the list for `docker manifest inspect` and drops annotations, so a
        # BuildKit attestation shows as bare unknown/unknown and the bytes are not the registry's
        insp.warnings.append(
            f"{bare_unknown} unknown/unknown entr{'y' if bare_unknown == 1 else 'ies'} without annotations:"
            " a list rebuilt by `docker manifest inspect`, no digest computed"
        )
        insp.digest_from = "none"
    _finish_index(insp, configs)
    return insp


def _index_entry(insp: ImageInspection, entry: dict[str, Any], where: str) -> int:
    """Add one descriptor to platforms or excluded; returns 1 for a bare unknown/unknown entry."""
    digest, media_type = _str(entry.get("digest")), _str(entry.get("mediaType"))
    annotations = entry.get("annotations")
    ref_type = annotations.get(_REF_TYPE) if isinstance(annotations, dict) else None
    if ref_type in _REF_REASONS:
        insp.excluded.append({"digest": digest, "reason": _REF_REASONS[ref_type]})
        insp.attestations += 1
        return 0
    plat, os_version, reason = _platform_of(entry.get("platform"), insp.warnings, where)
    if plat is None:
        if reason == "no platform" and media_type in _INDEX_TYPES:
            reason = "nested index"
        insp.excluded.append({"digest": digest, "reason": reason})
        if reason == "unknown/unknown":
            insp.attestations += 1
            return 0 if annotations else 1
        if reason != "nested index":
            insp.warnings.append(f"{where}: {reason}, not counted as a platform")
        return 0
    if digest is None:
        insp.warnings.append(f"{where}: descriptor has no digest")
    level = plat.variant if plat.arch == "amd64" and plat.variant in _LEVEL_VARIANTS else None
    insp.platforms.append(
        PlatformEntry(
            plat,
            digest,
            media_type,
            os_version,
            amd64_level=level,
            amd64_level_from=f"index entry {plat}" if level else None,
        )
    )
    return 0


def _finish_index(insp: ImageInspection, configs: Any) -> None:
    seen: dict[tuple[Platform, str | None], int] = {}
    for e in insp.platforms:
        seen[(e.platform, e.os_version)] = seen.get((e.platform, e.os_version), 0) + 1
    for (plat, _), n in seen.items():
        if n > 1:
            insp.warnings.append(f"duplicate platform {plat} ({n} entries): runtimes take the first")
    if configs:
        _attach_configs(insp, configs)


def _digest_key(key: Any) -> str:
    text = str(key).strip().lower()
    for prefix in ("sha256:", "sha256-", "sha256_"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _attach_configs(insp: ImageInspection, configs: Any) -> None:
    """Give each platform entry the `created` of its config; flag configs that disagree."""
    if not isinstance(configs, dict):
        insp.warnings.append("configs ignored: not a mapping of digest to bytes")
        return
    by_digest = {_digest_key(e.digest): i for i, e in enumerate(insp.platforms) if e.digest}
    by_platform: dict[Platform, list[int]] = {}
    for i, e in enumerate(insp.platforms):
        by_platform.setdefault(e.platform, []).append(i)
    items = list(configs.items())
    if len(items) > MAX_ENTRIES:
        insp.warnings.append(f"{len(items)} configs: only the first {MAX_ENTRIES} were read")
        items = items[:MAX_ENTRIES]
    for key, blob in items:
        try:
            plat, created = parse_config(blob)
        except ManifestError as exc:
            insp.warnings.append(f"config {str(key)[:80]!r} ignored: {exc}")
            continue
        idx = by_digest.get(_digest_key(key))
        if idx is None and plat is not None:
            # keyed by config digest: match by platform when that is unambiguous
            same = by_platform.get(plat, [])
            idx = same[0] if len(same) == 1 else None
        if idx is None:
            insp.warnings.append(f"config {str(key)[:80]!r} matches no platform of the index")
            continue
        entry = insp.platforms[idx]
        if plat is not None and plat != entry.platform:
            insp.warnings.append(f"child {entry.digest} is listed as {entry.platform} but its config says {plat}")
        level, level_from = entry.amd64_level, entry.amd64_level_from
        if level is None:
            level, level_from = amd64_level_of_config(blob)
        insp.platforms[idx] = replace(
            entry, created=created, config_platform=plat, amd64_level=level, amd64_level_from=level_from
        )


# -- single manifests ---------------------------------------------------------------------------


def _manifest(doc: dict[str, Any], config: Any) -> ImageInspection:
    media_type = doc.get("mediaType")
    if media_type is not None and not isinstance(media_type, str):
        raise ManifestError(f"manifest mediaType is a {_type_name(media_type)}, not a string")
    if media_type is None:
        source = "oci-manifest"
    elif media_type in _MANIFEST_TYPES:
        source = _MANIFEST_TYPES[media_type]
    else:
        raise ManifestError(f"document with 'config'/'layers' has unknown mediaType {media_type[:100]!r}")
    layers = doc.get("layers")
    if not isinstance(doc.get("config"), dict) or not isinstance(layers, list):
        raise ManifestError("manifest needs a 'config' object and a 'layers' array")
    insp = ImageInspection(kind="manifest", media_type=media_type, source_format=source, digest=None)
    insp.annotations = _annotations(doc.get("annotations"), insp.warnings)
    layer_types = [_str(layer.get("mediaType")) or "" for layer in layers if isinstance(layer, dict)]
    if any("in-toto" in t for t in layer_types):
        insp.warnings.append("in-toto layers: an attestation manifest, not a runnable image")
    elif layers and not any("tar" in t or "rootfs" in t for t in layer_types):
        insp.warnings.append("no filesystem layers: not a runnable image")
    _apply_config(insp, config)
    _config_as_platform(insp, None, media_type)
    return insp


def _config_as_platform(insp: ImageInspection, digest: str | None, media_type: str | None) -> None:
    if insp.config_arch:
        plat = Platform(insp.config_os or "linux", insp.config_arch, insp.config_variant or "")
        insp.platforms = [PlatformEntry(plat, digest, media_type, created=insp.created)]


def _schema1(doc: dict[str, Any], raw: bytes) -> ImageInspection:
    signed = "signatures" in doc
    insp = ImageInspection(
        kind="manifest",
        media_type=DOCKER_SCHEMA1_SIGNED if signed else DOCKER_SCHEMA1,
        source_format="docker-manifest-schema1",
        digest=None,
    )
    if signed:
        insp.warnings.append("signed schema1: its digest covers the payload without signatures, not computed")
    elif raw:
        insp.digest, insp.digest_from = _sha256(raw), "bytes"
    arch = doc.get("architecture")
    os_ = None
    history = doc.get("history")
    if isinstance(history, list) and history and isinstance(history[0], dict):
        compat = history[0].get("v1Compatibility")
        if isinstance(compat, str):
            try:
                inner = msgspec.json.decode(compat.encode())
            except (msgspec.DecodeError, RecursionError):
                inner = None
            if isinstance(inner, dict):
                os_ = _str(inner.get("os"))
                insp.created = _str(inner.get("created"))
    insp.warnings.append("schema1 manifest: deprecated, current runtimes refuse to pull it")
    if isinstance(arch, str) and arch:
        plat = normalize_platform(os_, arch)
        insp.config_os, insp.config_arch, insp.config_variant = plat.os, plat.arch, plat.variant or None
        _config_as_platform(insp, None, insp.media_type)
    return insp


# -- tool-specific wrappers ---------------------------------------------------------------------


def _verbose_single(doc: dict[str, Any], config: Any) -> ImageInspection:
    """`docker manifest inspect -v` of a single manifest: `{Ref, Descriptor, Raw, SchemaV2Manifest}`."""
    desc = doc.get("Descriptor")
    if not isinstance(desc, dict):
        raise ManifestError(f"'Descriptor' is a JSON {_type_name(desc)}, not an object")
    inner = doc.get("OCIManifest") or doc.get("SchemaV2Manifest")
    media_type = _str(desc.get("mediaType"))
    if media_type is None and isinstance(inner, dict):
        media_type = _str(inner.get("mediaType"))
    source = "docker-manifest-inspect-verbose"
    insp = ImageInspection(kind="manifest", media_type=media_type, source_format=source, digest=None)
    digest = _str(desc.get("digest"))
    if digest:
        insp.digest, insp.digest_from = digest, "tool"
    _check_raw(insp, doc.get("Raw"), digest)
    if isinstance(inner, dict):
        insp.annotations = _annotations(inner.get("annotations"), insp.warnings)
    plat, os_version, reason = _platform_of(desc.get("platform"), insp.warnings, "Descriptor")
    _apply_config(insp, config, plat)
    if plat is not None:
        insp.platforms = [PlatformEntry(plat, digest, media_type, os_version, insp.created)]
    elif reason == "unknown/unknown":
        insp.excluded.append({"digest": digest, "reason": reason})
        insp.attestations += 1
    else:
        _config_as_platform(insp, digest, media_type)
    return insp


def _check_raw(insp: ImageInspection, raw_b64: Any, digest: str | None) -> None:
    """`Raw` is the registry bytes, base64: when present it must hash to the descriptor digest."""
    if not isinstance(raw_b64, str) or not digest or not digest.startswith("sha256:"):
        return
    try:
        raw = base64.b64decode(raw_b64, validate=True)
    except (binascii.Error, ValueError):
        insp.warnings.append("Raw is not valid base64")
        return
    if _sha256(raw) != digest:
        insp.warnings.append(f"Raw bytes hash to {_sha256(raw)}, not the descriptor digest {digest}")


def _verbose_list(doc: list[Any], configs: Any) -> ImageInspection:
    """`docker manifest inspect -v` of a list: a JSON array of `{Ref, Descriptor, ...}` objects."""
    if not doc:
        raise ManifestError("empty JSON array")
    if not all(isinstance(e, dict) and isinstance(e.get("Descriptor"), dict) for e in doc):
        raise ManifestError("JSON array whose elements are not `docker manifest inspect -v` objects")
    child_types = {_str(e["Descriptor"].get("mediaType")) for e in doc}
    media_type = OCI_INDEX if OCI_MANIFEST in child_types else DOCKER_LIST
    insp = ImageInspection(
        kind="index", media_type=media_type, source_format="docker-manifest-inspect-verbose", digest=None
    )
    for i, e in enumerate(doc):
        _index_entry(insp, e["Descriptor"], f"[{i}].Descriptor")
        _check_raw(insp, e.get("Raw"), _str(e["Descriptor"].get("digest")))
    _finish_index(insp, configs)
    return insp


def _buildx_all(doc: dict[str, Any], config: Any, configs: Any) -> ImageInspection:
    """buildx `--format '{{json .}}'`: `{name, manifest, image}`; `image` is a config for a single
    manifest and a map keyed by platform string for an index (buildx util/imagetools/printers.go)."""
    manifest = doc["manifest"]
    if "manifests" in manifest:
        insp = _index(manifest, _with_config(configs, config))
    elif "config" in manifest or "layers" in manifest:
        insp = _manifest(manifest, config)
    else:
        raise ManifestError("buildx 'manifest' is neither an index nor a manifest")
    insp.source_format = "buildx-imagetools-json"
    insp.digest = _str(manifest.get("digest"))
    insp.digest_from = "tool" if insp.digest else None
    image = doc.get("image")
    if not isinstance(image, dict):
        return insp
    if insp.kind == "manifest":
        if config is None:
            plat, created = _config_platform(image)
            _fill_config(insp, plat, created)
            _config_as_platform(insp, None, insp.media_type)
        return insp
    # an index with one runnable platform still gets `image` as a plain config, not a map
    looks_like_config = "architecture" in image or "rootfs" in image
    by_platform: dict[Platform, str | None] = {}
    for cfg in [image] if looks_like_config else image.values():
        if isinstance(cfg, dict):
            plat, created = _config_platform(cfg)
            if plat is not None:
                by_platform[plat] = created
    unmatched = set(by_platform) - {e.platform for e in insp.platforms}
    if unmatched:
        names = ", ".join(sorted(str(p) for p in unmatched))
        insp.warnings.append(f"buildx image config for {names} matches no platform of the index")
    insp.platforms = [replace(e, created=e.created or by_platform.get(e.platform)) for e in insp.platforms]
    return insp


def _skopeo_inspect(doc: dict[str, Any], config: Any) -> ImageInspection:
    """Plain `skopeo inspect`: `Digest` is the top-level (maybe index) digest, while Architecture/Os
    describe only the instance chosen for the machine that ran skopeo."""
    insp = ImageInspection(kind="manifest", media_type=None, source_format="skopeo-inspect", digest=None)
    digest = _str(doc.get("Digest"))
    if digest:
        insp.digest, insp.digest_from = digest, "tool"
    arch, os_, variant = doc.get("Architecture"), doc.get("Os"), doc.get("Variant")
    created = _str(doc.get("Created"))
    if isinstance(arch, str) and arch:
        plat = normalize_platform(
            os_ if isinstance(os_, str) else None, arch, variant if isinstance(variant, str) else None
        )
        _fill_config(insp, plat, created)
        _config_as_platform(insp, None, None)
    else:
        insp.created = created
        insp.warnings.append("skopeo inspect output names no Architecture")
    _apply_config(insp, config)
    insp.warnings.append(
        "skopeo inspect (not --raw) shows only the platform chosen for the host that ran it; the image may serve others"
    )
    return insp
