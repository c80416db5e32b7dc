"""Nesting is counted on brackets outside strings, and stops at the first level past the limit."""

from __future__ import annotations

from jobcore.json_nesting import nests_deeper_than


def test_nesting_counts_arrays_and_objects_but_not_brackets_in_strings() -> None:
    assert not nests_deeper_than('{"sessions": [{"steps": [{"text": "[[[[{{{{"}]}]}', 5)
    assert nests_deeper_than('{"sessions": [{"steps": [{"x": []}]}]}', 5)
    assert not nests_deeper_than(r'["\"[[[[", []]', 2)  # an escaped quote does not end the string
    assert nests_deeper_than("[" * 50_000 + "]" * 50_000, 32)
    assert not nests_deeper_than("[]" * 50_000, 1)  # many siblings are not depth
