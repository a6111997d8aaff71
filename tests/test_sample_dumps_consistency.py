"""The committed sample dumps are internally consistent and exactly what `generate.py` writes.

Checks that need no analyzer: JSON parses (the hostile story's truncated list excepted), a
container's `imageID` digest is the sha256 of the inspected `manifest.json` bytes, every story
carries a README and an `expected.yaml` whose causes are known ids, and regenerating into a
temporary directory reproduces the committed bytes."""

from __future__ import annotations

import filecmp
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from forensics.analysis.findings import CAUSES

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dumps"
STORIES = sorted(p.parent.name for p in SAMPLES.glob("*/forensics-dump.yaml"))
# every story, format-v1 or foreign (a support bundle, a must-gather, a cluster-info dump under dump/)
ALL = sorted(p.parent.name for p in SAMPLES.glob("*/expected.yaml"))
# written truncated on purpose: the loader must record a load problem for it
BROKEN = {SAMPLES / "hostile" / "snapshots" / "20240306T120000Z" / "statefulsets.json"}


def _json_files() -> list[Path]:
    return sorted(SAMPLES.glob("*/**/*.json"))


def test_there_are_stories() -> None:
    assert "not-arch" in STORIES
    assert len(STORIES) >= 9


def test_every_json_parses() -> None:
    files = _json_files()
    assert len(files) > 100
    bad = []
    for p in files:
        try:
            json.loads(p.read_bytes())
        except ValueError:
            bad.append(p)
    assert set(bad) == BROKEN


def _inspected_digests(story: Path) -> dict[str, str]:
    """image reference (as in `ref.txt`) -> sha256 of its stored manifest bytes."""
    out = {}
    for ref in story.glob("images/*/ref.txt"):
        manifest = ref.parent / "manifest.json"
        out[ref.read_text().strip()] = "sha256:" + hashlib.sha256(manifest.read_bytes()).hexdigest()
    return out


def _names(ref: str) -> set[str]:
    """The spellings of one reference a container status may use (short, docker.io-normalized)."""
    names = {ref}
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        names.add("docker.io/library/" + ref)
    elif "." not in first and ":" not in first and first != "localhost":
        names.add("docker.io/" + ref)
    return names


@pytest.mark.parametrize("name", STORIES)
def test_image_ids_match_inspected_manifests(name: str) -> None:
    story = SAMPLES / name
    digests = {n: d for ref, d in _inspected_digests(story).items() for n in _names(ref)}
    checked = 0
    for pods in story.glob("snapshots/*/pods.json"):
        if pods in BROKEN:
            continue
        for pod in json.loads(pods.read_bytes())["items"]:
            spec_images = {c["name"]: c["image"] for c in pod["spec"]["containers"]}
            for cs in pod["status"].get("containerStatuses") or []:
                ref = spec_images[cs["name"]]
                if not cs["imageID"] or ref not in digests:
                    continue
                assert cs["imageID"].rsplit("@", 1)[1] == digests[ref], (pods, pod["metadata"]["name"], ref)
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("name", ALL)
def test_story_has_readme_and_known_causes(name: str) -> None:
    story = SAMPLES / name
    assert (story / "README.md").read_text().startswith(f"# {name}\n")
    expected = yaml.safe_load((story / "expected.yaml").read_text())
    assert expected["story"] == name
    for f in expected.get("findings") or []:
        assert f["cause"] in CAUSES, f
        for c in f.get("contributing") or []:
            assert c in CAUSES, c
    if not expected.get("findings"):
        assert expected.get("no_findings") is True


def test_not_arch_story_lists_each_common_cause() -> None:
    expected = yaml.safe_load((SAMPLES / "not-arch" / "expected.yaml").read_text())
    causes = [f["cause"] for f in expected["findings"]]
    assert not [c for c in causes if c.startswith("arch.")]
    assert causes.count("app-crash") == 2
    assert {
        "oom-killed",
        "liveness-probe",
        "image-pull-auth",
        "image-pull-not-found",
        "missing-config",
        "command-not-found",
        "evicted",
        "unschedulable",
        "node-not-ready",
    } <= set(causes)
    # nodes are causes of their own, not workloads that could carry an arch finding
    broken = {tuple(f["workload"].values()) for f in expected["findings"] if f["workload"]["kind"] != "Node"}
    healthy = {tuple(w.values()) for w in expected["no_arch_findings_for"]}
    assert broken <= healthy


def _differences(cmp: filecmp.dircmp[str]) -> list[str]:
    out = [f"{cmp.left}: {n}" for n in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files]
    for sub in cmp.subdirs.values():
        out += _differences(sub)
    return out


def test_generator_reproduces_committed_dumps(tmp_path: Path) -> None:
    out = tmp_path / "dumps"
    subprocess.run([sys.executable, str(SAMPLES / "generate.py"), "--out", str(out)], check=True, timeout=120)
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([*ALL, "graviton-new-pool.tar.gz"])
    assert set(STORIES) < set(ALL)
    diffs = []
    for story in ALL:
        cmp = filecmp.dircmp(out / story, SAMPLES / story, ignore=[])
        diffs += _differences(cmp)
    assert diffs == []
    # shallow=False: compare bytes, not size and mtime
    for p in sorted(out.rglob("*")):
        if p.is_file():
            assert filecmp.cmp(p, SAMPLES / p.relative_to(out), shallow=False), p
