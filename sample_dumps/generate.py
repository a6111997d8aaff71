#!/usr/bin/env python3
"""Generate the bundled sample dumps (cluster-forensics-dump v1) under `sample_dumps/`.

Each story is a small, realistic cluster told through the files a collector writes:
`kubectl get <kind> -A -o json` lists, container logs, raw registry manifests and configs, and
`/proc/sys/fs/binfmt_misc` entries. Object shapes follow the real outputs kept in
`tests/fixtures/realdata/` (EKS nodes, troubleshoot pods and events, containerd/runc error
dialects, OCI index and Docker manifest bytes). Digests are sha256 of the bytes written, so an
index digest in a pod's `imageID` matches `images/<slug>/manifest.json`.

Deterministic: every random choice comes from a generator seeded by the story name, and
timestamps are fixed. `python3 sample_dumps/generate.py` rewrites the committed dumps byte for
byte (standard library + pyyaml only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import random
import re
import shutil
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
KINDS = (
    "nodes",
    "pods",
    "events",
    "deployments",
    "replicasets",
    "daemonsets",
    "statefulsets",
    "jobs",
    "cronjobs",
)
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet (pod suffixes, template hashes)

# ----------------------------------------------------------------------------- time


def T(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def ts(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def secs(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def go_duration(s: int) -> str:
    """Go's time.Duration.String() for whole seconds (the CrashLoopBackOff message uses it)."""
    m, sec = divmod(s, 60)
    return f"{m}m{sec}s" if m else f"{sec}s"


# ----------------------------------------------------------------------------- serialization


def kubectl_json(obj: Any) -> bytes:
    """What `kubectl get -o json` prints: 4-space indent, sorted keys (unstructured maps), Go's
    HTML-safe escaping of < > & (encoding/json default)."""
    s = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (s + "\n").encode()


def compact(obj: Any) -> bytes:
    """BuildKit / containerd push compact JSON (struct field order, no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def docker_indent(obj: Any) -> bytes:
    """docker/distribution schema2 manifests and lists are MarshalIndent'ed with 3 spaces."""
    return json.dumps(obj, indent=3).encode()


def sha256(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def slug(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", ref)


class Rand:
    """Seeded source for uids, hex ids and k8s name suffixes."""

    def __init__(self, seed: str) -> None:
        self.r = random.Random(seed)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def hex(self, n: int = 64) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def safe(self, n: int) -> str:
        return "".join(self.r.choice(SAFE) for _ in range(n))

    def digest(self) -> str:
        return "sha256:" + self.hex(64)

    def int(self, a: int, b: int) -> int:
        return self.r.randint(a, b)

    def ip(self, prefix: str) -> str:
        return f"{prefix}.{self.r.randint(1, 254)}"


# ----------------------------------------------------------------------------- images

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
D_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
D_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
D_CONFIG = "application/vnd.docker.container.image.v1+json"
D_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class Image:
    """One image reference as the collector inspected it (bytes exactly as written)."""

    ref: str
    manifest: bytes
    config: bytes | None = None  # for a single manifest
    child_configs: dict[str, bytes] = field(default_factory=dict)  # platform-manifest digest -> config
    platforms: dict[str, str] = field(default_factory=dict)  # "arch[/variant]" -> platform-manifest digest
    inspected: bool = True  # False: skopeo failed, nothing written

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def repo(self) -> str:
        return split_ref(self.ref)[0]


def split_ref(ref: str) -> tuple[str, str]:
    """(repository, tag-or-digest) of a reference as written in a pod spec."""
    if "@" in ref:
        name, dig = ref.split("@", 1)
        base = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        return base, dig
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        base, tag = ref.rsplit(":", 1)
        return base, tag
    return ref, "latest"


def normalized(ref: str) -> str:
    """containerd's normalized name (docker.io/library/...) of a Docker Hub short reference."""
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return "docker.io/library/" + ref
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + ref
    return ref


def config_blob(
    rng: Rand,
    arch: str,
    created: dt.datetime,
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    workdir: str = "",
    labels: dict[str, str] | None = None,
    history: list[tuple[str, str | None, bool]] | None = None,
    variant: str = "",
    layers: int = 3,
    os_name: str = "linux",
) -> tuple[bytes, int]:
    """An image config as BuildKit writes it; history items are (created_by, comment, empty)."""
    cfg: dict[str, Any] = {
        "Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    }
    if entrypoint:
        cfg["Entrypoint"] = entrypoint
    if cmd:
        cfg["Cmd"] = cmd
    if workdir:
        cfg["WorkingDir"] = workdir
    if labels:
        cfg["Labels"] = labels
    hist = []
    base = created - dt.timedelta(days=19, hours=3)
    for by, comment, empty in history or []:
        h: dict[str, Any] = {"created": ts(base if comment is None else created), "created_by": by}
        if comment:
            h["comment"] = comment
        if empty:
            h["empty_layer"] = True
        hist.append(h)
    n_layers = sum(1 for h in hist if not h.get("empty_layer")) or layers
    obj: dict[str, Any] = {"created": ts_micro(created).replace("000Z", "Z"), "architecture": arch}
    if variant:
        obj["variant"] = variant
    obj["os"] = os_name
    obj["config"] = cfg
    obj["rootfs"] = {"type": "layers", "diff_ids": [rng.digest() for _ in range(n_layers)]}
    if hist:
        obj["history"] = hist
    return compact(obj), n_layers


def image_manifest(rng: Rand, config: bytes, n_layers: int, oci: bool) -> bytes:
    layers = [
        {"mediaType": OCI_LAYER if oci else D_LAYER, "digest": rng.digest(), "size": rng.int(900, 31_000_000)}
        for _ in range(n_layers)
    ]
    if oci:
        return compact(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
                "layers": layers,
            }
        )
    return docker_indent(
        {
            "schemaVersion": 2,
            "mediaType": D_MANIFEST,
            "config": {"mediaType": D_CONFIG, "size": len(config), "digest": sha256(config)},
            "layers": [{"mediaType": x["mediaType"], "size": x["size"], "digest": x["digest"]} for x in layers],
        }
    )


def single_image(rng: Rand, ref: str, arch: str, created: dt.datetime, *, oci: bool = False, **kw: Any) -> Image:
    """A tag that points at one platform manifest (no index)."""
    cfg, n = config_blob(rng, arch, created, **kw)
    return Image(ref=ref, manifest=image_manifest(rng, cfg, n, oci), config=cfg)


def index_image(
    rng: Rand,
    ref: str,
    platforms: list[str],
    created: dt.datetime,
    *,
    oci: bool = True,
    attestations: bool = True,
    with_configs: bool = True,
    **kw: Any,
) -> Image:
    """An OCI index (BuildKit, optionally with attestation entries) or a Docker manifest list."""
    entries = []
    children: dict[str, str] = {}
    configs: dict[str, bytes] = {}
    for p in platforms:
        arch, _, variant = p.partition("/")
        cfg, n = config_blob(rng, arch, created, variant=variant, **kw)
        man = image_manifest(rng, cfg, n, oci)
        d = sha256(man)
        children[p] = d
        if with_configs:
            configs[d] = cfg
        plat: dict[str, Any] = {"architecture": arch, "os": "linux"}
        if variant:
            plat["variant"] = variant
        if oci:
            entries.append({"mediaType": OCI_MANIFEST, "digest": d, "size": len(man), "platform": plat})
        else:
            entries.append({"mediaType": D_MANIFEST, "size": len(man), "digest": d, "platform": plat})
    if oci and attestations:
        for p in platforms:
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": rng.digest(),
                    "size": rng.int(560, 1100),
                    "annotations": {
                        "vnd.docker.reference.digest": children[p],
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                }
            )
    if oci:
        body = compact({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    else:
        body = docker_indent({"schemaVersion": 2, "mediaType": D_LIST, "manifests": entries})
    return Image(ref=ref, manifest=body, child_configs=configs, platforms=children)


def unknown_image(ref: str) -> Image:
    return Image(ref=ref, manifest=b"", inspected=False)


def buildkit_history(base: str, steps: list[str], entry: str) -> list[tuple[str, str | None, bool]]:
    """A Dockerfile history: the base image's layers (no comment) then BuildKit steps."""
    h: list[tuple[str, str | None, bool]] = [
        (f"/bin/sh -c #(nop) ADD file:{hashlib.sha256(base.encode()).hexdigest()} in / ", None, False),
        ('/bin/sh -c #(nop)  CMD ["/bin/sh"]', None, True),
    ]
    for s in steps:
        empty = s.split(" ", 1)[0] in ("ENV", "WORKDIR", "USER", "EXPOSE", "LABEL", "ARG", "CMD")
        by = s if empty else f"{s} # buildkit"
        if s.startswith("RUN "):
            by = "RUN /bin/sh -c " + s[4:] + " # buildkit"
        h.append((by, "buildkit.dockerfile.v0", empty))
    h.append((f"ENTRYPOINT {entry}", "buildkit.dockerfile.v0", True))
    return h


# ----------------------------------------------------------------------------- nodes

INSTANCE = {  # cpu, memory Ki, pods
    "m6i.xlarge": (4, 15_896_988, 58),
    "m6i.2xlarge": (8, 32_231_316, 58),
    "m7g.xlarge": (4, 15_896_988, 58),
    "m7g.2xlarge": (8, 32_231_316, 58),
    "c6i.2xlarge": (8, 15_896_988, 58),
    "c7g.2xlarge": (8, 15_896_988, 58),
    "e2-standard-4": (4, 16_393_288, 110),
    "n2-standard-8": (8, 32_882_960, 110),
    "t2a-standard-4": (4, 16_393_288, 110),
    "Standard_D4s_v5": (4, 16_374_476, 110),
    "Standard_D4ps_v5": (4, 16_374_476, 110),
    "Standard_D8s_v5": (8, 32_863_332, 110),
    "k3s": (80, 131_790_172, 110),
    "bare-x86": (32, 131_790_172, 110),
    "bare-arm": (80, 263_583_532, 110),
    "Standard_D4s_v3": (4, 16_393_936, 30),
    "bare-x86-2013": (24, 65_851_580, 110),
    "kvm-vm": (8, 32_863_332, 110),
    "m6g.xlarge": (4, 15_896_988, 58),
    "rpi4": (4, 3_881_412, 110),
    "ocp-worker-x86": (8, 32_863_332, 250),
    "ocp-worker-arm": (8, 32_863_332, 250),
}


@dataclass
class NodeSpec:
    name: str
    arch: str
    pool: str
    itype: str
    created: dt.datetime
    runtime: str  # containerd://1.7.11 | docker://20.10.12
    kernel: str
    os_image: str
    kubelet: str
    provider: str  # eks | gke | aks | k3s | kubeadm
    ip: str
    zone: str = ""
    ready: bool = True
    not_ready_since: dt.datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    uid: str = ""
    binfmt: dict[str, bytes] | None = None
    cordoned: bool = False  # `kubectl cordon`: spec.unschedulable and the unschedulable taint
    os: str = "linux"

    @property
    def docker(self) -> bool:
        return self.runtime.startswith("docker://")


def node_object(n: NodeSpec, now: dt.datetime, rng: Rand, images: list[Image]) -> dict[str, Any]:
    cpu, mem, pods = INSTANCE[n.itype]
    labels = {
        "beta.kubernetes.io/arch": n.arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": n.arch,
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": n.itype,
    }
    if n.provider != "k3s" and n.provider != "kubeadm":
        labels["beta.kubernetes.io/instance-type"] = n.itype
    region = n.zone[:-1] if n.provider in ("eks", "gke") else n.zone.rsplit("-", 1)[0]
    if n.zone:
        labels |= {
            "failure-domain.beta.kubernetes.io/region": region,
            "failure-domain.beta.kubernetes.io/zone": n.zone,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": n.zone,
        }
    if n.provider == "eks":
        labels |= {
            "eks.amazonaws.com/capacityType": "ON_DEMAND",
            "eks.amazonaws.com/nodegroup": n.pool,
            "eks.amazonaws.com/nodegroup-image": "ami-0" + rng.hex(16),
            "k8s.io/cloud-provider-aws": rng.hex(32),
        }
    elif n.provider == "gke":
        labels |= {
            "cloud.google.com/gke-boot-disk": "pd-balanced",
            "cloud.google.com/gke-container-runtime": "containerd",
            "cloud.google.com/gke-nodepool": n.pool,
            "cloud.google.com/gke-os-distribution": "cos",
            "cloud.google.com/machine-family": n.itype.split("-")[0],
        }
    elif n.provider == "aks":
        labels |= {
            "agentpool": n.pool,
            "kubernetes.azure.com/agentpool": n.pool,
            "kubernetes.azure.com/cluster": "MC_rg-shop-prod_aks-shop-prod_westeurope",
            "kubernetes.azure.com/mode": "system" if n.pool == "system" else "user",
            "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2"
            + ("arm64" if n.arch == "arm64" else "")
            + "containerd-202406.25.0",
            "kubernetes.azure.com/os-sku": "Ubuntu",
            "kubernetes.azure.com/role": "agent",
        }
    if n.os != "linux":
        labels |= {"beta.kubernetes.io/os": n.os, "kubernetes.io/os": n.os}
        if n.os == "windows":
            labels["node.kubernetes.io/windows-build"] = ".".join(n.kernel.split(".")[:3])
    labels |= n.labels
    if n.ready:
        conds = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        conditions = [
            {
                "lastHeartbeatTime": ts(now - secs(rng.int(5, 50))),
                "lastTransitionTime": ts(n.created + secs(4 if c[0] == "Ready" else 0)),
                "message": c[3],
                "reason": c[2],
                "status": c[1],
                "type": c[0],
            }
            for c in conds
        ]
    else:
        assert n.not_ready_since is not None
        conditions = [
            {
                "lastHeartbeatTime": ts(n.not_ready_since - secs(40)),
                "lastTransitionTime": ts(n.not_ready_since),
                "message": "Kubelet stopped posting node status.",
                "reason": "NodeStatusUnknown",
                "status": "Unknown",
                "type": t,
            }
            for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
        ]
    spec: dict[str, Any] = {}
    if n.provider == "eks":
        spec["providerID"] = f"aws:///{n.zone}/i-0{rng.hex(16)}"
    elif n.provider == "gke":
        spec["providerID"] = f"gce://acme-shop/{n.zone}/{n.name}"
        spec["podCIDR"] = f"10.{rng.int(40, 60)}.{rng.int(0, 250)}.0/24"
    elif n.provider == "aks":
        spec["providerID"] = (
            "azure:///subscriptions/" + rng.uid() + "/resourceGroups/mc_rg-shop-prod_aks-shop-prod_westeurope/"
            f"providers/Microsoft.Compute/virtualMachineScaleSets/aks-{n.pool}-{rng.int(10000000, 99999999)}-vmss/"
            f"virtualMachines/{int(n.name[-1], 36)}"
        )
        spec["podCIDR"] = f"10.244.{rng.int(0, 250)}.0/24"
    else:
        spec["podCIDR"] = f"10.42.{rng.int(0, 250)}.0/24"
    taints = list(n.taints)
    if n.cordoned:
        spec["unschedulable"] = True
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "timeAdded": ts(n.created)})
    if not n.ready:
        taints += [
            {"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable", "timeAdded": ts(n.not_ready_since)},
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "timeAdded": ts(n.not_ready_since + secs(5)),
            },
        ]
    if taints:
        spec["taints"] = taints
    addresses = [{"address": n.ip, "type": "InternalIP"}]
    if n.provider == "eks":
        addresses.append({"address": n.name, "type": "InternalDNS"})
    addresses.append({"address": n.name, "type": "Hostname"})
    machine = rng.hex(32)
    node_images = []
    for img in images[:4]:
        repo = normalized(img.ref) if not n.docker else img.ref
        base = split_ref(repo)[0]
        node_images.append({"names": [f"{base}@{img.digest}", repo], "sizeBytes": rng.int(9_000_000, 420_000_000)})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": n.ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": ts(n.created),
            "labels": labels,
            "name": n.name,
            "resourceVersion": str(rng.int(100000, 9999999)),
            "uid": n.uid,
        },
        "spec": spec,
        "status": {
            "addresses": addresses,
            "allocatable": {
                "cpu": f"{cpu * 1000 - 90 - cpu * 10}m",
                "ephemeral-storage": "95491281146",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{mem - 1_000_000}Ki",
                "pods": str(pods),
            },
            "capacity": {
                "cpu": str(cpu),
                "ephemeral-storage": "104845292Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": f"{mem}Ki",
                "pods": str(pods),
            },
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": node_images,
            "nodeInfo": {
                "architecture": n.arch,
                "bootID": rng.uid(),
                "containerRuntimeVersion": n.runtime,
                "kernelVersion": n.kernel,
                "kubeProxyVersion": n.kubelet,
                "kubeletVersion": n.kubelet,
                "machineID": machine,
                "operatingSystem": n.os,
                "osImage": n.os_image,
                "systemUUID": str(uuid.UUID(machine)),
            },
        },
    }


# ----------------------------------------------------------------------------- containers and their lives


@dataclass
class C:
    """A container in a pod template."""

    name: str
    image: Image
    policy: str = "File"  # terminationMessagePolicy
    command: list[str] | None = None
    args: list[str] | None = None
    ports: list[int] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    limits: dict[str, str] | None = None
    liveness: str | None = None  # http path
    env_from_configmap: str | None = None


@dataclass
class Run:
    """Running since `started` (optionally after earlier restarts)."""

    started: dt.datetime
    restarts: int = 0
    last: dict[str, Any] | None = None  # a lastState.terminated body
    log: str = ""
    previous_log: str | None = None
    ready: bool = True


@dataclass
class Crash:
    """Starts at `t0`, runs `run_s` seconds, dies with `exit`; kubelet backs off 10s doubling to 5m.
    `log` is what each attempt writes (the line a runtime or app prints)."""

    t0: dt.datetime
    log: str
    exit: int = 1
    reason: str = "Error"
    run_s: float = 0.0
    max_restarts: int | None = None  # cap (e.g. a pod deleted and recreated is a new Crash)


@dataclass
class Wait:
    reason: str
    message: str | None = None


@dataclass
class Done:
    """A finished container (Job pods)."""

    started: dt.datetime
    finished: dt.datetime
    exit: int = 0
    reason: str = "Completed"
    log: str = ""


