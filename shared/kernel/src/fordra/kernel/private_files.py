"""The data directory is the service user's alone: files 0600, folders 0700 (SECURITY.md).

The CLI sets the process umask to 077 at start; these helpers give the same modes explicitly where
Fordra creates its files, so that a process started another way (a test, an embedding program) is
no looser. SQLite gives a database's ``-wal`` and ``-shm`` files the mode of the database file, so
creating that file 0600 before SQLite opens it covers all three.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Create ``path`` (and any missing parent) 0700. A folder that already exists keeps its
    mode: that is the operator's choice (the local cluster opens its data folder for PostgreSQL's
    OS user to traverse to its own 0700 folder below)."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        folder.chmod(PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists; tighten it (and an SQLite database's
    ``-wal`` and ``-shm``) to 0600 if it does."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            companion.chmod(PRIVATE_FILE_MODE)
