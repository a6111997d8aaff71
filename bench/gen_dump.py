#!/usr/bin/env python3
"""Write a synthetic format-v1 dump of a big cluster, for the load benchmark and smoke tests.

The objects copy the size and shape of real `kubectl get <kind> -A -o json` output (see
tests/fixtures/realdata/operator-experiments/ and troubleshoot/): sorted keys, 4-space indent,
`kind: List` envelopes, pods with labels, annotations, ownerReferences and managedFields
(5-10 KB of JSON each), EKS-shaped amd64/arm64 nodes, image inspections that are raw OCI indexes
with BuildKit attestation entries, Docker manifest lists and single manifests with their configs.

The story inside: most workloads run where their images allow, but a few deployments of
amd64-only images have no arch nodeSelector; their pods that landed on arm64 nodes crash with
`exec /app: exec format error`. About `--restart-fraction` of all containers are restarting, each
with a current and a previous log.

Output is streamed: each JSON list is written item chunk by item chunk into a temp file in a
private temp dir, then added to the tar; nothing holds a whole list. The tar and gzip headers carry
fixed times, so the same arguments and `--seed` give the same bytes.

    python bench/gen_dump.py --pods 150000 --nodes 5000 --out /tmp/dump-150k.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import msgspec
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from forensics.knowledge.manifests import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
)
from forensics.read import layout

CHUNK = 256
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.String alphabet
ARCHES = ("amd64", "arm64")

WORDS = (
    "api",
    "auth",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "search",
    "ledger",
    "orders",
    "payments",
    "profile",
    "ranking",
    "render",
    "report",
    "gateway",
    "notify",
    "inventory",
    "pricing",
    "quote",
    "session",
    "shipping",
    "tax",
    "upload",
    "worker",
    "feed",
    "geo",
    "media",
    "metrics",
    "audit",
    "risk",
)
TEAMS = ("core", "growth", "platform", "data", "ml", "infra", "mobile", "web", "finance", "ops")
REGISTRIES = (
    "123456789012.dkr.ecr.us-west-2.amazonaws.com",
    "ghcr.io/example-org",
    "quay.io/example",
    "registry.example.internal:5000",
    "docker.io/examplecorp",
)
AMD64_TYPES = ("m5.2xlarge", "m6i.4xlarge", "c5.4xlarge", "r6i.2xlarge", "m5.8xlarge")
ARM64_TYPES = ("m6g.4xlarge", "c7g.4xlarge", "m7g.2xlarge", "r6g.2xlarge", "hpc7g.16xlarge")
ENTRYPOINTS = ("/app", "/app", "/app", "/usr/local/bin/server", "/docker-entrypoint.sh")
DAEMONSETS = (  # (namespace, name, container, image ref) - all multi-arch, as the real ones are
    ("kube-system", "aws-node", "aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.16.0"),
    (
        "kube-system",
        "kube-proxy",
        "kube-proxy",
        "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.29.0-minimal-eksbuild.1",
    ),
    ("kube-system", "ebs-csi-node", "ebs-plugin", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.26.1"),
    ("logging", "fluent-bit", "fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:2.2.2"),
    ("monitoring", "node-exporter", "node-exporter", "quay.io/prometheus/node-exporter:v1.7.0"),
    (
        "kube-system",
        "aws-efa-k8s-device-plugin-daemonset",
        "aws-efa-k8s-device-plugin",
        "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.4.4",
    ),
)
SIDECARS = ("docker.io/envoyproxy/envoy:v1.29.1", "docker.io/istio/proxyv2:1.20.3")

_enc = msgspec.json.Encoder(order="sorted")


class Image(NamedTuple):
    ref: str
    digest: str  # what the kubelet reports in imageID: the manifest (list) digest
    arches: tuple[str, ...]
    entrypoint: str
    kind: str = ""  # "index" (index or Docker list) or "manifest" (a bare single-platform manifest)


class Workload(NamedTuple):
    kind: str  # Deployment, DaemonSet, StatefulSet, Job
    namespace: str
    name: str
    uid: str
    rs_name: str  # ReplicaSet name for deployments, else ""
    rs_uid: str
    images: tuple[int, ...]  # main container first, then sidecars
    arch_selector: str  # "" or the arch of a nodeSelector
    replicas: int
    owner: str  # CronJob name for jobs
    template: dict[str, Any]  # shared pod template parts


class PodModel(NamedTuple):
    index: int
    workload: int
    name: str
    node: int
    # per container: "" (fine), "exec" (exec format error), "pull" (the image's index lacks the node's
    # platform: the pull fails, nothing starts), "app" (app crash; OOMKilled when index % 5 == 0)
    crash: tuple[str, ...]


class Model(NamedTuple):
    nodes: list[tuple[str, str, str]]  # name, arch, instance type
    images: list[Image]
    workloads: list[Workload]
    pods: list[PodModel]
    cronjobs: list[tuple[str, str, str]]  # namespace, name, uid


# ----------------------------------------------------------------------------- small helpers


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _suffix(i: int, length: int = 5, salt: int = 0) -> str:
    """A kube-style random-looking suffix that is unique per `i`: a bijection of i mod 27**length."""
    n = len(SUFFIX_ALPHABET)
    v = (i * 1_000_003 + salt * 7919 + 12345) % n**length
    out = []
    for _ in range(length):
        v, r = divmod(v, n)
        out.append(SUFFIX_ALPHABET[r])
    return "".join(out)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ip(i: int, base: int = 10) -> str:
    return f"{base}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- the cluster model


def build_model(
    rng: random.Random, n_pods: int, n_nodes: int, n_images: int, arm64_fraction: float, restart_fraction: float
) -> Model:
    """Decide every object once (names, placement, crashes); rendering per snapshot reads this."""
    nodes = []
    for i in range(n_nodes):
        arch = "arm64" if rng.random() < arm64_fraction else "amd64"
        itype = rng.choice(ARM64_TYPES if arch == "arm64" else AMD64_TYPES)
        nodes.append((f"ip-{_ip(i + 4096, 10).replace('.', '-')}.us-west-2.compute.internal", arch, itype))
    by_arch = {a: [i for i, n in enumerate(nodes) if n[1] == a] for a in ARCHES}
    if not by_arch["arm64"] and n_nodes > 1:
        nodes[-1] = (nodes[-1][0], "arm64", ARM64_TYPES[0])
        by_arch = {a: [i for i, n in enumerate(nodes) if n[1] == a] for a in ARCHES}

    images: list[Image] = []
    for ref in [d[3] for d in DAEMONSETS] + list(SIDECARS):
        images.append(Image(ref, "", ("amd64", "arm64"), "/usr/local/bin/entry"))
    n_fixed = len(images)
    for i in range(max(n_images - n_fixed, 1)):
        team = TEAMS[i % len(TEAMS)]
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}"
        ref = f"{REGISTRIES[i % len(REGISTRIES)]}/{team}/{name}:v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        r = rng.random()
        arches: tuple[str, ...] = ("amd64", "arm64") if r < 0.6 else ("arm64",) if r < 0.65 else ("amd64",)
        images.append(Image(ref, "", arches, rng.choice(ENTRYPOINTS)))

    workloads: list[Workload] = []
    cronjobs: list[tuple[str, str, str]] = []
    pods: list[PodModel] = []
    n_ns = max(2, n_pods // 500)
    namespaces = [f"{TEAMS[i % len(TEAMS)]}-{WORDS[(i * 7) % len(WORDS)]}-{i}" for i in range(n_ns)]

    n_ds = max(1, min(len(DAEMONSETS), int(n_pods * 0.25) // max(n_nodes, 1)))
    for d in range(n_ds):
        ns, name = DAEMONSETS[d][:2]
        workloads.append(Workload("DaemonSet", ns, name, _uid(rng), "", "", (d,), "", n_nodes, "", {}))
    ds_pods = n_ds * n_nodes
    rest = max(n_pods - ds_pods, 0)
    n_sts_pods = rest // 100
    n_job_pods = rest // 100
    n_deploy_pods = rest - n_sts_pods - n_job_pods

    def user_workload(kind: str, replicas: int, image: int, name: str, broken: bool, owner: str = "") -> None:
        ns = rng.choice(namespaces)
        imgs = [image]
        if kind == "Deployment" and rng.random() < 0.3:
            imgs.append(len(DAEMONSETS) + rng.randrange(len(SIDECARS)))
        arches = images[image].arches
        selector = "" if broken or len(arches) > 1 else arches[0]
        rs_name = f"{name}-{_suffix(len(workloads), 10, 3)}" if kind == "Deployment" else ""
        workloads.append(
            Workload(
                kind,
                ns,
                name,
                _uid(rng),
                rs_name,
                _uid(rng) if rs_name else "",
                tuple(imgs),
                selector,
                replicas,
                owner,
                {},
            )
        )

    next_image = n_fixed
    amd64_only = 0
    remaining = n_deploy_pods
    while remaining > 0:
        replicas = min(remaining, max(1, int(rng.expovariate(1 / 20))))
        remaining -= replicas
        img = next_image
        next_image = n_fixed + (next_image + 1 - n_fixed) % (len(images) - n_fixed)
        # every 6th deployment of an amd64-only image forgot its arch nodeSelector
        broken = False
        if images[img].arches == ("amd64",):
            broken = amd64_only % 6 == 0
            amd64_only += 1
        user_workload("Deployment", replicas, img, f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{len(workloads)}", broken)
    remaining = n_sts_pods
    while remaining > 0:
        replicas = min(remaining, 3)
        remaining -= replicas
        user_workload(
            "StatefulSet",
            replicas,
            n_fixed + rng.randrange(len(images) - n_fixed),
            f"{rng.choice(WORDS)}-db-{len(workloads)}",
            False,
        )
    for j in range(n_job_pods):
        if j % 3 == 0:
            cj = f"{rng.choice(WORDS)}-cron-{j}"
            user_workload(
                "Job", 1, n_fixed + rng.randrange(len(images) - n_fixed), f"{cj}-{28600000 + j}", False, owner=cj
            )
            cronjobs.append((workloads[-1].namespace, cj, _uid(rng)))
        else:
            user_workload(
                "Job", 1, n_fixed + rng.randrange(len(images) - n_fixed), f"{rng.choice(WORDS)}-batch-{j}", False
            )

    # expected share of exec-format crashes, so that all crashes together make restart_fraction
    placed = []
    for w_i, w in enumerate(workloads):
        for r in range(w.replicas):
            if w.kind == "DaemonSet":
                node = r
            elif w.arch_selector:
                pool = by_arch[w.arch_selector] or by_arch["amd64"] or by_arch["arm64"]
                node = pool[rng.randrange(len(pool))]
            else:
                node = rng.randrange(n_nodes)
            placed.append((w_i, r, node))
    n_containers = sum(len(workloads[w].images) for w, _, _ in placed)
    n_exec = sum(1 for w, _, node in placed if nodes[node][1] not in images[workloads[w].images[0]].arches)
    p_app = max(0.0, restart_fraction * n_containers - n_exec) / max(n_containers - n_exec, 1)

    for idx, (w_i, r, node) in enumerate(placed):
        w = workloads[w_i]
        if w.kind == "Deployment":
            name = f"{w.rs_name}-{_suffix(idx)}"
        elif w.kind == "DaemonSet":
            name = f"{w.name}-{_suffix(idx)}"
        elif w.kind == "StatefulSet":
            name = f"{w.name}-{r}"
        else:
            name = f"{w.name}-{_suffix(idx)}"
        crash = []
        for img in w.images:
            if nodes[node][1] not in images[img].arches:
                crash.append("exec")
            elif rng.random() < p_app:
                crash.append("app")
            else:
                crash.append("")
        pods.append(PodModel(idx, w_i, name, node, tuple(crash)))
    return Model(nodes, images, workloads, pods, cronjobs)


# ----------------------------------------------------------------------------- image inspections


def image_files(rng: random.Random, img: Image, created: datetime) -> tuple[Image, list[tuple[str, bytes]]]:
    """The raw registry bytes for one image: an index/list (with children) or a manifest + config."""
    files: list[tuple[str, bytes]] = [("ref.txt", (img.ref + "\n").encode())]
    style = rng.random()
    if len(img.arches) > 1 or style < 0.35:
        oci = style < 0.8
        children = []
        for arch in img.arches:
            d = "sha256:" + _hex(rng, 64)
            children.append(
                {
                    "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
                    "digest": d,
                    "size": rng.randint(500, 2500),
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        if oci:
            for c in list(children):
                children.append(
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": "sha256:" + _hex(rng, 64),
                        "size": rng.randint(560, 900),
                        "annotations": {
                            "vnd.docker.reference.digest": c["digest"],
                            "vnd.docker.reference.type": "attestation-manifest",
                        },
                        "platform": {"architecture": "unknown", "os": "unknown"},
                    }
                )
            raw = msgspec.json.encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
        else:
            raw = msgspec.json.format(
                msgspec.json.encode({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": children}), indent=3
            )
        files.append(("manifest.json", raw))
        return img._replace(digest=_sha(raw), kind="index"), files
    oci = style < 0.6
    arch = img.arches[0]
    n_layers = rng.randint(2, 8)
    diff_ids = ["sha256:" + _hex(rng, 64) for _ in range(n_layers)]
    config = {
        "architecture": arch,
        "os": "linux",
        "created": _ts(created),
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": [img.entrypoint],
            "WorkingDir": "/",
            "Labels": {
                "org.opencontainers.image.source": "https://git.example.internal/"
                + img.ref.rsplit("/", 1)[-1].split(":")[0]
            },
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": _ts(created), "created_by": f"COPY build/{i} / # buildkit", "comment": "buildkit.dockerfile.v0"}
            for i in range(n_layers)
        ],
    }
    if arch == "arm64" and rng.random() < 0.5:
        config["variant"] = "v8"
    config_raw = msgspec.json.encode(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
            "digest": _sha(config_raw),
            "size": len(config_raw),
        },
        "layers": [
            {
                "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                "digest": "sha256:" + _hex(rng, 64),
                "size": rng.randint(100, 80_000_000),
            }
            for _ in range(n_layers)
        ],
    }
    raw = msgspec.json.encode(manifest)
    if not oci:
        raw = msgspec.json.format(raw, indent=3)
    files += [("manifest.json", raw), ("config.json", config_raw)]
    return img._replace(digest=_sha(raw), kind="manifest"), files


# ----------------------------------------------------------------------------- object rendering


def _repo(ref: str) -> str:
    last = ref.rsplit("/", 1)
    return ref[: len(ref) - len(last[-1].split(":", 1)[-1]) - 1] if ":" in last[-1] else ref


def _container_template(img: Image, cname: str, sidecar: bool) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": cname,
        "image": img.ref,
        "imagePullPolicy": "IfNotPresent",
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }
    if sidecar:
        c["args"] = [
            "proxy",
            "sidecar",
            "--domain",
            "$(POD_NAMESPACE).svc.cluster.local",
            "--proxyLogLevel=warning",
            "--log_output_level=default:info",
        ]
        c["ports"] = [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}]
    else:
        c["env"] = [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring:4317"},
        ]
        c["ports"] = [
            {"containerPort": 8080, "name": "http", "protocol": "TCP"},
            {"containerPort": 9090, "name": "metrics", "protocol": "TCP"},
        ]
        probe = {
            "failureThreshold": 3,
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
            "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
        }
        c["livenessProbe"] = {**probe, "initialDelaySeconds": 15}
    return c


def _fields_spec(containers: list[dict[str, Any]]) -> dict[str, Any]:
    """managedFields' fieldsV1 for the spec, as kube-controller-manager writes it on pod create."""
    out = {}
    for c in containers:
        entry: dict[str, Any] = {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}, "f:ports": {}}
        out[f'k:{{"name":"{c["name"]}"}}'] = entry
    return {"f:containers": out, "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:serviceAccountName": {}}


