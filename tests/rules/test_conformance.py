"""Every registered rule, whoever wrote it, conforms: a cause id from the vocabulary, a module that
tells the cause's story, a test module of its own, and, on a failing example, findings that carry
evidence, sane confidence and severity, and remediation whose commands a shell can parse.

The failing example comes from the rule's test module (`failing_example(tmp_path) -> Context`), or
else from a sample dump whose expected.yaml names the cause. New rules are picked up from
`all_rules()`: nothing here lists them.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from forensics.correlate import Context, build_context
from forensics.findings import CAUSES, INTERNAL_CAUSES, SEVERITIES
from forensics.load import load_dump
from forensics.rules import Rule, all_rules

TESTS = Path(__file__).resolve().parent
SAMPLES = TESTS.parents[1] / "sample_dumps"
RULES = all_rules()


def _short(r: Rule) -> str:
    return r.module.rsplit(".", 1)[-1]


def _sample_for(cause: str) -> Path | None:
    for exp in sorted(SAMPLES.glob("*/expected.yaml")):
        doc = yaml.safe_load(exp.read_text()) or {}
        for f in doc.get("findings") or []:
            if cause == f.get("cause") or cause in (f.get("contributing") or []):
                return exp.parent
    return None


def _failing_example(r: Rule, tmp_path: Path) -> Context:
    mod = importlib.import_module(f"tests.rules.test_{_short(r)}")
    make = getattr(mod, "failing_example", None)
    if make is not None:
        return make(tmp_path)
    sample = _sample_for(r.cause)
    if sample is None:
        pytest.fail(f"no failing example for {r.cause}: define failing_example(tmp_path) in "
                    f"tests/rules/test_{_short(r)}.py or add a sample dump that expects it")
    dump = load_dump(sample)
    return build_context(dump.frames, dump.snapshots, dump.meta)


def test_rules_are_registered() -> None:
    causes = [r.cause for r in RULES]
    assert len(causes) == len(set(causes)) and len(causes) >= 16
    assert {r.module for r in RULES} == {f"forensics.rules.{m.stem}" for m in
                                         (TESTS.parents[1] / "forensics" / "rules").glob("[!_]*.py")}


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.cause)
def test_cause_id_docstring_and_test_module(r: Rule) -> None:
    assert r.cause in CAUSES and r.cause not in INTERNAL_CAUSES
    assert sys.modules[r.module].CAUSE == r.cause
    assert r.doc.startswith(f"{r.cause}:"), "the docstring opens with the cause id and its story"
    assert len(r.doc) >= 300, "tell the story: symptom, runtime wording, what proves it"
    assert "proof" in r.doc.lower(), "say what proves the cause"
    assert (TESTS / f"test_{_short(r)}.py").is_file(), f"tests/rules/test_{_short(r)}.py is missing"


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.cause)
def test_findings_on_a_failing_example_are_complete(r: Rule, tmp_path: Path) -> None:
    findings = [f for f in r.find(_failing_example(r, tmp_path)) if not f.latent]
    assert findings, f"{r.cause} found nothing on its failing example"
    keys = [(f.workload.kind, f.workload.namespace, f.workload.name) for f in findings]
    assert len(keys) == len(set(keys)), "one finding per workload"
    for f in findings:
        assert f.cause == r.cause
        assert 0.0 < f.confidence <= 1.0 and f.severity in SEVERITIES
        assert f.summary and f.pods and f.evidence
        assert all(e.file and e.object and e.text for e in f.evidence)
        assert f.remediation, f"{r.cause}: a finding without remediation"
        for rem in f.remediation:
            assert rem.title
            for line in rem.command.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    shlex.split(line)  # a copied command parses: quotes are balanced
        d = f.to_dict()
        assert d["cause"] == r.cause and d["workload"]["name"] == f.workload.name
