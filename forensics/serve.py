"""A read-only Kubernetes API server that answers from a dump, for the real `kubectl`.

`forensics serve DUMP` lets an engineer run `kubectl get/describe/logs/cluster-info dump` offline
against what a customer collected, and it is how the collectors are tested end to end (they run
against this server with the real kubectl).

What it answers (enough for kubectl 1.32, see /work/shared/TOOLS.md "The real kubectl ..."):

    GET /version /api /apis /api/v1 /apis/<group>/<version>       legacy discovery, with shortNames
    GET /api/v1/<resource>                                         cluster-wide list
    GET /api/v1/namespaces/<ns>/<resource>[/<name>]                namespaced list or one object
    GET /apis/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>]
    GET /api/v1/namespaces/<ns>/pods/<pod>/log?container=C[&previous=true][&tailLines=N][&limitBytes=N]

Errors are real `Status` objects (404 NotFound, 400 BadRequest, 403 Forbidden, 405). A request for
a Table (`Accept: ...;as=Table`) gets a Table with kubectl's usual columns for the collected kinds and
the plain list for the rest; kubectl falls back to NAME/AGE columns for a plain list. Namespaces are derived from the
namespaces the objects live in. Nothing is ever written; the server binds 127.0.0.1 only.

Every request's body is read before it is answered (kubectl sends one with DELETE), so a kept-alive
connection never reads a body as the next request. Ages are as of the snapshot: the Table columns
are computed against the snapshot's time, and the events `kubectl describe` asks for (selected by
`involvedObject.uid`) are answered with their times moved forward by (now - snapshot time), because
kubectl computes describe's "Age" against its own clock; the original times stay in the annotation
`cluster-forensics/original-times`. `kubectl get events -o json` sees the times unchanged.

A dump is hostile input here too: each object is decoded on its own (one that is not JSON, nests
absurdly deep or has no string name is left out and reported on stderr at start; a table row of a
wrongly-typed object reads `<invalid object>`), connections idle past `IDLE_TIMEOUT` are closed, at
most `MAX_CONNECTIONS` are served at once (more get 503), and a log is served up to its last
`LOG_BYTES` with a `Warning` header (kubectl prints it). Log bytes are otherwise handed to
`kubectl logs` exactly as collected, control characters included: that is what kubectl shows for a
live cluster too, and the terminal is kubectl's.

Tests can make chosen resources fail: `forbid` (or `FORENSICS_SERVE_FORBID=pods,cronjobs`) answers
403 for them, and `slow` (or `FORENSICS_SERVE_SLOW=cronjobs=5,log=1`) delays answers by seconds
(`log` names the pod log subresource).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from forensics import layout
from forensics.errors import UnusableInput
from forensics.served import LOG_BYTES, ServedDump, open_served
from forensics.values import iso_seconds, stamp_time

__all__ = ["DumpAPI", "kubeconfig_text", "make_server", "serve", "server_url", "start_in_thread", "write_kubeconfig"]


@dataclass(frozen=True)
class Resource:
    """One API resource the server knows; `kind_file` names the dump file holding its objects."""

    name: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    kind_file: str | None = None

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: tuple[Resource, ...] = (
    Resource("nodes", "Node", "", "v1", False, ("no",), "nodes"),
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",)),
    Resource("pods", "Pod", "", "v1", True, ("po",), "pods"),
    Resource("events", "Event", "", "v1", True, ("ev",), "events"),
    # asked by `kubectl cluster-info dump`; a dump never holds them, so they list empty
    Resource("services", "Service", "", "v1", True, ("svc",)),
    Resource("replicationcontrollers", "ReplicationController", "", "v1", True, ("rc",)),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), "deployments"),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True, ("rs",), "replicasets"),
    Resource("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), "daemonsets"),
    Resource("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), "statefulsets"),
    Resource("jobs", "Job", "batch", "v1", True, (), "jobs"),
    Resource("cronjobs", "CronJob", "batch", "v1", True, ("cj",), "cronjobs"),
    Resource("events", "Event", "events.k8s.io", "v1", True, ("ev",), "events"),
)

_VERBS = ["get", "list"]
IDLE_TIMEOUT = 30.0  # seconds a connection may wait for (the rest of) a request (FORENSICS_SERVE_TIMEOUT)
MAX_CONNECTIONS = 256
_LOG_SLOTS = threading.BoundedSemaphore(8)
# what `kubectl get all` expands to (the real API server's "all" category)
_ALL_CATEGORY = {"pods", "services", "replicationcontrollers", "deployments", "replicasets", "daemonsets",
                 "statefulsets", "jobs", "cronjobs"}


class ApiError(Exception):
    """An answer that is a Kubernetes `Status` failure rather than an object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.name} "{name}" not found',
                    {"name": name, "kind": resource.name})


