"""OpenShift Insights Operator archives (`insights-<time>.tar.gz`, or the folder it unpacks to).

The operator gathers a reduced view of the cluster for Red Hat's Insights service. The root is where
`config/` and `insights-operator/` are (layout from openshift/insights-operator `docs/gathered-data.md`
and its `docs/insights-archive-sample/`):

    insights-operator/gathers.json                     what each gatherer did (decides the format)
    config/pod/<ns>/<pod>.json                         one Pod, without kind/apiVersion
    config/pod/<ns>/logs/<pod>/<name>.log              matching lines of a pod's log (no container name)
    config/node/<node>.json                            one Node, without kind/apiVersion
    events/<ns>.json                                   {"items": [{namespace, lastTimestamp, reason,
                                                       message, type}]}: no involved object
    conditional/namespaces/<ns>/pods/<pod>/<pod>.json  a Pod a conditional gatherer picked
    conditional/namespaces/<ns>/pods/<pod>/containers/<c>/logs/last-<n>-lines.log
    namespaces/<ns>/pods/<pod>/*.json                  read when the object has a Pod's shape

Everything else (cluster operators, machine configs, CRDs, config maps, ...) is not used. The
archive keeps only pods of namespaces with trouble and no workload objects, its events name no
object, and it holds no collection time inside: these gaps are stated with every load.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from forensics.read.formats.common import (
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    Part,
    add_images,
    convert_items,
    finish,
    open_raw,
    parts_of,
    short,
    time_in_names,
)
from forensics.read.formats.raw import RawDump
from forensics.read.formats.raw import items as raw_items
from forensics.read.formats.shapes import internal_version, kind_by_shape
from forensics.read.load import Dump
from forensics.read.source import DumpSource

FORMAT = "insights-operator-archive"
GATHERS = ("insights-operator", "gathers.json")
CONFIG = "config"
_ARCHIVE_TIME = re.compile(r"insights-(\d{4}-\d{2}-\d{2}-\d{6})")

GAPS = [
    {
        "what": "an Insights Operator archive",
        "impact": "it keeps pods of namespaces with trouble only (the others are unknown), no Deployments, "
        "ReplicaSets or Jobs (workloads are named from the pods' owners), and log lines that matched "
        "its filters, not whole logs",
    },
    {
        "what": "events without the object they are about",
        "impact": "the archive reduces events to namespace, reason, message and time: they cannot be tied to a "
        "pod and back no finding",
    },
]


def marker(parts: list[str]) -> tuple[str, bool] | None:
    n = len(parts)
    for i in range(n - 1):
        if (parts[i], parts[i + 1]) == GATHERS and i + 2 == n:
            return "".join(p + "/" for p in parts[:i]), True
        if (
            parts[i] == CONFIG
            and i + 3 <= n - 1
            and parts[i + 1] == "pod"
            and parts[-1].endswith(".json")
            and i + 3 == n - 1
        ):
            return "".join(p + "/" for p in parts[:i]), True
        if parts[i] == CONFIG and parts[i + 1] == "node" and i + 3 == n and parts[-1].endswith(".json"):
            return "".join(p + "/" for p in parts[:i]), True
    return None


def classify(rel: str) -> Part | None:
    """A `pod` or `node` file, `events` of a namespace, a `log` (container "" when the path names
    none), a `maybe-pod` (a file that holds a Pod when it has a Pod's shape), or None."""
    p = rel.split("/")
    n = len(p)
    if n == 4 and p[:2] == [CONFIG, "pod"] and p[3].endswith(".json"):
        return Part("pod", namespace=p[2])
    if n == 6 and p[:2] == [CONFIG, "pod"] and p[3] == "logs" and p[5].endswith(".log"):
        return Part("log", namespace=p[2], pod=p[4], container="")
    if n == 3 and p[:2] == [CONFIG, "node"] and p[2].endswith(".json"):
        return Part("node")
    if n == 2 and p[0] == "events" and p[1].endswith(".json"):
        return Part("events", namespace=p[1][:-5])
    if n == 6 and p[:2] == ["conditional", "namespaces"] and p[3] == "pods" and p[5].endswith(".json"):
        return Part("maybe-pod", namespace=p[2])
    if (
        n == 9
        and p[:2] == ["conditional", "namespaces"]
        and p[3] == "pods"
        and p[5] == "containers"
        and p[7] == "logs"
        and p[8].endswith(".log")
    ):
        return Part("log", namespace=p[2], pod=p[4], container=p[6])
    if n == 5 and p[0] == "namespaces" and p[2] == "pods" and p[4].endswith(".json"):
        return Part("maybe-pod", namespace=p[1])
    return None


def archive_time(*names: str) -> datetime | None:
    """The time in an `insights-2024-04-27-095424.tar.gz` name (the operator's upload time)."""
    return time_in_names(_ARCHIVE_TIME, "%Y-%m-%d-%H%M%S", *names)


def load(path: Path, prefix: str, *, source: DumpSource | None = None, images: Path | None = None) -> Dump:
    """Load the archive whose root is `prefix` inside `path`."""
    src = source or open_raw(path)
    b = ForeignBuilder()
    skipped = 0

    def cap(part: Part) -> int:
        return src.limits.log_bytes if part.role == "log" else src.limits.member_bytes

    for rel, c, data in parts_of(src, prefix, classify, cap):
        if c.role == "log":
            b.add_log_text(
                PENDING,
                str(c.namespace),
                str(c.pod),
                c.container or None,  # type: ignore[arg-type]
                False,
                rel,
                data,
            )
            continue
        try:
            doc = json.loads(data.decode("utf-8", errors="replace"))
        except RecursionError:
            src.problem(rel, "unreadable JSON", "nested too deeply")
            continue
        except ValueError as e:
            if c.role != "maybe-pod":
                src.problem(rel, "unreadable JSON", short(e))
            continue
        if c.role == "events":
            _events(b, src, rel, doc)
            continue
        want = "nodes" if c.role == "node" else "pods"
        shape = (
            kind_by_shape(doc)
            if isinstance(doc, dict) and not doc.get("kind")
            else ({"Pod": "pods", "Node": "nodes"}.get(str(doc.get("kind"))) if isinstance(doc, dict) else None)
        )
        if shape != want:
            if c.role != "maybe-pod":
                why = (
                    "internal-version JSON (Go field names)"
                    if internal_version(doc)
                    else f"not the shape of a {want[:-1].capitalize()}"
                )
                src.problem(rel, "unreadable object (not decoded)", why)
            else:
                skipped += 1
            continue
        try:
            b.add_items(PENDING, want, rel, convert_items(want, [doc]))
        except msgspec.ValidationError as e:
            src.problem(rel, "unreadable object", short(e))
    if images is not None:
        add_images(b, images, src)
    meta: dict[str, Any] = {"source_format": FORMAT}
    return finish(
        b,
        src,
        path=Path(path),
        fmt=FORMAT,
        meta=meta,
        collected_at=archive_time(prefix, Path(path).name),
        gaps=list(GAPS),
    )


def _events(b: ForeignBuilder, src: DumpSource, rel: str, doc: Any) -> None:
    """The archive's reduced events, as events about no object in their namespace."""
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        src.problem(rel, "unreadable events", "no items list")
        return
    objs = []
    for it in items:
        if not isinstance(it, dict):
            continue
        if "involvedObject" in it or "metadata" in it:
            objs.append(it)
            continue
        objs.append(
            {
                "metadata": {"namespace": it.get("namespace")},
                "reason": it.get("reason"),
                "message": it.get("message"),
                "type": it.get("type"),
                "lastTimestamp": it.get("lastTimestamp"),
                "firstTimestamp": it.get("lastTimestamp"),
            }
        )
    try:
        b.add_items(PENDING, "events", rel, convert_items("events", objs))
    except msgspec.ValidationError as e:
        src.problem(rel, "unreadable events", short(e))


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    return load(path, found.prefix, images=images)


def raw(src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers: one kind-less Pod or Node per file, recognised by shape as the analyzer
    does; log snippets by pod (and container, when the path names one). Events name no object here,
    so none are served."""
    out = RawDump()
    cap = src.limits.member_bytes
    for _, c, data in parts_of(src, found.prefix, classify, lambda c: None if c.role == "events" else cap):
        if c.role == "log":
            out.logs[(str(c.namespace), str(c.pod), str(c.container), False)] = data
            continue
        for doc in raw_items(data):
            kind = kind_by_shape(doc) if isinstance(doc, dict) and not doc.get("kind") else None
            if kind in ("pods", "nodes") and (kind == "nodes") == (c.role == "node"):
                out.lists.setdefault(kind, []).append(
                    {"kind": "Node" if kind == "nodes" else "Pod", "apiVersion": "v1", **doc}
                )
    return out


SPEC = Format(FORMAT, read, marker=marker, classify=classify, raw=raw)
