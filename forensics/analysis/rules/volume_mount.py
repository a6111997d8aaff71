"""volume-mount: the pod cannot start because a volume cannot be attached or mounted: a hostPath
whose `type` check fails on the node (`hostPath type check failed: /var/lib/x is not a directory`),
a CSI/cloud disk that does not attach (`AttachVolume.Attach failed`, a disk still attached to
another node), a mount that times out (`Unable to attach or mount volumes: unmounted
volumes=[data] ...: timed out waiting for the condition`), or a PersistentVolumeClaim that is not
bound (`pod has unbound immediate PersistentVolumeClaims`, `persistentvolumeclaim "x" not found`).
Symptom: the pod stays Pending, in ContainerCreating (or `Init:0/1`), with `FailedMount` /
`FailedAttachVolume` events repeating every two minutes; no container ever starts.

Proof: such an event or condition for a pod that, at the last snapshot, has not started (Pending,
a container waiting in ContainerCreating/PodInitializing, or no container status). A missing
ConfigMap or Secret volume is `missing-config`, not this.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, Rows
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, container_evidence, keyed, new_finding, sig_evidence
from forensics.analysis.rules._common import merge_key as _key
from forensics.analysis.rules._restart import (
    any_is,
    event_evidence,
    marks,
    pod_event_rows,
    q,
    resource,
    severity,
    sigs_by_workload,
    texts,
)

CAUSE = "volume-mount"
TITLE = "Volume cannot be attached or mounted"
SPECIFICITY = 80
HINTS = ("volume-mount",)

_NOT_STARTED = ("ContainerCreating", "PodInitializing")
_HOSTPATH = re.compile(r"hostPath type check failed: (\S+) is not a (\w+)")
_UNMOUNTED = re.compile(r"unmounted volumes=\[([^\]]*)\]")
_VOLUME = re.compile(r"for volume \"([^\"]+)\"")
_UNBOUND = re.compile(r"unbound (?:immediate )?PersistentVolumeClaims|persistentvolumeclaim \"[^\"]+\" not found")
_EVENTS = ("FailedMount", "FailedAttachVolume")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    if not ctx.snapshots:
        return []
    last = p[(p["snapshot"] == ctx.snapshots[-1]) & p["volume_sig"]]
    not_started = last["state"].isna() | (
        (last["state"] == "waiting") & last["waiting_reason"].isin(list(_NOT_STARTED))
    ).fillna(False)
    pods = ctx.frames["pods"]
    pending = pods[(pods["snapshot"] == ctx.snapshots[-1]) & (pods["phase"] == "Pending").fillna(False)]
    is_pending = (
        last[["namespace", "pod"]]
        .merge(pending[["namespace", "pod"]].drop_duplicates().assign(_p=True), how="left", on=["namespace", "pod"])[
            "_p"
        ]
        .notna()
        .to_numpy()
    )
    cand = last[not_started.to_numpy(dtype=bool) | is_pending]
    # a claim that is not bound keeps the pod from being scheduled: the scheduler says so in the pod's
    # PodScheduled condition, which no container status carries
    unbound = pending[pending["scheduled_message"].fillna("").str.contains(_UNBOUND)]
    if not unbound.empty:
        extra = p[(p["snapshot"] == ctx.snapshots[-1])].merge(unbound[["namespace", "pod"]], on=["namespace", "pod"])
        cand = pd.concat([cand, extra]).drop_duplicates(["namespace", "pod", "container"])
    claims = dict(
        zip(zip(unbound["namespace"].astype(str), unbound["pod"].astype(str)), unbound["scheduled_message"].astype(str))
    )
    sigs_of = sigs_by_workload(ctx, cand, ("volume-mount",))
    groups = by_workload(cand)
    waiting_start = (cand["state"].isna() | cand["waiting_reason"].isin(list(_NOT_STARTED))).to_numpy(dtype=bool)
    # the unbound pods' rows, keyed as the pod rows are, for an inner merge on (namespace, pod) per workload
    unbound_of = keyed([((_key(r.namespace), _key(r.pod)), r) for r in unbound.itertuples(index=False)])
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = sigs_of(w)
        said = [claims[k] for k in zip(rows.text("namespace"), rows.text("pod")) if k in claims]
        what, fix = _what(texts(sigs) + said)
        conf = 0.8 + (0.1 if any_is(sigs["source"], "event") else 0.0) + (0.05 if rows.any(waiting_start) else 0.0)
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.95), 2),
            summary=f"{w}: {rows.nunique('pod')} pod(s) cannot start, {what}",
        )
        f.evidence.extend(event_evidence(pod_event_rows(ctx, rows, _EVENTS)))
        f.evidence.extend(sig_evidence(sigs))
        pods = set(zip(map(_key, rows["namespace"]), map(_key, rows["pod"])))
        f.evidence.extend(
            Evidence(
                kind="pod",
                file=str(r.file),
                object=f"Pod {r.namespace}/{r.pod}",
                text=f"phase Pending, PodScheduled=False: {r.scheduled_message}",
                snapshot=str(r.snapshot),
            )
            for r in unbound_of(pods)[:5]
        )
        f.evidence.extend(container_evidence(rows, _text))
        if sigs.empty:  # pragma: no cover - candidates carry a volume signature
            f.missing_evidence.append(
                MissingEvidence(
                    what="no FailedMount event",
                    why="it names the volume",
                    how="kubectl get events -A --field-selector reason=FailedMount",
                )
            )
        f.remediation.extend(_remedies(w, rows, fix))
        out.append(f)
    return out


def _what(texts: list[str]) -> tuple[str, str]:
    for t in texts:
        m = _HOSTPATH.search(t)
        if m:
            return (
                f"its hostPath {m.group(1)} is not a {m.group(2)} on the node (the volume's `type` check fails)",
                "hostpath",
            )
    for t in texts:
        if "unbound" in t or "persistentvolumeclaim" in t.lower():
            return "a PersistentVolumeClaim it uses is not bound", "pvc"
    for t in texts:
        if "Attach" in t:
            return "a volume does not attach to the node", "attach"
    vols = [m.group(1) for t in texts for m in [_UNMOUNTED.search(t) or _VOLUME.search(t)] if m]
    return (
        f"volume(s) {', '.join(dict.fromkeys(vols))} cannot be mounted" if vols else "a volume cannot be mounted",
        "mount",
    )


def _text(r: Any) -> str:
    st = (
        "no container status"
        if pd.isna(r.state)
        else f"{r.state}" + ("" if pd.isna(r.waiting_reason) else f" ({r.waiting_reason})")
    )
    return f"container {r.container}: {st}"


def _remedies(w: Any, rows: Rows, fix: str) -> list[Remediation]:
    ns = q(w.namespace)
    pod = q(str(rows["pod"][-1]))
    out = [
        Remediation(
            title="Read the kubelet's mount errors for the pod",
            kind="investigate",
            command=f"kubectl -n {ns} describe pod {pod}   # Events: FailedMount / FailedAttachVolume",
        )
    ]
    if fix == "hostpath":
        nodes = sorted({str(n) for n in rows.present("node")})
        out.append(
            Remediation(
                title="Create the path on the node(s) with the type the volume expects, or relax the hostPath `type` "
                "(DirectoryOrCreate) if the workload may create it",
                command=f"# on node {nodes[0] if nodes else '<node>'}: ls -ld <path>\n"
                f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath='{{..volumes}}'",
                kind="config",
            )
        )
    elif fix == "pvc":
        out.append(
            Remediation(
                title="See why the claim is not bound (storage class, provisioner, capacity)",
                command=f"kubectl -n {ns} get pvc\nkubectl -n {ns} describe pvc <claim>\nkubectl get storageclass",
                kind="investigate",
            )
        )
    else:
        out.append(
            Remediation(
                title="Check the volume's attachment and the CSI driver on the node",
                command="kubectl get volumeattachments\nkubectl get pods -A -o wide | grep -i csi",
                kind="investigate",
            )
        )
    return out
