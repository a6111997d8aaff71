"""The arch scenario language, extended for the exec-format family: nodes with an OS, labels (Node
Feature Discovery, instance types, Windows builds) and a variant; indexes whose child configs are in
the dump (so an entry can lie); image configs with labels and build history; pod labels and events.
Written as a real format-v1 dump and loaded through the real loader."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.read import layout
from tests.rules.arch_scenario import REAL, SNAPS, Pod, Scenario

__all__ = ["REAL", "SNAPS", "FamilyScenario", "Node", "Pod", "config", "event", "index_with_configs", "manifest_for"]


@dataclass
class Node:
    arch: str  # as the kubelet reports it (amd64, arm64, arm)
    os: str = "linux"
    labels: dict[str, str] = field(default_factory=dict)
    kernel: str = ""


def config(
    arch: str,
    *,
    os: str = "linux",
    variant: str = "",
    labels: dict[str, str] | None = None,
    history: list[str] | None = None,
    env: list[str] | None = None,
) -> bytes:
    """An image config in the shape of the real schema2 config fixture."""
    cfg = json.loads((REAL / "containers-image" / "schema2-config.json").read_text())
    cfg["architecture"], cfg["os"] = arch, os
    if variant:
        cfg["variant"] = variant
    cfg["created"] = "2026-02-27T09:00:00Z"
    cfg.setdefault("config", {})["Labels"] = labels or {}
    if env is not None:
        cfg["config"]["Env"] = env
    if history is not None:
        cfg["history"] = [{"created_by": h} for h in history]
    return json.dumps(cfg).encode()


def manifest_for(cfg: bytes) -> bytes:
    man = json.loads((REAL / "containers-image" / "v2s2.manifest.json").read_text())
    man["config"]["digest"] = "sha256:" + hashlib.sha256(cfg).hexdigest()
    return json.dumps(man).encode()


def index_with_configs(
    entries: list[tuple[str, bytes]], *, os_versions: dict[str, str] | None = None
) -> tuple[bytes, dict[str, bytes]]:
    """An OCI index whose entries (os/arch[/variant] as listed) point at manifests of the given configs;
    returns the index and {child digest: config} for `images/<slug>/configs/`."""
    ms, configs = [], {}
    for plat, cfg in entries:
        os_, arch, *var = plat.split("/")
        man = manifest_for(cfg) + plat.encode()  # distinct children even for equal configs
        d = "sha256:" + hashlib.sha256(man).hexdigest()
        p: dict[str, Any] = {"os": os_, "architecture": arch}
        if var:
            p["variant"] = var[0]
        if os_versions and plat in os_versions:
            p["os.version"] = os_versions[plat]
        ms.append(
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(man), "digest": d, "platform": p}
        )
        configs[d] = cfg
    idx = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}
    ).encode()
    return idx, configs


@dataclass
class FamilyScenario(Scenario):
    node_specs: dict[str, Node] = field(default_factory=dict)
    child_configs: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref -> {digest: config}
    pod_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # pod -> labels
    events: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # pod -> (reason, message)
    exit_codes: dict[str, int] = field(default_factory=dict)  # pod -> last exit code

    def __post_init__(self) -> None:
        for name, n in self.node_specs.items():
            self.nodes[name] = n.arch

    def write(self, root: Path) -> Path:
        super().write(root)
        snaps = SNAPS[: self.snapshots]
        for snap in snaps:
            f = root / layout.objects_file(snap, "nodes")
            nodes = json.loads(f.read_text())
            for item in nodes["items"]:
                spec = self.node_specs.get(item["metadata"]["name"])
                if spec is None:
                    continue
                item["metadata"]["labels"].update({"kubernetes.io/os": spec.os, **spec.labels})
                item["status"]["nodeInfo"]["operatingSystem"] = spec.os
                if spec.kernel:
                    item["status"]["nodeInfo"]["kernelVersion"] = spec.kernel
            f.write_text(json.dumps(nodes))
            f = root / layout.objects_file(snap, "pods")
            pods = json.loads(f.read_text())
            for item in pods["items"]:
                name = item["metadata"]["name"]
                item["metadata"]["labels"].update(self.pod_labels.get(name, {}))
                st = item["status"]["containerStatuses"][0]
                if name in self.waiting:
                    reason, msg = self.waiting[name]
                    st["state"] = {"waiting": {"reason": reason, "message": msg}}
                if name in self.exit_codes and "lastState" in st:
                    st["lastState"]["terminated"]["exitCode"] = self.exit_codes[name]
            f.write_text(json.dumps(pods))
            if self.events:
                self._put(root, layout.objects_file(snap, "events"), {"kind": "List", "items": self.events})
        for ref, configs in self.child_configs.items():
            slug = layout.image_slug(ref)
            for d, cfg in configs.items():
                p = root / layout.image_child_config_file(slug, d)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(cfg)
        return root


def event(pod: str, reason: str, message: str, *, container: str | None = "app") -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "Pod", "namespace": "prod", "name": pod}
    if container:
        obj["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "metadata": {"name": f"{pod}.{reason.lower()}", "namespace": "prod", "uid": f"ev-{pod}-{reason}"},
        "involvedObject": obj,
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 3,
        "firstTimestamp": "2026-03-01T09:50:00Z",
        "lastTimestamp": "2026-03-01T09:59:00Z",
        "source": {"component": "kubelet"},
    }
