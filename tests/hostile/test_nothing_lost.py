"""Nothing silently lost: archive shapes real tools produce load fully, a bad member costs only itself,
and what could not be read is always said."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.hostile.harness import (
    SAMPLE,
    SNAP,
    analyze,
    assert_bounded,
    assert_problem,
    assert_rest_analyzed,
    assert_unusable,
    forensics,
    sample_files,
    tar_bytes,
    tar_members,
    write_tgz,
)

pytestmark = pytest.mark.hostile

PODS = 41  # pods in the sample's snapshot


def _pods(run_stdout: str) -> int:
    line = next(ln for ln in run_stdout.splitlines() if ln.startswith("pods "))
    return int(line.split()[1])


def test_multi_member_gzip_as_pigz_writes_it(tmp_path: Path) -> None:
    raw = tar_bytes(sample_files())
    step = len(raw) // 37 + 1
    arc = tmp_path / "pigz.tar.gz"
    arc.write_bytes(b"".join(gzip.compress(raw[i : i + step]) for i in range(0, len(raw), step)))
    run = forensics("frames", arc, cwd=tmp_path)
    assert_bounded(run)
    assert _pods(run.stdout) == PODS
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    assert run.doc()["load_problems"] == []
    assert_rest_analyzed(run.doc())


def test_troubleshoot_bundle_with_a_traversing_and_an_absolute_member(tmp_path: Path) -> None:
    from tests.foreign_dumps import to_troubleshoot

    bundle, facts = to_troubleshoot(SAMPLE, tmp_path / "b")
    with tarfile.open(bundle) as tf:
        members = [(m.name, tf.extractfile(m).read()) for m in tf if m.isfile()]  # type: ignore[union-attr]
    top = facts["top"]
    evil = [(f"{top}/../../etc/cluster-resources/pods/evil.json", b"{}"), ("/cluster-resources/pods/abs.json", b"{}")]
    arc = tmp_path / "evil-bundle.tar.gz"
    arc.write_bytes(gzip.compress(tar_members(evil + members) + b"\0" * 1024))
    run = forensics("frames", arc, cwd=tmp_path)
    assert_bounded(run)
    assert _pods(run.stdout) == PODS - sum(len(v) for k, v in facts["skipped"].items() if k == "pods")
    assert "unsafe member skipped" in run.stderr
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unsafe member skipped", "evil.json", "..")
    assert_problem(doc, "unsafe member skipped", "abs.json", "absolute")


def test_tar_truncated_inside_a_header_says_so(tmp_path: Path) -> None:
    extra = [(f"dump/snapshots/{SNAP}/logs/payments/late/app.log", b"late\n")]
    arc = tmp_path / "cut.tar.gz"
    arc.write_bytes(gzip.compress(tar_members(sample_files()) + tar_members(extra)[:200]))
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "archive truncated or corrupt", why="truncated")
    assert_rest_analyzed(doc)


def test_duplicate_member_names_first_wins(tmp_path: Path) -> None:
    files = sample_files()
    pods = next((n, d) for n, d in files if n.endswith(f"{SNAP}/pods.json"))
    arc = write_tgz(tmp_path / "dup.tar.gz", files + [pods, pods, (pods[0], b'{"items": []}')])
    run = forensics("frames", arc, cwd=tmp_path)
    assert_bounded(run)
    assert _pods(run.stdout) == PODS
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    dups = [p for p in doc["load_problems"] if p["what"] == "duplicate member skipped"]
    assert len(dups) == 3 and all(p["file"].endswith("pods.json") for p in dups)
    assert_rest_analyzed(doc)


def test_duplicate_json_keys_are_a_load_problem(tmp_path: Path) -> None:
    files = sample_files()
    name = f"dump/snapshots/{SNAP}/pods.json"
    pods = dict(files)[name]
    doubled = pods.rstrip().rstrip(b"}") + b',\n    "items": []\n}\n'
    arc = write_tgz(tmp_path / "keys.tar.gz", [(n, doubled if n == name else d) for n, d in files])
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    assert_problem(run.doc(), "object list partly read", "pods.json", "'items' appears more than once")


@pytest.mark.parametrize("first", ["appledouble", "readme", "folder"])
def test_first_entry_that_is_not_the_dump_is_ignored(tmp_path: Path, first: str) -> None:
    lead = {
        "appledouble": [("._dump", b"\0\5\26\7" + b"\0" * 60)],
        "readme": [("README.md", b"# collected for ticket 4711\n")],
        "folder": [("notes/howto.txt", b"see ticket\n"), ("notes/more.txt", b"x\n")],
    }[first]
    arc = write_tgz(tmp_path / "lead.tar.gz", lead + [("__MACOSX/dump/._pods.json", b"\0")] + sample_files())
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    assert_rest_analyzed(run.doc())
    folder = tmp_path / "tree"
    folder.mkdir()
    with tarfile.open(arc) as tf:
        tf.extractall(folder, filter="data")
    run = analyze(folder, tmp_path)
    assert_bounded(run)
    assert_rest_analyzed(run.doc())


def test_gzip_compressed_single_files(tmp_path: Path) -> None:
    pods = (SAMPLE / "snapshots" / SNAP / "pods.json").read_bytes()
    one = tmp_path / "pods.json.gz"
    one.write_bytes(gzip.compress(pods[: len(pods) // 2]) + gzip.compress(pods[len(pods) // 2 :]))
    run = forensics("frames", one, cwd=tmp_path)
    assert_bounded(run)
    assert _pods(run.stdout) == PODS

    # a cluster-info dump printed to stdout, gzipped, with a million-line log and 200,000 log blocks
    objects = {
        k: json.loads((SAMPLE / "snapshots" / SNAP / f"{k}.json").read_text())["items"]
        for k in ("nodes", "pods", "events")
    }
    kinds = {"nodes": "NodeList", "pods": "PodList", "events": "EventList"}
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz:
        for k in ("nodes", "events", "pods"):
            gz.write(
                json.dumps(
                    {"kind": kinds[k], "apiVersion": "v1", "metadata": {}, "items": objects[k]}, indent=4
                ).encode()
                + b"\n"
            )
        gz.write(b"==== START logs for container app of pod payments/chatty ====\n")
        gz.write(b"tick\n" * 1_000_000)
        gz.write(b"==== END logs for container app of pod payments/chatty ====\n")
        block = (
            b"==== START logs for container c of pod junk/p ====\nx\n==== END logs for container c of pod junk/p ====\n"
        )
        gz.write(block * 200_000)
    dump = tmp_path / "cluster-info.txt.gz"
    dump.write_bytes(out.getvalue())
    assert dump.stat().st_size < 5 * 1024 * 1024
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert doc["dump"]["format"] == "kubectl-cluster-info-dump"
    assert_problem(doc, "too many log blocks")
    assert any(f["workload"]["name"] == "ledger-api" for f in doc["findings"])


def test_a_single_compressed_file_given_up_on_says_why(tmp_path: Path) -> None:
    # the stream ends before gzip's end marker: the refusal names that, not the JSON it cut
    pods = gzip.compress((SAMPLE / "snapshots" / SNAP / "pods.json").read_bytes())
    cut = tmp_path / "pods.json.gz"
    cut.write_bytes(pods[: len(pods) // 2])
    run = analyze(cut, tmp_path)
    assert_unusable(run)
    assert "truncated" in run.stderr and "broken JSON" not in run.stderr, run.stderr
