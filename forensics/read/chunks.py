"""Item-aligned splitting of an object list too big to hold whole (`DumpSource` streams it in chunks).

`kubectl get -o json` prints its list with a 4-space indent, each item opening with a line
`        {` and closing with `        }` (JSON strings hold no raw newline, so these lines are
unambiguous). `item_batches` cuts the stream after such closing lines, so each batch is whole items
that decode on their own. Text that does not have that shape is handed on whole, as a fallback, up
to `WHOLE_DECODE_MAX` bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

WHOLE_DECODE_MAX = 1024 * 1024 * 1024  # a list not in kubectl's layout is decoded whole up to this
ITEM_MAX = 64 * 1024 * 1024  # no Kubernetes object is this large (etcd refuses objects over 1.5 MiB)
_SHAPE_PROBE = 16 * 1024 * 1024  # the items' opening line is looked for within this many bytes
_ITEMS_OPEN = b'"items": [\n'
_ITEM_CLOSE = b"\n        }"  # an item's last line, followed by "," or a newline and "    ]"


@dataclass(frozen=True, slots=True)
class Batch:
    """Whole items of the list as a JSON array (`[item, item]`, decoded as it is); or (`whole`) the
    entire text of a list not laid out as kubectl prints it, to be decoded as one document."""

    data: bytes
    whole: bool = False


def kubectl_list(head: bytes) -> bool:
    """Whether the first bytes of a file are a JSON object whose `items` list opens as kubectl prints
    it, so that `item_batches` can split it without holding it whole."""
    return head.lstrip()[:1] == b"{" and head.find(_ITEMS_OPEN, 0, _SHAPE_PROBE) >= 0


def item_batches(chunks: Iterator[bytes]) -> Iterator[Batch]:
    """The items of the list `chunks` spell, in batches of whole items, never holding the whole text.

    Raises `msgspec.DecodeError` when the text is no JSON list, when a list not laid out as kubectl
    prints it is over `WHOLE_DECODE_MAX`, or when no item ends within `ITEM_MAX` bytes."""
    buf = b""
    started = False
    head: list[bytes] = []
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        if not started:
            i = buf.find(_ITEMS_OPEN)
            if i < 0:
                if len(buf) > _SHAPE_PROBE:  # not kubectl's shape: decode whole, if it can be
                    lead = buf[:4096].lstrip()
                    if not lead.startswith((b"{", b"[")):
                        raise msgspec.DecodeError(f"not a JSON object list (starts with {lead[:16]!r})")
                    head.append(buf)
                    size = len(buf)
                    buf = b""
                    for more in chunks:
                        size += len(more)
                        if size > WHOLE_DECODE_MAX:
                            raise msgspec.DecodeError(
                                f"over {WHOLE_DECODE_MAX} bytes and not laid out as kubectl prints lists: "
                                "not decoded whole"
                            )
                        head.append(more)
                    yield Batch(b"".join(head), whole=True)
                    return
                continue
            buf = buf[i + len(_ITEMS_OPEN) :]
            started = True
        # the last item end in the buffer: `},` inside the list, `}` and a newline after the last item
        # (looked for only after the last `},`, never through the whole buffer again)
        cut = buf.rfind(_ITEM_CLOSE + b",")
        cut = max(cut, buf.rfind(_ITEM_CLOSE + b"\n", max(cut, 0)))
        if cut < 0:
            if len(buf) > ITEM_MAX:
                raise msgspec.DecodeError(
                    f"no end of an item within {ITEM_MAX} bytes (padding or a giant "
                    "object): the rest of the list was not read"
                )
            continue
        cut += len(_ITEM_CLOSE)
        skip = 1 if buf[:1] == b"," else 0  # the comma after the previous batch's last item
        # the batch is copied once, straight into its brackets
        batch = b"".join((b"[", memoryview(buf)[skip:cut], b"]"))
        buf = buf[cut:]
        yield Batch(batch)
    if not started:
        yield Batch(b"".join(head) + buf, whole=True)
        return
    tail = buf.strip()
    end = tail.find(b"]")
    rest = tail[:end].strip().lstrip(b",").strip() if end >= 0 else tail
    if rest:
        yield Batch(b"[" + rest + b"]")
