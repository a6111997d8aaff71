"""`kubectl get` tables back into Kubernetes-shaped objects (what a table can say, no more).

A table is recognised by its header (kubectl's column names, printed by the API server's table
convertor or by kubectl's own printers): pods (default, `-o wide`, `-A`, `--show-labels`), nodes
(`-o wide`, `-L key` adds a column named by the key's last segment, `ARCH` for kubernetes.io/arch),
deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs, PVCs and PVs, events (`LAST SEEN
TYPE REASON OBJECT MESSAGE`, its `-A` and `-o wide` forms, and the pre-1.14 `LASTSEEN FIRSTSEEN COUNT
NAME KIND SUBOBJECT TYPE REASON SOURCE MESSAGE`), `kubectl top pod|node`. `kubectl get all` prints
several tables with `kind/name` names: each is read by its own header.

Cells are cut at the header's column starts (tabwriter aligns every row of a table), falling back to
runs of two or more spaces for mangled pastes. A pod row knows no container names: the format module
names its containers later (from logs or the workload's template). Ages are `Rel` placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from forensics.read.formats.kubectl_describe import Rel, _columns, event, parse_age, split_row

__all__ = ["Table", "header_kind", "parse_rows", "row_ok"]

_KINDS = {
    "pod": "Pod",
    "pods": "Pod",
    "node": "Node",
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
    "persistentvolumeclaim": "PersistentVolumeClaim",
    "persistentvolume": "PersistentVolume",
    "service": "Service",
    "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "namespace": "Namespace",
    "endpoints": "Endpoints",
    "ingress": "Ingress",
    "configmap": "ConfigMap",
    "secret": "Secret",
}
_WAITING = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "InvalidImageName",
    "ErrImageNeverPull",
    "ContainerCreating",
    "PodInitializing",
}
_TERMINATED = {"OOMKilled", "Error", "Completed", "ContainerCannotRun", "StartError", "DeadlineExceeded"}
_PENDING = {
    "Pending",
    "ContainerCreating",
    "PodInitializing",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "ErrImageNeverPull",
    "SchedulingGated",
}
# pod names a ReplicaSet gives: <rs>-<5 chars of the safe alphabet>; the RS is <deployment>-<hash>
_RS_POD = re.compile(
    r"^(?P<rs>(?P<dep>.+)-(?P<hash>[bcdfghjklmnpqrstvwxz2456789]{5,10}))-"
    r"[bcdfghjklmnpqrstvwxz2456789]{5}$"
)
_RESTARTS = re.compile(r"^(\d+)(?:\s+\((\S+) ago\))?$")
_HEADER_WORD = re.compile(r"^[A-Z][A-Z0-9%_./-]*(?:\([a-z]+\))?(?: [A-Z][A-Z0-9%_./-]*)?$")


@dataclass
class Table:
    """A recognised table: its kind (`pods`, `nodes`, `events`, ... or `top`, `pvc`, `pv`) and columns."""

    kind: str
    columns: list[tuple[str, int]]


def header_kind(line: str) -> Table | None:
    """The table a header line starts, or None when the line is not a kubectl table header."""
    if not line or line[0] == " ":
        return None
    cols = _columns(line.rstrip())
    names = [n for n, _ in cols]
    if len(names) < 2 or not all(_HEADER_WORD.match(n) for n in names):
        return None
    s = set(names)
    first = names[1] if names[0] == "NAMESPACE" and len(names) > 2 else names[0]
    if first in ("LAST SEEN", "LASTSEEN") or ("REASON" in s and "MESSAGE" in s and ("OBJECT" in s or "KIND" in s)):
        return Table("events", cols)
    if first != "NAME":
        return None
    if {"READY", "STATUS", "RESTARTS"} <= s:
        return Table("pods", cols)
    if {"STATUS", "ROLES"} <= s or ({"STATUS", "VERSION"} <= s and "AGE" in s):
        return Table("nodes", cols)
    if {"UP-TO-DATE", "AVAILABLE"} <= s and "DESIRED" not in s:
        return Table("deployments", cols)
    if {"DESIRED", "CURRENT", "UP-TO-DATE"} <= s:
        return Table("daemonsets", cols)
    if {"DESIRED", "CURRENT", "READY"} <= s:
        return Table("replicasets", cols)
    if "COMPLETIONS" in s:
        return Table("jobs", cols)
    if {"SCHEDULE", "SUSPEND"} <= s:
        return Table("cronjobs", cols)
    if {"STATUS", "VOLUME", "CAPACITY"} <= s:
        return Table("pvc", cols)
    if {"CAPACITY", "CLAIM"} <= s:
        return Table("pv", cols)
    if "CPU(cores)" in s or "MEMORY(bytes)" in s:
        return Table("top", cols)
    if names == ["NAME", "READY", "AGE"]:
        return Table("statefulsets", cols)
    return None


_NAME = re.compile(r"^(?:[a-z][a-z0-9.-]*/)?[a-z0-9]([-a-z0-9._:]*[a-z0-9])?$")


def _plausible(table: Table, r: dict[str, str]) -> bool:
    """Whether a row reads as a row of this table (a valid object name; an age where the table has one)."""
    if table.kind == "events":
        age = (r.get("LAST SEEN") or r.get("LASTSEEN") or "").split(" ")[0]
        return parse_age(age) is not None or age in ("<unknown>", "")
    name = (r.get("NAME") or "").strip()
    if not _NAME.match(name):
        return False
    age = (r.get("AGE") or "").strip()
    return not age or parse_age(age) is not None or age in ("<unknown>", "<invalid>")


def row_ok(table: Table, text: str) -> bool:
    """Whether a line continues `table` (used to find where a pasted table ends)."""
    if not text.strip() or text.startswith(("```", " ")):
        return False
    return _plausible(table, split_row(text, table.columns))


def _kind_name(value: str, default_kind: str) -> tuple[str, str]:
    """`deployment.apps/x` -> (Deployment, x); a bare name keeps the table's kind."""
    if "/" in value:
        k, _, n = value.partition("/")
        return _KINDS.get(k.split(".", 1)[0].lower(), k), n
    return default_kind, value


