"""What the README says about the code, held to the code where a test can check it."""

from __future__ import annotations

import re
import subprocess

from tests.support.cfn_yaml import PROJECT_ROOT
from tests.support.egress_vectors import RUNTIME, SPELLINGS

README = (PROJECT_ROOT / "README.md").read_text()


def _section(start: str, end: str) -> str:
    return README.split(start, 1)[1].split(end, 1)[0]


def _bullet(section: str, title: str) -> str:
    return section.split(f"- **{title}", 1)[1].split("\n- **", 1)[0]


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text.replace("\n  ", " "))


def test_the_folder_table_names_every_top_level_folder_and_only_real_ones() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path}
    functions = {p.split("/")[1] for p in tracked if p.startswith("functions/") and p.count("/") > 1}
    table = _section("| folder | what it holds |", "\n\n")
    named = {cell for row in table.splitlines()[1:] for cell in _backticked(row.split("|")[1])}
    assert folders, "git ls-files listed nothing"
    assert folders <= {n.split("/")[0] for n in named}, folders - {n.split("/")[0] for n in named}
    assert {f"functions/{f}/" for f in functions} <= named, {f"functions/{f}/" for f in functions} - named
    for name in named:
        assert (PROJECT_ROOT / name).is_dir(), f"the folder table names {name}, which is not a folder"


EGRESS = _section("### The egress policy and the worker's egress proxy", "\n### ")


def test_the_parsing_examples_are_spellings_of_the_corpus() -> None:
    tokens = _backticked(_bullet(EGRESS, "Parsing."))
    # host spellings: a word with a dot or all digits; `xn--…` is the mapped form, not a spelling
    examples = [t for t in tokens if re.fullmatch(r"[\w.]+", t) and ("." in t or t.isdigit())]
    examples = [t for t in examples if not t.startswith("xn--")]
    assert len(examples) >= 5, examples
    urls = [url for url, _ in SPELLINGS]
    missing = [t for t in examples if not any(f"//{t}/" in url for url in urls)]
    assert not missing, f"README spellings not in tests/support/egress_vectors.py SPELLINGS: {missing}"


def test_every_reason_the_corpus_is_refused_for_is_named_in_the_egress_section() -> None:
    reasons = {reason for _, reason in SPELLINGS}
    text = " ".join(EGRESS.split()).lower()
    missing = sorted(r for r in reasons if r.lower() not in text)
    assert not missing, f"the README's egress section does not name: {missing}"


def test_what_this_covers_is_the_run_time_corpus() -> None:
    listed = {t for t in _backticked(_bullet(EGRESS, "What this covers")) if re.fullmatch(r"[a-z0-9-]+", t)}
    names = {v.name for v in RUNTIME}
    assert listed == names, f"README only: {sorted(listed - names)}; corpus only: {sorted(names - listed)}"
