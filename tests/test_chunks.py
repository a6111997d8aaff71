"""`chunks.item_batches`: a kubectl list cut into batches of whole items wherever the read chunks end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from forensics.read.chunks import item_batches


def _kubectl_list(n: int) -> bytes:
    """A list as `kubectl get -o json` prints it (4-space indent), items with nested objects and text
    that looks like JSON structure."""
    items = [
        {
            "metadata": {"name": f"p{i}", "labels": {"app": "x" * (i % 7)}},
            "status": {"message": "}\n        }," if i % 3 == 0 else "ok", "n": i},
        }
        for i in range(n)
    ]
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4).encode()


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def _items(data: bytes, size: int) -> list[Any]:
    out: list[Any] = []
    for b in item_batches(_chunks(data, size)):
        assert not b.whole
        out.extend(msgspec.json.decode(b.data))  # each batch decodes on its own
    return out


@pytest.mark.parametrize("size", [1, 7, 64, 1009, 1 << 20])
def test_batches_hold_every_item_once_in_order(size: int) -> None:
    data = _kubectl_list(40)
    assert _items(data, size) == json.loads(data)["items"]


def test_empty_list_is_handed_on_whole() -> None:
    data = json.dumps({"items": []}, indent=4).encode()  # `"items": []` on one line: no item lines
    assert [(b.data, b.whole) for b in item_batches(_chunks(data, 5))] == [(data, True)]


def test_other_layouts_are_handed_on_whole() -> None:
    data = json.dumps(json.loads(_kubectl_list(5))).encode()  # compact: no item lines to cut at
    batches = list(item_batches(_chunks(data, 100)))
    assert len(batches) == 1 and batches[0].whole and batches[0].data == data


def test_text_that_is_no_json_list_is_refused() -> None:
    big = b"not json " * (2 * 1024 * 1024)  # past the 16 MiB the items' opening line is looked for in
    with pytest.raises(msgspec.DecodeError, match="not a JSON object list"):
        list(item_batches(_chunks(big, 1 << 20)))
