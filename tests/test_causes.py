"""The cause registry: tables derived from the rule modules' declarations, and merge() applying the
precedence they give. Adding a cause is a module: a new module placed among the rules appears in
every derived table without another edit (checked in a fresh interpreter, so the registry of this
test session is untouched).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from forensics.analysis import causes
from forensics.analysis.analyze import merge
from forensics.analysis.findings import Evidence, Finding, Remediation, Workload

ROOT = Path(__file__).resolve().parents[1]


def _finding(cause: str, w: Workload, confidence: float = 0.6, **kw: object) -> Finding:
    f = Finding(cause=cause, severity="medium", confidence=confidence, workload=w, summary=cause)
    for k, v in kw.items():
        setattr(f, k, v)
    return f


def test_merge_makes_the_most_specific_cause_primary_and_keeps_the_others_evidence() -> None:
    w = Workload("Deployment", "shop", "api")
    order = causes.precedence()
    general, specific = order.index("app-crash"), order.index("platform.os-mismatch")
    assert specific < general
    crash = _finding(
        "app-crash",
        w,
        0.9,
        severity="high",
        pods=["api-1"],
        evidence=[Evidence("log", "logs/api-1.log", "Pod shop/api-1", "panic: boom", line=3)],
        remediation=[Remediation("read the log")],
    )
    osm = _finding(
        "platform.os-mismatch",
        w,
        0.5,
        pods=["api-2"],
        evidence=[Evidence("node", "nodes.json", "Node win-1", "windows")],
    )
    other = _finding("oom-killed", Workload("Deployment", "shop", "db"))
    out = merge([crash, osm, other])
    assert len(out) == 2
    primary = next(f for f in out if f.workload == w)
    assert primary.cause == "platform.os-mismatch" and primary.contributing == ["app-crash"]
    assert primary.severity == "high", "the merged finding is as severe as its most severe cause"
    assert primary.pods == ["api-1", "api-2"]
    assert [e.supports for e in primary.evidence] == [None, "app-crash"]
    assert [r.title for r in primary.remediation] == ["read the log"]


def test_the_cause_of_most_of_the_pods_there_leads_when_causes_are_about_different_pods() -> None:
    """Nine pods crash-looping and one surge pod Pending: the crash is the workload's cause, the
    Pending pod contributes. About the same pods, or when the other pods are known only from events
    of pods deleted since, the most specific cause stays primary."""
    w = Workload("Deployment", "shop", "api")
    crashing = [f"api-{i}" for i in range(9)]
    present = {("shop", p) for p in [*crashing, "api-new"]}

    def both(crash_pods: list[str]) -> list[Finding]:
        return [
            _finding("unschedulable", w, 0.9, pods=["api-new"]),
            _finding("app-crash", w, 0.85, pods=crash_pods),
        ]

    (f,) = merge(both(crashing), present)
    assert f.cause == "app-crash" and f.contributing == ["unschedulable"]
    assert f.pods == sorted([*crashing, "api-new"])
    (f,) = merge(both(["api-new", *crashing]), present)  # the same pod: specificity decides
    assert f.cause == "unschedulable"
    (f,) = merge(both(["old-1", "old-2"]), present)  # pods gone from the dump outweigh nothing
    assert f.cause == "unschedulable"
    (f,) = merge(both(["api-1"]), present)  # as many pods: specificity decides
    assert f.cause == "unschedulable"
    # pods that ran: one OOM-killed beside nine crashing is still an OOM finding, the crash contributing
    oom = [_finding("oom-killed", w, 0.9, pods=["api-new"]), _finding("app-crash", w, 0.85, pods=crashing)]
    (f,) = merge(oom, present)
    assert f.cause == "oom-killed" and f.contributing == ["app-crash"]
    assert causes.unplaced_ids() == {"unschedulable"}


def test_merge_keeps_latent_risks_apart_and_orders_by_declared_specificity() -> None:
    w = Workload("Deployment", "shop", "api")
    for a, b in zip(causes.precedence(), causes.precedence()[1:]):
        out = merge([_finding(b, w, 0.9), _finding(a, w, 0.1)])
        assert [f.cause for f in out] == [a], f"{a} is declared more specific than {b}"
    latent = _finding("arch.mixed-arch-no-affinity", w, latent=True)
    out = merge([_finding("app-crash", w), latent])
    assert sorted(f.latent for f in out) == [False, True]


def test_an_unknown_cause_ranks_below_every_declared_one() -> None:
    w = Workload("Pod", "x", "y")
    out = merge([_finding("someone-elses.cause", w, 0.99), _finding("analyzer.rule-error", w, 0.1)])
    assert out[0].cause == "analyzer.rule-error" and out[0].contributing == ["someone-elses.cause"]


def test_adding_a_cause_is_adding_its_module(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "runtime_start_failure.py").write_text(
        textwrap.dedent('''
        """runtime-start-failure: the runtime could not start the container (a story, for the test)."""

        from forensics.analysis.rules import rule

        CAUSE = "runtime-start-failure"
        TITLE = "The runtime could not start the container"
        SPECIFICITY = 235
        HINTS = ("runtime-start",)


        @rule(CAUSE)
        def find(ctx):
            return []
    ''')
    )
    script = textwrap.dedent(f"""
        import forensics.analysis.rules
        forensics.analysis.rules.__path__.append({str(extra)!r})
        from forensics.analysis import causes, findings
        from forensics.render.view import cause_title
        from forensics.analysis.rules import all_rules
        from forensics.analysis.correlate import restart_sig_marks
        from forensics.analysis.rules._restart import explained_elsewhere
        assert "runtime-start-failure" in findings.CAUSES
        assert "runtime-start-failure" not in findings.ARCH_CAUSES
        p = causes.precedence()
        assert p.index("platform.os-mismatch") < p.index("runtime-start-failure") < p.index(
            "entrypoint-not-executable"), p
        assert cause_title("runtime-start-failure") == "The runtime could not start the container"
        assert "runtime-start-failure" in [r.cause for r in all_rules()]
        # app-crash now leaves containers with that signature to the new cause
        assert "runtime-start" in restart_sig_marks()["arch_sig"][0]
        assert "arch_sig" in explained_elsewhere("app-crash")
        print("ok")
    """)
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_two_modules_declaring_one_specificity_are_refused(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "twin.py").write_text(
        textwrap.dedent('''
        """twin: declares the specificity app-crash already has."""
        CAUSE = "twin"
        TITLE = "A twin"
        SPECIFICITY = 20
    ''')
    )
    script = (
        f"import forensics.analysis.rules\nforensics.analysis.rules.__path__.append({str(extra)!r})\n"
        "from forensics.analysis import causes\ncauses.registry()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert r.returncode != 0 and "same specificity: 20" in r.stderr


def test_the_registry_is_built_safely_from_several_threads() -> None:
    """`forensics fleet` analyzes dumps in threads, each asking for the tables first: CPython 3.11's AST
    builder raised SystemError when two threads parsed rule modules at once."""
    from concurrent.futures import ThreadPoolExecutor

    from forensics.analysis import causes

    want = causes.registry()
    for _ in range(5):
        causes.registry.cache_clear()
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda _: causes.registry(), range(16)))
        assert all(g == want for g in got)
