"""The root-cause rules: one cause per module, each a pure function of the analysis `Context`.

A rule module defines `CAUSE` (an id from `forensics.findings.CAUSES`), a module docstring that
tells the cause's story (symptom, what proves it), and `find(ctx) -> list[Finding]`, registered with
`@rule`. Rules never read files, print or render; missing input is a finding about missing
evidence, never an exception. `run_all` turns a rule that raises into an `analyzer.rule-error`
finding so one broken rule never aborts the run.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from forensics.correlate import Context
from forensics.findings import CAUSES, Finding, Workload

Find = Callable[[Context], list[Finding]]


@dataclass(frozen=True)
class Rule:
    cause: str
    find: Find
    module: str
    doc: str


_REGISTRY: dict[str, Rule] = {}


def rule(cause: str) -> Callable[[Find], Find]:
    """Register `find` as the rule for `cause` (one rule per cause)."""
    if cause not in CAUSES:
        raise ValueError(f"unknown cause id {cause!r}")

    def deco(fn: Find) -> Find:
        mod = importlib.import_module(fn.__module__)
        _REGISTRY[cause] = Rule(cause, fn, fn.__module__, (mod.__doc__ or "").strip())
        return fn

    return deco


def all_rules() -> list[Rule]:
    """Import every module of this package (registering its rule) and return the rules."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return [_REGISTRY[c] for c in CAUSES if c in _REGISTRY]


def run_all(ctx: Context, rules: list[Rule] | None = None) -> list[Finding]:
    out: list[Finding] = []
    for r in rules if rules is not None else all_rules():
        try:
            out.extend(r.find(ctx))
        except Exception as e:  # noqa: BLE001 - a broken rule is a finding, not an aborted run
            tb = traceback.extract_tb(e.__traceback__)[-1]
            out.append(Finding(
                cause="analyzer.rule-error", severity="info", confidence=1.0,
                workload=Workload("Rule", "", r.cause),
                summary=f"rule {r.cause} failed ({type(e).__name__}: {e}) at {tb.filename}:{tb.lineno}; "
                        "its cause was not evaluated",
            ))
    return out


def describe(r: Rule) -> tuple[str, str, str]:
    """(cause id, title, one line of what it means) for `forensics causes`, from the rule module
    itself: its `TITLE` when it declares one (else the report's title for the cause), and the first
    sentence of its docstring after the `cause-id:` prefix."""
    from forensics.render.view import cause_title

    mod = importlib.import_module(r.module)
    title = str(getattr(mod, "TITLE", "") or cause_title(r.cause))
    text = " ".join(r.doc.split())
    if text.startswith(f"{r.cause}:"):
        text = text[len(r.cause) + 1:].strip()
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.\s", text)
    line = text[: end.start() + 1] if end else text
    return r.cause, title, line