def crash_attempts(c: Crash, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    start = c.t0
    back = 10
    while start <= now:
        fin = start + secs(max(c.run_s, 0.4))
        out.append((start, fin))
        if c.max_restarts is not None and len(out) > c.max_restarts:
            break
        start = fin + secs(back + 1)
        back = min(back * 2, 300)
    return out


def backoff_after(n_attempts: int) -> int:
    return min(10 * 2 ** (n_attempts - 1), 300)


# ----------------------------------------------------------------------------- the cluster builder


@dataclass
class Owner:
    kind: str
    name: str
    uid: str
    api: str = "apps/v1"


@dataclass
class Workload:
    """A controller and its pod template. Deployments hold ReplicaSets (`rsets`)."""

    kind: str  # Deployment | DaemonSet | StatefulSet | CronJob | Job | ReplicaSet
    ns: str
    name: str
    containers: list[C]
    created: dt.datetime
    uid: str
    replicas: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    host_network: bool = False
    priority_class: str | None = None
    generation: int = 1
    template_hash: str = ""
    owner: Owner | None = None
    revision: int = 1
    schedule: str = ""  # CronJob
    job_time: dt.datetime | None = None  # Job scheduled time
    job_failed: tuple[str, str, dt.datetime] | None = None  # Job: its Failed condition (reason, message, when)
    strategy: str = "RollingUpdate"
    volumes: list[dict[str, Any]] | None = None

    @property
    def selector(self) -> dict[str, str]:
        return {k: v for k, v in self.labels.items() if k in ("app", "app.kubernetes.io/name", "k8s-app", "name")}


@dataclass
class PodSpec:
    wl: Workload
    name: str
    uid: str
    node: NodeSpec | None
    created: dt.datetime
    states: dict[str, Any]  # container name -> Run | Crash | Wait | Done
    ip: str = ""
    evicted: str | None = None  # eviction message
    unschedulable: str | None = None
    mirror_of: NodeSpec | None = None  # static pod
    labels: dict[str, str] = field(default_factory=dict)  # set on this pod by others (an operator)


class Story:
    """One sample dump: nodes, workloads, images, and pods per snapshot."""

    def __init__(self, name: str, *, context: str, server: str, kubelet: str) -> None:
        self.name = name
        self.rng = Rand(name)
        self.context = context
        self.server = server
        self.kubelet = kubelet
        self.nodes: list[NodeSpec] = []
        self.images: dict[str, Image] = {}
        self.snapshots: list[Snapshot] = []
        self.image_failures: dict[str, str] = {}  # ref -> skopeo stderr
        self.missing_kinds: dict[str, str] = {}  # kind -> kubectl stderr (every snapshot)
        self.broken: dict[str, bytes] = {}  # kind -> bytes written instead of the list
        self.events_new_api = False  # events collected as events.events.k8s.io
        self.readme = ""
        self.expected: dict[str, Any] = {}
        self.foreign: str | None = None  # troubleshoot | must-gather | cluster-info: written in that layout
        self.foreign_images = True  # keep the image inspections next to a foreign dump (for --images)

    # -- inventory
    def node(self, **kw: Any) -> NodeSpec:
        kw.setdefault("kubelet", self.kubelet)
        n = NodeSpec(uid=self.rng.uid(), **kw)
        self.nodes.append(n)
        return n

    def image(self, img: Image) -> Image:
        self.images[img.ref] = img
        return img

    def workload(self, kind: str, ns: str, name: str, containers: list[C], created: dt.datetime, **kw: Any) -> Workload:
        kw.setdefault("labels", {"app": name})
        return Workload(kind, ns, name, containers, created, self.rng.uid(), **kw)

    def replicaset(
        self, dep: Workload, created: dt.datetime, containers: list[C] | None = None, revision: int = 1
    ) -> Workload:
        h = self.rng.safe(self.rng.int(9, 10))
        rs = Workload(
            "ReplicaSet",
            dep.ns,
            f"{dep.name}-{h}",
            containers or dep.containers,
            created,
            self.rng.uid(),
            replicas=dep.replicas,
            labels=dict(dep.labels) | {"pod-template-hash": h},
            node_selector=dep.node_selector,
            affinity=dep.affinity,
            tolerations=dep.tolerations,
            volumes=dep.volumes,
            pod_annotations=dep.pod_annotations,
            priority_class=dep.priority_class,
            template_hash=h,
            owner=Owner("Deployment", dep.name, dep.uid),
            revision=revision,
        )
        return rs

    def job(self, cj: Workload, at: dt.datetime) -> Workload:
        name = f"{cj.name}-{int(at.timestamp() // 60)}"
        return Workload(
            "Job",
            cj.ns,
            name,
            cj.containers,
            at,
            self.rng.uid(),
            labels=dict(cj.labels),
            owner=Owner("CronJob", cj.name, cj.uid, "batch/v1"),
            job_time=at,
        )

    def pod(
        self, wl: Workload, node: NodeSpec | None, created: dt.datetime, states: dict[str, Any], **kw: Any
    ) -> PodSpec:
        if wl.kind == "StatefulSet":
            name = f"{wl.name}-{kw.pop('ordinal', 0)}"
        elif wl.kind == "Pod":
            name = wl.name
        else:
            name = f"{wl.name}-{self.rng.safe(5)}"
        ip = "" if node is None else (node.ip if wl.host_network else self.rng.ip(pod_net(node)))
        return PodSpec(wl, kw.pop("name", name), self.rng.uid(), node, created, states, ip=ip, **kw)

    def daemon_pods(self, ds: Workload, nodes: list[NodeSpec], states_for: Any) -> list[PodSpec]:
        return [self.pod(ds, n, max(ds.created, n.created) + secs(3), states_for(n)) for n in nodes]

    def snapshot(self, at: dt.datetime) -> Snapshot:
        s = Snapshot(self, at)
        self.snapshots.append(s)
        return s

    def arch_of(self, node: NodeSpec) -> str:
        return node.arch


def pod_net(n: NodeSpec) -> str:
    o = n.ip.split(".")
    return {"eks": f"{o[0]}.{o[1]}.{int(o[2]) + 1}", "gke": "10.48.3", "aks": "10.244.1"}.get(n.provider, "10.42.1")


@dataclass
class Event:
    ns: str
    kind: str
    name: str
    uid: str
    reason: str
    message: str
    first: dt.datetime
    last: dt.datetime
    count: int = 1
    type: str = "Normal"
    component: str = "kubelet"
    host: str = ""
    field_path: str | None = None
    new_api: bool = False  # written through events.k8s.io/v1 (scheduler): no first/last/count
    api: str = "v1"


class Snapshot:
    def __init__(self, story: Story, at: dt.datetime) -> None:
        self.story = story
        self.at = at
        self.workloads: list[Workload] = []
        self.pods: list[PodSpec] = []
        self.events: list[Event] = []
        self.log_failures: dict[tuple[str, str, str, bool], str] = {}  # (ns,pod,container,previous) -> stderr
        self.no_logs: set[tuple[str, str]] = set()  # (ns,pod) whose logs were not collected at all
        self.extra_logs: dict[str, bytes] = {}  # relative log path -> raw bytes override

    @property
    def folder(self) -> str:
        return self.at.strftime("%Y%m%dT%H%M%SZ")

    def add(self, *wls: Workload) -> None:
        self.workloads.extend(wls)

    def add_pods(self, pods: list[PodSpec] | PodSpec) -> None:
        self.pods.extend(pods if isinstance(pods, list) else [pods])

    def event(self, **kw: Any) -> None:
        self.events.append(Event(**kw))

    def pod_event(
        self,
        p: PodSpec,
        reason: str,
        message: str,
        first: dt.datetime,
        last: dt.datetime | None = None,
        count: int = 1,
        type: str = "Normal",
        container: str | None = None,
    ) -> None:
        """A kubelet event about a pod (expired ones are simply not added)."""
        fp = f"spec.containers{{{container}}}" if container else None
        self.event(
            ns=p.wl.ns,
            kind="Pod",
            name=p.name,
            uid=p.uid,
            reason=reason,
            message=message,
            first=first,
            last=last or first,
            count=count,
            type=type,
            host=p.node.name if p.node else "",
            field_path=fp,
        )

    def scheduled(self, p: PodSpec) -> None:
        assert p.node is not None
        self.event(
            ns=p.wl.ns,
            kind="Pod",
            name=p.name,
            uid=p.uid,
            reason="Scheduled",
            message=f"Successfully assigned {p.wl.ns}/{p.name} to {p.node.name}",
            first=p.created,
            last=p.created,
            component="default-scheduler",
            new_api=True,
        )

    def crash_events(self, p: PodSpec, cname: str, *, since: dt.datetime | None = None) -> None:
        """The events a crash-looping container leaves: Pulled/Created/Started per attempt, BackOff."""
        st = p.states[cname]
        assert isinstance(st, Crash)
        att = crash_attempts(st, self.at)
        keep = [a for a in att if since is None or a[0] >= since]
        if not keep:
            return
        img = next(c.image for c in p.wl.containers if c.name == cname)
        first, last = keep[0][0], keep[-1][0]
        n = len(keep)
        self.pod_event(
            p, "Pulled", f'Container image "{img.ref}" already present on machine', first, last, n, container=cname
        )
        self.pod_event(p, "Created", f"Created container {cname}", first, last, n, container=cname)
        self.pod_event(p, "Started", f"Started container {cname}", first, last, n, container=cname)
        if len(att) > 1 or self.at > keep[-1][1]:
            bf = keep[0][1] + secs(1)
            cnt = max(1, int((self.at - bf).total_seconds() // 13))
            self.pod_event(
                p,
                "BackOff",
                f"Back-off restarting failed container {cname} in pod {p.name}_{p.wl.ns}({p.uid})",
                bf,
                self.at - secs(self.story.rng.int(2, 40)),
                cnt,
                type="Warning",
                container=cname,
            )


# ----------------------------------------------------------------------------- rendering objects

DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
]


def container_spec(c: C) -> dict[str, Any]:
    d: dict[str, Any] = {
        "image": c.image.ref,
        "imagePullPolicy": "IfNotPresent",
        "name": c.name,
        "resources": {"requests": dict(c.requests)} | ({"limits": dict(c.limits)} if c.limits else {}),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": c.policy,
    }
    if c.command:
        d["command"] = c.command
    if c.args:
        d["args"] = c.args
    if c.ports:
        d["ports"] = [
            {"containerPort": p, "name": "http" if i == 0 else f"p{p}", "protocol": "TCP"}
            for i, p in enumerate(c.ports)
        ]
    if c.liveness:
        d["livenessProbe"] = {
            "failureThreshold": 3,
            "httpGet": {"path": c.liveness, "port": c.ports[0] if c.ports else 8080, "scheme": "HTTP"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        }
    if c.env_from_configmap:
        d["envFrom"] = [{"configMapRef": {"name": c.env_from_configmap}}]
    return d


def template_spec(wl: Workload) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [container_spec(c) for c in wl.containers],
        "dnsPolicy": "ClusterFirstWithHostNet" if wl.host_network else "ClusterFirst",
        "restartPolicy": "OnFailure" if wl.kind in ("Job", "CronJob") else "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    }
    if wl.node_selector:
        spec["nodeSelector"] = wl.node_selector
    if wl.affinity:
        spec["affinity"] = wl.affinity
    if wl.tolerations:
        spec["tolerations"] = wl.tolerations
    if wl.volumes:
        spec["volumes"] = wl.volumes
    if wl.host_network:
        spec["hostNetwork"] = True
    if wl.priority_class:
        spec["priorityClassName"] = wl.priority_class
    return spec


def image_id(img: Image, node: NodeSpec) -> str:
    """containerd: `repo@<digest the tag resolved to>` (the INDEX digest for an index);
    dockershim/cri-dockerd: `docker-pullable://repo@digest` with the short Docker Hub name."""
    if node.docker:
        return f"docker-pullable://{split_ref(img.ref)[0]}@{img.digest}"
    return f"{split_ref(normalized(img.ref))[0]}@{img.digest}"


def status_image(img: Image, node: NodeSpec) -> str:
    return img.ref if node.docker else normalized(img.ref)


def cid(story: Story, node: NodeSpec) -> str:
    return ("docker://" if node.docker else "containerd://") + story.rng.hex(64)


def term(
    story: Story,
    node: NodeSpec,
    exit: int,
    reason: str,
    start: dt.datetime,
    fin: dt.datetime,
    message: str | None = None,
) -> dict[str, Any]:
    t: dict[str, Any] = {
        "containerID": cid(story, node),
        "exitCode": exit,
        "finishedAt": ts(fin),
        "reason": reason,
        "startedAt": ts(start),
    }
    if message:
        t["message"] = message
    return t


def container_status(story: Story, p: PodSpec, c: C, now: dt.datetime) -> tuple[dict[str, Any], str | None, str | None]:
    """(containerStatus, current log, previous log) of one container at `now`."""
    st = p.states[c.name]
    node = p.node
    assert node is not None
    base: dict[str, Any] = {"image": status_image(c.image, node), "imageID": image_id(c.image, node), "name": c.name}
    fallback = c.policy == "FallbackToLogsOnError"
    if isinstance(st, Run):
        base |= {
            "containerID": cid(story, node),
            "lastState": {"terminated": st.last} if st.last else {},
            "ready": st.ready,
            "restartCount": st.restarts,
            "started": True,
            "state": {"running": {"startedAt": ts(st.started)}},
        }
        return base, st.log, st.previous_log
    if isinstance(st, Done):
        base |= {
            "containerID": cid(story, node),
            "lastState": {},
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"terminated": term(story, node, st.exit, st.reason, st.started, st.finished)},
        }
        return base, st.log, None
    if isinstance(st, Wait):
        w: dict[str, Any] = {"reason": st.reason}
        if st.message:
            w["message"] = st.message
        base |= {
            "imageID": "",
            "lastState": {},
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"waiting": w},
        }
        if st.reason in ("CreateContainerConfigError", "ContainerCreating"):
            base["image"] = c.image.ref
        else:
            base["image"] = c.image.ref
        return base, None, None
    assert isinstance(st, Crash)
    att = crash_attempts(st, now)
    msg = st.log if fallback and st.log else None
    (s_last, f_last) = att[-1]
    running = s_last <= now < f_last
    restarts = len(att) - 1
    if running:
        ps, pf = att[-2] if len(att) > 1 else (None, None)
        last = {"terminated": term(story, node, st.exit, st.reason, ps, pf, msg)} if ps else {}
        base |= {
            "containerID": cid(story, node),
            "lastState": last,
            "ready": False,
            "restartCount": restarts,
            "started": True,
            "state": {"running": {"startedAt": ts(s_last)}},
        }
        return base, st.log.split("\n")[0] + "\n" if st.log else "", st.log if ps else None
    if st.reason == "StartError":
        t = term(story, node, st.exit, st.reason, T("1970-01-01T00:00:00Z"), f_last, st.log)
    else:
        t = term(story, node, st.exit, st.reason, s_last, f_last, msg)
    back = backoff_after(len(att))
    base |= {
        "containerID": t["containerID"],
        "lastState": {"terminated": t},
        "ready": False,
        "restartCount": restarts,
        "started": False,
        "state": {
            "waiting": {
                "message": f"back-off {go_duration(back)} restarting failed container={c.name} "
                f"pod={p.name}_{p.wl.ns}({p.uid})",
                "reason": "CrashLoopBackOff",
            }
        },
    }
    if st.reason == "StartError":
        return base, None, None
    return base, st.log, st.log if restarts else None


def owner_refs(p: PodSpec) -> list[dict[str, Any]]:
    if p.mirror_of is not None:
        return [
            {"apiVersion": "v1", "controller": True, "kind": "Node", "name": p.mirror_of.name, "uid": p.mirror_of.uid}
        ]
    wl = p.wl
    if wl.kind == "Pod":
        return []
    api = "batch/v1" if wl.kind == "Job" else "apps/v1"
    return [
        {
            "apiVersion": api,
            "blockOwnerDeletion": True,
            "controller": True,
            "kind": wl.kind,
            "name": wl.name,
            "uid": wl.uid,
        }
    ]


def pod_object(
    story: Story, p: PodSpec, now: dt.datetime
) -> tuple[dict[str, Any], dict[str, tuple[str | None, str | None]]]:
    wl = p.wl
    labels = dict(wl.labels) | p.labels
    if wl.kind == "DaemonSet":
        labels |= {
            "controller-revision-hash": wl.template_hash or "6d4b8c7f9",
            "pod-template-generation": str(wl.generation),
        }
    if wl.kind == "StatefulSet":
        labels |= {
            "apps.kubernetes.io/pod-index": p.name.rsplit("-", 1)[1],
            "controller-revision-hash": f"{wl.name}-{wl.template_hash or '7c9d6b5f48'}",
            "statefulset.kubernetes.io/pod-name": p.name,
        }
    if wl.kind == "Job":
        labels |= {
            "batch.kubernetes.io/controller-uid": wl.uid,
            "batch.kubernetes.io/job-name": wl.name,
            "controller-uid": wl.uid,
            "job-name": wl.name,
        }
    meta: dict[str, Any] = {
        "creationTimestamp": ts(p.created),
        "labels": labels,
        "name": p.name,
        "namespace": wl.ns,
        "resourceVersion": str(story.rng.int(100000, 99999999)),
        "uid": p.uid,
    }
    if wl.kind not in ("StatefulSet", "Pod") and p.mirror_of is None:
        meta["generateName"] = p.name[:-5]
    if owner_refs(p):
        meta["ownerReferences"] = owner_refs(p)
    ann = dict(wl.pod_annotations)
    if p.mirror_of is not None:
        ann |= {
            "kubernetes.io/config.hash": story.rng.hex(32),
            "kubernetes.io/config.mirror": story.rng.hex(32),
            "kubernetes.io/config.seen": ts_micro(p.created),
            "kubernetes.io/config.source": "file",
        }
    if ann:
        meta["annotations"] = ann
    spec = template_spec(wl)
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    spec["priority"] = (
        2000001000
        if wl.priority_class == "system-node-critical"
        else (2000000000 if wl.priority_class == "system-cluster-critical" else 0)
    )
    spec["serviceAccount"] = spec["serviceAccountName"] = "default"
    spec["tolerations"] = (wl.tolerations or []) + DEFAULT_TOLERATIONS
    if wl.kind == "DaemonSet" and p.node is not None:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [p.node.name]}]}
                    ]
                }
            }
        }
    if p.node is not None:
        spec["nodeName"] = p.node.name
    spec["automountServiceAccountToken"] = False
    logs: dict[str, tuple[str | None, str | None]] = {}
    status: dict[str, Any] = {"qosClass": "Burstable"}
    cond_t = p.created + secs(1)
    if p.unschedulable:
        status |= {
            "conditions": [
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(cond_t),
                    "message": p.unschedulable,
                    "reason": "Unschedulable",
                    "status": "False",
                    "type": "PodScheduled",
                }
            ],
            "phase": "Pending",
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}, logs
    assert p.node is not None
    statuses = []
    for c in wl.containers:
        cs, cur, prev = container_status(story, p, c, now)
        statuses.append(cs)
        logs[c.name] = (cur, prev)
    ready = all(cs["ready"] for cs in statuses)
    done = all("terminated" in cs["state"] for cs in statuses)
    waiting_pull = any(
        cs["state"].get("waiting", {}).get("reason")
        in ("ErrImagePull", "ImagePullBackOff", "ContainerCreating", "CreateContainerConfigError")
        and cs["restartCount"] == 0
        for cs in statuses
    )
    if p.evicted:
        for cs in statuses:
            cs["ready"] = False
            cs["started"] = False
            cs["state"] = {
                "terminated": {
                    "exitCode": 137,
                    "finishedAt": None,
                    "message": "The container could not be located when the pod was terminated",
                    "reason": "ContainerStatusUnknown",
                    "startedAt": None,
                }
            }
            cs["lastState"] = {}
        logs = {}
        status |= {
            "message": p.evicted,
            "phase": "Failed",
            "reason": "Evicted",
            "startTime": ts(cond_t),
            "containerStatuses": statuses,
            "hostIP": p.node.ip,
            "conditions": [
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(now - secs(3 * 3600)),
                    "message": p.evicted,
                    "reason": "TerminationByKubelet",
                    "status": "True",
                    "type": "DisruptionTarget",
                }
            ],
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}, logs
    if done:
        phase = "Succeeded" if all(cs["state"]["terminated"]["exitCode"] == 0 for cs in statuses) else "Failed"
    elif waiting_pull:
        phase = "Pending"
    else:
        phase = "Running"
    not_ready = [cs["name"] for cs in statuses if not cs["ready"]]
    conds = []
    if story.kubelet >= "v1.29":
        conds.append(
            {
                "lastProbeTime": None,
                "lastTransitionTime": ts(cond_t + secs(2)),
                "status": "True" if not done else "False",
                "type": "PodReadyToStartContainers",
            }
        )
    conds.append({"lastProbeTime": None, "lastTransitionTime": ts(cond_t), "status": "True", "type": "Initialized"})
    node_down = not p.node.ready
    for typ in ("Ready", "ContainersReady"):
        if node_down and typ == "Ready":
            conds.append(
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(p.node.not_ready_since + secs(41)),
                    "status": "False",
                    "type": "Ready",
                }
            )
        elif ready and not done:
            conds.append(
                {"lastProbeTime": None, "lastTransitionTime": ts(cond_t + secs(5)), "status": "True", "type": typ}
            )
        else:
            conds.append(
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": ts(cond_t + secs(5)),
                    "message": f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else None,
                    "reason": "PodCompleted" if done else "ContainersNotReady",
                    "status": "False",
                    "type": typ,
                }
            )
            if conds[-1]["message"] is None:
                del conds[-1]["message"]
    if node_down:
        conds.append(
            {
                "lastProbeTime": None,
                "lastTransitionTime": ts(p.node.not_ready_since + secs(41)),
                "message": "Taint {node.kubernetes.io/unreachable: } is going to be applied",
                "reason": "DeletionByNodeLifecycleController",
                "status": "True",
                "type": "DisruptionTarget",
            }
        )
    conds.append({"lastProbeTime": None, "lastTransitionTime": ts(p.created), "status": "True", "type": "PodScheduled"})
    status |= {
        "conditions": conds,
        "containerStatuses": statuses,
        "hostIP": p.node.ip,
        "hostIPs": [{"ip": p.node.ip}],
        "phase": phase,
        "podIP": p.ip,
        "podIPs": [{"ip": p.ip}],
        "startTime": ts(cond_t),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}, logs


def pod_ready(story: Story, p: PodSpec, now: dt.datetime) -> bool:
    if p.evicted or p.unschedulable or p.node is None or not p.node.ready:
        return False
    for c in p.wl.containers:
        st = p.states[c.name]
        if not (isinstance(st, Run) and st.ready):
            return False
    return True


def controller_object(
    story: Story, wl: Workload, pods: list[PodSpec], now: dt.datetime, children: list[Workload]
) -> dict[str, Any]:
    """Deployment / ReplicaSet / DaemonSet / StatefulSet / Job / CronJob with a status that
    agrees with the pods of this snapshot."""
    mine = [p for p in pods if p.wl is wl] if wl.kind != "Deployment" else [p for p in pods if p.wl in children]
    alive = [p for p in mine if not p.evicted]
    ready = sum(pod_ready(story, p, now) for p in alive)
    labels = dict(wl.labels)
    meta: dict[str, Any] = {
        "creationTimestamp": ts(wl.created),
        "generation": wl.generation,
        "labels": labels,
        "name": wl.name,
        "namespace": wl.ns,
        "resourceVersion": str(story.rng.int(100000, 99999999)),
        "uid": wl.uid,
    }
    ann = dict(wl.annotations)
    tmpl_labels = {k: v for k, v in wl.labels.items()}
    tmpl = {"metadata": {"creationTimestamp": None, "labels": tmpl_labels}, "spec": template_spec(wl)}
    if wl.pod_annotations:
        tmpl["metadata"]["annotations"] = dict(wl.pod_annotations)
    sel = {"matchLabels": wl.selector | ({"pod-template-hash": wl.template_hash} if wl.kind == "ReplicaSet" else {})}
    if wl.kind == "Deployment":
        rs_now = max(children, key=lambda r: r.revision)
        tmpl = {"metadata": {"creationTimestamp": None, "labels": dict(wl.labels)}, "spec": template_spec(rs_now)}
        ann["deployment.kubernetes.io/revision"] = str(rs_now.revision)
        updated = [p for p in alive if p.wl is rs_now]
        avail = ready
        unavailable = max(0, wl.replicas - avail)
        conds = [
            {
                "lastTransitionTime": ts(wl.created + secs(2)),
                "lastUpdateTime": ts(wl.created + secs(2)),
                "message": "Deployment has minimum availability."
                if unavailable <= wl.replicas // 4
                else "Deployment does not have minimum availability.",
                "reason": "MinimumReplicasAvailable"
                if unavailable <= wl.replicas // 4
                else "MinimumReplicasUnavailable",
                "status": "True" if unavailable <= wl.replicas // 4 else "False",
                "type": "Available",
            },
        ]
        stuck = any(pod_ready(story, p, now) is False for p in updated)
        if stuck and now - rs_now.created > dt.timedelta(minutes=10):
            conds.append(
                {
                    "lastTransitionTime": ts(rs_now.created + secs(600)),
                    "lastUpdateTime": ts(rs_now.created + secs(600)),
                    "message": f'ReplicaSet "{rs_now.name}" has timed out progressing.',
                    "reason": "ProgressDeadlineExceeded",
                    "status": "False",
                    "type": "Progressing",
                }
            )
        else:
            conds.append(
                {
                    "lastTransitionTime": ts(rs_now.created),
                    "lastUpdateTime": ts(rs_now.created + secs(30)),
                    "message": f'ReplicaSet "{rs_now.name}" '
                    + ("is progressing." if stuck else "has successfully progressed."),
                    "reason": "ReplicaSetUpdated" if stuck else "NewReplicaSetAvailable",
                    "status": "True",
                    "type": "Progressing",
                }
            )
        status = {
            "availableReplicas": avail,
            "conditions": conds,
            "observedGeneration": wl.generation,
            "readyReplicas": ready,
            "replicas": len(alive),
            "updatedReplicas": len(updated),
        }
        if unavailable:
            status["unavailableReplicas"] = unavailable
        spec = {
            "progressDeadlineSeconds": 600,
            "replicas": wl.replicas,
            "revisionHistoryLimit": 10,
            "selector": sel,
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"}
            if wl.strategy == "RollingUpdate"
            else {"type": wl.strategy},
            "template": tmpl,
        }
    elif wl.kind == "ReplicaSet":
        ann |= {
            "deployment.kubernetes.io/desired-replicas": str(wl.replicas),
            "deployment.kubernetes.io/max-replicas": str(wl.replicas + max(1, wl.replicas // 4)),
            "deployment.kubernetes.io/revision": str(wl.revision),
        }
        tmpl["metadata"]["labels"] = dict(wl.labels)
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": "Deployment",
                "name": wl.owner.name,
                "uid": wl.owner.uid,
            }
        ]
        n = len(alive)
        spec = {"replicas": n, "selector": sel, "template": tmpl}
        status = {"fullyLabeledReplicas": n, "observedGeneration": wl.generation, "replicas": n}
        if ready:
            status |= {"availableReplicas": ready, "readyReplicas": ready}
    elif wl.kind == "DaemonSet":
        n = len(alive)
        spec = {
            "revisionHistoryLimit": 10,
            "selector": sel,
            "template": tmpl,
            "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"},
        }
        ann["deprecated.daemonset.template.generation"] = str(wl.generation)
        status = {
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": wl.generation,
            "updatedNumberScheduled": n,
        }
        if n - ready:
            status["numberUnavailable"] = n - ready
    elif wl.kind == "StatefulSet":
        spec = {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": wl.replicas,
            "revisionHistoryLimit": 10,
            "selector": sel,
            "serviceName": wl.name,
            "template": tmpl,
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
        }
        rev = f"{wl.name}-{wl.template_hash or '7c9d6b5f48'}"
        status = {
            "availableReplicas": ready,
            "collisionCount": 0,
            "currentReplicas": len(alive),
            "currentRevision": rev,
            "observedGeneration": wl.generation,
            "readyReplicas": ready,
            "replicas": len(alive),
            "updateRevision": rev,
            "updatedReplicas": len(alive),
        }
    elif wl.kind == "CronJob":
        spec = {
            "concurrencyPolicy": "Forbid",
            "failedJobsHistoryLimit": 1,
            "schedule": wl.schedule,
            "successfulJobsHistoryLimit": 3,
            "suspend": False,
            "jobTemplate": {"metadata": {"creationTimestamp": None}, "spec": {"backoffLimit": 2, "template": tmpl}},
        }
        jobs = sorted(children, key=lambda j: j.created)
        status = {"lastScheduleTime": ts(jobs[-1].created) if jobs else None}
        done = [j for j in jobs if j.job_failed is None]
        if done:
            status["lastSuccessfulTime"] = ts(done[-1].created + secs(95))
    elif wl.kind == "Job":
        meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": "CronJob",
                "name": wl.owner.name,
                "uid": wl.owner.uid,
            }
        ]
        labels |= {
            "batch.kubernetes.io/controller-uid": wl.uid,
            "batch.kubernetes.io/job-name": wl.name,
            "controller-uid": wl.uid,
            "job-name": wl.name,
        }
        tmpl["metadata"]["labels"] = dict(labels)
        ok = [
            p
            for p in mine
            if all(isinstance(p.states[c.name], Done) and p.states[c.name].exit == 0 for c in wl.containers)
        ]
        fin = max((p.states[wl.containers[0].name].finished for p in ok), default=None)
        spec = {
            "backoffLimit": 2,
            "completionMode": "NonIndexed",
            "completions": 1,
            "manualSelector": False,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": wl.uid}},
            "suspend": False,
            "template": tmpl,
        }
        status = {"startTime": ts(wl.created), "uncountedTerminatedPods": {}, "ready": 0}
        if ok:
            status |= {
                "completionTime": ts(fin),
                "succeeded": 1,
                "conditions": [
                    {"lastProbeTime": ts(fin), "lastTransitionTime": ts(fin), "status": "True", "type": "Complete"}
                ],
            }
        elif wl.job_failed is not None:  # the job controller's words (pkg/controller/job)
            reason, message, at = wl.job_failed
            cond = {"lastProbeTime": ts(at), "lastTransitionTime": ts(at), "message": message, "reason": reason}
            status |= {
                "failed": 3,
                "conditions": [
                    cond | {"status": "True", "type": "FailureTarget"},
                    cond | {"status": "True", "type": "Failed"},
                ],
            }
        else:
            status["active"] = len(mine)
    else:
        raise ValueError(wl.kind)
    if ann:
        meta["annotations"] = ann
    api = "batch/v1" if wl.kind in ("Job", "CronJob") else "apps/v1"
    return {"apiVersion": api, "kind": wl.kind, "metadata": meta, "spec": spec, "status": status}


def event_object(story: Story, e: Event, now: dt.datetime) -> dict[str, Any]:
    inv: dict[str, Any] = {
        "apiVersion": "v1"
        if e.kind in ("Pod", "Node", "PersistentVolumeClaim")
        else ("batch/v1" if e.kind in ("Job", "CronJob") else "apps/v1"),
        "kind": e.kind,
        "name": e.name,
        "uid": e.uid,
    }
    if e.kind != "Node":
        inv["namespace"] = e.ns
        inv["resourceVersion"] = str(story.rng.int(100000, 99999999))
    if e.field_path:
        inv["fieldPath"] = e.field_path
    ns = e.ns if e.kind != "Node" else "default"
    meta = {
        "creationTimestamp": ts(e.first),
        "name": f"{e.name}.{int(e.first.timestamp() * 1e9) + story.rng.int(0, 10**8):x}",
        "namespace": ns,
        "resourceVersion": str(story.rng.int(100000, 99999999)),
        "uid": story.rng.uid(),
    }
    if e.new_api:
        return {
            "action": "Binding"
            if e.reason == "Scheduled"
            else ("Scheduling" if e.reason == "FailedScheduling" else e.reason),
            "apiVersion": "v1",
            "eventTime": ts_micro(e.first),
            "firstTimestamp": None,
            "involvedObject": inv,
            "kind": "Event",
            "lastTimestamp": None,
            "message": e.message,
            "metadata": meta,
            "reason": e.reason,
            "reportingComponent": e.component,
            "reportingInstance": f"{e.component}-{story.rng.safe(5)}",
            "source": {},
            "type": e.type,
        } | ({"series": {"count": e.count, "lastObservedTime": ts_micro(e.last)}} if e.count > 1 else {})
    src: dict[str, str] = {"component": e.component}
    if e.host:
        src["host"] = e.host
    return {
        "apiVersion": "v1",
        "count": e.count,
        "eventTime": None,
        "firstTimestamp": ts(e.first),
        "involvedObject": inv,
        "kind": "Event",
        "lastTimestamp": ts(e.last),
        "message": e.message,
        "metadata": meta,
        "reason": e.reason,
        "reportingComponent": e.component if e.component == "kubelet" else "",
        "reportingInstance": e.host if e.component == "kubelet" else "",
        "source": src,
        "type": e.type,
    }