# --- the API model ------------------------------------------------------------------------------


def _dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _parse_field_selector(text: str) -> list[tuple[str, str, str]]:
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                out.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise ApiError(400, "BadRequest", f'unable to parse requirement: invalid field selector "{term}"')
    return out


def _field_matches(obj: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    for key, op, value in terms:
        got = _dig(obj, key)
        got_s = "" if got is None else str(got)
        if (got_s == value) != (op == "="):
            return False
    return True


_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_label_selector(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def _label_matches(labels: dict[str, str], selector: str) -> bool:
    for term in _split_label_selector(selector):
        m = _SET_RE.match(term)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            present = labels.get(m.group(1))
            if m.group(2) == "in" and present not in values:
                return False
            if m.group(2) == "notin" and present in values:
                return False
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, value = (s.strip() for s in term.split(op, 1))
                if (labels.get(key) == value) != (op != "!="):
                    return False
                break
        else:
            if term.startswith("!"):
                if term[1:].strip() in labels:
                    return False
            elif term not in labels:
                return False
    return True


def _to_events_v1(ev: dict[str, Any]) -> dict[str, Any]:
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
# unless told to) and prints their ages against its own clock
_DESCRIBE_KEYS = frozenset({"involvedObject.uid", "regarding.uid"})
_EVENT_TIMES = ("firstTimestamp", "lastTimestamp", "eventTime", "deprecatedFirstTimestamp", "deprecatedLastTimestamp")


def _as_of_snapshot(ev: dict[str, Any], snap: datetime) -> dict[str, Any]:
    """An event as `kubectl describe` should see it: kubectl computes "Age" as its wall clock minus the
    event's times, so those times are moved forward by (now - snapshot time). The ages it prints
    are then the ages at the snapshot, as `kubectl get` shows them; the original times are kept in
    the annotation `cluster-forensics/original-times`."""
    shift = datetime.now(UTC) - snap
    out = dict(ev)
    original: dict[str, Any] = {}
    for key in _EVENT_TIMES:
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
        meta["annotations"] = {**(meta.get("annotations") or {}), "cluster-forensics/original-times":
                               json.dumps(original, sort_keys=True)}
        out["metadata"] = meta
    return out


def _age(ts: str | None, now: datetime) -> str:
    """kubectl's short age of `ts` as seen at `now` (the snapshot's time, not the wall clock)."""
    if not ts or not isinstance(ts, str):
        return "<unknown>"
    then = iso_seconds(ts)
    if then is None:
        return "<unknown>"
    secs = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size * 2:
            return f"{secs // size}{unit}"
    return f"{max(secs, 0)}s"


def _snapshot_time(name: str) -> datetime:
    return stamp_time(name) or datetime.now(UTC)


def _pod_row(pod: dict[str, Any], now: datetime) -> list[Any]:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for s in statuses:
        state = s.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    return [pod["metadata"].get("name"), f"{ready}/{total}", reason, restarts,
            _age(pod["metadata"].get("creationTimestamp"), now), status.get("podIP") or "<none>",
            (pod.get("spec") or {}).get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", f"{len(gates)}" if gates else "<none>"]


def _node_row(node: dict[str, Any], now: datetime) -> list[Any]:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [node["metadata"].get("name"), state, ",".join(roles) or "<none>",
            _age(node["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion"),
            addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"), info.get("osImage"),
            info.get("kernelVersion"), info.get("containerRuntimeVersion")]


def _deploy_row(d: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    return [d["metadata"].get("name"), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(d["metadata"].get("creationTimestamp"), now), ",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers),
            ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>"]


def _event_row(ev: dict[str, Any], now: datetime) -> list[Any]:
    obj = ev.get("involvedObject") or ev.get("regarding") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or (ev.get("series") or {}).get("lastObservedTime")
    source = ev.get("source") or {}
    return [_age(last, now), ev.get("type") or "", ev.get("reason") or "",
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}", ev.get("message") or ev.get("note") or "",
            obj.get("fieldPath") or "", source.get("component") or ev.get("reportingComponent") or "",
            _age(ev.get("firstTimestamp") or ev.get("eventTime"), now), ev.get("count") or 1,
            (ev.get("metadata") or {}).get("name")]


def _replica_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [o["metadata"].get("name"), spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(o["metadata"].get("creationTimestamp"), now)]


def _sts_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [o["metadata"].get("name"), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            _age(o["metadata"].get("creationTimestamp"), now)]


def _ds_row(o: dict[str, Any], now: datetime) -> list[Any]:
    status = o.get("status") or {}
    return [o["metadata"].get("name"), status.get("desiredNumberScheduled", 0),
            status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            _age(o["metadata"].get("creationTimestamp"), now)]


def _job_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    state = "Complete" if status.get("succeeded") else "Failed" if status.get("failed") else "Running"
    return [o["metadata"].get("name"), state, f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
            _age(o["metadata"].get("creationTimestamp"), now)]


def _cj_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [o["metadata"].get("name"), spec.get("schedule", ""), str(bool(spec.get("suspend"))),
            len(status.get("active") or []), _age(status.get("lastScheduleTime"), now) if status.get(
                "lastScheduleTime") else "<none>", _age(o["metadata"].get("creationTimestamp"), now)]


def _col(name: str, priority: int = 0, typ: str = "string") -> dict[str, Any]:
    return {"name": name, "type": typ, "format": "name" if name == "Name" else "", "description": name,
            "priority": priority}


_TABLES: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any], datetime], list[Any]]]] = {
    "pods": ([_col("Name"), _col("Ready"), _col("Status"), _col("Restarts", typ="integer"), _col("Age"),
              _col("IP", 1), _col("Node", 1), _col("Nominated Node", 1), _col("Readiness Gates", 1)],
             _pod_row),
    "nodes": ([_col("Name"), _col("Status"), _col("Roles"), _col("Age"), _col("Version"),
               _col("Internal-IP", 1), _col("External-IP", 1), _col("OS-Image", 1),
               _col("Kernel-Version", 1), _col("Container-Runtime", 1)], _node_row),
    "deployments": ([_col("Name"), _col("Ready"), _col("Up-to-date", typ="integer"),
                     _col("Available", typ="integer"), _col("Age"), _col("Containers", 1),
                     _col("Images", 1), _col("Selector", 1)], _deploy_row),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message"),
                _col("Subobject", 1), _col("Source", 1), _col("First Seen", 1), _col("Count", 1, "integer"),
                _col("Name", 1)], _event_row),
    "replicasets": ([_col("Name"), _col("Desired", typ="integer"), _col("Current", typ="integer"),
                     _col("Ready", typ="integer"), _col("Age")], _replica_row),
    "statefulsets": ([_col("Name"), _col("Ready"), _col("Age")], _sts_row),
    "daemonsets": ([_col("Name"), _col("Desired", typ="integer"), _col("Current", typ="integer"),
                    _col("Ready", typ="integer"), _col("Up-to-date", typ="integer"),
                    _col("Available", typ="integer"), _col("Age")], _ds_row),
    "jobs": ([_col("Name"), _col("Status"), _col("Completions"), _col("Age")], _job_row),
    "cronjobs": ([_col("Name"), _col("Schedule"), _col("Suspend"), _col("Active", typ="integer"),
                  _col("Last Schedule"), _col("Age")], _cj_row),
}


