"""`kubectl cluster-info dump`, both forms, made by the real kubectl against `forensics serve`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from forensics.analysis.analyze import analyze
from forensics.read.formats import detect, load_any
from forensics.read.formats.clusterinfo import FORMAT
from forensics.read.load import load_dump
from tests.dump_builder import tiny_dump
from tests.foreign_dumps import SAMPLES, STORIES, assert_same_findings, real_cluster_info_dump

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the real kubectl")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny")
    v1 = tiny_dump(base / "v1")
    return {
        "v1": v1,
        "dir": real_cluster_info_dump(v1, base / "d"),
        "stdout": real_cluster_info_dump(v1, base / "s", stdout=True),
        "dir-yaml": real_cluster_info_dump(v1, base / "dy", output="yaml"),
        "stdout-yaml": real_cluster_info_dump(v1, base / "sy", stdout=True, output="yaml"),
    }


FORMS = ["dir", "stdout", "dir-yaml", "stdout-yaml"]


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple[str, ...]]:
    return sorted(
        tuple("" if pd.isna(v) else str(v) for v in r) for r in frame[cols].itertuples(index=False, name=None)
    )


@pytest.mark.parametrize("form", FORMS)
def test_frames_match_the_native_dump(tiny: dict[str, Path], form: str) -> None:
    native = load_dump(tiny["v1"])
    d = load_any(tiny[form])
    assert d.format == FORMAT
    assert d.meta["form"] == ("directory" if form.startswith("dir") else "stdout")
    for frame, cols in (
        ("nodes", ["node", "arch", "os", "runtime", "ready"]),
        ("pods", ["namespace", "pod", "node", "phase", "owner_kind", "owner_name"]),
        (
            "containers",
            [
                "namespace",
                "pod",
                "container",
                "image",
                "image_digest",
                "restart_count",
                "state",
                "waiting_reason",
                "last_exit_code",
            ],
        ),
        ("events", ["object_name", "reason", "message", "count", "last_seen"]),
    ):
        assert _rows(d[frame], cols) == _rows(native[frame], cols), frame
    # only current logs: the previous log of the crashing container is not in a cluster-info dump
    assert not d["logs"]["previous"].any()
    current = native["logs"][~native["logs"]["previous"].astype(bool)]
    got = {(r.namespace, r.pod, r.container) for r in d["logs"].itertuples()}
    want = {(r.namespace, r.pod, r.container) for r in current.itertuples()}
    assert got == want
    # statefulsets, jobs and cronjobs are never asked for
    assert set(d["workloads"]["kind"]) == {"Deployment", "ReplicaSet", "DaemonSet"}
    whats = {g["what"] for g in d.gaps}
    assert {"no previous container logs", "no statefulsets, jobs or cronjobs", "no collection time"} <= whats


@pytest.mark.parametrize("form", FORMS)
def test_signature_evidence_points_at_the_line_in_the_file(tiny: dict[str, Path], form: str) -> None:
    d = load_any(tiny[form])
    sigs = d["signatures"][d["signatures"]["source"] == "log"]
    assert len(sigs) == 1
    s = sigs.iloc[0]
    assert (s["pod"], s["container"], s["signature"]) == ("api-7d9f-abcde", "main", "exec-format-error")
    root = tiny[form] if form.startswith("dir") else tiny[form].parent
    lines = (root / s["file"]).read_text().splitlines()
    assert "exec format error" in lines[int(s["line"]) - 1]


def test_collection_time_is_derived_from_the_newest_timestamp(tiny: dict[str, Path]) -> None:
    d = load_any(tiny["stdout"])
    assert d.meta["collected_at_derived"] is True
    newest = max(
        d["events"]["last_seen"].max(),
        d["nodes"]["ready_since"].max(),
        d["containers"]["last_finished"].max(),
        d["containers"]["started_at"].max(),
    )
    assert d.collected_at == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert d.snapshots == [newest.strftime("%Y%m%dT%H%M%SZ")]
    assert set(d["pods"]["snapshot"]) == set(d.snapshots)


def test_failed_log_request_is_a_load_problem(tiny: dict[str, Path]) -> None:
    # the tiny dump has no log for the daemonset pod: kubectl writes "Request log error" into its block
    d = load_any(tiny["dir"])
    probs = [p for p in d.problems if p.what == "container log not collected"]
    assert [p.file for p in probs] == ["kube-system/agent-x1/logs.txt:1"]
    assert "Request log error" in probs[0].why
    assert "agent-x1" not in set(d["logs"]["pod"])


def test_directory_inside_an_archive_with_a_wrapper(tiny: dict[str, Path], tmp_path: Path) -> None:
    archive = Path(
        shutil.make_archive(str(tmp_path / "ci"), "gztar", root_dir=tiny["dir"].parent, base_dir=tiny["dir"].name)
    )
    found = detect(archive)
    assert found.format == FORMAT and found.prefix == f"{tiny['dir'].name}/"
    assert len(load_any(archive)["pods"]) == 3


@pytest.mark.parametrize("story", STORIES)
@pytest.mark.parametrize("form", ["dir", "stdout"])
def test_findings_match_the_native_dump(story: str, form: str, tmp_path: Path) -> None:
    v1 = SAMPLES / story
    out = real_cluster_info_dump(v1, tmp_path, stdout=form == "stdout")
    native = analyze(load_dump(v1))
    with_images = analyze(load_any(out, images=v1 / "images"))
    assert with_images["dump"]["format"] == FORMAT
    assert_same_findings(native, with_images)
    if form == "stdout":
        return  # the same objects as the directory form, whose run below covers the no-images case
    bare = analyze(load_any(out))
    assert "no image inspections" in {g["what"] for g in bare["gaps"]}
    assert_same_findings(native, bare)
