"""A real OCI registry on 127.0.0.1 (Debian's `docker-registry`) and images pushed to it over the plain
registry HTTP API, byte-exact (the only way found to push BuildKit attestation entries exactly).

Import the fixture explicitly: `from tests.registry_fixture import registry`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from forensics.knowledge.manifests import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
)

REGISTRY_BIN = "/usr/bin/docker-registry"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pushed:
    """One pushed reference: the digest and bytes of its manifest (or index), and its configs by
    child-manifest digest (single manifests: under their own digest)."""

    ref: str
    digest: str
    manifest: bytes
    configs: dict[str, bytes] = field(default_factory=dict)
    platforms: dict[str, str] = field(default_factory=dict)  # child digest -> "os/arch[/variant]"


class Registry:
    def __init__(self, host: str) -> None:
        self.host = host

    def _req(
        self, method: str, path: str, data: bytes | None = None, ctype: str | None = None, accept: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else f"http://{self.host}{path}"
        req = urllib.request.Request(url, data=data, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        if accept:
            req.add_header("Accept", accept)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()

    def blob(self, repo: str, data: bytes) -> str:
        digest = _digest(data)
        _, headers, _ = self._req("POST", f"/v2/{repo}/blobs/uploads/")
        loc = headers["Location"]
        if loc.startswith("/"):
            loc = f"http://{self.host}{loc}"
        sep = "&" if "?" in loc else "?"
        self._req("PUT", f"{loc}{sep}digest={digest}", data, "application/octet-stream")
        return digest

    def manifest(self, repo: str, tag: str, body: bytes, media_type: str) -> str:
        self._req("PUT", f"/v2/{repo}/manifests/{tag}", body, media_type)
        return _digest(body)

    def image(self, repo: str, tag: str, arch: str, variant: str | None = None, docker: bool = False) -> Pushed:
        """A one-layer image for linux/arch[/variant]; OCI media types unless `docker`."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            payload = f"built for {arch}\n".encode()
            info = tarfile.TarInfo("etc/arch")
            info.size, info.mtime = len(payload), 0
            tar.addfile(info, io.BytesIO(payload))
        raw_layer = buf.getvalue()
        layer = gzip.compress(raw_layer, mtime=0)
        config: dict[str, Any] = {
            "architecture": arch,
            "os": "linux",
            "created": "2026-11-01T00:00:00Z",
            "config": {"Entrypoint": ["/bin/app"]},
            "rootfs": {"type": "layers", "diff_ids": [_digest(raw_layer)]},
        }
        if variant:
            config["variant"] = variant
        config_bytes = json.dumps(config, separators=(",", ":")).encode()
        self.blob(repo, layer)
        self.blob(repo, config_bytes)
        mt = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": _digest(config_bytes),
                "size": len(config_bytes),
            },
            "layers": [
                {"mediaType": DOCKER_LAYER if docker else OCI_LAYER, "digest": _digest(layer), "size": len(layer)}
            ],
        }
        body = json.dumps(manifest, indent=2).encode()
        digest = self.manifest(repo, tag, body, mt)
        plat = f"linux/{arch}" + (f"/{variant}" if variant else "")
        return Pushed(f"{self.host}/{repo}:{tag}", digest, body, {digest: config_bytes}, {digest: plat})

    def attestation(self, repo: str, subject: str) -> tuple[str, bytes]:
        """A BuildKit-style attestation manifest (in-toto layer) for `subject`; returns (digest, bytes)."""
        statement = json.dumps(
            {
                "_type": "https://in-toto.io/Statement/v0.1",
                "predicateType": "https://spdx.dev/Document",
                "subject": [{"name": "app", "digest": {"sha256": subject.split(":", 1)[1]}}],
                "predicate": {},
            }
        ).encode()
        config = b'{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
        self.blob(repo, statement)
        self.blob(repo, config)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
                "layers": [
                    {
                        "mediaType": "application/vnd.in-toto+json",
                        "digest": _digest(statement),
                        "size": len(statement),
                        "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
                    }
                ],
            },
            indent=2,
        ).encode()
        return self.manifest(repo, _digest(body), body, OCI_MANIFEST), body

    def index(
        self, repo: str, tag: str, children: list[Pushed], *, docker: bool = False, attestations: bool = False
    ) -> Pushed:
        entries = []
        configs: dict[str, bytes] = {}
        platforms: dict[str, str] = {}
        for child in children:
            os_, arch, *rest = child.platforms[child.digest].split("/")
            plat: dict[str, str] = {"architecture": arch, "os": os_}
            if rest:
                plat["variant"] = rest[0]
            entries.append(
                {
                    "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
                    "digest": child.digest,
                    "size": len(child.manifest),
                    "platform": plat,
                }
            )
            configs.update(child.configs)
            platforms.update(child.platforms)
        if attestations:
            for child in children:
                digest, body = self.attestation(repo, child.digest)
                entries.append(
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": digest,
                        "size": len(body),
                        "annotations": {
                            "vnd.docker.reference.digest": child.digest,
                            "vnd.docker.reference.type": "attestation-manifest",
                        },
                        "platform": {"architecture": "unknown", "os": "unknown"},
                    }
                )
        mt = DOCKER_LIST if docker else OCI_INDEX
        body = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": entries}, indent=3).encode()
        digest = self.manifest(repo, tag, body, mt)
        return Pushed(f"{self.host}/{repo}:{tag}", digest, body, configs, platforms)


