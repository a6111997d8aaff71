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

import re
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload, finding_id
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, keyed, new_finding
from forensics.analysis.rules._common import merge_key as _key
from forensics.analysis.rules._restart import (
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
TITLE = "Pods cannot be scheduled"
SPECIFICITY = 90
UNPLACED = True  # its pods never got a node: a cause of more of the workload's pods is primary

_IGNORED = ("skip schedule deleting pod",)
# taints the node lifecycle controller puts on nodes that are not Ready
_NODE_TAINTS = re.compile(r"node\.kubernetes\.io/(?:not-ready|unreachable)")


_TAINT_COUNT = re.compile(
    r"0/(\d+) nodes are available: (?:.*?, )?(\d+) node\(s\) had (?:untolerated )?taint "
    r"\{node\.kubernetes\.io/(?:not-ready|unreachable)"
)


def _blocked_by_down_nodes(down: list[str], nodes: int, message: str) -> bool:
    """Whether not-ready nodes alone keep the pod Pending: the scheduler says every node carries the
    not-ready/unreachable taint, or every node of the dump is not Ready (`down` of `nodes`). When other
    nodes are turned down for other reasons (resources, affinity), those reasons are the pod's own."""
    if not _NODE_TAINTS.search(message) or not down:
        return False
    m = _TAINT_COUNT.search(message)
    return len(down) == nodes or (m is not None and m.group(1) == m.group(2))


def _arch_term(pending: list[Any], message: str) -> str | None:
    """The kubernetes.io/arch term of the pods' nodeSelector/affinity when the scheduler says no node
    matched it (the arch is then the likely reason, e.g. an amd64-only chart on an arm64 node)."""
    if "affinity" not in message and "selector" not in message:
        return None
    terms = [(a, e) for a, e in ((r.arch_allowed, r.arch_excluded) for r in pending) if not is_na(a) or not is_na(e)]
    if not terms:
        return None
    pos = [] if is_na(terms[0][0]) else list(terms[0][0])
    neg = [] if is_na(terms[0][1]) else list(terms[0][1])
    if neg and not pos:
        return f"its node affinity requires kubernetes.io/arch NotIn [{', '.join(neg)}]"
    return f"its nodeSelector/affinity requires kubernetes.io/arch In [{', '.join(pos)}]"


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    pods = ctx.frames["pods"]
    last = pods.sort_values("snapshot_index").drop_duplicates(["namespace", "pod"], keep="last")
    pending = last[(last["phase"] == "Pending").fillna(False) & last["node"].isna()]
    if pending.empty:
        return []
    events = events_for_pods(ctx, pending, ("FailedScheduling",))
    events = events[~events["message"].fillna("").str.startswith(_IGNORED)]
    by_event = (
        events[["object_namespace", "object_name"]]
        .rename(columns={"object_namespace": "namespace", "object_name": "pod"})
        .drop_duplicates()
    )
    cond = pending[(pending["scheduled"] == "False").fillna(False)][["namespace", "pod"]]
    stuck = pd.concat([cond, by_event]).drop_duplicates()
    if stuck.empty:
        return []
    p = marks(ctx)
    cand = p.merge(
        pending[["snapshot", "namespace", "pod"]].merge(stuck, on=["namespace", "pod"]),
        on=["snapshot", "namespace", "pod"],
        how="inner",
    )
    # the pending pods and their events read once, keyed (namespace, pod) as the merges per workload match them
    pending_of = keyed([((_key(r.namespace), _key(r.pod)), r) for r in pending.itertuples(index=False)])
    events_of = keyed([((_key(r.object_namespace), _key(r.object_name)), r) for r in events.itertuples(index=False)])
    claim_warnings = _claim_warnings(ctx)
    ready = ctx.nodes["ready"].eq(False).fillna(False).to_numpy(dtype=bool) if "ready" in ctx.nodes else []
    down = sorted(str(n) for n, d in zip(ctx.nodes["node"], ready) if d) if len(ready) else []
    groups = by_workload(cand)
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        keys = set(zip(map(_key, rows["namespace"]), map(_key, rows["pod"])))
        mine, ev = pending_of(keys), events_of(keys)
        has_cond = any(not is_na(r.scheduled) and r.scheduled == "False" for r in mine)
        msgs = [str(r.scheduled_message) for r in mine if not is_na(r.scheduled_message)] + [
            str(r.message) for r in ev if not is_na(r.message)
        ]
        message = msgs[-1] if msgs else None
        conf = 0.8 + (0.08 if has_cond else 0.0) + (0.08 if ev else 0.0)
        arch = _arch_term(mine, message or "")
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w}: {len({r.pod for r in mine if not is_na(r.pod)})} pod(s) Pending, no node fits"
            + (f": {message[:240]}" if message else "")
            + (f" ({arch})" if arch else ""),
        )
        if _blocked_by_down_nodes(down, len(ready), message or ""):
            # the nodes' own state is the cause; the Pending pods follow from it
            f.caused_by = finding_id("node-not-ready", Workload("Node", "", down[0]))
        f.evidence.extend(
            Evidence(
                kind="pod",
                file=str(r.file),
                object=f"Pod {r.namespace}/{r.pod}",
                text=f"phase Pending, PodScheduled={r.scheduled}"
                + ("" if pd.isna(r.scheduled_message) else f": {r.scheduled_message}"),
                snapshot=str(r.snapshot),
            )
            for r in mine[:10]
        )
        f.evidence.extend(event_evidence(ev))
        claims = None
        if message and "persistentvolumeclaim" in message.lower():
            names = _claim_names(mine)
            claims = _claim_events(claim_warnings.get(w.namespace, []), names)
        if claims:
            last_claim = claims[-1]
            f.summary += f"; claim {last_claim.object_name}: {str(last_claim.message)[:200]}"
            f.evidence.extend(event_evidence(claims, supports="why the claim does not bind"))
            message = f"{message} {' '.join(str(c.message) for c in claims if not is_na(c.message))}"
        if not message:
            f.missing_evidence.append(
                MissingEvidence(
                    what="the scheduler's message",
                    why="it says, per node, why none fits",
                    how=f"kubectl -n {q(w.namespace)} describe pod {q(str(mine[0].pod))}",
                )
            )
        f.missing_evidence.extend(missing_events(ctx, rows, "the scheduler's reasons"))
        f.remediation.extend(_remedies(w, str(mine[0].pod), message or ""))
        out.append(f)
    return out