def _cells(row: Callable[[dict[str, Any], datetime], list[Any]], obj: dict[str, Any], now: datetime,
           width: int) -> list[Any]:
    """A table row; an object whose fields have the wrong types gets a row saying so, not a failed list."""
    try:
        return row(obj, now)
    except Exception:  # noqa: BLE001 - a dump object is hostile input; the rest of the table still answers
        name = (obj.get("metadata") or {}).get("name")
        return [name if isinstance(name, str) else "<invalid>", "<invalid object>"] + ["<invalid>"] * (width - 2)


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _names(text: str | None) -> set[str]:
    """`pods,cronjobs` -> {"pods", "cronjobs"}."""
    return {t.strip() for t in (text or "").split(",") if t.strip()}


def _delays(text: str | None) -> dict[str, float]:
    """`cronjobs=5,log=1` -> {"cronjobs": 5.0, "log": 1.0}; malformed items are ignored."""
    out: dict[str, float] = {}
    for item in _names(text):
        key, _, val = item.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            continue
    return out


@dataclass
class DumpAPI:
    """The objects of one snapshot of a dump, indexed the way the API is asked."""

    source: Any
    snapshot: str
    snapshots: list[str]
    forbid: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, dump_path: Path, snapshot: str | None = None, forbid: Iterable[str] | None = None,
             slow: dict[str, float] | None = None, served: ServedDump | None = None) -> DumpAPI:
        """One snapshot of a dump in any format `analyze` reads (`forensics.served`); `served` reuses an
        already opened dump (several snapshots of one dump served at once)."""
        dump = served or open_served(Path(dump_path))
        snaps = dump.snapshots
        if snapshot is None:
            snapshot = snaps[-1]
        elif snapshot not in snaps:
            raise UnusableInput(f"{dump_path}: no snapshot {snapshot!r} (have: {', '.join(snaps)})")
        snap = dump.snapshot(snapshot)
        api = cls(snap, snapshot, snaps, set(forbid or ()) | _names(os.environ.get("FORENSICS_SERVE_FORBID")),
                  {**_delays(os.environ.get("FORENSICS_SERVE_SLOW")), **(slow or {})})
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
                    out.append(e if str(e.get("apiVersion", "")).startswith("events.k8s.io/") else _to_events_v1(e))
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
        return [{"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": ns, **({"creationTimestamp": ts} if ts else {})},
                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                for ns, ts in sorted(seen.items())]

    def select(self, res: Resource, namespace: str | None, query: dict[str, str]) -> list[dict[str, Any]]:
        out = self.items(res)
        if namespace is not None:
            out = [o for o in out if (o.get("metadata") or {}).get("namespace") == namespace]
        if query.get("fieldSelector"):
            terms = _parse_field_selector(query["fieldSelector"])
            out = [o for o in out if _field_matches(o, terms)]
            if res.name == "events" and any(t[0] in _DESCRIBE_KEYS for t in terms):
                out = [_as_of_snapshot(e, _snapshot_time(self.snapshot)) for e in out]
        if query.get("labelSelector"):
            sel = query["labelSelector"]
            out = [o for o in out if _label_matches(_labels(o), sel)]
        return out

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        for obj in self.items(res):
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
                return obj
        raise _not_found(res, name)

    def list_body(self, res: Resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"apiVersion": res.group_version, "kind": f"{res.kind}List",
                "metadata": {"resourceVersion": ""}, "items": items}

    def table_body(self, res: Resource, items: list[dict[str, Any]]) -> dict[str, Any]:
        cols, row = _TABLES[res.name]
        now = _snapshot_time(self.snapshot)
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": ""},
                "columnDefinitions": cols,
                "rows": [{"cells": _cells(row, i, now, len(cols)), "object": {"kind": "PartialObjectMetadata",
                                                      "apiVersion": "meta.k8s.io/v1",
                                                      "metadata": i.get("metadata", {})}}
                         for i in items]}

    # logs

    def log(self, namespace: str, pod_name: str, query: dict[str, str]) -> tuple[bytes, str | None]:
        """The log bytes, exactly as collected (what `kubectl logs` shows for a live cluster too: no
        escaping; the terminal is the client's), and a warning when the server cut the log to its last
        LOG_BYTES."""
        pods = next(r for r in RESOURCES if r.name == "pods")
        pod = self.get(pods, namespace, pod_name)
        spec = pod.get("spec") or {}
        names = [c.get("name") for key in ("initContainers", "containers", "ephemeralContainers")
                 for c in spec.get(key) or []]
        container = query.get("container")
        if not container:
            regular = [c.get("name") for c in spec.get("containers") or []]
            if len(regular) != 1:
                raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod_name}, "
                                                  f"choose one of: [{' '.join(map(str, regular))}]")
            container = regular[0]
        if container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
        previous = query.get("previous", "").lower() in ("true", "1")
        data = self.source.log(namespace, pod_name, container, previous,
                               timestamps=query.get("timestamps", "").lower() in ("true", "1"))
        warning = None
        if data is not None:
            full = max(self.source.log_size(namespace, pod_name, container, previous) or 0, len(data))
            data = data[-LOG_BYTES:]
            if full > len(data):
                warning = (f"log cut to its last {len(data)} bytes of {full}: this server answers at most "
                           f"{LOG_BYTES} bytes per log")
        if data is None:
            if previous:
                raise ApiError(400, "BadRequest",
                               f'previous terminated container "{container}" in pod "{pod_name}" not found')
            status = pod.get("status") or {}
            for st in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
                waiting = (st.get("state") or {}).get("waiting")
                if st.get("name") == container and waiting:
                    raise ApiError(400, "BadRequest", f'container "{container}" in pod "{pod_name}" is waiting '
                                                      f"to start: {waiting.get('reason', 'PodInitializing')}")
            raise ApiError(404, "NotFound", f'the log of container "{container}" in pod "{namespace}/{pod_name}"'
                                            " was not collected in this dump")
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
        versions = sorted({v for n in self.lists.get("nodes", {}).get("items", [])
                           if isinstance(v := _dig(n, "status.nodeInfo.kubeletVersion"), str) and v})
        git = versions[-1] if versions else "v1.32.0"
        m = re.match(r"v(\d+)\.(\d+)", git)
        major, minor = (m.group(1), m.group(2)) if m else ("1", "32")
        return {"major": major, "minor": minor, "gitVersion": git, "gitCommit": "", "gitTreeState": "",
                "buildDate": "", "goVersion": "", "compiler": "gc", "platform": "linux/amd64"}

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
                entry: dict[str, Any] = {"name": r.name, "singularName": r.kind.lower(),
                                         "namespaced": r.namespaced, "kind": r.kind, "verbs": _VERBS}
                if r.short_names:
                    entry["shortNames"] = list(r.short_names)
                if r.name in _ALL_CATEGORY and r.group != "events.k8s.io":
                    entry["categories"] = ["all"]
                entries.append(entry)
                if r.name == "pods":
                    entries.append({"name": "pods/log", "singularName": "", "namespaced": True,
                                    "kind": "Pod", "verbs": ["get"]})
        if not entries:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}

    def find(self, group: str, version: str, name: str) -> Resource:
        for r in RESOURCES:
            if r.group == group and r.version == version and r.name == name:
                return r
        raise ApiError(404, "NotFound", "the server could not find the requested resource")


