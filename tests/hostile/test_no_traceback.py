"""No traceback, ever: inputs that used to crash become one load problem (or exit 2 with one line for
input that is no dump at all), and the rest of the dump still loads."""

from __future__ import annotations

import io
import json
import os
import shutil
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
    copy_sample,
    forensics,
    sample_files,
    tar_members,
)

pytestmark = pytest.mark.hostile

PODS = f"snapshots/{SNAP}/pods.json"
DEEP = 100_000


def _deep(n: int = DEEP) -> str:
    return "[" * n + "]" * n


def _edit_pods(dump: Path, change) -> None:
    p = dump / PODS
    doc = json.loads(p.read_text())
    change(doc["items"])
    p.write_text(json.dumps(doc, indent=4))


def test_file_names_that_are_not_utf8_in_a_directory(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    logs = os.fsencode(dump / "snapshots" / SNAP / "logs" / "payments")
    os.makedirs(logs + b"/bad-\xff\xfe-pod")
    with open(logs + b"/bad-\xff\xfe-pod/app.log", "wb") as f:
        f.write(b"exec /app: exec format error\n")
    with open(os.fsencode(dump / "snapshots" / SNAP) + b"/\xe9vents.json", "wb") as f:
        f.write(b"{}")
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "skipped", "bad-\ufffd\ufffd-pod", "UTF-8")
    assert_problem(doc, "skipped", "\ufffdvents.json", "UTF-8")
    assert_rest_analyzed(doc)


