"""kubectl's `Table` columns for the collected kinds: what `kubectl get` prints, ages as of the snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from forensics.values import iso_seconds


def age(ts: str | None, now: datetime) -> str:
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


def pod_row(pod: dict[str, Any], now: datetime) -> list[Any]:
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
    return [
        pod["metadata"].get("name"),
        f"{ready}/{total}",
        reason,
        restarts,
        age(pod["metadata"].get("creationTimestamp"), now),
        status.get("podIP") or "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"{len(gates)}" if gates else "<none>",
    ]


def node_row(node: dict[str, Any], now: datetime) -> list[Any]:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [
        node["metadata"].get("name"),
        state,
        ",".join(roles) or "<none>",
        age(node["metadata"].get("creationTimestamp"), now),
        info.get("kubeletVersion"),
        addrs.get("InternalIP", "<none>"),
        addrs.get("ExternalIP", "<none>"),
        info.get("osImage"),
        info.get("kernelVersion"),
        info.get("containerRuntimeVersion"),
    ]


def deploy_row(d: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    return [
        d["metadata"].get("name"),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(d["metadata"].get("creationTimestamp"), now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>",
    ]


def event_row(ev: dict[str, Any], now: datetime) -> list[Any]:
    obj = ev.get("involvedObject") or ev.get("regarding") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or (ev.get("series") or {}).get("lastObservedTime")
    source = ev.get("source") or {}
    return [
        age(last, now),
        ev.get("type") or "",
        ev.get("reason") or "",
        f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
        ev.get("message") or ev.get("note") or "",
        obj.get("fieldPath") or "",
        source.get("component") or ev.get("reportingComponent") or "",
        age(ev.get("firstTimestamp") or ev.get("eventTime"), now),
        ev.get("count") or 1,
        (ev.get("metadata") or {}).get("name"),
    ]


def replica_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [
        o["metadata"].get("name"),
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def sts_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [
        o["metadata"].get("name"),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def ds_row(o: dict[str, Any], now: datetime) -> list[Any]:
    status = o.get("status") or {}
    return [
        o["metadata"].get("name"),
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def job_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    state = "Complete" if status.get("succeeded") else "Failed" if status.get("failed") else "Running"
    return [
        o["metadata"].get("name"),
        state,
        f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}",
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def cj_row(o: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [
        o["metadata"].get("name"),
        spec.get("schedule", ""),
        str(bool(spec.get("suspend"))),
        len(status.get("active") or []),
        age(status.get("lastScheduleTime"), now) if status.get("lastScheduleTime") else "<none>",
        age(o["metadata"].get("creationTimestamp"), now),
    ]


def col(name: str, priority: int = 0, typ: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "type": typ,
        "format": "name" if name == "Name" else "",
        "description": name,
        "priority": priority,
    }


TABLES: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any], datetime], list[Any]]]] = {
    "pods": (
        [
            col("Name"),
            col("Ready"),
            col("Status"),
            col("Restarts", typ="integer"),
            col("Age"),
            col("IP", 1),
            col("Node", 1),
            col("Nominated Node", 1),
            col("Readiness Gates", 1),
        ],
        pod_row,
    ),
    "nodes": (
        [
            col("Name"),
            col("Status"),
            col("Roles"),
            col("Age"),
            col("Version"),
            col("Internal-IP", 1),
            col("External-IP", 1),
            col("OS-Image", 1),
            col("Kernel-Version", 1),
            col("Container-Runtime", 1),
        ],
        node_row,
    ),
    "deployments": (
        [
            col("Name"),
            col("Ready"),
            col("Up-to-date", typ="integer"),
            col("Available", typ="integer"),
            col("Age"),
            col("Containers", 1),
            col("Images", 1),
            col("Selector", 1),
        ],
        deploy_row,
    ),
    "events": (
        [
            col("Last Seen"),
            col("Type"),
            col("Reason"),
            col("Object"),
            col("Message"),
            col("Subobject", 1),
            col("Source", 1),
            col("First Seen", 1),
            col("Count", 1, "integer"),
            col("Name", 1),
        ],
        event_row,
    ),
    "replicasets": (
        [
            col("Name"),
            col("Desired", typ="integer"),
            col("Current", typ="integer"),
            col("Ready", typ="integer"),
            col("Age"),
        ],
        replica_row,
    ),
    "statefulsets": ([col("Name"), col("Ready"), col("Age")], sts_row),
    "daemonsets": (
        [
            col("Name"),
            col("Desired", typ="integer"),
            col("Current", typ="integer"),
            col("Ready", typ="integer"),
            col("Up-to-date", typ="integer"),
            col("Available", typ="integer"),
            col("Age"),
        ],
        ds_row,
    ),
    "jobs": ([col("Name"), col("Status"), col("Completions"), col("Age")], job_row),
    "cronjobs": (
        [col("Name"), col("Schedule"), col("Suspend"), col("Active", typ="integer"), col("Last Schedule"), col("Age")],
        cj_row,
    ),
}


def cells(
    row: Callable[[dict[str, Any], datetime], list[Any]], obj: dict[str, Any], now: datetime, width: int
) -> list[Any]:
    """A table row; an object whose fields have the wrong types gets a row saying so, not a failed list."""
    try:
        return row(obj, now)
    except Exception:  # noqa: BLE001 - a dump object is hostile input; the rest of the table still answers
        name = (obj.get("metadata") or {}).get("name")
        return [name if isinstance(name, str) else "<invalid>", "<invalid object>"] + ["<invalid>"] * (width - 2)
