"""Remediation commands with the workload's real names filled in.

Every name comes from an untrusted dump, so every value placed in a shell command is quoted with
`shlex.quote`: a copied command never runs something the dump smuggled in.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from forensics.findings import Remediation, Workload

_KIND_RESOURCE = {"Deployment": "deployment", "DaemonSet": "daemonset", "StatefulSet": "statefulset",
                  "Job": "job", "CronJob": "cronjob", "ReplicaSet": "replicaset", "Pod": "pod",
                  "StaticPod": "pod"}
q = shlex.quote


def resource_of(w: Workload) -> str:
    """The kubectl resource name of a workload kind (deployment, daemonset, ...)."""
    return _KIND_RESOURCE.get(w.kind, w.kind.lower())


def platforms_arg(archs: list[str]) -> str:
    return ",".join(f"linux/{a}" for a in sorted(set(archs)))


def rebuild(image: str, archs: list[str]) -> Remediation:
    plats = platforms_arg(archs)
    return Remediation(
        title=f"Rebuild {image} for every architecture in this cluster ({plats}) and push it as one index",
        command=f"docker buildx build --platform {q(plats)} -t {q(image)} --push .",
        kind="rebuild",
    )


def ci_check(image: str, archs: list[str]) -> Remediation:
    plats = platforms_arg(archs)
    return Remediation(
        title="Add a CI check so the tag can never silently lose an architecture again",
        command=(f"docker buildx imagetools inspect {q(image)}\n"
                 f"docker buildx imagetools inspect --raw {q(image)} > manifest.json\n"
                 f"forensics platforms manifest.json --require {q(plats)}"),
        kind="ci-check",
    )


def pin(w: Workload, archs: list[str]) -> Remediation:
    """Pin the workload to the architectures its image supports (nodeSelector, or affinity for several)."""
    res = resource_of(w)
    archs = sorted(set(archs))
    spec: dict[str, Any]
    if len(archs) == 1:
        spec = {"nodeSelector": {"kubernetes.io/arch": archs[0]}}
    else:
        spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/arch", "operator": "In", "values": archs}]}]}}}}
    patch = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}} if w.kind == "CronJob" else \
        {"spec": {"template": {"spec": spec}}}
    return Remediation(
        title=f"Until the image is fixed, pin {w} to {', '.join(archs)} nodes",
        command=f"kubectl -n {q(w.namespace)} patch {res} {q(w.name)} --type merge -p {q(json.dumps(patch))}",
        kind="pin",
    )


def restart(w: Workload) -> Remediation:
    res = resource_of(w)
    if w.kind in ("Deployment", "DaemonSet", "StatefulSet"):
        cmd = f"kubectl -n {q(w.namespace)} rollout restart {res}/{q(w.name)}\n" \
              f"kubectl -n {q(w.namespace)} rollout status {res}/{q(w.name)}"
    else:
        cmd = f"kubectl -n {q(w.namespace)} delete pod -l <the workload's selector>  # recreate the pods"
    return Remediation(title=f"Roll the pods of {w} once the fix is in", command=cmd, kind="restart")


def describe(w: Workload) -> str:
    return f"kubectl -n {q(w.namespace)} describe {resource_of(w)} {q(w.name)}"
