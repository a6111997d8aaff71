""".zip dumps: read like a tar, under the same rules (no `..`, no absolute paths, no links, caps), and
a zip bomb costs bounded time."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from tests.hostile.harness import (
    SNAP,
    analyze,
    assert_bounded,
    assert_problem,
    assert_rest_analyzed,
    sample_files,
)

pytestmark = pytest.mark.hostile


def _zip(path: Path, members: list[tuple[str, bytes]], extra: list[zipfile.ZipInfo] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for info, data in extra or []:
            zf.writestr(info, data)
    return path


def test_zip_dump_reads_like_the_tar(tmp_path: Path) -> None:
    run = analyze(_zip(tmp_path / "dump.zip", sample_files()), tmp_path)
    assert_bounded(run)
    assert run.doc()["load_problems"] == []
    assert_rest_analyzed(run.doc())


def test_zip_with_unsafe_members_and_a_bomb(tmp_path: Path) -> None:
    link = zipfile.ZipInfo(f"dump/snapshots/{SNAP}/logs/payments/p/link.log")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    unsafe = [
        (zipfile.ZipInfo(f"dump/../../snapshots/{SNAP}/logs/payments/p/up.log"), b"x"),
        (zipfile.ZipInfo(f"/snapshots/{SNAP}/logs/payments/p/abs.log"), b"x"),
        (link, b"/etc/passwd"),
    ]
    arc = tmp_path / "evil.zip"
    _zip(arc, sample_files(), unsafe)
    with (
        zipfile.ZipFile(arc, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open(f"dump/snapshots/{SNAP}/logs/payments/p/zeros.log", "w", force_zip64=True) as w,
    ):
        chunk = b"\0" * (16 << 20)
        for _ in range(48):  # 768 MiB of zeros in under a MB
            w.write(chunk)
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unsafe member skipped", "up.log", "..")
    assert_problem(doc, "unsafe member skipped", "abs.log", "absolute")
    assert_problem(doc, "link member skipped", "link.log")
    assert_problem(doc, "file truncated to its tail", "zeros.log")
    assert_rest_analyzed(doc)
