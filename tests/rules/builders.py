"""Tiny inline dumps for rule tests, loaded through the real loader.

A test describes only what its rule looks at (a pod or two, a node, an event, a log line); these
builders fill in the rest of the kubectl shape, write a format-v1 dump into a temp dir (paths from
`forensics.read.layout`) and return the `Context` that `forensics.read.load.load_dump` +
`forensics.analysis.correlate.build_context` make of it, so a rule test exercises the real decode, frames,
signature scan and joins.

    ctx = context(tmp_path, pods=[pod("web", containers=[ctr(last=terminated("OOMKilled", 137))])])

Each rule's test module also defines `failing_example(tmp_path) -> Context`, the example
`test_conformance.py` runs the rule on (a sample dump that expects the cause is the fallback).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from forensics.analysis.correlate import Context, build_context
from forensics.analysis.findings import Finding
from forensics.analysis.rules import all_rules, run_all
from forensics.read import layout
from forensics.read.load import load_dump

REALDATA = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"
SNAP = "20261122T050000Z"
SNAP2 = "20261122T060000Z"
T0 = "2026-11-22T04:00:00Z"
IMAGE = "registry.example/shop/web:1.4"


def running(started: str = "2026-11-22T04:50:00Z") -> dict[str, Any]:
    return {"running": {"startedAt": started}}


def waiting(reason: str, message: str | None = None) -> dict[str, Any]:
    w: dict[str, Any] = {"reason": reason}
    if message is not None:
        w["message"] = message
    return {"waiting": w}


def terminated(
    reason: str | None,
    exit_code: int,
    message: str | None = None,
    *,
    started: str = "2026-11-22T04:58:00Z",
    finished: str = "2026-11-22T04:58:05Z",
) -> dict[str, Any]:
    t: dict[str, Any] = {
        "exitCode": exit_code,
        "startedAt": started,
        "finishedAt": finished,
        "containerID": "containerd://" + "ef" * 32,
    }
    if reason is not None:
        t["reason"] = reason
    if message is not None:
        t["message"] = message
    return {"terminated": t}


def crashloop(name: str = "app") -> dict[str, Any]:
    """The waiting state of a crash-looping container, as the kubelet words it."""
    return waiting(
        "CrashLoopBackOff",
        f"back-off 5m0s restarting failed container={name} pod=web_shop(0b1c2d3e-0000-4000-8000-000000000001)",
    )


def ctr(
    name: str = "app",
    image: str = IMAGE,
    *,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    restarts: int = 0,
    ready: bool | None = None,
    memory_limit: str | None = None,
    liveness: bool = False,
    command: list[str] | None = None,
    status: bool = True,
) -> dict[str, Any]:
    """One container: its spec and (unless `status=False`) its status."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePolicy": "File",
    }
    if memory_limit:
        spec["resources"] = {"limits": {"memory": memory_limit}, "requests": {"memory": memory_limit}}
    if liveness:
        spec["livenessProbe"] = {
            "httpGet": {"path": "/healthz", "port": 8080},
            "periodSeconds": 10,
            "failureThreshold": 3,
        }
    if command:
        spec["command"] = command
    st: dict[str, Any] | None = None
    if status:
        state = state or running()
        st = {
            "name": name,
            "image": image,
            "imageID": f"{image.split(':')[0]}@sha256:" + "ab" * 32,
            "ready": bool(ready) if ready is not None else "running" in state,
            "restartCount": restarts,
            "started": "running" in state,
            "state": state,
            "lastState": last or {},
        }
        if "waiting" not in state:
            st["containerID"] = "containerd://" + "cd" * 32
    return {"spec": spec, "status": st}