def _none(v: str | None) -> str | None:
    v = (v or "").strip()
    return None if v in ("", "<none>", "<unknown>", "<pending>") else v


def _labels(v: str | None) -> dict[str, str] | None:
    v = _none(v)
    if not v:
        return None
    out = {}
    for part in v.split(","):
        k, sep, val = part.partition("=")
        if sep:
            out[k.strip()] = val.strip()
    return out or None


def parse_rows(
    table: Table, rows: list[tuple[int, str]], namespace: str | None, block: int
) -> list[tuple[str, dict[str, Any], int]]:
    """(kind file name, object dict, line) for each row; `namespace` is the one the command named
    (`-n`), used when the table has no NAMESPACE column."""
    out: list[tuple[str, dict[str, Any], int]] = []
    for no, text in rows:
        r = split_row(text, table.columns)
        if not _plausible(table, r):
            break  # the table ended: prose, a markdown fence, another paste
        ns = _none(r.get("NAMESPACE")) or namespace
        if table.kind == "events":
            ev = _event_row(r, ns, no, block)
            if ev is not None:
                out.append(("events", ev, no))
            continue
        raw_name = r.get("NAME", "").strip()
        if not raw_name:
            continue
        kind_file = table.kind
        default_kind = {
            "pods": "Pod",
            "nodes": "Node",
            "deployments": "Deployment",
            "replicasets": "ReplicaSet",
            "daemonsets": "DaemonSet",
            "statefulsets": "StatefulSet",
            "jobs": "Job",
            "cronjobs": "CronJob",
            "pvc": "PersistentVolumeClaim",
            "pv": "PersistentVolume",
            "top": "Top",
        }[kind_file]
        kind, name = _kind_name(raw_name, default_kind)
        md: dict[str, Any] = {"name": name}
        if kind != "Node":
            md["namespace"] = ns or ""
        age = parse_age(r.get("AGE"))
        if age is not None:
            md["creationTimestamp"] = Rel(age, block)
        labels = _labels(r.get("LABELS"))
        if labels:
            md["labels"] = labels
        if kind == "Pod" and table.kind == "pods":
            out.append(("pods", _pod_row(r, md, block), no))
        elif kind == "Node":
            out.append(("nodes", _node_row(r, md, table), no))
        elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
            out.append((kind.lower() + "s", _workload_row(r, md, kind), no))
        elif kind == "CronJob":
            out.append(
                (
                    "cronjobs",
                    {
                        "kind": kind,
                        "metadata": md,
                        "spec": {"schedule": r.get("SCHEDULE"), "jobTemplate": {"spec": {}}},
                    },
                    no,
                )
            )
        else:
            out.append((kind_file, {"kind": kind, "metadata": md, "row": r}, no))
    return out


