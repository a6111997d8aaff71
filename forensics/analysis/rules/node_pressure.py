"""node-pressure: a node that stays Ready ran short of memory, disk (nodefs/imagefs, inodes) or PIDs,
and its kubelet's eviction manager evicted pods to reclaim it. Symptom: the node's `MemoryPressure`,
`DiskPressure` or `PIDPressure` condition is True (`KubeletHasInsufficientMemory: kubelet has
insufficient memory available`, `KubeletHasDiskPressure: kubelet has disk pressure`), the node carries
the `node.kubernetes.io/memory-pressure` (`disk-pressure`, `pid-pressure`) taint, the kubelet posts
`EvictionThresholdMet` ("Attempting to reclaim memory") and `NodeHasInsufficientMemory` /
`NodeHasDiskPressure` / `NodeHasInsufficientPID` events about the node, and pods end in phase Failed
with `reason: Evicted` and "The node was low on resource: memory. Threshold quantity: 100Mi,
available: 92Mi. Container app was using 1Gi, request is 0, has larger consumption of memory."

Proof: the node's own pressure condition True at its last observation, or the kubelet's words about
that node (its eviction events, or pods evicted from it because "the node was low on resource").
An eviction for a pod's own limit (`exceeds the total limit of containers`, `exceeded its local
ephemeral storage limit`) is the pod's business, not the node's, and proves nothing here. The node is
the cause: one finding per node (cluster-scoped: no namespace) carrying the condition's reason and
message and the resources the kubelet named; the workloads evicted from it are its consequences
(their `evicted` findings have `caused_by` this finding). A node that is not Ready is
`node-not-ready`'s, whose finding carries the same pressure words: never two findings for one node.
Refuted by pressure conditions False with no pressure eviction about the node and no eviction event
within the failing-now window (older ones about a node that recovered are history).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis.correlate import RECENT, Context, Rows, Workloads, is_na, reference_time
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload, finding_id
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import new_finding
from forensics.analysis.rules._restart import DISK_RESOURCES, event_evidence, marks, q
from forensics.values import iso_z

CAUSE = "node-pressure"
TITLE = "Node under resource pressure (kubelet evicting pods)"
SPECIFICITY = 65

# the kubelet's events about a node under pressure (pkg/kubelet/eviction, nodestatus setters)
PRESSURE_EVENTS = ("EvictionThresholdMet", "NodeHasInsufficientMemory", "NodeHasDiskPressure", "NodeHasInsufficientPID")
# what the kubelet says about the disk while it reclaims it: evidence, never proof by itself
_DISK_EVENTS = ("FreeDiskSpaceFailed", "ImageGCFailed")
LOW_ON = re.compile(r"low on resource: ([\w./-]+)")
_RECLAIM = re.compile(r"[Aa]ttempting to reclaim ([\w./-]+)")
_CONDITION_RESOURCE = {"MemoryPressure": "memory", "DiskPressure": "ephemeral-storage", "PIDPressure": "pids"}
_EVENT_RESOURCE = {
    "NodeHasInsufficientMemory": "memory",
    "NodeHasDiskPressure": "ephemeral-storage",
    "NodeHasInsufficientPID": "pids",
}


def node_pressure_id(node: str) -> str:
    """The id of the finding about `node` under pressure (what an eviction's `caused_by` names)."""
    return finding_id(CAUSE, Workload("Node", "", node))


def _pressure_evictions(ctx: Context) -> pd.DataFrame:
    """Pods the kubelet evicted because their node was low on a resource, each pod once (its last row)."""
    pods = ctx.frames["pods"]
    ev = pods[(pods["reason"] == "Evicted") & pods["node"].notna()]
    ev = ev[ev["message"].fillna("").astype(str).str.contains("low on resource", regex=False)]
    return ev.drop_duplicates(["namespace", "pod"], keep="last")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    nodes = ctx.nodes
    events = ctx.frames["events"]
    nev = events[(events["object_kind"] == "Node") & events["reason"].isin(list(PRESSURE_EVENTS + _DISK_EVENTS))]
    evictions = _pressure_evictions(ctx)
    known = nodes.set_index("node", drop=False) if not nodes.empty else nodes
    candidates = sorted(
        set(nodes.loc[nodes["pressure"].map(lambda v: not is_na(v) and len(v) > 0), "node"].astype(str))
        | set(nev.loc[nev["reason"].isin(list(PRESSURE_EVENTS)), "object_name"].dropna().astype(str))
        | set(evictions["node"].astype(str))
    )
    p = marks(ctx)
    # what each candidate node's finding reads, grouped once: a cluster can have hundreds of such nodes
    node_row = {str(r["node"]): r for r in known.to_dict("records")} if not nodes.empty else {}
    ev_of: dict[str, list[Any]] = {}
    for r in nev.drop_duplicates(["object_name", "reason", "message"]).itertuples(index=False):
        if not is_na(r.object_name):
            ev_of.setdefault(str(r.object_name), []).append(r)
    evicted_on: dict[str, list[Any]] = {}
    for r in evictions.itertuples(index=False):
        evicted_on.setdefault(str(r.node), []).append(r)
    last = p[p["node"].isin(candidates)]
    last = last[(last["snapshot"] == ctx.snapshots[-1]).fillna(False)] if ctx.snapshots else last
    table = Workloads.at(last, [])
    at = {str(k): v for k, v in last.groupby("node", sort=False).indices.items()} if not last.empty else {}
    out: list[Finding] = []
    for node in candidates:
        row = node_row.get(node)
        if row is not None and not is_na(row["ready"]) and not bool(row["ready"]):
            continue  # node-not-ready's finding, which carries the pressure in the node's words
        words = [] if row is None or is_na(row["pressure"]) else list(row["pressure_words"] or [])
        now = [] if row is None or is_na(row["pressure"]) else list(row["pressure"])
        ev = ev_of.get(node, [])
        mine = evicted_on.get(node, [])
        texts = [str(r.message) for r in mine]
        resources = list(
            dict.fromkeys(
                [_CONDITION_RESOURCE[c] for c in now if c in _CONDITION_RESOURCE]
                + [m.group(1).rstrip(".") for t in texts for m in LOW_ON.finditer(t)]
                + [
                    m.group(1).rstrip(".")
                    for r in ev
                    if not is_na(r.message)
                    for m in _RECLAIM.finditer(str(r.message))
                ]
                + [_EVENT_RESOURCE[r.reason] for r in ev if not is_na(r.reason) and r.reason in _EVENT_RESOURCE]
            )
        )
        takes = sorted(
            {
                str(
                    Workload(
                        str("Pod" if is_na(r.workload_kind) else r.workload_kind) or "Pod",
                        str(r.namespace),
                        str(r.workload_name),
                    )
                )
                for r in mine
            }
        )
        over = row is not None and not now  # the node is read and reports no pressure now
        if over and not mine and not _recent(ctx, ev):
            continue  # old events about a node that recovered and evicted nothing still listed: history
        rows = Rows(table, at.get(node, np.zeros(0, dtype=np.int64)))
        f = new_finding(
            CAUSE,
            Workload("Node", "", node),
            rows.where(table.flag("evicted")),
            severity="low" if over and not takes else "medium" if over else "high",
            confidence=round(
                min(0.97, 0.8 + (0.1 if now else 0.0) + (0.05 if texts else 0.0) + (0.04 if ev else 0.0)), 2
            ),
            summary=f"Node {node} "
            + ("was" if over else "is")
            + " under resource pressure"
            + (f" ({'; '.join(words)[:300]})" if words else f": low on {', '.join(resources)}" if resources else "")
            + (f"; the kubelet evicted {len(mine)} pod(s) of {len(takes)} workload(s)" if takes else "")
            + ("; its pressure conditions are False now" if over else ""),
        )
        f.nodes = [node]
        f.node_archs = [] if row is None or is_na(row["arch"]) else [str(row["arch"])]
        f.takes_down = takes
        f.first_seen, f.last_seen = _since(ctx, f, mine, ev)
        if row is not None:
            f.evidence.append(
                Evidence(
                    kind="node",
                    file=str(row["file"]),
                    object=f"Node {node}",
                    text=("; ".join(words) if words else "no pressure condition True now")
                    + (", Ready" if not is_na(row["ready"]) and bool(row["ready"]) else "")
                    + ("" if is_na(row["taints"]) else f"; taints {','.join(row['taints'])}"),
                    snapshot=str(row["snapshot"]),
                )
            )
        f.evidence.extend(event_evidence(ev))
        f.evidence.extend(
            Evidence(
                kind="pod",
                file=str(r.file),
                object=f"Pod {r.namespace}/{r.pod}",
                text=f"evicted from node {node}: {r.message}",
                snapshot=str(r.snapshot),
            )
            for r in mine[:10]
        )
        if row is None:
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"no Node object for {node}",
                    why="its conditions say whether the pressure lasts and what the kubelet reports",
                    how=f"kubectl get node {q(node)} -o yaml",
                )
            )
        if not ev:
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"no eviction events about node {node}",
                    why="EvictionThresholdMet and NodeHas*Pressure events date the pressure and name the resource",
                    how=f"kubectl get events -A --field-selector involvedObject.kind=Node,involvedObject.name={node}",
                )
            )
        f.remediation.extend(_remedies(node, resources))
        out.append(f)
    return out


