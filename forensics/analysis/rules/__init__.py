"""The root-cause rules: one cause per module, each a pure function of the analysis `Context`.

A rule module declares its cause at its top (`CAUSE`, `TITLE`, `SPECIFICITY`, and `ARCH` and
`HINTS` where they apply: `forensics.analysis.causes` says what each means and derives every table
about causes from them), has a module docstring that tells the cause's story (symptom, what proves
it), and defines `find(ctx) -> list[Finding]`, registered with `@rule(CAUSE)`. Rules never read
files, print or render; missing input is a finding about missing evidence, never an exception.
`run_all` turns a rule that raises into an `analyzer.rule-error` finding so one broken rule never
aborts the run.
"""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from forensics.analysis import causes
from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding, Workload

Find = Callable[[Context], list[Finding]]


@dataclass(frozen=True)
class Rule:
    cause: str
    find: Find
    module: str
    doc: str


_REGISTRY: dict[str, Rule] = {}


def rule(cause: str) -> Callable[[Find], Find]:
    """Register `find` as the rule for `cause` (one rule per cause), the cause its module declares."""

    def deco(fn: Find) -> Find:
        mod = importlib.import_module(fn.__module__)
        if getattr(mod, "CAUSE", None) != cause:
            raise ValueError(
                f"{fn.__module__}: @rule({cause!r}) but the module declares CAUSE = {getattr(mod, 'CAUSE', None)!r}"
            )
        _REGISTRY[cause] = Rule(cause, fn, fn.__module__, (mod.__doc__ or "").strip())
        return fn

    return deco


def all_rules() -> list[Rule]:
    """Import every module of this package (registering its rule) and return the rules, in the order
    of the cause vocabulary."""
    causes.rule_modules()
    return [_REGISTRY[c] for c in causes.ids() if c in _REGISTRY]


def run_all(ctx: Context, rules: list[Rule] | None = None) -> list[Finding]:
    out: list[Finding] = []
    for r in rules if rules is not None else all_rules():
        try:
            out.extend(r.find(ctx))
        except Exception as e:  # noqa: BLE001 - a broken rule is a finding, not an aborted run
            tb = traceback.extract_tb(e.__traceback__)[-1]
            out.append(
                Finding(
                    cause="analyzer.rule-error",
                    severity="info",
                    confidence=1.0,
                    workload=Workload("Rule", "", r.cause),
                    summary=f"rule {r.cause} failed ({type(e).__name__}: {e}) at {tb.filename}:{tb.lineno}; "
                    "its cause was not evaluated",
                )
            )
    return out


def describe(r: Rule) -> tuple[str, str, str]:
    """(cause id, title, one line of what it means) for `forensics causes`, from the rule module
    itself: the `TITLE` it declares, and the first sentence of its docstring after the `cause-id:`
    prefix."""
    title = causes.title(r.cause)
    text = " ".join(r.doc.split())
    if text.startswith(f"{r.cause}:"):
        text = text[len(r.cause) + 1 :].strip()
    # the first sentence, and the next ones while it is too short to say anything ("the index lies.")
    line = text
    for end in re.finditer(r"(?<!e\.g)(?<!i\.e)\.\s", text):
        line = text[: end.start() + 1]
        if len(line) >= 40:
            break
    return r.cause, title, line
