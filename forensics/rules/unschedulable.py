"""unschedulable: the scheduler found no node for the pod: not enough free CPU, memory or GPUs for
its requests, a nodeSelector or affinity no node matches (e.g. `kubernetes.io/arch: arm64` in a
cluster without arm64 nodes), taints it does not tolerate, a volume it cannot reach. Symptom: pods
stay Pending with no node; the condition `PodScheduled=False, reason Unschedulable` and the
scheduler's `FailedScheduling` event carry the reason per node: `0/3 nodes are available: 1
Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector.`

Proof: a pod whose last observation is Pending without a node, with that condition or event. A pod
that was Pending in an earlier snapshot and got a node later was only waiting.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from forensics.correlate import Context
from forensics.findings import Evidence, Finding, MissingEvidence, Remediation
from forensics.rules import rule
from forensics.rules._common import by_workload, new_finding
from forensics.rules._restart import (
    event_evidence,
    events_for_pods,
    marks,
    missing_events,
    pod_spec_path,
    q,
    resource,
    severity,
)

CAUSE = "unschedulable"
_IGNORED = ("skip schedule deleting pod",)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    pods = ctx.frames["pods"]
    last = pods.sort_values("snapshot_index").drop_duplicates(["namespace", "pod"], keep="last")
    pending = last[(last["phase"] == "Pending").fillna(False) & last["node"].isna()]
    if pending.empty:
        return []
    events = events_for_pods(ctx, pending, ("FailedScheduling",))
    events = events[~events["message"].fillna("").str.startswith(_IGNORED)]
    by_event = events[["object_namespace", "object_name"]].rename(
        columns={"object_namespace": "namespace", "object_name": "pod"}).drop_duplicates()
    cond = pending[(pending["scheduled"] == "False").fillna(False)][["namespace", "pod"]]
    stuck = pd.concat([cond, by_event]).drop_duplicates()
    if stuck.empty:
        return []
    p = marks(ctx)
    cand = p.merge(pending[["snapshot", "namespace", "pod"]].merge(stuck, on=["namespace", "pod"]),
                   on=["snapshot", "namespace", "pod"], how="inner")
    out: list[Finding] = []
    for w, rows in by_workload(cand):
        mine = pending.merge(rows[["namespace", "pod"]].drop_duplicates(), on=["namespace", "pod"])
        ev = events.merge(rows[["namespace", "pod"]].drop_duplicates().rename(
            columns={"namespace": "object_namespace", "pod": "object_name"}), on=["object_namespace", "object_name"])
        has_cond = bool((mine["scheduled"] == "False").fillna(False).any())
        msgs = mine["scheduled_message"].dropna().astype(str).tolist() + ev["message"].dropna().astype(str).tolist()
        message = msgs[-1] if msgs else None
        conf = 0.8 + (0.08 if has_cond else 0.0) + (0.08 if not ev.empty else 0.0)
        f = new_finding(CAUSE, w, rows, severity=severity(ctx, w), confidence=round(min(conf, 0.97), 2),
                        summary=f"{w}: {mine['pod'].nunique()} pod(s) Pending, no node fits"
                                + (f": {message[:240]}" if message else ""))
        f.evidence.extend(Evidence(kind="pod", file=str(r.file), object=f"Pod {r.namespace}/{r.pod}",
                                   text=f"phase Pending, PodScheduled={r.scheduled}"
                                        + ("" if pd.isna(r.scheduled_message) else f": {r.scheduled_message}"),
                                   snapshot=str(r.snapshot))
                          for r in mine.head(10).itertuples(index=False))
        f.evidence.extend(event_evidence(ev))
        claims = _claim_events(ctx, w.namespace) if message and "persistentvolumeclaim" in message.lower() else None
        if claims is not None and not claims.empty:
            last_claim = claims.iloc[-1]
            f.summary += f"; claim {last_claim['object_name']}: {str(last_claim['message'])[:200]}"
            f.evidence.extend(event_evidence(claims, supports="why the claim does not bind"))
            message = f"{message} {' '.join(claims['message'].dropna().astype(str))}"
        if not message:
            f.missing_evidence.append(MissingEvidence(
                what="the scheduler's message", why="it says, per node, why none fits",
                how=f"kubectl -n {q(w.namespace)} describe pod {q(str(mine['pod'].iloc[0]))}"))
        f.missing_evidence.extend(missing_events(ctx, rows, "the scheduler's reasons"))
        f.remediation.extend(_remedies(w, str(mine["pod"].iloc[0]), message or ""))
        out.append(f)
    return out


def _claim_events(ctx: Context, namespace: str) -> pd.DataFrame:
    """Warning events of the PersistentVolumeClaims in the pod's namespace: the scheduler only says a
    claim is unbound, the persistent volume controller or the provisioner says why (no such storage
    class, an access mode the provisioner lacks, a PV too small or bound to another claim, no PV
    matching the selector). The claim a pod mounts is not in the frames, so the namespace is the join."""
    ev = ctx.frames["events"]
    sub = ev[(ev["object_kind"] == "PersistentVolumeClaim") & (ev["object_namespace"] == namespace)
             & (ev["type"] == "Warning")]
    return sub.sort_values("last_seen").drop_duplicates(["object_name", "reason", "message"], keep="last")


def _remedies(w: Any, pod: str, message: str) -> list[Remediation]:
    ns = q(w.namespace)
    spec = "{" + pod_spec_path(w) + "}"
    out = [Remediation(title="Read the scheduler's reasons per node", kind="investigate",
                       command=f"kubectl -n {ns} describe pod {q(pod)}")]
    low = message.lower()
    if "insufficient" in low:
        out.append(Remediation(
            title="Compare the pod's requests with what the nodes have free; lower the requests or add capacity",
            command="kubectl describe nodes | grep -A 8 'Allocated resources'\n"
                    f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath={q(spec)}",
            kind="resources"))
    if "affinity" in low or "selector" in low:
        out.append(Remediation(
            title="Check the nodeSelector/affinity against the node labels (arch, pool, zone)",
            command=f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath={q(spec)}\n"
                    "kubectl get nodes -L kubernetes.io/arch,topology.kubernetes.io/zone",
            kind="config"))
    if "taint" in low:
        out.append(Remediation(
            title="Compare the node taints with the pod's tolerations",
            command="kubectl get nodes -o custom-columns=" + q("NAME:.metadata.name,TAINTS:.spec.taints"),
            kind="config"))
    if "persistentvolumeclaim" in low or "volume" in low:
        out.append(Remediation(title="Check the pod's volume claims are bound", kind="investigate",
                               command=f"kubectl -n {ns} get pvc"))
    if "storageclass" in low and "not found" in low or "no storage class is set" in low:
        out.append(Remediation(title="Point the claim at a storage class that exists (or create it)", kind="config",
                               command="kubectl get storageclass"))
    if "access mode" in low or "accessmode" in low or "multi_node" in low:
        out.append(Remediation(title="Ask for an access mode the provisioner supports (ReadWriteOnce), or use "
                                     "a storage class that offers ReadWriteMany", kind="config",
                               command="kubectl get storageclass -o wide\nkubectl get pv -o wide"))
    if "too small" in low or "already bound" in low:
        out.append(Remediation(title="Check the PersistentVolume the claim names: its size and the claim it is "
                                     "bound to", kind="investigate", command="kubectl get pv -o wide"))
    return out


