"""The objects of one snapshot of a dump, indexed and answered the way the Kubernetes API is asked:
lists, one object, selectors, tables, logs and discovery. No HTTP here (`forensics.serve.server`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from forensics.errors import UnusableInput
from forensics.read import layout
from forensics.serve.resources import ALL_CATEGORY, RESOURCES, VERBS, ApiError, Resource, not_found
from forensics.serve.selectors import dig, field_matches, label_matches, labels_of, parse_field_selector
from forensics.serve.served import LOG_BYTES, ServedDump, open_served
from forensics.serve.tables import TABLES, cells
from forensics.values import iso_seconds, stamp_time


def to_events_v1(ev: dict[str, Any]) -> dict[str, Any]:
    """A core/v1 Event as events.k8s.io/v1 reads it back (the API server converts the same way)."""
    source = ev.get("source") or {}
    out: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": ev.get("metadata", {}),
        "eventTime": ev.get("eventTime"),
        "reason": ev.get("reason"),
        "regarding": ev.get("involvedObject"),
        "note": ev.get("message"),
        "type": ev.get("type"),
        "action": ev.get("action"),
        "reportingController": ev.get("reportingComponent") or source.get("component"),
        "reportingInstance": ev.get("reportingInstance") or source.get("host"),
        "deprecatedSource": source,
        "deprecatedFirstTimestamp": ev.get("firstTimestamp"),
        "deprecatedLastTimestamp": ev.get("lastTimestamp"),
        "deprecatedCount": ev.get("count"),
    }
    if ev.get("series"):
        out["series"] = ev["series"]
    return {k: v for k, v in out.items() if v is not None}


# `kubectl describe` asks a pod's events by involvedObject.uid (`kubectl get events` never does
# unless told to) and prints their ages against its own clock; for an object without a uid (one
# read from kubectl text) it asks by name and namespace, as a plain list (never a Table)
DESCRIBE_KEYS = frozenset({"involvedObject.uid", "regarding.uid"})
DESCRIBE_BY_NAME = frozenset({"involvedObject.name", "involvedObject.namespace"})
EVENT_TIMES = ("firstTimestamp", "lastTimestamp", "eventTime", "deprecatedFirstTimestamp", "deprecatedLastTimestamp")


def as_of_snapshot(ev: dict[str, Any], snap: datetime) -> dict[str, Any]:
    """An event as `kubectl describe` should see it: kubectl computes "Age" as its wall clock minus the
    event's times, so those times are moved forward by (now - snapshot time). The ages it prints
    are then the ages at the snapshot, as `kubectl get` shows them; the original times are kept in
    the annotation `cluster-forensics/original-times`."""
    shift = datetime.now(UTC) - snap
    out = dict(ev)
    original: dict[str, Any] = {}
    for key in EVENT_TIMES:
        v = ev.get(key)
        if not isinstance(v, str) or not v:
            continue
        t = iso_seconds(v)
        if t is None:
            continue
        original[key] = v
        moved = t + shift
        out[key] = moved.strftime("%Y-%m-%dT%H:%M:%S") + (".000000Z" if key == "eventTime" else "Z")
    series = ev.get("series")
    if isinstance(series, dict) and isinstance(series.get("lastObservedTime"), str):
        t = iso_seconds(series["lastObservedTime"])
        if t is not None:
            original["series.lastObservedTime"] = series["lastObservedTime"]
            out["series"] = {**series, "lastObservedTime": (t + shift).strftime("%Y-%m-%dT%H:%M:%S.000000Z")}
    if original:
        meta = dict(out.get("metadata") or {})
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            "cluster-forensics/original-times": json.dumps(original, sort_keys=True),
        }
        out["metadata"] = meta
    return out


def snapshot_time(name: str) -> datetime:
    return stamp_time(name) or datetime.now(UTC)


def typed(obj: dict[str, Any], res: Resource) -> dict[str, Any]:
    """`obj` with its `apiVersion` and `kind`: an API server always names an object's type, but objects
    read by their shape (kubectl text, Insights archives, a support bundle's bare arrays) may lack one
    or both, and kubectl then refuses them (`Object 'apiVersion' is missing`)."""
    if obj.get("apiVersion") and obj.get("kind"):
        return obj
    return {**obj, "apiVersion": obj.get("apiVersion") or res.group_version, "kind": obj.get("kind") or res.kind}


@dataclass
class DumpAPI:
    """The objects of one snapshot of a dump, indexed the way the API is asked."""

    source: Any
    snapshot: str
    snapshots: list[str]
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, dump_path: Path, snapshot: str | None = None, served: ServedDump | None = None) -> DumpAPI:
        """One snapshot of a dump in any format `analyze` reads (`forensics.serve.served`); `served` reuses an
        already opened dump (several snapshots of one dump served at once)."""
        dump = served or open_served(Path(dump_path))
        snaps = dump.snapshots
        if snapshot is None:
            snapshot = snaps[-1]
        elif snapshot not in snaps:
            raise UnusableInput(f"{dump_path}: no snapshot {snapshot!r} (have: {', '.join(snaps)})")
        snap = dump.snapshot(snapshot)
        api = cls(snap, snapshot, snaps)
        for kind in layout.KINDS:
            api.lists[kind] = {"items": [i for i in snap.lists.get(kind) or [] if isinstance(i, dict)]}
        api.problems.extend(snap.problems)
        return api

    # objects

    def items(self, res: Resource) -> list[dict[str, Any]]:
        if res.name == "namespaces":
            return self._namespaces()
        if res.kind_file is None:
            return []
        items = self.lists.get(res.kind_file, {}).get("items", [])
        if res.group == "events.k8s.io":
            out = []
            for e in items:
                try:
                    out.append(e if str(e.get("apiVersion", "")).startswith("events.k8s.io/") else to_events_v1(e))
                except (AttributeError, TypeError):
                    continue  # a core/v1 event with wrongly-typed fields: not convertible, left out
            return out
        return items

    def _namespaces(self) -> list[dict[str, Any]]:
        seen: dict[str, str | None] = {}
        for data in self.lists.values():
            for obj in data["items"]:
                meta = obj.get("metadata") or {}
                ns = meta.get("namespace")
                if ns and isinstance(ns, str):
                    ts = meta.get("creationTimestamp")
                    ts = ts if isinstance(ts, str) else None
                    old = seen.get(ns)
                    seen[ns] = min(t for t in (old, ts) if t) if (old or ts) else None
        return [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, **({"creationTimestamp": ts} if ts else {})},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            for ns, ts in sorted(seen.items())
        ]

    def select(
        self, res: Resource, namespace: str | None, query: dict[str, str], table: bool = False
    ) -> list[dict[str, Any]]:
        """The objects a list request asks for; `table` when it asks them as a Table (`kubectl get`)."""
        out = self.items(res)
        if namespace is not None:
            out = [o for o in out if (o.get("metadata") or {}).get("namespace") == namespace]
        if query.get("fieldSelector"):
            terms = parse_field_selector(query["fieldSelector"])
            out = [o for o in out if field_matches(o, terms)]
            keys = {t[0] for t in terms}
            if res.name == "events" and (keys & DESCRIBE_KEYS or (not table and keys >= DESCRIBE_BY_NAME)):
                out = [as_of_snapshot(e, snapshot_time(self.snapshot)) for e in out]
        if query.get("labelSelector"):
            sel = query["labelSelector"]
            out = [o for o in out if label_matches(labels_of(o), sel)]
        return out

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        for obj in self.items(res):
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
                return typed(obj, res)
        raise not_found(res, name)

    def list_body(self, res: Resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "apiVersion": res.group_version,
            "kind": f"{res.kind}List",
            "metadata": {"resourceVersion": ""},
            # kubectl names the type of items that carry neither field from the list, but refuses an
            # item with only one of them
            "items": [typed(i, res) if bool(i.get("kind")) != bool(i.get("apiVersion")) else i for i in items],
        }

    def table_body(self, res: Resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        cols, row = TABLES[res.name]
        now = snapshot_time(self.snapshot)
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": ""},
            "columnDefinitions": cols,
            "rows": [
                {
                    "cells": cells(row, i, now, len(cols)),
                    "object": {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": i.get("metadata", {}),
                    },
                }
                for i in items
            ],
        }

    # logs

    def log(self, namespace: str, pod_name: str, query: dict[str, str]) -> tuple[bytes, str | None]:
        """The log bytes, exactly as collected (what `kubectl logs` shows for a live cluster too: no
        escaping; the terminal is the client's), and a warning when the server cut the log to its last
        LOG_BYTES."""
        pods = next(r for r in RESOURCES if r.name == "pods")
        pod = self.get(pods, namespace, pod_name)
        spec = pod.get("spec") or {}
        names = [
            c.get("name")
            for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or []
        ]
        container = query.get("container")
        if not container:
            regular = [c.get("name") for c in spec.get("containers") or []]
            if len(regular) != 1:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {pod_name}, "
                    f"choose one of: [{' '.join(map(str, regular))}]",
                )
            container = regular[0]
        if container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
        previous = query.get("previous", "").lower() in ("true", "1")
        data = self.source.log(
            namespace, pod_name, container, previous, timestamps=query.get("timestamps", "").lower() in ("true", "1")
        )
        warning = None
        if data is not None:
            full = max(self.source.log_size(namespace, pod_name, container, previous) or 0, len(data))
            data = data[-LOG_BYTES:]
            if full > len(data):
                warning = (
                    f"log cut to its last {len(data)} bytes of {full}: this server answers at most "
                    f"{LOG_BYTES} bytes per log"
                )
        if data is None:
            if previous:
                raise ApiError(
                    400, "BadRequest", f'previous terminated container "{container}" in pod "{pod_name}" not found'
                )
            status = pod.get("status") or {}
            for st in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
                waiting = (st.get("state") or {}).get("waiting")
                if st.get("name") == container and waiting:
                    raise ApiError(
                        400,
                        "BadRequest",
                        f'container "{container}" in pod "{pod_name}" is waiting '
                        f"to start: {waiting.get('reason', 'PodInitializing')}",
                    )
            raise ApiError(
                404,
                "NotFound",
                f'the log of container "{container}" in pod "{namespace}/{pod_name}" was not collected in this dump',
            )
        if query.get("tailLines"):
            try:
                n = int(query["tailLines"])
            except ValueError:
                raise ApiError(400, "BadRequest", "tailLines: invalid value") from None
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        if query.get("limitBytes"):
            try:
                data = data[: int(query["limitBytes"])]
            except ValueError:
                raise ApiError(400, "BadRequest", "limitBytes: invalid value") from None
        return data, warning

    # discovery

    def version(self) -> dict[str, Any]:
        versions = sorted(
            {
                v
                for n in self.lists.get("nodes", {}).get("items", [])
                if isinstance(v := dig(n, "status.nodeInfo.kubeletVersion"), str) and v
            }
        )
        git = versions[-1] if versions else "v1.32.0"
        m = re.match(r"v(\d+)\.(\d+)", git)
        major, minor = (m.group(1), m.group(2)) if m else ("1", "32")
        return {
            "major": major,
            "minor": minor,
            "gitVersion": git,
            "gitCommit": "",
            "gitTreeState": "",
            "buildDate": "",
            "goVersion": "",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in RESOURCES:
            if r.group and r.version not in out.setdefault(r.group, []):
                out[r.group].append(r.version)
        return out

    def resource_list(self, group: str, version: str) -> dict[str, Any]:
        gv = f"{group}/{version}" if group else version
        entries = []
        for r in RESOURCES:
            if r.group == group and r.version == version:
                entry: dict[str, Any] = {
                    "name": r.name,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": VERBS,
                }
                if r.short_names:
                    entry["shortNames"] = list(r.short_names)
                if r.name in ALL_CATEGORY and r.group != "events.k8s.io":
                    entry["categories"] = ["all"]
                entries.append(entry)
                if r.name == "pods":
                    entries.append(
                        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
                    )
        if not entries:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}

    def find(self, group: str, version: str, name: str) -> Resource:
        for r in RESOURCES:
            if r.group == group and r.version == version and r.name == name:
                return r
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