def workload_template(w: Workload, model: Model, created: datetime) -> dict[str, Any]:
    """Pod template parts shared by every pod of a workload (dicts are shared, never mutated)."""
    imgs = [model.images[i] for i in w.images]
    names = [DAEMONSETS[w.images[0]][2]] if w.kind == "DaemonSet" else ["app"]
    names += ["istio-proxy" if "istio" in img.ref else "envoy" for img in imgs[1:]]
    containers = [_container_template(img, n, i > 0) for i, (img, n) in enumerate(zip(imgs, names))]
    app = w.name.rsplit("-", 1)[0] if w.kind in ("Job",) else w.name
    labels = {"app": app, "app.kubernetes.io/name": app, "version": "v1"}
    if w.kind == "Deployment":
        labels["pod-template-hash"] = w.rs_name.rsplit("-", 1)[-1]
    elif w.kind == "DaemonSet":
        labels = {
            "controller-revision-hash": "5bc5db57b",
            "name": w.name,
            "pod-template-generation": "1",
            "k8s-app": w.name,
        }
    elif w.kind == "StatefulSet":
        labels["controller-revision-hash"] = f"{w.name}-7d9f8c6b5"
    else:
        labels.update(
            {
                "batch.kubernetes.io/job-name": w.name,
                "job-name": w.name,
                "batch.kubernetes.io/controller-uid": w.uid,
                "controller-uid": w.uid,
            }
        )
    annotations = {
        "kubectl.kubernetes.io/restartedAt": _ts(created - timedelta(days=2)),
        "prometheus.io/scrape": "true",
    }
    owner_kind, owner_name, owner_uid = {
        "Deployment": ("ReplicaSet", w.rs_name, w.rs_uid),
        "DaemonSet": ("DaemonSet", w.name, w.uid),
        "StatefulSet": ("StatefulSet", w.name, w.uid),
        "Job": ("Job", w.name, w.uid),
    }[w.kind]
    api = "batch/v1" if w.kind == "Job" else "apps/v1"
    tolerations = [
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {
            "effect": "NoExecute",
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "tolerationSeconds": 300,
        },
    ]
    if w.kind == "DaemonSet":
        tolerations = [{"operator": "Exists"}] + tolerations
    spec: dict[str, Any] = {
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 2000001000 if w.kind == "DaemonSet" else 0,
        "restartPolicy": "OnFailure" if w.kind == "Job" else "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 10001},
        "serviceAccount": app[:40],
        "serviceAccountName": app[:40],
        "terminationGracePeriodSeconds": 30,
        "tolerations": tolerations,
    }
    if w.kind == "DaemonSet":
        spec["priorityClassName"] = "system-node-critical"
        spec["hostNetwork"] = True
    if w.arch_selector:
        spec["nodeSelector"] = {"kubernetes.io/arch": w.arch_selector, "kubernetes.io/os": "linux"}
    else:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
                    ]
                }
            }
        }
    fields_meta = {
        "f:metadata": {
            "f:annotations": {".": {}, **{f"f:{k}": {} for k in annotations}},
            "f:generateName": {},
            "f:labels": {".": {}, **{f"f:{k}": {} for k in labels}},
            "f:ownerReferences": {".": {}, f'k:{{"uid":"{owner_uid}"}}': {}},
        },
        "f:spec": _fields_spec(containers),
    }
    manager = {
        "Deployment": "kube-controller-manager",
        "DaemonSet": "kube-controller-manager",
        "StatefulSet": "kube-controller-manager",
        "Job": "kube-controller-manager",
    }[w.kind]
    return {
        "containers": containers,
        "labels": labels,
        "annotations": annotations,
        "owner": [
            {
                "apiVersion": api,
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": owner_kind,
                "name": owner_name,
                "uid": owner_uid,
            }
        ],
        "spec": spec,
        "fields": fields_meta,
        "manager": manager,
        "names": names,
        "generate": owner_name + "-" if w.kind != "StatefulSet" else "",
    }


