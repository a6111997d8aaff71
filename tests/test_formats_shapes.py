"""Objects without kind, old internal-version JSON, unused kinds, YAML numbers and odd fields
(docs/dump-format.md), and the OpenShift Insights Operator archive as a format of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.errors import UnusableInput
from forensics.read.formats import detect, load_any
from forensics.read.formats.clusterinfo import looks_like_stdout
from forensics.read.formats.shapes import internal_version, kind_by_shape
from tests.rules.builders import crashloop, ctr, node, pod, terminated


def _bare(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def test_kind_by_shape() -> None:
    assert kind_by_shape(_bare(pod("web-1"))) == "pods"
    assert kind_by_shape(_bare(node("n1"))) == "nodes"
    assert kind_by_shape(pod("web-1")) is None  # has a kind: not a shape question
    assert kind_by_shape({"metadata": {"name": "x"}, "data": {"a": "b"}}) is None  # a ConfigMap without kind
    assert internal_version({"Items": [{"ObjectMeta": {"Name": "x"}}]})
    assert not internal_version({"items": []})


def test_loose_files_read_kindless_skip_unused_kinds_quietly(tmp_path: Path) -> None:
    d = tmp_path / "gathered"
    d.mkdir()
    p = pod("web-6d4cf56db6-aaaaa", containers=[ctr(state=crashloop(), restarts=5, last=terminated("Error", 1))])
    (d / "web.json").write_text(json.dumps(_bare(p)))
    (d / "node.json").write_text(json.dumps(_bare(node("node-a"))))
    many = "\n---\n".join(
        f"apiVersion: v1\nkind: {k}\nmetadata:\n  name: x{i}\n"
        for i, k in enumerate(["Service", "Secret", "ConfigMap", "ServiceAccount"] * 25)
    )
    (d / "manifests.yaml").write_text(many)
    (d / "old.json").write_text(json.dumps({"Items": [{"ObjectMeta": {"Name": "p"}, "Status": {"Phase": "Running"}}]}))
    dump = load_any(d)
    assert len(dump.frames["pods"]) == 1 and len(dump.frames["nodes"]) == 1
    assert not [x for x in dump.problems if "not recognised" in x.what]
    assert dump.meta["skipped_kinds"] == {"Service": 25, "Secret": 25, "ConfigMap": 25, "ServiceAccount": 25}
    assert [g for g in dump.gaps if g["what"].startswith("100 objects of kinds the analysis does not use")]
    (old,) = [x for x in dump.problems if x.file.endswith("old.json")]
    assert "internal-version" in old.what


def test_yaml_numbers_and_one_odd_field_never_drop_the_file(tmp_path: Path) -> None:
    docs = """\
apiVersion: v1
kind: Pod
metadata: {name: web-6d4cf56db6-aaaaa, namespace: shop}
spec:
  nodeName: node-a
  containers:
  - name: app
    image: registry.example.com/shop/web:1.4
    command: "/bin/web --serve"
    ports: [{containerPort: "8080"}]
    resources: {limits: {cpu: 12, memory: 1073741824}}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: api-7c9d8b6f5d-aaaaa, namespace: shop}
