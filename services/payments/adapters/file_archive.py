"""``FilesystemArchive``: every accepted bank file kept, by its SHA-256, for audit."""

from __future__ import annotations

import os
from pathlib import Path


class FilesystemArchive:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def keep(self, sha256: str, data: bytes, suffix: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{sha256}.{suffix}"
        if path.exists():
            return  # the same bytes: the same name
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def read(self, sha256: str, suffix: str) -> bytes:
        return (self.directory / f"{sha256}.{suffix}").read_bytes()