def pod(
    name: str,
    ns: str = "shop",
    *,
    node: str | None = "node-a",
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    owner: str | None = "Deployment/web",
    phase: str | None = None,
    reason: str | None = None,
    message: str | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A pod as `kubectl get pods -o json` shows it. `owner` is `Deployment/<name>` (via a ReplicaSet
    `<name>-6d4cf56db6`), `StatefulSet/<name>`, `DaemonSet/<name>`, `Job/<name>`, or None (bare pod)."""
    containers = containers if containers is not None else [ctr()]
    meta: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{ns}-{name}",
        "resourceVersion": "1",
        "creationTimestamp": T0,
        "labels": {"app": name},
    }
    if owner:
        kind, oname = owner.split("/", 1)
        if kind == "Deployment":
            kind, oname = "ReplicaSet", f"{oname}-6d4cf56db6"
            meta["labels"]["pod-template-hash"] = "6d4cf56db6"
        meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1" if kind == "Job" else "apps/v1",
                "kind": kind,
                "name": oname,
                "uid": f"uid-{ns}-{oname}",
                "controller": True,
            }
        ]
    statuses = [c["status"] for c in containers if c["status"] is not None]
    all_ready = bool(statuses) and all(s["ready"] for s in statuses)
    spec: dict[str, Any] = {
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "containers": [c["spec"] for c in containers],
    }
    if node:
        spec["nodeName"] = node
    if init:
        spec["initContainers"] = [c["spec"] for c in init]
    if conditions is None:
        conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": T0}] if node else []
        conditions.append({"type": "Ready", "status": "True" if all_ready else "False", "lastTransitionTime": T0})
    status: dict[str, Any] = {
        "phase": phase or ("Running" if node else "Pending"),
        "conditions": conditions,
        "qosClass": "Burstable",
    }
    if node:
        status.update({"hostIP": "10.0.0.1", "podIP": "10.244.0.10", "startTime": T0})
        status["containerStatuses"] = statuses
        if init:
            status["initContainerStatuses"] = [c["status"] for c in init if c["status"] is not None]
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def unscheduled(message: str) -> list[dict[str, Any]]:
    """The conditions of a pod the scheduler could not place."""
    return [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastTransitionTime": T0,
        }
    ]


def node(
    name: str = "node-a",
    arch: str = "amd64",
    *,
    ready: str = "True",
    reason: str = "KubeletReady",
    message: str = "kubelet is posting ready status",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "creationTimestamp": T0,
            "labels": {"kubernetes.io/arch": arch, "kubernetes.io/os": "linux", "kubernetes.io/hostname": name},
        },
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": reason,
                    "message": message,
                    "lastHeartbeatTime": "2026-11-22T04:40:00Z",
                    "lastTransitionTime": "2026-11-22T04:41:00Z",
                }
            ],
            "nodeInfo": {
                "architecture": arch,
                "operatingSystem": "linux",
                "kubeletVersion": "v1.30.4",
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": "6.1.0",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
            },
        },
    }


def event(
    obj: str,
    reason: str,
    message: str,
    *,
    ns: str = "shop",
    container: str | None = None,
    kind: str = "Pod",
    type: str = "Warning",
    count: int = 1,
    component: str = "kubelet",
    seq: int = 0,
) -> dict[str, Any]:
    """A core/v1 event about `kind` `obj` (for containers, with the kubelet's fieldPath)."""
    involved: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "name": obj, "uid": f"uid-{ns}-{obj}"}
    if kind != "Node":
        involved["namespace"] = ns
    if container:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{obj}.{reason.lower()}.{seq}",
            "namespace": ns if kind != "Node" else "default",
            "uid": f"ev-{obj}-{reason}-{seq}",
            "creationTimestamp": T0,
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "source": {"component": component},
        "firstTimestamp": "2026-11-22T04:10:00Z",
        "lastTimestamp": "2026-11-22T04:59:00Z",
    }


def _list(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, indent=1
    ).encode()


def write_dump(
    root: Path,
    snapshots: dict[str, dict[str, list[dict[str, Any]]]],
    logs: dict[tuple[str, str, str, str, bool], str] | None = None,
    images: dict[str, tuple[bytes, bytes | None]] | None = None,
) -> Path:
    """Write a format-v1 dump: `snapshots` maps a snapshot name to {kind: items}; `logs` maps
    (snapshot, namespace, pod, container, previous) to the log text; `images` maps an image ref to
    its inspection (manifest.json bytes, config.json bytes or None)."""
    files: dict[str, bytes] = {}
    for ref, (manifest, config) in (images or {}).items():
        slug = layout.image_slug(ref)
        files[layout.image_file(slug, "ref.txt")] = ref.encode()
        files[layout.image_file(slug, "manifest.json")] = manifest
        if config is not None:
            files[layout.image_file(slug, "config.json")] = config
    for snap, kinds in snapshots.items():
        for kind, items in kinds.items():
            files[layout.objects_file(snap, kind)] = _list(items)
    for (snap, ns, p, c, prev), text in (logs or {}).items():
        files[layout.log_file(snap, ns, p, c, previous=prev)] = text.encode()
    meta = {
        "format": layout.FORMAT_NAME,
        "version": layout.FORMAT_VERSION,
        "collected_at": "2026-11-22T05:00:00Z",
        "cluster": {"context": "rule-tests"},
        "collector": {"name": "tests", "version": "0"},
        "snapshots": list(snapshots),
        "commands": [],
    }
    files[layout.META] = yaml.safe_dump(meta).encode()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def context(
    tmp_path: Path,
    *,
    pods: list[dict[str, Any]],
    nodes: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    logs: dict[tuple[str, str, str], str] | None = None,
    previous_logs: dict[tuple[str, str, str], str] | None = None,
    images: dict[str, tuple[bytes, bytes | None]] | None = None,
) -> Context:
    """One snapshot. `nodes` defaults to one Ready amd64 node `node-a`; logs map (ns, pod, container)
    to text; `images` as in `write_dump`. Events are written only when given (an absent events.json
    is a dump without events)."""
    kinds: dict[str, list[dict[str, Any]]] = {"nodes": nodes if nodes is not None else [node()], "pods": pods}
    if events is not None:
        kinds["events"] = events
    all_logs = {(SNAP, *k, False): v for k, v in (logs or {}).items()}
    all_logs.update({(SNAP, *k, True): v for k, v in (previous_logs or {}).items()})
    return load(write_dump(tmp_path / "dump", {SNAP: kinds}, all_logs, images))


def load(root: Path) -> Context:
    dump = load_dump(root)
    return build_context(dump.frames, dump.snapshots, dump.meta)


def causes(ctx: Context) -> dict[str, set[str]]:
    """Every rule's findings on `ctx`: cause -> {"Kind ns/name", ...} (latent findings left out)."""
    out: dict[str, set[str]] = {}
    for f in run_all(ctx, all_rules()):
        if not f.latent:
            out.setdefault(f.cause, set()).add(str(f.workload))
    return out


def realdata_items(*path: str) -> list[dict[str, Any]]:
    """The `items` of a real `kubectl get -o json` list under tests/fixtures/realdata."""
    return json.loads(REALDATA.joinpath(*path).read_text())["items"]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [(f.cause, str(f.workload)) for f in findings]
    return findings[0]
