"""Projections (read models) and the tracking that makes them exactly-once in effect.

A projection's effects and its tracking row commit in one transaction of the read-model database:
a crash in the middle of a batch rolls the whole batch back, and the projection resumes from its
own tracked position, so no effect is lost or doubled. A redelivered event (at or below the
tracked position) changes nothing. Rebuilding drops the projection's tables and its tracking rows
and replays from position 0; the result must equal the incrementally built one.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import FordraError

if TYPE_CHECKING:
    from fordra.kernel.parking import ParkedEvents


class TrackingRace(FordraError):
    """Another runner advanced this consumer's tracking during our transaction."""


class Consumer(Protocol):
    """What a bus delivers to: the in-process bus and the Kafka consumers call the same two."""

    name: str

    async def position(self, upstream: str) -> int:
        """The last position of ``upstream`` whose effects this consumer has committed."""
        ...

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        """Apply ``events`` (in log order, possibly some already seen, possibly repeating a tail
        of the batch itself: see ``unseen``) and answer the new tracked position; effects and
        tracking commit together or not at all."""
        ...

    async def skip(self, upstream: str, position: int) -> None:
        """Move the tracking past a message that failed for good (it was parked: see
        ``fordra.kernel.parking``), without its effects, so that it does not stop the messages
        behind it."""
        ...


def unseen(events: Sequence[Envelope], tracked: int) -> list[Envelope]:
    """The events of a delivered batch not yet applied: each one above ``tracked`` *and* above
    every position before it in the batch.

    Comparing with ``tracked`` alone is not enough: a topic may hold a batch's tail twice (a relay
    killed before recording its progress publishes it again), and one delivered batch can then
    carry ``..., 99, 100, 51, 52, ...``; every one of those is above the position tracked when the
    batch began, so the tail would be applied twice in one transaction. Positions in a log come in
    order, so one at or below the highest already kept is a redelivery."""
    fresh: list[Envelope] = []
    high = tracked
    for env in events:
        if env.position > high:
            fresh.append(env)
            high = env.position
    return fresh


class Projection(ABC):
    """A read model: tables, and how each event changes them."""

    name: ClassVar[str]
    upstreams: ClassVar[tuple[str, ...]]

    @abstractmethod
    def declare(self, metadata: MetaData) -> list[Table]:
        """Declare this projection's tables on ``metadata`` and answer them."""

    @abstractmethod
    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        """Change the tables for one event. Runs inside the batch's transaction."""

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """Change the tables for a delivered batch (in log order, none seen before), inside its
        transaction. The default applies one event at a time; a projection that follows a
        high-volume event overrides it with one statement per table for the batch, and must
        leave the tables exactly as the one-at-a-time ``apply`` would (a failing batch is
        applied again event by event by ``fordra.kernel.parking.deliver``, so an event that
        fails one at a time must make the batch fail as well)."""
        for env in events:
            await self.apply(conn, env)


