"""Dump text made safe for a terminal.

A dump is hostile input: a pod name, a log line or an event message can carry ANSI escape
sequences (CSI colour and cursor moves, OSC 8 hyperlinks, OSC 0/2 window-title changes, "hidden"
text), bare carriage returns that overwrite what was printed before, or bidi overrides that reorder
what the reader sees. Printed as is, they would rewrite the support engineer's terminal. Every
string that comes from a dump goes through `neutral()` before it is printed: each control
character becomes its visible escape (`\\x1b`, `\\r`, `\\u202e`), so the sequence shows as inert
text and nothing is lost from what the dump said.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (but tab and, where allowed, newline), DEL, C1, line/paragraph separators and the bidi
# embedding/override/isolate controls
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_NL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    o = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def neutral(value: Any, *, newlines: bool = False) -> str:
    """`value` as text with every terminal control character shown as its escape.

    `newlines=True` keeps plain newlines (multi-line text such as a remediation command); every
    other control, including a carriage return, is escaped."""
    text = "" if value is None else str(value)
    return (_CONTROL_KEEP_NL if newlines else _CONTROL).sub(_escape, text)
