"""``PostgresEventStore``: the distributed engine's event store, one schema per bounded context.

SQLAlchemy 2 async with asyncpg. Like the SQLite store, appends go through one writer task with
*group commit*: the appends waiting when the writer is free share one transaction, each inside a
savepoint of its own. What an append means (its checks in their order, the stored envelopes,
answering the callers and waking the followers) is written once in ``fordra.kernel.appending``;
this module holds the SQL, the transaction and the mapping of asyncpg's errors.

No reader may skip an event that commits late. PostgreSQL hands out sequence values at insert time
and transactions commit in any order, so a reader could see position 11 committed while 10 is
still in flight, move past 10, and never see it. We prevent the gap when positions are handed out
(as eventsourcing's ``postgres.py::_lock_table`` does): every appending transaction first takes the
events table in EXCLUSIVE mode (plain SELECTs still run; only writers queue) with a lock timeout,
and the next position is ``max(position) + 1`` read under that lock. Writers in other processes
(the API and the service itself both append to a context's store) queue on the same lock.

New events are announced with ``NOTIFY`` on commit, so followers in any process wake at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fordra.kernel.appending import LogHead, QueuedAppend, StoredFacts, answer, take_group
from fordra.kernel.codec import ROW_COLUMNS, EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import StoreUnavailable
from fordra.kernel.eventstore import (
    CONTENT_CLAIM_PREFIX,
    IDEMPOTENCY_KEY_PREFIX,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)
from fordra.kernel.sql_schema import event_store_metadata

log = logging.getLogger(__name__)

_SCHEMA_LOCK = 0x466F72647261  # advisory lock key: one process creates schemas at a time
# What a lost or refused connection raises: asyncpg's own errors when it connects, SQLAlchemy's
# DBAPIError (wrapping asyncpg's) once a pooled connection dies under a statement.
_UNAVAILABLE = (OSError, asyncpg.PostgresError, DBAPIError)


@dataclass(frozen=True, slots=True)
class PostgresOptions:
    lock_timeout_ms: int = 10_000  # an append waits at most this long for the write lock
    max_group: int = 2000  # events per group commit, at most
    pool_size: int = 5


def schema_for(context: str) -> str:
    schema = context.replace("-", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", schema):
        raise ValueError(f"context name {context!r} cannot name a PostgreSQL schema")
    return schema


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg wants, from an SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresEventStore(EventStore):
    def __init__(
        self,
        url: str,
        context: str,
        codec: EnvelopeCodec,
        options: PostgresOptions | None = None,
        *,
        schema: str | None = None,
    ) -> None:
        self.context = context
        self.url = url
        # One schema per context; tests pass their own to get a fresh, empty store.
        self.schema = schema_for(schema or context)
        self.codec = codec
        self._options = options or PostgresOptions()
        self._engine: AsyncEngine | None = None
        self._queue: asyncio.Queue[QueuedAppend | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._relisten_at = 0.0
        self._head = LogHead()
        self._channel = f"fordra_events_{self.schema}"
        s = self.schema
        cols = ", ".join(ROW_COLUMNS)
        marks = ", ".join(f"${i}" for i in range(1, len(ROW_COLUMNS) + 1))
        # Statements built from constants and the schema name we derive: no input reaches them.
        self._sql = {
            "insert": f"INSERT INTO {s}.events ({cols}) VALUES ({marks})",
            "lock": f"LOCK TABLE {s}.events IN EXCLUSIVE MODE",
            "max": f"SELECT COALESCE(MAX(position), 0) FROM {s}.events",
            "version": f"SELECT COALESCE(MAX(version), 0) FROM {s}.events WHERE stream_id = $1",
            "idem_get": f"SELECT fingerprint, response FROM {s}.idempotency WHERE key = $1",
            "idem_put": f"INSERT INTO {s}.idempotency (key, fingerprint, response, recorded_at) "
            "VALUES ($1, $2, $3, $4)",
            "track_get": f"SELECT position FROM {s}.tracking WHERE consumer = $1 AND upstream = $2",
            "track_put": f"INSERT INTO {s}.tracking (consumer, upstream, position) "
            "VALUES ($1, $2, $3) ON CONFLICT (consumer, upstream) "
            "DO UPDATE SET position = excluded.position",
            "read_stream": f"SELECT {cols} FROM {s}.events WHERE stream_id = :s AND version > :v "
            "ORDER BY version",
            "read_log": f"SELECT {cols} FROM {s}.events WHERE position > :p "
            "ORDER BY position LIMIT :n",
        }

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        return self._engine

    async def start(self) -> None:
        self._engine = create_async_engine(
            self.url, pool_size=self._options.pool_size, pool_pre_ping=True
        )
        metadata = event_store_metadata(self.schema)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})"))
                await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {self.schema}"))
                await conn.run_sync(metadata.create_all)
                # Rows of an older format may hold personal data and are never looked up again.
                await conn.execute(
                    text(f"DELETE FROM {self.schema}.idempotency WHERE key NOT LIKE :p"),
                    {"p": IDEMPOTENCY_KEY_PREFIX + "%"},
                )
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"event store {self.context!r}: {exc}") from exc
        self._head = LogHead(await self.max_position())
        self._queue = asyncio.Queue()
        await self._listen()
        self._writer_task = asyncio.create_task(self._writer(), name=f"pg-writer-{self.context}")

    async def _listen(self) -> None:
        self._listener = None
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(asyncpg_dsn(self.url), timeout=5)
            await listener.add_listener(self._channel, self._on_notify)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            # Without notifications followers still poll with their idle timeout.
            log.warning("no LISTEN connection for %s; followers will poll", self.context)
            if listener is not None:
                listener.terminate()
            return
        self._listener = listener

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._head.move_to(int(payload))
        self._head.wake()

    async def close(self) -> None:
        if self._writer_task is not None:
            await self._queue.put(None)
            with contextlib.suppress(Exception):
                await self._writer_task
            self._writer_task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # -- writes ----------------------------------------------------------------------------------

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        if self._writer_task is None or self._writer_task.done():
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        job = QueuedAppend.queue(self.codec, appends, tracking, idempotency)
        await self._queue.put(job)
        return await job.future

    async def _writer(self) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                return
            group, stop = take_group(job, self._queue.get_nowait, self._options.max_group)
            await self._commit_group(group)
            if stop:
                return

    async def _commit_group(self, group: list[QueuedAppend]) -> None:
        head = self._head
        try:
            async with self.engine.connect() as sa_conn:
                raw = await sa_conn.get_raw_connection()
                pg: asyncpg.Connection = raw.driver_connection
                async with pg.transaction():
                    await pg.execute(
                        f"SET LOCAL lock_timeout = {int(self._options.lock_timeout_ms)}"
                    )
                    await pg.execute(self._sql["lock"])
                    position: int = await pg.fetchval(self._sql["max"])
                    recorded = datetime.now(UTC)
                    for job in group:
                        try:
                            async with pg.transaction():  # a savepoint per append
                                job.result = await self._apply(pg, job, position, recorded)
                            position += job.size
                        except asyncpg.UniqueViolationError as exc:
                            job.result = (
                                job.lost_race()
                                if "stream" in (exc.constraint_name or "")
                                else StoreUnavailable(f"integrity error: {exc}")
                            )
                        except (asyncpg.PostgresConnectionError, OSError):
                            raise
                        except Exception as exc:  # noqa: BLE001 - one bad append fails alone
                            job.result = exc
                    await pg.execute("SELECT pg_notify($1, $2)", self._channel, str(position))
            head.move_to(position)
        except Exception as exc:  # noqa: BLE001 - the writer must outlive a lost connection
            failure = StoreUnavailable(f"event store {self.context!r}: {exc}")
            for job in group:
                job.result = failure
        answer(group, head)

    async def _apply(
        self, pg: asyncpg.Connection, job: QueuedAppend, position: int, recorded: datetime
    ) -> list[Envelope]:
        first: IdempotencyRecord | None = None
        tracked: int | None = None
        if job.idempotency is not None:
            row = await pg.fetchrow(self._sql["idem_get"], job.idempotency.key)
            if row is not None:
                first = IdempotencyRecord(job.idempotency.key, row[0], bytes(row[1]))
        if job.tracking is not None:
            tracked = await pg.fetchval(
                self._sql["track_get"], job.tracking.consumer, job.tracking.upstream
            )
        versions = [await pg.fetchval(self._sql["version"], a.stream_id) for a in job.appends]
        stored = job.accept(StoredFacts(first, tracked, versions), position, recorded)
        recorded_text = recorded.isoformat()
        if job.rows:
            await pg.executemany(self._sql["insert"], job.rows)
        if job.idempotency is not None:
            await pg.execute(
                self._sql["idem_put"],
                job.idempotency.key,
                job.idempotency.fingerprint,
                job.idempotency.response,
                recorded_text,
            )
        if job.tracking is not None:
            await pg.execute(
                self._sql["track_put"],
                job.tracking.consumer,
                job.tracking.upstream,
                job.tracking.position,
            )
        return stored

    # -- reads -----------------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[Any]:
        try:
            async with self.engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"event store {self.context!r}: {exc}") from exc

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = await self._fetch(self._sql["read_stream"], {"s": stream_id, "v": after_version})
        return [self.codec.from_row(r) for r in rows]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        found: dict[str, list[Envelope]] = {stream_id: [] for stream_id in stream_ids}
        ids = list(found)
        cols = ", ".join(ROW_COLUMNS)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = await self._fetch(
                f"SELECT {cols} FROM {self.schema}.events WHERE stream_id = ANY(:ids) "
                "ORDER BY stream_id, version",
                {"ids": chunk},
            )
            for row in rows:
                env = self.codec.from_row(row)
                found[env.stream_id].append(env)
        return found

    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        rows = await self._fetch(self._sql["read_log"], {"p": after_position, "n": limit})
        return [self.codec.from_row(r) for r in rows]

    async def stream_version(self, stream_id: str) -> int:
        sql = self._sql["version"].replace("$1", ":s")
        return int((await self._fetch(sql, {"s": stream_id}))[0][0])

    async def max_position(self) -> int:
        return int((await self._fetch(self._sql["max"], {}))[0][0])

    async def tracked_position(self, consumer: str, upstream: str) -> int:
        sql = self._sql["track_get"].replace("$1", ":c").replace("$2", ":u")
        rows = await self._fetch(sql, {"c": consumer, "u": upstream})
        return int(rows[0][0]) if rows else 0

    async def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        rows = await self._fetch(self._sql["idem_get"].replace("$1", ":k"), {"k": key})
        return IdempotencyRecord(key, rows[0][0], bytes(rows[0][1])) if rows else None

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        # recorded_at is the UTC ISO text the writer stores: compared as text, in the same format.
        try:
            async with self.engine.begin() as conn:
                deleted = await conn.execute(
                    text(
                        f"DELETE FROM {self.schema}.idempotency "
                        "WHERE recorded_at < :cutoff AND key NOT LIKE :claim"
                    ),
                    {
                        "cutoff": cutoff.astimezone(UTC).isoformat(),
                        "claim": CONTENT_CLAIM_PREFIX + "%",
                    },
                )
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"event store {self.context!r}: {exc}") from exc
        return int(deleted.rowcount)

    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        if self._head.position > after_position:
            return
        if self._listener is None or self._listener.is_closed():
            # The LISTEN connection is gone (a server restart, a cut connection): without it only
            # the timeout would ever wake a follower in another process. Listen again (at most
            # every few seconds) and let the caller read the log once: notifications sent
            # meanwhile are lost.
            now = asyncio.get_running_loop().time()
            if now >= self._relisten_at:
                self._relisten_at = now + 2.0
                await self._listen()
                if self._listener is not None:
                    return
        # The NOTIFY of our own append arrives after the append has answered, and wakes the head
        # for a position the caller may have read: ``wait_above`` then waits again.
        await self._head.wait_above(after_position, timeout)
