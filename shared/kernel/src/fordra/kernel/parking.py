"""Parking: how a consumer survives an event it cannot apply (a poison event).

Both buses deliver through ``deliver``: a batch is retried a few times; when it keeps failing it is
applied one event at a time, and an event that still fails is *parked*: a durable record (consumer,
upstream, position, event id and type, stream, error, when) is written and the consumer's tracking
moves past it, so that the events behind it, and every other consumer, go on and ``settle`` no
longer waits for it. A failure that may pass by itself (the database or the network unreachable, a
lock or timeout, a ``ConcurrencyConflict``, a ``TrackingRace``) is never parked: ``deliver`` raises
it and the bus retries the batch for as long as it takes, as before.

Where the records live: in the read-model database (``ReadModelDatabase.parked``). It is the one
database every process of every layout opens: the embedded engine's single process, and in the
distributed layout (``fordra serve NAME``, one process per service) the projections process that
parks a projection's event, a context's process that parks a process manager's event, and the API
process that lists them, answers ``/healthz`` and replays them all reach the same ``projections``
schema. The record is written first and the tracking moved afterwards (a process manager's tracking
is in its context's store, another database, so one transaction is not possible for every consumer,
and one way for all is simpler): a crash between the two parks the event again on restart, which
changes nothing (one record per consumer, upstream and position). Kafka's dead-letter topic was
dropped for this: nobody could list or replay it, and the embedded engine had none.

Replay (``replay_parked``) applies the one parked event again, out of order and without moving the
consumer's tracking back, once the code that failed is fixed. A projection applies it and marks the
record replayed in one transaction; a process manager appends its reaction together with a tracking
row of its own for that one event (consumer ``process:NAME#replay@POSITION``), so that the store
refuses a second replay of it, then marks the record. A replay that fails again leaves the record
parked with the new error. A replayed record is never applied again. Rebuilding a projection
forgets its records with its tracking: the replay from position 0 parks again what still fails.

The error kept is the exception's type and the first line of its message, cut short, with SQL and
its parameters removed and anything shaped like a personnummer masked: events carry personal data
(sealed in the store, clear once decoded) and a driver's message may quote the values it refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict, FordraError, NotFound, StoreUnavailable
from fordra.kernel.eventstore import EventStore
from fordra.kernel.projection import Consumer, ReadModelDatabase, TrackingRace, unseen
from fordra.kernel.telemetry import Telemetry

log = logging.getLogger(__name__)

PARKED = "parked"
REPLAYED = "replayed"

# Failures that may pass by themselves: retried for as long as it takes, never parked.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError and friends
    TimeoutError,
    asyncio.TimeoutError,
    ConcurrencyConflict,
    TrackingRace,
    StoreUnavailable,
    sqlite3.OperationalError,  # "database is locked", a disk that is full or gone
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the connection pool's
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TransactionRollbackError,  # serialization failures and deadlocks
    asyncpg.CannotConnectNowError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,  # the server shutting down
)

_ERROR_LENGTH = 300
# A personnummer or samordningsnummer, with or without century and separator.
_PERSONNUMMER = re.compile(r"\b(?:\d{2})?\d{6}[-+]?\d{4}\b")


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` or what caused it is a failure of the infrastructure, not of the event."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe_error(exc: BaseException) -> str:
    """The type and the first line of the message, without SQL, parameters or personnummer."""
    cause = exc.orig if isinstance(exc, sa_exc.StatementError) and exc.orig is not None else exc
    message = str(cause).split("\n", 1)[0]
    for marker in ("[SQL:", "[parameters:", "DETAIL:"):
        message = message.split(marker, 1)[0]
    message = _PERSONNUMMER.sub("[masked]", message.strip())
    text = f"{type(cause).__name__}: {message}" if message else type(cause).__name__
    return text[:_ERROR_LENGTH]


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    id: int
    consumer: str
    upstream: str
    position: int
    event_id: str
    event_type: str
    stream_id: str
    error: str
    parked_at: datetime
    state: str
    replayed_at: datetime | None
    last_replay_error: str | None


class ParkedEvents:
    """The parked-event records of a ``ReadModelDatabase``."""

    def __init__(self, db: ReadModelDatabase) -> None:
        self.db = db
        self.table = db.parked

    async def park(self, consumer: str, upstream: str, env: Envelope, error: BaseException) -> None:
        """Record ``env`` as parked for ``consumer``. Parking it again (a crash before the
        tracking moved, a rebuild that failed on it again) keeps one record, parked again."""
        values = {
            "consumer": consumer,
            "upstream": upstream,
            "position": env.position,
            "event_id": env.event_id,
            "event_type": env.event_type,
            "stream_id": env.stream_id,
            "error": describe_error(error),
            "parked_at": datetime.now(UTC),
            "state": PARKED,
            "replayed_at": None,
        }
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(self.table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["consumer", "upstream", "position"],
            set_={k: v for k, v in values.items() if k in ("error", "state", "replayed_at")},
        )
        async with self.db.write_lock, self.db.engine.begin() as conn:
            await conn.execute(stmt)

    async def all(self, *, state: str | None = None) -> list[ParkedEvent]:
        query = select(self.table).order_by(self.table.c.id)
        if state is not None:
            query = query.where(self.table.c.state == state)
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [ParkedEvent(**row) for row in rows]

    async def get(self, parked_id: int) -> ParkedEvent:
        async with self.db.engine.connect() as conn:
            row = (
                (await conn.execute(select(self.table).where(self.table.c.id == parked_id)))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound("parked event", str(parked_id))
        return ParkedEvent(**row)

    async def pending(self) -> dict[str, int]:
        """How many events each consumer has parked and not yet replayed."""
        t = self.table
        query = select(t.c.consumer, func.count()).where(t.c.state == PARKED).group_by(t.c.consumer)
        async with self.db.engine.connect() as conn:
            return {str(c): int(n) for c, n in (await conn.execute(query)).all()}

    async def claim(self, conn: AsyncConnection, parked_id: int) -> bool:
        """Mark the record replayed inside ``conn``'s transaction; False when it already was."""
        t = self.table
        result = await conn.execute(
            update(t)
            .where(t.c.id == parked_id, t.c.state == PARKED)
            .values(state=REPLAYED, replayed_at=datetime.now(UTC), last_replay_error=None)
        )
        return bool(result.rowcount == 1)

    async def mark_replayed(self, parked_id: int) -> bool:
        async with self.db.write_lock, self.db.engine.begin() as conn:
            return await self.claim(conn, parked_id)

    async def replay_failed(self, parked_id: int, error: BaseException) -> None:
        t = self.table
        async with self.db.write_lock, self.db.engine.begin() as conn:
            await conn.execute(
                update(t).where(t.c.id == parked_id).values(last_replay_error=describe_error(error))
            )


