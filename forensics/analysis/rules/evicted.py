"""evicted: the kubelet evicted the pod because its node ran short of a resource (memory,
ephemeral-storage, inodes, PIDs): typically pods without requests, or one pod writing logs or
emptyDir data until the disk filled. Symptom: pods in phase Failed with `reason: Evicted` and the
kubelet's message `The node was low on resource: memory. Threshold quantity: 100Mi, available:
80Mi. Container app was using 1.2Gi, request is 0, ...`; the controller makes new pods, the evicted
ones stay listed until garbage-collected.

Proof: the pod status itself (phase Failed, reason Evicted) is direct; its message, or the
`Evicted` event, names the resource and the container that used it.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context, Rows, is_na
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload, finding_id
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, container_flag, container_known, keyed, new_finding
from forensics.analysis.rules._common import merge_key as _key
from forensics.analysis.rules._restart import (
    DISK_RESOURCES,
    event_evidence,
    marks,
    pod_event_rows,
    q,
    resource,
    severity,
)

CAUSE = "evicted"
TITLE = "Pods evicted (node pressure)"
SPECIFICITY = 60

_RESOURCE = re.compile(r"low on resource: ([\w./-]+)")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    cand = p[p["evicted"]]
    pods = ctx.frames["pods"]
    ev_pods = pods[(pods["reason"] == "Evicted").fillna(False)]
    # the evicted pods' rows once, keyed (snapshot, namespace, pod) as the merge below matches them
    evicted = keyed([((_key(r.snapshot), _key(r.namespace), _key(r.pod)), r) for r in ev_pods.itertuples(index=False)])
    down = set(ctx.nodes.loc[ctx.nodes["ready"].eq(False).fillna(False), "node"].astype(str))
    groups = by_workload(cand)
    out: list[Finding] = []
    for i, w in groups.each():
        rows = groups.sel(i)
        mine = _last_per_pod(evicted(zip(*(map(_key, rows[c]) for c in ("snapshot", "namespace", "pod")))))
        events = pod_event_rows(ctx, rows, ("Evicted",))
        texts = [str(r.message) for r in mine + events if not is_na(r.message)]
        resources = list(dict.fromkeys(m.group(1).rstrip(".") for t in texts for m in _RESOURCE.finditer(t)))
        conf = 0.85 + (0.07 if texts else 0.0) + (0.05 if events else 0.0)
        low = f"its node ran low on {', '.join(resources)}" if resources else "its node ran short of a resource"
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w}: {len({r.pod for r in mine if not is_na(r.pod)})} pod(s) evicted: {low}",
        )
        f.evidence.extend(
            Evidence(
                kind="pod",
                file=str(r.file),
                object=f"Pod {r.namespace}/{r.pod}",
                text=f"phase {r.phase}, reason Evicted" + ("" if pd.isna(r.message) else f": {r.message}"),
                snapshot=str(r.snapshot),
            )
            for r in mine[:10]
        )
        f.evidence.extend(event_evidence(events))
        if not texts:
            f.missing_evidence.append(
                MissingEvidence(
                    what="no eviction message",
                    why="it names the resource the node was short of",
                    how=f"kubectl -n {q(w.namespace)} get pods --field-selector=status.phase=Failed -o wide",
                )
            )
        f.remediation.extend(_remedies(w, rows, resources))
        f.caused_by = _node_cause(mine, down)
        out.append(f)
    return out


def _last_per_pod(rows: list[Any]) -> list[Any]:
    """Each pod's last row, in row order (`drop_duplicates(["namespace", "pod"], keep="last")`)."""
    last: dict[tuple[Any, Any], Any] = {}
    for r in rows:
        k = (_key(r.namespace), _key(r.pod))
        last.pop(k, None)
        last[k] = r
    return list(last.values())


def _node_cause(mine: list[Any], down: set[str]) -> str | None:
    """The finding of the node the pods (their rows) were evicted from: `node-not-ready` when that node
    is not Ready (`down`), else `node-pressure` for evictions because the node was low on a resource (an
    eviction for a pod's own limit is not the node's). A link to a finding that does not exist is
    dropped later."""
    pressed = [r for r in mine if not is_na(r.message) and "low on resource" in str(r.message)]
    on = sorted({str(r.node) for r in pressed if not is_na(r.node)}) or sorted(
        {str(r.node) for r in mine if not is_na(r.node)}
    )
    if not on:
        return None
    if on[0] in down:
        return finding_id("node-not-ready", Workload("Node", "", on[0]))
    return finding_id("node-pressure", Workload("Node", "", on[0])) if pressed else None


def _remedies(w: Any, rows: Rows, resources: list[str]) -> list[Remediation]:
    out = []
    for node in sorted({str(n) for n in rows.present("node")})[:3]:
        out.append(
            Remediation(
                title=f"See the pressure conditions and what else runs on node {node}",
                command=f"kubectl describe node {q(node)}",
                kind="investigate",
            )
        )
    cs = sorted(c for c in {str(c) for c in rows.present("container")} if container_known(c))
    c_opt = container_flag(cs[0]) if cs else ""
    if "memory" in resources or not resources:
        out.append(
            Remediation(
                title="Give the containers memory requests that match their real use, so the scheduler reserves it",
                command=f"kubectl -n {q(w.namespace)} set resources {resource(w)}/{q(w.name)}{c_opt} "
                f"--requests=memory=<USAGE>",
                kind="resources",
            )
        )
    if any(r.startswith(DISK_RESOURCES) for r in resources):
        out.append(
            Remediation(
                title="Bound the container's disk use (ephemeral-storage requests/limits, emptyDir "
                "sizeLimit, log volume)",
                command=f"kubectl -n {q(w.namespace)} set resources {resource(w)}/{q(w.name)}{c_opt} "
                f"--requests=ephemeral-storage=<SIZE> --limits=ephemeral-storage=<SIZE>",
                kind="resources",
            )
        )
    out.append(
        Remediation(
            title="Remove the leftover evicted pods once the cause is fixed",
            command=f"kubectl -n {q(w.namespace)} delete pods --field-selector=status.phase=Failed",
            kind="restart",
        )
    )
    return out
