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
