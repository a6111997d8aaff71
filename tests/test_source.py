"""The reader against hostile archives and directories: every bad part becomes a load problem, the
rest loads, nothing is written anywhere, and non-dumps are one clear error."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from forensics.errors import UnusableInput
from forensics.read.load import load_dump
from forensics.read.source import Limits, open_source

SNAP = "20260101T000000Z"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx:1.25"}]},
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "app",
                "image": "nginx:1.25",
                "imageID": "docker.io/library/nginx@sha256:" + "a" * 64,
                "restartCount": 0,
                "ready": True,
                "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}},
            }
        ],
    },
}
NODE = {
    "metadata": {"name": "n1", "labels": {"kubernetes.io/arch": "arm64"}},
    "status": {"nodeInfo": {"architecture": "arm64", "containerRuntimeVersion": "containerd://1.7.2"}},
}


def _list(*items: dict) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}).encode()


def _add(tf: tarfile.TarFile, name: str, data: bytes, **kw: object) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    for k, v in kw.items():
        setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data))


def _good_members(tf: tarfile.TarFile, top: str = "dump/") -> None:
    _add(
        tf,
        top + "forensics-dump.yaml",
        b"format: cluster-forensics-dump\nversion: 1\nsnapshots: [%s]\n" % SNAP.encode(),
    )
    _add(tf, f"{top}snapshots/{SNAP}/pods.json", _list(POD))
    _add(tf, f"{top}snapshots/{SNAP}/nodes.json", _list(NODE))


def _tar(path: Path, build, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        build(tf)
    return path


def test_traversal_symlink_hardlink_device(tmp_path: Path) -> None:
    def build(tf: tarfile.TarFile) -> None:
        _good_members(tf)
        _add(tf, "dump/../../evil.txt", b"owned")
        _add(tf, "/etc/evil-abs", b"owned")
        _add(tf, f"dump/snapshots/{SNAP}/events.json", b"", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        _add(tf, f"dump/snapshots/{SNAP}/jobs.json", b"", type=tarfile.LNKTYPE, linkname="/etc/shadow")
        _add(tf, "dump/nodes/n1/binfmt_misc/status", b"", type=tarfile.CHRTYPE)
        _add(tf, "other-top/forensics-dump.yaml", b"format: x")

    arc = _tar(tmp_path / "d.tgz", build)
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    d = load_dump(arc)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (tmp_path / "evil.txt").exists() and not Path("/etc/evil-abs").exists()
    whats = {(p.file, p.what) for p in d.problems}
    assert ("dump/../../evil.txt", "unsafe member skipped") in whats
    assert ("/etc/evil-abs", "unsafe member skipped") in whats
    assert any(w == "link member skipped" and f.endswith("events.json") for f, w in whats)
    assert any(w == "link member skipped" and f.endswith("jobs.json") for f, w in whats)
    assert any(w == "special member skipped" for f, w in whats)
    assert any("outside the dump folder" in w for f, w in whats)
    # the good parts still load
    assert list(d["pods"]["pod"]) == ["web-1"]
    assert list(d["nodes"]["arch"]) == ["arm64"]
    assert d["events"].empty


def test_member_over_cap_and_tar_bomb(tmp_path: Path) -> None:
    big = b"x" * (3 * 1024 * 1024)

    def build(tf: tarfile.TarFile) -> None:
        _good_members(tf)
        _add(tf, f"dump/snapshots/{SNAP}/events.json", big)
        _add(tf, f"dump/snapshots/{SNAP}/logs/default/web-1/app.log", big[:-10] + b"\nexec /a: exec format error\n")

    arc = _tar(tmp_path / "d.tgz", build)
    lim = Limits(member_bytes=1024 * 1024, log_bytes=64 * 1024)
    d = load_dump(arc, source=open_source(arc, lim))
    assert any(p.what == "member too large" and p.file.endswith("events.json") for p in d.problems)
    # an oversized log keeps its tail: the crash line at the end is still seen
    assert any(p.what == "file truncated to its tail" for p in d.problems)
    assert "exec-format-error" in set(d["signatures"]["signature"])
    # total cap: stop reading, say so, keep what was read
    d2 = load_dump(arc, source=open_source(arc, Limits(total_bytes=2000)))
    assert any(p.what == "dump too large" for p in d2.problems)


def test_header_claims_huge_member_then_truncated(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _good_members(tf)
        ti = tarfile.TarInfo(f"dump/snapshots/{SNAP}/events.json")
        ti.size = 50 * 1024**3  # 50 GiB claimed, a few bytes present
        buf.write(ti.tobuf())
    raw = buf.getvalue()[: len(buf.getvalue())] + b"{" * 100
    arc = tmp_path / "d.tgz"
    arc.write_bytes(gzip.compress(raw))
    d = load_dump(arc)
    assert list(d["pods"]["pod"]) == ["web-1"]
    assert any("too large" in p.what or "truncated" in p.what for p in d.problems)


def test_truncated_gzip(tmp_path: Path) -> None:
    arc = _tar(
        tmp_path / "full.tgz",
        lambda tf: (_good_members(tf), _add(tf, f"dump/snapshots/{SNAP}/events.json", os.urandom(200_000))),
    )
    data = arc.read_bytes()
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    d = load_dump(cut)
    assert any(p.what == "archive truncated or corrupt" for p in d.problems)
    assert list(d["pods"]["pod"]) == ["web-1"]


def test_broken_json_yaml_and_invalid_utf8(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    snap = root / "snapshots" / SNAP
    (snap / "logs" / "default" / "web-1").mkdir(parents=True)
    (root / "forensics-dump.yaml").write_text("format: cluster-forensics-dump\nsnapshots: [\n  - : :\n")
    (snap / "pods.json").write_bytes(_list(POD))
    (snap / "nodes.json").write_bytes(b'{"items": [{"metadata": {"name": ')
    (snap / "events.json").write_bytes(b'{"items": "not a list"}')
    (snap / "logs" / "default" / "web-1" / "app.previous.log").write_bytes(
        b"start\n\xff\xfe\xfd garbage\nexec /usr/bin/app: exec format error\n"
    )
    d = load_dump(root)
    what = {(Path(p.file).name, p.what) for p in d.problems}
    assert ("forensics-dump.yaml", "unreadable dump metadata") in what
    assert ("nodes.json", "unreadable object list") in what
    assert ("events.json", "unreadable object list") in what
    assert ("app.previous.log", "invalid UTF-8") in what
    assert list(d["pods"]["pod"]) == ["web-1"]
    sig = d["signatures"]
    assert list(sig["line"]) == [3] and list(sig["signature"]) == ["exec-format-error"]


def test_directory_symlinks_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    snap = root / "snapshots" / SNAP
    snap.mkdir(parents=True)
    (root / "forensics-dump.yaml").write_text("format: cluster-forensics-dump\nversion: 1\n")
    (snap / "pods.json").write_bytes(_list(POD))
    os.symlink("/etc/passwd", snap / "nodes.json")
    os.symlink("/etc", root / "images")
    d = load_dump(root)
    assert {p.what for p in d.problems} == {"symlink skipped"}
    assert d["nodes"].empty and d["images"].empty


def test_html_payload_kept_as_data(tmp_path: Path) -> None:
    pod = json.loads(json.dumps(POD))
    pod["metadata"]["name"] = "<script>alert(1)</script>"
    root = tmp_path / "dump"
    snap = root / "snapshots" / SNAP
    snap.mkdir(parents=True)
    (root / "forensics-dump.yaml").write_text("format: cluster-forensics-dump\nversion: 1\n")
    (snap / "pods.json").write_bytes(_list(pod))
    d = load_dump(root)
    assert list(d["pods"]["pod"]) == ["<script>alert(1)</script>"]


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 600])
def test_not_a_dump_is_unusable(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "thing.bin"
    f.write_bytes(content)
    with pytest.raises(UnusableInput):
        load_dump(f)


def test_archive_without_dump_is_unusable(tmp_path: Path) -> None:
    arc = _tar(tmp_path / "x.tgz", lambda tf: _add(tf, "photos/cat.jpg", b"meow"))
    with pytest.raises(UnusableInput, match="not a cluster-forensics dump"):
        load_dump(arc)


def test_zstd_archive(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        _good_members(tf)
    arc = tmp_path / "d.tar.zst"
    arc.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    d = load_dump(arc)
    assert list(d["pods"]["pod"]) == ["web-1"] and d.problems == []


def test_input_is_never_changed(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parent.parent / "sample_dumps" / "graviton-new-pool.tar.gz"
    before = src.read_bytes()
    load_dump(src)
    assert src.read_bytes() == before


def test_gzip_members_padding_and_garbage(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        _good_members(tf)
    data = raw.getvalue()
    half = len(data) // 2
    multi = gzip.compress(data[:half]) + gzip.compress(data[half:])
    (tmp_path / "padded.tgz").write_bytes(multi + b"\0" * 4096)  # zero padding after the last member: fine
    d = load_dump(tmp_path / "padded.tgz")
    assert list(d["pods"]["pod"]) == ["web-1"] and d.problems == []
    (tmp_path / "garbage.tgz").write_bytes(multi + b"not gzip at all")
    d = load_dump(tmp_path / "garbage.tgz")
    assert list(d["pods"]["pod"]) == ["web-1"]  # the tar ended before the garbage: nothing lost


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_zip_unix_modes_links_and_duplicates(tmp_path: Path) -> None:
    import stat
    import zipfile

    arc = tmp_path / "d.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("dump/forensics-dump.yaml", b"format: cluster-forensics-dump\nversion: 1\n")
        plain = zipfile.ZipInfo(f"dump/snapshots/{SNAP}/pods.json")
        plain.create_system, plain.external_attr = 3, 0o644 << 16  # no file-type bits: a file
        zf.writestr(plain, _list(POD))
        zf.writestr(f"dump/snapshots/{SNAP}/pods.json", _list())  # the same name again: ignored
        link = zipfile.ZipInfo(f"dump/snapshots/{SNAP}/nodes.json")
        link.create_system, link.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, b"/etc/passwd")
    d = load_dump(arc)
    assert list(d["pods"]["pod"]) == ["web-1"]
    what = {(Path(p.file).name, p.what) for p in d.problems}
    assert ("pods.json", "duplicate member skipped") in what
    assert ("nodes.json", "link member skipped") in what


def _three_backends(tmp_path: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """The same dump folder as a directory, a .tar.gz and a .zip, archived in the order the directory
    is walked (a folder's files, then its sub-folders, each sorted)."""
    import zipfile

    def walk_order(name: str) -> list[tuple[int, str]]:
        *folders, file = name.split("/")
        return [(1, f) for f in folders] + [(0, file)]

    files = dict(sorted(files.items(), key=lambda kv: walk_order(kv[0])))
    root = tmp_path / "dir" / "dump"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    with tarfile.open(tmp_path / "d.tar.gz", "w:gz") as tf:
        for name, data in files.items():
            _add(tf, "dump/" + name, data)
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for name, data in files.items():
            zf.writestr("dump/" + name, data)
    return {"directory": root, "tar": tmp_path / "d.tar.gz", "zip": tmp_path / "d.zip"}


@pytest.mark.parametrize(
    "limits,what",
    [
        (Limits(members=3), "too many members"),
        (Limits(log_files=1), "too many logs"),
        (Limits(small_bytes=100), "member too large"),
        (Limits(total_bytes=300), "dump too large"),
        (Limits(log_bytes=10), "file truncated to its tail"),
    ],
)
def test_one_limits_policy_for_every_backend(tmp_path: Path, limits: Limits, what: str) -> None:
    """A directory, a tar and a zip of the same dump meet the same caps with the same words and keep
    the same files: the policy is one, only the reading differs."""
    logs = {f"snapshots/{SNAP}/logs/default/web-1/app{i}.log": b"line %d\n" % i * 4 for i in range(3)}
    files = {
        "forensics-dump.yaml": b"format: cluster-forensics-dump\nversion: 1\n",
        f"snapshots/{SNAP}/pods.json": _list(POD),
        **logs,
    }
    kept, said = {}, {}
    for backend, path in _three_backends(tmp_path, files).items():
        src = open_source(path, limits)
        kept[backend] = [
            n for n, _ in src.iter_files(lambda n: limits.log_bytes if n.endswith(".log") else limits.small_bytes)
        ]
        # an archive names an entry past the member count as stored (with its top folder)
        said[backend] = sorted((p.file.removeprefix("dump/"), p.what, p.why) for p in src.problems)
    assert any(w == what for _, w, _ in said["directory"]), said["directory"]
    assert said["tar"] == said["zip"] == said["directory"]
    assert kept["tar"] == kept["zip"] == kept["directory"]
    assert len(kept["directory"]) < len(files) or what == "file truncated to its tail"
