"""`fieldSelector` and `labelSelector` as the API server reads them (equality, set-based, existence)."""

from __future__ import annotations

import re
from typing import Any

from forensics.serve.resources import ApiError


def dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def parse_field_selector(text: str) -> list[tuple[str, str, str]]:
    out = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        for op in ("!=", "==", "="):
            if op in term:
                key, value = term.split(op, 1)
                out.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise ApiError(400, "BadRequest", f'unable to parse requirement: invalid field selector "{term}"')
    return out


def field_matches(obj: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    for key, op, value in terms:
        got = dig(obj, key)
        got_s = "" if got is None else str(got)
        if (got_s == value) != (op == "="):
            return False
    return True


_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_label_selector(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def label_matches(labels: dict[str, str], selector: str) -> bool:
    for term in _split_label_selector(selector):
        m = _SET_RE.match(term)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            present = labels.get(m.group(1))
            if m.group(2) == "in" and present not in values:
                return False
            if m.group(2) == "notin" and present in values:
                return False
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, value = (s.strip() for s in term.split(op, 1))
                if (labels.get(key) == value) != (op != "!="):
                    return False
                break
        else:
            if term.startswith("!"):
                if term[1:].strip() in labels:
                    return False
            elif term not in labels:
                return False
    return True


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
