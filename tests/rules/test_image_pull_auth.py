"""image-pull-auth: found from the registry's refusal in the ErrImagePull message or the Failed
event; a TLS failure or a bare ImagePullBackOff is not it; a missing event is said."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.image_pull_auth import CAUSE, find
from tests.rules.builders import causes, context, ctr, event, only, pod, realdata_items, waiting

POD = "web-6d4cf56db6-abcde"
IMG = "registry.example.com:5000/shop/web:1.4"
DENIED = (
    f'failed to pull and unpack image "{IMG}": failed to resolve reference "{IMG}": '
    "unexpected status from HEAD request to https://registry.example.com:5000/v2/shop/web/manifests/1.4: "
    "401 Unauthorized"
)


def _ctx(tmp_path: Path, state: dict, events: list[dict] | None) -> Context:
    return context(tmp_path, pods=[pod(POD, containers=[ctr(image=IMG, state=state)])], events=events)


def failing_example(tmp_path: Path) -> Context:
    return _ctx(
        tmp_path,
        waiting("ErrImagePull", "rpc error: code = Unknown desc = " + DENIED),
        [
            event(
                POD,
                "Failed",
                f'Failed to pull image "{IMG}": rpc error: code = Unknown desc = {DENIED}',
                container="app",
                count=4,
            )
        ],
    )


def test_found_with_the_registry_in_the_commands(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and str(f.workload) == "Deployment shop/web" and f.severity == "high"
    assert f.confidence >= 0.9 and IMG in f.summary
    kinds = {e.kind for e in f.evidence}
    assert {"event", "waiting-message", "pod"} <= kinds
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines()]
    assert ["docker", "login", "registry.example.com:5000"] in cmds
    assert ["docker", "buildx", "imagetools", "inspect", IMG] in cmds
    assert any(c[:6] == ["kubectl", "-n", "shop", "create", "secret", "docker-registry"] for c in cmds)
    assert [
        "kubectl",
        "-n",
        "shop",
        "get",
        "deployment",
        "web",
        "-o",
        'jsonpath={.spec.template.spec.imagePullSecrets}{"\\n"}{.spec.template.spec.serviceAccountName}',
    ] in cmds
    assert "image-pull-not-found" not in causes(ctx) and "app-crash" not in causes(ctx)


def test_docker_hub_pull_access_denied(tmp_path: Path) -> None:
    msg = (
        "Error response from daemon: pull access denied for private/app, repository does not exist or may "
        "require 'docker login': denied: requested access to the resource is denied"
    )
    f = only(find(_ctx(tmp_path, waiting("ErrImagePull", msg), [])))
    assert 0.8 <= f.confidence < 0.9  # no event to back the waiting message


def test_tls_failure_is_not_an_auth_failure(tmp_path: Path) -> None:
    """The real troubleshoot pod: ErrImagePull with an x509 error."""
    ctx = context(
        tmp_path,
        pods=realdata_items("troubleshoot", "pods-message-image-pull-fail.json"),
        events=realdata_items("troubleshoot", "events-message-image-pull-fail.json"),
    )
    assert find(ctx) == []
    assert not {"image-pull-not-found", "app-crash"} & set(causes(ctx))


def test_backoff_alone_does_not_say_why(tmp_path: Path) -> None:
    assert (
        find(
            _ctx(
                tmp_path,
                waiting("ImagePullBackOff", f'Back-off pulling image "{IMG}"'),
                [event(POD, "BackOff", f'Back-off pulling image "{IMG}"', container="app", type="Normal")],
            )
        )
        == []
    )


def test_without_events_says_so(tmp_path: Path) -> None:
    f = only(find(_ctx(tmp_path, waiting("ErrImagePull", DENIED), None)))
    assert any(m.what == "no events in the dump" for m in f.missing_evidence)
