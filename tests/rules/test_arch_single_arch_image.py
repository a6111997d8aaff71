from __future__ import annotations

from pathlib import Path

from forensics.analysis.rules.arch_single_arch_image import CAUSE, find
from tests.rules.arch_scenario import EXEC_RUNC, Pod, Scenario, index, single_manifest

IMG = "registry.example.com/pay/ledger:1.4"


def _scenario(**kw) -> Scenario:
    kw.setdefault("images", {IMG: single_manifest("amd64")})
    return Scenario(
        nodes={"amd-1": "amd64", "arm-1": "arm64", "arm-2": "arm64"},
        pods=[
            Pod("ledger-a", "amd-1", IMG),
            Pod("ledger-b", "arm-1", IMG, crash=True, log=EXEC_RUNC + "\n"),
            Pod("ledger-c", "arm-2", IMG, crash=True, log="starting\n" + EXEC_RUNC + "\n"),
        ],
        **kw,
    )


def test_found_with_evidence_and_remediation(tmp_path: Path) -> None:
    fs = find(_scenario().context(tmp_path))
    assert len(fs) == 1
    f = fs[0]
    assert f.cause == CAUSE and not f.latent
    assert (f.workload.kind, f.workload.namespace, f.workload.name) == ("Deployment", "prod", "api")
    assert f.pods == ["ledger-b", "ledger-c"] and f.node_archs == ["arm64"]
    assert f.confidence >= 0.9
    logs = [e for e in f.evidence if e.kind == "log"]
    assert logs and all(e.text == EXEC_RUNC for e in logs) and {e.line for e in logs} == {1, 2}
    assert any(e.kind == "image" and "amd64" in e.text for e in f.evidence)
    cmds = "\n".join(r.command for r in f.remediation)
    assert "--platform linux/amd64,linux/arm64" in cmds and IMG in cmds
    assert "kubernetes.io/arch" in cmds and "amd64" in cmds  # the pin to what the image supports
    by_arch: dict[str, list[int]] = {}
    for m in f.restart_matrix:
        a = by_arch.setdefault(m["arch"], [0, 0])
        a[0] += m["failing"]
        a[1] += m["running"]
    assert by_arch == {"arm64": [2, 0], "amd64": [0, 1]}


def test_not_found_when_image_matches_node(tmp_path: Path) -> None:
    s = _scenario()
    s.images = {IMG: single_manifest("arm64")}
    s.pods = [Pod("ledger-b", "arm-1", IMG, crash=True, log="panic: boom\n")]
    assert [f for f in find(s.context(tmp_path)) if not f.latent] == []


def test_fork_exec_inside_app_is_not_arch(tmp_path: Path) -> None:
    s = _scenario()
    s.images = {IMG: single_manifest("arm64")}
    s.pods = [Pod("ledger-b", "arm-1", IMG, crash=True, log="fork/exec /plugins/x: exec format error\n")]
    assert [f for f in find(s.context(tmp_path)) if not f.latent] == []


def test_missing_inspection_lowers_confidence_and_says_so(tmp_path: Path) -> None:
    s = _scenario(images={})
    (f,) = find(s.context(tmp_path))
    assert f.cause == CAUSE and f.confidence <= 0.75
    assert any("no image inspection" in m.what for m in f.missing_evidence)


def test_no_log_no_message_is_missing_evidence(tmp_path: Path) -> None:
    s = _scenario()
    for p in s.pods:
        p.log = None
    (f,) = find(s.context(tmp_path))
    assert any("exec format error" in m.what for m in f.missing_evidence)
    assert f.confidence < find(_scenario().context(tmp_path / "with-logs"))[0].confidence


def test_latent_risk(tmp_path: Path) -> None:
    s = _scenario()
    s.pods = [Pod("report-a", "amd-1", IMG, workload="report")]
    (f,) = find(s.context(tmp_path))
    assert f.latent and f.severity == "low" and f.workload.name == "report"
    s.pods = [Pod("report-a", "amd-1", IMG, workload="report", arch_selector="amd64")]
    assert find(s.context(tmp_path / "pinned")) == []


def test_the_init_container_can_be_the_wrong_one(tmp_path: Path) -> None:
    init = "registry.example.com/tools/migrate:0.3"
    s = Scenario(
        nodes={"amd-1": "amd64", "arm-1": "arm64"},
        images={IMG: (index("linux/amd64", "linux/arm64"), None), init: single_manifest("amd64")},
        pods=[Pod("ledger-a", "arm-1", IMG, init_image=init)],
    )
    root = s.write(tmp_path)
    log = root / "snapshots" / "20260301T100000Z" / "logs" / "prod" / "ledger-a" / "setup.previous.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("exec /usr/local/bin/migrate: exec format error\n")
    (f,) = find(s.context(tmp_path))
    assert f.containers == ["ledger-a/setup"] and f.images[0]["ref"] == init
    assert any(e.kind == "log" and "migrate" in e.text for e in f.evidence)


def _daemonset_dump(tmp_path: Path, template_affinity: dict | None) -> Path:
    """A mixed cluster and an amd64-only DaemonSet. Its pod carries only the per-node `matchFields`
    affinity the DaemonSet controller writes; the template says where new pods may go."""
    from tests.rules.builders import SNAP, ctr, node, pod, write_dump

    ref = "registry.example.com/ops/agent:1.0"
    p = pod("agent-x1", ns="ops", node="node-a", owner="DaemonSet/agent", containers=[ctr("agent", ref, ready=True)])
    p["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}
                ]
            }
        }
    }
    tmpl: dict = {"containers": [{"name": "agent", "image": ref}]}
    if template_affinity is not None:
        tmpl["affinity"] = template_affinity
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "ops", "uid": "uid-ds", "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {"template": {"spec": tmpl}},
    }
    return write_dump(
        tmp_path / "dump",
        {SNAP: {"nodes": [node("node-a"), node("node-b", "arm64")], "pods": [p], "daemonsets": [ds]}},
        images={ref: single_manifest("amd64")},
    )


def test_latent_risk_reads_the_controller_template_not_the_per_node_affinity(tmp_path: Path) -> None:
    from tests.rules.builders import load

    amd64_only = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
                ]
            }
        }
    }
    assert [f for f in find(load(_daemonset_dump(tmp_path / "pinned", amd64_only))) if f.latent] == []
    (f,) = [f for f in find(load(_daemonset_dump(tmp_path / "free", None))) if f.latent]
    assert str(f.workload) == "DaemonSet ops/agent" and "arm64" in f.summary
