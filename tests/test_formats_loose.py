"""Loose hand-gathered files, format detection, `images=`, and the one-line error for unknown layouts."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from forensics.analysis.analyze import analyze
from forensics.errors import UnusableInput
from forensics.read import layout
from forensics.read.formats import LOOKED_FOR, decide, detect, load_any
from forensics.read.formats.loose import FORMAT
from forensics.read.load import load_dump
from forensics.values import image_key
from tests.dump_builder import tiny_dump
from tests.foreign_dumps import REPO, SAMPLES, assert_same_findings, latest_snapshot, read_objects

STORY = SAMPLES / "index-without-arm64"


def _kinded(items: list[dict], kind: str, api: str) -> list[dict]:
    return [{**it, "kind": kind, "apiVersion": api} for it in items]


def write_loose(v1: Path, out: Path) -> dict[str, str]:
    """What an engineer gathers by hand: mixed shapes and formats, raw manifests, one stray file.

    Returns {manifest file: image ref} for the manifests tied to a pod only by their digest.
    """
    objs = read_objects(v1, latest_snapshot(v1))
    out.mkdir(parents=True)
    (out / "nodes.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": _kinded(objs["nodes"], "Node", "v1")}
        )
    )
    (out / "pods.json").write_text(
        json.dumps(
            {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": _kinded(objs["pods"], "Pod", "v1")},
            indent=4,
        )
    )
    mixed = (
        _kinded(objs["deployments"], "Deployment", "apps/v1")
        + _kinded(objs["replicasets"], "ReplicaSet", "apps/v1")
        + _kinded(objs["daemonsets"], "DaemonSet", "apps/v1")
    )
    (out / "workloads.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": mixed}))
    (out / "events.yaml").write_text(yaml.safe_dump_all(_kinded(objs["events"], "Event", "v1")))
    (out / "notes.yaml").write_text("todo: ask the customer for the node pool names\n")
    by_digest: dict[str, str] = {}
    for pod in objs["pods"]:
        for st in pod.get("status", {}).get("containerStatuses", []):
            if "@" in st.get("imageID", ""):
                by_digest.setdefault(st["imageID"].rsplit("@", 1)[1], st["image"])
    tied: dict[str, str] = {}
    (out / "manifests").mkdir()
    for i, folder in enumerate(sorted((v1 / layout.IMAGES).iterdir())):
        raw = (folder / "manifest.json").read_bytes()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if i == 0:  # gathered with its reference beside it, v1 style
            (out / "by-ref").mkdir()
            (out / "by-ref" / "manifest.json").write_bytes(raw)
            (out / "by-ref" / "ref.txt").write_bytes((folder / "ref.txt").read_bytes())
        elif digest in by_digest:
            name = f"manifests/m{i}.json"
            (out / name).write_bytes(raw)
            tied[name] = by_digest[digest]
    return tied


def test_loose_folder_loads_by_content_and_ties_manifests_by_digest(tmp_path: Path) -> None:
    tied = write_loose(STORY, tmp_path / "loose")
    assert tied
    d = load_any(tmp_path / "loose")
    assert d.format == FORMAT
    native = load_dump(STORY)
    for frame in ("nodes", "pods", "containers", "workloads", "events"):
        assert len(d[frame]) == len(native[frame][native[frame]["snapshot"] == native.snapshots[-1]]), frame
    images = d["images"].set_index("file")
    for name, ref in tied.items():
        assert images.loc[name, "image_key"] == image_key(ref)
        assert bool(images.loc[name, "inspected"])
    assert (
        images.loc["by-ref/manifest.json", "image"]
        == (min((STORY / layout.IMAGES).iterdir()) / "ref.txt").read_text().strip()
    )
    assert [p.file for p in d.problems if p.what == "file not recognised"] == ["notes.yaml"]
    assert d.meta["collected_at_derived"] is True
    native_doc = analyze(native)
    foreign_doc = analyze(d)
    assert any(f["cause"] == "arch.index-missing-platform" for f in foreign_doc["findings"])
    assert_same_findings(native_doc, foreign_doc)


def test_single_kubectl_output_file(tmp_path: Path) -> None:
    v1 = tiny_dump(tmp_path / "v1")
    f = tmp_path / "pods-from-kubectl.json"
    f.write_bytes((v1 / layout.objects_file("20261122T050000Z", "pods")).read_bytes())
    found = detect(f)
    assert found.format == FORMAT and found.single_file
    d = load_any(f)
    assert sorted(d["pods"]["pod"]) == ["agent-x1", "api-7d9f-abcde", "db-0"]
    assert set(d["containers"]["file"]) == {"pods-from-kubectl.json"}


def test_unquoted_yaml_timestamps_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: n\n  creationTimestamp: 2024-01-02T03:04:05Z\n"
        "spec:\n  containers:\n  - name: c\n    image: busybox\n"
    )
    d = load_any(tmp_path)
    assert d["pods"]["created"].iloc[0].isoformat() == "2024-01-02T03:04:05+00:00"


@pytest.mark.parametrize(
    "content",
    [
        {"README.txt": b"hello", "data.bin": b"\x00\x01"},
        {"notes.yaml": b"todo: nothing here\n"},
        {"sub/config.ini": b"[x]\n"},
    ],
)
def test_unknown_layout_is_one_clear_error(tmp_path: Path, content: dict[str, bytes]) -> None:
    for name, data in content.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with pytest.raises(UnusableInput) as e:
        load_any(tmp_path)
    assert LOOKED_FOR in str(e.value) and "\n" not in str(e.value)


def test_unknown_layout_exits_2_at_the_cli(tmp_path: Path) -> None:
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "x.txt").write_text("nothing")
    (tmp_path / "plain.txt").write_text("just some text\n")
    for target in (tmp_path / "odd", tmp_path / "plain.txt"):
        proc = subprocess.run(
            [sys.executable, "-m", "forensics", "analyze", str(target), "--format", "json"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "cluster-resources/" in lines[0] and "must-gather" in lines[0]


def test_v1_is_decided_from_the_first_names() -> None:
    consumed = 0

    def names() -> Iterator[str]:
        nonlocal consumed
        for n in itertools.chain(
            ["dump/forensics-dump.yaml", "dump/snapshots/20240101T000000Z/pods.json"],
            (f"dump/x/{i}" for i in itertools.count()),
        ):
            consumed += 1
            yield n

    found = decide(names())
    assert found is not None and found.format == "cluster-forensics-dump/1" and found.prefix == "dump/"
    assert consumed == 1


def test_precedence_and_prefixes() -> None:
    assert decide(iter(["b/support-bundle-x/cluster-resources/nodes.json"])).prefix == "b/support-bundle-x/"
    mg = decide(iter(["mg/img/namespaces/ns/core/pods.yaml", "mg/timestamp"]))
    assert (mg.format, mg.prefix) == ("must-gather", "mg/img/")
    ci = decide(iter(["d/nodes.json", "d/ns/pod-1/logs.txt"]))
    assert (ci.format, ci.prefix) == ("kubectl-cluster-info-dump", "d/")
    # a nodes.json alone is a kubectl output, not a cluster-info dump
    assert decide(iter(["nodes.json", "pods.json"])).format == FORMAT


def test_v1_archive_with_images_from_elsewhere(tmp_path: Path) -> None:
    archive = SAMPLES / "graviton-new-pool.tar.gz"
    plain = load_any(archive)
    assert plain.format == "cluster-forensics-dump/1"
    v1 = tiny_dump(tmp_path / "v1")
    before = load_any(v1)
    assert before["images"].empty
    with_images = load_any(v1, images=SAMPLES / "graviton-new-pool")
    slugs = {p.name for p in (SAMPLES / "graviton-new-pool" / layout.IMAGES).iterdir()}
    assert set(with_images["images"]["slug"]) == slugs
    assert with_images["images"]["inspected"].all()
    # an archive of an images/ folder works too, for a foreign format as well
    tarball = tmp_path / "images.tar.gz"
    with tarfile.open(tarball, "w:gz") as tf:
        tf.add(SAMPLES / "graviton-new-pool" / layout.IMAGES, arcname="images")
    f = tmp_path / "pods.json"
    f.write_bytes((v1 / layout.objects_file("20261122T050000Z", "pods")).read_bytes())
    assert set(load_any(f, images=tarball)["images"]["slug"]) == slugs
