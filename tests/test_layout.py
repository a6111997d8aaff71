"""`layout.classify`: what each path of a format-v1 dump is, and that nothing else is taken for one.

Every path the layout can spell classifies back to what it was built from; near misses are None.
"""

from __future__ import annotations

import pytest

from forensics.read import layout
from forensics.read.layout import Member, classify

SNAP = "20260101T000000Z"


def test_every_spelled_path_classifies_back() -> None:
    assert classify(layout.META) == Member(layout.ROLE_META)
    for kind in layout.KINDS:
        assert classify(layout.objects_file(SNAP, kind)) == Member(layout.ROLE_OBJECTS, snapshot=SNAP, kind=kind)
    for prev in (False, True):
        # container names may hold dots; a pod named like a file must not confuse the suffix
        got = classify(layout.log_file(SNAP, "kube-system", "coredns-5d78.log", "side.car", previous=prev))
        assert got == Member(
            layout.ROLE_LOG,
            snapshot=SNAP,
            namespace="kube-system",
            pod="coredns-5d78.log",
            container="side.car",
            previous=prev,
        )
    slug = layout.image_slug("registry.example:5000/team/api@sha256:" + "a" * 64)
    assert "/" not in slug and ":" not in slug and "@" not in slug
    for fname, role in (
        ("ref.txt", layout.ROLE_IMAGE_REF),
        ("manifest.json", layout.ROLE_IMAGE_MANIFEST),
        ("config.json", layout.ROLE_IMAGE_CONFIG),
    ):
        assert classify(layout.image_file(slug, fname)) == Member(role, slug=slug)
    digest = "sha256:" + "b" * 64
    assert classify(layout.image_child_config_file(slug, digest)) == Member(
        layout.ROLE_IMAGE_CHILD_CONFIG, slug=slug, digest=digest
    )
    assert classify(layout.binfmt_file("node-1", "qemu-aarch64")) == Member(
        layout.ROLE_BINFMT, node="node-1", entry="qemu-aarch64"
    )
    assert classify(layout.cpuinfo_file("node-1")) == Member(layout.ROLE_CPUINFO, node="node-1")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "forensics-dump.yml",
        "x/forensics-dump.yaml",  # the top folder is stripped by the source, never here
        f"snapshots/{SNAP}/secrets.json",  # not a kind the dump holds: never read
        f"snapshots/{SNAP}/pods.json.bak",
        f"snapshots/{SNAP}/pods.yaml",
        f"snapshots/{SNAP}/sub/pods.json",
        f"snapshots/{SNAP}/logs/ns/pod/main.txt",
        f"snapshots/{SNAP}/logs/ns/pod/extra/main.log",
        f"snapshots/{SNAP}/logs/ns/main.log",
        "snapshots/pods.json",
        "images/slug/other.json",
        "images/slug/configs/x.txt",
        "images/slug/configs/deeper/x.json",
        "images/manifest.json",
        "nodes/n1/binfmt_misc",
        "nodes/n1/binfmt_misc/a/b",
        "nodes/n1/meminfo",
        "nodes/cpuinfo",
        "README.md",
    ],
)
def test_near_misses_are_not_dump_files(name: str) -> None:
    assert classify(name) is None


def test_the_kind_is_the_whole_file_stem() -> None:
    # "pods" must not match "podsecuritypolicies.json" or "xpods.json"
    assert classify(f"snapshots/{SNAP}/podsecuritypolicies.json") is None
    assert classify(f"snapshots/{SNAP}/xpods.json") is None
    assert classify(f"snapshots/{SNAP}/.json") is None
