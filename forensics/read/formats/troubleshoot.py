"""Replicated troubleshoot support bundles (`kubectl support-bundle`).

A `.tar.gz` with one top folder `support-bundle-<2006-01-02T15_04_05>/`; the root is where
`cluster-resources/` is (paths from `pkg/collect/cluster_resources.go` in replicatedhq/troubleshoot):

    version.yaml                                       SupportBundleVersion
    cluster-resources/nodes.json
    cluster-resources/<kind>/<namespace>.json          pods, events, deployments, replicasets,
                                                       statefulsets, daemonsets, jobs, cronjobs
    cluster-resources/pods/logs/<ns>/<pod>/<container>.log | <container>-previous.log
    cluster-resources/<kind>-errors.json               what failed to collect: {namespace: error}
                                                       or [error, ...]
    all-logs/<pod>/<container>.log                     symlinks into cluster-resources/pods/logs/
                                                       (v0.50+): noted once, never read twice
    <collector>/<name>.json                            a collector's output (runPod: the Pod it ran, kind-less
                                                       at times): read when it has a Pod's shape

Bundles made before 2022 store each list as a bare JSON array (`json.MarshalIndent(list.Items)`),
later ones the List object: both are read. Redacted values read `***HIDDEN***`; they are counted and
left as they are. Pod logs are only there for the pods the bundle chose (failing ones, by default).
"""

from __future__ import annotations

import json
import posixpath
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.read import yamlsafe
from forensics.read.formats.common import (
    PENDING,
    REDACTED,
    Detected,
    ForeignBuilder,
    Format,
    Part,
    add_images,
    convert_items,
    decode_json_items,
    finish,
    open_raw,
    parts_of,
    short,
    time_in_names,
)
from forensics.read.formats.shapes import kind_by_shape
from forensics.read.load import Dump
from forensics.read.source import DumpSource, LoadProblem