def _pull_error(ref: str) -> str:
    full = ref if "." in ref.split("/", 1)[0] else f"docker.io/{ref}"
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
        "no match for platform in manifest: not found"
    )


def render_pod(
    p: PodModel, model: Model, templates: list[dict[str, Any]], snap: int, now: datetime, pod_uid: str
) -> dict[str, Any]:
    w = model.workloads[p.workload]
    t = templates[p.workload]
    node_name = model.nodes[p.node][0]
    created = now - timedelta(hours=2 + (p.index % 97), minutes=p.index % 59)
    started = created + timedelta(seconds=4)
    pod_ip = _ip(p.index + 65536 * 3, 10) if w.kind != "DaemonSet" else _ip(p.node + 4096, 10)
    host_ip = _ip(p.node + 4096, 10)
    access = f"kube-api-access-{_suffix(p.index, 5, 7)}"
    mounts = [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": access, "readOnly": True}]
    containers = [{**c, "volumeMounts": mounts} for c in t["containers"]]
    statuses = []
    crashing = False
    for c_i, (c, crash) in enumerate(zip(t["containers"], p.crash)):
        img = model.images[w.images[c_i]]
        cid = "containerd://" + _hex(random.Random(p.index * 31 + c_i + snap * 7), 64)
        st: dict[str, Any] = {
            "containerID": cid,
            "image": img.ref,
            "imageID": f"{_repo(img.ref)}@{img.digest}",
            "name": c["name"],
            "started": not crash,
            "ready": not crash,
        }
        if crash == "pull":
            # containerd cannot unpack an index without the node's platform: the container never starts
            # (wording: kubewarden/adm-controller#1378 in tests/fixtures/realdata/github-issues/)
            crashing = True
            del st["containerID"]
            st["imageID"] = ""
            st["restartCount"] = 0
            st["lastState"] = {}
            st["state"] = {
                "waiting": (
                    {"reason": "ErrImagePull", "message": _pull_error(img.ref)}
                    if (p.index + snap) % 2
                    else {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{img.ref}"'}
                )
            }
        elif crash:
            crashing = True
            restarts = 3 + (p.index % 40) + snap * 2
            last_end = now - timedelta(seconds=30 + p.index % 200)
            st["restartCount"] = restarts
            st["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={c['name']} pod={p.name}_{w.namespace}"
                    f"({pod_uid})",
                }
            }
            code = 1 if crash == "exec" else (137 if p.index % 5 == 0 else 2)
            st["lastState"] = {
                "terminated": {
                    "containerID": cid,
                    "exitCode": code,
                    "finishedAt": _ts(last_end),
                    "reason": "OOMKilled" if code == 137 else "Error",
                    "startedAt": _ts(last_end - timedelta(seconds=1 if crash == "exec" else 40)),
                }
            }
        else:
            st["restartCount"] = 0
            st["lastState"] = {}
            st["state"] = {"running": {"startedAt": _ts(started)}}
        statuses.append(st)
    ready = "False" if crashing else "True"
    not_ready = (
        {
            "message": f"containers with unready status: [{' '.join(n for n, c in zip(t['names'], p.crash) if c)}]",
            "reason": "ContainersNotReady",
        }
        if crashing
        else {}
    )
    conditions = [
        {"lastProbeTime": None, "lastTransitionTime": _ts(created), "status": "True", "type": "Initialized"},
        {"lastProbeTime": None, "lastTransitionTime": _ts(started), "status": ready, "type": "Ready", **not_ready},
        {
            "lastProbeTime": None,
            "lastTransitionTime": _ts(started),
            "status": ready,
            "type": "ContainersReady",
            **not_ready,
        },
        {"lastProbeTime": None, "lastTransitionTime": _ts(created), "status": "True", "type": "PodScheduled"},
    ]
    kubelet_fields = {
        "f:status": {
            "f:conditions": {},
            "f:containerStatuses": {},
            "f:hostIP": {},
            "f:phase": {},
            "f:podIP": {},
            "f:podIPs": {f'k:{{"ip":"{pod_ip}"}}': {}},
            "f:startTime": {},
        }
    }
    meta: dict[str, Any] = {
        "annotations": t["annotations"],
        "creationTimestamp": _ts(created),
        "labels": t["labels"],
        "managedFields": [
            {
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": t["fields"],
                "manager": t["manager"],
                "operation": "Update",
                "time": _ts(created),
            },
            {
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": kubelet_fields,
                "manager": "kubelet",
                "operation": "Update",
                "subresource": "status",
                "time": _ts(now - timedelta(minutes=1)),
            },
        ],
        "name": p.name,
        "namespace": w.namespace,
        "ownerReferences": t["owner"],
        "resourceVersion": str(100000 + p.index * 3 + snap),
        "uid": pod_uid,
    }
    if t["generate"]:
        meta["generateName"] = t["generate"]
    spec = {
        **t["spec"],
        "containers": containers,
        "nodeName": node_name,
        "volumes": [
            {
                "name": access,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace",
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        ],
    }
    if w.kind == "StatefulSet":
        spec["hostname"] = p.name
        spec["subdomain"] = w.name
    status = {
        "conditions": conditions,
        "containerStatuses": statuses,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "phase": "Running",
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "qosClass": "Burstable",
        "startTime": _ts(created),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def render_node(i: int, model: Model, now: datetime, rng: random.Random) -> dict[str, Any]:
    name, arch, itype = model.nodes[i]
    ip = _ip(i + 4096, 10)
    zone = "us-west-2" + "abc"[i % 3]
    kernel_arch = "aarch64" if arch == "arm64" else "x86_64"
    created = now - timedelta(days=3, minutes=i % 1440)
    group = f"{'graviton' if arch == 'arm64' else 'general'}-{itype.split('.')[0]}"
    labels = {
        "alpha.eksctl.io/cluster-name": "prod-big",
        "alpha.eksctl.io/nodegroup-name": group,
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/instance-type": itype,
        "beta.kubernetes.io/os": "linux",
        "eks.amazonaws.com/capacityType": "ON_DEMAND" if i % 4 else "SPOT",
        "eks.amazonaws.com/nodegroup": group,
        "eks.amazonaws.com/nodegroup-image": "ami-0c89b104807c0b8c2" if arch == "arm64" else "ami-0a1b2c3d4e5f60718",
        "eks.amazonaws.com/sourceLaunchTemplateId": "lt-09d1dabda97913944",
        "eks.amazonaws.com/sourceLaunchTemplateVersion": "1",
        "failure-domain.beta.kubernetes.io/region": "us-west-2",
        "failure-domain.beta.kubernetes.io/zone": zone,
        "k8s.io/cloud-provider-aws": "6c22d656c63dd6b15e95a736e7429fb9",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/region": "us-west-2",
        "topology.kubernetes.io/zone": zone,
    }
    alloc = {
        "cpu": "15890m",
        "ephemeral-storage": "76215832858",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": "62277124Ki",
        "pods": "110",
    }
    hb = _ts(now - timedelta(seconds=i % 40))
    conds = [
        {"lastHeartbeatTime": hb, "lastTransitionTime": _ts(created), "message": m, "reason": r, "status": s, "type": t}
        for t, r, s, m in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "False", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "False", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "False", "kubelet has sufficient PID available"),
            ("Ready", "KubeletReady", "True", "kubelet is posting ready status"),
        )
    ]
    imgs = []
    for k in rng.sample(range(len(model.images)), min(12, len(model.images))):
        img = model.images[k]
        imgs.append({"names": [f"{_repo(img.ref)}@{img.digest}", img.ref], "sizeBytes": rng.randint(10**6, 10**9)})
    mid = _hex(rng, 32)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": _ts(created),
            "labels": labels,
            "name": name,
            "resourceVersion": str(5000 + i),
            "uid": _uid(rng),
        },
        "spec": {"providerID": f"aws:///{zone}/i-0{_hex(rng, 16)}"},
        "status": {
            "addresses": [
                {"address": ip, "type": "InternalIP"},
                {"address": name, "type": "InternalDNS"},
                {"address": name, "type": "Hostname"},
            ],
            "allocatable": alloc,
            "capacity": {**alloc, "cpu": "16", "memory": "64453124Ki"},
            "conditions": conds,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": imgs,
            "nodeInfo": {
                "architecture": arch,
                "bootID": _uid(rng),
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": f"5.10.205-195.807.amzn2.{kernel_arch}",
                "kubeProxyVersion": "v1.29.0-eks-5e0fdde",
                "kubeletVersion": "v1.29.0-eks-5e0fdde",
                "machineID": mid,
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2",
                "systemUUID": f"{mid[:8]}-{mid[8:12]}-{mid[12:16]}-{mid[16:20]}-{mid[20:]}",
            },
        },
    }


