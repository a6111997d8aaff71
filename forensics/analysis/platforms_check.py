"""Load one image inspection from disk and say which required platforms it cannot serve.

Used by `forensics platforms IMAGE_INSPECTION --require linux/amd64,linux/arm64`. The path is
either a manifest file or a dump's `images/<slug>/` folder; the names inside that folder come from
`forensics.read.layout` (manifest.json, config.json, configs/<digest>.json).

Files are dump content: only regular files are read, each with a size cap, never FIFOs or devices,
and never through a symlink inside the folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from forensics.errors import ManifestError, UnusableInput
from forensics.knowledge.arch import Platform, can_run, normalize_platform
from forensics.knowledge.manifests import ImageInspection, parse_inspection
from forensics.read import layout

_MAX_FILE = 16 * 1024 * 1024
_MAX_CONFIGS = 256


def _read_capped(path: Path, inside: Path | None = None) -> bytes:
    """Read a regular file of at most _MAX_FILE bytes, or raise ManifestError naming it. Inside an image
    folder (`inside`), no symlink is followed, neither the file nor a folder on the way (the rule the
    loader applies to every dump)."""
    try:
        if inside is not None:
            p = inside
            for part in path.relative_to(inside).parts:
                p = p / part
                if p.is_symlink():
                    raise ManifestError(f"{path.name}: a symlink inside the image folder, never followed")
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{path.name}: not a regular file")
        with open(path, "rb", opener=_nofollow) as fh:
            data = fh.read(_MAX_FILE + 1)
    except OSError as exc:
        raise ManifestError(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > _MAX_FILE:
        raise ManifestError(f"{path.name}: larger than {_MAX_FILE} bytes, not a manifest")
    return data


def _nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def _exists(p: Path) -> bool:
    return os.path.lexists(p)


def load_inspection_path(path: Path) -> ImageInspection:
    """Parse a manifest file, or an `images/<slug>/` folder with its config(s).

    Raises UnusableInput when the path is neither a file nor a folder, ManifestError when the
    manifest is missing, unreadable or unrecognisable. A bad config only adds a warning. The files
    inside the folder are named by `forensics.read.layout`, relative to the folder given.
    """
    path = Path(path)
    if path.is_file():
        return parse_inspection(_read_capped(path))
    if not path.is_dir():
        raise UnusableInput(f"{path}: no such manifest file or image folder")
    slug = path.name
    base = layout.image_file(slug, "")

    def inner(what: str) -> Path:
        return path / layout.image_file(slug, what)[len(base) :]

    manifest_path = inner("manifest.json")
    if not _exists(manifest_path):
        raise ManifestError(f"{slug}: image folder has no manifest.json")
    manifest = _read_capped(manifest_path, path)
    notes: list[str] = []
    config: bytes | None = None
    config_path = inner("config.json")
    if _exists(config_path):
        try:
            config = _read_capped(config_path, path)
        except ManifestError as exc:
            notes.append(f"config ignored: {exc}")
    configs: dict[str, bytes] = {}
    configs_dir = inner("configs")
    if configs_dir.is_symlink():
        notes.append("configs ignored: configs is a symlink inside the image folder, never followed")
    elif configs_dir.is_dir():
        for child in sorted(configs_dir.iterdir())[:_MAX_CONFIGS]:
            member = layout.classify(f"{layout.IMAGES}/{slug}/configs/{child.name}")
            if member is None or member.role != layout.ROLE_IMAGE_CHILD_CONFIG:
                continue
            try:
                configs[member.digest] = _read_capped(child, path)
            except ManifestError as exc:
                notes.append(f"config ignored: {exc}")
    insp = parse_inspection(manifest, config=config, configs=configs or None)
    insp.warnings.extend(notes)
    return insp


def check_required(insp: ImageInspection, required: list[Platform]) -> list[Platform]:
    """The required platforms no runnable platform of the image serves, in the order given.

    A required platform is read as a node: linux/arm64 is served by linux/arm64/v8 and linux/arm/v7
    by linux/arm/v6 (`forensics.knowledge.arch.can_run`). A plain `skopeo inspect` only shows the platform
    chosen for the host that ran it (see `insp.warnings`), so a miss there may not be real.
    """
    missing: list[Platform] = []
    for want in required:
        node = normalize_platform(want.os, want.arch, want.variant)
        if not any(can_run(node, entry.platform) for entry in insp.platforms):
            missing.append(want)
    return missing