def events_k8s_io(core: dict[str, Any]) -> dict[str, Any]:
    """The same event as `kubectl get events.events.k8s.io -o json` shows it (apiserver conversion)."""
    inv = core["involvedObject"]
    out: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": core["metadata"],
        "eventTime": core["eventTime"],
        "note": core["message"],
        "reason": core["reason"],
        "regarding": inv,
        "reportingController": core["reportingComponent"],
        "reportingInstance": core["reportingInstance"],
        "type": core["type"],
    }
    if core.get("action"):
        out["action"] = core["action"]
    if core.get("series"):
        out["series"] = core["series"]
    if core["firstTimestamp"]:
        out |= {
            "deprecatedCount": core["count"],
            "deprecatedFirstTimestamp": core["firstTimestamp"],
            "deprecatedLastTimestamp": core["lastTimestamp"],
            "deprecatedSource": core["source"],
        }
    return out


# ----------------------------------------------------------------------------- writing a dump


def as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


class Writer:
    def __init__(self, story: Story, root: Path = ROOT) -> None:
        self.story = story
        self.dir = root / story.name
        self.commands: list[dict[str, Any]] = []
        self.clock = story.snapshots[0].at

    def put(self, rel: str, data: bytes) -> None:
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def cmd(self, argv: list[str], output: str | None, exit_code: int = 0, stderr: str = "") -> None:
        d = round(self.story.rng.r.uniform(0.05, 0.9), 3)
        self.commands.append(
            {
                "argv": argv,
                "exit_code": exit_code,
                "output": output,
                "started_at": ts(self.clock),
                "duration_s": d,
                "stderr": stderr,
            }
        )
        self.clock += secs(d)

    def write(self) -> None:
        s = self.story
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        ctx = ["kubectl", "--context", s.context]
        for snap in s.snapshots:
            self.clock = snap.at
            self.write_snapshot(snap, ctx)
        self.clock = s.snapshots[-1].at + secs(40)
        for ref in sorted(s.images):
            self.write_image(s.images[ref])
        for n in s.nodes:
            if n.binfmt is None:
                continue
            self.cmd(
                ctx
                + [
                    "debug",
                    f"node/{n.name}",
                    "--profile=sysadmin",
                    "--image=busybox:1.36",
                    "--quiet",
                    "--",
                    "tar",
                    "-C",
                    "/host/proc/sys/fs",
                    "-cf",
                    "-",
                    "binfmt_misc",
                ],
                f"nodes/{n.name}/binfmt_misc",
            )
            for entry, data in sorted(n.binfmt.items()):
                self.put(f"nodes/{n.name}/binfmt_misc/{entry}", data)
        meta = {
            "format": "cluster-forensics-dump",
            "version": 1,
            "collected_at": ts(self.clock),
            "cluster": {"context": s.context, "server": s.server},
            "collector": {"name": "cluster-forensics-collect", "version": "0.1.0"},
            "snapshots": [snap.folder for snap in s.snapshots],
            "commands": self.commands,
        }
        self.put("forensics-dump.yaml", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120).encode())
        self.put("README.md", s.readme.strip().encode() + b"\n")
        self.put("expected.yaml", yaml.safe_dump(s.expected, sort_keys=False, width=120).encode())

    def write_snapshot(self, snap: Snapshot, ctx: list[str]) -> None:
        s = self.story
        base = f"snapshots/{snap.folder}"
        now = snap.at
        objs: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
        used: dict[str, list[Image]] = {}
        for p in snap.pods:
            if p.node is not None:
                for c in p.wl.containers:
                    if c.image.inspected and c.image not in used.setdefault(p.node.name, []):
                        used[p.node.name].append(c.image)
        objs["nodes"] = [node_object(n, now, s.rng, used.get(n.name, [])) for n in s.nodes if n.created <= now]
        logs: list[tuple[str, str, str, bool, str]] = []
        for p in sorted(snap.pods, key=lambda p: (p.wl.ns, p.name)):
            obj, plogs = pod_object(s, p, now)
            objs["pods"].append(obj)
            if (p.wl.ns, p.name) in snap.no_logs:
                continue
            for cname, (cur, prev) in plogs.items():
                if cur is not None:
                    logs.append((p.wl.ns, p.name, cname, False, cur))
                if prev is not None:
                    logs.append((p.wl.ns, p.name, cname, True, prev))
        kind_map = {
            "Deployment": "deployments",
            "ReplicaSet": "replicasets",
            "DaemonSet": "daemonsets",
            "StatefulSet": "statefulsets",
            "Job": "jobs",
            "CronJob": "cronjobs",
        }
        for wl in sorted(snap.workloads, key=lambda w: (w.ns, w.name)):
            if wl.kind == "Pod":
                continue
            children = [c for c in snap.workloads if c.owner is not None and c.owner.uid == wl.uid]
            objs[kind_map[wl.kind]].append(controller_object(s, wl, snap.pods, now, children))
        ev = [event_object(s, e, now) for e in sorted(snap.events, key=lambda e: (e.last, e.name, e.reason))]
        new_events = s.events_new_api
        if new_events:
            ev = [events_k8s_io(e) for e in ev]
        objs["events"] = ev
        for kind in KINDS:
            rel = f"{base}/{kind}.json"
            argv = ctx + [
                "get",
                "events.events.k8s.io" if (kind == "events" and new_events) else kind,
                "-A",
                "-o",
                "json",
            ]
            if kind in s.missing_kinds:
                self.cmd(argv, None, 1, s.missing_kinds[kind])
                continue
            if kind in s.broken:
                self.put(rel, s.broken[kind])
                self.cmd(argv, rel, 1, "error: unexpected EOF\n")
                continue
            self.put(rel, kubectl_json(as_list(objs[kind])))
            self.cmd(argv, rel)
        for ns, pod, cname, prev, text in logs:
            rel = f"{base}/logs/{ns}/{pod}/{cname}{'.previous' if prev else ''}.log"
            argv = ctx + ["logs", "-n", ns, pod, "-c", cname] + (["--previous"] if prev else [])
            fail = snap.log_failures.get((ns, pod, cname, prev))
            if fail:
                self.cmd(argv, None, 1, fail)
                continue
            data = snap.extra_logs.get(rel[len(base) + 1 :], text.encode())
            self.put(rel, data)
            self.cmd(argv, rel)

    def write_image(self, img: Image) -> None:
        d = f"images/{slug(img.ref)}"
        argv = ["skopeo", "inspect", "--raw", f"docker://{img.ref}"]
        if not img.inspected:
            self.cmd(argv, None, 1, self.story.image_failures.get(img.ref, ""))
            return
        self.put(f"{d}/ref.txt", img.ref.encode() + b"\n")
        self.put(f"{d}/manifest.json", img.manifest)
        self.cmd(argv, f"{d}/manifest.json")
        if img.config is not None:
            self.put(f"{d}/config.json", img.config)
            self.cmd(["skopeo", "inspect", "--config", "--raw", f"docker://{img.ref}"], f"{d}/config.json")
        for dig in img.platforms.values():
            if dig not in img.child_configs:
                continue
            rel = f"{d}/configs/{dig.replace(':', '_')}.json"
            self.put(rel, img.child_configs[dig])
            repo = split_ref(img.ref)[0]
            self.cmd(["skopeo", "inspect", "--config", "--raw", f"docker://{repo}@{dig}"], rel)


def tarball(story_dir: Path, out: Path) -> None:
    """A reproducible .tar.gz of one story (sorted entries, fixed mtime/owner)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        paths = sorted(story_dir.rglob("*"))
        for p in [story_dir, *paths]:
            info = tarfile.TarInfo(
                str(Path(story_dir.name) / p.relative_to(story_dir)) if p != story_dir else story_dir.name
            )
            info.mtime = 1704067200
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if p.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            else:
                data = p.read_bytes()
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    with open(out, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(buf.getvalue())


# ----------------------------------------------------------------------------- story helpers

SYS_TOL = [{"key": "CriticalAddonsOnly", "operator": "Exists"}, {"operator": "Exists"}]


def multi(
    st: Story,
    ref: str,
    plats: list[str],
    created: str,
    *,
    oci: bool = True,
    attest: bool = True,
    entry: list[str] | None = None,
    **kw: Any,
) -> Image:
    return st.image(index_image(st.rng, ref, plats, T(created), oci=oci, attestations=attest, entrypoint=entry, **kw))


def single(
    st: Story, ref: str, arch: str, created: str, *, oci: bool = False, entry: list[str] | None = None, **kw: Any
) -> Image:
    return st.image(single_image(st.rng, ref, arch, T(created), oci=oci, entrypoint=entry, **kw))


def applog(t: dt.datetime, *lines: str) -> str:
    return "".join(f"{ts_micro(t + secs(0.37 * i))} {line}\n" for i, line in enumerate(lines))


def ok(t: dt.datetime, *lines: str, **kw: Any) -> Run:
    return Run(started=t, log=applog(t, *(lines or ("ready",))), **kw)


def ds(
    st: Story,
    snap: Snapshot,
    ns: str,
    name: str,
    containers: list[C],
    nodes: list[NodeSpec],
    created: str,
    lines: tuple[str, ...] = ("started",),
    **kw: Any,
) -> Workload:
    kw.setdefault("host_network", True)
    kw.setdefault("priority_class", "system-node-critical")
    kw.setdefault("tolerations", SYS_TOL)
    kw.setdefault("labels", {"k8s-app": name})
    w = st.workload("DaemonSet", ns, name, containers, T(created), **kw)
    w.template_hash = st.rng.safe(9)
    snap.add(w)
    for n in nodes:
        t0 = max(w.created, n.created) + secs(st.rng.int(8, 40))
        snap.add_pods(st.pod(w, n, t0 - secs(5), {c.name: ok(t0, *lines) for c in containers}))
    return w


def deploy(
    st: Story,
    snap: Snapshot,
    ns: str,
    name: str,
    containers: list[C],
    created: str,
    placement: list[NodeSpec],
    *,
    rs_created: str | None = None,
    state: Any = None,
    lines: tuple[str, ...] = ("listening on :8080",),
    **kw: Any,
) -> tuple[Workload, Workload, list[PodSpec]]:
    """A Deployment with one ReplicaSet and a pod per entry of `placement`; `state(node, i, pod_created)`
    returns the container states (default: running since shortly after creation)."""
    kw.setdefault("replicas", len(placement))
    dep = st.workload("Deployment", ns, name, containers, T(created), **kw)
    rs = st.replicaset(dep, T(rs_created or created))
    snap.add(dep, rs)
    pods = []
    for i, n in enumerate(placement):
        pc = rs.created + secs(1 + i % 3)
        sts = state(n, i, pc) if state else None
        if sts is None:
            sts = {c.name: ok(pc + secs(st.rng.int(3, 25)), *lines) for c in containers}
        pods.append(st.pod(rs, n, pc, sts))
    snap.add_pods(pods)
    return dep, rs, pods


def sts(
    st: Story,
    snap: Snapshot,
    ns: str,
    name: str,
    containers: list[C],
    created: str,
    placement: list[NodeSpec],
    lines: tuple[str, ...] = ("ready",),
    **kw: Any,
) -> Workload:
    w = st.workload("StatefulSet", ns, name, containers, T(created), replicas=len(placement), **kw)
    w.template_hash = st.rng.safe(10)
    snap.add(w)
    for i, n in enumerate(placement):
        pc = w.created + secs(30 * i + 2)
        snap.add_pods(st.pod(w, n, pc, {c.name: ok(pc + secs(6), *lines) for c in containers}, ordinal=i))
    return w


def cron(
    st: Story,
    snap: Snapshot,
    ns: str,
    name: str,
    containers: list[C],
    created: str,
    schedule: str,
    runs: list[str],
    node: NodeSpec,
    log: str,
) -> Workload:
    cj = st.workload("CronJob", ns, name, containers, T(created), schedule=schedule)
    snap.add(cj)
    for r in runs:
        job = st.job(cj, T(r))
        snap.add(job)
        pc = job.created + secs(1)
        snap.add_pods(
            st.pod(
                job,
                node,
                pc,
                {
                    c.name: Done(pc + secs(4), pc + secs(95), log=applog(pc + secs(5), *log.split("|")))
                    for c in containers
                },
            )
        )
    return cj


def eks_system(st: Story, snap: Snapshot, nodes: list[NodeSpec], created: str) -> None:
    ecr = "602401143452.dkr.ecr.us-east-1.amazonaws.com"
    cni = multi(
        st,
        f"{ecr}/amazon-k8s-cni:v1.16.2-eksbuild.1",
        ["amd64", "arm64"],
        "2024-01-26T18:11:04Z",
        oci=False,
        entry=["/app/aws-vpc-cni"],
    )
    kp = multi(
        st,
        f"{ecr}/eks/kube-proxy:v1.29.0-minimal-eksbuild.1",
        ["amd64", "arm64"],
        "2024-01-10T22:40:17Z",
        oci=False,
        entry=["kube-proxy"],
    )
    dns = multi(
        st,
        f"{ecr}/eks/coredns:v1.11.1-eksbuild.4",
        ["amd64", "arm64"],
        "2023-12-14T00:52:09Z",
        oci=False,
        entry=["/coredns"],
    )
    ds(
        st,
        snap,
        "kube-system",
        "aws-node",
        [C("aws-node", cni, requests={"cpu": "25m"})],
        nodes,
        created,
        ("Successfully copied CNI plugin binary and config file.",),
        labels={"k8s-app": "aws-node", "app.kubernetes.io/name": "aws-node"},
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [
            C(
                "kube-proxy",
                kp,
                command=["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config"],
                requests={"cpu": "100m"},
            )
        ],
        nodes,
        created,
        ('I0000 server_others.go:72] "Using iptables proxy"',),
    )
    old = [n for n in nodes if n.created <= T(created) + dt.timedelta(days=1)] or nodes
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [
            C(
                "coredns",
                dns,
                args=["-conf", "/etc/coredns/Corefile"],
                ports=[53, 9153],
                requests={"cpu": "100m", "memory": "70Mi"},
                limits={"memory": "170Mi"},
            )
        ],
        created,
        old[:2],
        lines=(
            ".:53",
            "[INFO] plugin/reload: Running configuration SHA512 = 8a7d59126e7f1147...",
            "CoreDNS-1.11.1",
            "linux/" + old[0].arch + ", go1.21.5, ",
        ),
        labels={"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"},
        priority_class="system-cluster-critical",
        tolerations=[{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    )


def gke_system(st: Story, snap: Snapshot, nodes: list[NodeSpec], created: str) -> None:
    fb = multi(st, "gke.gcr.io/fluent-bit:v1.8.12-gke.28", ["amd64", "arm64"], "2024-02-01T10:12:44Z", oci=False)
    dns = multi(st, "gke.gcr.io/k8s-dns-kube-dns:1.23.0-gke.9", ["amd64", "arm64"], "2024-01-30T14:40:00Z", oci=False)
    tol = [
        {"effect": "NoSchedule", "key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64"},
        {"operator": "Exists"},
    ]
    ds(
        st,
        snap,
        "kube-system",
        "fluentbit-gke",
        [C("fluentbit", fb)],
        nodes,
        created,
        ("[ info] [engine] started (pid=1)",),
        tolerations=tol,
    )
    amd = [n for n in nodes if n.arch == "amd64"]
    deploy(
        st,
        snap,
        "kube-system",
        "kube-dns",
        [C("kubedns", dns, ports=[10053])],
        created,
        amd[:2],
        lines=("Waiting for services and endpoints to be initialized from apiserver...",),
        labels={"k8s-app": "kube-dns"},
        priority_class="system-cluster-critical",
    )
    # GKE runs kube-proxy as a static (mirror) pod per node, with a per-arch image name
    for n in nodes:
        img = st.images.get(f"gke.gcr.io/kube-proxy-{n.arch}:v1.28.7-gke.1026000") or single(
            st,
            f"gke.gcr.io/kube-proxy-{n.arch}:v1.28.7-gke.1026000",
            n.arch,
            "2024-02-20T03:11:09Z",
            oci=False,
            entry=["/usr/local/bin/kube-proxy"],
        )
        w = st.workload(
            "Pod",
            "kube-system",
            f"kube-proxy-{n.name}",
            [C("kube-proxy", img, command=["/bin/sh", "-c", "exec kube-proxy --v=2"])],
            n.created,
            labels={"component": "kube-proxy", "tier": "node"},
            host_network=True,
            priority_class="system-node-critical",
        )
        snap.add_pods(
            PodSpec(
                w,
                w.name,
                st.rng.uid(),
                n,
                n.created + secs(20),
                {"kube-proxy": ok(n.created + secs(31), "Using iptables Proxier")},
                ip=n.ip,
                mirror_of=n,
            )
        )


def aks_system(st: Story, snap: Snapshot, nodes: list[NodeSpec], created: str) -> None:
    kp = multi(
        st,
        "mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.28.9-hotfix.20240523",
        ["amd64", "arm64"],
        "2024-05-23T20:14:31Z",
        oci=False,
    )
    dns = multi(
        st,
        "mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704",
        ["amd64", "arm64"],
        "2024-07-04T11:22:45Z",
        oci=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        nodes,
        created,
        ('"Using iptables Proxier"',),
        labels={"component": "kube-proxy", "tier": "node"},
    )
    sysn = [n for n in nodes if n.pool == "system"] or nodes
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [C("coredns", dns, ports=[53])],
        created,
        sysn[:2],
        lines=(".:53", "CoreDNS-1.9.4"),
        labels={"k8s-app": "kube-dns"},
        priority_class="system-cluster-critical",
    )


def runc_exec_line(path: str) -> str:
    """runc >= 1.1 (containerd 1.6/1.7/2.x): the exec error on the container's stderr."""
    return f"exec {path}: exec format error\n"


def eks_node(
    st: Story,
    i: int,
    arch: str,
    pool: str,
    itype: str,
    created: str,
    *,
    zone_ix: int = 0,
    runtime: str = "containerd://1.7.11",
    al: str = "2",
) -> NodeSpec:
    a, b = 10 + i % 4, st.rng.int(10, 250)
    kern = {
        "2": f"5.10.210-201.852.amzn2.{'aarch64' if arch == 'arm64' else 'x86_64'}",
        "2023": f"6.1.72-96.166.amzn2023.{'aarch64' if arch == 'arm64' else 'x86_64'}",
    }[al]
    return st.node(
        name=f"ip-10-0-{a}-{b}.ec2.internal",
        arch=arch,
        pool=pool,
        itype=itype,
        created=T(created),
        runtime=runtime,
        kernel=kern,
        os_image="Amazon Linux 2" if al == "2" else "Amazon Linux 2023.3.20240219",
        provider="eks",
        ip=f"10.0.{a}.{b}",
        zone=["us-east-1a", "us-east-1b", "us-east-1c"][zone_ix % 3],
    )


# ----------------------------------------------------------------------------- the stories

NOARCH = "no_arch_findings_for"


def wl_ref(kind: str, ns: str, name: str) -> dict[str, str]:
    return {"kind": kind, "namespace": ns, "name": name}


