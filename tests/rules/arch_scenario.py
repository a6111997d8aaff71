"""A tiny scenario language for the architecture-rule tests: nodes by arch, pods by node, image
inspections by ref, logs and binfmt entries, written as a real format-v1 dump and loaded through the
real loader (so the tests exercise the path a customer dump takes)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.analysis.correlate import Context, build_context
from forensics.read import layout
from forensics.read.load import load_dump

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "realdata"
EXEC_RUNC = "exec /app/server: exec format error"
SNAPS = ("20260301T100000Z", "20260301T101000Z")


def single_manifest(arch: str) -> tuple[bytes, bytes]:
    """A Docker v2 single manifest and its config for `arch` (shapes from the real fixtures)."""
    cfg = json.loads((REAL / "containers-image" / "schema2-config.json").read_text())
    cfg["architecture"] = arch
    cfg["created"] = "2026-02-27T09:00:00Z"
    cfg_b = json.dumps(cfg).encode()
    man = json.loads((REAL / "containers-image" / "v2s2.manifest.json").read_text())
    man["config"]["digest"] = "sha256:" + hashlib.sha256(cfg_b).hexdigest()
    return json.dumps(man).encode(), cfg_b


def index(*platforms: str, attestation: bool = True) -> bytes:
    """An OCI index with the given os/arch[/variant] entries (+ a BuildKit attestation entry)."""
    ms = []
    for p in platforms:
        os_, arch, *var = p.split("/")
        plat: dict[str, Any] = {"os": os_, "architecture": arch}
        if var:
            plat["variant"] = var[0]
        ms.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": 500,
                "digest": "sha256:" + hashlib.sha256(p.encode()).hexdigest(),
                "platform": plat,
            }
        )
    if attestation:
        ms.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": 800,
                "digest": "sha256:" + "f" * 64,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": ms[0]["digest"],
                },
            }
        )
    return json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}
    ).encode()


@dataclass
class Pod:
    name: str
    node: str
    image: str
    crash: bool = False  # CrashLoopBackOff after an Error termination
    pull_error: str | None = None  # ErrImagePull with this message
    log: str | None = None  # previous log text
    workload: str = "api"
    arch_selector: str | None = None
    snapshot: int = -1  # index into SNAPS; -1: every snapshot
    restarts: int = 4
    init_image: str | None = None  # an init container "setup" with this image that crash-loops
    digest: str = "1" * 64  # the digest the image resolved to (the container's imageID)


@dataclass
class Scenario:
    nodes: dict[str, str]  # name -> arch
    pods: list[Pod] = field(default_factory=list)
    images: dict[str, tuple[bytes, bytes | None]] = field(default_factory=dict)  # ref -> (manifest, config)
    binfmt: dict[str, list[str]] = field(default_factory=dict)  # node -> entries (qemu-x86_64, ...)
    snapshots: int = 1

    def write(self, root: Path) -> Path:
        snaps = SNAPS[: self.snapshots]
        (root / layout.META).parent.mkdir(parents=True, exist_ok=True)
        (root / layout.META).write_text(f"format: cluster-forensics-dump\nversion: 1\nsnapshots: {list(snaps)}\n")
        for i, snap in enumerate(snaps):
            nodes = [
                {
                    "metadata": {
                        "name": n,
                        "creationTimestamp": "2026-02-01T00:00:00Z",
                        "labels": {"kubernetes.io/arch": a, "eks.amazonaws.com/nodegroup": f"ng-{a}"},
                    },
                    "status": {
                        "nodeInfo": {
                            "architecture": a,
                            "operatingSystem": "linux",
                            "containerRuntimeVersion": "containerd://1.7.11",
                        },
                        "conditions": [{"type": "Ready", "status": "True"}],
                    },
                }
                for n, a in self.nodes.items()
            ]
            pods = [self._pod(p) for p in self.pods if p.snapshot in (-1, i)]
            self._put(root, layout.objects_file(snap, "nodes"), {"kind": "List", "items": nodes})
            self._put(root, layout.objects_file(snap, "pods"), {"kind": "List", "items": pods})
            for p in self.pods:
                if p.log is not None and p.snapshot in (-1, i):
                    f = root / layout.log_file(snap, "prod", p.name, "app", previous=True)
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_text(p.log)
        for ref, (man, cfg) in self.images.items():
            slug = layout.image_slug(ref)
            (root / layout.image_file(slug, "ref.txt")).parent.mkdir(parents=True, exist_ok=True)
            (root / layout.image_file(slug, "ref.txt")).write_text(ref + "\n")
            (root / layout.image_file(slug, "manifest.json")).write_bytes(man)
            if cfg is not None:
                (root / layout.image_file(slug, "config.json")).write_bytes(cfg)
        for node, entries in self.binfmt.items():
            # a listed node always has the global status file, handlers or not
            st = root / layout.binfmt_file(node, "status")
            st.parent.mkdir(parents=True, exist_ok=True)
            st.write_text("enabled\n")
            for e in entries:
                src = {
                    "qemu-x86_64": "proc-binfmt_misc-qemu-x86_64.qus.txt",
                    "qemu-aarch64": "proc-binfmt_misc-qemu-aarch64.qemu-user-static.txt",
                }[e]
                f = root / layout.binfmt_file(node, e)
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes((REAL / "binfmt" / src).read_bytes())
        return root

    def context(self, root: Path) -> Context:
        d = load_dump(self.write(root))
        return build_context(d.frames, d.snapshots, d.meta)

    @staticmethod
    def _put(root: Path, rel: str, obj: Any) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(obj))

    @staticmethod
    def _pod(p: Pod) -> dict[str, Any]:
        spec: dict[str, Any] = {"nodeName": p.node, "containers": [{"name": "app", "image": p.image}]}
        if p.arch_selector:
            spec["nodeSelector"] = {"kubernetes.io/arch": p.arch_selector}
        if p.pull_error:
            st = {
                "name": "app",
                "image": p.image,
                "imageID": "",
                "restartCount": 0,
                "ready": False,
                "state": {"waiting": {"reason": "ErrImagePull", "message": p.pull_error}},
            }
        elif p.crash:
            st = {
                "name": "app",
                "image": p.image,
                "imageID": f"{p.image}@sha256:{p.digest}",
                "restartCount": p.restarts,
                "ready": False,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 5m0s restarting failed container=app pod={p.name}_prod(u)",
                    }
                },
                "lastState": {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": "2026-03-01T09:58:00Z",
                        "finishedAt": "2026-03-01T09:58:00Z",
                    }
                },
            }
        else:
            st = {
                "name": "app",
                "image": p.image,
                "imageID": f"{p.image}@sha256:{p.digest}",
                "restartCount": 0,
                "ready": True,
                "state": {"running": {"startedAt": "2026-03-01T09:00:00Z"}},
            }
        return {
            "metadata": {
                "name": p.name,
                "namespace": "prod",
                "uid": p.name,
                "labels": {"pod-template-hash": "5d8f7c9b4"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{p.workload}-5d8f7c9b4", "controller": True}],
            },
            **Scenario._with_init(p, spec, st),
        }

    @staticmethod
    def _with_init(p: Pod, spec: dict[str, Any], st: dict[str, Any]) -> dict[str, Any]:
        if p.init_image is None:
            return {"spec": spec, "status": {"phase": "Running", "containerStatuses": [st]}}
        spec["initContainers"] = [{"name": "setup", "image": p.init_image}]
        init_st = {
            "name": "setup",
            "image": p.init_image,
            "imageID": f"{p.init_image}@sha256:{'2' * 64}",
            "restartCount": p.restarts,
            "ready": False,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed"}},
            "lastState": {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": "2026-03-01T09:58:00Z",
                    "finishedAt": "2026-03-01T09:58:00Z",
                }
            },
        }
        main_st = {
            "name": "app",
            "image": p.image,
            "imageID": "",
            "restartCount": 0,
            "ready": False,
            "state": {"waiting": {"reason": "PodInitializing"}},
        }
        return {
            "spec": spec,
            "status": {"phase": "Pending", "initContainerStatuses": [init_st], "containerStatuses": [main_st]},
        }
