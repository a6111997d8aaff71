"""image-pull-not-found: found from containerd's `not found` / the registry's `manifest unknown`;
a platform miss is an arch cause; a missing event is said."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.image_pull_not_found import CAUSE, find
from tests.rules.builders import causes, context, ctr, event, only, pod, waiting

POD = "web-6d4cf56db6-abcde"
IMG = "ghcr.io/shop/web:1.4.1"
NOT_FOUND = (
    f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMG}": failed to resolve '
    f'reference "{IMG}": {IMG}: not found'
)
# from tests/fixtures/realdata/github-issues/error-strings-with-sources.json (kubewarden)
NO_PLATFORM = (
    'Failed to pull image "ghcr.io/kubewarden/kubewarden-controller:latest": rpc error: code = NotFound '
    'desc = failed to pull and unpack image "ghcr.io/kubewarden/kubewarden-controller:latest": no match '
    "for platform in manifest: not found"
)


def _ctx(tmp_path: Path, message: str, events: list[dict] | None, image: str = IMG) -> Context:
    return context(
        tmp_path, pods=[pod(POD, containers=[ctr(image=image, state=waiting("ErrImagePull", message))])], events=events
    )


def failing_example(tmp_path: Path) -> Context:
    return _ctx(
        tmp_path,
        NOT_FOUND,
        [event(POD, "Failed", f'Failed to pull image "{IMG}": {NOT_FOUND}', container="app", count=3)],
    )


def test_found_with_a_tag_check(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and f.confidence >= 0.9 and IMG in f.summary
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]
    assert ["docker", "buildx", "imagetools", "inspect", IMG] in cmds
    assert ["crane", "ls", "ghcr.io/shop/web"] in cmds
    assert any(c[:6] == ["kubectl", "-n", "shop", "set", "image", "deployment/web"] for c in cmds)
    assert "image-pull-auth" not in causes(ctx)


def test_manifest_unknown_from_the_registry(tmp_path: Path) -> None:
    msg = (
        "Error response from daemon: manifest for ghcr.io/shop/web:1.4.1 not found: manifest unknown: manifest unknown"
    )
    assert only(find(_ctx(tmp_path, msg, []))).cause == CAUSE


def test_platform_miss_is_not_a_missing_tag(tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        NO_PLATFORM,
        [event(POD, "Failed", NO_PLATFORM, container="app")],
        image="ghcr.io/kubewarden/kubewarden-controller:latest",
    )
    assert find(ctx) == []


def test_without_events_says_so(tmp_path: Path) -> None:
    f = only(find(_ctx(tmp_path, NOT_FOUND, None)))
    assert f.confidence < 0.9
    assert any(m.what == "no events in the dump" for m in f.missing_evidence)