def graviton_new_pool() -> Story:
    st = Story(
        "graviton-new-pool",
        context="arn:aws:eks:us-east-1:123456789012:cluster/payments-prod",
        server="https://4F1C0E8B2D9A7E6B3C5D1A0F9E8B7C6D.gr7.us-east-1.eks.amazonaws.com",
        kubelet="v1.29.0-eks-5e0fdde",
    )
    x86 = [
        eks_node(st, i, "amd64", "general-x86", "m6i.xlarge", "2024-02-05T08:1%d:0%dZ" % (i, i), zone_ix=i)
        for i in range(4)
    ]
    arm = [
        eks_node(st, i, "arm64", "general-arm64", "m7g.xlarge", "2024-03-12T09:4%d:1%dZ" % (i, i), zone_ix=i)
        for i in range(4)
    ]
    now = T("2024-03-12T14:05:12Z")
    snap = st.snapshot(now)
    nodes = x86 + arm
    eks_system(st, snap, nodes, "2024-02-05T08:02:00Z")
    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    ledger = single(
        st,
        f"{ecr}/payments/ledger-api:1.18.2",
        "amd64",
        "2024-02-28T16:20:41Z",
        entry=["/app/ledger-api"],
        history=buildkit_history(
            "gcr.io/distroless/static-debian12",
            ["WORKDIR /app", "COPY ledger-api /app/ledger-api", "EXPOSE 8080", "USER 65532:65532"],
            '["/app/ledger-api"]',
        ),
    )
    gw = multi(
        st, f"{ecr}/payments/payments-gateway:3.4.0", ["amd64", "arm64"], "2024-03-01T11:02:17Z", entry=["/gateway"]
    )
    fraud = single(
        st, f"{ecr}/payments/fraud-scorer:0.9.7", "amd64", "2023-11-20T09:45:00Z", entry=["python", "-m", "scorer"]
    )
    redis = multi(
        st,
        "redis:7.2.4",
        ["amd64", "arm/v5", "arm/v7", "arm64/v8", "386", "mips64le", "ppc64le", "s390x"],
        "2024-01-09T19:27:52Z",
        oci=True,
        attest=False,
        with_configs=False,
    )
    nexp = multi(
        st,
        "quay.io/prometheus/node-exporter:v1.7.0",
        ["amd64", "arm/v7", "arm64", "ppc64le", "s390x"],
        "2023-11-13T14:35:01Z",
        oci=False,
        with_configs=False,
    )
    settle = multi(st, f"{ecr}/payments/settlement-report:2.1.0", ["amd64", "arm64"], "2024-02-14T12:00:09Z")
    ds(
        st,
        snap,
        "monitoring",
        "prometheus-node-exporter",
        [C("node-exporter", nexp, ports=[9100])],
        nodes,
        "2024-02-06T10:00:00Z",
        (
            'level=info caller=node_exporter.go:192 msg="Starting node_exporter" version="(version=1.7.0, branch=HEAD, revision=7333465abf9efba81876303bb57e6fadb946041b)"',
        ),
        labels={"app.kubernetes.io/name": "prometheus-node-exporter"},
        priority_class=None,
        tolerations=None,
    )
    # ledger-api: 3 replicas since the 1.18.2 rollout; the HPA scaled to 6 at 10:15, after the arm64 group joined
    dep = st.workload(
        "Deployment",
        "payments",
        "ledger-api",
        [C("ledger-api", ledger, ports=[8080], requests={"cpu": "500m", "memory": "512Mi"}, limits={"memory": "1Gi"})],
        T("2023-06-14T10:02:33Z"),
        replicas=6,
        generation=23,
        labels={"app": "ledger-api", "team": "payments"},
    )
    rs = st.replicaset(dep, T("2024-03-04T15:31:08Z"), revision=17)
    snap.add(dep, rs)
    pods = []
    for i, n in enumerate([x86[0], x86[1], x86[3]]):
        pc = rs.created + secs(2 + 40 * i)
        pods.append(
            st.pod(
                rs,
                n,
                pc,
                {"ledger-api": ok(pc + secs(4), '{"level":"info","msg":"ledger-api 1.18.2 listening","addr":":8080"}')},
            )
        )
    scale = T("2024-03-12T10:15:22Z")
    for i, n in enumerate(arm[:3]):
        pc = scale + secs(i)
        pods.append(st.pod(rs, n, pc, {"ledger-api": Crash(pc + secs(6 + i), runc_exec_line("/app/ledger-api"))}))
    snap.add_pods(pods)
    for p in pods[3:]:
        snap.crash_events(p, "ledger-api", since=now - dt.timedelta(hours=1))
    snap.log_failures[("payments", pods[5].name, "ledger-api", False)] = (
        f'Error from server: Get "https://{pods[5].node.ip}:10250/containerLogs/payments/{pods[5].name}/ledger-api": remote error: tls: internal error\n'
    )
    deploy(
        st,
        snap,
        "payments",
        "payments-gateway",
        [C("gateway", gw, ports=[8443])],
        "2023-03-02T12:00:00Z",
        [x86[2], arm[3], x86[0], arm[1]],
        rs_created="2024-03-12T11:40:02Z",
        lines=("gateway 3.4.0 ready",),
    )
    deploy(
        st,
        snap,
        "payments",
        "fraud-scorer",
        [C("scorer", fraud, ports=[8000])],
        "2023-11-21T08:00:00Z",
        [x86[1], x86[2]],
        rs_created="2023-11-21T08:00:00Z",
        node_selector={"kubernetes.io/arch": "amd64"},
        lines=("INFO: Uvicorn running on http://0.0.0.0:8000",),
    )
    sts(
        st,
        snap,
        "payments",
        "redis",
        [C("redis", redis, ports=[6379])],
        "2024-02-06T09:00:00Z",
        [x86[3]],
        lines=("* Ready to accept connections tcp",),
    )
    cron(
        st,
        snap,
        "payments",
        "settlement-report",
        [C("report", settle)],
        "2023-09-01T00:00:00Z",
        "0 * * * *",
        ["2024-03-12T13:00:00Z", "2024-03-12T14:00:00Z"],
        arm[3],
        "settlement window closed|report uploaded to s3://acme-settlements/",
    )
    last_job_pod = snap.pods[-1]
    snap.scheduled(last_job_pod)
    snap.pod_event(
        last_job_pod,
        "Pulled",
        f'Container image "{settle.ref}" already present on machine',
        last_job_pod.created + secs(2),
        container="report",
    )
    st.readme = """
# graviton-new-pool

**Ticket:** "payments-prod: ledger-api pods crash-looping since this morning, half the replicas are fine."

- EKS 1.29 cluster `payments-prod`. The `general-x86` node group (4 x m6i.xlarge) has run for weeks.
- At 09:40 UTC the platform team added a Graviton node group `general-arm64` (4 x m7g.xlarge) to cut cost.
- At 10:15 the HPA scaled Deployment `payments/ledger-api` from 3 to 6 replicas; the scheduler put the three new
  pods on the new arm64 nodes (the pod spec has no arch constraint).
- Those three pods crash-loop with `exec /app/ledger-api: exec format error` (exit code 1, containerd 1.7 / runc 1.1);
  the three older replicas on amd64 nodes are healthy. One pod's logs could not be fetched (kubelet TLS error).
- `ledger-api:1.18.2` is a single Docker v2 manifest whose config says `amd64`.
- Noise: multi-arch system DaemonSets on every node, a multi-arch gateway spread over both pools, a single-arch
  `fraud-scorer` correctly pinned with `nodeSelector: kubernetes.io/arch: amd64`, an hourly CronJob.
- Collected 14:05 UTC, one snapshot. Events older than an hour have expired.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.single-arch-image",
                "workload": wl_ref("Deployment", "payments", "ledger-api"),
                "latent": False,
                "contributing": ["arch.mixed-arch-no-affinity"],
            }
        ],
        NOARCH: [
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
            wl_ref("DaemonSet", "kube-system", "aws-node"),
            wl_ref("Deployment", "kube-system", "coredns"),
            wl_ref("Deployment", "payments", "payments-gateway"),
            wl_ref("Deployment", "payments", "fraud-scorer"),
            wl_ref("StatefulSet", "payments", "redis"),
            wl_ref("CronJob", "payments", "settlement-report"),
            wl_ref("DaemonSet", "monitoring", "prometheus-node-exporter"),
        ],
    }
    return st


def gke_node(st: Story, pool: str, itype: str, arch: str, created: str, i: int) -> NodeSpec:
    h = st.rng.hex(8)[:8]
    n = st.node(
        name=f"gke-shop-prod-{pool}-{h}-{st.rng.safe(4)}",
        arch=arch,
        pool=pool,
        itype=itype,
        created=T(created),
        runtime="containerd://1.7.13",
        kernel="6.1.75+",
        os_image="Container-Optimized OS from Google",
        provider="gke",
        ip=f"10.132.0.{10 + i * 7}",
        zone=["europe-west1-b", "europe-west1-c", "europe-west1-d"][i % 3],
    )
    if arch == "arm64":
        n.taints.append({"effect": "NoSchedule", "key": "kubernetes.io/arch", "value": "arm64"})
    return n


def laptop_build() -> Story:
    st = Story(
        "laptop-build",
        context="gke_acme-shop_europe-west1_shop-prod",
        server="https://34.78.112.9",
        kubelet="v1.28.7-gke.1026000",
    )
    nodes = [gke_node(st, "default-pool", "e2-standard-4", "amd64", "2024-04-02T07:1%d:00Z" % i, i) for i in range(3)]
    nodes += [
        gke_node(st, "highmem-pool", "n2-standard-8", "amd64", "2024-04-20T12:0%d:00Z" % i, i + 3) for i in range(3)
    ]
    now = T("2024-05-14T17:41:30Z")
    snap = st.snapshot(now)
    gke_system(st, snap, nodes, "2024-04-02T07:05:00Z")
    reg = "europe-west1-docker.pkg.dev/acme-shop/web"
    sf = single(
        st,
        f"{reg}/storefront:2024.05.14-1",
        "arm64",
        "2024-05-14T16:48:03Z",
        oci=True,
        variant="v8",
        entry=["docker-entrypoint.sh"],
        cmd=["node", "server.js"],
        workdir="/srv/app",
        env=[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NODE_VERSION=20.12.2",
            "YARN_VERSION=1.22.19",
        ],
        history=buildkit_history(
            "node:20-alpine",
            [
                "ENV NODE_VERSION=20.12.2",
                "RUN apk add --no-cache libstdc++",
                "WORKDIR /srv/app",
                "COPY package.json yarn.lock ./",
                "RUN yarn install --frozen-lockfile",
                "COPY . .",
                "RUN yarn build",
                'CMD ["node", "server.js"]',
            ],
            '["docker-entrypoint.sh"]',
        ),
    )
    cart = multi(st, f"{reg}/cart:1.12.0", ["amd64", "arm64"], "2024-05-02T09:14:55Z")
    ing = multi(
        st,
        "registry.k8s.io/ingress-nginx/controller:v1.10.1@sha256:e24f39d3eed6bcc239a56f20098878845f62baa34b9f2be2fd2c38ce9fb0f29e",
        ["amd64", "arm64", "s390x"],
        "2024-04-26T23:57:45Z",
        oci=False,
        with_configs=False,
    )
    deploy(
        st,
        snap,
        "ingress-nginx",
        "ingress-nginx-controller",
        [C("controller", ing, ports=[80, 443])],
        "2024-04-03T08:00:00Z",
        nodes[:2],
        lines=("NGINX Ingress controller", "  Release:       v1.10.1"),
        labels={"app.kubernetes.io/name": "ingress-nginx"},
    )
    deploy(
        st,
        snap,
        "web",
        "cart",
        [C("cart", cart, ports=[8080])],
        "2024-04-05T10:00:00Z",
        [nodes[3], nodes[4]],
        rs_created="2024-05-02T10:30:00Z",
        lines=("cart service started on :8080",),
    )

    def crash(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any]:
        return {"storefront": Crash(pc + secs(3 + i), runc_exec_line("/usr/local/bin/docker-entrypoint.sh"))}

    _, _, pods = deploy(
        st,
        snap,
        "web",
        "storefront",
        [
            C(
                "storefront",
                sf,
                policy="FallbackToLogsOnError",
                ports=[3000],
                requests={"cpu": "250m", "memory": "256Mi"},
            )
        ],
        "2024-05-14T17:05:12Z",
        [nodes[0], nodes[3], nodes[5], nodes[1]],
        state=crash,
        labels={"app": "storefront", "app.kubernetes.io/part-of": "shop"},
        strategy="Recreate",
    )
    for p in pods:
        snap.scheduled(p)
        snap.pod_event(p, "Pulling", f'Pulling image "{sf.ref}"', p.created + secs(1), container="storefront")
        snap.pod_event(
            p,
            "Pulled",
            f'Successfully pulled image "{sf.ref}" in 2.113s (2.113s including waiting)',
            p.created + secs(3),
            container="storefront",
        )
        snap.crash_events(p, "storefront")
    for p in pods[2:]:
        snap.no_logs.add(("web", p.name))
    st.readme = """
# laptop-build

**Ticket:** "storefront never comes up on shop-prod, every pod CrashLoopBackOff; works on my machine."

- GKE 1.28 cluster `shop-prod`, two node pools (`default-pool` e2-standard-4, `highmem-pool` n2-standard-8), all amd64.
- At 17:05 UTC Deployment `web/storefront` was created with `storefront:2024.05.14-1`, built and pushed at 16:48
  with `docker build` + `docker push` from a developer's Apple Silicon laptop.
- The tag is a single OCI manifest; its config says `architecture: arm64, variant: v8` and the history is BuildKit's.
- All 4 pods crash-loop: `exec /usr/local/bin/docker-entrypoint.sh: exec format error` (runc 1.1, exit 1).
- The container uses `terminationMessagePolicy: FallbackToLogsOnError`; logs were collected for two pods only,
  for the others the line is only in `lastState.terminated.message`.
- GKE runs kube-proxy as static mirror pods with a per-arch image (`kube-proxy-amd64`), which is correct here.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.apple-silicon-build",
                "workload": wl_ref("Deployment", "web", "storefront"),
                "latent": False,
                "contributing": [],
            }
        ],
        NOARCH: [
            wl_ref("Deployment", "web", "cart"),
            wl_ref("Deployment", "kube-system", "kube-dns"),
            wl_ref("DaemonSet", "kube-system", "fluentbit-gke"),
            wl_ref("Deployment", "ingress-nginx", "ingress-nginx-controller"),
        ],
    }
    return st


def index_without_arm64() -> Story:
    st = Story(
        "index-without-arm64",
        context="arn:aws:eks:us-west-2:210987654321:cluster/observability",
        server="https://9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D.yl4.us-west-2.eks.amazonaws.com",
        kubelet="v1.29.1-eks-61c0bbb",
    )

    def br(i: int, arch: str, pool: str, itype: str, created: str) -> NodeSpec:
        a, b = 20 + i, st.rng.int(10, 250)
        return st.node(
            name=f"ip-10-1-{a}-{b}.us-west-2.compute.internal",
            arch=arch,
            pool=pool,
            itype=itype,
            created=T(created),
            runtime="containerd://1.6.28+bottlerocket",
            kernel="6.1.79",
            os_image="Bottlerocket OS 1.19.2 (aws-k8s-1.29)",
            provider="eks",
            ip=f"10.1.{a}.{b}",
            zone=["us-west-2a", "us-west-2b", "us-west-2c"][i % 3],
        )

    x86 = [br(i, "amd64", "x86-workers", "c6i.2xlarge", "2024-03-18T10:0%d:00Z" % i) for i in range(3)]
    arm = [br(i + 3, "arm64", "arm-workers", "c7g.2xlarge", "2024-03-25T14:2%d:00Z" % i) for i in range(3)]
    nodes = x86 + arm
    now = T("2024-03-27T09:12:40Z")
    snap = st.snapshot(now)
    st.events_new_api = True
    eks_system(st, snap, nodes, "2024-03-18T09:55:00Z")
    reg = "ghcr.io/acme-observability"
    nec = multi(
        st, f"{reg}/node-exporter-custom:1.7.0-acme.3", ["amd64"], "2024-03-20T15:33:21Z", entry=["/bin/node_exporter"]
    )
    agent = multi(
        st,
        f"{reg}/log-shipper:0.14.2",
        ["amd64", "arm/v7"],
        "2024-02-11T08:12:10Z",
        entry=["/usr/local/bin/entrypoint.sh"],
    )
    graf = multi(
        st,
        "docker.io/grafana/grafana:10.4.1",
        ["amd64", "arm/v6", "arm/v7", "arm64"],
        "2024-03-20T10:01:44Z",
        oci=False,
        with_configs=False,
    )
    w = st.workload(
        "DaemonSet",
        "monitoring",
        "node-exporter-custom",
        [C("node-exporter", nec, ports=[9100])],
        T("2024-03-20T16:00:00Z"),
        labels={"app.kubernetes.io/name": "node-exporter-custom"},
        host_network=True,
    )
    w.template_hash = st.rng.safe(9)
    w2 = st.workload(
        "DaemonSet",
        "monitoring",
        "log-shipper",
        [C("shipper", agent)],
        T("2024-02-12T09:00:00Z"),
        labels={"app": "log-shipper"},
    )
    w2.template_hash = st.rng.safe(9)
    snap.add(w, w2)
    for n in x86:
        t0 = max(w.created, n.created) + secs(20)
        snap.add_pods(st.pod(w, n, t0, {"node-exporter": ok(t0 + secs(5), 'msg="Listening on" address=[::]:9100')}))
        snap.add_pods(st.pod(w2, n, t0, {"shipper": ok(t0 + secs(7), "shipping /var/log/containers/*.log")}))
    for n in arm:
        pc = n.created + secs(25)
        p = st.pod(w, n, pc, {"node-exporter": Wait("ImagePullBackOff", f'Back-off pulling image "{nec.ref}"')})
        snap.add_pods(p)
        msg = (
            f'Failed to pull image "{nec.ref}": rpc error: code = NotFound desc = failed to pull and unpack image '
            f'"{nec.ref}": no match for platform in manifest: not found'
        )
        snap.pod_event(
            p, "Pulling", f'Pulling image "{nec.ref}"', now - secs(3500), now - secs(290), 11, container="node-exporter"
        )
        snap.pod_event(p, "Failed", msg, now - secs(3499), now - secs(289), 11, "Warning", container="node-exporter")
        snap.pod_event(
            p,
            "Failed",
            "Error: ErrImagePull",
            now - secs(3499),
            now - secs(289),
            11,
            "Warning",
            container="node-exporter",
        )
        snap.pod_event(
            p,
            "BackOff",
            f'Back-off pulling image "{nec.ref}"',
            now - secs(3480),
            now - secs(12),
            250,
            container="node-exporter",
        )
        snap.pod_event(
            p,
            "Failed",
            "Error: ImagePullBackOff",
            now - secs(3480),
            now - secs(12),
            250,
            "Warning",
            container="node-exporter",
        )
        q = st.pod(w2, n, pc, {"shipper": Crash(pc + secs(9), runc_exec_line("/usr/local/bin/entrypoint.sh"))})
        snap.add_pods(q)
        snap.crash_events(q, "shipper", since=now - dt.timedelta(hours=1))
    deploy(
        st,
        snap,
        "monitoring",
        "grafana",
        [C("grafana", graf, ports=[3000])],
        "2024-02-12T09:00:00Z",
        [arm[0]],
        rs_created="2024-03-26T08:00:00Z",
        lines=('logger=server t=2024-03-26T08:00:20Z level=info msg="HTTP Server Listen"',),
    )
    st.readme = """
# index-without-arm64

**Ticket:** "New arm-workers nodes: our node-exporter never starts (ImagePullBackOff), log-shipper crash-loops."

- EKS 1.29 with Bottlerocket nodes (containerd 1.6): `x86-workers` (3 x c6i.2xlarge) and, since 25 March,
  `arm-workers` (3 x c7g.2xlarge, Graviton3, no AArch32 support).
- DaemonSet `monitoring/node-exporter-custom` uses an OCI index built by buildx with only `linux/amd64` plus its
  attestation entry (`unknown/unknown`). On arm64 nodes containerd cannot pick a platform: `ErrImagePull` /
  `ImagePullBackOff`, events `no match for platform in manifest: not found`.
- Extra: DaemonSet `monitoring/log-shipper` has an index with `linux/amd64` and `linux/arm/v7` only; containerd on
  arm64 falls back to arm/v7, and the 32-bit binaries cannot run on Graviton3:
  `exec /usr/local/bin/entrypoint.sh: exec format error`.
- Events were collected with `kubectl get events.events.k8s.io -A -o json` (events.k8s.io/v1 shape).
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.index-missing-platform",
                "workload": wl_ref("DaemonSet", "monitoring", "node-exporter-custom"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "arch.index-missing-platform",
                "workload": wl_ref("DaemonSet", "monitoring", "log-shipper"),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
            wl_ref("Deployment", "monitoring", "grafana"),
            wl_ref("Deployment", "kube-system", "coredns"),
        ],
    }
    return st


def aks_node(st: Story, pool: str, itype: str, arch: str, created: str, i: int) -> NodeSpec:
    return st.node(
        name=f"aks-{pool}-{st.rng.int(10000000, 99999999)}-vmss00000{i}",
        arch=arch,
        pool=pool,
        itype=itype,
        created=T(created),
        runtime="containerd://1.7.15-1",
        kernel="5.15.0-1066-azure",
        os_image="Ubuntu 22.04.4 LTS",
        provider="aks",
        ip=f"10.224.0.{4 + i + 10 * len(st.nodes)}",
        zone=f"westeurope-{1 + i % 3}",
    )


def lost_multiarch_tag() -> Story:
    st = Story(
        "lost-multiarch-tag",
        context="aks-shop-prod",
        server="https://aks-shop-prod-dns-8f2c1a7e.hcp.westeurope.azmk8s.io:443",
        kubelet="v1.28.9",
    )
    sysn = [aks_node(st, "system", "Standard_D4s_v5", "amd64", "2024-06-26T09:0%d:00Z" % i, i) for i in range(2)]
    x86 = [aks_node(st, "userx86", "Standard_D8s_v5", "amd64", "2024-06-26T09:1%d:00Z" % i, i) for i in range(3)]
    arm = [aks_node(st, "userarm", "Standard_D4ps_v5", "arm64", "2024-06-27T13:0%d:00Z" % i, i) for i in range(3)]
    nodes = sysn + x86 + arm
    reg = "registry.example.com/shop"
    old = multi(
        st, f"{reg}/checkout:2.3", ["amd64", "arm64"], "2024-06-20T11:04:12Z", entry=["/usr/local/bin/checkout"]
    )
    new = single(
        st,
        f"{reg}/checkout:2.4",
        "amd64",
        "2024-07-09T12:51:37Z",
        entry=["/usr/local/bin/checkout"],
        history=buildkit_history(
            "debian:bookworm-slim",
            ["COPY checkout /usr/local/bin/checkout", "USER 10001"],
            '["/usr/local/bin/checkout"]',
        ),
    )
    cat = multi(st, f"{reg}/catalog:5.0.1", ["amd64", "arm64"], "2024-06-30T08:00:00Z")
    pg = multi(
        st,
        "docker.io/library/postgres:16.3",
        ["amd64", "arm/v5", "arm/v7", "arm64/v8", "386", "mips64le", "ppc64le", "s390x"],
        "2024-06-13T20:18:11Z",
        oci=True,
        attest=True,
        with_configs=False,
    )
    times = [T("2024-07-09T13:20:00Z"), T("2024-07-09T13:30:00Z"), T("2024-07-09T13:40:00Z")]
    rollout = T("2024-07-09T13:23:41Z")
    deleted = T("2024-07-09T13:33:05Z")
    uids: dict[str, Any] = {}
    for k, now in enumerate(times):
        rng_state = st.rng.r.getstate()
        st.rng = Rand(st.name)  # the same objects in every snapshot: same names and uids
        snap = st.snapshot(now)
        aks_system(st, snap, nodes, "2024-06-26T09:00:00Z")
        deploy(
            st,
            snap,
            "shop",
            "catalog",
            [C("catalog", cat, ports=[8080])],
            "2024-03-01T10:00:00Z",
            [x86[0], arm[1], arm[2]],
            rs_created="2024-07-01T09:00:00Z",
            lines=("catalog ready",),
        )
        sts(
            st,
            snap,
            "shop",
            "checkout-db",
            [C("postgres", pg, ports=[5432])],
            "2024-06-26T10:00:00Z",
            [x86[2]],
            lines=("LOG:  database system is ready to accept connections",),
        )
        dep = st.workload(
            "Deployment",
            "shop",
            "checkout",
            [C("checkout", old, ports=[8080], requests={"cpu": "250m", "memory": "256Mi"})],
            T("2024-01-15T10:00:00Z"),
            replicas=6,
            generation=14 if k == 0 else 15,
            labels={"app": "checkout"},
        )
        rs_old = st.replicaset(dep, T("2024-06-20T12:00:00Z"), revision=8)
        rs_new = st.replicaset(
            dep, rollout, [C("checkout", new, ports=[8080], requests={"cpu": "250m", "memory": "256Mi"})], revision=9
        )
        old_place = [x86[0], arm[0], x86[1], arm[1], x86[2], arm[2]]
        old_pods = [
            st.pod(
                rs_old,
                n,
                rs_old.created + secs(2 + i),
                {
                    "checkout": ok(
                        rs_old.created + secs(9 + i), '{"level":"info","msg":"checkout 2.3 listening on :8080"}'
                    )
                },
            )
            for i, n in enumerate(old_place)
        ]
        new_pods = [
            st.pod(rs_new, n, rollout + secs(1 + 20 * i), {}) for i, n in enumerate([x86[0], arm[0], x86[1], arm[2]])
        ]
        repl = [st.pod(rs_new, n, deleted + secs(2 + i), {}) for i, n in enumerate([arm[0], arm[1]])]
        for p in new_pods:
            if p.node.arch == "amd64":
                p.states = {
                    "checkout": ok(p.created + secs(6), '{"level":"info","msg":"checkout 2.4 listening on :8080"}')
                }
            else:
                p.states = {"checkout": Crash(p.created + secs(5), runc_exec_line("/usr/local/bin/checkout"))}
        for p in repl:
            p.states = {"checkout": Crash(p.created + secs(5), runc_exec_line("/usr/local/bin/checkout"))}
        st.rng.r.setstate(rng_state)
        if k == 0:
            snap.add(dep, rs_old)
            snap.add_pods(old_pods)
        else:
            dep.template_hash = rs_new.template_hash
            snap.add(dep, rs_old, rs_new)
            snap.add_pods([old_pods[0], old_pods[3], old_pods[4]])
            live = new_pods if k == 1 else [new_pods[0], new_pods[2], new_pods[3]] + repl[:1]
            snap.add_pods(live)
            for p in live:
                if p.node.arch == "arm64":
                    snap.crash_events(p, "checkout")
                else:
                    snap.scheduled(p)
            if k == 2:
                snap.scheduled(repl[0])
        uids[str(k)] = True
    st.readme = """
# lost-multiarch-tag

**Ticket:** "After deploying checkout 2.4 the rollout is stuck; pods on the arm pool crash. 2.3 ran everywhere."

- AKS 1.28, pools `system` (amd64), `userx86` (3 x Standard_D8s_v5) and `userarm` (3 x Standard_D4ps_v5, arm64).
- Snapshot 1 (13:20 UTC): Deployment `shop/checkout` runs `registry.example.com/shop/checkout:2.3`, an OCI index with
  amd64 and arm64, on six pods spread over both architectures.
- 13:23: rollout to `:2.4` (new ReplicaSet, revision 9). CI pushed `:2.4` with a plain `docker build && docker push`
  on an amd64 runner: a bare single-platform Docker v2 manifest, no index.
- New pods on amd64 nodes become Ready; pods on arm64 nodes crash-loop with `exec /usr/local/bin/checkout: exec format error`.
  The rollout stalls with 3 old pods kept by maxUnavailable.
- 13:33 someone deleted a crashing pod; its replacement (new name) landed on arm64 and crashes too.
- Snapshots 2 (13:30) and 3 (13:40) show the restart counts growing. Both tags are inspected under `images/`.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.bare-manifest-tag",
                "workload": wl_ref("Deployment", "shop", "checkout"),
                "latent": False,
                "contributing": [],
            }
        ],
        NOARCH: [
            wl_ref("Deployment", "shop", "catalog"),
            wl_ref("StatefulSet", "shop", "checkout-db"),
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
        ],
    }
    return st


BINFMT_STATUS = b"enabled\n"
QUS_X86_64 = (
    b"enabled\ninterpreter /qus/bin/qemu-x86_64-static\nflags: F\noffset 0\n"
    b"magic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n"
)
TONI_X86_64 = (
    b"enabled\ninterpreter /usr/bin/qemu-x86_64\nflags: POCF\noffset 0\n"
    b"magic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n"
)