def render_workloads(
    kind: str, model: Model, templates: list[dict[str, Any]], now: datetime
) -> Iterator[dict[str, Any]]:
    """Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs as their controllers report them."""
    for w_i, w in enumerate(model.workloads):
        t = templates[w_i]
        created = now - timedelta(days=2, minutes=w_i % 600)
        tmpl = {
            "metadata": {"annotations": t["annotations"], "labels": t["labels"]},
            "spec": {**t["spec"], "containers": t["containers"]},
        }
        sel_labels = {k: v for k, v in t["labels"].items() if k in ("app", "name")}
        meta = {
            "annotations": {"meta.helm.sh/release-name": w.name, "meta.helm.sh/release-namespace": w.namespace},
            "creationTimestamp": _ts(created),
            "generation": 1,
            "labels": {"app": w.name},
            "name": w.name,
            "namespace": w.namespace,
            "resourceVersion": str(9000 + w_i),
            "uid": w.uid,
        }
        n = w.replicas
        if kind == "deployments" and w.kind == "Deployment":
            meta["annotations"]["deployment.kubernetes.io/revision"] = "1"
            yield {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta,
                "spec": {
                    "progressDeadlineSeconds": 600,
                    "replicas": n,
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel_labels},
                    "strategy": {
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                        "type": "RollingUpdate",
                    },
                    "template": tmpl,
                },
                "status": {
                    "availableReplicas": n,
                    "observedGeneration": 1,
                    "readyReplicas": n,
                    "replicas": n,
                    "updatedReplicas": n,
                    "conditions": [
                        {
                            "lastTransitionTime": _ts(created),
                            "lastUpdateTime": _ts(created),
                            "message": f'ReplicaSet "{w.rs_name}" has successfully progressed.',
                            "reason": "NewReplicaSetAvailable",
                            "status": "True",
                            "type": "Progressing",
                        }
                    ],
                },
            }
        elif kind == "replicasets" and w.kind == "Deployment":
            rs_meta = {
                **meta,
                "name": w.rs_name,
                "uid": w.rs_uid,
                "labels": t["labels"],
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": str(n),
                    "deployment.kubernetes.io/max-replicas": str(n + (n + 3) // 4),
                    "deployment.kubernetes.io/revision": "1",
                },
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": True,
                        "controller": True,
                        "kind": "Deployment",
                        "name": w.name,
                        "uid": w.uid,
                    }
                ],
            }
            yield {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": rs_meta,
                "spec": {"replicas": n, "selector": {"matchLabels": sel_labels}, "template": tmpl},
                "status": {
                    "availableReplicas": n,
                    "fullyLabeledReplicas": n,
                    "observedGeneration": 1,
                    "readyReplicas": n,
                    "replicas": n,
                },
            }
        elif kind == "daemonsets" and w.kind == "DaemonSet":
            yield {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": meta,
                "spec": {
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel_labels},
                    "template": tmpl,
                    "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"},
                },
                "status": {
                    "currentNumberScheduled": n,
                    "desiredNumberScheduled": n,
                    "numberAvailable": n,
                    "numberMisscheduled": 0,
                    "numberReady": n,
                    "observedGeneration": 1,
                    "updatedNumberScheduled": n,
                },
            }
        elif kind == "statefulsets" and w.kind == "StatefulSet":
            yield {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": meta,
                "spec": {
                    "podManagementPolicy": "OrderedReady",
                    "replicas": n,
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": sel_labels},
                    "serviceName": w.name,
                    "template": tmpl,
                    "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                },
                "status": {
                    "availableReplicas": n,
                    "collisionCount": 0,
                    "currentReplicas": n,
                    "currentRevision": f"{w.name}-7d9f8c6b5",
                    "observedGeneration": 1,
                    "readyReplicas": n,
                    "replicas": n,
                    "updateRevision": f"{w.name}-7d9f8c6b5",
                    "updatedReplicas": n,
                },
            }
        elif kind == "jobs" and w.kind == "Job":
            job_meta = dict(meta)
            if w.owner:
                cj_uid = next(c[2] for c in model.cronjobs if c[1] == w.owner)
                job_meta["ownerReferences"] = [
                    {
                        "apiVersion": "batch/v1",
                        "blockOwnerDeletion": True,
                        "controller": True,
                        "kind": "CronJob",
                        "name": w.owner,
                        "uid": cj_uid,
                    }
                ]
            yield {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": job_meta,
                "spec": {
                    "backoffLimit": 6,
                    "completionMode": "NonIndexed",
                    "completions": 1,
                    "parallelism": 1,
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": w.uid}},
                    "suspend": False,
                    "template": tmpl,
                },
                "status": {"active": 1, "ready": 1, "startTime": _ts(created), "uncountedTerminatedPods": {}},
            }
    if kind == "cronjobs":
        for ns, name, uid in model.cronjobs:
            w_i = next(i for i, w in enumerate(model.workloads) if w.owner == name)
            t = templates[w_i]
            yield {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {
                    "creationTimestamp": _ts(now - timedelta(days=9)),
                    "generation": 1,
                    "name": name,
                    "namespace": ns,
                    "resourceVersion": "777",
                    "uid": uid,
                },
                "spec": {
                    "concurrencyPolicy": "Forbid",
                    "failedJobsHistoryLimit": 1,
                    "schedule": "*/30 * * * *",
                    "successfulJobsHistoryLimit": 3,
                    "suspend": False,
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 6,
                            "template": {
                                "metadata": {"labels": t["labels"]},
                                "spec": {**t["spec"], "containers": t["containers"]},
                            },
                        }
                    },
                },
                "status": {"lastScheduleTime": _ts(now - timedelta(minutes=12))},
            }


