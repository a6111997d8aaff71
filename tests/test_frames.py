"""Frames built from real kubectl objects: the columns rules are written in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.read.load import load_dump
from forensics.values import digest_of, image_key

REAL = Path(__file__).resolve().parent / "fixtures" / "realdata"
SNAP = "20260101T000000Z"


def _dump(tmp_path: Path, **kinds: bytes) -> Path:
    snap = tmp_path / "dump" / "snapshots" / SNAP
    snap.mkdir(parents=True)
    (tmp_path / "dump" / "forensics-dump.yaml").write_text(
        f"format: cluster-forensics-dump\nversion: 1\nsnapshots: [{SNAP}]\n"
    )
    for kind, data in kinds.items():
        (snap / f"{kind}.json").write_bytes(data)
    return tmp_path / "dump"


def _as_list(path: Path) -> bytes:
    obj = json.loads(path.read_text())
    return json.dumps(obj if "items" in obj else {"kind": "List", "items": [obj]}).encode()


def test_real_nodes(tmp_path: Path) -> None:
    nodes = json.loads((REAL / "troubleshoot" / "nodes.json").read_text())["items"]
    nodes += [
        json.loads((REAL / "operator-experiments" / f"node-eks-arm64-hpc7g-{k}.json").read_text())
        for k in ("broken", "working")
    ]
    d = load_dump(_dump(tmp_path, nodes=json.dumps({"items": nodes}).encode()))
    n = d["nodes"].set_index("node")
    # the hand-edited x86_64 node is normalized to amd64
    raw = {x["metadata"]["name"]: x["status"]["nodeInfo"]["architecture"] for x in nodes}
    odd = [k for k, v in raw.items() if v == "x86_64"]
    assert odd and all(n.loc[k, "arch"] == "amd64" for k in odd)
    eks = [x["metadata"]["name"] for x in nodes if "eks.amazonaws.com/nodegroup" in x["metadata"].get("labels", {})]
    for name in eks:
        assert n.loc[name, "arch"] == "arm64" and n.loc[name, "variant"] == "v8"
        assert n.loc[name, "instance_type"] == "hpc7g.16xlarge"
        assert n.loc[name, "pool"] and n.loc[name, "runtime"] == "containerd"
        assert "aarch64" in n.loc[name, "kernel"]
    doks = [
        x["metadata"]["name"] for x in nodes if "doks.digitalocean.com/node-pool" in x["metadata"].get("labels", {})
    ]
    assert doks and all(n.loc[k, "runtime"] == "docker" for k in doks)
    assert str(d["nodes"]["created"].dtype).startswith("datetime64")


def test_real_pods_and_events(tmp_path: Path) -> None:
    pods = []
    for f in (
        "pods-message-pod-crashloop-backoff.json",
        "pods-message-pod-init-crashloop-backoff.json",
        "pods-message-image-pull-fail.json",
    ):
        pods += json.loads((REAL / "troubleshoot" / f).read_text())["items"]
    pods.append(json.loads((REAL / "operator-experiments" / "pod-aws-efa-k8s-device-plugin-arm64.json").read_text()))
    events = json.loads((REAL / "troubleshoot" / "events-message-image-pull-fail.json").read_text())["items"]
    events += json.loads((REAL / "troubleshoot" / "events-message-pod-init-crashloop-backoff.json").read_text())[
        "items"
    ]
    d = load_dump(
        _dump(tmp_path, pods=json.dumps({"items": pods}).encode(), events=json.dumps({"items": events}).encode())
    )
    c = d["containers"]
    # one row per container, init containers included
    n_specs = sum(len(p["spec"].get("containers", [])) + len(p["spec"].get("initContainers", [])) for p in pods)
    assert len(c) == n_specs
    assert c["init"].any()
    nginx = c[c["pod"] == "init-demo"].iloc[0]
    assert nginx["waiting_reason"] == "CrashLoopBackOff" and nginx["last_exit_code"] == 127
    assert nginx["last_reason"] == "ContainerCannotRun" and nginx["image_digest"].startswith("sha256:08bc36ad")
    efa = c[c["pod"].str.startswith("aws-efa")].iloc[0]
    assert efa["image_digest"].startswith("sha256:") and efa["workload_kind"] == "DaemonSet"
    e = d["events"]
    # core/v1 and events.k8s.io-written (null first/last, eventTime) both get times and counts
    assert e["last_seen"].notna().all() and (e["count"] >= 1).all()
    sched = e[e["reason"] == "FailedScheduling"]
    assert not sched.empty and sched["source_component"].eq("default-scheduler").all()
    # spec.initContainers{install} and spec.containers{x} both name their container
    fp = e[e["field_path"].fillna("").str.contains("{")]
    assert not fp.empty and fp["container"].notna().all()
    assert "install" in set(e["container"].dropna())
    # the executable-not-found message is scanned into a signature row pointing at pods.json
    s = d["signatures"]
    hit = s[s["signature"] == "executable-not-found"]
    from_status = hit[hit["source"] == "last-terminated-message"]
    assert not from_status.empty and from_status["file"].str.endswith("pods.json").all()
    assert set(hit[hit["source"] == "event"]["file"]) <= {f for f in s["file"] if f.endswith("events.json")}


def test_workload_owner_chain(tmp_path: Path) -> None:
    def pod(name: str, owner: tuple[str, str], labels: dict | None = None) -> dict:
        return {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "uid": name,
                "labels": labels or {},
                "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}],
            },
            "spec": {
                "containers": [{"name": "c", "image": "img"}],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["aarch64", "amd64"]}
                                    ]
                                }
                            ]
                        }
                    }
                },
            },
            "status": {},
        }

    rs = {
        "metadata": {
            "name": "api-7d9f8b6c4",
            "namespace": "ns",
            "ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}],
        },
        "spec": {},
    }
    job = {
        "metadata": {
            "name": "nightly-2900",
            "namespace": "ns",
            "ownerReferences": [{"kind": "CronJob", "name": "nightly", "controller": True}],
        },
        "spec": {},
    }
    pods = [
        pod("api-7d9f8b6c4-x", ("ReplicaSet", "api-7d9f8b6c4")),
        pod("web-5c6d7-y", ("ReplicaSet", "web-5c6d7"), {"pod-template-hash": "5c6d7"}),
        pod("nightly-2900-z", ("Job", "nightly-2900")),
        pod("db-0", ("StatefulSet", "db")),
    ]
    d = load_dump(
        _dump(
            tmp_path,
            pods=json.dumps({"items": pods}).encode(),
            replicasets=json.dumps({"items": [rs]}).encode(),
            jobs=json.dumps({"items": [job]}).encode(),
        )
    )
    got = {r.pod: (r.workload_kind, r.workload_name) for r in d["pods"].itertuples()}
    assert got == {
        "api-7d9f8b6c4-x": ("Deployment", "api"),
        "web-5c6d7-y": ("Deployment", "web"),
        "nightly-2900-z": ("CronJob", "nightly"),
        "db-0": ("StatefulSet", "db"),
    }
    assert {tuple(v) for v in d["pods"]["arch_allowed"]} == {("amd64", "arm64")}


@pytest.mark.parametrize(
    "image_id,digest",
    [
        ("docker-pullable://nginx@sha256:" + "a" * 64, "sha256:" + "a" * 64),
        ("602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/x@sha256:" + "b" * 64, "sha256:" + "b" * 64),
        ("sha256:" + "c" * 64, None),
        ("docker://sha256:" + "d" * 64, None),
        ("", None),
    ],
)
def test_digest_forms(image_id: str, digest: str | None) -> None:
    assert digest_of(image_id) == digest


@pytest.mark.parametrize(
    "ref,key",
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("localhost:5000/a/b", "localhost:5000/a/b:latest"),
        ("ghcr.io/x/y@sha256:" + "e" * 64, "ghcr.io/x/y@sha256:" + "e" * 64),
    ],
)
def test_image_key(ref: str, key: str) -> None:
    assert image_key(ref) == key


def test_binfmt_entries(tmp_path: Path) -> None:
    root = _dump(tmp_path, pods=json.dumps({"items": []}).encode())
    files = {
        "qemu-aarch64": "proc-binfmt_misc-qemu-aarch64.qemu-user-static.txt",
        "qemu-arm": "proc-binfmt_misc-qemu-arm.tonistiigi-binfmt.txt",
        "qemu-x86_64": "proc-binfmt_misc-qemu-x86_64.qus.txt",
    }
    for entry, f in files.items():
        p = root / "nodes" / "n1" / "binfmt_misc" / entry
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes((REAL / "binfmt" / f).read_bytes())
    b = load_dump(root)["binfmt"].set_index("entry")
    assert b.loc["qemu-aarch64", "arch"] == "arm64" and b.loc["qemu-x86_64", "arch"] == "amd64"
    assert b.loc["qemu-arm", "arch"] == "arm" and b.loc["qemu-arm", "flags"] == "POCF"
    assert b["enabled"].all()


def test_sample_dump_key_columns() -> None:
    d = load_dump(Path(__file__).resolve().parent.parent / "sample_dumps" / "graviton-new-pool")
    nodes = d["nodes"]
    assert dict(nodes["arch"].value_counts()) == {"amd64": 4, "arm64": 4}
    assert nodes["pool"].notna().all() and nodes["instance_type"].notna().all()
    c = d["containers"]
    ledger = c[c["workload_name"] == "ledger-api"]
    assert set(ledger["workload_kind"]) == {"Deployment"}
    assert ledger["image_digest"].str.startswith("sha256:").all()
    assert (ledger["waiting_reason"] == "CrashLoopBackOff").sum() == 3
    img = d["images"].set_index("image").loc[ledger["image"].iloc[0]]
    assert img["kind"] == "manifest" and list(img["platforms"]) == ["linux/amd64"]
    # the index digest a pod runs is the sha256 of the inspected manifest bytes
    idx = d["images"][d["images"]["kind"] == "index"]
    assert not idx.empty and idx["digest"].str.startswith("sha256:").all()
    sig = d["signatures"]
    assert set(sig[sig["pod"].isin(ledger["pod"])]["signature"]) == {"exec-format-error"}
    assert {"observed_at", "snapshot_index"} <= set(c.columns)
