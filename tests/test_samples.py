"""End to end: every sample dump yields exactly its expected causes for the affected workloads,
and no architecture finding for the workloads its story says are healthy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from forensics.analysis.analyze import analyze
from forensics.read.load import load_dump
from tests.samples import load_story

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dumps"
STORIES = sorted(p.parent.name for p in SAMPLES.glob("*/expected.yaml"))


def _key(w: dict) -> tuple[str, str, str]:
    return (w["kind"], w["namespace"], w["name"])


def resolve(story: Path, expected: dict, file: str) -> Path | None:
    """The file an evidence row names: relative to the dump's root (found by its markers, however many
    folders wrap it), or to the story for `images/...` passed with --images."""
    if "dump" not in expected:
        return story / file
    for base in [story, story / expected["dump"], *sorted((story / expected["dump"]).rglob("*"))]:
        if base.is_dir() and (base / file).is_file():
            return base / file
    return None


@pytest.fixture(scope="module", params=STORIES)
def story(request: pytest.FixtureRequest) -> tuple[dict, dict]:
    path = SAMPLES / request.param
    expected = yaml.safe_load((path / "expected.yaml").read_text())
    doc = analyze(load_story(request.param))
    if "format" in expected:
        assert doc["dump"]["format"] == expected["format"]
    return expected, doc


def test_there_are_stories() -> None:
    assert len(STORIES) >= 8


def test_expected_findings_exactly(story: tuple[dict, dict]) -> None:
    expected, doc = story
    got = {(_key(f["workload"]), f["latent"]): f for f in doc["findings"] + doc["latent"]}
    want = {(_key(e["workload"]), bool(e.get("latent", False))): e for e in expected.get("findings") or []}
    # every expected finding, with its primary cause and the contributing causes it must list
    for key, e in want.items():
        assert key in got, f"missing finding for {key}; got {sorted(got)}"
        f = got[key]
        assert f["cause"] == e["cause"], f"{key}: {f['cause']} != {e['cause']}"
        assert set(e.get("contributing") or []) <= set(f["contributing"])
        assert 0 < f["confidence"] <= 1
        assert f["evidence"], "a finding without evidence"
        assert f["remediation"], "a finding without remediation"
        if "max_confidence" in e:  # what the dump cannot confirm lowers the confidence
            assert f["confidence"] <= e["max_confidence"]
        if "missing_evidence" in e:
            assert any(m["what"].startswith(e["missing_evidence"]) for m in f["missing_evidence"])
    # and nothing else
    assert set(got) == set(want), f"unexpected findings: {sorted(set(got) - set(want))}"


def test_no_arch_findings_for_healthy(story: tuple[dict, dict]) -> None:
    expected, doc = story
    arch = {_key(f["workload"]) for f in doc["findings"] + doc["latent"] if f["cause"].startswith("arch.")}
    for w in expected.get("no_arch_findings_for") or []:
        assert _key(w) not in arch


def test_same_words_not_architecture(story: tuple[dict, dict]) -> None:
    """The red herrings: where a story says the words lie, no arch.* cause is primary, or contributes."""
    expected, doc = story
    if not expected.get("no_arch_primary"):
        return
    for f in doc["findings"] + doc["latent"]:
        assert not f["cause"].startswith("arch."), f["summary"]
        assert not [c for c in f["contributing"] if c.startswith("arch.")], f["summary"]


def test_load_problems_reported(story: tuple[dict, dict]) -> None:
    expected, doc = story
    assert len(doc["load_problems"]) >= int(expected.get("load_problems_min", 0))
    if not expected.get("load_problems_min"):
        assert doc["load_problems"] == []


def test_evidence_points_into_the_dump(story: tuple[dict, dict]) -> None:
    expected, doc = story
    root = SAMPLES / expected["story"]
    for f in doc["findings"]:
        for e in f["evidence"]:
            path = resolve(root, expected, e["file"]) if e["file"] else None
            if e["kind"] in ("log", "pod", "node", "event", "last-terminated-message", "waiting-message", "pod-label"):
                assert path is not None and path.is_file(), e
            if e["kind"] == "log" and e["line"]:
                assert path is not None
                lines = path.read_bytes().decode("utf-8", "replace").splitlines()
                assert e["text"] in lines[e["line"] - 1]


def test_archive_equals_directory() -> None:
    a = analyze(load_dump(SAMPLES / "graviton-new-pool.tar.gz"))
    d = analyze(load_dump(SAMPLES / "graviton-new-pool"))
    strip = lambda doc: [
        (f["cause"], f["contributing"], f["workload"], f["confidence"], f["pods"])
        for f in doc["findings"] + doc["latent"]
    ]
    assert strip(a) == strip(d)


@pytest.mark.parametrize("name", ["graviton-new-pool", "lost-multiarch-tag"])
def test_cli_json_and_terminal(name: str, tmp_path: Path) -> None:
    dump = SAMPLES / name
    out = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(dump), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    doc = json.loads(out.stdout)
    exp = yaml.safe_load((dump / "expected.yaml").read_text())
    assert {f["cause"] for f in doc["findings"]} == {e["cause"] for e in exp["findings"] if not e.get("latent")}
    term = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(dump)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert term.returncode == 0, term.stderr
    for e in exp["findings"]:
        assert e["cause"] in term.stdout
    assert "report written to" in term.stdout
    assert list(tmp_path.glob("forensics-report-*.html"))


def test_fail_on_exit_code(tmp_path: Path) -> None:
    dump = SAMPLES / "graviton-new-pool"
    r = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(dump), "-f", "json", "--fail-on", "high"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert r.returncode == 1
    healthy = SAMPLES / "healthy-mixed"
    r = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(healthy), "-f", "json", "--fail-on", "low"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert r.returncode == 0, r.stderr
