"""Regular expressions a tenant may give us, bounded so that none can stall a worker or the API.

Python's `re` backtracks: a pattern such as `(a+)+$` takes exponential time on a
string of a's. Rather than time a match (a thread cannot be stopped mid-match),
patterns are refused up front: too long, not compiling, or with a quantified group
that itself holds a quantifier or an alternation (the shapes of catastrophic
patterns), or a backreference. What remains runs in time roughly linear in the (capped) subject.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from jobcore import limits

# The parser behind `re` (public as sre_parse until 3.11, deprecated since); typeshed has no stub.
_parser: Any = importlib.import_module("re._parser")
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


class UnsafeRegexError(ValueError):
    """The pattern does not compile, is too long, or could backtrack without bound."""


def check_bounded_regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern, or UnsafeRegexError saying why it is refused."""
    if len(pattern) > limits.MAX_REGEX_LENGTH:
        raise UnsafeRegexError(f"regex longer than {limits.MAX_REGEX_LENGTH} characters")
    try:
        compiled = re.compile(pattern)
        parsed = _parser.parse(pattern)
    except re.error as exc:
        raise UnsafeRegexError(f"regex does not compile: {exc}") from exc
    _walk(list(parsed), inside_repeat=False)
    return compiled


def _walk(items: list[tuple[Any, Any]], *, inside_repeat: bool) -> None:
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            if inside_repeat and high != low:
                raise UnsafeRegexError("regex has nested quantifiers (e.g. (a+)+), which can take too long")
            _walk(list(sub), inside_repeat=inside_repeat or high != low)
        elif name in {"GROUPREF", "GROUPREF_EXISTS"}:
            raise UnsafeRegexError("regex backreferences are not allowed")
        elif name == "SUBPATTERN":
            _walk(list(arg[-1]), inside_repeat=inside_repeat)
        elif name == "BRANCH":
            if inside_repeat:  # (a|aa)+ backtracks like (a+)+; single characters compile to a set, not here
                raise UnsafeRegexError("regex repeats an alternation (e.g. (a|ab)+), which can take too long")
            for branch in arg[1]:
                _walk(list(branch), inside_repeat=inside_repeat)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _walk(list(arg[1]), inside_repeat=inside_repeat)
        elif name == "ATOMIC_GROUP":
            _walk(list(arg), inside_repeat=inside_repeat)
