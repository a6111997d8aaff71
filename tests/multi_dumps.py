"""Builders for the many-dumps tests (diff, fleet, serve of several dumps), made from the sample stories
at test time.

- `split_snapshot(v1, snap, out)`: one snapshot of a v1 dump as a dump of its own, as if the collector
  had run once at that time: `forensics-dump.yaml` names that snapshot and its time, and `images/`
  holds only the references that snapshot's pods use (a collector inspects what runs).
- `tarball(dir, out)`: a `.tar.gz` with one top folder.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import yaml

from forensics.read import layout

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_dumps"
STORIES = sorted(p.name for p in SAMPLES.iterdir() if (p / "expected.yaml").is_file())


def _pod_images(snapshot_dir: Path) -> set[str]:
    doc = json.loads((snapshot_dir / "pods.json").read_text(encoding="utf-8", errors="replace"))
    refs: set[str] = set()
    for pod in doc.get("items") or []:
        spec = pod.get("spec") or {}
        for key in ("initContainers", "containers"):
            refs |= {c.get("image") for c in spec.get(key) or [] if c.get("image")}
    return refs


def split_snapshot(v1: Path, snap: str, out: Path) -> Path:
    """One snapshot of `v1` as a dump of its own under `out`."""
    out.mkdir(parents=True)
    meta: dict[str, Any] = yaml.safe_load((v1 / layout.META).read_text(encoding="utf-8"))
    meta["snapshots"] = [snap]
    meta["collected_at"] = f"{snap[:4]}-{snap[4:6]}-{snap[6:8]}T{snap[9:11]}:{snap[11:13]}:{snap[13:15]}Z"
    meta["commands"] = [c for c in meta.get("commands") or [] if snap in str(c.get("output", ""))]
    meta.pop("files", None)
    (out / layout.META).write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    shutil.copytree(v1 / layout.SNAPSHOTS / snap, out / layout.SNAPSHOTS / snap)
    used = _pod_images(v1 / layout.SNAPSHOTS / snap)
    for d in sorted((v1 / layout.IMAGES).iterdir()) if (v1 / layout.IMAGES).is_dir() else []:
        ref = (d / "ref.txt").read_text(encoding="utf-8").strip() if (d / "ref.txt").is_file() else None
        if ref in used:
            shutil.copytree(d, out / layout.IMAGES / d.name)
    return out


def tarball(src: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(src, arcname=src.name)
    return out


def copy_story(story: str, out: Path) -> Path:
    shutil.copytree(SAMPLES / story, out, ignore=shutil.ignore_patterns("README.md", "expected.yaml"))
    return out


def snapshots_of(v1: Path) -> list[str]:
    return sorted(p.name for p in (v1 / layout.SNAPSHOTS).iterdir() if layout.SNAPSHOT_RE.match(p.name))
