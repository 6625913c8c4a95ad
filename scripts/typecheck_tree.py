"""Build ``build/typecheck/fordra``: a tree of symlinks that mirrors the import names.

mypy cannot see setuptools' editable finder, and the folders (``services/agency-gateway``) are not
import names. The tree links whole folders, so a new module is seen without rebuilding it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with (ROOT / "pyproject.toml").open("rb") as f:
        layout: dict[str, str] = tomllib.load(f)["tool"]["fordra"]["layout"]
    tree = ROOT / "build" / "typecheck"
    if tree.exists():
        shutil.rmtree(tree)
    top = tree / "fordra"
    top.mkdir(parents=True)
    shared = ROOT / layout["fordra"]
    for entry in sorted(shared.iterdir()):
        if entry.name == "__pycache__":
            continue
        os.symlink(os.path.relpath(entry, top), top / entry.name)
    for name, folder in layout.items():
        if name == "fordra":
            continue
        sub = name.split(".", 1)[1]
        os.symlink(os.path.relpath(ROOT / folder, top), top / sub)
    print(tree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