spec: {nodeName: node-a, containers: [{name: api, image: api:2}]}
status: {phase: Running}
"""
    (tmp_path / "pods.yaml").write_text(docs)
    dump = load_any(tmp_path / "pods.yaml")
    c = dump.frames["containers"]
    assert sorted(dump.frames["pods"]["pod"]) == ["api-7c9d8b6f5d-aaaaa", "web-6d4cf56db6-aaaaa"]
    assert c.loc[c["container"] == "app", "memory_limit"].iloc[0] == "1073741824"
    (odd,) = [x for x in dump.problems if x.what == "odd field dropped"]
    assert "spec.containers.0.command" in odd.why and "web-6d4cf56db6-aaaaa" in odd.why


def test_cluster_info_stdout_after_other_lines() -> None:
    body = b'{\n    "kind": "NodeList",\n    "apiVersion": "v1",\n    "items": []\n}\n'
    for lead in (
        b"# generated with kubectl cluster-info dump\n\n",
        b"$ kubectl cluster-info dump > out\n",
        b"W0102 12:00:00.000000   4242 loader.go:222] Config not found\n",
        b"Warning: v1 deprecated\n",
    ):
        assert looks_like_stdout(lead + body), lead
    assert not looks_like_stdout(b"hello\n" + body)


def _insights(root: Path) -> Path:
    (root / "insights-operator").mkdir(parents=True)
    (root / "insights-operator" / "gathers.json").write_text('{"status_reports": []}')
    (root / "config" / "pod" / "shop").mkdir(parents=True)
    p = pod(
        "web-6d4cf56db6-aaaaa",
        containers=[ctr(state=crashloop(), restarts=9, last=terminated("Error", 1, "could not connect to db:5432"))],
    )
    (root / "config" / "pod" / "shop" / "web-6d4cf56db6-aaaaa.json").write_text(json.dumps(_bare(p)))
    (root / "config" / "node").mkdir(parents=True)
    (root / "config" / "node" / "node-a.json").write_text(json.dumps(_bare(node("node-a"))))
    (root / "events").mkdir()
    (root / "events" / "shop.json").write_text(
        json.dumps(
            {
                "items": [
                    {
                        "namespace": "shop",
                        "lastTimestamp": "2026-11-22T04:59:00Z",
                        "reason": "BackOff",
                        "message": "Back-off restarting failed container",
                        "type": "Warning",
                    }
                ]
            }
        )
    )
    # must-gather-like folders sort before config/: the format is still decided by its own markers
    (root / "cluster-scoped-resources" / "core" / "nodes").mkdir(parents=True)
    (root / "cluster-scoped-resources" / "core" / "nodes" / "x.yaml").write_text("kind: Node\n")
    return root


def test_insights_operator_archive(tmp_path: Path) -> None:
    root = _insights(tmp_path / "insights-2026-11-22-050000")
    assert detect(root).format == "insights-operator-archive"
    dump = load_any(root)
    assert dump.format == "insights-operator-archive"
    assert dump.meta["collected_at"] == "2026-11-22T05:00:00Z"  # from the archive's name
    assert len(dump.frames["pods"]) == 1 and len(dump.frames["nodes"]) == 1 and len(dump.frames["events"]) == 1
    assert {g["what"] for g in dump.gaps} >= {
        "an Insights Operator archive",
        "events without the object they are about",
    }


def test_a_recognised_dump_with_nothing_readable_is_unusable(tmp_path: Path) -> None:
    root = tmp_path / "insights"
    (root / "insights-operator").mkdir(parents=True)
    (root / "insights-operator" / "gathers.json").write_text("{}")
    (root / "config" / "pod" / "shop").mkdir(parents=True)
    (root / "config" / "pod" / "shop" / "x.json").write_text("{not json")
    with pytest.raises(UnusableInput, match=r"insights-operator-archive.*no Pod and no Node.*unreadable JSON"):
        load_any(root)


def test_troubleshoot_run_pod_output_is_read_by_shape(tmp_path: Path) -> None:
    root = tmp_path / "support-bundle-2026-11-22T05_00_00"
    (root / "cluster-resources").mkdir(parents=True)
    (root / "cluster-resources" / "nodes.json").write_text(json.dumps({"kind": "NodeList", "items": [node("node-a")]}))
    (root / "run-pod-example").mkdir()
    p = pod(
        "run-pod-example",
        ns="default",
        owner=None,
        containers=[ctr(state=crashloop(), restarts=4, last=terminated("Error", 2))],
    )
    (root / "run-pod-example" / "run-pod-example.json").write_text(json.dumps(_bare(p)))
    (root / "run-pod-example" / "other.json").write_text('{"not": "a pod"}')
    dump = load_any(root)
    assert list(dump.frames["pods"]["pod"]) == ["run-pod-example"]
    assert dump.problems == []


def test_internal_version_lists_in_a_cluster_info_dump_are_reported(tmp_path: Path) -> None:
    nodes = {"kind": "NodeList", "apiVersion": "v1", "items": [node("node-a")]}
    old = {"Items": [{"ObjectMeta": {"Name": "web-1", "Namespace": "shop"}, "Status": {"Phase": "Running"}}]}
    (tmp_path / "dump.txt").write_text(json.dumps(nodes, indent=4) + "\n" + json.dumps(old, indent=4) + "\n")
    dump = load_any(tmp_path / "dump.txt")
    assert [p.what for p in dump.problems] == ["internal-version JSON (not decoded)"]
    assert "kubectl older than 1.3" in dump.problems[0].why


@pytest.mark.parametrize("shape", ["stdout", "folder", "one-file"])
def test_a_dump_of_only_internal_version_json_says_what_it_is(shape: str, tmp_path: Path) -> None:
    """kubectl before 1.3 printed no kind anywhere: such a dump is unusable input, named as what it is
    (one line, exit 2), never 'trailing data' or 'unrelated files'."""
    import subprocess
    import sys

    nodes = {"Items": [{"ObjectMeta": {"Name": "node-a"}, "Status": {"Conditions": []}}]}
    pods = {"Items": [{"ObjectMeta": {"Name": "web-1", "Namespace": "shop"}, "Status": {"Phase": "Running"}}]}
    if shape == "stdout":
        target = tmp_path / "cluster-info.txt"
        block = "\n".join(f"==== {e} logs for container app of pod shop/web-1 ====" for e in ("START", "END"))
        target.write_text(json.dumps(nodes, indent=4) + "\n" + json.dumps(pods, indent=4) + "\n" + block + "\n")
    elif shape == "folder":
        target = tmp_path / "dump"
        (target / "shop").mkdir(parents=True)
        (target / "nodes.json").write_text(json.dumps(nodes))
        (target / "shop" / "pods.json").write_text(json.dumps(pods))
    else:
        target = tmp_path / "pods.json"
        target.write_text(json.dumps(pods))
    r = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(target)], capture_output=True, text=True, check=False
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "kubectl's internal version" in r.stderr and "older than 1.3" in r.stderr
    assert "trailing data" not in r.stderr and "unrelated" not in r.stderr


def test_internal_version_lists_in_a_support_bundle_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "support-bundle-2026-11-22T05_00_00"
    (root / "cluster-resources" / "pods").mkdir(parents=True)
    (root / "cluster-resources" / "nodes.json").write_text(json.dumps({"kind": "NodeList", "items": [node("node-a")]}))
    (root / "cluster-resources" / "pods" / "shop.json").write_text(
        json.dumps({"Items": [{"ObjectMeta": {"Name": "p"}}]})
    )
    dump = load_any(root)
    (p,) = dump.problems
    assert p.file == "cluster-resources/pods/shop.json" and "internal-version" in p.why