class ReadModelDatabase:
    """One SQL database holding the read models and their tracking rows."""

    def __init__(
        self, url: str, *, schema: str | None = None, connect_args: dict[str, Any] | None = None
    ) -> None:
        self.url = url
        # PostgreSQL keeps the read models in a schema of their own; SQLite has a file of its own.
        self.schema = schema
        self.metadata = MetaData(schema=schema)
        self.tracking = Table(
            "projection_tracking",
            self.metadata,
            Column("consumer", String(200), primary_key=True),
            Column("upstream", String(100), primary_key=True),
            Column("position", BigInteger, nullable=False),
        )
        # Events a consumer could not apply, set aside until an operator replays them
        # (fordra.kernel.parking explains why they live here).
        self.parked = Table(
            "parked_events",
            self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("consumer", String(200), nullable=False),
            Column("upstream", String(100), nullable=False),
            Column("position", BigInteger, nullable=False),
            Column("event_id", String(100), nullable=False),
            Column("event_type", String(200), nullable=False),
            Column("stream_id", String(300), nullable=False),
            Column("error", String(1000), nullable=False),
            Column("parked_at", DateTime(timezone=True), nullable=False),
            Column("state", String(20), nullable=False),
            Column("replayed_at", DateTime(timezone=True), nullable=True),
            Column("last_replay_error", String(1000), nullable=True),
            UniqueConstraint("consumer", "upstream", "position", name="parked_events_once"),
        )
        self._connect_args = connect_args or {}
        self._engine: AsyncEngine | None = None
        # SQLite has one writer: serialising our own writers avoids SQLITE_BUSY on lock upgrade.
        self.write_lock = asyncio.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("read-model database is not started")
        return self._engine

    async def start(self) -> None:
        self._engine = create_async_engine(self.url, connect_args=self._connect_args)
        if self.is_sqlite:

            def on_connect(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA busy_timeout=5000")
                cursor.close()

            event.listen(self._engine.sync_engine, "connect", on_connect)
        async with self._engine.begin() as conn:
            if self.schema is not None:
                # One process creates the schema at a time (several services may start at once).
                await conn.execute(text("SELECT pg_advisory_xact_lock(4616466181733)"))
                await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {self.schema}"))
            await conn.run_sync(self.metadata.create_all)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def tracked(self, conn: AsyncConnection, consumer: str, upstream: str) -> int:
        t = self.tracking
        value = (
            await conn.execute(
                select(t.c.position).where(t.c.consumer == consumer, t.c.upstream == upstream)
            )
        ).scalar_one_or_none()
        return int(value) if value is not None else 0

    async def set_tracked(
        self, conn: AsyncConnection, consumer: str, upstream: str, position: int
    ) -> None:
        insert = sqlite_insert if self.is_sqlite else pg_insert
        stmt = insert(self.tracking).values(consumer=consumer, upstream=upstream, position=position)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["consumer", "upstream"], set_={"position": position}
            )
        )

    async def advance_tracked(
        self, conn: AsyncConnection, consumer: str, upstream: str, seen: int, position: int
    ) -> None:
        """Move the tracking from ``seen`` (what this transaction read) to ``position``, or raise
        ``TrackingRace`` when another runner moved it meanwhile: then this transaction's effects
        roll back and the batch is retried, so two runners never both apply one batch."""
        t = self.tracking
        if seen == 0:
            insert = sqlite_insert if self.is_sqlite else pg_insert
            stmt = insert(t).values(consumer=consumer, upstream=upstream, position=position)
            result = await conn.execute(stmt.on_conflict_do_nothing())
            if result.rowcount == 1:
                return
        result = await conn.execute(
            update(t)
            .where(t.c.consumer == consumer, t.c.upstream == upstream, t.c.position == seen)
            .values(position=position)
        )
        if result.rowcount != 1:
            raise TrackingRace(f"{consumer} on {upstream}: another runner moved past {seen}")

    async def forget_tracking(self, conn: AsyncConnection, consumer: str) -> None:
        await conn.execute(delete(self.tracking).where(self.tracking.c.consumer == consumer))


async def upsert(
    conn: AsyncConnection,
    table: Table,
    key: dict[str, Any],
    *,
    add: dict[str, int] | None = None,
    set_: dict[str, Any] | None = None,
) -> None:
    """Insert the row for ``key`` or change it: ``add`` increments columns, ``set_`` sets them.

    Read models fed by several contexts use it so that their result does not depend on which
    context's events arrive first (no global order exists across stores)."""
    add = add or {}
    set_ = set_ or {}
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table).values(**key, **add, **set_)
    changes: dict[str, Any] = {name: table.c[name] + amount for name, amount in add.items()}
    changes.update(set_)
    await conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=changes))


