"""Load one image inspection from disk and say which required platforms it cannot serve.

Used by `forensics platforms IMAGE_INSPECTION --require linux/amd64,linux/arm64`. The path is
either a manifest file or a dump's `images/<slug>/` folder; the names inside that folder come from
`forensics.layout` (manifest.json, config.json, configs/<digest>.json).

Files are dump content: only regular files are read, each with a size cap, never FIFOs or devices.
"""

from __future__ import annotations

from pathlib import Path

from forensics import layout
from forensics.arch import Platform, can_run, normalize_platform
from forensics.errors import ManifestError, UnusableInput
from forensics.manifests import ImageInspection, parse_inspection

_MAX_FILE = 16 * 1024 * 1024
_MAX_CONFIGS = 256


def _read_capped(path: Path) -> bytes:
    """Read a regular file of at most _MAX_FILE bytes, or raise ManifestError naming it."""
    try:
        if not path.is_file():
            raise ManifestError(f"{path.name}: not a regular file")
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE + 1)
    except OSError as exc:
        raise ManifestError(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > _MAX_FILE:
        raise ManifestError(f"{path.name}: larger than {_MAX_FILE} bytes, not a manifest")
    return data


def load_inspection_path(path: Path) -> ImageInspection:
    """Parse a manifest file, or an `images/<slug>/` folder with its config(s).

    Raises UnusableInput when the path is neither a file nor a folder, ManifestError when the
    manifest is missing, unreadable or unrecognisable. A bad config only adds a warning.
    """
    path = Path(path)
    if path.is_file():
        return parse_inspection(_read_capped(path))
    if not path.is_dir():
        raise UnusableInput(f"{path}: no such manifest file or image folder")
    root, slug = path.parent.parent, path.name
    manifest_path = root / layout.image_file(slug, "manifest.json")
    if not manifest_path.exists():
        raise ManifestError(f"{slug}: image folder has no manifest.json")
    manifest = _read_capped(manifest_path)
    notes: list[str] = []
    config: bytes | None = None
    config_path = root / layout.image_file(slug, "config.json")
    if config_path.exists():
        try:
            config = _read_capped(config_path)
        except ManifestError as exc:
            notes.append(f"config ignored: {exc}")
    configs: dict[str, bytes] = {}
    configs_dir = root / layout.image_file(slug, "configs")
    if configs_dir.is_dir():
        for child in sorted(configs_dir.iterdir())[:_MAX_CONFIGS]:
            member = layout.classify(f"{layout.IMAGES}/{slug}/configs/{child.name}")
            if member is None or member.role != layout.ROLE_IMAGE_CHILD_CONFIG:
                continue
            try:
                configs[member.digest] = _read_capped(child)
            except ManifestError as exc:
                notes.append(f"config ignored: {exc}")
    insp = parse_inspection(manifest, config=config, configs=configs or None)
    insp.warnings.extend(notes)
    return insp


def check_required(insp: ImageInspection, required: list[Platform]) -> list[Platform]:
    """The required platforms no runnable platform of the image serves, in the order given.

    A required platform is read as a node: linux/arm64 is served by linux/arm64/v8 and linux/arm/v7
    by linux/arm/v6 (`forensics.arch.can_run`). A plain `skopeo inspect` only shows the platform
    chosen for the host that ran it (see `insp.warnings`), so a miss there may not be real.
    """
    missing: list[Platform] = []
    for want in required:
        node = normalize_platform(want.os, want.arch, want.variant)
        if not any(can_run(node, entry.platform) for entry in insp.platforms):
            missing.append(want)
    return missing