# --- HTTP ---------------------------------------------------------------------------------------


_MAX_BODY = 1024 * 1024  # a read-only server has no use for bodies; larger ones end the connection


class _Handler(BaseHTTPRequestHandler):
    server_version = "cluster-forensics-serve"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # seconds a connection may sit without a complete request (half-open, idle)
    api: DumpAPI

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: bytes, ctype: str, warning: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("X-Content-Type-Options", "nosniff")
        if warning:
            # a Kubernetes API warning: kubectl prints it on stderr ("Warning: ..."), the body stays exact
            self.send_header("Warning", f'299 - "{warning}"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _drain_body(self) -> None:
        """Read the request's body before answering, whatever the method: on a kept-alive connection
        an unread body (kubectl sends `{"propagationPolicy":"Background"}` with a DELETE) would be
        parsed as the next request. A body too large to read, or of unknown length (chunked), ends
        the connection after the answer instead."""
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            return
        try:
            left = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return
        if left < 0 or left > _MAX_BODY:
            self.close_connection = True
            return
        while left > 0:
            chunk = self.rfile.read(min(left, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            left -= len(chunk)

    def _refuse(self) -> None:
        self._drain_body()
        self._json(405, ApiError(405, "MethodNotAllowed", "this server is a read-only view of a dump").status())

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def do_GET(self) -> None:
        self._drain_body()
        try:
            self._route()
        except ApiError as err:
            self._json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bad dump object becomes a 500 Status, never a dead server
            self._json(500, ApiError(500, "InternalError", f"{type(exc).__name__}: {exc}").status())

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/") if p]  # kubectl percent-encodes names
        api = self.api
        if query.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by a dump")
        if parts == ["version"]:
            return self._json(200, api.version())
        if parts == ["api"]:
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.headers.get("Host", "127.0.0.1")}]})
        if parts == ["apis"]:
            return self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in api.groups().items()]})
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                vs = api.groups().get(parts[1])
                if not vs:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._json(200, {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                                        "versions": [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in vs],
                                        "preferredVersion": {"groupVersion": f"{parts[1]}/{vs[0]}",
                                                             "version": vs[0]}})
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._json(200, api.resource_list(group, version))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = api.find(group, version, rest[0])
        if len(rest) == 1 and namespace is not None and not res.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        sub = rest[2] if len(rest) == 3 else None
        if len(rest) > 3 or (sub is not None and not (res.name == "pods" and sub == "log")):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.name in api.forbid or (sub and f"{res.name}/{sub}" in api.forbid):
            verb = "get" if len(rest) > 1 else "list"
            what = f"{res.name}/{sub}" if sub else res.name
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            raise ApiError(403, "Forbidden", f'{what} is forbidden: User "system:anonymous" cannot {verb} '
                                             f'resource "{what}" in API group "{res.group}" {scope}',
                           {"kind": res.name})
        delay = api.slow.get("log" if sub else res.name)
        if delay:
            time.sleep(delay)
        if sub == "log":
            assert namespace is not None
            with _LOG_SLOTS:  # at most a few logs in memory at once, however many clients ask
                data, warning = api.log(namespace, rest[1], query)
                return self._send(200, data, "text/plain; charset=utf-8", warning)
        if len(rest) == 2:
            return self._json(200, api.get(res, namespace if res.namespaced else None, rest[1]))
        items = api.select(res, namespace, query)
        if "as=Table" in (self.headers.get("Accept") or "") and res.name in _TABLES:
            return self._json(200, api.table_body(res, items))
        return self._json(200, api.list_body(res, items))