async def insert_many(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` with one executemany: a batch's rows of a table in one statement."""
    if rows:
        await conn.execute(table.insert(), list(rows))


async def upsert_many(
    conn: AsyncConnection,
    table: Table,
    key: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    add: Sequence[str] = (),
    set_: Sequence[str] = (),
) -> None:
    """``upsert`` for many rows in one executemany: each row holds the ``key`` columns and every
    column of ``add`` (added to the stored value) and ``set_`` (replacing it). Keys must be
    distinct; a caller sums what a batch adds to one key first."""
    if not rows:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table)
    changes: dict[str, Any] = {name: table.c[name] + stmt.excluded[name] for name in add}
    changes.update({name: stmt.excluded[name] for name in set_})
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=list(key), set_=changes), list(rows)
    )


class Sums:
    """What a batch of events adds to rows of ``table``, summed per key in memory and written by
    ``flush`` with one additive upsert (``upsert_many(add=...)``): a batch costs one statement
    per table, and the read model is the same whichever context's events arrive first, since
    additions commute. ``defaults`` are the other columns of a row inserted new (an existing
    row keeps its own)."""

    def __init__(
        self,
        table: Table,
        key: Sequence[str],
        add: Sequence[str],
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.key = tuple(key)
        self.columns = tuple(add)
        self.defaults = dict(defaults or {})
        self._rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, key: tuple[Any, ...], column: str, amount: int) -> None:
        """Add ``amount`` to ``column`` of the row whose key columns hold ``key``."""
        row = self._rows.get(key)
        if row is None:
            row = {
                **dict(zip(self.key, key, strict=True)),
                **dict.fromkeys(self.columns, 0),
                **self.defaults,
            }
            self._rows[key] = row
        row[column] += amount

    async def flush(self, conn: AsyncConnection) -> None:
        """Write what is summed so far and start again from nothing."""
        await upsert_many(conn, self.table, self.key, list(self._rows.values()), add=self.columns)
        self._rows.clear()


class ProjectionRunner:
    """Runs one projection as a ``Consumer`` against a ``ReadModelDatabase``."""

    def __init__(self, projection: Projection, db: ReadModelDatabase) -> None:
        self.projection = projection
        self.name = f"projection:{projection.name}"
        self.db = db
        self.tables = projection.declare(db.metadata)

    async def position(self, upstream: str) -> int:
        async with self.db.engine.connect() as conn:
            return await self.db.tracked(conn, self.name, upstream)

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        async with self.db.write_lock, self.db.engine.begin() as conn:
            tracked = await self.db.tracked(conn, self.name, upstream)
            fresh = unseen(events, tracked)
            if not fresh:
                return tracked
            await self.projection.apply_batch(conn, fresh)
            await self.db.advance_tracked(conn, self.name, upstream, tracked, fresh[-1].position)
            return fresh[-1].position

    async def skip(self, upstream: str, position: int) -> None:
        async with self.db.write_lock, self.db.engine.begin() as conn:
            if await self.db.tracked(conn, self.name, upstream) < position:
                await self.db.set_tracked(conn, self.name, upstream, position)

    async def replay(
        self, upstream: str, event: Envelope, parked: ParkedEvents, parked_id: int
    ) -> bool:
        """Apply one parked event out of order, its record marked replayed in the same
        transaction; the tracking stays where it is (it moved past the event when it was parked)."""
        async with self.db.write_lock, self.db.engine.begin() as conn:
            if not await parked.claim(conn, parked_id):
                return False
            await self.projection.apply(conn, event)
            return True

    async def reset(self) -> None:
        """Drop this projection's rows, tracking and parked events so that the bus replays it
        from zero."""
        async with self.db.write_lock, self.db.engine.begin() as conn:
            for table in reversed(self.tables):
                await conn.execute(delete(table))
            await self.db.forget_tracking(conn, self.name)
            # What it parked is applied again or parked again by the replay from zero.
            await conn.execute(delete(self.db.parked).where(self.db.parked.c.consumer == self.name))
