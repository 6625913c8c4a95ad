"""Versioned projections (issue 18): a read-model table is never altered. A projection whose
version changed, or whose table has other columns than its code declares, is dropped and rebuilt
from zero on the next start; the other projections are left alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import Projection, ProjectionRunner, ReadModelDatabase, upsert
from tests.kernel.contracts.eventstore import stream_append


class Totals(Projection):
    """Each stream's total of ``amount``."""

    name: ClassVar[str] = "totals"
    upstreams: ClassVar[tuple[str, ...]] = ("ledger",)

    def declare(self, metadata: MetaData) -> list[Table]:
        self.table = Table(
            "totals",
            metadata,
            Column("stream_id", String(100), primary_key=True),
            Column("total", BigInteger, nullable=False),
        )
        return [self.table]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await upsert(
            conn, self.table, {"stream_id": event.stream_id}, add={"total": event.payload["amount"]}
        )


class TotalsV2(Totals):
    """The same tables, a new version: ``apply`` changed what it writes (say)."""

    version: ClassVar[int] = 2


class TotalsCounted(Totals):
    """A column added to the table, the version left as it was."""

    def declare(self, metadata: MetaData) -> list[Table]:
        self.table = Table(
            "totals",
            metadata,
            Column("stream_id", String(100), primary_key=True),
            Column("total", BigInteger, nullable=False),
            Column("events", BigInteger, nullable=False),
        )
        return [self.table]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await upsert(
            conn,
            self.table,
            {"stream_id": event.stream_id},
            add={"total": event.payload["amount"], "events": 1},
        )


class TotalsLogged(Totals):
    """A table added to the projection, the version left as it was."""

    def declare(self, metadata: MetaData) -> list[Table]:
        tables = super().declare(metadata)
        self.log = Table(
            "totals_log",
            metadata,
            Column("position", BigInteger, primary_key=True),
            Column("stream_id", String(100), nullable=False),
        )
        return [*tables, self.log]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await super().apply(conn, event)
        await conn.execute(
            self.log.insert().values(position=event.position, stream_id=event.stream_id)
        )


class Streams(Projection):
    """Another projection on the same database, which a rebuild of ``totals`` must not touch."""

    name: ClassVar[str] = "streams"
    upstreams: ClassVar[tuple[str, ...]] = ("ledger",)

    def declare(self, metadata: MetaData) -> list[Table]:
        self.table = Table(
            "streams",
            metadata,
            Column("stream_id", String(100), primary_key=True),
            Column("events", BigInteger, nullable=False),
        )
        return [self.table]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await upsert(conn, self.table, {"stream_id": event.stream_id}, add={"events": 1})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.distributed)])
