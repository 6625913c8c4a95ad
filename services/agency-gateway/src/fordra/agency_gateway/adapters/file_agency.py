"""An agency that takes a daily file (issue 15 "Outbound"): JSON Lines.

Each message is one line, the same JSON object the HTTP API gets (application/outbound.py
``message_body``), appended to ``<file_dir>/<agency>-<YYYY-MM-DD>.jsonl`` for the business day it
is delivered on; the agency fetches the day's file. Each message id is written once: before
writing, the adapter looks for the id in every file of the agency in the folder (read once, then
remembered), so a message sent again after a crash between the write and the recorded delivery
is not doubled. A line is written whole and synced to disk before the delivery is recorded.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from fordra.agency_gateway.domain.delivery import AgencyAdapter, DeliveryFailed

__all__ = ["FileAgency"]


class FileAgency(AgencyAdapter):
    def __init__(self, agency: str, file_dir: str | Path) -> None:
        self.agency = agency
        self.file_dir = Path(file_dir)
        self._written: set[str] | None = None
        self._lock = asyncio.Lock()

    def file_for(self, day: date) -> Path:
        return self.file_dir / f"{self.agency}-{day.isoformat()}.jsonl"

    async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None:
        async with self._lock:
            try:
                await asyncio.to_thread(self._write_once, message_id, body, today)
            except OSError as exc:
                raise DeliveryFailed(f"cannot write {self.file_for(today)}: {exc}") from exc

    def _write_once(self, message_id: str, body: dict[str, Any], today: date) -> None:
        written = self._already_written()
        if message_id in written:
            return
        self.file_dir.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(body) + b"\n"
        with self.file_for(today).open("ab") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        written.add(message_id)

    def _already_written(self) -> set[str]:
        if self._written is None:
            found: set[str] = set()
            for path in sorted(self.file_dir.glob(f"{self.agency}-*.jsonl")):
                for line in path.read_bytes().splitlines():
                    if line.strip():
                        # A torn last line (a crash mid-write) names no id: it is written again.
                        try:
                            found.add(str(orjson.loads(line)["message_id"]))
                        except (orjson.JSONDecodeError, KeyError, TypeError):
                            continue
            self._written = found
        return self._written
