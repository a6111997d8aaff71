"""Round trip with the real things: serve a sample dump, run the collectors against it with the real
kubectl, and check that the new dump gives the same frames and the same findings as the original.

Image inspections and binfmt listings cannot come through the Kubernetes API (the registry and the
nodes are not there), so the original's `images/` folder is added to both sides with `--images`,
and stories that rest on binfmt listings or on several snapshots are not round-tripped here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forensics.analysis.analyze import analyze
from forensics.read.formats import load_any
from tests.dump_builder import collect_from

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dumps"
STORIES = ["graviton-new-pool", "laptop-build", "index-without-arm64", "mixed-no-affinity", "not-arch", "healthy-mixed"]

pytestmark = pytest.mark.kubectl


def _frames_view(d) -> dict[str, set]:
    f = d.frames
    return {
        "nodes": set(f["nodes"][["node", "arch", "pool", "instance_type"]].astype(str).itertuples(index=False)),
        "pods": set(
            f["pods"][["namespace", "pod", "node", "phase", "workload_kind", "workload_name"]]
            .astype(str)
            .itertuples(index=False)
        ),
        "containers": set(
            f["containers"][
                [
                    "namespace",
                    "pod",
                    "container",
                    "image",
                    "image_digest",
                    "restart_count",
                    "state",
                    "waiting_reason",
                    "last_exit_code",
                    "last_message",
                ]
            ]
            .astype(str)
            .itertuples(index=False)
        ),
        "workloads": set(f["workloads"][["kind", "namespace", "name"]].astype(str).itertuples(index=False)),
        "signatures": set(
            f["signatures"][["namespace", "pod", "container", "signature", "text"]].astype(str).itertuples(index=False)
        ),
    }


def _findings_view(doc: dict) -> set:
    return {
        (
            f["cause"],
            tuple(sorted(f["contributing"])),
            f["workload"]["kind"],
            f["workload"]["namespace"],
            f["workload"]["name"],
            f["latent"],
            tuple(f["pods"]),
        )
        for f in doc["findings"] + doc["latent"]
    }


@pytest.mark.parametrize("story", STORIES)
def test_collect_from_served_dump_round_trips(story: str, tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (.ci/run installs it)")
    original = SAMPLES / story
    images = original / "images"
    tarball = collect_from(original, tmp_path, "--all-logs", "--no-redact")
    a = load_any(original)
    b = load_any(tarball, images=images if images.is_dir() else None)
    va, vb = _frames_view(a), _frames_view(b)
    for name in va:
        assert va[name] == vb[name], f"{name} differ: {sorted(va[name] ^ vb[name])[:5]}"
    assert _findings_view(analyze(a)) == _findings_view(analyze(_as_of(b, a)))


def _as_of(collected, original):
    """The collected dump, observed at the original's snapshot time. `serve` replays the original
    snapshot, but the collector names its snapshot by the real clock, years later: restarts that were
    recent when the original was taken would read as history (#13), which is right for a live
    collection and not what this round trip compares."""
    t = original.frames["pods"]["observed_at"].max()
    for f in collected.frames.values():
        if "observed_at" in f.columns:
            f["observed_at"] = t
    collected.meta = {**collected.meta, "collected_at": original.meta.get("collected_at")}
    return collected
