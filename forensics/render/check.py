"""Can the reports be made from this findings document (docs/findings.md)?

`forensics render` reads a JSON file that may come from anywhere. It is decoded with the types of
the contract (`forensics.analysis.document`): a field of the wrong kind (a number where a list belongs, a
list where an object belongs, a severity outside the vocabulary, a finding without a cause) is not
a findings document, and `problem(data)` names the field by its path, so the command refuses it in
one line instead of failing inside a template or writing half a report. Missing parts are fine:
the reports tolerate them.
"""

from __future__ import annotations

import re

import msgspec

from forensics.analysis import document

# msgspec's wording: "Expected `array`, got `int` - at `$.findings[3].pods`"
_KINDS = re.compile(r"^Expected `([^`]+)`, got `([^`]+)` - at `\$([^`]*)`$")
_AT = re.compile(r"^(.*) - at `\$([^`]*)`$", re.DOTALL)
_NAMES = {
    "array": "a list",
    "object": "an object",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "a boolean",
    "null": "null",
}
_GOT = {**_NAMES, "int": "a number"}


def _where(path: str) -> str:
    return path.lstrip(".") or "the document"


def problem(data: bytes) -> str | None:
    """The first field the reports cannot read, as "findings[3].pods is a number, not a list" (or
    msgspec's own words with the field's path); None when the reports can be made from it."""
    try:
        document.decode(data)
    except msgspec.ValidationError as e:
        msg = str(e)
        m = _KINDS.match(msg)
        if m:
            expected, got, path = m.groups()
            want = " or ".join(_NAMES.get(k, k) for k in expected.split(" | "))
            return f"{_where(path)} is {_GOT.get(got, got)}, not {want}"
        m = _AT.match(msg)
        return f"{_where(m.group(2))}: {m.group(1)}" if m else msg
    except msgspec.DecodeError as e:
        return f"not JSON ({e})"
    return None
