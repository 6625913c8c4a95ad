"""The folder layout and the import names agree (docs/adr/0002-layout-and-packaging.md)."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        table: dict[str, str] = tomllib.load(f)["tool"]["fordra"]["layout"]
    return table


def test_every_service_folder_is_mapped_to_an_import_name() -> None:
    mapped = set(layout().values())
    folders = {f"services/{p.name}" for p in (ROOT / "services").iterdir() if p.is_dir()}
    folders.discard("services/__pycache__")
    assert folders <= mapped, f"unmapped service folders: {folders - mapped}"
    for folder in mapped:
        assert (ROOT / folder / "__init__.py").is_file(), f"{folder} is not a package"


def test_every_python_folder_is_a_package_so_it_ships() -> None:
    for folder in layout().values():
        for py in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in py.parts:
                continue
            assert (py.parent / "__init__.py").is_file(), f"{py.parent} lacks __init__.py"


def test_import_names_resolve_to_the_mapped_folders() -> None:
    for name, folder in layout().items():
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent == (ROOT / folder).resolve(), name


def test_each_context_has_the_four_rooms() -> None:
    for name, folder in layout().items():
        if not folder.startswith("services/"):
            continue
        for room in ("domain", "application", "adapters", "entrypoints"):
            assert (ROOT / folder / room / "__init__.py").is_file(), f"{name} lacks {room}/"
