"""One file given as the dump (`pods.json.gz`, a gzipped kubectl text): its size is known only once it is
decompressed. A big JSON list in kubectl's layout is decoded as it is read, whatever its size; a bomb
or padding ends in a load problem after the items before it were read; anything else past the list cap
is refused in one line, without having been held."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.harness import (
    CHUNK,
    SAMPLE,
    SNAP,
    MiB,
    analyze,
    assert_bounded,
    assert_problem,
    assert_unusable,
    gzip_padding,
    gzip_zeros,
)

pytestmark = pytest.mark.hostile

PODS = SAMPLE / "snapshots" / SNAP / "pods.json"
HELD = 512 * MiB  # peak RSS: far below the 1 GiB list cap these files run past
LIST_CAP = 1024 * MiB


def _sample_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(PODS.read_bytes())["items"]
    return items


def _kubectl_item(obj: dict[str, Any]) -> bytes:
    """One item as `kubectl get -o json` prints it inside its List (4-space indent, at depth two)."""
    return "\n".join("        " + ln for ln in json.dumps(obj, indent=4, sort_keys=True).split("\n")).encode()


LIST_OPEN = b'{\n    "apiVersion": "v1",\n    "items": [\n'
LIST_CLOSE = b'\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n'


def _failing(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["workload"]["kind"], f["workload"]["namespace"], f["workload"]["name"]) for f in doc["findings"]}


def test_a_big_pods_json_gz_is_read_in_item_batches(tmp_path: Path) -> None:
    # ~80 MiB of a big cluster's pods: past what a single file is held whole at, so decoded as read.
    # Some items lack `kind` (recognised by their shape), some are of a kind the analysis does not use.
    base = _sample_items()
    out = tmp_path / "pods.json.gz"
    pods = size = 0
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(LIST_OPEN)
        n = 0
        while size < 80 * MiB:
            item = copy.deepcopy(base[n % len(base)])
            item["metadata"]["name"] += f"-{n}"
            item["metadata"]["uid"] = f"uid-{n}"
            if n % 97 == 5:
                del item["kind"], item["apiVersion"]
            if n % 1000 == 7:
                item = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{n}", "namespace": "x"}}
            else:
                pods += 1
            piece = (b",\n" if n else b"") + _kubectl_item(item)
            f.write(piece)
            size += len(piece)
            n += 1
        f.write(LIST_CLOSE)
    run = analyze(out, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert doc["dump"]["counts"]["pods"] == pods
    assert not [p for p in doc["load_problems"] if "pods.json" in p["file"]], doc["load_problems"]
    assert doc["dump"]["files"][0]["size"] == size + len(LIST_OPEN) + len(LIST_CLOSE)
    assert ("Deployment", "payments", "ledger-api") in _failing(doc)


def test_a_gzip_bomb_after_the_items_keeps_the_items(tmp_path: Path) -> None:
    # the list's items, then 3 GiB of zeros where the list should end (48 gzip members of 64 MiB)
    body = PODS.read_bytes().rsplit(b"]", 1)[0]
    out = tmp_path / "pods.json.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(body))
        f.writelines(gzip_zeros() for _ in range(48))
    run = analyze(out, tmp_path)
    assert_bounded(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    doc = run.doc()
    assert_problem(doc, "unreadable object list", "pods.json", "the 41 objects before were read")
    assert doc["dump"]["counts"]["pods"] == len(_sample_items())
    assert ("Deployment", "payments", "ledger-api") in _failing(doc)


def test_a_list_padded_past_the_cap_keeps_its_items(tmp_path: Path) -> None:
    # `pods.json.gz` whose list runs into 1.1 GB of spaces: its pods are read, the padding is a load problem
    body = PODS.read_bytes().rsplit(b"]", 1)[0]
    out = tmp_path / "pods.json.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(body))
        f.writelines(gzip_padding(b" ") for _ in range(LIST_CAP // CHUNK + 1))
        f.write(gzip.compress(b"]}"))
    run = analyze(out, tmp_path)
    assert_bounded(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    doc = run.doc()
    assert_problem(doc, "unreadable object list", "pods.json", "padding")
    assert doc["dump"]["counts"]["pods"] == len(_sample_items())


def test_a_pure_gzip_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "pods.json.gz"
    with open(out, "wb") as f:
        f.writelines(gzip_zeros() for _ in range(48))
    run = analyze(out, tmp_path)
    assert_unusable(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    assert "gzip-compressed" in run.stderr


def test_a_list_not_in_kubectl_layout_past_the_cap_is_refused_unheld(tmp_path: Path) -> None:
    # minified (`jq -c`): no item boundary to split at, so it could only be decoded whole; past the
    # 1 GiB cap it is refused, having been counted, never held
    body = json.dumps({"kind": "PodList", "apiVersion": "v1", "items": _sample_items()}, separators=(",", ":"))
    out = tmp_path / "pods.json.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(body.rsplit("]", 1)[0].encode()))
        f.writelines(gzip_padding(b" ") for _ in range(LIST_CAP // CHUNK + 1))
        f.write(gzip.compress(b"]}"))
    run = analyze(out, tmp_path)
    assert_unusable(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    assert "file too large" in run.stderr and "not a JSON list as kubectl prints it" in run.stderr


def test_a_minified_list_within_the_cap_is_still_read(tmp_path: Path) -> None:
    # the same shape over what is held whole at once, but within the cap: read again, whole
    body = json.dumps({"kind": "PodList", "apiVersion": "v1", "items": _sample_items()}, separators=(",", ":"))
    out = tmp_path / "pods.json.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(body.rsplit("]", 1)[0].encode() + b"]" + b" " * (100 * MiB) + b"}"))
    run = analyze(out, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert doc["dump"]["counts"]["pods"] == len(_sample_items())


def test_one_long_blank_line_is_refused_in_seconds(tmp_path: Path) -> None:
    # one character, then 3 GiB of blanks: recognising the file looks at its first 64 KiB, in linear time
    out = tmp_path / "ticket.txt.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(b"{"))
        f.writelines(gzip_padding(b" ") for _ in range(48))
    run = analyze(out, tmp_path)
    assert_unusable(run)
    assert run.cpu < 10, run.cpu


TICKET = SAMPLE.parent / "scheduling-ticket.txt"


def test_a_gzipped_kubectl_paste_is_read_as_its_text(tmp_path: Path) -> None:
    plain = analyze(TICKET, tmp_path)
    out = tmp_path / "ticket.txt.gz"
    out.write_bytes(gzip.compress(TICKET.read_bytes()))
    run = analyze(out, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert doc["dump"]["format"] == "kubectl-text"
    assert doc["dump"]["counts"] == plain.doc()["dump"]["counts"]
    assert doc["dump"]["counts"]["pods"] > 0
    assert _failing(doc) == _failing(plain.doc())


def test_a_gzipped_kubectl_paste_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    # a real paste, then 3 GiB of zeros: no paste is that large; refused having held at most its cap
    out = tmp_path / "ticket.txt.gz"
    with open(out, "wb") as f:
        f.write(gzip.compress(TICKET.read_bytes()))
        f.writelines(gzip_zeros() for _ in range(48))
    run = analyze(out, tmp_path)
    assert_unusable(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    assert "file too large" in run.stderr


def _cluster_info_list(kind: str, items: list[dict[str, Any]]) -> bytes:
    """A list as `kubectl cluster-info dump` prints it to its standard output (kind first, 4-space indent)."""
    doc = {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}
    return json.dumps(doc, indent=4).encode() + b"\n"


NODES = json.loads((SAMPLE / "snapshots" / SNAP / "nodes.json").read_bytes())["items"]
LOG_BLOCK = (
    b"==== START logs for container ledger-api of pod payments/ledger-api-w4wr2qc9p-swgfk ====\n"
    b"exec /usr/local/bin/ledger-api: exec format error\n"
    b"==== END logs for container ledger-api of pod payments/ledger-api-w4wr2qc9p-swgfk ====\n"
)


def test_a_big_cluster_info_stdout_reads_every_pod_and_what_follows(tmp_path: Path) -> None:
    # a pod list of ~80 MiB (decoded as it is read), then a log block that must still be found
    base = _sample_items()
    items = []
    size = n = 0
    while size < 80 * MiB:
        item = copy.deepcopy(base[n % len(base)])
        item["metadata"]["name"] += f"-{n}"
        items.append(item)
        size += len(json.dumps(item, indent=4)) + 40 * 8
        n += 1
    out = tmp_path / "cluster-info.txt.gz"
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(_cluster_info_list("NodeList", NODES))
        f.write(_cluster_info_list("PodList", items))
        f.write(_cluster_info_list("EventList", []))
        f.write(LOG_BLOCK)
    run = analyze(out, tmp_path)
    assert_bounded(run)
    doc = run.doc()
    assert doc["dump"]["format"] == "kubectl-cluster-info-dump"
    assert doc["dump"]["counts"]["pods"] == len(items)
    assert doc["dump"]["counts"]["nodes"] == len(NODES)
    assert doc["dump"]["counts"]["logs"] == 1
    assert not doc["load_problems"], doc["load_problems"]


def test_a_gzip_bomb_inside_a_cluster_info_list_keeps_the_items(tmp_path: Path) -> None:
    out = tmp_path / "cluster-info.txt.gz"
    pods = _cluster_info_list("PodList", _sample_items()).rsplit(b"]", 1)[0]
    with open(out, "wb") as f:
        f.write(gzip.compress(_cluster_info_list("NodeList", NODES) + pods))
        f.writelines(gzip_zeros() for _ in range(48))
    run = analyze(out, tmp_path)
    assert_bounded(run)
    assert run.cpu < 10 and run.peak_rss < HELD, (run.cpu, run.peak_rss)
    doc = run.doc()
    assert doc["dump"]["counts"]["pods"] == len(_sample_items())
    assert_problem(doc, "unreadable object list", "cluster-info.txt", "the items before were read")
    assert ("Deployment", "payments", "ledger-api") in _failing(doc)
