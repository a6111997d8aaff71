"""image-pull-network: pulls that fail on the way (TLS, DNS, timeouts, rate limits) are a cause of
their own, never image-pull-auth or image-pull-not-found; events about a pod that is gone still
name its workload, with a lower confidence."""

from __future__ import annotations

import shlex
from pathlib import Path

from forensics.analysis.correlate import Context
from forensics.analysis.rules.image_pull_network import CAUSE, find
from tests.rules.builders import causes, context, ctr, event, only, pod, realdata_items, waiting

POD = "web-6d4cf56db6-abcde"
IMG = "registry.example.com/shop/web:1.4"


def _ctx(tmp_path: Path, why: str) -> Context:
    return context(
        tmp_path,
        pods=[
            pod(POD, containers=[ctr(image=IMG, state=waiting("ImagePullBackOff", f'Back-off pulling image "{IMG}"'))])
        ],
        events=[
            event(
                POD,
                "Failed",
                f'Failed to pull image "{IMG}": rpc error: code = Unknown desc = {why}',
                container="app",
                count=6,
            )
        ],
    )


def failing_example(tmp_path: Path) -> Context:
    """The real troubleshoot pod and events: ErrImagePull with an x509 error for noimage.com."""
    return context(
        tmp_path,
        pods=realdata_items("troubleshoot", "pods-message-image-pull-fail.json"),
        events=realdata_items("troubleshoot", "events-message-image-pull-fail.json"),
    )


def test_a_tls_failure_is_its_own_cause(tmp_path: Path) -> None:
    ctx = failing_example(tmp_path)
    f = only(find(ctx))
    assert f.cause == CAUSE and "certificate" in f.summary and f.confidence >= 0.8
    assert any(e.kind == "event" and "x509" in e.text for e in f.evidence)
    assert any("openssl" in r.command for r in f.remediation)
    assert not {"image-pull-auth", "image-pull-not-found", "app-crash"} & set(causes(ctx))


def test_dns_and_timeouts_and_rate_limits(tmp_path: Path) -> None:
    dns = (
        f'failed to resolve reference "{IMG}": failed to do request: Head "https://registry.example.com/v2/": '
        "dial tcp: lookup registry.example.com on 10.96.0.10:53: no such host"
    )
    f = only(find(_ctx(tmp_path / "dns", dns)))
    assert "registry.example.com" in f.summary
    cmds = [shlex.split(line) for r in f.remediation for line in r.command.splitlines() if not line.startswith("#")]
    assert cmds == [] or all(c for c in cmds)
    timeout = f'failed to pull and unpack image "{IMG}": failed to copy: read tcp: i/o timeout'
    assert only(find(_ctx(tmp_path / "t", timeout))).cause == CAUSE
    limited = "toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating"
    f = only(find(_ctx(tmp_path / "r", limited)))
    assert "rate-limits" in f.summary


def test_auth_and_not_found_are_not_it(tmp_path: Path) -> None:
    denied = "pull access denied for shop/web, repository does not exist or may require 'docker login'"
    assert find(_ctx(tmp_path / "a", denied)) == []
    assert find(_ctx(tmp_path / "n", f"manifest for {IMG} not found: manifest unknown")) == []


def test_events_of_a_vanished_pod_name_its_deployment(tmp_path: Path) -> None:
    gone = "web-7f9c8b6d5d-zzzzz"
    why = (
        f'Failed to pull image "{IMG}": Get "https://registry.example.com/v2/": x509: certificate signed by '
        "unknown authority"
    )
    ctx = context(
        tmp_path,
        pods=[pod("db-0", owner="StatefulSet/db", containers=[ctr("db")])],
        events=[event(gone, "Failed", why, container="app", count=3)],
    )
    f = only(find(ctx))
    assert str(f.workload) == "Deployment shop/web" and f.pods == [gone]
    assert f.confidence < 0.6 and f.severity == "low"
    assert f.images and f.images[0]["ref"] == IMG
    assert any(gone in m.what for m in f.missing_evidence)
