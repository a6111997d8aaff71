"""`serve` reads a single compressed file (`pods.json.gz`, a gzipped cluster-info stdout) as what it
holds, the way `analyze` does: the same objects and logs as the plain file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from forensics.serve.served import open_served

SNAP_DIR = Path(__file__).resolve().parents[1] / "sample_dumps" / "graviton-new-pool" / "snapshots" / "20240312T140512Z"


def _cluster_info_stdout() -> bytes:
    out = b""
    for kind, name in (("NodeList", "nodes.json"), ("PodList", "pods.json")):
        items = json.loads((SNAP_DIR / name).read_bytes())["items"]
        out += json.dumps({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}, indent=4).encode() + b"\n"
    return out + (
        b"==== START logs for container ledger-api of pod payments/ledger-api-w4wr2qc9p-swgfk ====\n"
        b"exec /usr/local/bin/ledger-api: exec format error\n"
        b"==== END logs for container ledger-api of pod payments/ledger-api-w4wr2qc9p-swgfk ====\n"
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [("pods.json", lambda: (SNAP_DIR / "pods.json").read_bytes()), ("cluster-info.txt", _cluster_info_stdout)],
)
def test_a_compressed_single_file_is_served_as_the_plain_one(tmp_path: Path, name: str, content: object) -> None:
    data = content()  # type: ignore[operator]
    plain = tmp_path / name
    plain.write_bytes(data)
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress(data))
    a = open_served(plain)
    b = open_served(packed)
    sa, sb = a.snapshot(a.snapshots[0]), b.snapshot(b.snapshots[0])
    assert sa.lists["pods"], sa.lists.keys()
    assert {k: len(v) for k, v in sb.lists.items()} == {k: len(v) for k, v in sa.lists.items()}
    assert sb.lists["pods"] == sa.lists["pods"]
    key = ("payments", "ledger-api-w4wr2qc9p-swgfk", "ledger-api", False)
    assert sb.log(*key) == sa.log(*key)
