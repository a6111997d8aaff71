"""Naming a dump, or one snapshot of it, on the command line: `PATH[@SNAPSHOT]`.

`diff`, `serve` and `fleet` take several dumps; a multi-snapshot dump (format v1) can also stand for
several points in time. `PATH@SNAPSHOT` picks one: the snapshot folder name (`20240709T132000Z`),
or an index (`@0` the oldest, `@-1` the newest, `@first`/`@last`). A path that exists as written
is always a path, even if it holds an `@`.

    parse_spec("dump.tgz@0") -> DumpSpec(path=Path("dump.tgz"), snapshot="0")
    load_spec(spec) -> Dump restricted to that snapshot (or the whole dump when none is named)
    at_snapshot(dump, name) -> the same Dump seen at one snapshot
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from forensics.errors import UnusableInput
from forensics.read.load import Dump

__all__ = ["DumpSpec", "at_snapshot", "load_spec", "parse_spec", "pick_snapshot"]


@dataclass(frozen=True)
class DumpSpec:
    """A dump path and, optionally, which of its snapshots is meant."""

    path: Path
    snapshot: str | None = None

    def __str__(self) -> str:
        return f"{self.path}@{self.snapshot}" if self.snapshot is not None else str(self.path)


def parse_spec(text: str) -> DumpSpec:
    """`PATH` or `PATH@SNAPSHOT`; an existing path wins over the split."""
    if Path(text).exists() or "@" not in text:
        return DumpSpec(Path(text))
    path, _, snap = text.rpartition("@")
    return DumpSpec(Path(path), snap or None)


def pick_snapshot(snapshots: list[str], wanted: str | None, what: str) -> str:
    """The snapshot name `wanted` stands for among `snapshots` (oldest first); the newest when None."""
    if not snapshots:
        raise UnusableInput(f"{what}: the dump holds no snapshot")
    if wanted is None or wanted == "last":
        return snapshots[-1]
    if wanted == "first":
        return snapshots[0]
    if wanted in snapshots:
        return wanted
    try:
        i = int(wanted)
    except ValueError:
        i = None
    if i is not None and -len(snapshots) <= i < len(snapshots):
        return snapshots[i]
    raise UnusableInput(
        f"{what}: no snapshot {wanted!r} (have: {', '.join(snapshots)}; or an index 0..{len(snapshots) - 1})"
    )


def at_snapshot(dump: Dump, snapshot: str) -> Dump:
    """`dump` as it was at one snapshot: every frame with a `snapshot` column keeps that snapshot's rows
    (renumbered as the only one); image and binfmt frames are dump-wide and kept whole."""
    frames = {}
    for name, f in dump.frames.items():
        if "snapshot" in f.columns:
            g = f[f["snapshot"] == snapshot].reset_index(drop=True)
            if "snapshot_index" in g.columns:
                g = g.assign(
                    snapshot_index=g["snapshot_index"]
                    .where(g["snapshot_index"].isna(), 0)
                    .astype(f["snapshot_index"].dtype)
                )
            frames[name] = g
        else:
            frames[name] = f
    meta = dict(dump.meta)
    meta["snapshots"] = [snapshot]
    if len(dump.snapshots) > 1:
        from forensics.values import snapshot_time

        t = snapshot_time(snapshot)
        if t is not None:
            meta["collected_at"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["snapshot_of"] = list(dump.snapshots)
    return replace(dump, meta=meta, snapshots=[snapshot], frames=frames)


def load_spec(spec: DumpSpec, *, images: Path | None = None) -> Dump:
    """Load the dump a spec names (any format `load_any` reads), at its snapshot when one is named."""
    from forensics.read.formats import load_any

    dump = load_any(spec.path, images=images)
    if spec.snapshot is None:
        return dump
    return at_snapshot(dump, pick_snapshot(dump.snapshots, spec.snapshot, str(spec.path)))
