"""Projections (read models) and the tracking that makes them exactly-once in effect.

A projection's effects and its tracking row commit in one transaction of the read-model database:
a crash in the middle of a batch rolls the whole batch back, and the projection resumes from its
own tracked position, so no effect is lost or doubled. A redelivered event (at or below the
tracked position) changes nothing. Rebuilding drops the projection's tables and its tracking rows
and replays from position 0; the result must equal the incrementally built one.

Read-model tables are never altered (issue 18): each projection declares a ``version``, and the
database records the version its tables were built with (``projection_versions``). On start, a
projection whose recorded version differs from its code's, or whose tables' columns differ from
what ``declare`` says, has its tables and tracking rows dropped and is rebuilt from zero by its
bus (its tracked position is 0 again). The other tables (tracking, parked events, the stores)
are not rebuildable; their schema changes need a migration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    event,
    inspect,
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
    from fordra.kernel.eventstore import EventStore
    from fordra.kernel.parking import ParkedEvents

log = logging.getLogger(__name__)


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
    # Bump it when ``declare`` or ``apply`` changes what the tables hold: the next start drops
    # the tables and rebuilds them from zero (a changed column is picked up without it too).
    version: ClassVar[int] = 1

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


@dataclass(frozen=True, slots=True)
class DeclaredProjection:
    """A projection's name, version and tables as its code declares them."""

    name: str
    version: int
    tables: tuple[Table, ...]

    def staleness(
        self, recorded: int | None, columns: Mapping[str, set[str]], *, tracked: bool
    ) -> str | None:
        """Why the tables found in the database (``columns``: the columns of each of this
        projection's tables that exists) cannot serve this code, or None when they can.

        A database made before versions were recorded (``recorded`` None) keeps tables whose
        columns match: they were built by this code's projection."""
        if recorded is not None and recorded != self.version:
            return f"version {recorded} in the database, {self.version} in the code"
        for table in self.tables:
            found = columns.get(table.name)
            if found is None:
                continue
            declared = {c.name for c in table.columns}
            if found != declared:
                changes = [f"+{c}" for c in sorted(declared - found)]
                changes += [f"-{c}" for c in sorted(found - declared)]
                return f"table {table.name} has other columns ({', '.join(changes)})"
        missing = [t.name for t in self.tables if t.name not in columns]
        if missing and (columns or tracked):
            # A table added to a projection that has already applied events would miss them.
            return f"table {', '.join(missing)} missing"
        return None


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
        # The version each projection's tables were built with (see ``Projection.version``).
        self.versions = Table(
            "projection_versions",
            self.metadata,
            Column("projection", String(200), primary_key=True),
            Column("version", Integer, nullable=False),
        )
        self._declared: dict[str, DeclaredProjection] = {}
        # What the last start dropped to rebuild, with why (for logs and tests), and when.
        self.rebuilt_on_start: dict[str, str] = {}
        self.started_at: datetime | None = None
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
        self.started_at = datetime.now(UTC)
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
            self.rebuilt_on_start = await conn.run_sync(self._prepare_tables)
        for name, why in self.rebuilt_on_start.items():
            log.warning(
                "projection %s: %s; its tables were dropped and it is rebuilt from zero",
                name,
                why,
            )

    def declare(self, projection: Projection) -> DeclaredProjection:
        """Declare ``projection``'s tables on this database and remember its version, so that
        ``start`` can tell whether its tables are still the ones its code declares."""
        tables = projection.declare(self.metadata)
        declared = DeclaredProjection(projection.name, projection.version, tuple(tables))
        self._declared[projection.name] = declared
        return declared

    @property
    def projections(self) -> Mapping[str, DeclaredProjection]:
        return self._declared

    def _prepare_tables(self, conn: Connection) -> dict[str, str]:
        """Drop the tables of every stale projection (and its tracking rows and parked events),
        create every missing table and record each projection's version: one transaction, so a
        crash leaves the old tables or the new ones, never half. Answers what was dropped."""
        inspector = inspect(conn)
        existing = set(inspector.get_table_names(schema=self.schema))
        recorded: dict[str, int] = {}
        if self.versions.name in existing:
            rows = conn.execute(select(self.versions.c.projection, self.versions.c.version))
            recorded = {str(name): int(version) for name, version in rows}
        tracked: set[str] = set()
        if self.tracking.name in existing:
            tracked = {str(c) for c in conn.execute(select(self.tracking.c.consumer).distinct())}
        stale: dict[str, str] = {}
        for declared in self._declared.values():
            why = declared.staleness(
                recorded.get(declared.name),
                {
                    t.name: {c["name"] for c in inspector.get_columns(t.name, schema=self.schema)}
                    for t in declared.tables
                    if t.name in existing
                },
                tracked=f"projection:{declared.name}" in tracked,
            )
            if why is not None:
                stale[declared.name] = why
        for name in stale:
            # The rows first: on SQLite the driver opens the transaction at the first write, and
            # DDL before it would be committed on its own (a crash could then leave new, empty
            # tables behind a tracking that says they are filled).
            if self.tracking.name in existing:
                self._forget(conn, name)
            for table in reversed(self._declared[name].tables):
                table.drop(conn, checkfirst=True)
        self.metadata.create_all(conn)
        for declared in self._declared.values():
            if recorded.get(declared.name) != declared.version:
                self._record_version(conn, declared)
        return stale

    def _forget(self, conn: Connection, name: str) -> None:
        """Delete the tracking rows and parked events of projection ``name``."""
        consumer = f"projection:{name}"
        conn.execute(delete(self.tracking).where(self.tracking.c.consumer == consumer))
        if self.parked.name in inspect(conn).get_table_names(schema=self.schema):
            conn.execute(delete(self.parked).where(self.parked.c.consumer == consumer))

    def _record_version(self, conn: Connection, declared: DeclaredProjection) -> None:
        conn.execute(delete(self.versions).where(self.versions.c.projection == declared.name))
        conn.execute(
            self.versions.insert().values(projection=declared.name, version=declared.version)
        )

    async def drop_and_recreate(self, name: str) -> None:
        """The tables of projection ``name`` dropped and created empty, its tracking rows and
        parked events forgotten and its version recorded, in one transaction: what ``start``
        does for a stale projection, on demand (``fordra projections rebuild``)."""
        declared = self._declared[name]

        def recreate(conn: Connection) -> None:
            # The rows first, so that the DDL runs inside the transaction on SQLite too.
            self._forget(conn, name)
            for table in reversed(declared.tables):
                table.drop(conn, checkfirst=True)
            for table in declared.tables:
                table.create(conn)
            self._record_version(conn, declared)

        async with self.write_lock, self.engine.begin() as conn:
            await conn.run_sync(recreate)

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
        self.tables = list(db.declare(projection).tables)
        # The progress of a rebuild the start decided (see ``_log_rebuild``).
        self._rebuild_logged_at: float | None = None
        self._rebuild_live: set[str] = set()

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
        if self.projection.name in self.db.rebuilt_on_start:
            self._log_rebuild(upstream, fresh[-1])
        return fresh[-1].position

    def _log_rebuild(self, upstream: str, last: Envelope) -> None:
        """The progress of a rebuild the start decided, in the log: a line at most every 10 s
        while the bus replays events recorded before the start, and one when it reaches an
        event recorded after it (the projection then follows that log live)."""
        if upstream in self._rebuild_live:
            return
        started, recorded = self.db.started_at, last.recorded_at
        aware = recorded is not None and recorded.tzinfo is not None
        if started is not None and recorded is not None and aware and recorded >= started:
            self._rebuild_live.add(upstream)
            log.info(
                "projection %s: rebuilt from %s up to the start, position %d; following it",
                self.projection.name,
                upstream,
                last.position,
            )
            return
        now = time.monotonic()
        if self._rebuild_logged_at is None or now - self._rebuild_logged_at >= 10:
            self._rebuild_logged_at = now
            log.info(
                "projection %s: rebuilding from zero, %s at position %d",
                self.projection.name,
                upstream,
                last.position,
            )

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

    async def rebuild(
        self,
        stores: Mapping[str, EventStore],
        on_progress: Callable[[str, int, int], Awaitable[None] | None] | None = None,
        *,
        page: int = 1000,
    ) -> int:
        """Drop this projection's tables and rebuild them from zero from each log it follows,
        ``on_progress(upstream, applied, head)`` after each page; answers the events read.

        Run it with the bus that feeds this projection stopped (``fordra projections rebuild``):
        a runner elsewhere would race with it (its tracking refuses a double, so nothing is
        applied twice, but one of the two keeps failing until the other is done)."""
        await self.db.drop_and_recreate(self.projection.name)
        total = 0
        for upstream in self.projection.upstreams:
            store = stores[upstream]
            head = await store.max_position()
            applied = 0
            position = 0
            while position < head:
                events = await store.read_log(position, page)
                if not events:
                    break
                await self.handle(upstream, events)
                position = events[-1].position
                applied += len(events)
                if on_progress is not None:
                    result = on_progress(upstream, position, head)
                    if result is not None:
                        await result
            total += applied
            if on_progress is not None and head == 0:
                result = on_progress(upstream, 0, 0)
                if result is not None:
                    await result
        return total
