"""node-not-ready: a node stopped being Ready: the kubelet stopped posting status (the node is down,
partitioned or overloaded: `NodeStatusUnknown`, "Kubelet stopped posting node status."), or it
reports itself not ready (`KubeletNotReady`: container runtime down, `container runtime network not
ready ... cni config uninitialized`, PLEG not healthy, pressure). Symptom: the pods on it keep their
last reported status (often a stale Running), turn Ready=False, and after the toleration (300s by
default) are evicted and recreated elsewhere; DaemonSet pods stay; new pods stay Pending when every
node carries the `node.kubernetes.io/not-ready` taint.

Proof: the node's Ready condition is not True at its last observation. The node is the cause: one
finding per node (cluster-scoped: no namespace), carrying the condition's reason and message, listing
the workloads it takes down. Each workload with pods not Ready on such a node gets a finding of its
own whose `caused_by` is the node's finding. A node missing from the dump is unknown, not not-ready.
Remediation follows the node's runtime (`docker://`, `containerd://`, `cri-o://`) and suggests
draining only when another node is Ready to take the pods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forensics.analysis.correlate import Context, Rows, Workloads, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload, finding_id
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, new_finding
from forensics.analysis.rules._restart import event_evidence, marks, q, severity
from forensics.values import iso_z

CAUSE = "node-not-ready"
TITLE = "Node not ready"
SPECIFICITY = 70

_NODE_EVENTS = (
    "NodeNotReady",
    "NodeStatusUnknown",
    "Rebooted",
    "NodeHasInsufficientMemory",
    "NodeHasDiskPressure",
    "NodeHasInsufficientPID",
)
# what a Ready condition's message says, and what to do about it
_SAYS = (
    (
        ("cni config uninitialized", "network plugin is not ready", "networkpluginnotready", "no networks found"),
        "no CNI network plugin is installed or configured on the node",
    ),
    (("pleg is not healthy",), "the kubelet's pod lifecycle event generator is stuck (the runtime is unresponsive)"),
    (
        ("container runtime is down", "container runtime not ready", "runtimeready=false"),
        "the container runtime is down",
    ),
    (("stopped posting node status",), "the kubelet stopped reporting (node down, partitioned or overloaded)"),
    (("pressure",), "the node is under resource pressure"),
)
_RUNTIME_UNIT = {"docker": "docker", "containerd": "containerd", "cri-o": "crio"}


def diagnosis(reason: str, message: str) -> str | None:
    low = f"{reason} {message}".lower()
    for needles, what in _SAYS:
        if any(n in low for n in needles):
            return what
    return None


def node_workload(node: str) -> Workload:
    return Workload("Node", "", node)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    nodes = ctx.nodes
    if nodes.empty:
        return []
    down = nodes[nodes["ready"].eq(False).fillna(False)].sort_values("node")
    if down.empty:
        return []
    all_down = len(down) == len(nodes)
    events = ctx.frames["events"]
    events = events[(events["object_kind"] == "Node") & events["reason"].isin(list(_NODE_EVENTS))]
    p = marks(ctx)
    last = p[p["snapshot"] == ctx.snapshots[-1]] if ctx.snapshots else p
    out: list[Finding] = []
    pod_rows = ctx.frames["pods"]
    pod_rows = pod_rows[pod_rows["snapshot"] == ctx.snapshots[-1]] if ctx.snapshots else pod_rows
    # the containers, pods and events of each node, grouped once; each node's part is read from lists
    containers = Workloads.at(last, [])
    containers_on = last.groupby("node", sort=False).indices if not last.empty else {}
    running = pod_rows[~pod_rows["phase"].isin(["Succeeded"]).fillna(False).to_numpy(dtype=bool)]
    pods = Workloads.at(running, [])
    pods_on = running.groupby("node", sort=False).indices if not running.empty else {}
    node_events = Workloads.at(events, [])
    events_on = events.groupby("object_name", sort=False).indices if not events.empty else {}
    none = np.zeros(0, dtype=np.int64)
    for r in down.itertuples(index=False):
        node = str(r.node)
        reason = "" if pd.isna(r.ready_reason) else str(r.ready_reason)
        message = "" if pd.isna(r.ready_message) else str(r.ready_message)
        what = diagnosis(reason, message)
        on = Rows(containers, np.sort(containers_on.get(node, none)))
        on_pods = Rows(pods, np.sort(pods_on.get(node, none)))
        takes = sorted(
            {
                str(Workload(str("Pod" if is_na(k) else k) or "Pod", str(n), str(m)))
                for k, n, m in zip(on_pods["workload_kind"], on_pods["namespace"], on_pods["workload_name"])
            }
        )
        f = new_finding(
            CAUSE,
            node_workload(node),
            on,
            severity="critical" if all_down else "high",
            confidence=0.9 + (0.05 if reason or message else 0.0),
            summary=f"Node {node} is not Ready"
            + (f" ({reason}: {message[:240]})" if message else f" ({reason})" if reason else "")
            + (f": {what}" if what else "")
            + ("; every node of the cluster is NotReady" if all_down else ""),
        )
        f.nodes = [node]
        f.node_archs = [] if pd.isna(r.arch) else [str(r.arch)]
        f.takes_down = takes
        f.evidence.append(
            Evidence(
                kind="node",
                file=str(r.file),
                object=f"Node {node}",
                text="Ready=False/Unknown"
                + (f", reason {reason}" if reason else "")
                + (f", message: {message[:400]}" if message else "")
                + ("" if pd.isna(r.ready_since) else f", since {iso_z(r.ready_since)}")
                + ("" if is_na(r.taints) else f"; taints {','.join(r.taints)}"),
                snapshot=str(r.snapshot),
            )
        )
        ev = Rows(node_events, np.sort(events_on.get(node, none))).unique(("reason", "message")).records()
        f.evidence.extend(event_evidence(ev))
        if not message and not reason:
            f.missing_evidence.append(
                MissingEvidence(
                    what=f"the Ready condition of node {node} says nothing",
                    why="its message names what is broken",
                    how=f"kubectl describe node {q(node)}",
                )
            )
        if not ev:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no NodeNotReady events",
                    why="they date when the node went away",
                    how="kubectl get events -A --field-selector involvedObject.kind=Node",
                )
            )
        runtime = None if pd.isna(r.runtime) else str(r.runtime)
        f.remediation.extend(_node_remedies(node, what, runtime, all_down))
        out.append(f)
    out.extend(_consequences(ctx, p, down))
    return out


def _consequences(ctx: Context, p: pd.DataFrame, down: pd.DataFrame) -> list[Finding]:
    """A finding per workload whose pods are not Ready on a not-ready node, caused by that node."""
    if not ctx.snapshots:
        return []
    last = ctx.snapshots[-1]
    pods = ctx.frames["pods"]
    lp = pods[
        (pods["snapshot"] == last)
        & pods["node"].isin(down["node"].astype(str).tolist())
        & ~pods["phase"].isin(["Succeeded"]).fillna(False)
        & ~pods["ready"].eq(True).fillna(False)
    ]
    if lp.empty:
        return []
    cand = p[p["node_down"] & (p["snapshot"] == last)].merge(lp[["namespace", "pod"]], on=["namespace", "pod"])
    out = []
    groups = by_workload(cand)
    for i, w in groups.each():
        if w.kind == "StaticPod":
            continue  # a node's own static pods are the node's business, listed in its takes_down
        rows = groups.sel(i)
        names = sorted({str(n) for n in rows.present("node")})
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=0.85,
            summary=f"{w}: {rows.nunique('pod')} pod(s) not Ready on node(s) {', '.join(names[:4])} that are not Ready",
        )
        f.caused_by = finding_id(CAUSE, node_workload(names[0]))
        f.remediation.append(
            Remediation(
                title=f"Nothing to change in {w}: its pods recover (or are rescheduled) once node {names[0]} is Ready "
                "again; see that node's finding",
                command=f"kubectl get node {q(names[0])}\nkubectl -n {q(w.namespace)} get pods -o wide",
                kind="investigate",
            )
        )
        pr = rows.unique(("namespace", "pod")).head(5)
        f.evidence.extend(
            Evidence(
                kind="pod",
                file=str(r.file),
                object=f"Pod {r.namespace}/{r.pod}",
                text=f"on not-ready node {r.node}",
                snapshot=str(r.snapshot),
            )
            for r in pr.records()
        )
        out.append(f)
    return out


def _node_remedies(node: str, what: str | None, runtime: str | None, all_down: bool) -> list[Remediation]:
    unit = _RUNTIME_UNIT.get(runtime or "")
    rt = (
        f"systemctl status {unit}; journalctl -u {unit} --since -1h"
        if unit
        else "systemctl status containerd  # the node's runtime is unknown: check the one it uses"
    )
    crictl = "docker ps -a" if runtime == "docker" else "crictl ps -a"
    out = [
        Remediation(
            title=f"Read why node {node} is not Ready (conditions, kubelet, {runtime or 'runtime'})",
            command=f"kubectl describe node {q(node)}\n# on the node: journalctl -u kubelet --since -1h; {rt}",
            kind="investigate",
        )
    ]
    if what and what.startswith("no CNI"):
        out.append(
            Remediation(
                title="Install (or repair) the cluster's network add-on; the kubelet waits for a config "
                "in /etc/cni/net.d",
                command="kubectl get pods -n kube-system -o wide   # is a CNI DaemonSet (calico, "
                "flannel, cilium, weave) "
                "there?\n# on the node: ls /etc/cni/net.d /opt/cni/bin\n"
                "kubectl apply -f <your network add-on's manifest>",
                kind="config",
            )
        )
    elif what and ("runtime" in what or "lifecycle" in what):
        out.append(
            Remediation(
                title=f"Restart the container runtime ({unit or 'runtime'}) and the kubelet on {node}",
                command=f"# on the node: {crictl}\n# systemctl restart {unit or 'containerd'} kubelet",
                kind="restart",
            )
        )
    if not all_down:
        out.append(
            Remediation(
                title="Move the pods off the node while it is repaired",
                command=f"kubectl drain {q(node)} --ignore-daemonsets --delete-emptydir-data",
                kind="restart",
            )
        )
    return out