def _pod_row(r: dict[str, str], md: dict[str, Any], block: int) -> dict[str, Any]:
    status_col = (r.get("STATUS") or "").strip()
    ready, _, total = (r.get("READY") or "0/1").partition("/")
    n_ready = int(ready) if ready.isdigit() else 0
    n_total = int(total) if total.isdigit() else 1
    m = _RESTARTS.match((r.get("RESTARTS") or "0").strip())
    restarts = int(m.group(1)) if m else 0
    last_restart = parse_age(m.group(2)) if m and m.group(2) else None
    phase = "Running"
    reason = None
    if status_col in ("Running", "Succeeded", "Failed", "Unknown", "Pending"):
        phase = status_col
    elif status_col == "Completed":
        phase = "Succeeded"
    elif status_col in _PENDING or status_col.startswith("Init:"):
        phase = "Pending"
    elif status_col in (
        "Evicted",
        "OutOfcpu",
        "OutOfmemory",
        "NodeAffinity",
        "Shutdown",
        "Terminated",
        "UnexpectedAdmissionError",
    ):
        phase, reason = "Failed", status_col
    labels = md.setdefault("labels", {})
    rm = _RS_POD.match(md["name"])
    if rm and (labels.get("pod-template-hash") in (None, rm.group("hash"))):
        labels["pod-template-hash"] = rm.group("hash")
        md["ownerReferences"] = [{"kind": "ReplicaSet", "name": rm.group("rs"), "controller": True}]
    if not labels:
        md.pop("labels")
    statuses = []
    for i in range(n_total):
        st: dict[str, Any] = {"name": "", "ready": i < n_ready, "restartCount": restarts if i == 0 else 0}
        if i == 0 or (n_ready < n_total and i >= n_ready):
            if status_col in _WAITING:
                st["state"] = {"waiting": {"reason": status_col}}
            elif status_col in _TERMINATED:
                st["state"] = {
                    "terminated": {"reason": status_col, "exitCode": 137 if status_col == "OOMKilled" else None}
                }
            elif status_col == "Running" and i < n_ready:
                st["state"] = {"running": {}}
            if restarts and i == 0 and status_col in ("OOMKilled", "Error", "ContainerCannotRun", "StartError"):
                last: dict[str, Any] = {"reason": status_col}
                if status_col == "OOMKilled":
                    last["exitCode"] = 137
                if last_restart is not None:
                    last["finishedAt"] = Rel(last_restart, block)
                st["lastState"] = {"terminated": last}
        elif i < n_ready:
            st["state"] = {"running": {}}
        statuses.append(st)
    spec: dict[str, Any] = {"containers": []}
    node = _none(r.get("NODE"))
    if node:
        spec["nodeName"] = node
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses}
    if reason:
        status["reason"] = reason
    if phase == "Pending" and not node and status_col == "Pending":
        status["conditions"] = [{"type": "PodScheduled", "status": "False"}]
    return {"kind": "Pod", "metadata": md, "spec": spec, "status": status, "tableStatus": status_col}