class Replayable(Consumer, Protocol):
    async def replay(
        self, upstream: str, event: Envelope, parked: ParkedEvents, parked_id: int
    ) -> bool:
        """Apply ``event`` alone, out of order, without moving the tracking, and mark the parked
        record replayed; False (and no effect) when it was replayed before."""
        ...


async def deliver(
    consumer: Consumer,
    upstream: str,
    events: Sequence[Envelope],
    *,
    parking: ParkedEvents | None,
    attempts: int = 3,
    retry_delay: float = 0.2,
    telemetry: Telemetry | None = None,
) -> int:
    """Hand ``events`` to ``consumer`` and answer its new tracked position, parking what it
    cannot apply (see the module docstring). Raises a transient failure for the bus to retry;
    without ``parking`` every failure is raised, and the bus retries it for ever. With
    ``telemetry`` every attempt is traced and counted (``Telemetry.handling_batch``)."""

    async def handle(batch: Sequence[Envelope]) -> int:
        if telemetry is None:
            return await consumer.handle(upstream, batch)
        with telemetry.handling_batch(consumer.name, upstream, batch):
            return await consumer.handle(upstream, batch)

    for attempt in range(1, attempts + 1):
        try:
            return await handle(events)
        except Exception as exc:
            if parking is None or is_transient(exc):
                raise
            log.warning("%s<-%s: batch failed (attempt %d)", consumer.name, upstream, attempt)
            await asyncio.sleep(retry_delay * attempt)
    assert parking is not None
    # The batch keeps failing: apply it one event at a time and park what still fails.
    position = await consumer.position(upstream)
    for env in unseen(events, position):
        error: Exception | None = None
        for attempt in range(1, attempts + 1):
            try:
                position = await handle([env])
                error = None
                break
            except Exception as exc:
                if is_transient(exc):
                    raise
                error = exc
                await asyncio.sleep(retry_delay * attempt)
        if error is not None:
            await parking.park(consumer.name, upstream, env, error)
            await consumer.skip(upstream, env.position)
            position = max(position, env.position)
            log.error(
                "%s<-%s: event %s (%s at position %d) parked: %s",
                consumer.name,
                upstream,
                env.event_id,
                env.event_type,
                env.position,
                describe_error(error),
            )
    return position


class ReplayFailed(FordraError):
    def __init__(self, parked: ParkedEvent, error: str) -> None:
        super().__init__(f"the replay of parked event {parked.id} failed again: {error}")
        self.parked = parked
        self.error = error


async def replay_parked(
    parked: ParkedEvents,
    parked_id: int,
    consumers: Mapping[str, Replayable],
    stores: Mapping[str, EventStore],
) -> tuple[ParkedEvent, bool]:
    """Replay one parked event; answer the record afterwards and whether this call applied it
    (False: it had been replayed before, and nothing changed). Raises ``ReplayFailed``."""
    record = await parked.get(parked_id)
    if record.state != PARKED:
        return record, False
    consumer = consumers.get(record.consumer)
    store = stores.get(record.upstream)
    if consumer is None or store is None:
        raise ReplayFailed(record, f"no consumer {record.consumer!r} on {record.upstream!r} here")
    found = await store.read_log(record.position - 1, 1)
    if not found or found[0].event_id != record.event_id:
        raise ReplayFailed(record, f"event {record.event_id} is no longer at {record.position}")
    try:
        applied = await consumer.replay(record.upstream, found[0], parked, parked_id)
    except Exception as exc:
        await parked.replay_failed(parked_id, exc)
        log.warning("replay of parked event %d failed: %s", parked_id, describe_error(exc))
        raise ReplayFailed(record, describe_error(exc)) from exc
    return await parked.get(parked_id), applied