def render_events(
    model: Model, templates: list[dict[str, Any]], uids: list[str], snap: int, now: datetime
) -> Iterator[dict[str, Any]]:
    """About one event per three pods: BackOff for every crashing container, lifecycle noise for others."""
    for p in model.pods:
        w = model.workloads[p.workload]
        t = templates[p.workload]
        node = model.nodes[p.node][0]
        crashed = [(n, c) for n, c in zip(t["names"], p.crash) if c]
        if crashed:
            items = []
            for c_i, (n, c) in enumerate(zip(t["names"], p.crash)):
                if c == "pull":
                    ref = model.images[w.images[c_i]].ref
                    items += [
                        (
                            "Warning",
                            "Failed",
                            f'Failed to pull image "{ref}": {_pull_error(ref)}',
                            n,
                            4 + p.index % 20 + snap,
                        ),
                        ("Normal", "BackOff", f'Back-off pulling image "{ref}"', n, 40 + p.index % 300 + snap * 4),
                    ]
                elif c:
                    items.append(
                        (
                            "Warning",
                            "BackOff",
                            f"Back-off restarting failed container {n} in pod {p.name}_{w.namespace}({uids[p.index]})",
                            n,
                            20 + p.index % 300 + snap * 4,
                        )
                    )
        elif p.index % 3 == 0:
            n = t["names"][0]
            ref = model.images[w.images[0]].ref
            reason, msg = (
                ("Pulled", f'Container image "{ref}" already present on machine')
                if p.index % 2
                else ("Started", f"Started container {n}")
            )
            items = [("Normal", reason, msg, n, 1)]
        else:
            continue
        for k, (etype, reason, msg, cname, count) in enumerate(items):
            first = now - timedelta(hours=1, seconds=p.index % 3000)
            last = now - timedelta(seconds=p.index % 120)
            yield {
                "apiVersion": "v1",
                "kind": "Event",
                "count": count,
                "eventTime": None,
                "firstTimestamp": _ts(first),
                "lastTimestamp": _ts(last),
                "involvedObject": {
                    "apiVersion": "v1",
                    "fieldPath": f"spec.containers{{{cname}}}",
                    "kind": "Pod",
                    "name": p.name,
                    "namespace": w.namespace,
                    "resourceVersion": str(100000 + p.index * 3),
                    "uid": uids[p.index],
                },
                "message": msg,
                "reason": reason,
                "metadata": {
                    "creationTimestamp": _ts(first),
                    "name": f"{p.name}.{_hex(random.Random(p.index + k), 16)}",
                    "namespace": w.namespace,
                    "resourceVersion": str(200000 + p.index * 2 + k),
                    "uid": uids[(p.index * 7 + k + 1) % len(uids)][::-1],
                },
                "reportingComponent": "kubelet",
                "reportingInstance": node,
                "source": {"component": "kubelet", "host": node},
                "type": etype,
            }