def _wait_ready(host: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://{host}/v2/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError("docker-registry did not answer /v2/ within 20 s")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A fresh docker-registry on a free 127.0.0.1 port for the module; skipped when not installed."""
    if not Path(REGISTRY_BIN).exists() or shutil.which("skopeo") is None:
        pytest.skip("needs docker-registry and skopeo (apt-get install docker-registry skopeo)")
    root = tmp_path_factory.mktemp("registry")
    host = f"127.0.0.1:{_free_port()}"
    cfg = root / "config.yml"
    cfg.write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {root / 'data'}}}\n"
        f"  delete: {{enabled: true}}\nhttp:\n  addr: {host}\n"
    )
    proc = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=(root / "registry.log").open("wb")
    )
    try:
        _wait_ready(host, proc)
        yield Registry(host)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def buildah_index(registry: Registry, work: Path, repo: str, arches: list[str], *, docker: bool = False) -> Pushed:
    """Build tiny images for `arches` with buildah (vfs storage under `work`, no daemon), join them in a
    manifest list and push it with `buildah manifest push --all` (an OCI index, or a Docker list)."""
    if shutil.which("buildah") is None:
        pytest.skip("needs buildah (apt-get install buildah)")
    base = ["buildah", "--root", str(work / "root"), "--runroot", str(work / "runroot"), "--storage-driver", "vfs"]

    def run(*args: str) -> str:
        return subprocess.run([*base, *args], check=True, capture_output=True, text=True, timeout=120).stdout.strip()

    payload = work / "payload"
    payload.parent.mkdir(parents=True, exist_ok=True)
    payload.write_text("hello\n")
    run("manifest", "create", f"{repo}-list")
    for arch in arches:
        ctr = run("from", "--arch", arch, "--os", "linux", "scratch")
        run("copy", ctr, str(payload), "/payload")
        run("config", "--entrypoint", '["/payload"]', ctr)
        run("commit", "-q", ctr, f"{repo}-{arch}")
        run("manifest", "add", f"{repo}-list", f"containers-storage:localhost/{repo}-{arch}")
    ref = f"{registry.host}/{repo}:1"
    digestfile = work / "digest"
    run(
        "manifest",
        "push",
        "--all",
        "--tls-verify=false",
        "--digestfile",
        str(digestfile),
        *(["--format", "v2s2"] if docker else []),
        f"{repo}-list",
        f"docker://{ref}",
    )
    digest = digestfile.read_text().strip()
    _, _, body = registry._req("GET", f"/v2/{repo}/manifests/{digest}", accept=f"{OCI_INDEX},{DOCKER_LIST}")
    doc = json.loads(body)
    platforms = {m["digest"]: f"{m['platform']['os']}/{m['platform']['architecture']}" for m in doc["manifests"]}
    return Pushed(ref, digest, body, {}, platforms)
