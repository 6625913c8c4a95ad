"""The workspace's layout: ordinary distributions, each a `src/` tree under the `fordra` namespace.

docs/adr/0003-workspace-of-distributions.md gives the decision; these tests keep it true.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTEXTS = {
    "services/invoicing": "fordra.invoicing",
    "services/payments": "fordra.payments",
    "services/dunning": "fordra.dunning",
    "services/agency-gateway": "fordra.agency_gateway",
    "services/utility-disconnect": "fordra.utility_disconnect",
    "services/projections": "fordra.projections",
}
MEMBERS = {
    "shared/kernel": "fordra.kernel",
    "shared/contracts": "fordra.contracts",
    **CONTEXTS,
    "app": "fordra.app",
    "devtools": "fordra.devtools",
}


def manifest(folder: str) -> dict[str, object]:
    with (ROOT / folder / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def dependencies(folder: str) -> set[str]:
    project = manifest(folder)["project"]
    assert isinstance(project, dict)
    names = set()
    for requirement in project["dependencies"]:
        name = requirement.split("[")[0]
        for sign in "<>=!~; ":
            name = name.split(sign)[0]
        names.add(name)
    return names


def test_every_service_folder_is_a_workspace_member() -> None:
    folders = {f"services/{p.name}" for p in (ROOT / "services").iterdir() if p.is_dir()}
    folders.discard("services/__pycache__")
    assert folders == set(CONTEXTS)
    with (ROOT / "pyproject.toml").open("rb") as f:
        members = tomllib.load(f)["tool"]["uv"]["workspace"]["members"]
    declared = {m for m in members if "*" not in m} | {
        f"services/{p.name}" for p in (ROOT / "services").iterdir() if "services/*" in members
    }
    assert set(MEMBERS) <= declared


@pytest.mark.parametrize(("folder", "name"), sorted(MEMBERS.items()))
def test_import_names_resolve_to_the_members_src_tree(folder: str, name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    expected = ROOT / folder / "src" / Path(*name.split("."))
    assert Path(module.__file__).resolve().parent == expected.resolve(), name
    assert (expected / "py.typed").is_file(), f"{name} is typed: PEP 561 needs py.typed"
    build = manifest(folder)["tool"]
    assert isinstance(build, dict)
    assert build["uv"]["build-backend"]["module-name"] == name


def test_fordra_is_a_namespace_shared_by_the_members() -> None:
    for folder in MEMBERS:
        assert not (ROOT / folder / "src" / "fordra" / "__init__.py").exists(), folder


def test_no_file_maps_folders_to_import_names_by_hand() -> None:
    assert not (ROOT / "setup.py").exists()
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert "fordra" not in tomllib.load(f)["tool"]


@pytest.mark.parametrize("folder", sorted(CONTEXTS))
def test_each_context_has_the_four_rooms(folder: str) -> None:
    package = ROOT / folder / "src" / Path(*CONTEXTS[folder].split("."))
    for room in ("domain", "application", "adapters", "entrypoints"):
        assert (package / room / "__init__.py").is_file(), f"{folder} lacks {room}/"


@pytest.mark.parametrize("folder", sorted(CONTEXTS))
def test_a_context_depends_on_the_kernel_and_the_contracts_only(folder: str) -> None:
    ours = {d for d in dependencies(folder) if d.startswith("fordra-")}
    assert ours <= {"fordra-kernel", "fordra-contracts"}, folder


def test_only_the_app_depends_on_every_context_and_no_service_on_the_devtools() -> None:
    contexts = {"fordra-" + Path(f).name for f in CONTEXTS}
    assert contexts <= dependencies("app")
    for folder in MEMBERS:
        if folder != "devtools":
            assert "fordra-devtools" not in dependencies(folder), folder


@functools.cache
def imported_top_levels(folder: str) -> frozenset[str]:
    """The top-level names a member's code imports (at run time or for type checking)."""
    names: set[str] = set()
    for path in (ROOT / folder / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return frozenset(names)


@functools.cache
def installed_distributions() -> dict[str, list[str]]:
    return packages_distributions()  # reads every installed distribution's file list: once


def distributions_of(top_level: str, folder: str) -> set[str]:
    """The distributions an import name may come from (several for a namespace such as
    ``opentelemetry``); empty for the standard library and the members' own ``fordra``."""
    if top_level in sys.stdlib_module_names or top_level in {"__future__", "fordra"}:
        return set()
    providers = installed_distributions().get(top_level)
    assert providers, f"{folder} imports {top_level!r}, which no installed distribution provides"
    return {canonical(p) for p in providers}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Imports that come with a declared dependency: a library's own modules under another name.
COMES_WITH = {
    "fastapi": {"starlette", "pydantic"},
    "pydantic": {"pydantic-core"},
    "sqlalchemy": {"greenlet"},
}


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_a_member_declares_every_library_it_imports(folder: str) -> None:
    declared = {canonical(d) for d in dependencies(folder)}
    covered = declared | {extra for d in declared for extra in COMES_WITH.get(d, set())}
    for name in sorted(imported_top_levels(folder)):
        providers = distributions_of(name, folder)
        assert not providers or providers & covered, f"{folder} imports {name} undeclared"


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_a_member_declares_no_library_it_does_not_import(folder: str) -> None:
    imported = set().union(*(distributions_of(n, folder) for n in imported_top_levels(folder)))
    # Drivers named in a connection URL (sqlite+aiosqlite://) are used without an import.
    used_by_name = {"aiosqlite"}
    libraries = {canonical(d) for d in dependencies(folder) if not d.startswith("fordra-")}
    unused = libraries - imported - used_by_name
    assert not unused, f"{folder} declares {sorted(unused)} but imports none of them"
