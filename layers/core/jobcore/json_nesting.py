"""How deep a JSON text nests, found without parsing it: a parser recurses once per level, and a body
of 50,000 nested arrays exhausts the stack (a RecursionError, a 502) long before any limit applies."""

from __future__ import annotations

import re

# A string literal (its brackets are text, not nesting); an unterminated one is left to the parser.
_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET_RE = re.compile(r"[\[\]{}]")


def nests_deeper_than(text: str, limit: int) -> bool:
    """True when arrays and objects in `text` nest more than `limit` levels; stops at the first such."""
    depth = 0
    for match in _BRACKET_RE.finditer(_STRING_RE.sub("", text)):
        if match[0] in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(0, depth - 1)
    return False
