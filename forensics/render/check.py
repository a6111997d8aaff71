"""Is a findings document (docs/findings.md) shaped so the renderers can read it?

`forensics render` reads a JSON file that may come from anywhere. The renderers tolerate missing
fields and odd values, but a field of the wrong *kind* (a number where a list belongs, a list where
an object belongs) is not a findings document: `problem(doc)` names the first such field, so the
command can refuse it in one line instead of failing inside a template. Missing fields are fine.
"""

from __future__ import annotations

from typing import Any

_OBJ, _LIST, _NUM, _INT = dict, list, (int, float), int

TOP = {"tool": _OBJ, "dump": _OBJ, "summary": _OBJ, "inventory": _OBJ, "findings": _LIST, "latent": _LIST,
       "series": _OBJ, "timeline": _LIST, "gaps": _LIST, "load_problems": _LIST}
DUMP = {"cluster": _OBJ, "collector": _OBJ, "snapshots": _LIST, "commands": _LIST, "commands_failed": _LIST,
        "counts": _OBJ, "files": _LIST}
SUMMARY = {"architecture": _OBJ, "by_cause": _OBJ, "causes": _LIST, "failing_workloads": _INT,
           "failing_pods": _INT, "affected_nodes": _INT, "restarts": _INT}
INVENTORY = {"architectures": _OBJ, "pools": _LIST, "nodes": _LIST}
SERIES = {"restarts_by_arch": _LIST}
FINDING = {"workload": _OBJ, "contributing": _LIST, "pods": _LIST, "nodes": _LIST, "containers": _LIST,
           "images": _LIST, "node_archs": _LIST, "restarts": _INT, "confidence": _NUM, "evidence": _LIST,
           "missing_evidence": _LIST, "remediation": _LIST, "restart_matrix": _LIST, "timeline": _LIST}
# per part of the document, the lists whose items must be objects
_OBJECT_ITEMS = {
    id(TOP): ("findings", "latent", "timeline", "gaps", "load_problems"),
    id(DUMP): ("snapshots", "commands", "commands_failed", "files"),
    id(SUMMARY): ("causes",),
    id(INVENTORY): ("pools", "nodes"),
    id(SERIES): ("restarts_by_arch",),
    id(FINDING): ("images", "evidence", "missing_evidence", "remediation", "restart_matrix", "timeline"),
}
_LIMIT = 200_000  # items looked at, whatever the document holds


def _kind(t: Any) -> str:
    return {dict: "an object", list: "a list", int: "an integer"}.get(t, "a number")


def _what(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def _fields(obj: dict[str, Any], spec: dict[str, Any], where: str) -> str | None:
    for key, t in spec.items():
        if key not in obj or obj[key] is None:
            continue
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, t):
            return f"{where}{key} is {_what(v)}, not {_kind(t)}"
    return None


def problem(doc: Any) -> str | None:
    """The first field of the wrong kind, as "findings[3].pods is a number, not a list"; None if fine."""
    if not isinstance(doc, dict):
        return f"the document is {_what(doc)}, not an object"
    seen = 0
    checks: list[tuple[Any, dict[str, Any], str]] = [(doc, TOP, "")]
    for key, spec in (("dump", DUMP), ("summary", SUMMARY), ("inventory", INVENTORY), ("series", SERIES)):
        if isinstance(doc.get(key), dict):
            checks.append((doc[key], spec, f"{key}."))
    for key in ("findings", "latent"):
        for i, f in enumerate(doc.get(key) or [] if isinstance(doc.get(key), list) else []):
            if isinstance(f, dict):
                checks.append((f, FINDING, f"{key}[{i}]."))
    for obj, spec, where in checks:
        bad = _fields(obj, spec, where)
        if bad:
            return bad
        for key in _OBJECT_ITEMS[id(spec)]:
            items = obj.get(key)
            if isinstance(items, list):
                for i, item in enumerate(items):
                    seen += 1
                    if seen > _LIMIT:
                        return None
                    if not isinstance(item, dict):
                        return f"{where}{key}[{i}] is {_what(item)}, not an object"
    counts = (doc.get("dump") or {}).get("counts") if isinstance(doc.get("dump"), dict) else None
    if isinstance(counts, dict):
        for key, v in counts.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                return f"dump.counts.{key} is {_what(v)}, not an integer"
    archs = (doc.get("inventory") or {}).get("architectures") if isinstance(doc.get("inventory"), dict) else None
    if isinstance(archs, dict):
        for key, v in archs.items():
            if isinstance(v, bool) or not isinstance(v, int):
                return f"inventory.architectures.{key} is {_what(v)}, not an integer"
    return None