def test_member_names_that_are_not_utf8_in_a_tar(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as tf:
        for name, data in [*sample_files(), (f"dump/snapshots/{SNAP}/logs/payments/p\udcff/c.log", b"x\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    arc = tmp_path / "names.tar"
    arc.write_bytes(buf.getvalue())
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unsafe member skipped", "p\ufffd", "UTF-8")
    assert_rest_analyzed(doc)


def test_tar_zst_with_a_wrong_magic_is_unusable(tmp_path: Path) -> None:
    arc = tmp_path / "bad.tar.zst"
    arc.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(4000))
    assert_unusable(analyze(arc, tmp_path))


def test_tar_zst_with_a_corrupt_frame_keeps_what_came_before(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    good = zstandard.ZstdCompressor().compress(tar_members(sample_files()))
    log = b"".join(b"line %d of a log\n" % i for i in range(20000))
    bad = bytearray(
        zstandard.ZstdCompressor(write_checksum=True).compress(
            tar_members([(f"dump/snapshots/{SNAP}/logs/payments/p/c.log", log)])
        )
    )
    bad[len(bad) // 2 : len(bad) // 2 + 64] = b"\xff" * 64
    arc = tmp_path / "corrupt.tar.zst"
    arc.write_bytes(good + bytes(bad))
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "archive truncated or corrupt", why="zstd")
    assert_rest_analyzed(doc)


def test_json_nested_a_hundred_thousand_levels_in_pods(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    p = dump / PODS
    text = p.read_text()
    # one more pod, whose annotations (not read, skipped by the decoder) nest absurdly deep
    evil = '{"metadata": {"name": "deep", "namespace": "payments", "annotations": {"x": ' + _deep() + "}}},\n"
    p.write_text(text.replace('"items": [\n', '"items": [\n' + evil, 1))
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "object list", "pods.json", "deep")
    assert_rest_analyzed(doc)


def test_json_nested_deep_in_loose_files_and_troubleshoot_errors(tmp_path: Path) -> None:
    from tests.foreign_dumps import to_troubleshoot

    bundle, _ = to_troubleshoot(SAMPLE, tmp_path / "b")
    members = []
    with tarfile.open(bundle) as tf:
        for m in tf:
            data = tf.extractfile(m).read() if m.isfile() else b""  # type: ignore[union-attr]
            if m.name.endswith("pods-errors.json"):
                data = _deep().encode()
            members.append((m.name, data))
    arc = tmp_path / "deep-bundle.tar.gz"
    import gzip

    arc.write_bytes(gzip.compress(tar_members(members) + b"\0" * 1024))
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unreadable collection-error list", "pods-errors.json")
    assert any(f["workload"]["name"] == "ledger-api" for f in doc["findings"])

    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(SAMPLE / PODS, loose / "pods.json")
    shutil.copy(SAMPLE / "snapshots" / SNAP / "nodes.json", loose / "nodes.json")
    (loose / "deep.json").write_text(_deep())
    (loose / "deep.yaml").write_text("a:\n" + "".join(" " * (i + 1) + "- \n" for i in range(5000)))
    (loose / "bomb.yaml").write_text(
        "kind: Pod\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    )
    run = analyze(loose, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "neither JSON nor YAML", "deep.json")
    assert_problem(doc, "", "deep.yaml")
    assert_problem(doc, "neither JSON nor YAML", "bomb.yaml", "alias")
    assert any(f["workload"]["name"] == "ledger-api" for f in doc["findings"])


def test_integers_past_int64(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    big = 1 << 70

    def change(items: list) -> None:
        st = next(p for p in items if p["metadata"]["name"].startswith("payments-gateway"))
        st["status"]["containerStatuses"][0]["restartCount"] = big
        st["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": -big, "reason": "Error"}}

    _edit_pods(dump, change)
    ev = dump / "snapshots" / SNAP / "events.json"
    doc = json.loads(ev.read_text())
    doc["items"][0]["count"] = big
    ev.write_text(json.dumps(doc))
    dep = dump / "snapshots" / SNAP / "deployments.json"
    doc = json.loads(dep.read_text())
    doc["items"][0]["spec"]["replicas"] = big
    dep.write_text(json.dumps(doc))
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "number out of range", "pods.json", "restart_count")
    assert_problem(doc, "number out of range", "events.json", "count")
    assert_problem(doc, "number out of range", "deployments.json", "replicas")
    assert_rest_analyzed(doc)


def test_timestamps_outside_what_nanoseconds_hold_and_weird_ones(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)

    def change(items: list) -> None:
        for i, p in enumerate(items):
            p["metadata"]["creationTimestamp"] = [
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "2024-13-45T99:99:99Z",
                "yesterday",
                "+275760-09-13T00:00:00Z",
            ][i % 5]
            p["status"]["startTime"] = "0001-01-01T00:00:00Z"

    _edit_pods(dump, change)
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    assert_rest_analyzed(run.doc())
    run = forensics("frames", dump, cwd=tmp_path)
    assert_bounded(run)


def test_objects_with_wrong_types_are_skipped_one_by_one(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)

    def change(items: list) -> None:
        items.append({"metadata": {"name": "typed-wrong", "namespace": "payments"}, "status": "Running"})
        items.append({"metadata": {"name": 42}, "spec": {"containers": "nginx"}})

    _edit_pods(dump, change)
    run = analyze(dump, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "object list partly read", "pods.json", "2 of")
    assert_rest_analyzed(doc)


def test_yaml_nested_deep_and_alias_bomb_in_must_gather(tmp_path: Path) -> None:
    from tests.foreign_dumps import to_mustgather

    root = to_mustgather(SAMPLE, tmp_path / "mg")
    root = root[0] if isinstance(root, tuple) else root
    pods = sorted(root.rglob("core/pods.yaml"))
    assert len(pods) >= 2
    pods[0].write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([('*a' + str(i - 1)) if i > 1 else '*a'] * 10)}]\n" for i in range(1, 9))
    )
    pods[1].write_text("[" * 5000 + "]" * 5000)
    run = analyze(root, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert_problem(doc, "unreadable YAML", str(pods[0].relative_to(root)).split("/", 1)[-1], "alias")
    assert_problem(doc, "unreadable YAML", str(pods[1].relative_to(root)).split("/", 1)[-1])
    assert doc["findings"]


def _causes(doc: dict) -> set[tuple[str, str, str]]:
    return {(f["cause"], f["workload"]["namespace"], f["workload"]["name"]) for f in doc["findings"]}


def test_json_nested_deep_in_every_reader(tmp_path: Path) -> None:
    """The same deep document where each format (and `render`, and the input check) parses JSON of
    its own: one load problem naming the file, the rest analyzed as without it; never exit 3."""
    deep = _deep().encode()

    # a single file: unusable input, said in one line
    one = tmp_path / "deep.json"
    one.write_bytes(deep)
    run = analyze(one, tmp_path)
    assert_unusable(run)
    assert "nested too deeply" in run.stderr
    # a findings document for `render`
    doc = tmp_path / "findings.json"
    doc.write_bytes(b'{"schema": "cluster-forensics-findings/1", "findings": ' + deep + b"}")
    run = forensics("render", doc, "-o", tmp_path / "r.html", cwd=tmp_path)
    assert_unusable(run)
    assert "nested too deeply" in run.stderr and not (tmp_path / "r.html").exists()

    # kubectl's output pasted into a ticket, with a `-o json` file beside it
    ticket = tmp_path / "ticket"
    ticket.mkdir()
    shutil.copy(SAMPLE.parent / "scheduling-ticket.txt", ticket / "ticket.txt")
    clean = analyze(ticket, tmp_path)
    assert_bounded(clean)
    (ticket / "pods.json").write_bytes(deep)
    run = analyze(ticket, tmp_path)
    assert_bounded(run)
    assert_problem(run.doc(), "unreadable JSON", "pods.json", "deep")
    assert _causes(run.doc()) == _causes(clean.doc()) != set()

    # a troubleshoot bundle whose collector folder holds a deep "pod"
    from tests.foreign_dumps import to_troubleshoot

    bundle, _ = to_troubleshoot(SAMPLE, tmp_path / "b")
    with tarfile.open(bundle) as tf:
        members = [(m.name, tf.extractfile(m).read() if m.isfile() else b"") for m in tf]  # type: ignore[union-attr]
    top = members[0][0].split("/")[0]
    members.append((f"{top}/run-pod/run-pod.json", deep))
    arc = tmp_path / "deep-collector.tar"
    arc.write_bytes(tar_members(members) + b"\0" * 1024)
    run = analyze(arc, tmp_path)
    assert_bounded(run)
    assert_problem(run.doc(), "unreadable JSON", "run-pod.json", "deep")
    assert_rest_analyzed(run.doc())

    # an Insights Operator archive with a namespace's events nested deep
    wild = Path(__file__).resolve().parents[2].parent / "shared" / "wild" / "insights-archive"  # beside the repo
    if wild.is_dir():
        archive = tmp_path / "insights"
        shutil.copytree(wild, archive, symlinks=True)
        clean = analyze(archive, tmp_path)
        assert_bounded(clean)
        (archive / "events" / "deep-namespace.json").write_bytes(deep)
        run = analyze(archive, tmp_path)
        assert_bounded(run)
        assert_problem(run.doc(), "unreadable JSON", "deep-namespace.json", "deep")
        assert _causes(run.doc()) == _causes(clean.doc()) != set()
