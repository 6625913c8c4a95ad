"""Package discovery for Fordra's layout.

The import names (``fordra.invoicing``) differ from the folders (``services/invoicing``); the
mapping lives in ``[tool.fordra.layout]`` of pyproject.toml and every sub-package under a mapped
folder is found here, so adding a module or a package never needs a second edit.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent


def layout() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        table: dict[str, str] = tomllib.load(f)["tool"]["fordra"]["layout"]
    return table


def discover(mapping: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    # The mapped folders are disjoint (shared/, app/, services/*), so each package is found once.
    packages: list[str] = []
    for name, folder in mapping.items():
        base = ROOT / folder
        for init in sorted(base.rglob("__init__.py")):
            rel = init.parent.relative_to(base)
            packages.append(".".join([name, *rel.parts]))
    return packages, dict(mapping)


packages, package_dir = discover(layout())
setup(packages=packages, package_dir=package_dir)