def binfmt_emulation() -> Story:
    st = Story("binfmt-emulation", context="default", server="https://10.20.0.10:6443", kubelet="v1.32.3+k3s1")
    nodes = []
    for i in range(6):
        n = st.node(
            name=f"ampere-{i + 1:02d}",
            arch="arm64",
            pool="",
            itype="k3s",
            created=T("2025-03-1%dT09:00:00Z" % (i // 3 + 1)),
            runtime="containerd://2.0.4-k3s2",
            kernel="6.8.0-57-generic",
            os_image="Ubuntu 24.04.2 LTS",
            provider="k3s",
            ip=f"10.20.0.{11 + i}",
        )
        if i < 3:
            n.labels = {
                "node-role.kubernetes.io/control-plane": "true",
                "node-role.kubernetes.io/master": "true",
                "node-role.kubernetes.io/etcd": "true",
            }
        if i in (3, 4):
            n.labels = n.labels | {"ci.acme.dev/emulation": "amd64"}
            n.binfmt = {"status": BINFMT_STATUS, "register": b"", "qemu-x86_64": TONI_X86_64 if i == 3 else QUS_X86_64}
        else:
            n.binfmt = {"status": BINFMT_STATUS, "register": b""}
        nodes.append(n)
    now = T("2025-04-02T08:30:00Z")
    snap = st.snapshot(now)
    st.missing_kinds["events"] = (
        'Error from server (Forbidden): events is forbidden: User "system:serviceaccount:support:collector" '
        'cannot list resource "events" in API group "" at the cluster scope\n'
    )
    kl = multi(
        st,
        "rancher/klipper-lb:v0.4.13",
        ["amd64", "arm", "arm64"],
        "2025-01-10T10:00:00Z",
        oci=False,
        with_configs=False,
    )
    dns = multi(
        st,
        "rancher/mirrored-coredns-coredns:1.12.0",
        ["amd64", "arm", "arm64", "ppc64le", "s390x"],
        "2024-11-22T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    lp = multi(
        st,
        "rancher/local-path-provisioner:v0.0.31",
        ["amd64", "arm", "arm64"],
        "2025-01-08T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    bf = multi(
        st,
        "tonistiigi/binfmt:qemu-v8.1.5",
        ["amd64", "arm64", "arm/v7", "riscv64", "ppc64le", "s390x", "386"],
        "2024-01-30T00:00:00Z",
    )
    runner = single(
        st,
        "ghcr.io/acme-ci/legacy-runner:3.1.0",
        "amd64",
        "2022-09-14T07:41:00Z",
        entry=["/usr/local/bin/legacy-runner"],
        history=buildkit_history(
            "ubuntu:20.04",
            ["RUN apt-get update && apt-get install -y git curl", "COPY legacy-runner /usr/local/bin/", "USER runner"],
            '["/usr/local/bin/legacy-runner"]',
        ),
    )
    gitea = multi(st, "docker.gitea.com/gitea:1.23.6-rootless", ["amd64", "arm64"], "2025-03-27T00:00:00Z")
    ds(
        st,
        snap,
        "kube-system",
        "svclb-traefik-8f2c1b7e",
        [C("lb-tcp-80", kl)],
        nodes,
        "2025-03-11T09:05:00Z",
        ("+ trap exit TERM INT",),
        labels={"app": "svclb-traefik-8f2c1b7e"},
    )
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [C("coredns", dns, ports=[53])],
        "2025-03-11T09:01:00Z",
        nodes[:1],
        lines=(".:53", "CoreDNS-1.12.0"),
        labels={"k8s-app": "kube-dns"},
    )
    deploy(
        st,
        snap,
        "kube-system",
        "local-path-provisioner",
        [C("local-path-provisioner", lp)],
        "2025-03-11T09:01:00Z",
        nodes[1:2],
        labels={"app": "local-path-provisioner"},
    )
    b = st.workload(
        "DaemonSet",
        "kube-system",
        "binfmt-amd64",
        [C("install", bf, args=["--install", "amd64"])],
        T("2025-03-20T10:00:00Z"),
        labels={"app": "binfmt-amd64"},
        node_selector={"ci.acme.dev/emulation": "amd64"},
        host_network=False,
    )
    b.template_hash = st.rng.safe(9)
    snap.add(b)
    for n in nodes[3:5]:
        snap.add_pods(
            st.pod(
                b,
                n,
                b.created + secs(3),
                {
                    "install": ok(
                        b.created + secs(9),
                        "installing: amd64 OK",
                        '{"supported":["linux/arm64","linux/amd64"],"emulators":["qemu-x86_64"]}',
                    )
                },
            )
        )
    deploy(
        st,
        snap,
        "ci",
        "gitea",
        [C("gitea", gitea, ports=[3000])],
        "2025-03-12T10:00:00Z",
        [nodes[2]],
        lines=("Starting new Web server: tcp:0.0.0.0:3000",),
    )
    dep = st.workload(
        "Deployment",
        "ci",
        "legacy-runner",
        [C("runner", runner, requests={"cpu": "2", "memory": "2Gi"})],
        T("2025-03-21T08:00:00Z"),
        replicas=5,
        labels={"app": "legacy-runner"},
    )
    rs = st.replicaset(dep, T("2025-04-01T16:10:00Z"), revision=4)
    snap.add(dep, rs)
    rlog = (
        "legacy-runner 3.1.0 (linux/amd64) starting",
        "registered with https://ci.acme.dev as runner-{}",
        "waiting for jobs",
    )
    for i, n in enumerate([nodes[3], nodes[4], nodes[3], nodes[5], nodes[0]]):
        pc = rs.created + secs(1 + i)
        if n.binfmt and "qemu-x86_64" in n.binfmt:
            if i == 2:
                state = Run(
                    pc + secs(5200),
                    restarts=3,
                    log=applog(pc + secs(5210), rlog[0].replace("{}", ""), "job 88121: checkout ok"),
                    last=term(st, n, 139, "Error", pc + secs(3000), pc + secs(5190)),
                    previous_log=applog(pc + secs(3010), rlog[0], "job 88117: running tests")
                    + "qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n",
                )
            else:
                state = ok(pc + secs(30), rlog[0], rlog[1].format(i), rlog[2])
        else:
            state = Crash(pc + secs(4), runc_exec_line("/usr/local/bin/legacy-runner"), exit=255)
        snap.add_pods(st.pod(rs, n, pc, {"runner": state}))
    st.readme = """
# binfmt-emulation

**Ticket:** "legacy-runner works on some of our Ampere boxes and not on others; same image, same Deployment."

- k3s 1.32 on six arm64 Ampere servers (containerd 2.0, runc 1.2). No amd64 nodes at all.
- `ghcr.io/acme-ci/legacy-runner:3.1.0` is an old amd64-only single manifest.
- `ampere-04` and `ampere-05` carry label `ci.acme.dev/emulation=amd64`; a `tonistiigi/binfmt --install amd64`
  DaemonSet (and, on ampere-05, an older `qus` setup) registered `qemu-x86_64` in `/proc/sys/fs/binfmt_misc`
  (collected under `nodes/<node>/binfmt_misc/`). Runner pods there work, emulated; one of them segfaulted under
  QEMU (`qemu: uncaught target signal 11 (Segmentation fault) - core dumped`, exit 139) and restarted: an
  emulation fault, which contributes (`arch.emulation-fault`).
- The Deployment has no nodeSelector, so pods also landed on `ampere-06` and `ampere-01`, which have no x86_64
  handler: `exec /usr/local/bin/legacy-runner: exec format error`, exit code 255 (runc 1.2).
- The collector's service account could not list events (RBAC), so there is no `events.json`.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.missing-emulation",
                "workload": wl_ref("Deployment", "ci", "legacy-runner"),
                "latent": False,
                "contributing": ["arch.emulation-fault"],
            }
        ],
        NOARCH: [
            wl_ref("Deployment", "ci", "gitea"),
            wl_ref("Deployment", "kube-system", "coredns"),
            wl_ref("DaemonSet", "kube-system", "binfmt-amd64"),
        ],
    }
    return st


def onprem_node(st: Story, name: str, arch: str, pool: str, itype: str, created: str, i: int) -> NodeSpec:
    n = st.node(
        name=name,
        arch=arch,
        pool=pool,
        itype=itype,
        created=T(created),
        runtime="docker://20.10.12",
        kernel="5.15.0-91-generic",
        os_image="Ubuntu 22.04.3 LTS",
        provider="kubeadm",
        ip=f"192.168.40.{21 + i}",
    )
    n.labels = {"acme.io/pool": pool}
    return n


def mixed_no_affinity() -> Story:
    st = Story(
        "mixed-no-affinity",
        context="kubernetes-admin@dc1-data",
        server="https://192.168.40.10:6443",
        kubelet="v1.26.12",
    )
    x86 = [
        onprem_node(st, f"dc1-x86-{i + 1:02d}", "amd64", "general", "bare-x86", "2023-10-0%dT10:00:00Z" % (i + 2), i)
        for i in range(4)
    ]
    arm = [
        onprem_node(st, f"dc1-alt-{i + 1:02d}", "arm64", "ampere", "bare-arm", "2024-01-1%dT14:00:00Z" % (i + 5), i + 4)
        for i in range(3)
    ]
    nodes = x86 + arm
    now = T("2024-01-22T10:20:00Z")
    snap = st.snapshot(now)
    kp = multi(
        st,
        "registry.k8s.io/kube-proxy:v1.26.12",
        ["amd64", "arm", "arm64", "ppc64le", "s390x"],
        "2023-12-19T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    cal = multi(
        st,
        "docker.io/calico/node:v3.26.4",
        ["amd64", "arm64", "ppc64le", "s390x"],
        "2023-11-15T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    dns = multi(
        st,
        "registry.k8s.io/coredns/coredns:v1.9.3",
        ["amd64", "arm", "arm64", "mips64le", "ppc64le", "s390x"],
        "2022-05-27T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        nodes,
        "2023-10-02T09:50:00Z",
        ('"Using iptables Proxier"',),
        labels={"k8s-app": "kube-proxy"},
    )
    ds(
        st,
        snap,
        "kube-system",
        "calico-node",
        [C("calico-node", cal)],
        nodes,
        "2023-10-02T09:55:00Z",
        ("Calico node started successfully",),
    )
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [C("coredns", dns, ports=[53])],
        "2023-10-02T09:50:00Z",
        x86[:2],
        lines=(".:53",),
        labels={"k8s-app": "kube-dns"},
    )
    reg = "registry.acme.internal/data"
    ing = single(
        st, f"{reg}/ingest-worker:4.2.0", "amd64", "2024-01-08T13:12:55Z", entry=["/opt/ingest/bin/ingest-worker"]
    )
    rep = single(st, f"{reg}/report-gen:1.9.3", "amd64", "2023-12-01T09:00:00Z", entry=["/usr/local/bin/report-gen"])
    kaf = multi(
        st, "docker.io/bitnami/kafka:3.6.1", ["amd64", "arm64"], "2024-01-10T00:00:00Z", oci=False, with_configs=False
    )
    sts(
        st,
        snap,
        "data",
        "kafka",
        [C("kafka", kaf, ports=[9092])],
        "2023-10-05T10:00:00Z",
        [x86[1], x86[2], arm[0]],
        lines=("[KafkaServer id=0] started",),
    )

    def st_ing(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        if n.arch == "arm64":
            return {
                "ingest-worker": Crash(
                    pc + secs(4), "standard_init_linux.go:228: exec user process caused: exec format error\n"
                )
            }
        return None

    _, _, pods = deploy(
        st,
        snap,
        "data",
        "ingest-worker",
        [C("ingest-worker", ing, policy="FallbackToLogsOnError")],
        "2023-10-10T10:00:00Z",
        [x86[0], arm[1], x86[1], arm[2], x86[3], x86[2]],
        rs_created="2024-01-22T07:45:10Z",
        state=st_ing,
        lines=("ingest-worker 4.2.0 consuming topic raw-events",),
    )
    for p in pods:
        if p.node.arch == "arm64":
            snap.crash_events(p, "ingest-worker", since=now - dt.timedelta(hours=1))
    deploy(
        st,
        snap,
        "data",
        "report-gen",
        [C("report-gen", rep)],
        "2023-12-01T10:00:00Z",
        [x86[2], x86[3]],
        rs_created="2023-12-01T10:00:00Z",
        lines=("report-gen 1.9.3 scheduler started",),
    )
    st.readme = """
# mixed-no-affinity

**Ticket:** "ingest-worker: 2 of 6 replicas crash-loop since this morning's deploy, the rest are fine."

- On-prem kubeadm 1.26 (Docker 20.10 via cri-dockerd, runc 1.0): four x86 workers, and since 15 January three
  Ampere arm64 workers (`acme.io/pool=ampere`), added without taints.
- The 07:45 rollout of Deployment `data/ingest-worker` (4.2.0, an amd64-only single Docker manifest, no arch
  constraint) spread pods over both architectures. Pods on arm64 crash: `standard_init_linux.go:228: exec user
  process caused: exec format error` (runc 1.0 dialect, exit 1); imageIDs are `docker-pullable://`.
- `data/report-gen` has the same problem waiting to happen: amd64-only image, no affinity, both pods happen to run
  on amd64 nodes today. A reschedule onto an Ampere node would break it.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.single-arch-image",
                "workload": wl_ref("Deployment", "data", "ingest-worker"),
                "latent": False,
                "contributing": ["arch.mixed-arch-no-affinity"],
            },
            {
                "cause": "arch.single-arch-image",
                "workload": wl_ref("Deployment", "data", "report-gen"),
                "latent": True,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("StatefulSet", "data", "kafka"),
            wl_ref("DaemonSet", "kube-system", "calico-node"),
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
        ],
    }
    return st


def healthy_mixed() -> Story:
    st = Story(
        "healthy-mixed",
        context="gke_acme-shop_europe-west1_shop-stage",
        server="https://35.195.20.41",
        kubelet="v1.28.7-gke.1026000",
    )
    amd = [gke_node(st, "default-pool", "e2-standard-4", "amd64", "2024-04-08T08:0%d:00Z" % i, i) for i in range(4)]
    arm = [gke_node(st, "arm-pool", "t2a-standard-4", "arm64", "2024-04-10T11:0%d:00Z" % i, i + 4) for i in range(3)]
    now = T("2024-05-02T12:00:00Z")
    snap = st.snapshot(now)
    gke_system(st, snap, amd + arm, "2024-04-08T08:00:00Z")
    reg = "europe-west1-docker.pkg.dev/acme-shop/web"
    fe = multi(st, f"{reg}/frontend:8.2.0", ["amd64", "arm64"], "2024-04-29T10:00:00Z")
    api = multi(st, f"{reg}/api:2.0.7", ["amd64", "arm64"], "2024-04-25T10:00:00Z", oci=False)
    lp = single(st, f"{reg}/legacy-pricing:1.4.2", "amd64", "2023-08-01T10:00:00Z", entry=["/app/pricing"])
    tol = [{"effect": "NoSchedule", "key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64"}]
    pref = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "preference": {
                        "matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]
                    },
                    "weight": 50,
                }
            ]
        }
    }
    deploy(
        st,
        snap,
        "shop",
        "frontend",
        [C("frontend", fe, ports=[8080])],
        "2024-04-12T09:00:00Z",
        [arm[0], arm[1], arm[2], amd[1]],
        rs_created="2024-04-29T12:00:00Z",
        tolerations=tol,
        affinity=pref,
        lines=("frontend 8.2.0 ready",),
    )
    deploy(
        st,
        snap,
        "shop",
        "api",
        [C("api", api, ports=[9000])],
        "2024-04-12T09:00:00Z",
        [amd[0], arm[1], amd[2]],
        rs_created="2024-04-25T12:00:00Z",
        tolerations=tol,
        lines=("api listening",),
    )
    deploy(
        st,
        snap,
        "shop",
        "legacy-pricing",
        [C("pricing", lp, ports=[8081])],
        "2023-08-02T09:00:00Z",
        [amd[3], amd[2]],
        rs_created="2024-04-08T09:00:00Z",
        node_selector={"kubernetes.io/arch": "amd64"},
        lines=("pricing engine up",),
    )
    st.readme = """
# healthy-mixed

**Ticket:** none: a baseline. A GKE 1.28 cluster with an amd64 `default-pool` and a tainted Tau T2A `arm-pool`.

- Every image is multi-arch (OCI index or Docker manifest list) except `shop/legacy-pricing`, an amd64-only single
  manifest that is correctly pinned with `nodeSelector: kubernetes.io/arch: amd64`.
- GKE's per-arch kube-proxy static pods use `kube-proxy-amd64` / `kube-proxy-arm64` single-arch images, each on
  the matching nodes.
- No restarts, no failing pods: the analyzer should report no findings at all.
"""
    st.expected = {
        "story": st.name,
        "findings": [],
        NOARCH: [
            wl_ref("Deployment", "shop", "legacy-pricing"),
            wl_ref("Deployment", "shop", "frontend"),
            wl_ref("Deployment", "shop", "api"),
        ],
        "no_findings": True,
    }
    return st


XSS = "<script>alert(document.domain)</script>"
XSS2 = "<img src=x onerror=alert(1)>"


def hostile() -> Story:
    st = Story(
        "hostile",
        context="eks-sandbox",
        server="https://A1B2C3D4E5F6A7B8.gr7.eu-west-1.eks.amazonaws.com",
        kubelet="v1.29.0-eks-5e0fdde",
    )
    x86 = [
        eks_node(st, i, "amd64", "sandbox-x86", "m6i.xlarge", "2024-03-01T08:0%d:00Z" % i, zone_ix=i) for i in range(2)
    ]
    arm = [
        eks_node(st, i + 2, "arm64", "sandbox-arm", "m7g.xlarge", "2024-03-05T08:0%d:00Z" % i, zone_ix=i)
        for i in range(2)
    ]
    now = T("2024-03-06T12:00:00Z")
    snap = st.snapshot(now)
    eks_system(st, snap, x86 + arm, "2024-03-01T08:00:00Z")
    img = single(
        st,
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/preview:0.3.1",
        "amd64",
        "2024-03-04T10:00:00Z",
        entry=["/preview"],
    )
    line = "exec /preview: exec format error\n"

    def state(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        if n.arch == "arm64":
            return {"preview": Crash(pc + secs(3), f"{XSS} {XSS2}\n" + line)}
        return None

    _, _, pods = deploy(
        st,
        snap,
        "tools",
        "preview",
        [C("preview", img, policy="FallbackToLogsOnError")],
        "2024-03-05T09:00:00Z",
        [x86[0], arm[0], arm[1]],
        rs_created="2024-03-06T11:00:00Z",
        state=state,
        pod_annotations={"acme.io/owner": XSS, "acme.io/notes": XSS2 + " \u202e\u0000"},
        lines=(XSS, "preview ready"),
    )
    for p in pods[1:]:
        snap.crash_events(p, "preview")
        snap.pod_event(p, "Note", f"deploy note: {XSS} {XSS2}", now - secs(600), type="Warning")
        rel = f"logs/tools/{p.name}/preview.previous.log"
        snap.extra_logs[rel] = b"\xff\xfe garbage \xc3\x28 \x1b[31mred\x1b[0m " + XSS.encode() + b"\n" + line.encode()
    st.broken["statefulsets"] = (
        b'{\n    "apiVersion": "v1",\n    "items": [\n        {\n            "apiVersion": "apps/v1",\n            "kind": "StatefulSet",\n            "metadata": {\n                "name": "tru'
    )
    st.readme = """
# hostile

**Ticket:** a dump crafted to test that nothing from the dump is executed or rendered unescaped.

- Small EKS sandbox (2 amd64 + 2 arm64 nodes). Deployment `tools/preview` has an amd64-only image and no arch
  constraint; its pods on arm64 crash with `exec /preview: exec format error`.
- HTML/script payloads (`<script>alert(document.domain)</script>`, `<img src=x onerror=alert(1)>`) sit in a pod
  annotation, container log lines, the termination message (FallbackToLogsOnError) and an event message.
- One previous log holds invalid UTF-8 bytes and ANSI escapes; an annotation holds U+202E and NUL.
- `statefulsets.json` is truncated (invalid JSON); the loader must record a load problem and go on.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.single-arch-image",
                "workload": wl_ref("Deployment", "tools", "preview"),
                "latent": False,
                "contributing": [],
            }
        ],
        NOARCH: [wl_ref("DaemonSet", "kube-system", "kube-proxy")],
        "load_problems_min": 1,
    }
    return st


def dc_node(st: Story, i: int, created: str) -> NodeSpec:
    return st.node(
        name=f"worker-{i + 1:02d}",
        arch="amd64",
        pool="workers",
        itype="bare-x86",
        created=T(created),
        runtime="containerd://1.7.18",
        kernel="6.1.0-21-amd64",
        os_image="Debian GNU/Linux 12 (bookworm)",
        provider="kubeadm",
        ip=f"10.30.0.{21 + i}",
    )


JAVA_OOM = """\
2024-06-11 09:21:04.118  INFO 1 --- [main] c.a.billing.InvoiceServiceApplication : Started InvoiceServiceApplication in 11.84 seconds
2024-06-11 09:23:47.902  INFO 1 --- [export-1] c.a.billing.export.BatchExporter : exporting batch 2024-06 (412331 invoices)
Exception in thread "export-1" java.lang.OutOfMemoryError: Java heap space
\tat java.base/java.util.Arrays.copyOf(Arrays.java:3541)
\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)
\tat com.acme.billing.export.BatchExporter.collect(BatchExporter.java:88)
"""
GO_PANIC = """\
{"level":"info","ts":1718097601.2,"msg":"route-planner 0.31.0 starting","region":"eu-central"}
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x9c3e52]

