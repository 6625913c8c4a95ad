"""The daily-file adapter (issue 15 "Outbound"): JSON Lines, one file per agency and day, each
message written once, also after a restart and across days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson

from fordra.agency_gateway.adapters.file_agency import FileAgency


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_each_message_is_written_once_to_the_days_file(tmp_path: Path) -> None:
    # Given a file agency
    agency = FileAgency("filebyran", tmp_path / "out")
    day = date(2026, 4, 21)
    # When two messages are delivered, the first twice
    await agency.deliver("m1", {"message_id": "m1", "kind": "claim"}, today=day)
    await agency.deliver("m2", {"message_id": "m2", "kind": "recall"}, today=day)
    await agency.deliver("m1", {"message_id": "m1", "kind": "claim"}, today=day)
    # Then the day's file holds each once, in order
    path = tmp_path / "out" / "filebyran-2026-04-21.jsonl"
    assert [m["message_id"] for m in lines(path)] == ["m1", "m2"]


async def test_a_message_sent_again_after_a_restart_or_the_next_day_is_not_doubled(
    tmp_path: Path,
) -> None:
    # Given a message written before a crash (its delivery never recorded)
    await FileAgency("filebyran", tmp_path).deliver(
        "m1", {"message_id": "m1"}, today=date(2026, 4, 21)
    )
    # When a new process delivers it again the next day, with a new message
    again = FileAgency("filebyran", tmp_path)
    await again.deliver("m1", {"message_id": "m1"}, today=date(2026, 4, 22))
    await again.deliver("m2", {"message_id": "m2"}, today=date(2026, 4, 22))
    # Then it stays in the first day's file only, and the new one is in the new day's
    assert [m["message_id"] for m in lines(tmp_path / "filebyran-2026-04-21.jsonl")] == ["m1"]
    assert [m["message_id"] for m in lines(tmp_path / "filebyran-2026-04-22.jsonl")] == ["m2"]


async def test_another_agencys_files_do_not_count(tmp_path: Path) -> None:
    await FileAgency("a", tmp_path).deliver("m1", {"message_id": "m1"}, today=date(2026, 4, 21))
    await FileAgency("b", tmp_path).deliver("m1", {"message_id": "m1"}, today=date(2026, 4, 21))
    assert len(lines(tmp_path / "b-2026-04-21.jsonl")) == 1