# ----------------------------------------------------------------------------- logs

_LOG_LINES = (
    '{{"level":"info","ts":"{ts}","caller":"server/main.go:{n}","msg":"starting server","addr":":8080"}}',
    '{{"level":"info","ts":"{ts}","caller":"config/load.go:{n}","msg":"loaded config","source":"/etc/app/config.yaml"}}',
    '{{"level":"debug","ts":"{ts}","caller":"cache/warm.go:{n}","msg":"cache warmed","entries":{n}}}',
    '{{"level":"warn","ts":"{ts}","caller":"db/pool.go:{n}","msg":"slow query","ms":{n},"table":"orders"}}',
    '{{"level":"info","ts":"{ts}","caller":"http/handler.go:{n}","msg":"request","method":"GET","path":"/v1/items","status":200}}',
)
_CRASHES = (
    (
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x10b4c5e]\n\n"
        "goroutine 1 [running]:\nmain.(*Server).Run(0x0)\n\t/src/cmd/server/main.go:{n} +0x1e\nmain.main()\n"
        "\t/src/cmd/server/main.go:42 +0x2b5\n"
    ),
    (
        '{{"level":"fatal","ts":"{ts}","caller":"db/pool.go:{n}","msg":"cannot connect to database",'
        '"error":"dial tcp 10.0.{n}.4:5432: connect: connection refused"}}\n'
    ),
    (
        'Traceback (most recent call last):\n  File "/app/main.py", line {n}, in <module>\n    main()\n'
        '  File "/app/main.py", line 12, in main\n    cfg = load(os.environ["DATABASE_URL"])\n'
        "KeyError: 'DATABASE_URL'\n"
    ),
)


