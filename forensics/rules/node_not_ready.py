"""node-not-ready: the pod's node stopped being Ready: the kubelet stopped posting status (the node
is down, partitioned or overloaded: `NodeStatusUnknown`, "Kubelet stopped posting node status."),
or it reports itself not ready (`KubeletNotReady`: container runtime down, CNI not initialised,
PLEG unhealthy). Symptom: the pods on it keep their last reported status (often a stale Running),
turn Ready=False, and after the toleration (300s by default) are evicted and recreated elsewhere;
DaemonSet pods stay.

Proof: the node's Ready condition is not True in the same snapshot as the pod: one finding per
workload with pods there. A node missing from the dump is unknown, not not-ready.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from forensics.correlate import Context, iso
from forensics.findings import Evidence, Finding, MissingEvidence, Remediation
from forensics.rules import rule
from forensics.rules._common import by_workload, new_finding
from forensics.rules._restart import event_evidence, marks, q, severity

CAUSE = "node-not-ready"


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    cand = p[p["node_down"]]
    if cand.empty:
        return []
    nodes = ctx.frames["nodes"]
    down = nodes[nodes["ready"].eq(False).fillna(False)]
    node_events = ctx.frames["events"]
    node_events = node_events[(node_events["object_kind"] == "Node")
                              & node_events["reason"].isin(["NodeNotReady", "NodeStatusUnknown", "Rebooted",
                                                            "NodeHasInsufficientMemory", "NodeHasDiskPressure"])]
    out: list[Finding] = []
    for w, rows in by_workload(cand):
        names = sorted(rows["node"].dropna().astype(str).unique())
        mine = down[down["node"].isin(names)].merge(rows[["snapshot", "node"]].drop_duplicates(),
                                                   on=["snapshot", "node"])
        mine = mine.sort_values("snapshot_index").drop_duplicates("node", keep="last")
        ev = node_events[node_events["object_name"].isin(names)].drop_duplicates(["object_name", "reason", "message"])
        reasons = sorted(mine["ready_reason"].dropna().astype(str).unique())
        conf = 0.85 + (0.05 if reasons else 0.0) + (0.05 if not ev.empty else 0.0)
        f = new_finding(CAUSE, w, rows, severity=severity(ctx, w), confidence=round(min(conf, 0.97), 2),
                        summary=f"{w}: {rows['pod'].nunique()} pod(s) on node(s) {', '.join(names[:4])} that are "
                                f"not Ready" + (f" ({', '.join(reasons)})" if reasons else ""))
        f.evidence.extend(Evidence(kind="node", file=str(r.file), object=f"Node {r.node}",
                                   text=f"Ready={'False/Unknown'}"
                                        + ("" if pd.isna(r.ready_reason) else f", reason {r.ready_reason}")
                                        + ("" if pd.isna(r.ready_since) else f", since {iso(r.ready_since)}"),
                                   snapshot=str(r.snapshot))
                          for r in mine.head(10).itertuples(index=False))
        f.evidence.extend(event_evidence(ev))
        pods = rows.sort_values("snapshot_index").drop_duplicates(["namespace", "pod"], keep="last")
        f.evidence.extend(Evidence(kind="pod", file=str(r.file), object=f"Pod {r.namespace}/{r.pod}",
                                   text=f"scheduled on not-ready node {r.node}", snapshot=str(r.snapshot))
                          for r in pods.head(5).itertuples(index=False))
        if ev.empty:
            f.missing_evidence.append(MissingEvidence(
                what="no NodeNotReady events", why="they date when the node went away",
                how="kubectl get events -A --field-selector involvedObject.kind=Node"))
        f.remediation.extend(_remedies(w, names))
        out.append(f)
    return out


def _remedies(w: Any, nodes: list[str]) -> list[Remediation]:
    out = []
    for n in nodes[:3]:
        out.append(Remediation(title=f"See why node {n} is not Ready (conditions, kubelet, runtime, network)",
                               command=f"kubectl describe node {q(n)}\n"
                                       f"# on the node: journalctl -u kubelet --since -1h; systemctl status containerd",
                               kind="investigate"))
    if w.kind != "DaemonSet" and nodes:
        out.append(Remediation(title="Move the pods off the node while it is repaired",
                               command=f"kubectl drain {q(nodes[0])} --ignore-daemonsets --delete-emptydir-data",
                               kind="restart"))
    return out
