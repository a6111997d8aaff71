"""collectors/collect --node-binfmt: the debug pods it starts on nodes are deleted even when it is interrupted.

The real kubectl talks to `forensics serve` answering from a dump, extended into a small cluster that
accepts pods: `kubectl debug node/...` creates one, it never finishes (so `kubectl wait` hangs, as on a
node that cannot pull the debug image), and the collector is interrupted there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from forensics.serve import make_server, server_url, write_kubeconfig
from tests.dump_builder import COLLECT, extract, load_meta, tiny_dump, tool_env

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]


class Pods:
    """The pods created and deleted through the cluster."""

    def __init__(self) -> None:
        self.created: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()


def _cluster(base: type[BaseHTTPRequestHandler], pods: Pods) -> type[BaseHTTPRequestHandler]:
    class Cluster(base):  # type: ignore[valid-type, misc]
        def _pod_path(self) -> tuple[list[str], dict[str, str]]:
            url = urlsplit(self.path)
            return [unquote(p) for p in url.path.split("/") if p], {k: v[-1] for k, v in parse_qs(url.query).items()}

        def do_POST(self) -> None:
            parts, _ = self._pod_path()
            if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                meta = body.setdefault("metadata", {})
                meta.update(
                    namespace=parts[3],
                    uid=f"uid-{meta['name']}",
                    resourceVersion="1",
                    creationTimestamp="2026-01-01T00:00:00Z",
                )
                body["status"] = {"phase": "Pending"}
                with pods.lock:
                    pods.created[(parts[3], meta["name"])] = body
                return self._json(201, body)
            return super().do_POST()

        def do_DELETE(self) -> None:
            parts, _ = self._pod_path()
            key = (parts[3], parts[5]) if len(parts) == 6 and parts[4] == "pods" else None
            if key is not None and key in pods.created:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with pods.lock:
                    pods.deleted.append(key)
                return self._json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
            return super().do_DELETE()

        def do_GET(self) -> None:
            parts, query = self._pod_path()
            ns = parts[3] if len(parts) >= 5 and parts[2] == "namespaces" and parts[4] == "pods" else None
            name = parts[5] if ns is not None and len(parts) == 6 else None
            if name is None and ns is not None and query.get("fieldSelector", "").startswith("metadata.name="):
                name = query["fieldSelector"].split("=", 1)[1]
            pod = pods.created.get((ns, name)) if ns is not None and name else None
            if pod is None:
                return super().do_GET()
            if query.get("watch") in ("true", "1"):  # never finishes: the debug pod stays Pending
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                pods.closing.wait(120)
                return None
            if len(parts) == 6:
                return self._json(200, pod)
            return self._json(
                200,
                {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": [pod]},
            )

    return Cluster


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_binfmt_step_deletes_its_debug_pod(tmp_path: Path, sig: signal.Signals) -> None:
    src = tiny_dump(tmp_path / "src")
    pods = Pods()
    server = make_server(src)
    server.RequestHandlerClass = _cluster(server.RequestHandlerClass, pods)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, server_url(server))
        out = tmp_path / "out"
        proc = subprocess.Popen(
            ["bash", str(COLLECT), "-o", str(out), "--no-images", "--node-binfmt"],
            env=tool_env(tmp_path / "home", kubeconfig),
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "binfmt_misc via a debug pod" in line:
                break
        deadline = time.monotonic() + 30
        while not pods.created and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pods.created, "".join(seen)
        time.sleep(1)  # now in `kubectl wait`, which would wait 120 s
        t0 = time.monotonic()
        proc.send_signal(sig)
        rest = proc.communicate(timeout=30)[1]
        took = time.monotonic() - t0
    finally:
        if "proc" in locals() and proc.poll() is None:  # a collector that did not stop: never leave it running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        pods.closing.set()
        server.shutdown()
        server.server_close()
    assert proc.returncode == 128 + sig.value, "".join(seen) + rest
    assert took < 15, f"the interrupt waited for the step: {took:.1f} s"
    assert sorted(pods.deleted) == sorted(pods.created), rest  # every debug pod created was deleted
    assert len(pods.created) == 1  # interrupted on the first node: the second was never started
    (tarball,) = out.glob("*.tar.gz")
    meta = load_meta(extract(tarball, tmp_path / "new"))
    assert meta["complete"] is False and "binfmt" in meta["interrupted"]
    ((ns, name),) = pods.created
    deletes = [c for c in meta["commands"] if "delete" in c["argv"] and name in c["argv"]]
    assert [c["exit_code"] for c in deletes] == [0]  # the clean-up is on the record
    assert "removing debug pod" in rest