def crash_logs(p: PodModel, c_i: int, crash: str, img: Image, now: datetime) -> tuple[bytes, bytes]:
    """(current, previous) log text of a restarting container."""
    if crash == "exec":
        line = f"exec {img.entrypoint}: exec format error\n".encode()
        return line, line
    r = random.Random(p.index * 13 + c_i)
    out = []
    for prev in (False, True):
        t0 = now - timedelta(minutes=6 if prev else 1)
        lines = [
            _LOG_LINES[r.randrange(len(_LOG_LINES))].format(
                ts=(t0 + timedelta(milliseconds=37 * k)).isoformat().replace("+00:00", "Z"), n=r.randint(10, 999)
            )
            for k in range(r.randint(15, 40))
        ]
        lines.append(_CRASHES[(p.index + c_i) % len(_CRASHES)].format(ts=_ts(t0), n=r.randint(10, 400)))
        out.append("\n".join(lines).encode())
    return out[0], out[1]


# ----------------------------------------------------------------------------- writing


class TarWriter:
    """Adds members under one top folder with fixed metadata, so output bytes depend only on inputs."""

    def __init__(self, out: Path, top: str, mtime: int, tmpdir: Path) -> None:
        self._raw = open(out, "wb")  # noqa: SIM115 - closed in close()
        self._gz = gzip.GzipFile(filename="", fileobj=self._raw, mode="wb", compresslevel=1, mtime=mtime)
        self._tar = tarfile.open(fileobj=self._gz, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.top = top
        self.mtime = mtime
        self.tmpdir = tmpdir
        self.members = 0
        self.bytes = 0

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f"{self.top}/{name}")
        info.size = size
        info.mtime = self.mtime
        info.mode = 0o644
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.members += 1
        self.bytes += len(data)

    def add_list(self, name: str, items: Iterable[dict[str, Any]]) -> int:
        """Write a `kubectl get -A -o json` List member, streaming items through a temp file."""
        path = self.tmpdir / "member.json"
        count = 0
        with open(path, "wb") as f:
            count = write_list(f, items)
        size = path.stat().st_size
        with open(path, "rb") as f:
            self._tar.addfile(self._info(name, size), f)
        path.unlink()
        self.members += 1
        self.bytes += size
        return count

    def close(self) -> None:
        self._tar.close()
        self._gz.close()
        self._raw.close()


