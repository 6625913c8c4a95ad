"""docs/rules.md maps the rulebook's sections to the code: keep that map true.

Every dotted path it names must import (a rename breaks this test, not the page silently), every
test it names must exist, every section the code cites as ``domain.md §N`` must have its heading,
with every part named as ``domain.md §N "Name"`` mentioned under it, and every section of the
rulebook (../shared/domain.md beside the clone) must have its heading with the rulebook's title.
Reads files only: no app, no store.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "rules.md"
# The rulebook is kept beside the clone, like the shared fixtures (tests/fixtures_path.py).
RULEBOOK = ROOT.parent / "shared" / "domain.md"
# Where the code that cites the rulebook lives.
CODE_FOLDERS = ("services", "shared", "app", "devtools")

PREAMBLE = "Preamble"
_HEADING = re.compile(r"^## (?:§(?P<number>\d+) (?P<title>.+)|(?P<preamble>Preamble))$", re.M)
_DOTTED = re.compile(r"`(fordra(?:\.\w+)+)`")
_TEST_PATH = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")
# A citation: ``domain.md``, then ``§N`` (a range ``§N-M`` or ``§N-§M``, more ``§M`` after it) or
# ``preamble``. Line breaks inside a docstring or a run of comments are read as spaces first.
_CITED = re.compile(r"domain\.md\s+(?=§\s*\d|preamble\b)")
_SECTION = re.compile(r"§\s*(\d+)(?:\s*[-–]\s*§?\s*(\d+))?")
# ``§N "Name"`` or ``§N "Name", "Other" and "Third"``: parts of section N. After a colon or a
# comma a quotation is the rulebook's words, not a name.
_NAMED = re.compile(r'§\s*(\d+) "([^"]+)"((?:(?:, | and )"[^"]+")*)')
_QUOTED = re.compile(r'"[^"]*"')
_CONTINUATION = re.compile(r"\s*\n[ \t]*(?:#[ \t]*)?")


@dataclass(frozen=True)
class Citation:
    where: str  # path:line
    section: str  # "2", "10" or PREAMBLE
    names: tuple[str, ...]


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


@cache
def rules_text() -> str:
    return RULES.read_text(encoding="utf-8")


@cache
def rules_sections() -> dict[str, tuple[str, str]]:
    """Each heading of docs/rules.md: its section ("2" or PREAMBLE) -> (title, body)."""
    text = rules_text()
    headings = list(_HEADING.finditer(text))
    sections = {}
    for i, m in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        key = PREAMBLE if m["preamble"] else m["number"]
        sections[key] = (m["title"] or PREAMBLE, text[m.end() : end])
    return sections


def _citations_in(path: Path) -> list[Citation]:
    raw = path.read_text(encoding="utf-8")
    # Join continued lines, remembering where each flat offset came from.
    flat, line_of = [], []
    line = 1
    last = 0
    for m in _CONTINUATION.finditer(raw):
        chunk = raw[last : m.start()]
        flat.append(chunk)
        line_of.extend([line] * len(chunk))
        flat.append(" ")
        line_of.append(line)
        line += raw.count("\n", m.start(), m.end())
        last = m.end()
    flat.append(raw[last:])
    line_of.extend([line] * (len(raw) - last))
    text = "".join(flat)
    found = []
    for m in _CITED.finditer(text):
        where = f"{path.relative_to(ROOT)}:{line_of[m.start()]}"
        tail = text[m.end() : m.end() + 300]
        if tail.startswith("preamble"):
            found.append(Citation(where, PREAMBLE, ()))
            continue
        names: dict[str, list[str]] = {}
        for named in _NAMED.finditer(tail):
            quoted = [named[2], *(q.strip('"') for q in _QUOTED.findall(named[3]))]
            names.setdefault(named[1], []).extend(quoted)
        # The sections this citation names: up to where the sentence or the parenthesis ends,
        # quotations left out, and before any seed's own "§" (``seed 000 §9``).
        refs = re.split(r"[);]|\bseed\b|\.\s|\"\"\"", _QUOTED.sub('""', tail), maxsplit=1)[0]
        for section in _SECTION.finditer(refs):
            first = int(section[1])
            last_ = int(section[2]) if section[2] else first
            for n in range(first, last_ + 1):
                found.append(Citation(where, str(n), tuple(names.get(str(n), ()))))
    return found


@cache
def code_citations() -> tuple[Citation, ...]:
    found: list[Citation] = []
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += _citations_in(path)
    return tuple(found)


def _resolve(dotted: str) -> object:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name is None or not dotted.startswith(exc.name):
                raise  # the module exists but an import inside it failed: say so
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_page_has_rules_paths_and_tests() -> None:
    assert len(rules_sections()) == 11
    assert len(set(_DOTTED.findall(rules_text()))) > 50
    assert len(_TEST_PATH.findall(rules_text())) > 50


@pytest.mark.parametrize("dotted", sorted(set(_DOTTED.findall(rules_text()))))
def test_every_dotted_path_resolves(dotted: str) -> None:
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"docs/rules.md names {dotted}, which does not resolve: {exc}")


def test_every_test_named_exists() -> None:
    missing = []
    for path, name in sorted(set(_TEST_PATH.findall(rules_text()))):
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
            continue
        if name:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            defined = {
                node.name
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if name not in defined:
                missing.append(f"{path}::{name}")
    assert not missing, f"docs/rules.md names tests that do not exist: {missing}"


def test_the_citations_are_found() -> None:
    """The reader below sees the forms the code uses (a guard against a regex that finds none)."""
    cited = code_citations()
    sections = {c.section for c in cited}
    assert {"1", "2", "3", "8", "9", "10", PREAMBLE} <= sections
    assert any("Payment reference" in c.names for c in cited if c.section == "2")
    # Ranges count every section in them: "domain.md §6-§7" and "domain.md §8-9".
    assert {"6", "7"} <= sections


def test_every_cited_section_is_on_the_page() -> None:
    sections = rules_sections()
    missing = sorted(
        {f"§{c.section} ({c.where})" for c in code_citations() if c.section not in sections}
    )
    assert not missing, f"cited in the code but with no heading in docs/rules.md: {missing}"


def test_every_named_part_is_mentioned_in_its_section() -> None:
    sections = rules_sections()
    missing = []
    for c in code_citations():
        body = _normal(sections.get(c.section, ("", ""))[1])
        missing += [f'§{c.section} "{n}" ({c.where})' for n in c.names if _normal(n) not in body]
    assert not missing, f"named in the code but not under its section in docs/rules.md: {missing}"


def test_every_section_of_the_rulebook_has_its_heading() -> None:
    if not RULEBOOK.is_file():
        pytest.fail(f"the rulebook is expected beside the repository at {RULEBOOK}")
    rulebook = dict(
        re.findall(r"^## (\d+)\. (.+?)(?: \(.*\))?$", RULEBOOK.read_text(encoding="utf-8"), re.M)
    )
    assert rulebook, "no numbered section found in the rulebook"
    pages = {n: title for n, (title, _body) in rules_sections().items() if n != PREAMBLE}
    assert pages == rulebook
