"""``FilesystemArchive``: every accepted bank file kept, by its SHA-256, for audit.

A bank file names payers, their accounts and addresses: each file is sealed with a key of its own
(``payment-file-<sha256>`` in the key ring, which lives apart from the archive), so a copy of the
archive alone reads nothing, and retention drops a file by forgetting its key and deleting it.
Files lie in a folder per year received (``<year>/<sha256>.<format>``): retention goes by the
calendar year (domain/retention.py).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from fordra.kernel.clock import BusinessClock
from fordra.kernel.personal_data import PersonalDataSealer
from fordra.kernel.private_files import PRIVATE_FILE_MODE, private_dir


def file_subject(sha256: str) -> str:
    """The key ring subject of one archived file."""
    return f"payment-file-{sha256}"


class FilesystemArchive:
    def __init__(self, directory: Path, sealer: PersonalDataSealer, clock: BusinessClock) -> None:
        self.directory = directory
        self._sealer = sealer
        self._clock = clock

    def keep(self, sha256: str, data: bytes, suffix: str) -> None:
        if self._find(sha256, suffix) is not None:
            return  # the same bytes: the same name
        self._write(self.directory / str(self._clock.today().year), sha256, suffix, data)

    def _write(self, folder: Path, sha256: str, suffix: str, data: bytes) -> None:
        private_dir(folder)
        path = folder / f"{sha256}.{suffix}"
        sealed = self._sealer.seal_bytes(file_subject(sha256), data)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        os.fchmod(fd, PRIVATE_FILE_MODE)  # a leftover .tmp of looser mode keeps its mode on open
        with os.fdopen(fd, "wb") as f:
            f.write(sealed)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def read(self, sha256: str, suffix: str) -> bytes | None:
        """The file as received; None when it is not kept (never, or dropped by retention)."""
        path = self._find(sha256, suffix)
        if path is None:
            return None
        return self._sealer.open_bytes(file_subject(sha256), path.read_bytes())

    def seal_plain_files(self) -> list[str]:
        """Seal the files an older Fordra kept in plain text straight under the archive folder
        (``<sha256>.<format>``), each into the folder of the year it was written; answers their
        SHA-256. Retention runs this first, so an archive of either age ends sealed."""
        sealed: list[str] = []
        if not self.directory.is_dir():
            return sealed
        for path in sorted(self.directory.iterdir()):
            sha256, _, suffix = path.name.partition(".")
            if not path.is_file() or len(sha256) != 64 or not suffix or suffix.endswith("tmp"):
                continue
            year = datetime.fromtimestamp(path.stat().st_mtime, UTC).year
            self._write(self.directory / str(year), sha256, suffix, path.read_bytes())
            path.unlink()
            sealed.append(sha256)
        return sealed

    def drop_through(self, last_year: int) -> list[str]:
        """Retention: forget the key of every file received in ``last_year`` or before and delete
        the files; answers the SHA-256 of what was dropped. The key goes first: a file whose
        deletion fails is unreadable all the same."""
        dropped: list[str] = []
        if not self.directory.is_dir():
            return dropped
        for folder in sorted(self.directory.iterdir()):
            if not (folder.is_dir() and folder.name.isdigit() and int(folder.name) <= last_year):
                continue
            for path in sorted(folder.iterdir()):
                sha256 = path.name.split(".", 1)[0]
                self._sealer.forget(file_subject(sha256))
                dropped.append(sha256)
            shutil.rmtree(folder)
        return dropped

    def _find(self, sha256: str, suffix: str) -> Path | None:
        if not self.directory.is_dir():
            return None
        name = f"{sha256}.{suffix}"
        for folder in self.directory.iterdir():
            if (folder / name).is_file():
                return folder / name
        return None
