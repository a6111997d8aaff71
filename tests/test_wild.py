"""Real dumps from public projects give the diagnosis a support engineer gives (#13).

Each input is a dump someone else's cluster produced (where from, and the expected diagnosis:
`tests/fixtures/wild/SOURCES.md` for the copies kept here, `../shared/wild/SOURCES.md` for the
others, read from next to the repository and skipped when absent). One test per input: the cause
of each failing workload, and nothing where nothing is failing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from forensics.analysis.analyze import analyze
from forensics.errors import UnusableInput
from forensics.read.formats import load_any

HERE = Path(__file__).resolve().parent / "fixtures" / "wild"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "wild"


def _input(rel: str) -> Path:
    for root in (HERE, SHARED):
        if (root / rel).exists():
            return root / rel
    pytest.skip(f"{rel} is not next to the repository ({SHARED})")


def _doc(rel: str) -> dict[str, Any]:
    return analyze(load_any(_input(rel)))


def _causes(doc: dict[str, Any]) -> dict[str, str]:
    """ "Kind ns/name" (nodes: "Node name") -> primary cause, for the failing (non-latent) findings."""
    out = {}
    for f in doc["findings"]:
        w = f["workload"]
        out[f"{w['kind']} {w['namespace']}/{w['name']}" if w["namespace"] else f"{w['kind']} {w['name']}"] = f["cause"]
    return out


def _no_arch(doc: dict[str, Any]) -> None:
    assert not [f for f in doc["findings"] + doc["latent"] if f["cause"].startswith("arch.")]


def test_sbctl_kurl_velero_bad_args() -> None:
    doc = _doc("sbctl-kurl")
    assert _causes(doc) == {"Deployment velero/velero": "app-crash"}
    f = doc["findings"][0]
    assert "unknown command" in f["summary"] and f["severity"] == "medium"  # the old ReplicaSet's pod still serves
    assert f["remediation"][0]["kind"] == "config" and "args" in f["remediation"][0]["command"]
    assert not any("--previous" in r["command"] for r in f["remediation"])  # velero-previous.log is in the dump
    _no_arch(doc)
    # old restarts (static pods, weave) are history, grouped by component, never a Node workload
    hist = {(h["workload"]["kind"], h["workload"]["name"]) for h in doc["restart_history"]}
    assert {("StaticPod", "kube-controller-manager"), ("StaticPod", "haproxy"), ("DaemonSet", "weave-net")} <= hist
    assert all(h["severity"] == "info" for h in doc["restart_history"])
    assert not [w for w in hist if w[0] == "Node"]


def test_troubleshoot_k3d_arm64_restarts_only() -> None:
    doc = _doc("ts-k3d-arm64/support-bundle.tar.gz")
    assert doc["findings"] == [] and doc["latent"] == []
    assert "Nothing is failing now among 8 pod(s)" in doc["summary"]["verdict"]
    hist = {h["workload"]["name"]: h for h in doc["restart_history"]}
    assert {"local-path-provisioner", "metrics-server", "coredns", "traefik"} <= set(hist)
    assert hist["coredns"]["node_event"] and hist["local-path-provisioner"]["node_event"]
    # the all-logs/ symlinks (and static-hi.log, a logs collector's link) are the bundle's layout:
    # one note counting all 19, no load problem per link
    assert doc["load_problems"] == []
    assert [g for g in doc["gaps"] if g["what"].startswith("19 links into cluster-resources/pods/logs/")]


def test_troubleshoot_analyzer_pods() -> None:
    doc = _doc("ts-analyzer-pods")
    assert _causes(doc) == {
        "Job message-oomkill-pod/oom-kill-job3": "oom-killed",
        "Deployment message-pending-node-affinity/kotsadm": "unschedulable",
        "Deployment message-pending-pod-resources/pending-pod-resources": "unschedulable",
        "DaemonSet message-container-creating-failed-mount/troubleshoot-copyfromhost-4m79m": "volume-mount",
    }
    by = {f["workload"]["name"]: f for f in doc["findings"]}
    assert "kubernetes.io/arch NotIn [arm64]" in by["kotsadm"]["summary"]
    assert "/var/lib/collectd is not a directory" in by["troubleshoot-copyfromhost-4m79m"]["summary"]
    _no_arch(doc)
    # pods known only from events still describe their workload; a day old, they are history
    earlier = {h["workload"]["name"]: [c["cause"] for c in h.get("earlier_causes", [])] for h in doc["restart_history"]}
    assert earlier.get("no-image-deployment") == ["image-pull-network"]
    assert "image-pull-auth" not in json.dumps(doc) and "image-pull-not-found" not in json.dumps(doc["findings"])


def test_insights_operator_archive() -> None:
    doc = _doc("insights-archive")
    assert doc["dump"]["format"] == "insights-operator-archive"
    assert _causes(doc) == {
        "Deployment openshift-ingress/router-default": "unschedulable",
        "Deployment di-288312/vsystem": "app-crash",
        "Job di-288312/auditlog-retention-28566720": "app-crash",
        "Job di-288312/default-2k58azz-backup-deletion": "app-crash",
    }
    vsystem = next(f for f in doc["findings"] if f["workload"]["name"] == "vsystem")
    assert (
        "could not connect to hana" in vsystem["summary"] and "init container vsystem-hana-init" in vsystem["summary"]
    )
    assert vsystem["severity"] == "high"
    # the Jobs' pods (restartPolicy Never) never restarted: their log is read without --previous
    for f in doc["findings"]:
        if f["workload"]["kind"] == "Job":
            cmds = [r["command"] for r in f["remediation"]] + [m["how"] for m in f["missing_evidence"]]
            assert any(" logs " in c for c in cmds) and not [c for c in cmds if "--previous" in c]
    assert {g["what"] for g in doc["gaps"]} >= {
        "an Insights Operator archive",
        "events without the object they are about",
    }
    _no_arch(doc)


def test_must_gather_kube_system_only_is_quiet() -> None:
    doc = _doc("mg-cnv-qemtv")
    assert doc["findings"] == [] and doc["latent"] == [] and doc["restart_history"] == []
    assert doc["dump"]["counts"]["pods"] == 7 and doc["load_problems"] == []


def test_cluster_info_all_nodes_not_ready() -> None:
    doc = _doc("cid-cka-notready/cluster-info-dump.json")
    assert _causes(doc) == {
        "Node cka-controller1": "node-not-ready",
        "Node cka-controller2": "node-not-ready",
        "Node cka-worker1": "node-not-ready",
        "Deployment kube-system/coredns": "unschedulable",
    }
    nodes = [f for f in doc["findings"] if f["workload"]["kind"] == "Node"]
    for n in nodes:
        assert "cni config uninitialized" in n["summary"] and n["severity"] == "critical"
        assert n["summary"].endswith("on the node; every node of the cluster is NotReady")
        assert not [r for r in n["remediation"] if "drain" in r["command"]]
        assert any("docker" in r["command"] for r in n["remediation"])  # the nodes run docker
    coredns = next(f for f in doc["findings"] if f["workload"]["name"] == "coredns")
    assert coredns["caused_by"] in {n["id"] for n in nodes}
    cause = next(n for n in nodes if n["id"] == coredns["caused_by"])
    assert coredns["id"] in [c["id"] for c in cause["consequences"]]
    order = [f["id"] for f in doc["findings"]]
    assert order.index(cause["id"]) < order.index(coredns["id"])  # the consequence follows its cause
    assert doc["summary"]["causes"][0]["cause"] == "node-not-ready"


def test_cluster_info_stdout_after_a_comment_line() -> None:
    doc = _doc("cid-k3s-header/cluster-info-dump")
    assert doc["dump"]["format"] == "kubectl-cluster-info-dump"
    assert _causes(doc) == {"DaemonSet kube-system/svclb-traefik": "unschedulable"}
    assert "free ports" in doc["findings"][0]["summary"]
    hist = {h["workload"]["name"] for h in doc["restart_history"]}
    assert {"coredns", "local-path-provisioner"} <= hist


def test_an_empty_read_is_unusable_not_green(tmp_path: Path) -> None:
    """A recognised layout with nothing readable in it: exit 2 naming what was found, never a verdict."""
    root = tmp_path / "mg" / "namespaces" / "shop" / "core"
    root.mkdir(parents=True)
    (root / "pods.yaml").write_text("this: [is not a pod list\n")
    with pytest.raises(UnusableInput, match="no Pod and no Node could be read"):
        load_any(tmp_path / "mg")
    r = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(tmp_path / "mg"), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2 and "no Pod and no Node" in r.stderr and "among 0 pods" not in r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_reports_show_consequences_under_their_cause_and_the_restart_history() -> None:
    from forensics.render.html import render_html
    from forensics.render.markdown import render_markdown

    doc = _doc("cid-cka-notready/cluster-info-dump.json")
    md = render_markdown(doc)
    assert "Consequence of: Node cka-controller1: Node not ready" in md
    assert "Causes: Deployment kube-system/coredns" in md and "Node /cka" not in md
    html = render_html(doc)
    assert 'class="contrib caused-by"' in html
    hist = _doc("ts-k3d-arm64/support-bundle.tar.gz")
    assert "### Restart history (not failing now)" in render_markdown(hist)
    assert 'id="history-table"' in render_html(hist)
