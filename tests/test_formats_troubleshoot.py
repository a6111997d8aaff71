"""Replicated troubleshoot support bundles, written from sample stories in the layout the tool uses."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd
import pytest

from forensics.analysis.analyze import analyze
from forensics.read.formats import detect, load_any
from forensics.read.formats.troubleshoot import FORMAT
from forensics.read.load import load_dump
from tests.foreign_dumps import SAMPLES, assert_same_findings, to_troubleshoot

STORIES = ["graviton-new-pool", "laptop-build", "index-without-arm64"]


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple[str, ...]]:
    def text(v: object) -> str:  # list columns (taints, tolerations, platforms) compare as their items
        return ",".join(map(str, v)) if isinstance(v, list) else "" if pd.isna(v) else str(v)

    return sorted(tuple(text(v) for v in r) for r in frame[cols].itertuples(index=False, name=None))


@pytest.mark.parametrize("story", STORIES)
@pytest.mark.parametrize("bare_arrays", [False, True], ids=["lists", "bare-arrays"])
def test_findings_match_the_native_dump(story: str, bare_arrays: bool, tmp_path: Path) -> None:
    v1 = SAMPLES / story
    bundle, facts = to_troubleshoot(v1, tmp_path, bare_arrays=bare_arrays)
    found = detect(bundle)
    assert found.format == FORMAT and found.prefix == facts["top"] + "/"
    d = load_any(bundle, images=v1 / "images")
    assert d.format == FORMAT
    native = load_dump(v1)
    cols = ["namespace", "pod", "container", "image", "image_digest", "restart_count", "last_exit_code"]
    assert _rows(d["containers"], cols) == _rows(
        native["containers"][native["containers"]["snapshot"] == native.snapshots[-1]], cols
    )
    assert_same_findings(analyze(native), analyze(d))


def test_lists_and_bare_arrays_give_the_same_frames(tmp_path: Path) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    new, _ = to_troubleshoot(v1, tmp_path / "new")
    old, _ = to_troubleshoot(v1, tmp_path / "old", bare_arrays=True)
    a, b = load_any(new), load_any(old)
    assert len(a["pods"]) > 0
    for frame in ("nodes", "pods", "containers", "events", "workloads", "logs", "signatures"):
        cols = [c for c in a[frame].columns if c not in ("observed_at", "snapshot_index")]
        assert _rows(a[frame], cols) == _rows(b[frame], cols), frame
    assert a.meta["troubleshoot_version"] == "0.62.1" and b.meta["troubleshoot_version"] == "0.13.14"


def test_time_errors_redactions_and_previous_logs(tmp_path: Path) -> None:
    v1 = SAMPLES / "graviton-new-pool"
    bundle, facts = to_troubleshoot(v1, tmp_path, forbidden=(("statefulsets", "payments"),))
    d = load_any(bundle)
    # the collection time is the bundle folder's, not derived
    assert "collected_at_derived" not in d.meta
    assert d.collected_at == facts["collected_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    # *-errors.json entries are load problems naming the namespace and the error
    errs = [p for p in d.problems if p.file == "cluster-resources/statefulsets-errors.json"]
    assert len(errs) == facts["errors"] >= 1
    assert errs[0].what == "statefulsets not collected by the support bundle"
    assert errs[0].why.startswith("payments: statefulsets.apps is forbidden")
    assert not set(facts["skipped"]["statefulsets"]) & set(d["workloads"]["name"])
    # redactions are counted and said
    assert facts["redacted"] > 0 and d.meta["redacted_values"] == facts["redacted"]
    assert any("redacted" in g["what"] for g in d.gaps)
    # previous logs are read from <container>-previous.log
    with tarfile.open(bundle) as tf:
        previous = [n for n in tf.getnames() if n.endswith("-previous.log")]
    assert previous
    assert d["logs"]["previous"].sum() == len(previous)
    prev_sigs = d["signatures"][d["signatures"]["source"] == "previous-log"]
    assert set(prev_sigs["file"]) <= {n.split("/", 1)[1] for n in previous}


def test_hostile_members_are_problems_and_the_rest_loads(tmp_path: Path) -> None:
    import io

    v1 = SAMPLES / "graviton-new-pool"
    bundle, facts = to_troubleshoot(v1, tmp_path)
    top = facts["top"]
    with tarfile.open(bundle) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tf:
        for m, data in members:
            tf.addfile(m, io.BytesIO(data))
        evil = tarfile.TarInfo(f"{top}/../../etc/cron.d/evil")
        evil.size = 4
        tf.addfile(evil, io.BytesIO(b"boom"))
        link = tarfile.TarInfo(f"{top}/cluster-resources/pods/logs/payments/x/main.log")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tf.addfile(link)
        bad = f"{top}/cluster-resources/deployments/broken.json".encode()
        info = tarfile.TarInfo(bad.decode())
        info.size = 9
        tf.addfile(info, io.BytesIO(b'{"items":'))
    before = sorted(p.name for p in tmp_path.iterdir())
    d = load_any(hostile)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    whats = {(p.what, p.file.rsplit("/", 1)[-1]) for p in d.problems}
    assert ("unsafe member skipped", "evil") in whats
    assert ("link member skipped", "main.log") in whats
    assert ("unreadable object list", "broken.json") in whats
    assert len(d["pods"]) == len(load_any(bundle)["pods"]) > 0


def test_links_into_the_pod_logs_are_the_layout_others_are_problems(tmp_path: Path) -> None:
    """Links into cluster-resources/pods/logs/ (all-logs/, or a logs collector's own name at the root)
    are noted once in the gaps; a link that leaves that folder, even by `..`, is a load problem."""
    v1 = SAMPLES / "graviton-new-pool"
    bundle, facts = to_troubleshoot(v1, tmp_path)
    top = facts["top"]
    with tarfile.open(bundle) as tf:
        logs = sorted(m.name for m in tf.getmembers() if "/pods/logs/" in m.name and m.isfile())
    target = logs[0].split(f"{top}/", 1)[1]
    out = tmp_path / "linked.tar.gz"
    with tarfile.open(bundle) as src, tarfile.open(out, "w:gz") as tf:
        for m in src.getmembers():
            tf.addfile(m, src.extractfile(m) if m.isfile() else None)
        for name, to in (
            (f"{top}/all-logs/p/c.log", f"../../{target}"),
            (f"{top}/static-hi.log", target),
            (f"{top}/sneaky.log", f"{target}/../../../../../../etc/passwd"),
            (f"{top}/abs.log", "/etc/passwd"),
        ):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, to
            tf.addfile(link)
    d = load_any(out)
    assert sorted(p.file.rsplit("/", 1)[-1] for p in d.problems if "link" in p.what) == ["abs.log", "sneaky.log"]
    (note,) = [g for g in d.gaps if "links into cluster-resources/pods/logs/" in g["what"]]
    assert note["what"].startswith("2 links")
