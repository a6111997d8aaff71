"""OpenShift must-gather and `oc adm inspect` trees, written from sample stories in their layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forensics.analysis.analyze import analyze
from forensics.read.formats import detect, load_any
from forensics.read.formats.mustgather import FORMAT, parse_timestamp_file
from forensics.read.load import load_dump
from tests.foreign_dumps import SAMPLES, assert_same_findings, to_mustgather

STORIES = ["graviton-new-pool", "lost-multiarch-tag", "mixed-no-affinity"]


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple[str, ...]]:
    return sorted(
        tuple("" if pd.isna(v) else str(v) for v in r) for r in frame[cols].itertuples(index=False, name=None)
    )


@pytest.mark.parametrize("story", STORIES)
def test_findings_match_the_native_dump(story: str, tmp_path: Path) -> None:
    v1 = SAMPLES / story
    root, facts = to_mustgather(v1, tmp_path)
    found = detect(root)
    assert found.format == FORMAT and found.prefix == facts["wrapper"].split("/", 1)[1] + "/"
    d = load_any(root, images=v1 / "images")
    assert d.format == FORMAT
    native = load_dump(v1)
    last = native.snapshots[-1]
    for frame, cols in (
        ("containers", ["namespace", "pod", "container", "image", "image_digest", "restart_count"]),
        ("nodes", ["node", "arch", "ready"]),
        ("logs", ["namespace", "pod", "container", "previous"]),
    ):
        assert _rows(d[frame], cols) == _rows(native[frame][native[frame]["snapshot"] == last], cols), frame
    assert_same_findings(analyze(native), analyze(d))


def test_timestamp_file_gives_the_collection_time(tmp_path: Path) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    root, facts = to_mustgather(v1, tmp_path)
    d = load_any(root)
    assert "collected_at_derived" not in d.meta
    assert d.collected_at == facts["collected_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        parse_timestamp_file(
            b"2023-06-06 09:07:04.868375378 +0000 UTC m=+0.000531\n2023-06-06 09:08:51.1 +0000 UTC m=+106.2\n"
        ).isoformat()
        == "2023-06-06T09:08:51+00:00"
    )
    assert parse_timestamp_file(b"not a time") is None


def test_inspect_tree_archive_without_timestamp_uses_pod_files_and_log_times(tmp_path: Path) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    tarball, facts = to_mustgather(v1, tmp_path, inspect=True, archive=True)
    import io
    import tarfile

    # drop the timestamp file: the time must then be derived, log timestamps included
    with tarfile.open(tarball) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers() if not m.name.endswith("/timestamp")]
    with tarfile.open(tarball, "w:gz") as tf:
        for m, data in members:
            tf.addfile(m, io.BytesIO(data))
    d = load_any(tarball)
    assert d.format == FORMAT
    native = load_dump(v1)
    # no core/pods.yaml in an inspect tree: the pods come from namespaces/<ns>/pods/<pod>/<pod>.yaml
    assert sorted(d["pods"]["pod"]) == sorted(native["pods"]["pod"])
    assert set(d["pods"]["file"].str.extract(r"pods/([^/]+)/")[0]) == set(d["pods"]["pod"])
    assert d.meta["collected_at_derived"] is True
    times = pd.concat(
        [
            native["events"]["last_seen"],
            native["containers"]["last_finished"],
            native["containers"]["started_at"],
            native["pods"]["start_time"],
        ]
    ).dropna()
    # the converter ends the logs after every object time: the newest timestamp inside is a log line's
    assert times.max() < pd.Timestamp(facts["log_end"])
    assert d.collected_at == facts["log_end"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_log_lines_keep_their_timestamps_and_signatures(tmp_path: Path) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    root, _ = to_mustgather(v1, tmp_path)
    d = load_any(root)
    sigs = d["signatures"][d["signatures"]["source"].isin(["log", "previous-log"])]
    assert not sigs.empty
    wrapper = next(p for p in root.iterdir() if p.is_dir())
    for s in sigs.itertuples():
        line = (wrapper / s.file).read_text().splitlines()[int(s.line) - 1]
        assert line[:4].isdigit() and line[10] == "T"  # an oc --timestamps line
        assert s.text in line