def write_list(f: BinaryIO, items: Iterable[dict[str, Any]]) -> int:
    """kubectl's layout: sorted keys, 4-space indent, items at depth 2, envelope `kind: List`."""
    f.write(b'{\n    "apiVersion": "v1",\n    "items": [')
    count = 0
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        body = msgspec.json.format(_enc.encode(chunk), indent=4)[1:-2]  # drop "[" and "\n]"
        f.write((b"," if count > len(chunk) else b"") + body.replace(b"\n", b"\n    "))

    for item in items:
        chunk.append(item)
        count += 1
        if len(chunk) >= CHUNK:
            flush()
            chunk = []
    if chunk:
        flush()
    f.write(b"\n    ],\n" if count else b"],\n")
    f.write(b'    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    return count


class Stats(NamedTuple):
    pods: int
    nodes: int
    images: int
    restarting_containers: int
    containers: int
    exec_format_errors: int
    pull_failures: int
    members: int
    uncompressed_bytes: int
    compressed_bytes: int
    seconds: float


def _pull_failures(model: Model) -> Model:
    """A foreign-arch container whose image is an index (even a one-entry one) fails at pull time."""
    pods = []
    for p in model.pods:
        imgs = model.workloads[p.workload].images
        crash = tuple(
            "pull" if c == "exec" and model.images[imgs[i]].kind == "index" else c for i, c in enumerate(p.crash)
        )
        pods.append(p._replace(crash=crash) if crash != p.crash else p)
    return model._replace(pods=pods)


ARCH_CAUSE = {"exec": "arch.single-arch-image", "pull": "arch.index-missing-platform"}
CAUSE_ORDER = ("arch.index-missing-platform", "arch.single-arch-image", "oom-killed", "app-crash")


def truth(model: Model) -> dict[str, Any]:
    """What was planted, per workload as the analyzer names it (a Job of a CronJob is the CronJob).

    `planted`: every cause some pod of the workload was built to show; `expected_primary`: the most
    specific of them; `acceptable`: causes that are true of the workload without being planted as a
    failure (an arch mismatch in a mixed-arch cluster without an arch constraint is also
    `arch.mixed-arch-no-affinity`)."""
    by_workload: dict[tuple[str, str, str], set[str]] = {}
    for p in model.pods:
        w = model.workloads[p.workload]
        key = ("CronJob", w.namespace, w.owner) if w.owner else (w.kind, w.namespace, w.name)
        causes = by_workload.setdefault(key, set())
        for c in p.crash:
            if c in ARCH_CAUSE:
                causes.add(ARCH_CAUSE[c])
            elif c == "app":
                causes.add("oom-killed" if p.index % 5 == 0 else "app-crash")
    workloads = []
    for (kind, ns, name), causes in sorted(by_workload.items()):
        if not causes:
            continue
        acceptable = set(causes)
        if causes & set(ARCH_CAUSE.values()):
            acceptable.add("arch.mixed-arch-no-affinity")
        workloads.append(
            {
                "kind": kind,
                "namespace": ns,
                "name": name,
                "planted": sorted(causes),
                "expected_primary": next(c for c in CAUSE_ORDER if c in causes),
                "acceptable": sorted(acceptable),
            }
        )
    return {"schema": "cluster-forensics-bench-truth/v1", "workloads": workloads}


def generate(
    out: Path,
    pods: int = 150_000,
    nodes: int = 5_000,
    images: int | None = None,
    snapshots: int = 1,
    seed: int = 1,
    restart_fraction: float = 0.05,
    arm64_fraction: float = 0.3,
    collected_at: datetime = datetime(2024, 5, 14, 9, 30, tzinfo=UTC),
) -> Stats:
    """Write the dump to `out` and return what is in it."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    n_images = images if images is not None else max(10, round(pods * 4000 / 150_000))
    model = build_model(rng, pods, nodes, n_images, arm64_fraction, restart_fraction)
    snaps = [collected_at - timedelta(minutes=10 * (snapshots - 1 - i)) for i in range(snapshots)]
    snap_names = [s.strftime("%Y%m%dT%H%M%SZ") for s in snaps]
    top = f"forensics-dump-{snap_names[-1]}"

    image_members = []
    for i, img in enumerate(model.images):
        new, files = image_files(rng, img, collected_at - timedelta(days=30 + i % 200))
        model.images[i] = new
        image_members.append((layout.image_slug(new.ref), files))
    model = _pull_failures(model)
    templates = [workload_template(w, model, collected_at) for w in model.workloads]
    uids = [_uid(rng) for _ in model.pods]

    with tempfile.TemporaryDirectory(prefix="gen-dump-") as tmp:
        tw = TarWriter(out, top, int(collected_at.timestamp()), Path(tmp))
        meta = {
            "format": layout.FORMAT_NAME,
            "version": layout.FORMAT_VERSION,
            "collected_at": _ts(collected_at),
            "cluster": {
                "context": "arn:aws:eks:us-west-2:123456789012:cluster/prod-big",
                "server": "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
            },
            "snapshots": snap_names,
            "commands": [],
        }
        tw.add_bytes(layout.META, yaml.safe_dump(meta, sort_keys=False).encode())
        for s_i, (now, sname) in enumerate(zip(snaps, snap_names)):
            node_rng = random.Random(seed * 1000 + s_i)
            tw.add_list(
                layout.objects_file(sname, "nodes"),
                (render_node(i, model, now, node_rng) for i in range(len(model.nodes))),
            )
            tw.add_list(
                layout.objects_file(sname, "pods"),
                (render_pod(p, model, templates, s_i, now, uids[p.index]) for p in model.pods),
            )
            tw.add_list(layout.objects_file(sname, "events"), render_events(model, templates, uids, s_i, now))
            for kind in ("deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "cronjobs"):
                tw.add_list(layout.objects_file(sname, kind), render_workloads(kind, model, templates, now))
            for p in model.pods:
                if not any(p.crash):
                    continue
                w = model.workloads[p.workload]
                for c_i, crash in enumerate(p.crash):
                    if crash in ("", "pull"):
                        continue
                    cname = templates[p.workload]["names"][c_i]
                    cur, prev = crash_logs(p, c_i, crash, model.images[w.images[c_i]], now)
                    tw.add_bytes(layout.log_file(sname, w.namespace, p.name, cname), cur)
                    tw.add_bytes(layout.log_file(sname, w.namespace, p.name, cname, previous=True), prev)
        for slug, files in image_members:
            for fname, data in files:
                tw.add_bytes(layout.image_file(slug, fname), data)
        tw.close()
    truth_path = Path(str(out) + ".truth.json")
    truth_path.write_text(json.dumps(truth(model), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    crashes = [c for p in model.pods for c in p.crash]
    return Stats(
        len(model.pods),
        len(model.nodes),
        len(model.images),
        sum(1 for c in crashes if c not in ("", "pull")),
        len(crashes),
        sum(1 for c in crashes if c == "exec"),
        sum(1 for c in crashes if c == "pull"),
        tw.members,
        tw.bytes,
        out.stat().st_size,
        time.perf_counter() - t0,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--nodes", type=int, default=5_000)
    ap.add_argument("--images", type=int, default=None, help="distinct images (default: 4,000 per 150,000 pods)")
    ap.add_argument("--snapshots", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--restart-fraction", type=float, default=0.05)
    ap.add_argument("--arm64-fraction", type=float, default=0.3)
    ap.add_argument("--out", type=Path, required=True, help="PATH.tar.gz")
    a = ap.parse_args(argv)
    s = generate(a.out, a.pods, a.nodes, a.images, a.snapshots, a.seed, a.restart_fraction, a.arm64_fraction)
    print(
        f"wrote {a.out}: {s.pods} pods, {s.nodes} nodes, {s.images} images, "
        f"{s.restarting_containers}/{s.containers} containers restarting ({s.exec_format_errors} exec format), "
        f"{s.pull_failures} failing to pull, truth in {a.out}.truth.json, "
        f"{s.members} members, {s.uncompressed_bytes / 2**20:.1f} MiB -> {s.compressed_bytes / 2**20:.1f} MiB "
        f"in {s.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
