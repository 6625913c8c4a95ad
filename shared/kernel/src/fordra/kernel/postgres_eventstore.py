"""``PostgresEventStore``: the distributed engine's event store, one schema per bounded context.

SQLAlchemy 2 async with asyncpg. Like the SQLite store, appends go through one writer task with
*group commit*: the appends waiting when the writer is free share one transaction. The group is
checked at once (one ``= ANY`` query reads the version of every stream it appends to; each append
is checked as if the ones before it were written, and one that fails fails alone) and the events
of the accepted appends go in with one ``COPY`` inside that transaction. Should the ``COPY`` still
hit a unique constraint, the group is written again append by append, each in a savepoint, and
only the append at fault fails. What an append means (its checks in their order, the stored
envelopes, answering the callers and waking the followers) is written once in
``fordra.kernel.appending``; this module holds the SQL, the transaction and the mapping of
asyncpg's errors.

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

from fordra.kernel.appending import (
    GroupFacts,
    LogHead,
    QueuedAppend,
    accept_group,
    answer,
    take_group,
)
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
# What a connection that died while idle raises at its next statement.
_CONNECTION_LOST = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


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


def _one_append_at_fault(exc: Exception) -> bool:
    """Whether ``exc`` from writing a group may be one append's fault (a row refused, an encoding
    failed), not the connection's or the lock's."""
    if isinstance(exc, _CONNECTION_LOST):
        return False
    if isinstance(exc, asyncpg.PostgresError):
        return isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError)
    return True


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
        self._writer_conn: asyncpg.Connection | None = None
        self._listener: asyncpg.Connection | None = None
        self._relisten_at = 0.0
        self._head = LogHead()
        self._channel = f"fordra_events_{self.schema}"
        s = self.schema
        cols = ", ".join(ROW_COLUMNS)
        # Statements built from constants and the schema name we derive: no input reaches them.
        self._sql = {
            "max": f"SELECT COALESCE(MAX(position), 0) FROM {s}.events",
            "version": f"SELECT COALESCE(MAX(version), 0) FROM {s}.events WHERE stream_id = $1",
            "begin": f"BEGIN; SET LOCAL lock_timeout = {int(self._options.lock_timeout_ms)}; "
            f"LOCK TABLE {s}.events IN EXCLUSIVE MODE",
            # The last position (stream NULL) and the version of each stream that has events.
            "facts": f"SELECT NULL, COALESCE(MAX(position), 0) FROM {s}.events UNION ALL "
            f"SELECT stream_id, MAX(version) FROM {s}.events "
            "WHERE stream_id = ANY($1::text[]) GROUP BY stream_id",
            "idem_many": f"SELECT key, fingerprint, response FROM {s}.idempotency "
            "WHERE key = ANY($1::text[])",
            "track_many": f"SELECT t.consumer, t.upstream, t.position FROM {s}.tracking t "
            "JOIN unnest($1::text[], $2::text[]) AS w(consumer, upstream) "
            "USING (consumer, upstream)",
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
        try:
            # The writer's own connection, opened now: the first append pays no connect.
            await self._writer_connection()
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
        if self._writer_conn is not None:
            with contextlib.suppress(Exception):
                await self._writer_conn.close(timeout=2)
            self._writer_conn = None
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
            try:
                position = await self._in_transaction(group, one_by_one=False)
            except Exception as exc:
                if not _one_append_at_fault(exc):
                    raise
                # Under the table lock a version cannot move, so this is a row the table refuses
                # (an event id stored twice, a value too long), one the codec could not encode as
                # it was written, or a writer that skipped the lock: find the append at fault by
                # writing the group again, each append in a savepoint of its own.
                position = await self._in_transaction(group, one_by_one=True)
            head.move_to(position)
        except Exception as exc:  # noqa: BLE001 - the writer must outlive a lost connection
            failure = StoreUnavailable(f"event store {self.context!r}: {exc}")
            for job in group:
                job.result = failure
        answer(group, head)

    async def _in_transaction(self, group: list[QueuedAppend], *, one_by_one: bool) -> int:
        """Write ``group`` in one transaction under the table lock; answer the last position.
        Statements without parameters share a round trip (the simple query protocol): the
        transaction's start with the lock, and the notification with the commit."""
        pg = await self._writer_connection()
        try:
            try:
                await pg.execute(self._sql["begin"])
            except _CONNECTION_LOST:
                # What the pool's pre-ping did: a connection found dead before anything was
                # written (a server restart) is replaced once.
                self._drop_writer_connection()
                pg = await self._writer_connection()
                await pg.execute(self._sql["begin"])
            recorded = datetime.now(UTC)
            if one_by_one:
                position = await self._write_one_by_one(pg, group, recorded)
            else:
                position = await self._write_group(pg, group, recorded)
            # The channel is derived from the schema name, the payload an int: no input.
            await pg.execute(f"SELECT pg_notify('{self._channel}', '{position}'); COMMIT")
        except BaseException:
            # Also after a failed BEGIN … LOCK (a lock timeout): its transaction is open and
            # aborted, and the next group must not start inside it.
            try:
                await pg.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - a broken connection is replaced next time
                self._drop_writer_connection()
            raise
        return position

    async def _writer_connection(self) -> asyncpg.Connection:
        # The writer holds one connection of its own: no pool checkout per group.
        if self._writer_conn is None or self._writer_conn.is_closed():
            self._writer_conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=10)
        return self._writer_conn

    def _drop_writer_connection(self) -> None:
        if self._writer_conn is not None:
            self._writer_conn.terminate()
            self._writer_conn = None

    async def _read_facts(
        self, pg: asyncpg.Connection, group: Sequence[QueuedAppend], *, new_streams: bool
    ) -> tuple[int, GroupFacts]:
        """The last position and what the group is checked against: one query per table,
        whatever the group's size (the last position rides with the versions)."""
        streams, keys, tracks = GroupFacts.wanted(group, new_streams=new_streams)
        position = 0
        versions: dict[str, int] = {}
        for stream_id, value in await pg.fetch(self._sql["facts"], streams):
            if stream_id is None:
                position = value
            else:
                versions[stream_id] = value
        first_answers: dict[str, IdempotencyRecord] = {}
        if keys:
            for key, fingerprint, response in await pg.fetch(self._sql["idem_many"], keys):
                first_answers[key] = IdempotencyRecord(key, fingerprint, bytes(response))
        tracked: dict[tuple[str, str], int] = {}
        if tracks:
            rows = await pg.fetch(
                self._sql["track_many"], [c for c, _ in tracks], [u for _, u in tracks]
            )
            tracked = {(c, u): p for c, u, p in rows}
        return position, GroupFacts(versions, first_answers, tracked)

    async def _write_group(
        self,
        pg: asyncpg.Connection,
        group: Sequence[QueuedAppend],
        recorded: datetime,
        *,
        new_streams: bool = False,
    ) -> int:
        """Check the whole group against one read of its facts, then write the accepted jobs'
        events with one COPY and their idempotency and tracking rows; answer the last position.
        A job that fails its checks writes nothing and fails alone."""
        position, facts = await self._read_facts(pg, group, new_streams=new_streams)
        write = accept_group(group, facts, position, recorded)
        accepted = write.jobs
        if write.events:
            await pg.copy_records_to_table(
                "events",
                schema_name=self.schema,
                columns=ROW_COLUMNS,
                records=write.rows(self.codec, recorded),
            )
        recorded_text = recorded.isoformat()
        idempotency = [
            (j.idempotency.key, j.idempotency.fingerprint, j.idempotency.response, recorded_text)
            for j in accepted
            if j.idempotency is not None
        ]
        if idempotency:
            await pg.executemany(self._sql["idem_put"], idempotency)
        tracking = [
            (j.tracking.consumer, j.tracking.upstream, j.tracking.position)
            for j in accepted
            if j.tracking is not None
        ]
        if tracking:
            await pg.executemany(self._sql["track_put"], tracking)
        return write.position

    async def _write_one_by_one(
        self, pg: asyncpg.Connection, group: Sequence[QueuedAppend], recorded: datetime
    ) -> int:
        position = 0
        for job in group:
            await pg.execute("SAVEPOINT job")
            try:
                position = await self._write_group(pg, [job], recorded, new_streams=True)
            except asyncpg.UniqueViolationError as exc:
                await pg.execute("ROLLBACK TO SAVEPOINT job")
                job.result = (
                    job.lost_race()
                    if "stream" in (exc.constraint_name or "")
                    else StoreUnavailable(f"integrity error: {exc}")
                )
            except (asyncpg.PostgresConnectionError, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - one bad append fails alone
                await pg.execute("ROLLBACK TO SAVEPOINT job")
                job.result = exc
            else:
                await pg.execute("RELEASE SAVEPOINT job")
        if position == 0:  # every append failed: the log did not move
            position = await pg.fetchval(self._sql["max"])
        return position

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
