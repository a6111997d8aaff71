"""Smoke test of the benchmark tools: a small synthetic dump is a valid format-v1 tarball, and the
benchmark runs on it and reports every field. No timing is asserted."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import msgspec
import pytest
import yaml

from forensics import layout
from forensics.kube import LIST_TYPES

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def small_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "dump-1500.tar.gz"
    subprocess.run([sys.executable, str(BENCH / "gen_dump.py"), "--pods", "1500", "--nodes", "50",
                    "--seed", "7", "--out", str(out)], check=True, capture_output=True, timeout=120)
    return out


def _members(path: Path) -> dict[str, bytes]:
    """Root-relative name -> bytes, checking there is exactly one top folder."""
    out: dict[str, bytes] = {}
    tops = set()
    with tarfile.open(path, mode="r:gz") as tar:
        for m in tar:
            assert m.isfile(), m.name
            top, _, rel = m.name.partition("/")
            tops.add(top)
            f = tar.extractfile(m)
            assert f is not None
            out[rel] = f.read()
    assert len(tops) == 1
    return out


def test_small_dump_is_a_valid_v1_dump(small_dump: Path) -> None:
    files = _members(small_dump)
    assert all(layout.classify(name) is not None for name in files), \
        [n for n in files if layout.classify(n) is None][:5]
    meta = yaml.safe_load(files[layout.META])
    assert meta["format"] == layout.FORMAT_NAME and meta["version"] == layout.FORMAT_VERSION
    (snap,) = meta["snapshots"]

    pods = msgspec.json.decode(files[layout.objects_file(snap, "pods")], type=LIST_TYPES["pods"]).items
    assert len(pods) == 1500
    nodes = msgspec.json.decode(files[layout.objects_file(snap, "nodes")])["items"]
    assert len(nodes) == 50
    assert {n["status"]["nodeInfo"]["architecture"] for n in nodes} == {"amd64", "arm64"}
    for kind in layout.KINDS:
        msgspec.json.decode(files[layout.objects_file(snap, kind)], type=LIST_TYPES[kind])

    raw_pods = msgspec.json.decode(files[layout.objects_file(snap, "pods")])["items"]
    statuses = [s for p in raw_pods for s in p["status"]["containerStatuses"]]
    restarting = [(p, s) for p in raw_pods for s in p["status"]["containerStatuses"] if s["restartCount"] > 0]
    assert 0.03 <= len(restarting) / len(statuses) <= 0.08
    assert all("managedFields" in p["metadata"] and p["metadata"]["ownerReferences"] for p in raw_pods)

    # every restarting container has a current and a previous log; some are exec format errors
    arch_of = {n["metadata"]["name"]: n["status"]["nodeInfo"]["architecture"] for n in nodes}
    exec_errors = 0
    for p, s in restarting:
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        previous = files[layout.log_file(snap, ns, name, s["name"], previous=True)]
        assert files[layout.log_file(snap, ns, name, s["name"])]
        if b"exec format error" in previous:
            exec_errors += 1
            assert previous.startswith(b"exec /") and arch_of[p["spec"]["nodeName"]] == "arm64"
    assert exec_errors >= 1

    # images referenced by pods are inspected: the imageID digest is the stored manifest's sha256
    refs = {}
    for name, data in files.items():
        if name.endswith("/ref.txt"):
            refs[data.decode().strip()] = name[: -len("ref.txt")]
    kinds = set()
    for s in statuses:
        folder = refs[s["image"]]
        manifest = files[folder + "manifest.json"]
        assert s["imageID"].endswith("@sha256:" + hashlib.sha256(manifest).hexdigest())
        kinds.add(msgspec.json.decode(manifest)["mediaType"])
    assert "application/vnd.oci.image.index.v1+json" in kinds
    assert "application/vnd.oci.image.manifest.v1+json" in kinds or \
        "application/vnd.docker.distribution.manifest.v2+json" in kinds


def test_generator_is_deterministic(small_dump: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.tar.gz"
    subprocess.run([sys.executable, str(BENCH / "gen_dump.py"), "--pods", "1500", "--nodes", "50",
                    "--seed", "7", "--out", str(again)], check=True, capture_output=True, timeout=120)
    assert again.read_bytes() == small_dump.read_bytes()


def test_benchmark_reports_every_field(small_dump: Path) -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), str(small_dump), "--also", str(small_dump)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    r = summary["dump"]
    assert "errors" not in r, r["errors"]
    assert r["pods"] == 1500
    assert r["compressed_bytes"] == small_dump.stat().st_size
    assert r["uncompressed_bytes"] > r["compressed_bytes"]
    for key in ("floor_seconds", "load_seconds", "load_over_floor", "floor_peak_rss_bytes", "load_peak_rss_bytes"):
        assert r[key] > 0, key
    assert r["frames"]["pods"] == 1500
    assert summary["pods_ratio"] == 1.0 and summary["time_ratio"] > 0
    assert set(summary["checks"]) == {"load_over_floor", "peak_rss", "linear"}
    assert isinstance(summary["ok"], bool)
    assert "load/floor" in proc.stdout
