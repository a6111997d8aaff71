"""Every registered rule, whoever wrote it, conforms: a declaration (id, title, specificity, arch
kind, signature hints) the registry accepts, a module that tells the cause's story, a test module of
its own, and, on a failing example, findings that carry evidence, sane confidence and severity, and
remediation whose commands a shell can parse. The tables derived from the declarations (vocabulary,
precedence, architecture causes, hint owners) are checked against what the docs and the signature
table say.

The failing example comes from the rule's test module (`failing_example(tmp_path) -> Context`), or
else from a sample dump whose expected.yaml names the cause. New rules are picked up from
`all_rules()`: nothing here lists them.
"""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from forensics.analysis import causes
from forensics.analysis.correlate import Context, build_context
from forensics.analysis.findings import ARCH_CAUSES, CAUSES, INTERNAL_CAUSES, SEVERITIES
from forensics.analysis.rules import Rule, all_rules, describe
from forensics.knowledge import signatures
from forensics.read.load import load_dump

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
        pytest.fail(
            f"no failing example for {r.cause}: define failing_example(tmp_path) in "
            f"tests/rules/test_{_short(r)}.py or add a sample dump that expects it"
        )
    dump = load_dump(sample)
    return build_context(dump.frames, dump.snapshots, dump.meta)


def test_rules_are_registered() -> None:
    causes = [r.cause for r in RULES]
    assert len(causes) == len(set(causes)) and len(causes) >= 16
    assert {r.module for r in RULES} == {
        f"forensics.analysis.rules.{m.stem}"
        for m in (TESTS.parents[1] / "forensics" / "analysis" / "rules").glob("[!_]*.py")
    }


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.cause)
def test_cause_id_docstring_and_test_module(r: Rule) -> None:
    assert r.cause in CAUSES and r.cause not in INTERNAL_CAUSES
    assert r.cause == sys.modules[r.module].CAUSE
    assert r.doc.startswith(f"{r.cause}:"), "the docstring opens with the cause id and its story"
    assert len(r.doc) >= 300, "tell the story: symptom, runtime wording, what proves it"
    assert "proof" in r.doc.lower(), "say what proves the cause"
    assert (TESTS / f"test_{_short(r)}.py").is_file(), f"tests/rules/test_{_short(r)}.py is missing"


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.cause)
def test_declaration(r: Rule) -> None:
    mod = sys.modules[r.module]
    c = causes.declared(mod)
    assert c.id == r.cause and causes.by_id()[r.cause] == c
    assert 10 <= len(c.title) <= 100 and c.title == c.title.strip() and "\n" not in c.title
    assert describe(r)[1] == c.title, "forensics causes prints the declared title"
    assert c.specificity > causes.specificity("analyzer.rule-error"), "a rule outranks the analyzer's own finding"
    assert (c.arch is not None) == (r.cause in ARCH_CAUSES)
    # the arch. prefix is kept for real architecture causes (docs/findings.md, "Cause vocabulary")
    assert r.cause.startswith("arch.") == (c.arch is not None)
    known = signatures.hints()
    for h in c.hints:
        assert h in known, f"{r.cause} owns hint {h!r}, which no signature, event reason or label carries"
        assert h not in signatures.SHARED_HINTS


def _bad_module(**decl: object) -> ModuleType:
    m = ModuleType("forensics.analysis.rules.example")
    for k, v in decl.items():
        setattr(m, k, v)
    return m


@pytest.mark.parametrize(
    "decl, says",
    [
        ({"TITLE": "t", "SPECIFICITY": 5}, "CAUSE"),
        ({"CAUSE": "x", "SPECIFICITY": 5}, "TITLE"),
        ({"CAUSE": "x", "TITLE": "t"}, "SPECIFICITY"),
        ({"CAUSE": "x", "TITLE": "t", "SPECIFICITY": True}, "SPECIFICITY"),
        ({"CAUSE": "x", "TITLE": "t", "SPECIFICITY": 0}, "SPECIFICITY"),
        ({"CAUSE": "x", "TITLE": "t", "SPECIFICITY": 5, "ARCH": True}, "ARCH"),
        ({"CAUSE": "x", "TITLE": "t", "SPECIFICITY": 5, "HINTS": "oom"}, "HINTS"),
    ],
)
def test_a_malformed_declaration_is_refused(decl: dict[str, object], says: str) -> None:
    with pytest.raises(causes.DeclarationError, match=says):
        causes.declared(_bad_module(**decl))


