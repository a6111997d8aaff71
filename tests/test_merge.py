"""`analyze.merge`: one finding per workload, the most specific cause primary, the others contributing.

The policy is checked on small finding lists: which cause leads, what the others add, what is never
mixed up (another workload, a latent finding), whatever order or confidence the rules produced them in.
"""

from __future__ import annotations

import itertools

from forensics.analysis.analyze import merge
from forensics.analysis.findings import Evidence, Finding, MissingEvidence, Remediation, Workload

API = Workload("Deployment", "shop", "api")


def _f(
    cause: str,
    w: Workload = API,
    *,
    confidence: float = 0.8,
    severity: str = "high",
    latent: bool = False,
    evidence: tuple[str, ...] = (),
    pods: tuple[str, ...] = (),
    remedies: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        cause=cause,
        severity=severity,
        confidence=confidence,
        workload=w,
        summary=f"{cause} on {w}",
        latent=latent,
        pods=list(pods),
        evidence=[Evidence("log", "logs/p/main.log", f"Pod {w.namespace}/p", t, line=1) for t in evidence],
        remediation=[Remediation(title=t) for t in remedies],
        missing_evidence=[MissingEvidence(what=m, why="would confirm") for m in missing],
    )


def test_the_specific_cause_leads_whatever_the_order_and_confidence() -> None:
    # an image built for another architecture explains a crash; the crash is a symptom that contributes
    for order in itertools.permutations(["arch.single-arch-image", "app-crash", "oom-killed"]):
        fs = [_f(c, confidence=0.99 if c == "app-crash" else 0.55) for c in order]
        (out,) = merge(fs)
        assert out.cause == "arch.single-arch-image"
        assert sorted(out.contributing) == ["app-crash", "oom-killed"]


def test_documented_precedences() -> None:
    pairs = [
        ("platform.os-mismatch", "arch.single-arch-image"),  # another OS: no architecture cause explains it
        ("entrypoint-not-executable", "arch.single-arch-image"),
        ("oom-killed", "app-crash"),
        ("liveness-probe", "arch.emulation-fault"),  # an emulated pod that is only slow is a probe problem
        ("arch.index-missing-platform", "image-pull-not-found"),
    ]
    for first, second in pairs:
        for order in ([first, second], [second, first]):
            (out,) = merge([_f(c) for c in order])
            assert (out.cause, out.contributing) == (first, [second])


def test_an_unknown_cause_never_leads() -> None:
    (out,) = merge([_f("some.future-cause", confidence=0.99), _f("app-crash", confidence=0.3)])
    assert out.cause == "app-crash" and out.contributing == ["some.future-cause"]


def test_one_cause_twice_keeps_the_surer_finding_and_does_not_contribute_to_itself() -> None:
    (out,) = merge(
        [_f("oom-killed", confidence=0.6, evidence=("a",)), _f("oom-killed", confidence=0.9, evidence=("b",))]
    )
    assert out.confidence == 0.9 and out.contributing == []
    assert [e.text for e in out.evidence] == ["b"]


def test_what_contributing_findings_add() -> None:
    arch = _f(
        "arch.single-arch-image",
        severity="high",
        confidence=0.9,
        evidence=("exec format error",),
        pods=("api-1",),
        remedies=("Rebuild", "Roll the pods"),
        missing=("no image inspection",),
    )
    crash = _f(
        "app-crash",
        severity="critical",
        confidence=0.5,
        evidence=("exec format error", "panic: boom"),
        pods=("api-2", "api-1"),
        remedies=("Roll the pods", "Read the logs"),
        missing=("no image inspection", "no previous log"),
    )
    (out,) = merge([crash, arch])
    assert out.cause == "arch.single-arch-image"
    assert out.severity == "critical"  # the worst of the group
    assert 0.9 < out.confidence <= 0.99  # agreeing causes raise it a little, never to certainty
    assert out.pods == ["api-1", "api-2"]
    # the same line is not repeated; the contributor's own line is kept and says whom it supports
    # (the shared line, identical in file, line and text, stays the primary's)
    assert [(e.text, e.supports) for e in out.evidence] == [
        ("exec format error", None),
        ("panic: boom", "app-crash"),
    ]
    assert [r.title for r in out.remediation] == ["Rebuild", "Roll the pods", "Read the logs"]
    assert [m.what for m in out.missing_evidence] == ["no image inspection", "no previous log"]


def test_confidence_is_capped_below_certainty() -> None:
    causes = [
        "arch.single-arch-image",
        "app-crash",
        "oom-killed",
        "liveness-probe",
        "evicted",
        "missing-config",
    ]
    (out,) = merge([_f(c, confidence=0.98) for c in causes])
    assert out.confidence == 0.99 and len(out.contributing) == len(causes) - 1


def test_other_workloads_and_latent_findings_are_never_merged() -> None:
    other_ns = Workload("Deployment", "staging", "api")
    other_kind = Workload("StatefulSet", "shop", "api")
    fs = [
        _f("arch.single-arch-image"),
        _f("app-crash", other_ns),
        _f("oom-killed", other_kind),
        _f("arch.mixed-arch-no-affinity", latent=True, severity="medium"),
    ]
    out = merge(fs)
    assert sorted((f.workload.kind, f.workload.namespace, f.cause, f.latent) for f in out) == [
        ("Deployment", "shop", "arch.mixed-arch-no-affinity", True),
        ("Deployment", "shop", "arch.single-arch-image", False),
        ("Deployment", "staging", "app-crash", False),
        ("StatefulSet", "shop", "oom-killed", False),
    ]
    assert all(f.contributing == [] for f in out)
    assert out[-1].latent  # latent findings come after the failing ones


def test_order_is_by_severity_then_architecture_first() -> None:
    ws = [Workload("Deployment", "ns", n) for n in "abcd"]
    out = merge(
        [
            _f("app-crash", ws[0], severity="medium"),
            _f("oom-killed", ws[1], severity="critical"),
            _f("app-crash", ws[2], severity="high"),
            _f("arch.single-arch-image", ws[3], severity="high"),
        ]
    )
    assert [f.workload.name for f in out] == ["b", "d", "c", "a"]
