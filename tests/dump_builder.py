"""Build small format-v1 dumps for the serve and collector tests, and helpers around them.

`tiny_dump(dir)` writes one snapshot with two nodes (amd64, arm64), a crash-looping arm64-only
deployment, a healthy statefulset pod, a daemonset, a job and a cronjob, events and logs (current
and previous). Objects are shaped like `kubectl get <kind> -A -o json` output.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from forensics.read import layout
from forensics.serve import make_server, server_url, write_kubeconfig
from tests.fault_server import faulty

REPO = Path(__file__).resolve().parents[1]
COLLECT = REPO / "collectors" / "collect"
INSPECT = REPO / "collectors" / "inspect-images"
SNAP = "20261122T050000Z"


def _meta(name: str, ns: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{ns}-{name}",
        "resourceVersion": "1000",
        "creationTimestamp": "2026-11-22T04:00:00Z",
    }
    if ns:
        meta["namespace"] = ns
    meta.update(extra)
    return meta


def _node(name: str, arch: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(
            name, labels={"kubernetes.io/arch": arch, "kubernetes.io/os": "linux", "kubernetes.io/hostname": name}
        ),
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1" if arch == "amd64" else "10.0.0.2"}],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "lastTransitionTime": "2026-11-22T04:00:00Z",
                    "lastHeartbeatTime": "2026-11-22T04:59:00Z",
                    "message": "kubelet is posting ready status",
                }
            ],
            "nodeInfo": {
                "architecture": arch,
                "operatingSystem": "linux",
                "kubeletVersion": "v1.30.4",
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": "6.1.0-26",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kubeProxyVersion": "v1.30.4",
                "machineID": "m",
                "systemUUID": "s",
                "bootID": "b",
                "containerRuntimeVersion_": None,
            },
        },
    }


def _container_status(name: str, image: str, *, ready: bool, restarts: int, crashing: bool) -> dict[str, Any]:
    st: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:" + "ab" * 32,
        "ready": ready,
        "restartCount": restarts,
        "started": ready,
        "containerID": "containerd://" + "cd" * 32,
    }
    if crashing:
        st["state"] = {
            "waiting": {"reason": "CrashLoopBackOff", "message": f"back-off 5m0s restarting failed container={name}"}
        }
        st["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": "2026-11-22T04:58:00Z",
                "finishedAt": "2026-11-22T04:58:00Z",
                "containerID": "containerd://" + "ef" * 32,
            }
        }
    else:
        st["state"] = {"running": {"startedAt": "2026-11-22T04:01:00Z"}}
        st["lastState"] = {}
    return st


def _pod(
    name: str,
    ns: str,
    node: str,
    containers: list[tuple[str, str]],
    *,
    owner: tuple[str, str] | None,
    crashing: bool = False,
    env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    meta = _meta(name, ns, labels={"app": name.rsplit("-", 1)[0]})
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": f"uid-{ns}-{owner[1]}",
                "controller": True,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "nodeName": node,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "containers": [
                {"name": c, "image": img, "imagePullPolicy": "IfNotPresent", **({"env": env} if env else {})}
                for c, img in containers
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.0.10",
            "hostIP": "10.0.0.1",
            "startTime": "2026-11-22T04:00:00Z",
            "qosClass": "BestEffort",
            "conditions": [{"type": "Ready", "status": "False" if crashing else "True"}],
            "containerStatuses": [
                _container_status(c, img, ready=not crashing, restarts=7 if crashing else 0, crashing=crashing)
                for c, img in containers
            ],
        },
    }


def _workload(kind: str, api: str, name: str, ns: str, image: str, **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": image}]}}
    body: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": _meta(name, ns, labels={"app": name}),
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template, **spec},
        "status": {},
    }
    if kind == "Deployment":
        body["status"] = {"replicas": 1, "readyReplicas": 0, "updatedReplicas": 1, "unavailableReplicas": 1}
    if kind == "CronJob":
        body["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    if kind == "Job":
        body["spec"] = {"template": template, "backoffLimit": 2}
    return body


def _list(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4
    ).encode()


def tiny_objects(secret: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The objects of the tiny dump by kind. With `secret`, the api pod carries it in a DB_PASSWORD env."""
    env = [{"name": "DB_PASSWORD", "value": secret}, {"name": "LOG_LEVEL", "value": "debug"}] if secret else None
    pods = [
        _pod(
            "api-7d9f-abcde",
            "shop",
            "node-amd",
            [("main", "registry.example/shop/api:1.4")],
            owner=("ReplicaSet", "api-7d9f"),
            crashing=True,
            env=env,
        ),
        _pod(
            "db-0",
            "shop",
            "node-arm",
            [("main", "registry.example/shop/db:16"), ("exporter", "registry.example/shop/exporter:0.15")],
            owner=("StatefulSet", "db"),
        ),
        _pod(
            "agent-x1",
            "kube-system",
            "node-arm",
            [("agent", "registry.example/infra/agent@sha256:" + "12" * 32)],
            owner=("DaemonSet", "agent"),
        ),
    ]
    events = [
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": _meta("api-7d9f-abcde.17f", "shop"),
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": "api-7d9f-abcde",
                "namespace": "shop",
                "uid": "uid-shop-api-7d9f-abcde",
                "fieldPath": "spec.containers{main}",
            },
            "reason": "BackOff",
            "message": "Back-off restarting failed container main in pod api-7d9f-abcde",
            "type": "Warning",
            "count": 30,
            "source": {"component": "kubelet", "host": "node-amd"},
            "firstTimestamp": "2026-11-22T04:02:00Z",
            "lastTimestamp": "2026-11-22T04:59:00Z",
        }
    ]
    return {
        "nodes": [_node("node-amd", "amd64"), _node("node-arm", "arm64")],
        "pods": pods,
        "events": events,
        "deployments": [_workload("Deployment", "apps/v1", "api", "shop", "registry.example/shop/api:1.4", replicas=1)],
        "replicasets": [
            _workload("ReplicaSet", "apps/v1", "api-7d9f", "shop", "registry.example/shop/api:1.4", replicas=1)
        ],
        "daemonsets": [
            _workload(
                "DaemonSet", "apps/v1", "agent", "kube-system", "registry.example/infra/agent@sha256:" + "12" * 32
            )
        ],
        "statefulsets": [_workload("StatefulSet", "apps/v1", "db", "shop", "registry.example/shop/db:16", replicas=1)],
        "jobs": [_workload("Job", "batch/v1", "migrate", "shop", "registry.example/shop/api:1.4")],
        "cronjobs": [_workload("CronJob", "batch/v1", "report", "shop", "registry.example/shop/api:1.4")],
    }