def _since(ctx: Context, f: Finding, mine: list[Any], ev: list[Any]) -> tuple[str | None, str | None]:
    """The node's first failure: the earliest of the kubelet's pressure events about it, the Warning
    events about the pods it evicted, and what its rows say (the evicted pods are in other namespaces
    than the node's finding, so the per-finding first failure cannot find their events)."""
    _, warned = ctx.pod_first_times
    times = [warned.get((r.namespace, r.pod)) for r in mine] + [r.first_seen for r in ev]
    seen = [w for w in (iso_z(t) for t in times if t is not None and not is_na(t)) if w]
    first = min([*seen, *([f.first_seen] if f.first_seen else [])], default=None)
    last = f.last_seen if f.last_seen is None or first is None or f.last_seen >= first else first
    return first, last


def _recent(ctx: Context, ev: list[Any]) -> bool:
    """Whether a pressure event about the node (its rows) is within the failing-now window of the collection."""
    ref = reference_time(ctx.meta)
    seen = [r.last_seen for r in ev if not is_na(r.reason) and r.reason in PRESSURE_EVENTS and not is_na(r.last_seen)]
    return ref is not None and bool(seen) and bool(max(seen) >= ref - RECENT)


def _remedies(node: str, resources: list[str]) -> list[Remediation]:
    out = [
        Remediation(
            title=f"Read node {node}'s pressure conditions, allocated requests and recent evictions",
            command=f"kubectl describe node {q(node)}\n"
            f"kubectl get pods -A -o wide --field-selector spec.nodeName={node}",
            kind="investigate",
        ),
        Remediation(
            title=f"See which pods use the most on {node} (their requests are what the scheduler counted)",
            command=f"kubectl top pods -A --sort-by=memory | head -20\nkubectl top node {q(node)}",
            kind="investigate",
        ),
    ]
    if not resources or "memory" in resources:
        out.append(
            Remediation(
                title="Give the pods memory requests (and limits) near their real use, so the scheduler stops "
                "overcommitting the node",
                command="kubectl -n <NAMESPACE> set resources deployment/<NAME> --requests=memory=<USAGE> "
                "--limits=memory=<LIMIT>",
                kind="resources",
            )
        )
    if any(r.startswith(DISK_RESOURCES) for r in resources):
        out.append(
            Remediation(
                title="Free the node's disk: unused images (image GC), container logs, emptyDir data; bound "
                "ephemeral-storage and emptyDir sizeLimit",
                command="# on the node: df -h /var/lib/kubelet /var/lib/containerd; df -i\n"
                "# on the node: crictl rmi --prune; journalctl -u kubelet | grep -i -e eviction -e 'image garbage'",
                kind="config",
            )
        )
    if any(r.startswith(("pids", "pid")) for r in resources):
        out.append(
            Remediation(
                title="Find the process that forks without bound, and cap pods' PIDs (kubelet podPidsLimit)",
                command="# on the node: ps -eLf | wc -l; ps -e -o pid,nlwp,comm --sort=-nlwp | head",
                kind="investigate",
            )
        )
    return out
