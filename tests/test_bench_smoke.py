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

from forensics.read import layout
from forensics.read.kube import LIST_TYPES

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def small_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "dump-1500.tar.gz"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "gen_dump.py"),
            "--pods",
            "1500",
            "--nodes",
            "50",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
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
    assert all(layout.classify(name) is not None for name in files), [n for n in files if layout.classify(n) is None][
        :5
    ]
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
    pull_failures = [
        (p, s)
        for p in raw_pods
        for s in p["status"]["containerStatuses"]
        if s["state"].get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")
    ]
    assert exec_errors + len(pull_failures) >= 1

    # images referenced by pods are inspected: the imageID digest is the stored manifest's sha256
    refs = {}
    for name, data in files.items():
        if name.endswith("/ref.txt"):
            refs[data.decode().strip()] = name[: -len("ref.txt")]
    kinds = set()
    for s in statuses:
        if not s["imageID"]:  # never pulled
            continue
        folder = refs[s["image"]]
        manifest = files[folder + "manifest.json"]
        assert s["imageID"].endswith("@sha256:" + hashlib.sha256(manifest).hexdigest())
        kinds.add(msgspec.json.decode(manifest)["mediaType"])
    assert "application/vnd.oci.image.index.v1+json" in kinds
    index_types = {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }

    def media_type(ref: str) -> str:
        return str(msgspec.json.decode(files[refs[ref] + "manifest.json"])["mediaType"])

    # realism: a foreign-arch container of an index image fails at pull time (nothing runs, no log);
    # only a bare single-platform manifest gets as far as `exec format error`
    for p, s in pull_failures:
        assert media_type(s["image"]) in index_types and s["restartCount"] == 0
        assert layout.log_file(snap, p["metadata"]["namespace"], p["metadata"]["name"], s["name"]) not in files
    for p, s in restarting:
        previous = files[
            layout.log_file(snap, p["metadata"]["namespace"], p["metadata"]["name"], s["name"], previous=True)
        ]
        if b"exec format error" in previous:
            assert media_type(s["image"]) not in index_types
    assert (
        "application/vnd.oci.image.manifest.v1+json" in kinds
        or "application/vnd.docker.distribution.manifest.v2+json" in kinds
    )


def test_truth_names_what_was_planted(small_dump: Path) -> None:
    """The truth file lists each failing workload once, with causes the pods really show."""
    truth = json.loads(Path(str(small_dump) + ".truth.json").read_text())
    files = _members(small_dump)
    (snap,) = yaml.safe_load(files[layout.META])["snapshots"]
    raw_pods = msgspec.json.decode(files[layout.objects_file(snap, "pods")])["items"]
    reasons: dict[str, set[str]] = {}
    for p in raw_pods:
        for s in p["status"]["containerStatuses"]:
            term = s["lastState"].get("terminated", {}).get("reason")
            wait = s["state"].get("waiting", {}).get("reason")
            if term or wait:
                reasons.setdefault(p["metadata"]["namespace"], set()).update({term, wait} - {None})
    keys = [(w["kind"], w["namespace"], w["name"]) for w in truth["workloads"]]
    assert len(keys) == len(set(keys)) > 0
    seen = set()
    for w in truth["workloads"]:
        assert w["expected_primary"] in w["planted"] and set(w["planted"]) <= set(w["acceptable"])
        seen.update(w["planted"])
        if "oom-killed" in w["planted"]:
            assert "OOMKilled" in reasons[w["namespace"]]
        if "arch.index-missing-platform" in w["planted"]:
            assert reasons[w["namespace"]] & {"ErrImagePull", "ImagePullBackOff"}
    assert {"app-crash", "oom-killed"} <= seen


def test_generator_is_deterministic(small_dump: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.tar.gz"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "gen_dump.py"),
            "--pods",
            "1500",
            "--nodes",
            "50",
            "--seed",
            "7",
            "--out",
            str(again),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert again.read_bytes() == small_dump.read_bytes()


def test_benchmark_reports_every_field(small_dump: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), str(small_dump), "--also", str(small_dump), "--runs", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    r = summary["dump"]
    assert "errors" not in r, r["errors"]
    assert r["pods"] == 1500
    assert r["compressed_bytes"] == small_dump.stat().st_size
    assert r["uncompressed_bytes"] > r["compressed_bytes"]
    for key in (
        "floor_seconds",
        "floor_1core_seconds",
        "floor_2core_seconds",
        "load_seconds",
        "load_over_floor",
        "floor_peak_rss_bytes",
        "load_peak_rss_bytes",
        "analyze_over_floor",
        "html_over_json",
    ):
        assert r[key] > 0, key
    assert r["floor_seconds"] == min(r["floor_1core_seconds"], r["floor_2core_seconds"])
    # every measurement ran twice; the figures judged are medians, printed with their range
    for name in ("floor_1core", "floor_2core", "load", "analyze_json", "analyze_html"):
        sp = r["spread"][name]
        assert sp["runs"] == 2 and sp["min"] <= sp["median"] <= sp["max"], name
    assert r["floor_1core_seconds"] == r["spread"]["floor_1core"]["median"]
    assert r["load_seconds"] == r["spread"]["load"]["median"]
    assert r["analyze_json"]["seconds"] == r["spread"]["analyze_json"]["median"]
    # both floors decoded every object of every kind, as many as the load put in its frames
    assert r["floor_objects"]["pods"] == r["frames"]["pods"] == 1500
    assert r["floor_objects"]["nodes"] == r["frames"]["nodes"] == 50
    assert r["floor_inflate"] in ("isal", "zlib") and "floor 2 cores" in proc.stdout and "2 runs" in proc.stdout
    assert r["frames"]["pods"] == 1500
    aj = r["analyze_json"]
    assert aj["findings"] == sum(aj["findings_by_cause"].values()) > 0
    assert aj["cpu_seconds"] > 0 and aj["peak_rss_bytes"] > 0 and r["analyze_html"]["output_bytes"] > 0
    truth = aj["truth"]
    assert truth["planted_workloads"] > 0 and "app-crash" in truth["per_cause"]
    assert summary["pods_ratio"] == 1.0 and summary["time_ratio"] > 0 and summary["analyze_time_ratio"] > 0
    assert set(summary["checks"]) == {
        "load_over_floor",
        "peak_rss",
        "linear",
        "analyze_over_floor",
        "html_over_json",
        "analyze_peak_rss",
        "analyze_linear",
        "report_html_size",
        "report_html_open",
    }
    rh = r["report_html"]
    assert rh["bytes"] == r["analyze_html"]["output_bytes"] and "report html" in proc.stdout
    if "browser_error" not in rh:  # chromium and playwright present: the page was opened and its table used
        assert rh["open_seconds"] > 0 and rh["table_rows"] == aj["findings"] and "report open" in proc.stdout
    assert "analyze json" in proc.stdout and "recall" in proc.stdout
    assert isinstance(summary["ok"], bool)
    assert "load/floor" in proc.stdout
