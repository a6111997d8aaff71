"""Scalar values as the dump spells them, parsed one way everywhere.

- **Missing values.** A frame cell can be `None`, `pd.NA`, `NaN` or `NaT`; `is_missing` says whether
  it is one of them, `opt_str` turns a cell into `str | None`.
- **Times.** Kubernetes writes RFC 3339 (`2024-05-01T10:00:00Z`, sometimes with fractions);
  `iso_seconds` reads the seconds of such a string as UTC, `iso_z` writes a timestamp back in the
  same shape, `stamp_time` (`snapshot_time` as a pandas timestamp) reads the compact `20240501T100000Z` of
  snapshot names.
- **Image references.** `ImageRef.parse` splits `[registry/]repository[:tag][@digest]` the way
  the container runtimes resolve it (docker.io and `library/` for a bare name, `latest` for no tag
  and no digest; https://github.com/distribution/reference/blob/main/normalize.go). `image_key`,
  `registry_of` and `digest_of` are the three questions the analysis asks of a reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = [
    "ImageRef",
    "digest_of",
    "image_key",
    "is_missing",
    "iso_seconds",
    "iso_z",
    "opt_str",
    "registry_of",
    "snapshot_time",
    "stamp_time",
]


# --- missing values ---------------------------------------------------------------------------


def is_missing(v: Any) -> bool:
    """None, pd.NA, NaN or NaT. Lists and dicts are values, never missing."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, (str, list, dict, tuple, set, bytes)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def opt_str(v: Any) -> str | None:
    """A frame cell as text; a missing cell is None."""
    return None if is_missing(v) else str(v)


# --- times ------------------------------------------------------------------------------------


def iso_seconds(text: str) -> datetime | None:
    """The UTC second of an RFC 3339 time (fractions and the zone letter dropped); None when the first
    19 characters are no `YYYY-MM-DDTHH:MM:SS`."""
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def iso_z(v: Any) -> str | None:
    """A timestamp cell as `...Z` ISO text (fractions kept); a missing cell is None."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return pd.Timestamp(v).isoformat().replace("+00:00", "Z")


def stamp_time(name: str) -> datetime | None:
    """The time of a compact stamp like a snapshot's name (`20240501T100000Z`); None when it is none."""
    try:
        return datetime.strptime(name, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def snapshot_time(name: str) -> pd.Timestamp | None:
    """`stamp_time` as a pandas timestamp, the type of the frames' `observed_at`."""
    t = stamp_time(name)
    return None if t is None else pd.Timestamp(t)


# --- image references -------------------------------------------------------------------------

_PULL_PREFIXES = ("docker-pullable://", "docker://")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image reference, split. `registry` is None when the reference names none (docker.io);
    `tag` is None when there is no `:tag` (an empty one, `name:`, is kept as written)."""

    registry: str | None
    path: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        r = ref.strip()
        for p in _PULL_PREFIXES:
            r = r.removeprefix(p)
        name, at, digest = r.partition("@")
        first, slash, rest = name.partition("/")
        has_registry = bool(slash) and ("." in first or ":" in first or first == "localhost")
        registry, path = (first, rest) if has_registry else (None, name)
        repo, colon, tag = path.rpartition(":")
        if not colon or "/" in tag:
            return cls(registry, path, None, digest if at else None)
        return cls(registry, repo, tag, digest if at else None)

    @property
    def host(self) -> str:
        """The registry host the runtime pulls from."""
        return self.registry or "docker.io"

    def key(self) -> str:
        """The reference as the runtime resolves it: `docker.io/library/`, `:latest`, digest kept."""
        if self.registry is None:
            name = ("docker.io/library/" + self.path) if "/" not in self.path else ("docker.io/" + self.path)
        elif self.registry == "index.docker.io":
            name = "docker.io/" + self.path
        else:
            name = self.registry + "/" + self.path
        if self.tag is not None:
            name += ":" + self.tag
        elif self.digest is None:
            name += ":latest"
        return name + ("@" + self.digest if self.digest is not None else "")


def image_key(ref: str | None) -> str:
    """Normalize an image reference the way the runtime resolves it: docker.io/library/, :latest."""
    return ImageRef.parse(ref).key() if ref else ""


def registry_of(image: str) -> str:
    """The registry host of an image reference (docker.io when it names none)."""
    return ImageRef.parse(image).host


def digest_of(image_id: str | None) -> str | None:
    """The manifest (or index) digest in an imageID, in containerd or docker-pullable form.

    `repo@sha256:...` (containerd, CRI-O, docker-pullable://) is a *repository* digest: on containerd
    the index's, not the platform manifest's. A bare `sha256:...` or `docker://sha256:...` is the
    local image (config) id, not comparable to registry digests, so it yields None.
    """
    if not image_id or "@" not in image_id:
        return None
    d = image_id.rsplit("@", 1)[1]
    return d if d.startswith("sha") else None