def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], ReadModelDatabase]:
    """A factory of ``ReadModelDatabase`` objects over one database: each is a new start of it."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'projections.sqlite'}"
        return lambda: ReadModelDatabase(url)
    server: Any = request.getfixturevalue("postgres_server")
    schema = f"v{uuid.uuid4().hex[:10]}"
    return lambda: ReadModelDatabase(server.url, schema=schema)


@pytest.fixture
async def store() -> AsyncIterator[MemoryEventStore]:
    store = MemoryEventStore(
        "ledger", EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    )
    await store.start()
    await store.append(
        [
            stream_append("a", 0, [{"amount": 100}, {"amount": 250}]),
            stream_append("b", 0, [{"amount": 40}]),
        ]
    )
    yield store
    await store.close()


async def start(
    make_db: Callable[[], ReadModelDatabase], store: MemoryEventStore, *projections: Projection
) -> tuple[ReadModelDatabase, list[ProjectionRunner]]:
    """A start of the read side: the database checked, then the bus run until it settles."""
    db = make_db()
    runners = [ProjectionRunner(p, db) for p in projections]
    await db.start()
    bus = InProcessBus({"ledger": store}, idle_wait=0.05)
    for runner in runners:
        bus.subscribe(runner, "ledger")
    await bus.start()
    try:
        await bus.settle(10)
    finally:
        await bus.stop()
    return db, runners


async def rows(db: ReadModelDatabase, table: Table) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(table).order_by(table.c.stream_id))]


async def test_a_bumped_version_rebuilds_from_zero_and_answers_the_same(
    make_db: Callable[[], ReadModelDatabase],
    store: MemoryEventStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given both projections built once
    totals, streams = Totals(), Streams()
    db, _ = await start(make_db, store, totals, streams)
    before = await rows(db, totals.table)
    assert before == [("a", 350), ("b", 40)]
    # with a row of the other projection's own that no event made (to see it is not rebuilt)
    async with db.engine.begin() as conn:
        await conn.execute(streams.table.insert().values(stream_id="kept", events=7))
    await db.close()

    # When the code of totals comes with version 2
    v2, streams = TotalsV2(), Streams()
    with caplog.at_level(logging.INFO, logger="fordra.kernel.projection"):
        db, (runner, _) = await start(make_db, store, v2, streams)
    try:
        # (the log says which, why, and how far the replay has come)
        said = [r.getMessage() for r in caplog.records if r.name == "fordra.kernel.projection"]
        assert said[0] == (
            "projection totals: version 1 in the database, 2 in the code; its tables were "
            "dropped and it is rebuilt from zero"
        )
        assert "projection totals: rebuilding from zero, ledger at position 3" in said
        # Then totals alone was dropped, and is rebuilt to the same answer
        assert db.rebuilt_on_start == {"totals": "version 1 in the database, 2 in the code"}
        assert await rows(db, v2.table) == before
        # (its rows neither replayed, which would have doubled the counts, nor dropped)
        assert await rows(db, streams.table) == [("a", 2), ("b", 1), ("kept", 7)]
        # And once it reaches an event recorded after the start, the log says it follows live
        await store.append([stream_append("b", 1, [{"amount": 2}])])
        with caplog.at_level(logging.INFO, logger="fordra.kernel.projection"):
            await runner.handle("ledger", await store.read_log(3))
        assert caplog.records[-1].getMessage() == (
            "projection totals: rebuilt from ledger up to the start, position 4; following it"
        )
    finally:
        await db.close()

    # And a start with nothing changed rebuilds nothing
    again = TotalsV2()
    db, _ = await start(make_db, store, again, Streams())
    try:
        assert db.rebuilt_on_start == {}
        assert await rows(db, again.table) == [("a", 350), ("b", 42)]
    finally:
        await db.close()


async def test_a_column_added_to_a_table_is_picked_up_by_the_rebuild(
    make_db: Callable[[], ReadModelDatabase], store: MemoryEventStore
) -> None:
    db, _ = await start(make_db, store, Totals())
    await db.close()

    counted = TotalsCounted()
    db, _ = await start(make_db, store, counted)
    try:
        assert db.rebuilt_on_start == {"totals": "table totals has other columns (+events)"}
        assert await rows(db, counted.table) == [("a", 350, 2), ("b", 40, 1)]
    finally:
        await db.close()


async def test_a_database_older_than_versions_keeps_tables_that_match(
    make_db: Callable[[], ReadModelDatabase], store: MemoryEventStore
) -> None:
    # Given tables built before versions were recorded (no row for the projection)
    totals = Totals()
    db, _ = await start(make_db, store, totals)
    async with db.engine.begin() as conn:
        await conn.execute(delete(db.versions))
    await db.close()

    # When it starts, its matching tables are adopted: no rebuild, no event applied twice
    db, _ = await start(make_db, store, Totals())
    try:
        assert db.rebuilt_on_start == {}
        assert await rows(db, totals.table) == [("a", 350), ("b", 40)]
        async with db.engine.connect() as conn:
            assert (await conn.execute(select(db.versions))).all() == [("totals", 1)]
    finally:
        await db.close()


async def test_a_rebuild_on_demand_reports_its_progress_per_page(
    make_db: Callable[[], ReadModelDatabase], store: MemoryEventStore
) -> None:
    totals = Totals()
    db, (runner,) = await start(make_db, store, totals)
    try:
        progress: list[tuple[str, int, int]] = []
        applied = await runner.rebuild(
            {"ledger": store}, lambda u, at, head: progress.append((u, at, head)), page=2
        )
        assert applied == 3
        assert progress == [("ledger", 2, 3), ("ledger", 3, 3)]
        assert await rows(db, totals.table) == [("a", 350), ("b", 40)]
        assert await runner.position("ledger") == 3
    finally:
        await db.close()


async def test_a_table_added_to_a_projection_rebuilds_it(
    make_db: Callable[[], ReadModelDatabase], store: MemoryEventStore
) -> None:
    db, _ = await start(make_db, store, Totals())
    await db.close()

    logged = TotalsLogged()
    db, _ = await start(make_db, store, logged)
    try:
        # Without the rebuild, the new table would lack the events applied before it existed
        assert db.rebuilt_on_start == {"totals": "table totals_log missing"}
        async with db.engine.connect() as conn:
            kept = (await conn.execute(select(logged.log.c.position))).scalars().all()
        assert sorted(kept) == [1, 2, 3]
        assert await rows(db, logged.table) == [("a", 350), ("b", 40)]
    finally:
        await db.close()
