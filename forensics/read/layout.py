"""Every path inside a format-v1 dump is spelled here, and only here.

Parsers, frames and rules never build a path: they ask this module. A member name is classified
into a `Member` (what it is, and the names it carries: snapshot, namespace, pod, container, ...).

    forensics-dump.yaml
    snapshots/<YYYYMMDDTHHMMSSZ>/<kind>.json
    snapshots/<snap>/logs/<namespace>/<pod>/<container>.log | <container>.previous.log
    images/<slug>/ref.txt | manifest.json | config.json | configs/<digest>.json
    nodes/<node>/binfmt_misc/<entry>
    nodes/<node>/cpuinfo
"""

from __future__ import annotations

import re
from typing import NamedTuple

FORMAT_NAME = "cluster-forensics-dump"
FORMAT_VERSION = 1
META = "forensics-dump.yaml"
SNAPSHOTS = "snapshots"
IMAGES = "images"
NODES = "nodes"
ROOT_ENTRIES = frozenset({META, SNAPSHOTS, IMAGES, NODES})

# the kinds a snapshot may hold, as `kubectl get <kind> -A -o json` names them
KINDS = (
    "nodes",
    "pods",
    "events",
    "deployments",
    "replicasets",
    "daemonsets",
    "statefulsets",
    "jobs",
    "cronjobs",
)

SNAPSHOT_RE = re.compile(r"^\d{8}T\d{6}Z$")
_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]")


class Member(NamedTuple):
    """What one file of a dump is. `role` is one of the ROLE_* names below."""

    role: str
    snapshot: str = ""
    kind: str = ""
    namespace: str = ""
    pod: str = ""
    container: str = ""
    previous: bool = False
    slug: str = ""
    digest: str = ""
    node: str = ""
    entry: str = ""


ROLE_META = "meta"
ROLE_OBJECTS = "objects"
ROLE_LOG = "log"
ROLE_IMAGE_REF = "image-ref"
ROLE_IMAGE_MANIFEST = "image-manifest"
ROLE_IMAGE_CONFIG = "image-config"
ROLE_IMAGE_CHILD_CONFIG = "image-child-config"
ROLE_BINFMT = "binfmt"
ROLE_CPUINFO = "cpuinfo"


def classify(name: str) -> Member | None:
    """Classify a root-relative posix path; None for files the v1 layout does not define."""
    parts = name.split("/")
    n = len(parts)
    if n == 1 and parts[0] == META:
        return Member(ROLE_META)
    head = parts[0]
    if head == SNAPSHOTS and n >= 3:
        snap = parts[1]
        if n == 3 and parts[2].endswith(".json") and parts[2][:-5] in KINDS:
            return Member(ROLE_OBJECTS, snapshot=snap, kind=parts[2][:-5])
        if n == 6 and parts[2] == "logs":
            fname = parts[5]
            if fname.endswith(".previous.log"):
                return Member(
                    ROLE_LOG,
                    snapshot=snap,
                    namespace=parts[3],
                    pod=parts[4],
                    container=fname[: -len(".previous.log")],
                    previous=True,
                )
            if fname.endswith(".log"):
                return Member(
                    ROLE_LOG, snapshot=snap, namespace=parts[3], pod=parts[4], container=fname[: -len(".log")]
                )
        return None
    if head == IMAGES and n >= 3:
        slug = parts[1]
        if n == 3:
            role = {
                "ref.txt": ROLE_IMAGE_REF,
                "manifest.json": ROLE_IMAGE_MANIFEST,
                "config.json": ROLE_IMAGE_CONFIG,
            }.get(parts[2])
            return Member(role, slug=slug) if role else None
        if n == 4 and parts[2] == "configs" and parts[3].endswith(".json"):
            return Member(ROLE_IMAGE_CHILD_CONFIG, slug=slug, digest=parts[3][:-5].replace("_", ":", 1))
        return None
    if head == NODES and n == 4 and parts[2] == "binfmt_misc":
        return Member(ROLE_BINFMT, node=parts[1], entry=parts[3])
    if head == NODES and n == 3 and parts[2] == "cpuinfo":
        return Member(ROLE_CPUINFO, node=parts[1])
    return None


def objects_file(snapshot: str, kind: str) -> str:
    return f"{SNAPSHOTS}/{snapshot}/{kind}.json"


def log_file(snapshot: str, namespace: str, pod: str, container: str, previous: bool = False) -> str:
    suffix = ".previous.log" if previous else ".log"
    return f"{SNAPSHOTS}/{snapshot}/logs/{namespace}/{pod}/{container}{suffix}"


def image_slug(ref: str) -> str:
    """The folder name of an image reference: every char outside [A-Za-z0-9._-] becomes '_'."""
    return _SLUG_RE.sub("_", ref)


def image_file(slug: str, what: str = "manifest.json") -> str:
    return f"{IMAGES}/{slug}/{what}"


def image_child_config_file(slug: str, digest: str) -> str:
    return f"{IMAGES}/{slug}/configs/{digest.replace(':', '_')}.json"


def binfmt_file(node: str, entry: str) -> str:
    return f"{NODES}/{node}/binfmt_misc/{entry}"


def cpuinfo_file(node: str) -> str:
    """The `model name` and `flags` lines of the node's /proc/cpuinfo (first processor)."""
    return f"{NODES}/{node}/cpuinfo"
