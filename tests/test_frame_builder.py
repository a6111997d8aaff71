"""`FrameBuilder`'s public surface for the foreign formats: rows added under a pending snapshot are
renamed once the collection time is known, the newest observed time, log line offsets, digests."""

from __future__ import annotations

import json

import pandas as pd

from forensics.read import layout
from forensics.read.frames import FrameBuilder
from forensics.read.source import LoadProblem

PENDING = "pending"
SNAP = "20260301T120000Z"
DIGEST = "sha256:" + "ab" * 32


def _pods() -> bytes:
    pod = {
        "metadata": {"name": "api-1", "namespace": "shop", "uid": "u1", "creationTimestamp": "2026-03-01T10:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "api", "image": "ghcr.io/acme/api:1.2"}]},
        "status": {
            "phase": "Running",
            "startTime": "2026-03-01T10:00:05Z",
            "containerStatuses": [
                {
                    "name": "api",
                    "image": "ghcr.io/acme/api:1.2",
                    "imageID": f"ghcr.io/acme/api@{DIGEST}",
                    "restartCount": 3,
                    "ready": False,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
    }
    return json.dumps({"kind": "List", "items": [pod]}).encode()


def _events() -> bytes:
    ev = {
        "metadata": {"name": "e1", "namespace": "shop", "uid": "e1"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "api-1"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "lastTimestamp": "2026-03-01T11:58:00Z",
        "firstTimestamp": "2026-03-01T10:01:00Z",
    }
    return json.dumps({"kind": "List", "items": [ev]}).encode()


def _log(b: FrameBuilder, offset: int) -> None:
    m = layout.Member(layout.ROLE_LOG, snapshot=PENDING, namespace="shop", pod="api-1", container="api")
    b.add_log(m, "logs.txt", b"starting\nexec /app/server: exec format error\n", line_offset=offset)


def test_rename_moves_every_row_and_the_snapshot_list() -> None:
    b = FrameBuilder()
    b.add_objects(PENDING, "pods", "pods.json", _pods())
    b.add_objects(PENDING, "events", "events.json", _events())
    _log(b, 0)
    assert b.snapshots_seen() == {PENDING}
    b.rename_snapshot(PENDING, SNAP)
    assert b.snapshots_seen() == {SNAP}
    problems: list[LoadProblem] = []
    frames = b.build([SNAP], problems)
    for name in ("pods", "containers", "events", "logs", "signatures"):
        assert not frames[name].empty and set(frames[name]["snapshot"]) == {SNAP}, name
        assert frames[name]["observed_at"].eq(pd.Timestamp("2026-03-01T12:00:00Z")).all(), name
    assert problems == []


def test_newest_time_is_the_newest_observation() -> None:
    b = FrameBuilder()
    assert b.newest_time() is None
    b.add_objects(PENDING, "pods", "pods.json", _pods())
    assert b.newest_time() == pd.Timestamp("2026-03-01T10:00:05Z")  # the pod's start
    b.add_objects(PENDING, "events", "events.json", _events())
    assert b.newest_time() == pd.Timestamp("2026-03-01T11:58:00Z")
    assert b.newest_time(["2026-03-01T11:59:30Z", "no time"]) == pd.Timestamp("2026-03-01T11:59:30Z")


def test_log_line_offset_points_at_the_line_of_the_bigger_file() -> None:
    lines = []
    for offset in (0, 40):
        b = FrameBuilder()
        _log(b, offset)
        sigs = b.build([PENDING], [])["signatures"]
        assert not sigs.empty
        lines.append(set(sigs["line"].dropna().astype(int)))
    assert lines[1] == {n + 40 for n in lines[0]} and lines[0]


def test_image_by_digest_names_the_spec_image() -> None:
    b = FrameBuilder()
    assert b.image_by_digest() == {}
    b.add_objects(PENDING, "pods", "pods.json", _pods())
    assert b.image_by_digest() == {DIGEST: "ghcr.io/acme/api:1.2"}