goroutine 1 [running]:
github.com/acme/route-planner/internal/depot.(*Registry).Lookup(0x0, {0xc00012a0f0, 0x6})
\t/src/internal/depot/registry.go:61 +0x32
main.main()
\t/src/cmd/route-planner/main.go:44 +0x2b9
"""
HELPER_FAIL = """\
2024/06/11 09:12:03 thumbnailer 2.7.0 (linux/amd64) loading plugins from /plugins
2024/06/11 09:12:03 fatal: start plugin "helper": fork/exec /plugins/helper: exec format error
"""
START_ERROR = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
    'unable to start container process: exec: "/app/start.sh": executable file not found in $PATH: unknown'
)
EVICTED = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91532Ki. "
NO_FIT = (
    "0/6 nodes are available: 6 Insufficient cpu. preemption: 0/6 nodes are available: "
    "6 No preemption victims found for incoming pod."
)


def not_arch() -> Story:
    st = Story("not-arch", context="kubernetes-admin@dc2-apps", server="https://10.30.0.10:6443", kubelet="v1.30.2")
    nodes = [dc_node(st, i, f"2024-04-02T08:0{i}:00Z") for i in range(6)]
    now = T("2024-06-11T09:30:00Z")
    down = nodes[5]
    down.ready, down.not_ready_since = False, now - secs(200)
    up = nodes[:5]
    snap = st.snapshot(now)
    kp = multi(
        st,
        "registry.k8s.io/kube-proxy:v1.30.2",
        ["amd64", "arm64", "ppc64le", "s390x"],
        "2024-06-11T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    dns = multi(
        st,
        "registry.k8s.io/coredns/coredns:v1.11.1",
        ["amd64", "arm", "arm64", "ppc64le", "s390x"],
        "2023-08-15T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        up,
        "2024-04-02T07:55:00Z",
        ('"Using iptables Proxier"',),
    )
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [C("coredns", dns, ports=[53])],
        "2024-04-02T07:55:00Z",
        up[:2],
        lines=(".:53", "CoreDNS-1.11.1"),
        labels={"k8s-app": "kube-dns"},
        priority_class="system-cluster-critical",
    )
    reg = "registry.acme.internal"

    def app(ref: str, created: str, entry: list[str], plats: tuple[str, ...] = ("amd64", "arm64")) -> Image:
        return multi(st, f"{reg}/{ref}", list(plats), created, entry=entry)

    def one(ns: str, name: str, c: C, state: Any, node: NodeSpec, rs_created: str) -> PodSpec:
        _, _, pods = deploy(
            st,
            snap,
            ns,
            name,
            [c],
            "2024-04-10T10:00:00Z",
            [node],
            rs_created=rs_created,
            state=(lambda n, i, pc: None if state is None else {c.name: state(pc)}),
        )
        return pods[0]

    web = app("web/frontend:6.0.2", "2024-06-01T10:00:00Z", ["/frontend"])
    deploy(
        st,
        snap,
        "web",
        "frontend",
        [C("frontend", web, ports=[8080])],
        "2024-04-10T10:00:00Z",
        up[:3],
        rs_created="2024-06-03T10:00:00Z",
        lines=("frontend 6.0.2 ready",),
    )

    # oom-killed: the JVM fills its 1Gi limit during the monthly export
    inv = app("billing/invoice-service:5.2.1", "2024-06-05T12:00:00Z", ["java", "-jar", "/app/invoice.jar"])
    p = one(
        "billing",
        "invoice-service",
        C("invoice", inv, ports=[8080], requests={"cpu": "500m", "memory": "768Mi"}, limits={"memory": "1Gi"}),
        lambda pc: Crash(pc + secs(5), JAVA_OOM, exit=137, reason="OOMKilled", run_s=170),
        up[0],
        "2024-06-11T08:50:00Z",
    )
    snap.crash_events(p, "invoice", since=now - dt.timedelta(hours=1))

    # app-crash: a Go nil dereference at start-up
    rp = app("fleet/route-planner:0.31.0", "2024-06-10T16:00:00Z", ["/route-planner"])
    p = one(
        "fleet",
        "route-planner",
        C("planner", rp),
        lambda pc: Crash(pc + secs(4), GO_PANIC, exit=2, run_s=0.6),
        up[1],
        "2024-06-11T08:40:00Z",
    )
    snap.crash_events(p, "planner", since=now - dt.timedelta(hours=1))

    # app-crash: exec format error from a helper the app forks, while the image matches the node
    th = app("media/thumbnailer:2.7.0", "2024-06-07T09:00:00Z", ["/usr/local/bin/thumbnailer"])
    p = one(
        "media",
        "thumbnailer",
        C("thumbnailer", th),
        lambda pc: Crash(pc + secs(6), HELPER_FAIL, exit=1, run_s=1.2),
        up[2],
        "2024-06-11T09:10:00Z",
    )
    snap.crash_events(p, "thumbnailer")

    # liveness-probe: /healthz answers 500, kubelet kills the container (exit 137, reason Error)
    api = app("web/api:3.8.0", "2024-06-09T10:00:00Z", ["/api"])
    t_start = now - secs(70)
    p = one(
        "web",
        "api",
        C("api", api, ports=[8080], liveness="/healthz"),
        lambda pc: Run(
            t_start,
            restarts=6,
            last=term(st, up[3], 137, "Error", t_start - secs(560), t_start - secs(1)),
            log=applog(t_start + secs(2), "api 3.8.0 listening on :8080", "db pool: 0/20 connections available"),
            previous_log=applog(
                t_start - secs(555),
                "api 3.8.0 listening on :8080",
                "db pool: 0/20 connections available",
                "GET /healthz 500 (db ping timeout after 1s)",
            ),
        ),
        up[3],
        "2024-06-11T08:30:00Z",
    )
    snap.pod_event(
        p,
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
        now - secs(3300),
        now - secs(75),
        21,
        "Warning",
        container="api",
    )
    snap.pod_event(
        p,
        "Killing",
        "Container api failed liveness probe, will be restarted",
        now - secs(3280),
        now - secs(71),
        6,
        container="api",
    )

    # image-pull-auth: a private Docker Hub repository without an imagePullSecret
    edi = st.image(unknown_image("acmecorp/edi-gateway:2.0.3"))
    st.image_failures[edi.ref] = (
        'time="2024-06-11T09:30:41Z" level=fatal msg="Error parsing image name \\"docker://acmecorp/edi-gateway:2.0.3\\": '
        'reading manifest 2.0.3 in docker.io/acmecorp/edi-gateway: requested access to the resource is denied"\n'
    )
    full = normalized(edi.ref)
    p = one(
        "partners",
        "edi-gateway",
        C("edi", edi),
        lambda pc: Wait("ImagePullBackOff", f'Back-off pulling image "{edi.ref}"'),
        up[4],
        "2024-06-11T08:55:00Z",
    )
    pull_events(
        snap,
        p,
        "edi",
        edi.ref,
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": failed to resolve reference '
        f'"{full}": pull access denied, repository does not exist or may require authorization: server message: '
        "insufficient_scope: authorization failed",
    )

    # image-pull-not-found: the tag was never pushed
    srch = st.image(unknown_image(f"{reg}/web/search:4.1.0"))
    st.image_failures[srch.ref] = (
        f'time="2024-06-11T09:30:42Z" level=fatal msg="Error parsing image name \\"docker://{srch.ref}\\": '
        f'reading manifest 4.1.0 in {reg}/web/search: manifest unknown"\n'
    )
    p = one(
        "web",
        "search",
        C("search", srch),
        lambda pc: Wait("ImagePullBackOff", f'Back-off pulling image "{srch.ref}"'),
        up[0],
        "2024-06-11T09:00:00Z",
    )
    pull_events(
        snap,
        p,
        "search",
        srch.ref,
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{srch.ref}": '
        f'failed to resolve reference "{srch.ref}": {srch.ref}: not found',
    )

    # missing-config: envFrom a ConfigMap nobody created in this namespace
    cw = app("shop/checkout-worker:1.4.0", "2024-06-06T10:00:00Z", ["/worker"])
    p = one(
        "shop",
        "checkout-worker",
        C("worker", cw, env_from_configmap="app-settings"),
        lambda pc: Wait("CreateContainerConfigError", 'configmap "app-settings" not found'),
        up[1],
        "2024-06-11T09:05:00Z",
    )
    snap.pod_event(
        p,
        "Pulled",
        f'Container image "{cw.ref}" already present on machine',
        p.created + secs(2),
        now - secs(30),
        114,
        container="worker",
    )
    snap.pod_event(
        p,
        "Failed",
        'Error: configmap "app-settings" not found',
        p.created + secs(2),
        now - secs(30),
        114,
        "Warning",
        container="worker",
    )

    # command-not-found: the command names a script the image does not contain
    pdf = app("reports/pdf-renderer:1.0.0", "2024-06-10T12:00:00Z", ["/usr/bin/renderer"])
    p = one(
        "reports",
        "pdf-renderer",
        C("renderer", pdf, command=["/app/start.sh"]),
        lambda pc: Crash(pc + secs(3), START_ERROR, exit=128, reason="StartError"),
        up[2],
        "2024-06-11T09:00:00Z",
    )
    snap.crash_events(p, "renderer")
    snap.pod_event(
        p, "Failed", "Error: " + START_ERROR, p.created + secs(3), now - secs(40), 9, "Warning", container="renderer"
    )

    # evicted: the kubelet evicted the previous pod under memory pressure; its replacement runs
    etl = app("analytics/etl-runner:2.2.0", "2024-05-20T10:00:00Z", ["/etl"])
    _, rs, _ = deploy(
        st,
        snap,
        "analytics",
        "etl-runner",
        [C("etl", etl, requests={"cpu": "500m", "memory": "512Mi"})],
        "2024-04-10T10:00:00Z",
        [up[3]],
        rs_created="2024-05-20T11:00:00Z",
        lines=("etl-runner 2.2.0 waiting for jobs",),
    )
    gone = st.pod(rs, up[4], rs.created + secs(2), {"etl": ok(rs.created + secs(9))}, evicted=EVICTED)
    snap.add_pods(gone)
    snap.pod_event(
        gone,
        "Evicted",
        EVICTED + "Container etl was using 2895484Ki, request is 512Mi, has larger consumption of memory. ",
        now - secs(2950),
        type="Warning",
    )
    snap.pod_event(gone, "Killing", "Stopping container etl", now - secs(2950), container="etl")
    # the kubelet's words about the node while it reclaimed memory (it stays Ready; the pressure is over)
    for reason, message, back, kind in (
        ("NodeHasInsufficientMemory", f"Node {up[4].name} status is now: NodeHasInsufficientMemory", 2990, "Normal"),
        ("EvictionThresholdMet", "Attempting to reclaim memory", 2960, "Warning"),
        ("NodeHasSufficientMemory", f"Node {up[4].name} status is now: NodeHasSufficientMemory", 2700, "Normal"),
    ):
        snap.event(
            ns="default",
            kind="Node",
            name=up[4].name,
            uid=up[4].uid,
            reason=reason,
            message=message,
            first=now - secs(back),
            last=now - secs(back),
            type=kind,
            host=up[4].name,
        )

    # unschedulable: 40 CPUs requested, no node has them
    tr = app("ml/trainer:0.9.0", "2024-06-10T18:00:00Z", ["python", "-m", "trainer"])
    dep = st.workload(
        "Deployment",
        "ml",
        "trainer",
        [C("trainer", tr, requests={"cpu": "40", "memory": "64Gi"})],
        T("2024-06-11T08:00:00Z"),
    )
    rs = st.replicaset(dep, dep.created)
    snap.add(dep, rs)
    p = st.pod(rs, None, rs.created + secs(1), {}, unschedulable=NO_FIT)
    snap.add_pods(p)
    snap.event(
        ns="ml",
        kind="Pod",
        name=p.name,
        uid=p.uid,
        reason="FailedScheduling",
        message=NO_FIT,
        first=p.created + secs(1),
        last=down.not_ready_since - secs(60),
        count=17,
        type="Warning",
        component="default-scheduler",
        new_api=True,
    )

    # node-not-ready: worker-06 stopped posting status 200 s before collection
    q = app("warehouse/inventory-sync:3.3.1", "2024-06-01T08:00:00Z", ["/inventory-sync"])
    deploy(
        st,
        snap,
        "warehouse",
        "inventory-sync",
        [C("sync", q)],
        "2024-04-10T10:00:00Z",
        [down, down],
        rs_created="2024-06-03T08:00:00Z",
        lines=("inventory-sync 3.3.1 polling",),
    )
    snap.event(
        ns="default",
        kind="Node",
        name=down.name,
        uid=down.uid,
        reason="NodeNotReady",
        message=f"Node {down.name} status is now: NodeNotReady",
        first=down.not_ready_since,
        last=down.not_ready_since,
        component="node-controller",
    )

    # job-failed: the hourly ledger export failed (backoff limit) and its pods were deleted since
    lx = app("billing/ledger-export:1.8.2", "2024-05-02T08:00:00Z", ["/ledger-export", "--month=current"])
    cj = st.workload(
        "CronJob", "billing", "ledger-export", [C("export", lx)], T("2024-04-10T10:00:00Z"), schedule="0 * * * *"
    )
    snap.add(cj)
    run = st.job(cj, T("2024-06-11T09:00:00Z"))
    run.job_failed = ("BackoffLimitExceeded", "Job has reached the specified backoff limit", now - secs(1500))
    snap.add(run)
    snap.event(
        ns="billing",
        kind="Job",
        name=run.name,
        uid=run.uid,
        reason="BackoffLimitExceeded",
        message="Job has reached the specified backoff limit",
        first=now - secs(1500),
        last=now - secs(1500),
        type="Warning",
        component="job-controller",
    )
    st.readme = """
# not-arch

**Ticket:** "dc2-apps: a dozen things are red after the weekend. Is this the ARM thing again? We never had ARM here."

- On-prem kubeadm 1.30, six amd64 workers (containerd 1.7.18). Every application image is an OCI index with
  amd64 and arm64, so no architecture cause applies; the analyzer must name the real ones instead:
- `billing/invoice-service` (Java, memory limit 1Gi): `OOMKilled`, exit 137; the previous log ends with
  `java.lang.OutOfMemoryError: Java heap space` during the monthly export.
- `fleet/route-planner` (Go): `panic: runtime error: invalid memory address or nil pointer dereference`, exit 2.
- `media/thumbnailer`: `fork/exec /plugins/helper: exec format error`, exit 1. The words are the arch ones, but
  the image's index has amd64 and the node is amd64: the app ships a helper built for something else.
- `web/api`: `Liveness probe failed: HTTP probe failed with statuscode: 500`; the kubelet restarted it 6 times
  (exit 137, reason Error).
- `partners/edi-gateway`: ImagePullBackOff, `pull access denied, repository does not exist or may require
  authorization` (private Docker Hub repository, no imagePullSecret). skopeo could not inspect it either.
- `web/search`: ImagePullBackOff, `registry.acme.internal/web/search:4.1.0: not found` (the tag was never pushed;
  skopeo: `manifest unknown`).
- `shop/checkout-worker`: CreateContainerConfigError, `configmap "app-settings" not found`.
- `reports/pdf-renderer`: StartError, exit 128, `exec: "/app/start.sh": executable file not found in $PATH`.
- `analytics/etl-runner`: one pod Evicted (`The node was low on resource: memory.`); its replacement runs.
  `worker-05` stayed Ready: its kubelet reported `NodeHasInsufficientMemory` and `EvictionThresholdMet`
  (`Attempting to reclaim memory`) 50 minutes before collection, then `NodeHasSufficientMemory`. The node
  is the cause (`Node worker-05`, `node-pressure`, the pressure over now); the eviction is its consequence.
- `billing/ledger-export` (CronJob): its 09:00 run failed 25 minutes before collection (`BackoffLimitExceeded:
  Job has reached the specified backoff limit`) and its pods are gone, so why they failed is not in the dump:
  the analyzer says what is known (`job-failed`, low confidence) and how to keep the pods next time.
- `ml/trainer`: Pending, `0/6 nodes are available: 6 Insufficient cpu.` (it asks for 40 CPUs).
- `worker-06` stopped posting status (Ready Unknown, `node.kubernetes.io/unreachable` taints) 200 s before
  collection; both `warehouse/inventory-sync` pods run there. The node is the cause (a finding of its own,
  `Node worker-06`); `warehouse/inventory-sync` is its consequence (`caused_by` the node's finding).
"""
    broken = [
        ("Deployment", "billing", "invoice-service", "oom-killed"),
        ("Deployment", "fleet", "route-planner", "app-crash"),
        ("Deployment", "media", "thumbnailer", "app-crash"),
        ("Deployment", "web", "api", "liveness-probe"),
        ("Deployment", "partners", "edi-gateway", "image-pull-auth"),
        ("Deployment", "web", "search", "image-pull-not-found"),
        ("Deployment", "shop", "checkout-worker", "missing-config"),
        ("Deployment", "reports", "pdf-renderer", "command-not-found"),
        ("Deployment", "analytics", "etl-runner", "evicted"),
        ("Deployment", "ml", "trainer", "unschedulable"),
        ("Deployment", "warehouse", "inventory-sync", "node-not-ready"),
        ("CronJob", "billing", "ledger-export", "job-failed"),
    ]
    st.expected = {
        "story": st.name,
        "findings": [
            {"cause": cause, "workload": wl_ref(k, ns, n), "latent": False, "contributing": []}
            for k, ns, n, cause in broken
        ]
        + [
            {
                "cause": "node-not-ready",
                "workload": wl_ref("Node", "", "worker-06"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "node-pressure",
                "workload": wl_ref("Node", "", up[4].name),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [wl_ref(k, ns, n) for k, ns, n, _ in broken]
        + [
            wl_ref("Deployment", "web", "frontend"),
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
            wl_ref("Deployment", "kube-system", "coredns"),
        ],
    }
    return st


def pull_events(snap: Snapshot, p: PodSpec, cname: str, ref: str, why: str) -> None:
    """The kubelet's image pull failure series: Pulling, Failed (the runtime's reason), ErrImagePull, BackOff."""
    now = snap.at
    first = p.created + secs(2)
    snap.pod_event(p, "Pulling", f'Pulling image "{ref}"', first, now - secs(95), 12, container=cname)
    snap.pod_event(
        p,
        "Failed",
        f'Failed to pull image "{ref}": {why}',
        first + secs(1),
        now - secs(94),
        12,
        "Warning",
        container=cname,
    )
    snap.pod_event(p, "Failed", "Error: ErrImagePull", first + secs(1), now - secs(94), 12, "Warning", container=cname)
    snap.pod_event(
        p, "BackOff", f'Back-off pulling image "{ref}"', first + secs(20), now - secs(8), 140, container=cname
    )
    snap.pod_event(
        p, "Failed", "Error: ImagePullBackOff", first + secs(20), now - secs(8), 140, "Warning", container=cname
    )


X509 = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
HOSTPATH_DIR = "/srv/ledger-cache"


def new_nodes_not_ready_for_apps() -> Story:
    """Two causes that are neither the image nor the application: a volume and the way to the registry."""
    st = Story(
        "stuck-starting", context="kubernetes-admin@fin-prod", server="https://10.40.0.10:6443", kubelet="v1.29.6"
    )
    old = [
        st.node(
            name=f"fin-w{i + 1}",
            arch="amd64",
            pool="workers",
            itype="bare-x86",
            created=T(f"2024-02-05T09:0{i}:00Z"),
            runtime="containerd://1.7.13",
            kernel="6.1.0-18-amd64",
            os_image="Debian GNU/Linux 12 (bookworm)",
            provider="kubeadm",
            ip=f"10.40.0.{21 + i}",
        )
        for i in range(3)
    ]
    new = [
        st.node(
            name=f"fin-w{i + 4}",
            arch="amd64",
            pool="workers",
            itype="bare-x86",
            created=T(f"2024-09-02T22:1{i}:00Z"),
            runtime="containerd://1.7.20",
            kernel="6.1.0-25-amd64",
            os_image="Debian GNU/Linux 12 (bookworm)",
            provider="kubeadm",
            ip=f"10.40.0.{24 + i}",
        )
        for i in range(2)
    ]
    now = T("2024-09-03T07:45:00Z")
    snap = st.snapshot(now)
    kp = multi(
        st,
        "registry.k8s.io/kube-proxy:v1.29.6",
        ["amd64", "arm64"],
        "2024-06-11T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        old + new,
        "2024-02-05T08:55:00Z",
        ('"Using iptables Proxier"',),
    )
    reg = "registry.fin.example:5000"

    # image-pull-network: the new nodes do not trust the corporate CA that signed the registry's certificate
    api = multi(st, f"{reg}/payments/gateway:4.2.0", ["amd64"], "2024-08-30T10:00:00Z", entry=["/gateway"])
    _, _, pods = deploy(
        st,
        snap,
        "payments",
        "gateway",
        [C("gateway", api, ports=[8443])],
        "2024-03-01T10:00:00Z",
        [old[0], old[1], new[0]],
        rs_created="2024-09-02T23:30:00Z",
        state=lambda n, i, pc: (
            {"gateway": Wait("ImagePullBackOff", f'Back-off pulling image "{api.ref}"')} if n in new else None
        ),
        lines=("gateway 4.2.0 listening on :8443",),
    )
    pull_events(
        snap,
        pods[2],
        "gateway",
        api.ref,
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{api.ref}": failed to resolve reference '
        f'"{api.ref}": failed to do request: Head "https://{reg}/v2/payments/gateway/manifests/4.2.0": {X509}',
    )

    # volume-mount: the ledger cache is a hostPath of type Directory, created by hand on the old nodes only
    led = multi(st, f"{reg}/payments/ledger-cache:1.8.3", ["amd64"], "2024-07-15T10:00:00Z", entry=["/ledger-cache"])
    w = st.workload(
        "DaemonSet",
        "payments",
        "ledger-cache",
        [C("cache", led)],
        T("2024-03-01T10:00:00Z"),
        labels={"app": "ledger-cache"},
    )
    w.template_hash = st.rng.safe(9)
    snap.add(w)
    for n in old:
        t0 = max(w.created, n.created) + secs(st.rng.int(8, 40))
        snap.add_pods(st.pod(w, n, t0 - secs(5), {"cache": ok(t0, "ledger-cache 1.8.3 serving from /cache")}))
    for n in new:
        t0 = n.created + secs(95)
        p = st.pod(w, n, t0, {"cache": Wait("ContainerCreating")})
        snap.add_pods(p)
        snap.pod_event(
            p,
            "FailedMount",
            f'MountVolume.SetUp failed for volume "cache" : hostPath type check failed: '
            f"{HOSTPATH_DIR} is not a directory",
            t0 + secs(2),
            now - secs(50),
            287,
            "Warning",
        )
        snap.pod_event(
            p,
            "FailedMount",
            "Unable to attach or mount volumes: unmounted volumes=[cache], unattached volumes="
            "[cache kube-api-access-7qkzp]: timed out waiting for the condition",
            t0 + secs(122),
            now - secs(170),
            142,
            "Warning",
        )
    st.readme = f"""
# stuck-starting

**Ticket:** "fin-prod: we added two workers last night (fin-w4, fin-w5). Since then some payments pods never
start. Is it the new containerd version? The image is amd64 like the nodes."

- On-prem kubeadm 1.29, five amd64 workers; `fin-w4` and `fin-w5` joined at 22:10 the night before.
- `payments/gateway` rolled out at 23:30: its pods on the old workers run, the one on `fin-w4` is in
  ImagePullBackOff: `x509: certificate signed by unknown authority` from `{reg}`. The new nodes lack the corporate
  CA (containerd `certs.d`); neither credentials nor the tag are at fault. Expected: `image-pull-network`.
- `payments/ledger-cache` (DaemonSet) mounts `{HOSTPATH_DIR}` as a hostPath of `type: Directory`, created by hand
  on the old workers only: its pods on `fin-w4`/`fin-w5` stay in ContainerCreating with `FailedMount ...
  hostPath type check failed: {HOSTPATH_DIR} is not a directory`. Expected: `volume-mount`.
- Everything else runs; no architecture cause applies.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "image-pull-network",
                "workload": wl_ref("Deployment", "payments", "gateway"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "volume-mount",
                "workload": wl_ref("DaemonSet", "payments", "ledger-cache"),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("Deployment", "payments", "gateway"),
            wl_ref("DaemonSet", "payments", "ledger-cache"),
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
        ],
    }
    return st


PREEMPT_NONE = "preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling."
PREEMPT_SOME = (
    "preemption: 0/6 nodes are available: 2 Preemption is not helpful for scheduling, "
    "4 No preemption victims found for incoming pod."
)
UNBOUND = "0/6 nodes are available: pod has unbound immediate PersistentVolumeClaims. " + PREEMPT_NONE


def scheduling() -> Story:
    st = Story(
        "scheduling", context="kubernetes-admin@dc3-platform", server="https://10.40.0.10:6443", kubelet="v1.30.2"
    )
    now = T("2024-09-03T14:20:00Z")
    workers = []
    for i in range(5):
        n = st.node(
            name=f"worker-{i + 1:02d}",
            arch="amd64",
            pool="workers",
            itype="bare-x86",
            created=T(f"2024-05-06T08:0{i}:00Z"),
            runtime="containerd://1.7.18",
            kernel="6.1.0-23-amd64",
            os_image="Debian GNU/Linux 12 (bookworm)",
            provider="kubeadm",
            ip=f"10.40.0.{21 + i}",
            zone="dc3-a" if i % 2 == 0 else "dc3-b",
        )
        workers.append(n)
    cordoned = workers[4]
    cordoned.cordoned = True
    gpu = st.node(
        name="gpu-01",
        arch="amd64",
        pool="gpu",
        itype="bare-x86",
        created=T("2024-07-01T09:00:00Z"),
        runtime="containerd://1.7.18",
        kernel="6.1.0-23-amd64",
        os_image="Debian GNU/Linux 12 (bookworm)",
        provider="kubeadm",
        ip="10.40.0.40",
        zone="dc3-a",
        labels={"acme.io/pool": "gpu"},
        taints=[{"effect": "NoSchedule", "key": "dedicated", "value": "gpu"}],
    )
    up = workers[:4]
    snap = st.snapshot(now)
    kp = multi(
        st,
        "registry.k8s.io/kube-proxy:v1.30.2",
        ["amd64", "arm64"],
        "2024-06-11T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    dns = multi(
        st,
        "registry.k8s.io/coredns/coredns:v1.11.1",
        ["amd64", "arm64"],
        "2023-08-15T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        up + [cordoned, gpu],
        "2024-05-06T07:55:00Z",
        ('"Using iptables Proxier"',),
        tolerations=[{"operator": "Exists"}],
    )
    deploy(
        st,
        snap,
        "kube-system",
        "coredns",
        [C("coredns", dns, ports=[53])],
        "2024-05-06T07:55:00Z",
        up[:2],
        lines=(".:53", "CoreDNS-1.11.1"),
        labels={"k8s-app": "kube-dns"},
        priority_class="system-cluster-critical",
    )
    reg = "registry.acme.internal"

    def app(ref: str, entry: list[str]) -> Image:
        return multi(st, f"{reg}/{ref}", ["amd64", "arm64"], "2024-08-20T10:00:00Z", entry=entry)

    def pending(ns: str, name: str, c: C, message: str, since: str, **kw: Any) -> PodSpec:
        dep = st.workload("Deployment", ns, name, [c], T(since), **kw)
        rs = st.replicaset(dep, dep.created)
        snap.add(dep, rs)
        p = st.pod(rs, None, rs.created + secs(1), {}, unschedulable=message)
        snap.add_pods(p)
        snap.event(
            ns=ns,
            kind="Pod",
            name=p.name,
            uid=p.uid,
            reason="FailedScheduling",
            message=message,
            first=p.created + secs(1),
            last=now - secs(st.rng.int(30, 200)),
            count=st.rng.int(12, 40),
            type="Warning",
            component="default-scheduler",
            new_api=True,
        )
        return p

    def claim_event(
        ns: str, claim: str, reason: str, message: str, since: str, component: str = "persistentvolume-controller"
    ) -> None:
        snap.event(
            ns=ns,
            kind="PersistentVolumeClaim",
            name=claim,
            uid=st.rng.uid(),
            reason=reason,
            message=message,
            first=T(since) + secs(2),
            last=now - secs(st.rng.int(5, 15)),
            count=st.rng.int(30, 300),
            type="Warning",
            component=component,
        )

    def claim_volume(claim: str) -> list[dict[str, Any]]:
        return [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]

    # taint/toleration: the gpu node is tainted dedicated=gpu:NoSchedule, the trainer selects it without tolerating
    pending(
        "ml",
        "gpu-trainer",
        C("trainer", app("ml/gpu-trainer:1.4.0", ["python", "-m", "train"])),
        "0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, "
        "4 node(s) didn't match Pod's node affinity/selector. " + PREEMPT_NONE,
        "2024-09-03T09:00:00Z",
        node_selector={"acme.io/pool": "gpu"},
    )
    # node selector: a zone that no node has
    pending(
        "web",
        "edge-proxy",
        C("proxy", app("web/edge-proxy:2.0.1", ["/edge-proxy"]), ports=[8443]),
        "0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, "
        "4 node(s) didn't match Pod's node affinity/selector. " + PREEMPT_NONE,
        "2024-09-02T16:00:00Z",
        node_selector={"topology.kubernetes.io/zone": "dc3-c"},
    )
    # required pod anti-affinity: 5 replicas, one per host, 4 schedulable hosts
    cache_img = app("data/session-cache:7.2.4", ["redis-server"])
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "session-cache"}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    cache = sts(
        st,
        snap,
        "data",
        "session-cache",
        [C("redis", cache_img, ports=[6379])],
        "2024-08-26T10:00:00Z",
        up,
        lines=("Ready to accept connections tcp",),
        affinity=anti,
    )
    cache.replicas = 5
    p = st.pod(
        cache,
        None,
        now - secs(3600),
        {},
        ordinal=4,
        unschedulable="0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were "
        "unschedulable, 4 node(s) didn't match pod anti-affinity rules. " + PREEMPT_SOME,
    )
    snap.add_pods(p)
    snap.event(
        ns="data",
        kind="Pod",
        name=p.name,
        uid=p.uid,
        reason="FailedScheduling",
        message=p.unschedulable or "",
        first=p.created + secs(1),
        last=now - secs(44),
        count=23,
        type="Warning",
        component="default-scheduler",
        new_api=True,
    )
    # a cordoned node: the only host the pod may run on
    pending(
        "ops",
        "disk-scrubber",
        C("scrubber", app("ops/disk-scrubber:0.3.0", ["/scrub"])),
        "0/6 nodes are available: 1 node(s) were unschedulable, 5 node(s) didn't match Pod's node affinity/selector. "
        + PREEMPT_NONE,
        "2024-09-03T11:00:00Z",
        node_selector={"kubernetes.io/hostname": cordoned.name},
    )
    # insufficient CPU and memory
    pending(
        "analytics",
        "spark-driver",
        C(
            "driver",
            app("analytics/spark-driver:3.5.1", ["/opt/spark/bin/driver"]),
            requests={"cpu": "48", "memory": "300Gi"},
        ),
        "0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, "
        "4 Insufficient cpu, 4 Insufficient memory. " + PREEMPT_SOME,
        "2024-09-03T12:00:00Z",
    )
    # PVC binding failures: the scheduler only says the claim is unbound; the claim's events say why
    for ns, name, claim, reason, message, component in (
        (
            "shop",
            "orders-db",
            "orders-data",
            "ProvisioningFailed",
            'storageclass.storage.k8s.io "fast-ssd" not found',
            "persistentvolume-controller",
        ),
        (
            "cms",
            "media-store",
            "media-shared",
            "ProvisioningFailed",
            'failed to provision volume with StorageClass "local-path": Only support ReadWriteOnce access mode',
            "rancher.io/local-path_local-path-provisioner-6c5d9b8f7c-k2w9x_8f1c2a8e-3b1d-4d5e-9a77-2c1e0f6b9d40",
        ),
        (
            "finance",
            "ledger-archive",
            "archive",
            "FailedBinding",
            'Cannot bind to requested volume "pv-archive-01": requested PV is too small',
            "persistentvolume-controller",
        ),
        (
            "hr",
            "payroll-exports",
            "exports",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
            "persistentvolume-controller",
        ),
        (
            "reports",
            "report-cache",
            "report-cache",
            "FailedBinding",
            'volume "pv-reports-01" already bound to a different claim.',
            "persistentvolume-controller",
        ),
    ):
        since = "2024-09-03T10:30:00Z"
        pending(
            ns,
            name,
            C(name.split("-")[0], app(f"{ns}/{name}:1.0.0", [f"/{name}"])),
            UNBOUND,
            since,
            volumes=claim_volume(claim),
        )
        claim_event(ns, claim, reason, message, since, component)
    st.readme = """
# scheduling

**Ticket:** "dc3-platform: after the maintenance window a lot of things never came back, they just sit in Pending."

- On-prem kubeadm 1.30: four amd64 workers, `worker-05` still cordoned from the maintenance
  (`SchedulingDisabled`), and `gpu-01` tainted `dedicated=gpu:NoSchedule`. Nothing crashes; pods never get a node.
  The scheduler's `FailedScheduling` event (and the pod's `PodScheduled=False` condition) says why, per node:
- `ml/gpu-trainer` selects `acme.io/pool=gpu` but has no toleration for the gpu node's taint:
  `1 node(s) had untolerated taint {dedicated: gpu}`.
- `web/edge-proxy` selects zone `dc3-c`, which no node has: `didn't match Pod's node affinity/selector`.
- `data/session-cache`: 5 replicas with required anti-affinity on the hostname, 4 schedulable hosts: the fifth
  pod waits (`didn't match pod anti-affinity rules`); the other four run.
- `ops/disk-scrubber` is pinned to `worker-05`, which is cordoned: `1 node(s) were unschedulable`.
- `analytics/spark-driver` asks for 48 CPUs and 300Gi: `4 Insufficient cpu, 4 Insufficient memory`.
- Five workloads wait on a PersistentVolumeClaim that never binds (the scheduler only says `pod has unbound
  immediate PersistentVolumeClaims`; the claim's own events say why): `shop/orders-db` (storage class
  `fast-ssd` does not exist), `cms/media-store` (ReadWriteMany on a provisioner that only supports
  ReadWriteOnce), `finance/ledger-archive` (the pre-bound PV is too small), `hr/payroll-exports` (a selector no
  PV matches and no storage class), `reports/report-cache` (the requested PV is bound to another claim).
"""
    broken = [
        ("Deployment", "ml", "gpu-trainer"),
        ("Deployment", "web", "edge-proxy"),
        ("StatefulSet", "data", "session-cache"),
        ("Deployment", "ops", "disk-scrubber"),
        ("Deployment", "analytics", "spark-driver"),
        ("Deployment", "shop", "orders-db"),
        ("Deployment", "cms", "media-store"),
        ("Deployment", "finance", "ledger-archive"),
        ("Deployment", "hr", "payroll-exports"),
        ("Deployment", "reports", "report-cache"),
    ]
    st.expected = {
        "story": st.name,
        "findings": [
            {"cause": "unschedulable", "workload": wl_ref(k, ns, n), "latent": False, "contributing": []}
            for k, ns, n in broken
        ],
        NOARCH: [wl_ref(k, ns, n) for k, ns, n in broken]
        + [wl_ref("DaemonSet", "kube-system", "kube-proxy"), wl_ref("Deployment", "kube-system", "coredns")],
    }
    return st


