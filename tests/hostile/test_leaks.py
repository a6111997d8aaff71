"""Nothing leaks: no command follows a link out of what it was given, and `forensics serve` answers a
hostile dump object by object, never crashing, with bounded connections and logs."""

from __future__ import annotations

import json
import resource
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.harness import (
    ADDRESS_LIMIT,
    SNAP,
    _command,
    assert_bounded,
    copy_sample,
    forensics,
)

pytestmark = pytest.mark.hostile

NAMES = ('we"ird-0', "100%-done", "<script>alert(1)</script>")
LOG = f"snapshots/{SNAP}/logs/payments/ledger-api-w4wr2qc9p-swgfk/ledger-api.log"
TB = 1 << 40


def test_platforms_never_follows_a_symlink_inside_an_image_folder(tmp_path: Path) -> None:
    dump = copy_sample(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "size": 1,
                        "digest": "sha256:" + "5" * 64,
                        "platform": {"os": "linux", "architecture": "s390x"},
                    }
                ],
            }
        )
    )
    folder = next(p for p in (dump / "images").iterdir() if (p / "configs").is_dir())
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to(outside / "manifest.json")
    run = forensics("platforms", folder, cwd=tmp_path)
    assert_bounded(run, (2,))
    assert "s390x" not in run.stdout + run.stderr
    assert "symlink" in run.stderr

    other = next(p for p in (dump / "images").iterdir() if (p / "configs").is_dir() and p != folder)
    (outside / "configs").mkdir()
    (outside / "configs" / "secret.json").write_text('{"architecture": "s390x", "os": "linux", "rootfs": {}}')
    shutil.rmtree(other / "configs")
    (other / "configs").symlink_to(outside / "configs")
    run = forensics("platforms", other, cwd=tmp_path)
    assert_bounded(run)
    assert "s390x" not in run.stdout
    assert "symlink" in run.stderr


def _hostile_serve_dump(tmp_path: Path) -> Path:
    dump = copy_sample(tmp_path)
    pods = dump / "snapshots" / SNAP / "pods.json"
    doc = json.loads(pods.read_text())
    base = next(p for p in doc["items"] if p["metadata"]["name"].startswith("payments-gateway"))
    for name in NAMES:
        doc["items"].append({**base, "metadata": {**base["metadata"], "name": name}})
    doc["items"].append(
        {
            "metadata": {"name": "typed-wrong", "namespace": "payments", "labels": ["a"]},
            "spec": "nginx",
            "status": ["Running"],
        }
    )
    text = json.dumps(doc, indent=4)
    deep = '{"metadata": {"name": "deep", "namespace": "payments", "x": %s}}' % ("[" * 100_000 + "]" * 100_000)
    pods.write_text(text.replace('"items": [\n', '"items": [\n        ' + deep + ",\n", 1))
    log = dump / LOG
    data = log.read_bytes()
    with open(log, "r+b") as f:
        f.truncate(TB)
        f.seek(TB - len(data))
        f.write(data)
    return dump


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


@pytest.fixture
def hostile_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    dump = _hostile_serve_dump(tmp_path)
    proc = subprocess.Popen(
        [*_command(), "serve", str(dump), "--kubeconfig-out", str(tmp_path / "kubeconfig"), "--idle-timeout", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit,
    )
    url = ""
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while time.monotonic() < deadline and not url:
        line = proc.stderr.readline()
        if not line:
            break
        if " on http://" in line:
            url = line.split(" on ", 1)[1].split()[0]
    assert url, "server did not start"
    try:
        yield url, proc, tmp_path
    finally:
        proc.terminate()
        proc.wait(10)


def _get(url: str, path: str, accept: str = "application/json") -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_serve_answers_hostile_objects_one_by_one(hostile_server: tuple[str, subprocess.Popen[str], Path]) -> None:
    url, proc, _ = hostile_server
    code, body, _ = _get(url, "/api/v1/namespaces/payments/pods")
    assert code == 200
    names = {i["metadata"]["name"] for i in json.loads(body)["items"]}
    assert set(NAMES) <= names and "typed-wrong" in names and "deep" not in names
    code, body, _ = _get(url, "/api/v1/namespaces/payments/pods", "application/json;as=Table;v=v1;g=meta.k8s.io")
    assert code == 200
    rows = {r["cells"][0]: r["cells"] for r in json.loads(body)["rows"]}
    assert rows["typed-wrong"][1] == "<invalid object>"
    assert rows[NAMES[2]][1] != "<invalid object>"
    for name in NAMES:
        code, body, headers = _get(url, "/api/v1/namespaces/payments/pods/" + urllib.parse.quote(name, safe=""))
        assert code == 200 and json.loads(body)["metadata"]["name"] == name
        assert headers.get("Content-Type") == "application/json"
    code, body, _ = _get(url, "/api/v1/namespaces/payments/pods/typed-wrong/log")
    assert code in (400, 404, 500) and json.loads(body)["kind"] == "Status"
    assert proc.poll() is None
    assert _get(url, "/version")[0] == 200


def test_serve_times_out_idle_connections_and_takes_200_at_once(
    hostile_server: tuple[str, subprocess.Popen[str], Path],
) -> None:
    url, proc, _ = hostile_server
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    idle = [socket.create_connection((host, port), timeout=10) for _ in range(300)]
    idle[0].sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # half a request, never finished
    closed = 0
    for s in idle:
        try:
            data = s.recv(4096)  # the server answers 503 or closes after its idle timeout (2 s here)
            closed += data == b"" or data.startswith(b"HTTP/1.")
        except TimeoutError:
            pass
        finally:
            s.close()
    assert closed == len(idle)
    results: list[int] = []
    pod = LOG.split("/")[4]

    def one(i: int) -> None:
        if i % 10 == 0:  # one in ten asks for the terabyte log
            code, body, _ = _get(url, f"/api/v1/namespaces/payments/pods/{pod}/log?container=ledger-api")
            results.append(code if len(body) == 16 * 1024 * 1024 else -1)
        else:
            results.append(_get(url, "/api/v1/pods")[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results.count(200) == 200
    assert proc.poll() is None
    status = Path(f"/proc/{proc.pid}/status")
    if status.exists():  # the server's peak RSS: logs are held a few at a time, not 200 at once
        hwm = next(int(ln.split()[1]) for ln in status.read_text().splitlines() if ln.startswith("VmHWM:"))
        assert hwm * 1024 < 1024 * 1024 * 1024, hwm


def test_serve_bounds_huge_logs_and_says_so(hostile_server: tuple[str, subprocess.Popen[str], Path]) -> None:
    url, proc, tmp_path = hostile_server
    pod = LOG.split("/")[4]
    code, body, headers = _get(url, f"/api/v1/namespaces/payments/pods/{pod}/log?container=ledger-api")
    assert code == 200
    assert len(body) == 16 * 1024 * 1024
    assert "cut to its last" in headers.get("Warning", "")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    r = subprocess.run(
        [kubectl, "--kubeconfig", str(tmp_path / "kubeconfig"), "logs", "-n", "payments", pod, "-c", "ledger-api"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-500:]
    assert len(r.stdout) == 16 * 1024 * 1024
    assert b"Warning: log cut to its last" in r.stderr
    assert proc.poll() is None