def tiny_dump(root: Path, secret: str | None = None, snapshots: tuple[str, ...] = (SNAP,)) -> Path:
    """Write the tiny dump as a directory `root` (created) and return it."""
    objects = tiny_objects(secret)
    files: dict[str, bytes] = {}
    for snap in snapshots:
        for kind, items in objects.items():
            files[layout.objects_file(snap, kind)] = _list(items)
        leak = f" password={secret}" if secret else ""
        files[layout.log_file(snap, "shop", "api-7d9f-abcde", "main")] = b"exec /usr/local/bin/api: exec format error\n"
        files[layout.log_file(snap, "shop", "api-7d9f-abcde", "main", previous=True)] = (
            f"starting api{leak}\nexec /usr/local/bin/api: exec format error\n".encode()
        )
        files[layout.log_file(snap, "shop", "db-0", "main")] = b"database system is ready to accept connections\n"
        files[layout.log_file(snap, "shop", "db-0", "exporter")] = b"listening on :9187\n"
    meta = {
        "format": layout.FORMAT_NAME,
        "version": layout.FORMAT_VERSION,
        "collected_at": "2026-11-22T05:00:00Z",
        "cluster": {"context": "tiny", "server": "https://tiny:6443"},
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


def extract(tarball: Path, into: Path) -> Path:
    """Unpack a collector tarball (one top folder) safely and return that folder."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    tops = [p for p in into.iterdir()]
    assert len(tops) == 1, f"expected one top folder in {tarball}, got {tops}"
    return tops[0]


@contextmanager
def served(
    dump: Path, forbid: Iterable[str] = (), slow: dict[str, float] | None = None, **options: Any
) -> Iterator[tuple[str, Any]]:
    """Serve `dump` in a thread; yields (url, server). `forbid` and `slow` make it a forbidden or slow
    API server for those resources (`tests/fault_server.py`)."""
    if forbid or slow:
        options["handler"] = faulty(forbid, slow)
    server = make_server(dump, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_url(server), server
    finally:
        server.shutdown()
        server.server_close()


def tool_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """An environment with its own HOME (kubectl's discovery cache lives there)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["HOME"] = str(home)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def run_collect(
    url: str, tmp_path: Path, *args: str, timeout: float = 120, env_extra: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run collectors/collect against a served dump; returns the process and the tarball path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, url)
    env = tool_env(tmp_path / "home", kubeconfig)
    env.update(env_extra or {})
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    proc = subprocess.run(
        ["bash", str(COLLECT), "--output-dir", str(out), *args],
        check=False,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
    )
    tarballs = sorted(out.glob("*.tar.gz"))
    return proc, (tarballs[-1] if tarballs else out / "missing.tar.gz")


def collect_from(dump_path: Path, tmp_path: Path, *args: str) -> Path:
    """Serve `dump_path`, run the collectors against it with the real kubectl, return the new dump tarball.

    Extra `args` go to `collectors/collect` (e.g. "--all-logs", "--no-redact").
    """
    with served(dump_path) as (url, _):
        proc, tarball = run_collect(url, tmp_path, "--no-images", *args)
    if proc.returncode != 0 or not tarball.is_file():
        raise AssertionError(f"collect failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return tarball


def load_meta(dump_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((dump_dir / layout.META).read_text())


def dump_with_images(root: Path, refs: list[str]) -> Path:
    """The tiny dump, plus one running pod per image reference (namespace `images`, node-amd)."""
    tiny_dump(root)
    path = root / layout.objects_file(SNAP, "pods")
    doc = json.loads(path.read_text())
    for i, ref in enumerate(refs):
        doc["items"].append(_pod(f"img-{i}", "images", "node-amd", [("main", ref)], owner=None))
    path.write_text(json.dumps(doc, indent=4))
    return root


def run_inspect(target: Path, home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run collectors/inspect-images on a dump directory or tarball."""
    return subprocess.run(
        ["bash", str(INSPECT), *args, str(target)],
        check=False,
        env=tool_env(home),
        text=True,
        capture_output=True,
        timeout=timeout,
    )