# ----------------------------------------------------------------------------- the exec-format family


def custom_index(
    st: Story, ref: str, entries: list[tuple[dict[str, Any], bytes]], *, with_configs: bool = True
) -> Image:
    """An OCI index with exactly these platform objects (os.version and all), each entry pointing at a
    manifest of the given config: the way to write an index that lies or one for Windows builds."""
    ms, children, configs = [], {}, {}
    for plat, cfg in entries:
        man = image_manifest(st.rng, cfg, 3, True)
        d = sha256(man)
        key = "/".join(x for x in (plat["os"], plat["architecture"], plat.get("variant", "")) if x)
        children[key] = d
        if with_configs:
            configs[d] = cfg
        ms.append({"mediaType": OCI_MANIFEST, "digest": d, "size": len(man), "platform": plat})
    body = compact({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": ms})
    return st.image(Image(ref=ref, manifest=body, child_configs=configs, platforms=children))


def cfg_of(st: Story, arch: str, created: str, **kw: Any) -> bytes:
    return config_blob(st.rng, arch, T(created), **kw)[0]


UBI9_LABELS = {
    "architecture": "x86_64",
    "com.redhat.component": "ubi9-minimal-container",
    "cpe": "cpe:/a:redhat:enterprise_linux:9::appstream",
    "distribution-scope": "public",
    "name": "ubi9-minimal",
    "release": "1161",
    "vendor": "Red Hat, Inc.",
    "version": "9.4",
}
NFD = "feature.node.kubernetes.io/"
# what NFD's default labels show on a KVM guest with the default `kvm64` CPU model (no SSE4.2, no AVX)
# and on one with host-passthrough on an Ice Lake host
NFD_KVM64 = {
    NFD + "cpu-cpuid.CMPXCHG8": "true",
    NFD + "cpu-cpuid.FXSR": "true",
    NFD + "cpu-cpuid.HYPERVISOR": "true",
    NFD + "cpu-cpuid.LAHF": "true",
    NFD + "cpu-cpuid.SYSCALL": "true",
    NFD + "cpu-cpuid.X87": "true",
    NFD + "cpu-model.family": "15",
    NFD + "cpu-model.id": "6",
    NFD + "cpu-model.vendor_id": "Intel",
    NFD + "kernel-version.major": "5",
}
NFD_HOST = {
    NFD + f"cpu-cpuid.{f}": "true"
    for f in (
        "ADX",
        "AESNI",
        "AVX",
        "AVX2",
        "AVX512BW",
        "AVX512CD",
        "AVX512DQ",
        "AVX512F",
        "AVX512VL",
        "CMPXCHG8",
        "FMA3",
        "FXSR",
        "HYPERVISOR",
        "MOVBE",
        "OSXSAVE",
        "SHA",
        "SYSCALL",
        "X87",
    )
} | {
    NFD + "cpu-model.family": "6",
    NFD + "cpu-model.id": "106",
    NFD + "cpu-model.vendor_id": "Intel",
    NFD + "kernel-version.major": "5",
}


def windows_linux_image() -> Story:
    st = Story(
        "windows-node-linux-image",
        context="aks-shop-prod",
        server="https://aks-shop-prod-dns-4f1c0e8b.hcp.westeurope.azmk8s.io:443",
        kubelet="v1.29.4",
    )
    lin = [aks_node(st, "system", "Standard_D4s_v5", "amd64", "2024-05-02T07:1%d:00Z" % i, i) for i in range(2)]
    win = []
    for i in range(2):
        n = st.node(
            name=f"aksnpwin00000{i}",
            arch="amd64",
            pool="npwin",
            itype="Standard_D4s_v3",
            created=T("2024-05-20T10:0%d:00Z" % i),
            runtime="containerd://1.6.26+azure",
            kernel="10.0.17763.5820",
            os_image="Windows Server 2019 Datacenter",
            provider="aks",
            ip=f"10.224.0.{40 + i}",
            zone="westeurope-1",
        )
        n.os = "windows"
        win.append(n)
    now = T("2024-06-18T11:20:00Z")
    snap = st.snapshot(now)
    aks_system(st, snap, lin, "2024-05-02T07:20:00Z")
    nginx = multi(
        st,
        "nginx:1.27.0",
        ["amd64", "arm64", "arm/v7", "386", "ppc64le", "s390x"],
        "2024-06-03T21:40:00Z",
        entry=["/docker-entrypoint.sh"],
    )
    why = (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.27.0": '
        "no match for platform in manifest: not found"
    )

    def front(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        if n.os == "windows":
            return {"nginx": Wait("ImagePullBackOff", 'Back-off pulling image "nginx:1.27.0"')}
        return None

    _, _, pods = deploy(
        st,
        snap,
        "shop",
        "storefront",
        [C("nginx", nginx, ports=[80])],
        "2024-06-17T14:00:00Z",
        [lin[0], win[0], lin[1], win[1]],
        state=front,
        lines=("start worker processes",),
    )
    for p in pods:
        if p.node is not None and p.node.os == "windows":
            pull_events(snap, p, "nginx", "nginx:1.27.0", why)
    ltsc2022 = cfg_of(st, "amd64", "2024-06-11T08:00:00Z", os_name="windows", entrypoint=["C:\\app\\BillingApi.exe"])
    ltsc2019 = cfg_of(st, "amd64", "2024-06-11T08:00:00Z", os_name="windows", entrypoint=["C:\\app\\BillingApi.exe"])
    billing = custom_index(
        st,
        "acmeshop.azurecr.io/legacy/billing-api:5.2.0",
        [({"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2461"}, ltsc2022)],
    )
    iis = custom_index(
        st,
        "acmeshop.azurecr.io/legacy/intranet:2024.6",
        [
            ({"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5820"}, ltsc2019),
            ({"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2461"}, ltsc2022),
        ],
    )
    hcs = (
        "failed to create containerd task: failed to create shim task: hcs::CreateComputeSystem billing-api: The container "
        "operating system does not match the host operating system.: unknown"
    )
    deploy(
        st,
        snap,
        "legacy",
        "billing-api",
        [C("billing-api", billing, ports=[8080])],
        "2024-06-17T15:30:00Z",
        win,
        state=lambda n, i, pc: {"billing-api": Crash(pc + secs(30), hcs, exit=128, reason="StartError")},
        node_selector={"kubernetes.io/os": "windows"},
    )
    deploy(
        st,
        snap,
        "legacy",
        "intranet",
        [C("iis", iis, ports=[80])],
        "2024-05-21T09:00:00Z",
        win,
        node_selector={"kubernetes.io/os": "windows"},
        lines=("Service 'w3svc' started",),
    )
    st.readme = """
# windows-node-linux-image

**Ticket:** "After we added a Windows node pool, half of the storefront pods hang in ImagePullBackOff, and the
new billing-api build never starts. Do we need multi-arch images?"

- AKS 1.29: a Linux system pool (two amd64 nodes) and a Windows Server 2019 pool `npwin` (two amd64 nodes,
  build 10.0.17763, containerd 1.6). Every node is amd64: this is not an architecture story.
- `shop/storefront` runs `nginx:1.27.0`, a Linux-only index (six Linux platforms), with no
  `kubernetes.io/os` nodeSelector: the scheduler put two of its four pods on the Windows nodes, where
  containerd answers `no match for platform in manifest: not found` and the pods sit in ImagePullBackOff.
- `legacy/billing-api` 5.2.0 was rebuilt on `ltsc2022` (its only index entry has `os.version`
  10.0.20348.2461); the Windows nodes are build 10.0.17763. hcsshim refuses it at start:
  `The container operating system does not match the host operating system.` (StartError, exit 128).
- `legacy/intranet` publishes both builds and runs fine on the same nodes.
- A red herring for "platform error means rebuild for more architectures": the fix is a `kubernetes.io/os`
  nodeSelector (or a taint on the Windows pool) for storefront, and an ltsc2019 build for billing-api.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "platform.os-mismatch",
                "workload": wl_ref("Deployment", "shop", "storefront"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "platform.os-mismatch",
                "workload": wl_ref("Deployment", "legacy", "billing-api"),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("Deployment", "shop", "storefront"),
            wl_ref("Deployment", "legacy", "billing-api"),
            wl_ref("Deployment", "legacy", "intranet"),
        ],
        "no_arch_primary": True,
    }
    return st


def emulation_fault() -> Story:
    st = Story("emulation-fault", context="default", server="https://10.30.0.10:6443", kubelet="v1.31.6+k3s1")
    nodes = []
    for i in range(4):
        n = st.node(
            name=f"altra-{i + 1:02d}",
            arch="arm64",
            pool="",
            itype="k3s",
            created=T("2025-01-0%dT09:00:00Z" % (i + 2)),
            runtime="containerd://1.7.26-k3s1",
            kernel="6.8.0-52-generic",
            os_image="Ubuntu 24.04.1 LTS",
            provider="k3s",
            ip=f"10.30.0.{11 + i}",
        )
        n.binfmt = {"status": BINFMT_STATUS, "register": b"", "qemu-x86_64": TONI_X86_64}
        nodes.append(n)
    now = T("2025-02-14T16:45:00Z")
    snap = st.snapshot(now)
    bf = multi(
        st,
        "tonistiigi/binfmt:qemu-v9.2.0",
        ["amd64", "arm64", "arm/v7", "riscv64", "ppc64le", "s390x", "386"],
        "2025-01-20T00:00:00Z",
    )
    b = st.workload(
        "DaemonSet",
        "kube-system",
        "binfmt",
        [C("install", bf, args=["--install", "amd64"])],
        T("2025-01-06T10:00:00Z"),
        labels={"app": "binfmt"},
        host_network=False,
    )
    b.template_hash = st.rng.safe(9)
    snap.add(b)
    for n in nodes:
        snap.add_pods(st.pod(b, n, b.created + secs(3), {"install": ok(b.created + secs(9), "installing: amd64 OK")}))
    scanner = single(
        st,
        "registry.altra.lab/ci/artifact-scanner:0.9.4",
        "amd64",
        "2024-11-02T10:00:00Z",
        entry=["/usr/local/bin/artifact-scanner"],
        history=buildkit_history(
            "alpine:3.20",
            ["COPY artifact-scanner /usr/local/bin/", "USER 10001"],
            '["/usr/local/bin/artifact-scanner"]',
        ),
    )
    loader = "qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory\n"
    _, _, sp = deploy(
        st,
        snap,
        "ci",
        "artifact-scanner",
        [C("scanner", scanner)],
        "2025-02-14T09:00:00Z",
        nodes[:2],
        state=lambda n, i, pc: {"scanner": Crash(pc + secs(5), loader, exit=255, run_s=0.3)},
    )
    for p in sp:
        snap.crash_events(p, "scanner", since=now - dt.timedelta(hours=1))
    dash = single(
        st,
        "registry.altra.lab/ops/legacy-dashboard:2.3.1",
        "amd64",
        "2023-08-21T12:00:00Z",
        entry=["java", "-jar", "/opt/dashboard.jar"],
        history=buildkit_history(
            "eclipse-temurin:11-jre",
            ["COPY dashboard.jar /opt/", "EXPOSE 8080"],
            '["java","-jar","/opt/dashboard.jar"]',
        ),
    )
    t0 = now - secs(40)

    def dash_state(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any]:
        prev = applog(
            t0 - secs(180),
            "Starting dashboard 2.3.1 on JDK 11 (amd64)",
            "Initializing Spring context...",
            "Loading 412 dashboards from /data",
        )
        return {
            "dashboard": Run(
                t0,
                restarts=9,
                last=term(st, n, 137, "Error", t0 - secs(185), t0 - secs(2)),
                log=applog(t0 + secs(1), "Starting dashboard 2.3.1 on JDK 11 (amd64)"),
                previous_log=prev,
                ready=False,
            )
        }

    _, _, dp = deploy(
        st,
        snap,
        "ops",
        "legacy-dashboard",
        [C("dashboard", dash, ports=[8080], liveness="/actuator/health")],
        "2025-02-13T10:00:00Z",
        nodes[2:4],
        state=dash_state,
    )
    for p in dp:
        snap.pod_event(
            p,
            "Unhealthy",
            f'Liveness probe failed: Get "http://{p.ip}:8080/actuator/health": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)",
            now - secs(3400),
            now - secs(45),
            27,
            "Warning",
            container="dashboard",
        )
        snap.pod_event(
            p,
            "Killing",
            "Container dashboard failed liveness probe, will be restarted",
            now - secs(3390),
            now - secs(42),
            9,
            container="dashboard",
        )
    gitea = multi(st, "docker.gitea.com/gitea:1.23.3-rootless", ["amd64", "arm64"], "2025-02-07T00:00:00Z")
    deploy(
        st,
        snap,
        "ci",
        "gitea",
        [C("gitea", gitea, ports=[3000])],
        "2025-01-08T10:00:00Z",
        [nodes[0]],
        lines=("Starting new Web server: tcp:0.0.0.0:3000",),
    )
    st.readme = """
# emulation-fault

**Ticket:** "We installed qemu on all our Altra nodes so amd64 images would work. Now artifact-scanner
dies immediately and the old dashboard restarts every few minutes. Is qemu broken?"

- k3s 1.31 on four arm64 Ampere Altra servers; a `tonistiigi/binfmt --install amd64` DaemonSet registered
  `qemu-x86_64` (flags POCF) on every node (listings under `nodes/<node>/binfmt_misc/`).
- `ci/artifact-scanner` 0.9.4 is an amd64-only image built `FROM alpine` with a glibc-linked binary.
  Under qemu the emulator itself cannot find the guest's loader:
  `qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory` (exit 255).
  No exec format error anywhere: the runtime did run it, emulated.
- `ops/legacy-dashboard` 2.3.1 (amd64 only, a Spring app on JDK 11) starts under qemu, but emulated it needs
  minutes to start and its liveness probe (1 s timeout) keeps failing: `Liveness probe failed: ... context
  deadline exceeded`, then `Killing`, exit 137. The probe is the primary cause; the emulation contributes.
- `ci/gitea` publishes arm64 and runs natively.
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.emulation-fault",
                "workload": wl_ref("Deployment", "ci", "artifact-scanner"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "liveness-probe",
                "workload": wl_ref("Deployment", "ops", "legacy-dashboard"),
                "latent": False,
                "contributing": ["arch.emulation-fault"],
            },
        ],
        NOARCH: [wl_ref("Deployment", "ci", "gitea"), wl_ref("DaemonSet", "kube-system", "binfmt")],
    }
    return st


def kubeadm_node(st: Story, name: str, pool: str, itype: str, created: str, i: int, labels: dict[str, str]) -> NodeSpec:
    n = st.node(
        name=name,
        arch="amd64",
        pool=pool,
        itype=itype,
        created=T(created),
        runtime="containerd://1.7.22",
        kernel="5.14.0-427.40.1.el9_4.x86_64",
        os_image="Rocky Linux 9.4 (Blue Onyx)",
        provider="kubeadm",
        ip=f"172.16.8.{21 + i}",
    )
    n.labels = {"node.acme.internal/pool": pool} | labels
    return n


def microarch_legacy_cpu() -> Story:
    st = Story(
        "microarch-legacy-cpu", context="kubernetes-admin@dc2", server="https://172.16.8.10:6443", kubelet="v1.30.6"
    )
    old = [
        kubeadm_node(st, f"kvm-legacy-0{i + 1}", "legacy", "kvm-vm", "2023-04-1%dT08:00:00Z" % i, i, NFD_KVM64)
        for i in range(3)
    ]
    new = [
        kubeadm_node(st, f"kvm-icx-0{i + 1}", "icx", "kvm-vm", "2024-09-0%dT08:00:00Z" % (i + 2), 3 + i, NFD_HOST)
        for i in range(3)
    ]
    nodes = old + new
    now = T("2025-01-14T10:20:00Z")
    snap = st.snapshot(now)
    kp = multi(
        st,
        "registry.k8s.io/kube-proxy:v1.30.6",
        ["amd64", "arm64", "ppc64le", "s390x"],
        "2024-10-22T00:00:00Z",
        oci=False,
        with_configs=False,
    )
    nfd = multi(st, "registry.k8s.io/nfd/node-feature-discovery:v0.16.4", ["amd64", "arm64"], "2024-08-30T00:00:00Z")
    ds(
        st,
        snap,
        "kube-system",
        "kube-proxy",
        [C("kube-proxy", kp)],
        nodes,
        "2023-04-10T08:10:00Z",
        ('"Using iptables Proxier"',),
    )
    ds(
        st,
        snap,
        "node-feature-discovery",
        "nfd-worker",
        [C("nfd-worker", nfd, command=["nfd-worker"])],
        nodes,
        "2024-09-05T10:00:00Z",
        ('"feature discovery completed"',),
        host_network=False,
        priority_class=None,
        tolerations=None,
        labels={"app": "nfd-worker"},
    )
    reg = "registry.acme.internal"
    report = single(
        st,
        f"{reg}/data/report-api:3.4.1",
        "amd64",
        "2025-01-09T15:00:00Z",
        oci=True,
        entry=["/opt/app/bin/report-api"],
        labels=UBI9_LABELS,
        history=buildkit_history(
            "registry.access.redhat.com/ubi9/ubi-minimal:9.4",
            ["RUN microdnf install -y java-17-openjdk-headless", "COPY build/ /opt/app/", "USER 1001"],
            '["/opt/app/bin/report-api"]',
        ),
    )
    glibc = "Fatal glibc error: CPU does not support x86-64-v2\n"

    def rep(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        return {"report": Crash(pc + secs(3), glibc, exit=127, run_s=0.1)} if n in old else None

    _, _, rp = deploy(
        st,
        snap,
        "data",
        "report-api",
        [C("report", report, ports=[8080])],
        "2025-01-13T17:00:00Z",
        [new[0], old[0], new[1], old[1]],
        state=rep,
        rs_created="2025-01-13T17:00:00Z",
        lines=("Started ReportApiApplication in 4.2 seconds",),
    )
    for p in rp:
        if p.node in old:
            snap.crash_events(p, "report", since=now - dt.timedelta(hours=1))
    ingest = single(
        st,
        f"{reg}/data/ingest:1.12.0",
        "amd64",
        "2025-01-08T11:00:00Z",
        oci=True,
        entry=["/ingest"],
        history=buildkit_history(
            "golang:1.23",
            ["WORKDIR /src", "COPY . .", "RUN CGO_ENABLED=0 GOAMD64=v3 go build -trimpath -o /ingest ./cmd/ingest"],
            '["/ingest"]',
        ),
    )
    gomsg = "This program can only be run on AMD64 processors with v3 microarchitecture support.\n"

    def ing(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        return {"ingest": Crash(pc + secs(4), gomsg, exit=1, run_s=0.05)} if n in old else None

    _, _, ip = deploy(
        st,
        snap,
        "data",
        "ingest",
        [C("ingest", ingest)],
        "2025-01-10T09:00:00Z",
        [old[2], new[2]],
        state=ing,
        lines=('{"level":"info","msg":"consuming topic events.v2"}',),
    )
    for p in ip:
        if p.node in old:
            snap.crash_events(p, "ingest", since=now - dt.timedelta(hours=1))
    st.foreign = "troubleshoot"
    st.readme = """
# microarch-legacy-cpu

**Ticket (support bundle attached, image inspections in `images/`):** "report-api and ingest crash on some
nodes right after start. Everything is amd64. We already rebuilt report-api `--platform linux/amd64`."

- kubeadm 1.30, all amd64: three KVM guests `kvm-legacy-0*` with the hypervisor's default `kvm64` CPU
  model (no SSE4.2, no AVX: x86-64-v1 as Node Feature Discovery's labels show) and three `kvm-icx-0*` guests
  with host-passthrough on Ice Lake (AVX2, AVX-512: v4).
- `data/report-api` 3.4.1 moved to a UBI 9 base (`ubi9-minimal`, labels in the image config). RHEL 9 is built
  for x86-64-v2: on the legacy guests glibc's loader stops with `Fatal glibc error: CPU does not support
  x86-64-v2` (exit 127); on the Ice Lake guests it runs.
- `data/ingest` 1.12.0 is built with `GOAMD64=v3` (its build history says so): `This program can only be run
  on AMD64 processors with v3 microarchitecture support.` on the legacy guest, fine on the new one.
- The bundle is a Replicated troubleshoot support bundle (`dump/support-bundle-.../`); the image inspections
  come separately (`forensics analyze dump --images images`). The platform matches everywhere: the fix is the
  build's x86-64 level, the VMs' CPU model, or a nodeSelector on NFD labels, not a multi-arch rebuild.
"""
    st.expected = {
        "story": st.name,
        "format": "troubleshoot-bundle",
        "dump": "dump",
        "images": "images",
        "findings": [
            {
                "cause": "arch.microarch-level",
                "workload": wl_ref("Deployment", "data", "report-api"),
                "latent": False,
                "contributing": [],
            },
            {
                "cause": "arch.microarch-level",
                "workload": wl_ref("Deployment", "data", "ingest"),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("DaemonSet", "kube-system", "kube-proxy"),
            wl_ref("DaemonSet", "node-feature-discovery", "nfd-worker"),
        ],
    }
    return st


def ocp_node(st: Story, i: int, arch: str, role: str, created: str) -> NodeSpec:
    a, b = 10 + i % 3, st.rng.int(10, 250)
    kern = "5.14.0-427.22.1.el9_4." + ("aarch64" if arch == "arm64" else "x86_64")
    n = st.node(
        name=f"ip-10-0-{a}-{b}.us-east-2.compute.internal",
        arch=arch,
        pool=f"{role}-{arch}",
        itype="ocp-worker-arm" if arch == "arm64" else "ocp-worker-x86",
        created=T(created),
        runtime="cri-o://1.29.5-5.rhaos4.16.git7032128.el9",
        kernel=kern,
        os_image="Red Hat Enterprise Linux CoreOS 416.94.202406172220-0",
        provider="kubeadm",
        ip=f"10.0.{a}.{b}",
    )
    n.labels = {
        f"node-role.kubernetes.io/{role}": "",
        "node.openshift.io/os_id": "rhcos",
        "machine.openshift.io/instance-type": "m6g.xlarge" if arch == "arm64" else "m6i.xlarge",
    }
    return n


def lying_index() -> Story:
    st = Story("lying-index", context="admin", server="https://api.prod.acme.example:6443", kubelet="v1.29.5+29c95f3")
    masters = [ocp_node(st, i, "amd64", "master", "2024-05-02T08:0%d:00Z" % i) for i in range(3)]
    wx = [ocp_node(st, 3 + i, "amd64", "worker", "2024-05-02T08:3%d:00Z" % i) for i in range(2)]
    wa = [ocp_node(st, 5 + i, "arm64", "worker", "2024-08-20T13:0%d:00Z" % i) for i in range(2)]
    now = T("2024-09-03T12:40:00Z")
    snap = st.snapshot(now)
    mto = multi(
        st,
        "registry.redhat.io/multiarch-tuning/multiarch-tuning-rhel9-operator@sha256:" + st.rng.hex(64),
        ["amd64", "arm64", "ppc64le", "s390x"],
        "2024-07-30T00:00:00Z",
    )
    deploy(
        st,
        snap,
        "openshift-multiarch-tuning-operator",
        "pod-placement-controller",
        [C("manager", mto)],
        "2024-08-21T09:00:00Z",
        masters[:1],
        lines=('"Starting workers" controller="pod-placement-controller"',),
    )
    scorer_amd = cfg_of(st, "amd64", "2024-08-29T18:02:00Z", entrypoint=["/usr/local/bin/fraud-scorer"])
    scorer_lie = cfg_of(st, "amd64", "2024-08-29T18:02:00Z", entrypoint=["/usr/local/bin/fraud-scorer"])
    scorer = custom_index(
        st,
        "quay.io/acme/fraud-scorer:2.3.0",
        [
            ({"architecture": "amd64", "os": "linux"}, scorer_amd),
            ({"architecture": "arm64", "os": "linux"}, scorer_lie),
        ],
    )
    line = "exec /usr/local/bin/fraud-scorer: exec format error\n"
    placed = {
        "multiarch.openshift.io/multi-arch": "",
        "multiarch.openshift.io/amd64": "",
        "multiarch.openshift.io/arm64": "",
        "multiarch.openshift.io/node-affinity": "set",
        "multiarch.openshift.io/scheduling-gate": "removed",
    }

    def sc(n: NodeSpec, i: int, pc: dt.datetime) -> dict[str, Any] | None:
        return {"scorer": Crash(pc + secs(4), line, exit=255)} if n in wa else None

    _, _, pods = deploy(
        st,
        snap,
        "payments",
        "fraud-scorer",
        [C("scorer", scorer, ports=[8443])],
        "2024-09-02T16:00:00Z",
        [wx[0], wa[0], wx[1], wa[1]],
        state=sc,
        lines=("fraud-scorer 2.3.0 listening on :8443",),
    )
    for p in pods:
        p.labels = dict(placed)
        if p.node in wa:
            p.labels["multiarch.openshift.io/exec-format-error"] = "true"
            snap.crash_events(p, "scorer", since=now - dt.timedelta(hours=1))
            snap.pod_event(
                p,
                "ExecFormatError",
                'Container "scorer" is running a binary ("/usr/local/bin/fraud-scorer") that is not compatible with the '
                "node architecture (arm64). This is likely due to an error in the image build process or a "
                "misconfiguration in other scripts used by the container. Please ensure that the container image "
                "is built for the correct architecture and that any scripts or binaries used within the container "
                "are compatible with the architectures supported by the image.",
                now - secs(2900),
                now - secs(60),
                14,
                "Warning",
                container="scorer",
            )
    web = multi(st, "quay.io/acme/payments-web:5.0.1", ["amd64", "arm64"], "2024-08-30T10:00:00Z")
    _, _, wp = deploy(
        st,
        snap,
        "payments",
        "payments-web",
        [C("web", web, ports=[8080])],
        "2024-09-01T10:00:00Z",
        [wa[0], wx[0]],
        lines=("payments-web ready",),
    )
    for p in wp:
        p.labels = dict(placed)
    st.foreign = "must-gather"
    st.readme = """
# lying-index

**Ticket (must-gather attached, image inspections in `images/`):** "fraud-scorer crash-loops on our new
Graviton workers with exec format error, but `oc image info` shows the tag has arm64! The multiarch tuning
operator even pinned it to amd64+arm64."

- OpenShift 4.16 with multi-arch compute: three amd64 masters, two amd64 and two arm64 (m6g) workers, CRI-O.
  The multiarch tuning operator is installed: it labels pods with the architectures their images support
  (`multiarch.openshift.io/amd64`, `.../arm64`, `multi-arch`) and its ENOEXEC monitor adds
  `multiarch.openshift.io/exec-format-error=true` and an `ExecFormatError` event.
- `quay.io/acme/fraud-scorer:2.3.0` is an index with linux/amd64 and linux/arm64 entries, but the arm64
  entry's image config says `architecture: amd64` (the CI job pushed the amd64 build twice). The dump holds
  both child configs (`images/<slug>/configs/`), which is how the lie shows (what `crane validate` checks).
- Pods on the arm64 workers: `exec /usr/local/bin/fraud-scorer: exec format error`; on the amd64 workers the
  same image runs. `payments/payments-web` is a genuine multi-arch image and runs on both.
- The dump is an `oc adm must-gather` tree (`dump/must-gather.local.*/`); image inspections are passed with
  `--images images`.
"""
    st.expected = {
        "story": st.name,
        "format": "must-gather",
        "dump": "dump",
        "images": "images",
        "findings": [
            {
                "cause": "arch.index-entry-mismatch",
                "workload": wl_ref("Deployment", "payments", "fraud-scorer"),
                "latent": False,
                "contributing": [],
            }
        ],
        NOARCH: [
            wl_ref("Deployment", "payments", "payments-web"),
            wl_ref("Deployment", "openshift-multiarch-tuning-operator", "pod-placement-controller"),
        ],
    }
    return st


def entrypoint_crlf() -> Story:
    st = Story(
        "entrypoint-crlf", context="kubernetes-admin@build", server="https://192.168.50.10:6443", kubelet="v1.31.2"
    )
    x86 = [
        onprem_node(st, f"x86-0{i + 1}", "amd64", "x86", "bare-x86", "2024-03-0%dT08:00:00Z" % (i + 4), i)
        for i in range(2)
    ]
    arm = [
        onprem_node(st, f"arm-0{i + 1}", "arm64", "arm", "bare-arm", "2024-06-1%dT08:00:00Z" % i, 2 + i)
        for i in range(2)
    ]
    for n in x86 + arm:
        n.runtime = "containerd://1.7.22"
    now = T("2024-11-20T09:15:00Z")
    snap = st.snapshot(now)
    harbor = "harbor.acme.internal"
    worker = multi(
        st, f"{harbor}/web/worker:2024.11.3", ["amd64", "arm64"], "2024-11-19T17:00:00Z", entry=["/entrypoint.sh"]
    )
    thumbs = multi(
        st,
        f"{harbor}/web/thumbnailer:1.9.0",
        ["amd64", "arm64"],
        "2024-11-18T12:00:00Z",
        entry=["/docker-entrypoint.sh"],
    )
    api = multi(st, f"{harbor}/web/api:7.2.0", ["amd64", "arm64"], "2024-11-12T10:00:00Z", entry=["/api"])
    noshebang = "exec /entrypoint.sh: exec format error\n"
    _, _, wp = deploy(
        st,
        snap,
        "web",
        "worker",
        [C("worker", worker)],
        "2024-11-20T07:30:00Z",
        [x86[0], arm[0], x86[1]],
        state=lambda n, i, pc: {"worker": Crash(pc + secs(3), noshebang, exit=255)},
    )
    crlf = "/usr/bin/env: 'bash\\r': No such file or directory\n"
    _, _, tp = deploy(
        st,
        snap,
        "web",
        "thumbnailer",
        [C("thumbnailer", thumbs)],
        "2024-11-19T08:00:00Z",
        [arm[1], x86[0]],
        state=lambda n, i, pc: {"thumbnailer": Crash(pc + secs(3), crlf, exit=127)},
    )
    for p in wp + tp:
        snap.crash_events(p, p.wl.containers[0].name, since=now - dt.timedelta(hours=1))
    deploy(
        st,
        snap,
        "web",
        "api",
        [C("api", api, ports=[8080])],
        "2024-11-12T11:00:00Z",
        [x86[1], arm[1]],
        lines=("api 7.2.0 listening on :8080",),
    )
    st.foreign = "cluster-info"
    st.foreign_images = False
    st.readme = """
# entrypoint-crlf

**Ticket (`kubectl cluster-info dump` attached, nothing else):** "exec format error on both our x86 and our
arm nodes since this morning's release. Our images are multi-arch! Is it the new arm nodes?"

- kubeadm 1.31, two amd64 and two arm64 bare-metal nodes, containerd 1.7.
- `web/worker` 2024.11.3: the release replaced `/entrypoint.sh` with a version that lost its `#!/bin/sh`
  line. execve gives ENOEXEC, runc says `exec /entrypoint.sh: exec format error`, on the amd64 *and* the
  arm64 nodes alike. No architecture explains an image failing the same way on both.
- `web/thumbnailer` 1.9.0 was built on a Windows laptop: its `#!/usr/bin/env bash` line ends in CRLF, and
  env says `/usr/bin/env: 'bash\\r': No such file or directory` (exit 127).
- The dump is a plain `kubectl cluster-info dump` (`dump/cluster-info/`): no image inspections, no previous
  logs. The analyzer cannot confirm the images' platforms; the worker finding says so and its confidence is
  lowered. `web/api` runs on both architectures.
"""
    st.expected = {
        "story": st.name,
        "format": "kubectl-cluster-info-dump",
        "dump": "dump",
        "findings": [
            {
                "cause": "entrypoint-not-executable",
                "workload": wl_ref("Deployment", "web", "worker"),
                "latent": False,
                "contributing": [],
                "max_confidence": 0.6,
                "missing_evidence": "no image inspection",
            },
            {
                "cause": "entrypoint-not-executable",
                "workload": wl_ref("Deployment", "web", "thumbnailer"),
                "latent": False,
                "contributing": [],
            },
        ],
        NOARCH: [
            wl_ref("Deployment", "web", "worker"),
            wl_ref("Deployment", "web", "thumbnailer"),
            wl_ref("Deployment", "web", "api"),
        ],
        "no_arch_primary": True,
    }
    return st


def arm32_edge() -> Story:
    st = Story("arm32-edge", context="edge-fleet", server="https://10.60.0.2:6443", kubelet="v1.30.8+k3s1")
    pis = []
    for i in range(3):
        n = st.node(
            name=f"shelf-pi-{i + 1:02d}",
            arch="arm",
            pool="shelf",
            itype="rpi4",
            created=T("2024-02-1%dT08:00:00Z" % i),
            runtime="containerd://1.7.23-k3s2",
            kernel="6.6.51+rpt-rpi-v7l",
            os_image="Raspbian GNU/Linux 12 (bookworm)",
            provider="k3s",
            ip=f"10.60.1.{11 + i}",
        )
        n.labels = {"node.acme.io/site": "store-0417"}
        pis.append(n)
    grav = [
        eks_node(st, i, "arm64", "edge-hub", "m6g.xlarge", "2024-05-0%dT10:00:00Z" % (i + 1), zone_ix=i)
        for i in range(2)
    ]
    for n in grav:
        n.provider, n.runtime, n.kubelet = "k3s", "containerd://1.7.23-k3s2", "v1.30.8+k3s1"
    now = T("2024-10-08T07:50:00Z")
    snap = st.snapshot(now)
    kl = multi(
        st,
        "rancher/klipper-lb:v0.4.9",
        ["amd64", "arm", "arm64"],
        "2024-08-10T10:00:00Z",
        oci=False,
        with_configs=False,
    )
    ds(
        st,
        snap,
        "kube-system",
        "svclb-traefik-1f2e3d4c",
        [C("lb-tcp-80", kl)],
        pis + grav,
        "2024-02-10T08:05:00Z",
        ("+ trap exit TERM INT",),
        labels={"app": "svclb-traefik-1f2e3d4c"},
    )
    gw = single(
        st,
        "ghcr.io/acme-retail/sensor-gateway:4.0.0",
        "arm64",
        "2024-10-07T15:00:00Z",
        entry=["/sensor-gateway"],
        history=buildkit_history(
            "gcr.io/distroless/static-debian12", ["COPY sensor-gateway /", "USER 65532"], '["/sensor-gateway"]'
        ),
    )
    w = st.workload(
        "DaemonSet",
        "retail",
        "sensor-gateway",
        [C("gateway", gw)],
        T("2024-10-07T16:00:00Z"),
        labels={"app": "sensor-gateway"},
    )
    w.template_hash = st.rng.safe(9)
    snap.add(w)
    for n in pis + grav:
        pc = max(w.created, n.created) + secs(4)
        state = (
            Crash(pc + secs(3), runc_exec_line("/sensor-gateway"), exit=255)
            if n.arch == "arm"
            else ok(pc + secs(6), "sensor-gateway 4.0.0 (linux/arm64) polling 24 sensors")
        )
        p = st.pod(w, n, pc, {"gateway": state})
        snap.add_pods(p)
        if n.arch == "arm":
            snap.crash_events(p, "gateway", since=now - dt.timedelta(hours=1))
    shelf = multi(st, "ghcr.io/acme-retail/shelf-display:2.2.1", ["arm/v6", "arm64", "amd64"], "2024-09-02T09:00:00Z")
    deploy(
        st,
        snap,
        "retail",
        "shelf-display",
        [C("display", shelf)],
        "2024-09-03T08:00:00Z",
        pis[:2],
        lines=("shelf-display 2.2.1 (linux/arm/v6) rendering on :0",),
    )
    st.readme = """
# arm32-edge

**Ticket:** "The new sensor-gateway 4.0.0 works on the hub but crash-loops on every shelf Pi. It is an ARM
image and the Pis are ARM!"

- k3s 1.30 at a store: three Raspberry Pi 4 shelf nodes running 32-bit Raspbian (`kubernetes.io/arch: arm`,
  i.e. linux/arm/v7) and two Graviton (m6g, arm64) hub nodes.
- `retail/sensor-gateway` 4.0.0 was built for linux/arm64 only (a single manifest). arm64 is not arm: a
  32-bit userland cannot run an AArch64 binary, so on the Pis `exec /sensor-gateway: exec format error`;
  on the Graviton hubs it runs. The finding must name the nodes' variant (arm/v7), not just "arm".
- `retail/shelf-display` publishes linux/arm/v6: an arm/v7 CPU runs arm/v6 binaries, so it is healthy on
  the Pis (the join compares variants, it does not demand equality).
"""
    st.expected = {
        "story": st.name,
        "findings": [
            {
                "cause": "arch.single-arch-image",
                "workload": wl_ref("DaemonSet", "retail", "sensor-gateway"),
                "latent": False,
                "contributing": ["arch.mixed-arch-no-affinity"],
            }
        ],
        NOARCH: [
            wl_ref("Deployment", "retail", "shelf-display"),
            wl_ref("DaemonSet", "kube-system", "svclb-traefik-1f2e3d4c"),
        ],
    }
    return st


# ----------------------------------------------------------------------------- foreign formats
# A story with `foreign` set is written as format v1 to a scratch folder, then converted into the
# layout another tool writes (under `<story>/dump/`), with the image inspections, when kept, in
# `<story>/images/` for `--images`. Only the last snapshot is converted: these formats hold one.

_LIST = {
    "nodes": "NodeList",
    "pods": "PodList",
    "events": "EventList",
    "deployments": "DeploymentList",
    "replicasets": "ReplicaSetList",
    "daemonsets": "DaemonSetList",
    "statefulsets": "StatefulSetList",
    "jobs": "JobList",
    "cronjobs": "CronJobList",
}
_API = {"pods": "v1", "events": "v1", "nodes": "v1", "jobs": "batch/v1", "cronjobs": "batch/v1"}


def _v1_objects(v1: Path) -> tuple[str, dict[str, list[dict[str, Any]]], list[tuple[str, str, str, bool, bytes]]]:
    snap = max(p.name for p in (v1 / "snapshots").iterdir())
    base = v1 / "snapshots" / snap
    objs = {
        k: json.loads((base / f"{k}.json").read_text())["items"] if (base / f"{k}.json").is_file() else []
        for k in KINDS
    }
    logs = []
    for f in sorted((base / "logs").rglob("*.log")) if (base / "logs").is_dir() else []:
        ns, pod = f.parent.parent.name, f.parent.name
        prev = f.name.endswith(".previous.log")
        logs.append((ns, pod, f.name[: -len(".previous.log")] if prev else f.name[:-4], prev, f.read_bytes()))
    return snap, objs, logs


def _by_ns(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        out.setdefault(it["metadata"].get("namespace", "default"), []).append(it)
    return dict(sorted(out.items()))


def write_troubleshoot(v1: Path, dest: Path, at: dt.datetime) -> None:
    """A Replicated support bundle folder (troubleshoot 0.9x: List objects, indent 2)."""
    _, objs, logs = _v1_objects(v1)
    root = dest / f"support-bundle-{at:%Y-%m-%dT%H_%M_%S}"

    def put(rel: str, data: bytes) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    def lst(kind: str, items: list[dict[str, Any]]) -> bytes:
        return json.dumps(
            {
                "kind": _LIST[kind],
                "apiVersion": _API.get(kind, "apps/v1"),
                "metadata": {"resourceVersion": "48213377"},
                "items": items,
            },
            indent=2,
        ).encode()

    put(
        "version.yaml",
        b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundleVersion\nspec:\n  versionNumber: 0.107.1\n",
    )
    put("cluster-resources/nodes.json", lst("nodes", objs["nodes"]))
    for kind in KINDS[1:]:
        for ns, items in _by_ns(objs[kind]).items():
            put(f"cluster-resources/{kind}/{ns}.json", lst(kind, items))
    for ns, pod, c, prev, data in logs:
        put(f"cluster-resources/pods/logs/{ns}/{pod}/{c}{'-previous' if prev else ''}.log", data)


def _go_time(t: dt.datetime, mono: float) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}381 +0000 UTC m=+{mono:.9f}"


def write_mustgather(v1: Path, dest: Path, at: dt.datetime) -> None:
    """An `oc adm must-gather` tree: YAML per namespace and group, `--timestamps` logs, a timestamp file."""
    _, objs, logs = _v1_objects(v1)
    top = "must-gather.local.7185926503391418306"
    wrap = (
        f"{top}/quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-"
        + hashlib.sha256(b"must-gather 4.16").hexdigest()
    )
    root = dest / wrap

    def put(rel: str, data: bytes) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    stamp = f"{_go_time(at - secs(38), 0.003117)}\n{_go_time(at, 38.2)}\n".encode()
    put("timestamp", stamp)
    (dest / top / "timestamp").write_bytes(stamp)
    for node in objs["nodes"]:
        put(
            f"cluster-scoped-resources/core/nodes/{node['metadata']['name']}.yaml",
            yaml.safe_dump({"apiVersion": "v1", "kind": "Node", **node}, width=200).encode(),
        )
    groups = {
        "pods": "core",
        "events": "core",
        "deployments": "apps",
        "replicasets": "apps",
        "daemonsets": "apps",
        "statefulsets": "apps",
        "jobs": "batch",
        "cronjobs": "batch",
    }
    for kind in KINDS[1:]:
        for ns, items in _by_ns(objs[kind]).items():
            doc = {
                "apiVersion": _API.get(kind, "apps/v1"),
                "items": items,
                "kind": _LIST[kind],
                "metadata": {"resourceVersion": "48213377"},
            }
            put(f"namespaces/{ns}/{groups[kind]}/{kind}.yaml", yaml.safe_dump(doc, width=200).encode())
    end = at - secs(45)
    for ns, pod, c, prev, data in logs:
        lines = data.decode("utf-8", "replace").splitlines()
        stamped = []
        for i, ln in enumerate(lines):
            t = end - secs(len(lines) - 1 - i)
            stamped.append(f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}000Z {ln}")
        put(
            f"namespaces/{ns}/pods/{pod}/{c}/{c}/logs/{'previous' if prev else 'current'}.log",
            ("\n".join(stamped) + "\n").encode() if stamped else b"",
        )


def write_clusterinfo(v1: Path, dest: Path) -> None:
    """`kubectl cluster-info dump -A --output-directory`: JSON lists, current logs only, in blocks."""
    _, objs, logs = _v1_objects(v1)
    root = dest / "cluster-info"

    def put(rel: str, data: bytes) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    def lst(kind: str, items: list[dict[str, Any]]) -> bytes:
        return kubectl_json(
            {
                "apiVersion": "v1",
                "items": items,
                "kind": _LIST.get(kind, "List"),
                "metadata": {"resourceVersion": "9127734"},
            }
        )

    put("nodes.json", lst("nodes", objs["nodes"]))
    namespaces = sorted({it["metadata"]["namespace"] for k in KINDS[1:] for it in objs[k]})
    for ns in namespaces:
        for kind, fname in (
            ("events", "events"),
            ("replicationcontrollers", "replication-controllers"),
            ("services", "services"),
            ("daemonsets", "daemonsets"),
            ("deployments", "deployments"),
            ("replicasets", "replicasets"),
            ("pods", "pods"),
        ):
            items = [it for it in objs.get(kind, []) if it["metadata"]["namespace"] == ns]
            put(f"{ns}/{fname}.json", lst(kind, items))
    current: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for ns, pod, c, prev, data in logs:
        if not prev:
            current.setdefault((ns, pod), []).append((c, data))
    for (ns, pod), cs in sorted(current.items()):
        body = b""
        for c, data in cs:
            body += f"==== START logs for container {c} of pod {ns}/{pod} ====\n".encode() + data
            body += f"==== END logs for container {c} of pod {ns}/{pod} ====\n".encode()
        put(f"{ns}/{pod}/logs.txt", body)


def write_story(st: Story, out: Path) -> None:
    """Write one story: format v1 in place, or a foreign layout (with `images/` for `--images`)."""
    if not getattr(st, "foreign", None):
        Writer(st, out).write()
        return
    scratch = out / f".scratch-{st.name}"
    w = Writer(st, scratch)
    w.write()
    v1 = scratch / st.name
    dest = out / st.name
    if dest.exists():
        shutil.rmtree(dest)
    dump = dest / "dump"
    dump.mkdir(parents=True)
    at = T(yaml.safe_load((v1 / "forensics-dump.yaml").read_text())["collected_at"])
    {
        "troubleshoot": lambda: write_troubleshoot(v1, dump, at),
        "must-gather": lambda: write_mustgather(v1, dump, at),
        "cluster-info": lambda: write_clusterinfo(v1, dump),
    }[st.foreign]()
    if getattr(st, "foreign_images", True) and (v1 / "images").is_dir():
        shutil.copytree(v1 / "images", dest / "images")
    for f in ("README.md", "expected.yaml"):
        shutil.copy(v1 / f, dest / f)
    shutil.rmtree(scratch)


STORIES = [
    graviton_new_pool,
    laptop_build,
    index_without_arm64,
    lost_multiarch_tag,
    binfmt_emulation,
    mixed_no_affinity,
    healthy_mixed,
    hostile,
    not_arch,
    windows_linux_image,
    emulation_fault,
    microarch_legacy_cpu,
    lying_index,
    entrypoint_crlf,
    arm32_edge,
    scheduling,
    new_nodes_not_ready_for_apps,
]


def main(argv: list[str] | None = None) -> None:
    """Write every story under `--out` (default: next to this script, i.e. the committed dumps)."""
    ap = argparse.ArgumentParser(description="Generate the bundled sample dumps deterministically.")
    ap.add_argument("--out", type=Path, default=ROOT, help="directory to write the story folders into")
    out = ap.parse_args(argv).out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for make in STORIES:
        write_story(make(), out)
    tarball(out / "graviton-new-pool", out / "graviton-new-pool.tar.gz")


if __name__ == "__main__":
    main()
