"""Remediation commands with the workload's real names filled in.

Every name comes from an untrusted dump, so every value placed in a shell command is quoted with
`shlex.quote`: a copied command never runs something the dump smuggled in.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from forensics.analysis.findings import Remediation, Workload

_KIND_RESOURCE = {
    "Deployment": "deployment",
    "DaemonSet": "daemonset",
    "StatefulSet": "statefulset",
    "Job": "job",
    "CronJob": "cronjob",
    "ReplicaSet": "replicaset",
    "Pod": "pod",
    "StaticPod": "pod",
}
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
        command=(
            f"docker buildx imagetools inspect {q(image)}\n"
            f"docker buildx imagetools inspect --raw {q(image)} > manifest.json\n"
            f"forensics platforms manifest.json --require {q(plats)}"
        ),
        kind="ci-check",
    )


def _arch_spec(archs: list[str]) -> dict[str, Any]:
    if len(archs) == 1:
        return {"nodeSelector": {"kubernetes.io/arch": archs[0]}}
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": archs}]}
                    ]
                }
            }
        }
    }


def _recreate(w: Workload, res: str, edit: str) -> str:
    """Export, edit, re-create: for objects whose pod template cannot change in place (a Job's is immutable,
    a bare Pod has none). `replace --force` deletes the object and creates it again from the file."""
    ns, name = q(w.namespace), q(w.name)
    file = f"{res}.yaml"
    return (
        f"kubectl -n {ns} get {res} {name} -o yaml > {file}\n"
        f"# in {file}: {edit}\n"
        f"kubectl -n {ns} replace --force -f {file}"
    )


def pin(w: Workload, archs: list[str]) -> Remediation:
    """Pin the workload to the architectures its image supports (nodeSelector, or affinity for several)."""
    res = resource_of(w)
    archs = sorted(set(archs))
    spec = _arch_spec(archs)
    title = f"Until the image is fixed, pin {w} to {', '.join(archs)} nodes"
    where = (
        f"nodeSelector kubernetes.io/arch: {archs[0]}"
        if len(archs) == 1
        else f"a required node affinity kubernetes.io/arch In [{', '.join(archs)}]"
    )
    if w.kind == "Job":
        cmd = _recreate(
            w,
            res,
            f"add to spec.template.spec {where}; delete spec.selector and the "
            "controller-uid labels of spec.template.metadata (a Job's template is immutable)",
        )
    elif w.kind == "Pod":
        cmd = _recreate(w, res, f"add to spec {where} and delete spec.nodeName, so the scheduler places it again")
    elif w.kind == "StaticPod":
        cmd = (
            f"# a static pod runs where the kubelet finds its manifest: on the nodes of other architectures\n"
            f"sudo mv {q(f'/etc/kubernetes/manifests/{w.name}.yaml')} /root/"
        )
    else:
        patch = (
            {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
            if w.kind == "CronJob"
            else {"spec": {"template": {"spec": spec}}}
        )
        cmd = f"kubectl -n {q(w.namespace)} patch {res} {q(w.name)} --type merge -p {q(json.dumps(patch))}"
    return Remediation(title=title, command=cmd, kind="pin")


_ROLLOUT = ("Deployment", "DaemonSet", "StatefulSet")
JOB_NAME_MAX = 63  # a Job's name ends up in a label value of its pods


def restart(w: Workload) -> Remediation:
    """New pods once the fix is in, the way each kind makes them: a rollout where there is one, a scale
    down and up for a bare ReplicaSet, a manual run of a CronJob, new pods of a Job still retrying, a bare
    Pod re-created, a static pod's manifest moved out and back (the kubelet watches its folder)."""
    res = resource_of(w)
    ns, name = q(w.namespace), q(w.name)
    if w.kind in _ROLLOUT:
        cmd = f"kubectl -n {ns} rollout restart {res}/{name}\nkubectl -n {ns} rollout status {res}/{name}"
    elif w.kind == "ReplicaSet":
        cmd = (
            f"replicas=$(kubectl -n {ns} get {res} {name} -o jsonpath='{{.spec.replicas}}')\n"
            f"kubectl -n {ns} scale {res} {name} --replicas=0\n"
            f'kubectl -n {ns} scale {res} {name} --replicas="$replicas"'
        )
    elif w.kind == "CronJob":
        run = (w.name[: JOB_NAME_MAX - len("-manual")].rstrip("-.") or "run") + "-manual"
        cmd = (
            f"# the next scheduled run uses the fixed image; to run it now:\n"
            f"kubectl -n {ns} create job {q(run)} --from={q(f'cronjob/{w.name}')}"
        )
    elif w.kind == "Job":
        cmd = (
            f"# a Job still within its backoffLimit starts new pods for the ones deleted; "
            f"a failed Job must be re-created\n"
            f"kubectl -n {ns} delete pod -l {q(f'job-name={w.name}')}"
        )
    elif w.kind == "Pod":
        cmd = f"kubectl -n {ns} get pod {name} -o yaml | kubectl replace --force -f -"
    elif w.kind == "StaticPod":
        manifest = q(f"/etc/kubernetes/manifests/{w.name}.yaml")
        cmd = (
            f"# on each node that runs it: the kubelet stops the pod when its manifest leaves the folder, "
            f"and starts it again when it comes back\n"
            f"sudo mv {manifest} /root/ && sleep 20 && sudo mv {q(f'/root/{w.name}.yaml')} "
            f"/etc/kubernetes/manifests/"
        )
    else:  # a custom controller (Argo Rollout, CloneSet, ...): it re-creates the pods deleted
        cmd = (
            f"# {q(w.kind)} re-creates its pods: find them (its selector) and delete them\n"
            f"kubectl -n {ns} describe {q(res)} {name}"
        )
    return Remediation(title=f"Roll the pods of {w} once the fix is in", command=cmd, kind="restart")


def describe(w: Workload) -> str:
    return f"kubectl -n {q(w.namespace)} describe {resource_of(w)} {q(w.name)}"
