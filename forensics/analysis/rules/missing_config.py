"""missing-config: a container references a ConfigMap, a Secret or a key in one that does not exist
in its namespace (not created yet, created in another namespace, a typo, a key renamed). Symptom:
the container never starts; it waits in `CreateContainerConfigError` with the kubelet's message
`configmap "app-config" not found`, `secret "db-creds" not found` or `couldn't find key password
in Secret shop/db-creds`; for a volume, the pod stays in ContainerCreating with a `FailedMount`
event `MountVolume.SetUp failed for volume "config" : configmap "app-config" not found`.

Proof: the waiting reason with that message names the missing object: near-certain. The message
alone (an event) is strong; the reason without its message only says *some* reference is missing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding, MissingEvidence, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import by_workload, container_evidence, new_finding, sig_evidence
from forensics.analysis.rules._restart import marks, missing_events, q, severity, sigs_by_workload, texts

CAUSE = "missing-config"
TITLE = "Missing ConfigMap, Secret or key"
SPECIFICITY = 110
HINTS = ("missing-config",)

_OBJ = re.compile(r"\b(configmaps?|secrets?) \"([^\"]+)\" not found", re.IGNORECASE)
_KEY = re.compile(r"couldn't find key (\S+) in (ConfigMap|Secret) (?:([^/\s]+)/)?(\S+)")


def missing_objects(texts: list[str]) -> list[tuple[str, str, str | None]]:
    """(kind, name, key) of every missing object the kubelet's messages name, in order, once each."""
    out: list[tuple[str, str, str | None]] = []
    for t in texts:
        for m in _KEY.finditer(t):
            out.append((m.group(2).lower(), m.group(4), m.group(1)))
        for m in _OBJ.finditer(t):
            out.append((m.group(1).lower().rstrip("s"), m.group(2), None))
    return list(dict.fromkeys(out))


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    p = marks(ctx)
    not_running = (p["state"] != "running").fillna(True).to_numpy(dtype=bool)
    cand = p[p["config_wait"] | (p["config_sig"] & not_running)]
    sigs_of = sigs_by_workload(ctx, cand, ("missing-config",))
    out: list[Finding] = []
    groups = by_workload(cand)
    config_wait = groups.flag("config_wait")
    for i, w in groups.each():
        rows = groups.sel(i)
        sigs = sigs_of(w)
        missing = missing_objects(texts(sigs) + [str(m) for m in rows.present("waiting_message")])
        reason = rows.any(config_wait)
        conf = (0.6 if reason else 0.0) + (0.35 if missing else 0.0) + (0.15 if missing and not reason else 0.0)
        names = ", ".join(f"{k} {n}" + (f" (key {key})" if key else "") for k, n, key in missing[:4])
        f = new_finding(
            CAUSE,
            w,
            rows,
            severity=severity(ctx, w),
            confidence=round(min(conf, 0.97), 2),
            summary=f"{w} cannot start its containers: "
            + (
                f"{names} missing in namespace {w.namespace}"
                if names
                else "a referenced ConfigMap/Secret or key is missing"
            ),
        )
        f.evidence.extend(container_evidence(rows.where(config_wait), _text))
        f.evidence.extend(sig_evidence(sigs))
        if not missing:
            f.missing_evidence.append(
                MissingEvidence(
                    what="the message naming the missing object",
                    why="it says which ConfigMap/Secret or key to create",
                    how=f"kubectl -n {q(w.namespace)} describe pod {q(str(rows['pod'][-1]))}",
                )
            )
        f.missing_evidence.extend(missing_events(ctx, rows, "which reference is missing"))
        f.remediation.extend(_remedies(w.namespace, missing))
        out.append(f)
    return out


def _text(r: Any) -> str:
    msg = r.waiting_message
    return f"waiting: CreateContainerConfigError{'' if pd.isna(msg) else ': ' + str(msg)}"[:500]


def _remedies(ns_: str, missing: list[tuple[str, str, str | None]]) -> list[Remediation]:
    ns = q(ns_)
    out = []
    for kind, name, key in missing[:4]:
        n = q(name)
        if key:
            get = f"kubectl -n {ns} get {kind} {n} -o jsonpath='{{.data}}'"
            field = "data" if kind == "configmap" else "stringData"
            add = f"kubectl -n {ns} patch {kind} {n} --type merge -p {q(json.dumps({field: {key: '<VALUE>'}}))}"
            out.append(
                Remediation(
                    title=f"Add the key {key} to {kind} {name} (or fix the key name in the pod spec)",
                    command=f"{get}\n{add}",
                    kind="config",
                )
            )
        elif kind == "configmap":
            out.append(
                Remediation(
                    title=f"Create ConfigMap {name} in {ns_} (or fix the name in the pod spec)",
                    command=f"kubectl -n {ns} get configmap {n}\n"
                    f"kubectl -n {ns} create configmap {n} --from-file=<FILE>",
                    kind="config",
                )
            )
        else:
            out.append(
                Remediation(
                    title=f"Create Secret {name} in {ns_} (or fix the name in the pod spec)",
                    command=f"kubectl -n {ns} get secret {n}\n"
                    f"kubectl -n {ns} create secret generic {n} --from-literal=<KEY>=<VALUE>",
                    kind="config",
                )
            )
    if not missing:
        out.append(
            Remediation(
                title="Find the missing reference in the pod's events",
                command=f"kubectl -n {ns} get events --field-selector reason=Failed",
                kind="investigate",
            )
        )
    return out