def _claim_names(pending: list[Any]) -> frozenset[str]:
    """The PersistentVolumeClaims the Pending pods (their rows) mount (`spec.volumes[].persistentVolumeClaim`,
    describe's `ClaimName:`); empty when the input does not show volumes (a `get pods` row)."""
    return frozenset(str(c) for r in pending if not is_na(r.claims) for c in r.claims)


def _claim_warnings(ctx: Context) -> dict[str, list[Any]]:
    """The Warning events of PersistentVolumeClaims, per namespace, oldest `last_seen` first (ties in
    the events' order, undated last), read once for every workload."""
    ev = ctx.frames["events"]
    mask = ((ev["object_kind"] == "PersistentVolumeClaim") & (ev["type"] == "Warning")).fillna(False)
    out: dict[str, list[Any]] = {}
    for r in ev[mask].sort_values("last_seen", kind="stable").itertuples(index=False):
        out.setdefault(str(r.object_namespace), []).append(r)
    return out


def _claim_events(warnings: list[Any], names: frozenset[str]) -> list[Any]:
    """Warning events of the PersistentVolumeClaims the pods mount: the scheduler only says a claim is
    unbound, the persistent volume controller or the provisioner says why (no such storage class, an
    access mode the provisioner lacks, a PV too small or bound to another claim, no PV matching the
    selector). Joined on the claim names; only when the input does not show the pods' volumes, on
    the namespace (every claim of it with a warning). An event repeated (same claim, reason and
    message) is kept once, at its latest."""
    mine = [r for r in warnings if not names or r.object_name in names]
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for r in reversed(mine):
        key = tuple(None if is_na(v) else v for v in (r.object_name, r.reason, r.message))
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept[::-1]


def _remedies(w: Any, pod: str, message: str) -> list[Remediation]:
    ns = q(w.namespace)
    spec = "{" + pod_spec_path(w) + "}"
    out = [
        Remediation(
            title="Read the scheduler's reasons per node",
            kind="investigate",
            command=f"kubectl -n {ns} describe pod {q(pod)}",
        )
    ]
    low = message.lower()
    if "insufficient" in low:
        out.append(
            Remediation(
                title="Compare the pod's requests with what the nodes have free; lower the requests or add capacity",
                command="kubectl describe nodes | grep -A 8 'Allocated resources'\n"
                f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath={q(spec)}",
                kind="resources",
            )
        )
    if "affinity" in low or "selector" in low:
        out.append(
            Remediation(
                title="Check the nodeSelector/affinity against the node labels (arch, pool, zone)",
                command=f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath={q(spec)}\n"
                "kubectl get nodes -L kubernetes.io/arch,topology.kubernetes.io/zone",
                kind="config",
            )
        )
    if _NODE_TAINTS.search(message):
        out.append(
            Remediation(
                title="The nodes are not Ready (the scheduler avoids their not-ready/unreachable taint): "
                "fix the nodes; "
                "the pods schedule once a node is Ready",
                command="kubectl get nodes\nkubectl describe nodes | grep -A 6 Conditions",
                kind="investigate",
            )
        )
    elif "taint" in low:
        out.append(
            Remediation(
                title="Compare the node taints with the pod's tolerations",
                command="kubectl get nodes -o custom-columns=" + q("NAME:.metadata.name,TAINTS:.spec.taints"),
                kind="config",
            )
        )
    if "free ports" in low:
        out.append(
            Remediation(
                title="A hostPort the pod asks for is already taken on every node it may use (another pod, or a "
                "process of the node itself, e.g. a load balancer on 80/443): free the port or change it",
                command=f"kubectl -n {ns} get {resource(w)} {q(w.name)} "
                f"-o jsonpath={q('{' + pod_spec_path(w) + '.containers[*].ports}')}\n"
                "kubectl get pods -A -o wide | grep -i <node>   # who holds the port",
                kind="config",
            )
        )
    if "persistentvolumeclaim" in low or "volume" in low:
        out.append(
            Remediation(
                title="Check the pod's volume claims are bound", kind="investigate", command=f"kubectl -n {ns} get pvc"
            )
        )
    if ("storageclass" in low and "not found" in low) or "no storage class is set" in low:
        out.append(
            Remediation(
                title="Point the claim at a storage class that exists (or create it)",
                kind="config",
                command="kubectl get storageclass",
            )
        )
    if "access mode" in low or "accessmode" in low or "multi_node" in low:
        out.append(
            Remediation(
                title="Ask for an access mode the provisioner supports (ReadWriteOnce), or use "
                "a storage class that offers ReadWriteMany",
                kind="config",
                command="kubectl get storageclass -o wide\nkubectl get pv -o wide",
            )
        )
    if "too small" in low or "already bound" in low:
        out.append(
            Remediation(
                title="Check the PersistentVolume the claim names: its size and the claim it is bound to",
                kind="investigate",
                command="kubectl get pv -o wide",
            )
        )
    return out