FORMAT = "troubleshoot-bundle"
ROOT = "cluster-resources"
VERSION = "version.yaml"
NODES = f"{ROOT}/nodes.json"
KIND_DIRS = ("pods", "events", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs")
POD_LOGS = f"{ROOT}/pods/logs"
ALL_LOGS = "all-logs"
ERRORS_SUFFIX = "-errors.json"
PREVIOUS_SUFFIX = "-previous.log"
_BUNDLE_TIME = re.compile(r"support-bundle-(\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2})")

GAPS = [
    {
        "what": "logs of chosen pods only",
        "impact": "a support bundle keeps logs for the pods its spec (by default: failing pods) selected; "
        "other containers' output is unknown",
    },
]


def marker(parts: list[str]) -> tuple[str, bool] | None:
    if ROOT in parts[:-1]:
        i = parts.index(ROOT)
        return "".join(p + "/" for p in parts[:i]), True
    return None


def classify(rel: str) -> Part | None:
    """`objects` of a kind, a `log`, `errors` (a `*-errors.json`), `version`, `collected-pod`, or None."""
    if rel == VERSION:
        return Part("version")
    parts = rel.split("/")
    if parts[0] != ROOT:
        # a collector's own folder (`runPod` writes `<name>/<name>.json`): read when it holds a Pod
        if len(parts) == 2 and parts[1].endswith(".json") and parts[0] not in (ALL_LOGS,):
            return Part("collected-pod")
        return None
    if parts[-1].endswith(ERRORS_SUFFIX):
        return Part("errors")
    if rel == NODES:
        return Part("objects", "nodes")
    if len(parts) == 3 and parts[1] in KIND_DIRS and parts[2].endswith(".json"):
        return Part("objects", parts[1])
    if len(parts) == 6 and rel.startswith(POD_LOGS + "/") and parts[5].endswith(".log"):
        fname = parts[5]
        if fname.endswith(PREVIOUS_SUFFIX):
            return Part(
                "log", namespace=parts[3], pod=parts[4], container=fname[: -len(PREVIOUS_SUFFIX)], previous=True
            )
        return Part("log", namespace=parts[3], pod=parts[4], container=fname[:-4])
    return None


def bundle_time(*names: str) -> datetime | None:
    """The collection time in a `support-bundle-2006-01-02T15_04_05` folder or archive name."""
    return time_in_names(_BUNDLE_TIME, "%Y-%m-%dT%H_%M_%S", *names)


def load(path: Path, prefix: str, *, source: DumpSource | None = None, images: Path | None = None) -> Dump:
    """Load the bundle whose root is `prefix` inside `path`."""
    src = source or open_raw(path)
    b = ForeignBuilder()
    meta: dict[str, Any] = {"source_format": FORMAT}
    redacted = 0
    not_collected = 0

    def cap(part: Part) -> int:
        if part.role == "objects":
            return src.limits.member_bytes
        return src.limits.log_bytes if part.role == "log" else src.limits.small_bytes

    for rel, c, data in parts_of(src, prefix, classify, cap):
        redacted += data.count(REDACTED)
        if c.role == "objects":
            assert c.kind is not None
            try:
                b.add_items(PENDING, c.kind, rel, decode_json_items(c.kind, data))
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                src.problem(rel, "unreadable object list", short(e))
        elif c.role == "log":
            b.add_log_text(PENDING, str(c.namespace), str(c.pod), str(c.container), c.previous, rel, data)
        elif c.role == "errors":
            not_collected += _errors(rel, data, src)
        elif c.role == "version":
            meta["troubleshoot_version"] = _version(data)
        elif c.role == "collected-pod":
            _collected_pod(b, src, rel, data)
    if images is not None:
        add_images(b, images, src)
    gaps = list(GAPS)
    links = _fold_log_links(src, prefix)
    if links:
        gaps.append(
            {
                "what": f"{links} links into {POD_LOGS}/ ({ALL_LOGS}/, a logs collector's own name)",
                "impact": f"none: that is the bundle's normal layout; each log was read once, from {POD_LOGS}/",
            }
        )
    if redacted:
        meta["redacted_values"] = redacted
        gaps.append(
            {
                "what": f"{redacted} redacted values (***HIDDEN***)",
                "impact": "redacted fields (commands, env values, some messages) cannot be read",
            }
        )
    if not_collected:
        gaps.append(
            {
                "what": f"{not_collected} collection errors in *-errors.json",
                "impact": "some lists were not collected by the bundle; see the load problems",
            }
        )
    collected_at = bundle_time(prefix, Path(path).name)
    return finish(b, src, path=Path(path), fmt=FORMAT, meta=meta, collected_at=collected_at, gaps=gaps)


def _collected_pod(b: ForeignBuilder, src: DumpSource, rel: str, data: bytes) -> None:
    """A Pod a collector saved in its own folder, with or without kind (recognised by shape); any
    other JSON there is not ours and is left alone."""
    try:
        doc = json.loads(data.decode("utf-8", errors="replace"))
    except RecursionError:
        src.problem(rel, "unreadable JSON", "nested too deeply")
        return
    except ValueError:
        return
    if not isinstance(doc, dict):
        return
    if doc.get("kind") != "Pod" and kind_by_shape(doc) != "pods":
        return
    odd: list[str] = []
    b.add_items(PENDING, "pods", rel, convert_items("pods", [doc], odd))
    for why in odd[:5]:
        src.problem(rel, "odd field dropped" if "dropped" in why else "unreadable object", why)


def _fold_log_links(src: DumpSource, prefix: str) -> int:
    """Troubleshoot writes `all-logs/<pod>/<container>.log` (v0.50+), and a `logs` collector's output
    under its own name (`static-hi.log`), as symlinks into `cluster-resources/pods/logs/`. The source
    skips link members and says so per link; a link whose target lies in that folder is the layout,
    not a problem (the log is read there): drop those entries and return how many there were (stated
    once in the gaps). A link pointing anywhere else stays a load problem."""
    root = f"{prefix}{ALL_LOGS}/"
    logs = f"{prefix}{POD_LOGS}/"

    def into_logs(p: LoadProblem) -> bool:
        if "link" not in p.what:
            return False
        if p.file.startswith(root):
            return True
        m = _LINK_TARGET.search(p.why)
        if m is None or m.group(1).startswith("/"):
            return False
        return posixpath.normpath(posixpath.join(posixpath.dirname(p.file), m.group(1))).startswith(logs)

    keep = [p for p in src.problems if not into_logs(p)]
    n = len(src.problems) - len(keep)
    src.problems[:] = keep
    return n


_LINK_TARGET = re.compile(r"(?:links|points) to '([^']*)'")


def _errors(rel: str, data: bytes, src: DumpSource) -> int:
    """Record each entry of a `*-errors.json` file (`{namespace: error}` or `[error, ...]`)."""
    try:
        doc = json.loads(data.decode("utf-8", errors="replace") or "null")
    except (ValueError, RecursionError) as e:
        src.problem(rel, "unreadable collection-error list", short(e))
        return 0
    what = f"{rel.rsplit('/', 1)[-1][: -len(ERRORS_SUFFIX)]} not collected by the support bundle"
    entries: list[str] = []
    if isinstance(doc, dict):
        entries = [f"{k}: {v}" for k, v in doc.items()]
    elif isinstance(doc, list):
        entries = [str(v) for v in doc]
    elif doc is not None:
        entries = [str(doc)]
    for entry in entries:
        src.problem(rel, what, entry.replace("\n", " ")[:500])
    return len(entries)


def _version(data: bytes) -> str | None:
    try:
        doc = yamlsafe.load(data.decode("utf-8", errors="replace"))
    except yaml.YAMLError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
        v = doc["spec"].get("versionNumber")
        return str(v) if v is not None else None
    return None


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    return load(path, found.prefix, images=images)


# served by the generic loop over `classify` (its `objects` and `log` parts)
SPEC = Format(FORMAT, read, marker=marker, classify=classify)