def _node_row(r: dict[str, str], md: dict[str, Any], table: Table) -> dict[str, Any]:
    states = (r.get("STATUS") or "").split(",")
    ready = "True" if "Ready" in states else "False" if "NotReady" in states else "Unknown"
    labels = md.setdefault("labels", {})
    for name, _ in table.columns:
        if name == "ARCH" and _none(r.get(name)):
            labels["kubernetes.io/arch"] = r[name].strip()
        elif name == "OS" and _none(r.get(name)):
            labels["kubernetes.io/os"] = r[name].strip()
    if not labels:
        md.pop("labels")
    info = {
        k: v
        for k, v in (
            ("kubeletVersion", _none(r.get("VERSION"))),
            ("osImage", _none(r.get("OS-IMAGE"))),
            ("kernelVersion", _none(r.get("KERNEL-VERSION"))),
            ("containerRuntimeVersion", _none(r.get("CONTAINER-RUNTIME"))),
        )
        if v
    }
    spec: dict[str, Any] = {}
    if "SchedulingDisabled" in states:
        spec["unschedulable"] = True
    return {
        "kind": "Node",
        "metadata": md,
        "spec": spec,
        "status": {"nodeInfo": info, "conditions": [{"type": "Ready", "status": ready}]},
    }


def _workload_row(r: dict[str, str], md: dict[str, Any], kind: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    desired = (
        r.get("DESIRED") or (r.get("READY") or "").partition("/")[2] or (r.get("COMPLETIONS") or "").partition("/")[2]
    )
    if desired and desired.strip().isdigit():
        spec["replicas"] = int(desired)
    names = [n for n in (_none(r.get("CONTAINERS")) or "").split(",") if n]
    images = [i for i in (_none(r.get("IMAGES")) or "").split(",") if i]
    if images:
        spec["template"] = {
            "spec": {
                "containers": [
                    {"name": names[i] if i < len(names) else "", "image": img} for i, img in enumerate(images)
                ]
            }
        }
    return {"kind": kind, "metadata": md, "spec": spec}


def _event_row(r: dict[str, str], ns: str | None, no: int, block: int) -> dict[str, Any] | None:
    obj = r.get("OBJECT")
    if obj:
        kind, name = _kind_name(obj.strip(), "")
    else:  # pre-1.14: NAME is the object's name, KIND its kind
        name = (r.get("NAME") or "").strip()
        kind = _KINDS.get((r.get("KIND") or "").strip().lower(), (r.get("KIND") or "").strip())
    if not name:
        return None
    sub = _none(r.get("SUBOBJECT"))
    ev = event(
        kind,
        ns,
        name,
        _none(r.get("TYPE")),
        _none(r.get("REASON")),
        r.get("MESSAGE", "").strip() or None,
        _none(r.get("SOURCE")),
        None,
        no,
        subobject=sub,
    )
    if obj and _none(r.get("NAME")):
        ev["metadata"]["name"] = r["NAME"].strip()
    last = parse_age(r.get("LAST SEEN") or r.get("LASTSEEN"))
    first = parse_age(r.get("FIRST SEEN") or r.get("FIRSTSEEN"))
    count = (r.get("COUNT") or "").strip()
    if count.isdigit():
        ev["count"] = int(count)
    else:
        m = re.match(r"^(\S+) \(x(\d+) over (\S+)\)$", (r.get("LAST SEEN") or "").strip())
        if m:
            last, first = parse_age(m.group(1)), parse_age(m.group(3))
            ev["count"] = int(m.group(2))
    if last is not None:
        ev["lastTimestamp"] = Rel(last, block)
    if first is not None:
        ev["firstTimestamp"] = Rel(first, block)
    elif last is not None:
        ev["firstTimestamp"] = Rel(last, block)
    return ev
