"""The cause registry: every table about causes, derived from what each rule module declares.

A rule module in `forensics.analysis.rules` declares its cause at its top:

    CAUSE = "arch.microarch-level"          # the id, as written in findings
    TITLE = "amd64 image needs ..."         # the reports' heading for it
    SPECIFICITY = 150                       # higher wins: merge() makes the most specific cause primary
    ARCH = "cpu-level"                      # "platform" | "cpu-level" for an architecture cause, else None
    HINTS = ("microarch",)                  # the signature hints (signatures.py) whose lines it owns
    UNPLACED = True                         # optional: its pods never got a node (see merge())

and this module derives from those declarations the cause vocabulary, the architecture causes, the
precedence `merge()` applies, the titles the reports print and which hints belong to which cause.
Nothing here lists a rule: adding a cause is its module (and its test), nothing else.

`ARCH` tells two kinds of architecture cause apart: `"platform"` is the image's OS/architecture
not being the node's (its hints are the exec-format and platform-pull signatures the platform rules
share), `"cpu-level"` is the right architecture needing a CPU feature level the node lacks.

The declarations are literals, read from the modules' source (`declared_in`) when a table is first
asked for: the reports get their titles without importing the analysis, and `forensics.analysis.findings`
(which the rule modules import) never imports them back. The conformance test checks that what is
read equals what the imported module holds.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

ArchKind = Literal["platform", "cpu-level"]
ARCH_KINDS: tuple[str, ...] = ("platform", "cpu-level")
_RULES = "forensics.analysis.rules"


@dataclass(frozen=True)
class Cause:
    """One cause as its module declares it."""

    id: str
    title: str
    specificity: int
    arch: ArchKind | None
    hints: tuple[str, ...]
    module: str
    unplaced: bool = False  # about pods that never got a node: it yields to a cause of more of the pods


# causes no rule module declares: the analyzer's own (a rule that raised becomes a finding of this
# cause instead of aborting the run); least specific of all
INTERNAL = (
    Cause(
        "analyzer.rule-error",
        "An analysis rule failed (the rest of the analysis went on)",
        0,
        None,
        (),
        __name__,
    ),
)


class DeclarationError(ValueError):
    """A rule module whose declaration is missing or malformed (a programming error, caught by the
    conformance test before it ships)."""


_FIELDS = ("CAUSE", "TITLE", "SPECIFICITY", "ARCH", "HINTS", "UNPLACED")


def _checked(name: str, decl: dict[str, Any]) -> Cause:
    cause, title, spec = decl.get("CAUSE"), decl.get("TITLE"), decl.get("SPECIFICITY")
    arch, hints = decl.get("ARCH"), decl.get("HINTS", ())
    if not isinstance(cause, str) or not cause:
        raise DeclarationError(f"{name}: CAUSE is not declared")
    if not isinstance(title, str) or not title:
        raise DeclarationError(f"{name}: TITLE is not declared")
    if not isinstance(spec, int) or isinstance(spec, bool) or spec <= 0:
        raise DeclarationError(f"{name}: SPECIFICITY must be a positive integer")
    if arch is not None and arch not in ARCH_KINDS:
        raise DeclarationError(f"{name}: ARCH must be one of {ARCH_KINDS} or None")
    if not isinstance(hints, tuple) or not all(isinstance(h, str) and h for h in hints):
        raise DeclarationError(f"{name}: HINTS must be a tuple of signature hints")
    unplaced = decl.get("UNPLACED", False)
    if not isinstance(unplaced, bool):
        raise DeclarationError(f"{name}: UNPLACED must be True or False")
    return Cause(cause, title, spec, arch, hints, name, unplaced)


def declared(mod: ModuleType) -> Cause:
    """The cause an imported rule module declares, checked for shape."""
    return _checked(mod.__name__, {k: getattr(mod, k) for k in _FIELDS if hasattr(mod, k)})


# CPython 3.11's AST builder is not safe in several threads at once ("SystemError: AST constructor
# recursion depth mismatch", seen when `forensics fleet` analyzes dumps in threads): one parse at a time
_PARSING = threading.RLock()


def declared_in(path: Path, name: str) -> Cause:
    """The cause the rule module at `path` declares, read from its source without importing it:
    the declarations are literals at the module's top level, so the tables (titles for the reports,
    the vocabulary) are known without loading the analysis (pandas and every rule)."""
    decl: dict[str, Any] = {}
    with _PARSING:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in _FIELDS
        ):
            try:
                decl[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise DeclarationError(f"{name}: {node.targets[0].id} must be a literal") from None
    return _checked(name, decl)


def _rules_path() -> list[str]:
    """Where the rule modules are: the package's `__path__` once it is imported, else found without
    importing it (its `__init__` imports the analysis)."""
    pkg = sys.modules.get(_RULES)
    if pkg is not None:
        return list(pkg.__path__)
    spec = importlib.util.find_spec(_RULES)
    return list(spec.submodule_search_locations or []) if spec is not None else []


def _rule_names() -> list[tuple[str, Path]]:
    """(module name, source file) of every rule module (names starting with `_` are helpers)."""
    out = []
    for info in sorted(pkgutil.iter_modules(_rules_path()), key=lambda i: i.name):
        if not info.name.startswith("_") and not info.ispkg:
            out.append((f"{_RULES}.{info.name}", Path(getattr(info.module_finder, "path", "")) / f"{info.name}.py"))
    return out


def rule_modules() -> list[ModuleType]:
    """Every rule module of `forensics.analysis.rules`, imported (which registers its rule)."""
    return [importlib.import_module(name) for name, _ in _rule_names()]


@cache
def registry() -> tuple[Cause, ...]:
    """Every cause: the architecture causes first, then the others, each most specific first; the
    internal ones last. Two modules may not declare the same id or the same specificity (the
    precedence would then depend on import order)."""
    with _PARSING:  # built once even when several threads ask first
        found = [declared_in(path, name) for name, path in _rule_names()]
    for attr in ("id", "specificity"):
        values = [getattr(c, attr) for c in found + list(INTERNAL)]
        dup = sorted({str(v) for v in values if values.count(v) > 1})
        if dup:
            raise DeclarationError(f"two causes declare the same {attr}: {', '.join(dup)}")
    found.sort(key=lambda c: (c.arch is None, -c.specificity))
    return (*found, *INTERNAL)


@cache
def by_id() -> dict[str, Cause]:
    return {c.id: c for c in registry()}


@cache
def ids() -> tuple[str, ...]:
    """The cause vocabulary (`findings.CAUSES`)."""
    return tuple(c.id for c in registry())


@cache
def arch_ids() -> tuple[str, ...]:
    """The architecture causes (`findings.ARCH_CAUSES`)."""
    return tuple(c.id for c in registry() if c.arch is not None)


@cache
def unplaced_ids() -> frozenset[str]:
    """The causes about pods that never got a node (`UNPLACED`)."""
    return frozenset(c.id for c in registry() if c.unplaced)


def internal_ids() -> tuple[str, ...]:
    return tuple(c.id for c in INTERNAL)


@cache
def precedence() -> tuple[str, ...]:
    """Every cause, most specific first: the first that holds for a workload is its primary cause."""
    return tuple(c.id for c in sorted(registry(), key=lambda c: -c.specificity))


def specificity(cause: str) -> int:
    """How specific `cause` is; below every known cause for an id the registry does not know."""
    c = by_id().get(cause)
    return c.specificity if c is not None else -1


def title(cause: str) -> str:
    """The reports' heading for `cause`; the id itself for a cause this version does not know (a
    findings document from another producer)."""
    c = by_id().get(cause)
    return c.title if c is not None else cause


def hints_of(cause: str) -> tuple[str, ...]:
    """The signature hints `cause` owns."""
    return by_id()[cause].hints


@cache
def owned_hints() -> tuple[str, ...]:
    """Every hint some cause owns, in registry order, each once."""
    return tuple(dict.fromkeys(h for c in registry() for h in c.hints))


def owners(hint: str) -> tuple[str, ...]:
    """The causes owning `hint` (several platform causes share the exec-format hints)."""
    return tuple(c.id for c in registry() if hint in c.hints)


@cache
def platform_hints() -> tuple[str, ...]:
    """The hints of the platform-mismatch causes: the exec-format, platform-pull and emulation
    signatures that say an image's platform is not the node's."""
    return tuple(dict.fromkeys(h for c in registry() if c.arch == "platform" for h in c.hints))