def test_a_declaration_is_literal(tmp_path: Path) -> None:
    src = tmp_path / "computed.py"
    src.write_text('CAUSE = "computed"\nTITLE = "A " + "title"\nSPECIFICITY = 5\n')
    with pytest.raises(causes.DeclarationError, match="TITLE must be a literal"):
        causes.declared_in(src, "forensics.analysis.rules.computed")
    src.write_text(
        '"""computed: x."""\nCAUSE = "computed"\nTITLE = (\n    "A title"\n)\nSPECIFICITY = 5\nARCH = None\n'
    )
    assert causes.declared_in(src, "m") == causes.Cause("computed", "A title", 5, None, (), "m")


def test_the_vocabulary_is_the_declarations() -> None:
    declared = [causes.declared(sys.modules[r.module]) for r in RULES]
    assert set(CAUSES) == {c.id for c in declared} | set(INTERNAL_CAUSES)
    assert len(CAUSES) == len(set(CAUSES))
    specs = [c.specificity for c in declared]
    assert len(specs) == len(set(specs)), "two causes of the same specificity: the primary would depend on order"
    assert CAUSES[-len(INTERNAL_CAUSES) :] == INTERNAL_CAUSES
    order = causes.precedence()
    assert [causes.specificity(c) for c in order] == sorted((causes.specificity(c) for c in order), reverse=True)
    assert causes.specificity("no-such-cause") < min(causes.specificity(c) for c in CAUSES)


def test_every_hint_has_an_owner_or_is_shared() -> None:
    owned = set(causes.owned_hints())
    assert signatures.hints() <= owned | signatures.SHARED_HINTS, "a hint no cause owns and none shares"
    assert not owned & signatures.SHARED_HINTS
    # the hints of the platform-mismatch causes are the exec-format / platform-pull family
    assert {"arch", "arch-pull"} <= set(causes.platform_hints())
    assert "microarch" not in causes.platform_hints(), "an x86-64 level is not a platform mismatch"


def _doc_list(text: str) -> list[str]:
    return re.findall(r"`([a-z][a-z0-9.-]+)`", text)


def test_the_docs_name_every_cause_and_its_precedence() -> None:
    doc = (TESTS.parents[1] / "docs" / "findings.md").read_text()
    vocab = doc.split("### Cause vocabulary", 1)[1].split("- `image-pull-network`", 1)[0]
    internal = doc.split("Internal:", 1)[1].split("\n", 1)[0]
    arch_part, common_part = vocab.split("Common:", 1)
    assert set(_doc_list(arch_part)) == set(ARCH_CAUSES)
    assert set(_doc_list(common_part)) | set(_doc_list(internal)) == set(CAUSES) - set(ARCH_CAUSES)
    prec = doc.split("Precedence when several causes hold", 1)[1].split(".\n", 1)[0]
    named = [c for c in _doc_list(prec) if c in CAUSES]
    order = [c for c in causes.precedence() if c in named]
    assert named == order, "docs/findings.md lists the precedence in another order than SPECIFICITY gives"


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.cause)
def test_findings_on_a_failing_example_are_complete(r: Rule, tmp_path: Path) -> None:
    findings = [f for f in r.find(_failing_example(r, tmp_path)) if not f.latent]
    assert findings, f"{r.cause} found nothing on its failing example"
    keys = [(f.workload.kind, f.workload.namespace, f.workload.name) for f in findings]
    assert len(keys) == len(set(keys)), "one finding per workload"
    for f in findings:
        assert f.cause == r.cause
        assert 0.0 < f.confidence <= 1.0 and f.severity in SEVERITIES
        assert f.summary and f.evidence
        assert f.pods or f.missing_evidence, "a finding without pods says in missing_evidence why they are unknown"
        assert all(e.file and e.object and e.text for e in f.evidence)
        assert f.remediation, f"{r.cause}: a finding without remediation"
        for rem in f.remediation:
            assert rem.title
            for line in rem.command.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    shlex.split(line)  # a copied command parses: quotes are balanced
        d = f.to_dict()
        assert d["cause"] == r.cause and d["workload"]["name"] == f.workload.name
