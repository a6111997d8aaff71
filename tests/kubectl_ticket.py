"""A support ticket of kubectl text, made by the real kubectl against `forensics serve` of a dump.

`kubectl_ticket(v1, work)` serves the dump, runs what a customer is asked to run (describe every pod,
workload and node; `get` tables in their usual shapes; `get events`; `logs` and `logs --previous` of
every container) and saves each output as a file of a ticket folder; with `concatenated=True` it
also writes everything into one file, each output after a `$ kubectl ...` prompt line, the way
outputs get pasted into a ticket. Commands that fail (no previous container) are left out, as a
customer would leave them out.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from forensics.serve import write_kubeconfig
from tests.dump_builder import served, tool_env

TABLES = (
    ("get-pods.txt", ["get", "pods", "-A"]),
    ("get-pods-wide.txt", ["get", "pods", "-A", "-o", "wide", "--show-labels"]),
    ("get-nodes.txt", ["get", "nodes", "-o", "wide", "-L", "kubernetes.io/arch"]),
    ("get-workloads.txt", ["get", "deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs", "-A", "-o", "wide"]),
    ("get-events.txt", ["get", "events", "-A"]),
    ("get-events-wide.txt", ["get", "events", "-A", "-o", "wide"]),
)
WORKLOAD_KINDS = ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs")


@dataclass
class Ticket:
    folder: Path
    single: Path
    commands: int


def kubectl_ticket(v1: Path, work: Path) -> Ticket:
    """Write `work/ticket/` (a file per command) and `work/ticket.txt` (all of them, with prompts)."""
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "ticket"
    folder.mkdir(exist_ok=True)
    pasted: list[bytes] = []
    n = 0
    with served(v1) as (url, _):
        kubeconfig = work / "kubeconfig"
        write_kubeconfig(kubeconfig, url)
        env = tool_env(work / "home", kubeconfig)

        def run(argv: list[str]) -> bytes | None:
            proc = subprocess.run(["kubectl", *argv], env=env, capture_output=True, timeout=60, check=False)
            return proc.stdout if proc.returncode == 0 and proc.stdout.strip() else None

        def save(rel: str, argv: list[str]) -> None:
            nonlocal n
            out = run(argv)
            if out is None:
                return
            n += 1
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(out)
            pasted.append(f"$ kubectl {shlex.join(argv)}\n".encode() + out + b"\n")

        pods = json.loads(run(["get", "pods", "-A", "-o", "json"]) or '{"items": []}')["items"]
        namespaces = sorted({p["metadata"]["namespace"] for p in pods})
        for rel, argv in TABLES:
            save(rel, argv)
        for i, ns in enumerate(namespaces):
            if i < 2:  # the shapes without a NAMESPACE column
                save(f"get-pods-{ns}.txt", ["get", "pods", "-n", ns])
                save(f"get-events-{ns}.txt", ["get", "events", "-n", ns])
            save(f"describe-pods-{ns}.txt", ["describe", "pods", "-n", ns])
        save("describe-nodes.txt", ["describe", "nodes"])
        if pods:  # one object pasted whole, as engineers ask for it
            first = pods[0]["metadata"]
            save(f"pod-{first['name']}.yaml", ["get", "pod", "-n", first["namespace"], first["name"], "-o", "yaml"])
            save(
                f"deployments-{first['namespace']}.json", ["get", "deployments", "-n", first["namespace"], "-o", "json"]
            )
        for kind in WORKLOAD_KINDS:
            save(f"describe-{kind}.txt", ["describe", kind, "-A"])
        for p in pods:
            ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
            spec = p.get("spec") or {}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                base = ["logs", "-n", ns, name, "-c", c["name"]]
                save(f"logs/{name}_{c['name']}.log", base)
                save(f"logs/{name}_{c['name']}_previous.log", [*base, "--previous"])
    single = work / "ticket.txt"
    single.write_bytes(b"Hi team, here is what you asked for.\r\n\r\n" + b"".join(pasted).replace(b"\n", b"\r\n"))
    return Ticket(folder, single, n)