class _Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS at once: a connection beyond that is answered
    503 and closed at once, so a flood of (idle) connections cannot exhaust the process."""

    request_queue_size = 512  # listen backlog: 200 clients connecting at once are all accepted

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1)
                body = json.dumps(ApiError(503, "ServiceUnavailable", "too many connections").status()).encode()
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n" + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def make_server(dump_path: Path, port: int = 0, snapshot: str | None = None,
                forbid: Iterable[str] | None = None, slow: dict[str, float] | None = None,
                served: ServedDump | None = None) -> ThreadingHTTPServer:
    """A ready (bound, not yet serving) server on 127.0.0.1; `server.server_address[1]` is the port.

    Raises `UnusableInput` when the dump has no snapshot (or not the one asked for). `served`: an
    already opened dump (`forensics.served.open_served`), when several snapshots of it are served.
    """
    api = DumpAPI.load(Path(dump_path), snapshot, forbid, slow, served=served)
    try:
        idle = float(os.environ.get("FORENSICS_SERVE_TIMEOUT") or IDLE_TIMEOUT)
    except ValueError:
        idle = IDLE_TIMEOUT
    handler = type("DumpHandler", (_Handler,), {"api": api, "timeout": idle})
    server = _Server(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.api = api  # type: ignore[attr-defined]
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def kubeconfig_text(url: str, name: str = "forensics") -> str:
    """A kubeconfig for plain HTTP to `url` with no credentials (kubectl wants `user: {}`)."""
    return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {url}\n"
            f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
            f"current-context: {name}\nusers:\n- name: {name}\n  user: {{}}\n")


def write_kubeconfig(path: Path, url: str) -> None:
    path.write_text(kubeconfig_text(url))


def serve(dump_path: Path, port: int = 0, snapshot: str | None = None,
          ready: Callable[[str], None] | None = None, kubeconfig_out: Path | None = None) -> None:
    """Serve a dump until interrupted. `ready(url)` is called once the socket listens."""
    server = make_server(dump_path, port, snapshot)
    for problem in server.api.problems:  # type: ignore[attr-defined]
        sys.stderr.write(f"serve: {problem}\n")
    url = server_url(server)
    if kubeconfig_out is not None:
        write_kubeconfig(Path(kubeconfig_out), url)
    if ready is not None:
        ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Run `server.serve_forever` in a daemon thread (tests call `server.shutdown()` when done)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":  # pragma: no cover - `python -m forensics.serve DUMP [PORT]` for quick use
    serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0,
          ready=lambda u: print(f"serving on {u}", flush=True))
