"""OpenShift must-gather and `oc adm inspect` output.

`oc adm must-gather` wraps its root twice (`must-gather.local.<n>/<image-name>/`); `oc adm inspect`
once (`inspect.local.<n>/`). The root is where `namespaces/` or `cluster-scoped-resources/` is:

    timestamp                                               start and end, Go time.String() form
    namespaces/<ns>/core/pods.yaml | events.yaml            PodList / EventList in YAML
    namespaces/<ns>/apps/<kind>.yaml                        deployments, replicasets, daemonsets, statefulsets
    namespaces/<ns>/batch/<kind>.yaml                       jobs, cronjobs
    namespaces/<ns>/pods/<pod>/<pod>.yaml                   one Pod (used when core/pods.yaml is absent)
    namespaces/<ns>/pods/<pod>/<container>/<container>/logs/current.log | previous.log
                                                            lines prefixed with RFC 3339 timestamps
    cluster-scoped-resources/core/nodes/<node>.yaml         one Node per file

`*.insecure.log` variants (fetched skipping TLS verification when the secure fetch failed) are read
when not empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.read.formats.common import (
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    Part,
    add_images,
    convert_items,
    finish,
    items_by_kind,
    open_raw,
    parts_of,
    short,
    yaml_docs,
)
from forensics.read.formats.raw import RawDump, merge
from forensics.read.formats.raw import items as raw_items
from forensics.read.formats.raw import objects as raw_objects
from forensics.read.load import Dump
from forensics.read.source import DumpSource

FORMAT = "must-gather"
NAMESPACES = "namespaces"
CLUSTER_SCOPED = "cluster-scoped-resources"
TIMESTAMP = "timestamp"
GROUP_FILES = {
    ("core", "pods.yaml"): "pods",
    ("core", "events.yaml"): "events",
    ("apps", "deployments.yaml"): "deployments",
    ("apps", "replicasets.yaml"): "replicasets",
    ("apps", "daemonsets.yaml"): "daemonsets",
    ("apps", "statefulsets.yaml"): "statefulsets",
    ("batch", "jobs.yaml"): "jobs",
    ("batch", "cronjobs.yaml"): "cronjobs",
}
LOG_FILES = {"current.log": False, "previous.log": True, "current.insecure.log": False, "previous.insecure.log": True}
_TS_LINE = re.compile(rb"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ", re.MULTILINE)
_STAMP = Part("timestamp")  # the gathering's `timestamp` file, at the root or in a folder wrapping it
_GO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? ([+-]\d{4})")

GAPS: list[dict[str, str]] = []


def marker(parts: list[str]) -> tuple[str, bool] | None:
    for i, p in enumerate(parts[:-1]):
        if p == CLUSTER_SCOPED and i + 2 < len(parts):
            return "".join(x + "/" for x in parts[:i]), True
        if p == NAMESPACES and i + 3 < len(parts) and parts[i + 2] in ("core", "apps", "batch", "pods"):
            return "".join(x + "/" for x in parts[:i]), True
    return None


def classify(rel: str) -> Part | None:
    """`objects` of a kind in a namespace, one `pod` file, a `node` file, a container `log`, or None."""
    parts = rel.split("/")
    n = len(parts)
    if parts[0] == NAMESPACES:
        if n == 4 and (parts[2], parts[3]) in GROUP_FILES:
            return Part("objects", GROUP_FILES[(parts[2], parts[3])], namespace=parts[1])
        if n == 5 and parts[2] == "pods" and parts[4] in (f"{parts[3]}.yaml", f"{parts[3]}.yml"):
            return Part("pod", namespace=parts[1], pod=parts[3])
        if n == 8 and parts[2] == "pods" and parts[6] == "logs" and parts[7] in LOG_FILES:
            return Part("log", namespace=parts[1], pod=parts[3], container=parts[5], previous=LOG_FILES[parts[7]])
        return None
    if parts[0] == CLUSTER_SCOPED and n >= 3 and parts[1] == "core":
        if n == 4 and parts[2] == "nodes" and parts[3].endswith((".yaml", ".yml")):
            return Part("node")
        if n == 3 and parts[2] in ("nodes.yaml", "nodes.yml"):
            return Part("node")
    return None


def parse_timestamp_file(data: bytes) -> datetime | None:
    """The last time in a must-gather `timestamp` file (`2023-06-06 09:07:04.86 +0000 UTC m=+0.0`)."""
    found = _GO_TIME.findall(data.decode("utf-8", errors="replace"))
    if not found:
        return None
    day, zone = found[-1]
    try:
        return datetime.strptime(f"{day} {zone}", "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


def load(path: Path, prefix: str, *, source: DumpSource | None = None, images: Path | None = None) -> Dump:
    """Load the must-gather (or inspect) tree whose root is `prefix` inside `path`."""
    src = source or open_raw(path)
    b = ForeignBuilder()
    stamps: list[tuple[int, datetime]] = []
    log_times: list[str] = []
    ns_with_list: set[str] = set()
    single_pods: dict[str, list[tuple[str, Any]]] = {}

    def is_timestamp(name: str) -> bool:
        # the root's own `timestamp`, or one in a folder wrapping it (oc writes both)
        return name.rsplit("/", 1)[-1] == TIMESTAMP and prefix.startswith(name[: -len(TIMESTAMP)])

    def member(name: str) -> Part | None:
        if is_timestamp(name):
            return _STAMP
        return classify(name[len(prefix) :]) if name.startswith(prefix) else None

    def cap(part: Part) -> int:
        if part is _STAMP:
            return 4096
        return src.limits.log_bytes if part.role == "log" else src.limits.member_bytes

    for name, c, data in parts_of(src, "", member, cap):
        if c is _STAMP:
            t = parse_timestamp_file(data)
            if t is not None:
                stamps.append((name.count("/"), t))
            continue
        rel = name[len(prefix) :]
        if c.role == "log":
            if ".insecure." in rel and not data.strip():
                continue
            last = _last_timestamp(data)
            if last:
                log_times.append(last)
            b.add_log_text(PENDING, str(c.namespace), str(c.pod), str(c.container), c.previous, rel, data)
            continue
        try:
            grouped = items_by_kind(yaml_docs(data))
        except yaml.YAMLError as e:
            src.problem(rel, "unreadable YAML", short(e))
            continue
        if c.role == "pod":
            single_pods.setdefault(str(c.namespace), []).extend((rel, o) for o in grouped.get("pods", []))
            continue
        if c.role == "objects" and c.kind == "pods":
            ns_with_list.add(str(c.namespace))
        for kind, objs in grouped.items():
            odd: list[str] = []
            b.add_items(PENDING, kind, rel, convert_items(kind, objs, odd))
            for why in odd[:20]:
                src.problem(rel, "odd field dropped" if "dropped" in why else "unreadable object", why)
    for ns, pods in sorted(single_pods.items()):
        if ns in ns_with_list:
            continue
        for rel, obj in pods:
            try:
                b.add_items(PENDING, "pods", rel, convert_items("pods", [obj]))
            except msgspec.ValidationError as e:
                src.problem(rel, "unreadable pod", short(e))
    if images is not None:
        add_images(b, images, src)
    meta: dict[str, Any] = {"source_format": FORMAT}
    collected_at = max(t for _, t in stamps) if stamps else None  # the end of gathering
    return finish(
        b,
        src,
        path=Path(path),
        fmt=FORMAT,
        meta=meta,
        collected_at=collected_at,
        gaps=list(GAPS),
        extra_times=log_times,
    )


def _last_timestamp(data: bytes) -> str | None:
    """The timestamp of the last line of a `--timestamps` log (oc prefixes every line with one)."""
    tail = data[-4096:]
    found = _TS_LINE.findall(tail)
    return found[-1].decode() if found else None


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    return load(path, found.prefix, images=images)


def raw(src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers: the object lists; per-pod files (`oc adm inspect`) only for namespaces
    without a pod list; a container's log, its `.insecure.` copy only when the first is missing or empty.
    Logs carry `oc logs --timestamps` prefixes."""
    out = RawDump(timestamped_logs=True)
    single: dict[str, list[dict[str, Any]]] = {}
    listed: set[str] = set()
    cap = src.limits.member_bytes
    for rel, c, data in parts_of(src, found.prefix, classify, lambda c: cap):
        if c.role == "log":
            key = (str(c.namespace), str(c.pod), str(c.container), c.previous)
            if ".insecure." in rel and (not data.strip() or key in out.logs):
                continue
            out.logs[key] = data
            continue
        objs = raw_objects(raw_items(data, yaml_form=True))
        if c.role == "pod":
            single.setdefault(str(c.namespace), []).extend(objs.get("pods", []))
            continue
        if c.role == "objects" and c.kind == "pods":
            listed.add(str(c.namespace))
        merge(out.lists, objs)
    for ns, pods in sorted(single.items()):  # oc adm inspect: only per-pod files
        if ns not in listed:
            out.lists.setdefault("pods", []).extend(pods)
    return out


# an Insights archive also holds must-gather-like folders (`cluster-scoped-resources/`, `namespaces/`)
# that sort before its own `config/` and `insights-operator/`: look further before calling it a must-gather
SPEC = Format(FORMAT, read, marker=marker, peek=4096, classify=classify, raw=raw)
