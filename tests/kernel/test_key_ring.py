"""The SQLite key ring shared by the processes of one machine (docs/adr/0001): a key forgotten by
one process stops opening data in the others, and two processes making a subject's first key at
once agree on one."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fordra.kernel.personal_data import PersonalDataSealer, SqliteKeyRing


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[SqliteKeyRing, SqliteKeyRing]]:
    first, second = SqliteKeyRing(tmp_path / "keys.sqlite"), SqliteKeyRing(tmp_path / "keys.sqlite")
    yield first, second
    first.close()
    second.close()


def test_a_key_forgotten_by_another_process_stops_opening_here(
    two_processes: tuple[SqliteKeyRing, SqliteKeyRing],
) -> None:
    api, cli = two_processes
    api.CHECK_SECONDS = 0.0  # check the file on every look (1 s in service)
    # Given a sealed part the API has opened (and so holds the key in its cache)
    sealer = PersonalDataSealer(api)
    sealed = sealer.seal("cust-1", {"name": "Tolvan"})
    assert sealer.open("cust-1", sealed) == {"name": "Tolvan"}
    # When another process forgets the subject
    cli.forget("cust-1")
    # Then the API no longer opens it
    assert sealer.open("cust-1", sealed) is None


def test_two_processes_making_the_first_key_agree(
    two_processes: tuple[SqliteKeyRing, SqliteKeyRing],
) -> None:
    first, second = two_processes
    a = first.key_for("payment-1", create=True)
    b = second.key_for("payment-1", create=True)
    assert a is not None
    assert a == b


def test_the_key_file_is_the_owners_alone(tmp_path: Path) -> None:
    ring = SqliteKeyRing(tmp_path / "keys.sqlite")
    ring.key_for("cust-1", create=True)
    for path in tmp_path.glob("keys.sqlite*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    ring.close()
