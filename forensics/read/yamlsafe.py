"""Every YAML the analyzer reads goes through here: safe types only, and no alias bombs.

The safe loaders of PyYAML build an alias as a *shared reference*, so a "billion laughs" document
(each level a list of ten aliases of the one before) loads in microseconds; the explosion comes
later, in whatever walks the result (grouping objects, converting them, writing JSON). So after
loading, a document whose aliases expand it beyond `ALIAS_NODES` nodes more than it holds is
refused with `AliasBomb` (a `yaml.YAMLError`, so callers' existing handling applies). Nesting is
bounded by libyaml itself (a `ScannerError` past 1000 levels).

The check walks each distinct node once (iteratively, memoised by identity), and only when the text
has an anchor at all (`&`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

ALIAS_NODES = 100_000

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AliasBomb(yaml.YAMLError):
    """A document whose aliases expand it far beyond its own size."""


class SafeLoader(_Base):  # type: ignore[misc, valid-type]
    """The C safe loader when present."""


class NoTimestampLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML without the implicit timestamp type: an unquoted `2024-01-02T03:04:05Z` stays a string,
    as the Kubernetes API wrote it (the typed decoders want strings)."""


NoTimestampLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MAX_DEPTH = 1000  # real Kubernetes YAML nests about 20 levels
_BRACKETS = re.compile(r"[\[\]{}]")
_DEEP_INDENT = re.compile(rf"^ {{{2 * MAX_DEPTH},}}\S", re.MULTILINE)


class TooDeep(yaml.YAMLError):
    """A document nested deeper than MAX_DEPTH: refused before parsing, because libyaml's composer
    recurses once per level in C and some builds (PyYAML 6.0.3 seen) overflow the C stack on
    100,000 levels instead of raising."""


def check_depth(text: str) -> None:
    """Raise TooDeep when flow collections (`[`, `{`) or block indentation nest past MAX_DEPTH.
    Brackets inside quoted strings are counted too: a false alarm needs 1,000 unbalanced ones."""
    if _DEEP_INDENT.search(text):
        raise TooDeep(f"YAML indented deeper than {MAX_DEPTH} levels")
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for m in _BRACKETS.finditer(text):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(f"YAML nested deeper than {MAX_DEPTH} levels")
        elif depth:
            depth -= 1


def load(text: str, *, timestamps: bool = True) -> Any:
    """One YAML document. Raises yaml.YAMLError (AliasBomb and TooDeep included)."""
    check_depth(text)
    doc = yaml.load(text, Loader=SafeLoader if timestamps else NoTimestampLoader)
    if "&" in text:
        check_aliases(doc)
    return doc


def load_all(text: str, *, timestamps: bool = False) -> list[Any]:
    """Every non-empty document of a stream. Raises yaml.YAMLError (AliasBomb and TooDeep included)."""
    check_depth(text)
    docs = [d for d in yaml.load_all(text, Loader=SafeLoader if timestamps else NoTimestampLoader) if d is not None]
    if "&" in text:
        for d in docs:
            check_aliases(d)
    return docs


def check_aliases(doc: Any, budget: int = ALIAS_NODES) -> None:
    """Raise AliasBomb when `doc`, expanded, holds more than `budget` nodes beyond its distinct ones."""
    sizes: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        obj, done = stack.pop()
        if not isinstance(obj, (dict, list)):
            continue
        key = id(obj)
        if done:
            children = obj.values() if isinstance(obj, dict) else obj
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            if isinstance(obj, dict):
                total += len(obj)
            sizes[key] = total
            if total - distinct > budget:
                raise AliasBomb(f"YAML aliases expand the document to over {total} nodes (an alias bomb): refused")
            continue
        if key in sizes:
            continue
        distinct += 1 + len(obj)
        sizes[key] = 1  # provisional: a cycle through a recursive alias counts once
        stack.append((obj, True))
        children = obj.values() if isinstance(obj, dict) else obj
        stack.extend((c, False) for c in children if isinstance(c, (dict, list)) and id(c) not in sizes)
