"""`forensics serve`: the real kubectl against a dump (get, describe, logs, cluster-info dump)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from forensics.serve import make_server, server_url, write_kubeconfig
from tests.dump_builder import REPO, SNAP, served, tiny_dump, tiny_objects, tool_env

pytestmark = pytest.mark.kubectl

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dump(tmp_path_factory.mktemp("serve") / "tiny")


@pytest.fixture(scope="module")
def url(dump: Path):
    with served(dump) as (u, _):
        yield u


def kubectl(url: str, home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, f"--server={url}", *args], env=tool_env(home), text=True, capture_output=True, timeout=60, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


def get_json(url: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + path, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --- the API surface, over plain HTTP ----------------------------------------------------------


def test_discovery_names_every_collected_kind_with_short_names(url: str) -> None:
    _, core = get_json(url, "/api/v1")
    _, apps = get_json(url, "/apis/apps/v1")
    _, batch = get_json(url, "/apis/batch/v1")
    _, events = get_json(url, "/apis/events.k8s.io/v1")
    short = {r["name"]: r.get("shortNames") for doc in (core, apps, batch) for r in doc["resources"]}
    assert short["deployments"] == ["deploy"] and short["statefulsets"] == ["sts"]
    assert short["replicasets"] == ["rs"] and short["daemonsets"] == ["ds"] and short["pods"] == ["po"]
    assert {"nodes", "pods", "events", "pods/log", "namespaces"} <= {r["name"] for r in core["resources"]}
    assert {"jobs", "cronjobs"} <= {r["name"] for r in batch["resources"]}
    assert [r["name"] for r in events["resources"]] == ["events"]


def test_namespaces_are_derived_from_the_objects(url: str) -> None:
    _, body = get_json(url, "/api/v1/namespaces")
    assert [n["metadata"]["name"] for n in body["items"]] == ["kube-system", "shop"]


def test_errors_are_real_status_objects(url: str) -> None:
    code, body = get_json(url, "/api/v1/namespaces/shop/pods/nope")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert body["message"] == 'pods "nope" not found'
    code, body = get_json(url, "/api/v1/namespaces/shop/pods/db-0/log?container=main&previous=true")
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == 'previous terminated container "main" in pod "db-0" not found'
    code, body = get_json(url, "/api/v1/namespaces/shop/pods/db-0/log")
    assert code == 400 and "choose one of: [main exporter]" in body["message"]


def test_writes_are_refused(url: str) -> None:
    req = urllib.request.Request(url + "/api/v1/namespaces/shop/pods", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 405


def test_events_k8s_io_view_of_core_events(url: str) -> None:
    _, body = get_json(url, "/apis/events.k8s.io/v1/namespaces/shop/events")
    (ev,) = body["items"]
    assert ev["regarding"]["name"] == "api-7d9f-abcde" and ev["deprecatedCount"] == 30
    assert ev["note"].startswith("Back-off restarting failed container")


def test_snapshot_choice_defaults_to_the_last(tmp_path: Path) -> None:
    dump = tiny_dump(tmp_path / "two", snapshots=("20261122T040000Z", "20261122T050000Z"))
    with served(dump) as (_, server):
        assert server.api.snapshot == "20261122T050000Z"
    with served(dump, snapshot="20261122T040000Z") as (_, server):
        assert server.api.snapshot == "20261122T040000Z"


def test_serves_a_tarball_with_one_top_folder(tmp_path: Path, dump: Path) -> None:
    tarball = tmp_path / "tiny.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(dump, arcname="cluster-forensics-x")
    with served(tarball) as (u, _):
        _, body = get_json(u, "/api/v1/pods")
    assert sorted(p["metadata"]["name"] for p in body["items"]) == ["agent-x1", "api-7d9f-abcde", "db-0"]


def test_forbidden_resources_answer_403(dump: Path) -> None:
    with served(dump, forbid={"cronjobs"}) as (u, _):
        code, body = get_json(u, "/apis/batch/v1/cronjobs")
        ok, _ = get_json(u, "/apis/batch/v1/jobs")
    assert (code, body["reason"], ok) == (403, "Forbidden", 200)
    assert 'cannot list resource "cronjobs" in API group "batch"' in body["message"]


# --- the real kubectl ---------------------------------------------------------------------------


@needs_kubectl
def test_get_pods_json_equals_the_dump(url: str, tmp_path: Path) -> None:
    out = kubectl(url, tmp_path / "h", "get", "pods", "-A", "-o", "json").stdout
    assert json.loads(out)["items"] == tiny_objects()["pods"]


@needs_kubectl
def test_get_deploy_in_a_namespace_table_and_yaml(url: str, tmp_path: Path) -> None:
    home = tmp_path / "h"
    table = kubectl(url, home, "get", "deploy", "-n", "shop").stdout.splitlines()
    assert table[0].split()[:2] == ["NAME", "READY"] and table[1].split()[:2] == ["api", "0/1"]
    # ages are as seen at the snapshot (created 04:00, snapshot 05:00), not at the wall clock
    assert table[1].split()[-1] == "60m"
    doc = yaml.safe_load(kubectl(url, home, "get", "deploy", "api", "-n", "shop", "-o", "yaml").stdout)
    assert doc == tiny_objects()["deployments"][0]
    empty = kubectl(url, home, "get", "deploy", "-n", "kube-system")
    assert "No resources found in kube-system namespace." in empty.stderr


@needs_kubectl
def test_get_wide_shows_nodes_and_short_names_resolve(url: str, tmp_path: Path) -> None:
    home = tmp_path / "h"
    wide = kubectl(url, home, "get", "pods", "-A", "-o", "wide").stdout
    row = next(line.split() for line in wide.splitlines() if "api-7d9f-abcde" in line)
    assert "CrashLoopBackOff" in row and "node-amd" in row
    events = kubectl(url, home, "get", "events", "-n", "shop").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1].split()[:4] == ["60s", "Warning", "BackOff", "pod/api-7d9f-abcde"]
    for short in ("sts", "ds", "rs", "cj", "jobs", "no", "ev"):
        assert kubectl(url, home, "get", short, "-A").returncode == 0
    everything = kubectl(url, home, "get", "all", "-n", "shop", "-o", "name").stdout.split()
    assert {"pod/db-0", "deployment.apps/api", "statefulset.apps/db", "cronjob.batch/report"} <= set(everything)


@needs_kubectl
def test_describe_pod_shows_its_events(url: str, tmp_path: Path) -> None:
    out = kubectl(url, tmp_path / "h", "describe", "pod", "-n", "shop", "api-7d9f-abcde").stdout
    assert "Restart Count:  7" in out
    assert "Back-off restarting failed container main in pod api-7d9f-abcde" in out


@needs_kubectl
def test_logs_current_and_previous(url: str, tmp_path: Path, dump: Path) -> None:
    home = tmp_path / "h"
    cur = kubectl(url, home, "logs", "-n", "shop", "api-7d9f-abcde").stdout
    prev = kubectl(url, home, "logs", "-n", "shop", "api-7d9f-abcde", "--previous").stdout
    logs = dump / "snapshots" / SNAP / "logs" / "shop" / "api-7d9f-abcde"
    assert cur == (logs / "main.log").read_text() and prev == (logs / "main.previous.log").read_text()
    exporter = kubectl(url, home, "logs", "-n", "shop", "db-0", "-c", "exporter").stdout
    assert exporter == "listening on :9187\n"
    missing = kubectl(url, home, "logs", "-n", "shop", "db-0", "-c", "main", "--previous", check=False)
    assert missing.returncode != 0
    assert 'previous terminated container "main" in pod "db-0" not found' in missing.stderr


@needs_kubectl
def test_cluster_info_dump(url: str, tmp_path: Path) -> None:
    out = tmp_path / "cid"
    kubectl(url, tmp_path / "h", "cluster-info", "dump", "--output-directory", str(out), "-A")
    assert [n["metadata"]["name"] for n in json.loads((out / "nodes.json").read_text())["items"]] == [
        "node-amd",
        "node-arm",
    ]
    pods = json.loads((out / "shop" / "pods.json").read_text())["items"]
    assert {p["metadata"]["name"] for p in pods} == {"api-7d9f-abcde", "db-0"}
    text = (out / "shop" / "api-7d9f-abcde" / "logs.txt").read_text()
    assert "exec /usr/local/bin/api: exec format error" in text


@needs_kubectl
def test_kubeconfig_out_works_with_kubectl(dump: Path, tmp_path: Path) -> None:
    server = make_server(dump)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        kc = tmp_path / "kubeconfig"
        write_kubeconfig(kc, server_url(server))
        proc = subprocess.run(
            [KUBECTL, "get", "nodes", "-o", "name"],
            env=tool_env(tmp_path / "h", kc),
            text=True,
            capture_output=True,
            timeout=60,
            check=True,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert proc.stdout.split() == ["node/node-amd", "node/node-arm"]


@needs_kubectl
def test_forensics_serve_command_with_kubeconfig_out(dump: Path, tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "forensics", "serve", str(dump), "--kubeconfig-out", str(kc)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not kc.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert kc.exists(), proc.stderr.read() if proc.poll() is not None and proc.stderr else "no kubeconfig"
        out = subprocess.run(
            [KUBECTL, "logs", "-n", "shop", "api-7d9f-abcde", "--previous"],
            env=tool_env(tmp_path / "h", kc),
            text=True,
            capture_output=True,
            timeout=60,
            check=True,
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert out.stdout.splitlines()[-1] == "exec /usr/local/bin/api: exec format error"
    assert yaml.safe_load(kc.read_text())["clusters"][0]["cluster"]["server"].startswith("http://127.0.0.1:")


def test_a_test_handler_refuses_a_subresource_and_delays(dump: Path) -> None:
    with served(dump, forbid={"pods/log", "jobs"}, slow={"cronjobs": 0.3}) as (u, _):
        assert get_json(u, "/apis/batch/v1/namespaces/shop/jobs")[0] == 403
        code, body = get_json(u, "/api/v1/namespaces/shop/pods/db-0/log?container=main")
        assert (code, body["reason"]) == (403, "Forbidden")
        assert 'cannot get resource "pods/log" in API group "" in the namespace "shop"' in body["message"]
        assert get_json(u, "/api/v1/namespaces/shop/pods/db-0")[0] == 200
        t0 = time.monotonic()
        assert get_json(u, "/apis/batch/v1/cronjobs")[0] == 200
        assert time.monotonic() - t0 >= 0.3


def test_the_product_server_admits_every_request(dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection lives in the tests: the environment that once turned it on changes nothing."""
    monkeypatch.setenv("FORENSICS_SERVE_FORBID", "pods/log,jobs")
    with served(dump) as (u, _):
        assert get_json(u, "/apis/batch/v1/namespaces/shop/jobs")[0] == 200
        with urllib.request.urlopen(u + "/api/v1/namespaces/shop/pods/db-0/log?container=main", timeout=10) as r:
            assert r.status == 200 and r.read()
