"""``SqliteEventStore``: the embedded engine's event store, one SQLite file per bounded context.

Reads go through SQLAlchemy's async engine (aiosqlite). Appends go through one writer thread with
a plain DB-API connection from SQLAlchemy's sync engine and *group commit*: every append waiting
when the writer is free joins one transaction, each inside a savepoint of its own (so one conflict
fails only its own append), and one fsync covers them all. Measured on our 2-core machines the async
driver reaches about a fortieth of a plain insert at batch 1; see docs/performance.md.

What an append means (its checks in their order, the stored envelopes, answering the callers and
waking the followers) is written once in ``fordra.kernel.appending``; this module holds the SQL,
the transaction and the mapping of ``sqlite3``'s errors.

Late commits cannot be skipped: SQLite admits one writer at a time (``BEGIN IMMEDIATE``) and the
position is handed out inside that lock as ``max(position) + 1``, so positions become visible in
the order they were handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fordra.kernel.appending import LogHead, QueuedAppend, StoredFacts, answer, take_group
from fordra.kernel.codec import ROW_COLUMNS, EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import FordraError, StoreUnavailable
from fordra.kernel.eventstore import (
    CONTENT_CLAIM_PREFIX,
    IDEMPOTENCY_KEY_PREFIX,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)
from fordra.kernel.private_files import private_file
from fordra.kernel.sql_schema import event_store_metadata

# Built from the constant column list: no input reaches these statements.
_PLACEHOLDERS = ", ".join("?" for _ in ROW_COLUMNS)
_INSERT = f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) VALUES ({_PLACEHOLDERS})"
_SELECT_COLUMNS = ", ".join(ROW_COLUMNS)


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    """File settings; the benchmark's references use the same ones."""

    synchronous: str = "FULL"  # durability: a committed payment survives a power cut
    journal_mode: str = "WAL"  # readers never block the writer
    busy_timeout_ms: int = 5000
    max_group: int = 2000  # events per group commit, at most
    wal_autocheckpoint_pages: int = 10_000  # about 40 MB of WAL between checkpoints


def apply_pragmas(conn: sqlite3.Connection, options: SqliteOptions) -> None:
    conn.execute(f"PRAGMA journal_mode={options.journal_mode}")
    conn.execute(f"PRAGMA synchronous={options.synchronous}")
    # Savepoint journals only serve ROLLBACK TO, and a group is bounded: keep them in memory.
    conn.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint less often than every 1,000 pages: on a large file a checkpoint otherwise runs
    # inside every second or third commit. Durability is the same (WAL + synchronous).
    conn.execute(f"PRAGMA wal_autocheckpoint={options.wal_autocheckpoint_pages}")
    conn.execute(f"PRAGMA busy_timeout={options.busy_timeout_ms}")
    conn.execute("PRAGMA foreign_keys=ON")


class SqliteEventStore(EventStore):
    def __init__(
        self,
        path: Path | str,
        context: str,
        codec: EnvelopeCodec,
        options: SqliteOptions | None = None,
    ) -> None:
        self.context = context
        self.path = Path(path)
        self.codec = codec
        self._options = options or SqliteOptions()
        self._sync_engine: Engine | None = None
        self._engine: AsyncEngine | None = None
        self._queue: queue.SimpleQueue[QueuedAppend | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._head: LogHead | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        private_file(self.path)
        options = self._options

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            apply_pragmas(dbapi_conn, options)

        self._sync_engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self._sync_engine, "connect", on_connect)
        await asyncio.to_thread(event_store_metadata().create_all, self._sync_engine)
        await asyncio.to_thread(self._delete_legacy_idempotency, self._sync_engine)
        self._engine = create_async_engine(f"sqlite+aiosqlite:///{self.path}")
        event.listen(self._engine.sync_engine, "connect", on_connect)
        self._head = LogHead(await self.max_position())
        self._thread = threading.Thread(
            target=self._writer, name=f"sqlite-writer-{self.context}", daemon=True
        )
        self._thread.start()

    @staticmethod
    def _delete_legacy_idempotency(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM idempotency WHERE key NOT LIKE :p"),
                {"p": IDEMPOTENCY_KEY_PREFIX + "%"},
            )

    async def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None

    # -- writes ----------------------------------------------------------------------------------

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        if self._thread is None:
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        job = QueuedAppend.queue(self.codec, appends, tracking, idempotency)
        self._queue.put(job)
        return await job.future

    def _writer(self) -> None:
        assert self._sync_engine is not None
        raw = self._sync_engine.raw_connection()
        conn: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        conn.isolation_level = None  # we say BEGIN and COMMIT ourselves
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                group, stop = take_group(job, self._queue.get_nowait, self._options.max_group)
                self._commit_group(conn, group)
                if stop:
                    return
        finally:
            raw.close()

    def _commit_group(self, conn: sqlite3.Connection, group: list[QueuedAppend]) -> None:
        head = self._head
        assert head is not None  # started before the writer
        # A job alone needs no savepoint: on failure the whole transaction is its own to roll
        # back. Savepoints cost a journal of their own (measured in docs/performance.md).
        alone = len(group) == 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            (position,) = conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
            recorded = datetime.now(UTC)
            recorded_text = recorded.isoformat()
            for job in group:
                if not alone:
                    conn.execute("SAVEPOINT job")
                try:
                    job.result = self._apply(conn, job, position, recorded, recorded_text)
                    position += job.size
                    if not alone:
                        conn.execute("RELEASE job")
                except sqlite3.OperationalError:
                    raise  # the connection itself is in trouble: fail the whole group below
                except Exception as exc:  # noqa: BLE001 - one bad append must not stop the writer
                    if not alone:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                    job.result = (
                        _integrity_error(exc, job)
                        if isinstance(exc, sqlite3.IntegrityError)
                        else exc
                    )
            if alone and isinstance(group[0].result, BaseException):
                conn.execute("ROLLBACK")
            else:
                conn.execute("COMMIT")
                head.move_to(position)
        except Exception as exc:  # noqa: BLE001 - the writer thread must outlive any failure
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            failure = StoreUnavailable(f"event store {self.context!r}: {exc}")
            for job in group:
                job.result = failure
        answer(group, head)

    @staticmethod
    def _apply(
        conn: sqlite3.Connection,
        job: QueuedAppend,
        position: int,
        recorded: datetime,
        recorded_text: str,
    ) -> list[Envelope]:
        first: IdempotencyRecord | None = None
        tracked: int | None = None
        if job.idempotency is not None:
            row = conn.execute(
                "SELECT fingerprint, response FROM idempotency WHERE key = ?",
                (job.idempotency.key,),
            ).fetchone()
            if row is not None:
                first = IdempotencyRecord(job.idempotency.key, row[0], bytes(row[1]))
        if job.tracking is not None:
            row = conn.execute(
                "SELECT position FROM tracking WHERE consumer = ? AND upstream = ?",
                (job.tracking.consumer, job.tracking.upstream),
            ).fetchone()
            tracked = row[0] if row is not None else None
        versions = [
            conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?", (a.stream_id,)
            ).fetchone()[0]
            for a in job.appends
        ]
        stored = job.accept(StoredFacts(first, tracked, versions), position, recorded)
        conn.executemany(_INSERT, job.rows)
        if job.idempotency is not None:
            conn.execute(
                "INSERT INTO idempotency (key, fingerprint, response, recorded_at) "
                "VALUES (?, ?, ?, ?)",
                (
                    job.idempotency.key,
                    job.idempotency.fingerprint,
                    job.idempotency.response,
                    recorded_text,
                ),
            )
        if job.tracking is not None:
            conn.execute(
                "INSERT INTO tracking (consumer, upstream, position) VALUES (?, ?, ?) "
                "ON CONFLICT (consumer, upstream) DO UPDATE SET position = excluded.position",
                (job.tracking.consumer, job.tracking.upstream, job.tracking.position),
            )
        return stored

    # -- reads -----------------------------------------------------------------------------------

    def _read_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        return self._engine

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        async with self._read_engine().connect() as conn:
            result = await conn.execute(
                text(
                    f"SELECT {_SELECT_COLUMNS} FROM events "
                    "WHERE stream_id = :s AND version > :v ORDER BY version"
                ),
                {"s": stream_id, "v": after_version},
            )
            return [self.codec.from_row(r) for r in result.all()]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        found: dict[str, list[Envelope]] = {stream_id: [] for stream_id in stream_ids}
        ids = list(found)
        async with self._read_engine().connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(f":s{i}" for i in range(len(chunk)))
                result = await conn.execute(
                    text(
                        f"SELECT {_SELECT_COLUMNS} FROM events WHERE stream_id IN ({marks}) "
                        "ORDER BY stream_id, version"
                    ),
                    {f"s{i}": stream_id for i, stream_id in enumerate(chunk)},
                )
                for row in result.all():
                    env = self.codec.from_row(row)
                    found[env.stream_id].append(env)
        return found

    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        async with self._read_engine().connect() as conn:
            result = await conn.execute(
                text(
                    f"SELECT {_SELECT_COLUMNS} FROM events "
                    "WHERE position > :p ORDER BY position LIMIT :n"
                ),
                {"p": after_position, "n": limit},
            )
            return [self.codec.from_row(r) for r in result.all()]

    async def stream_version(self, stream_id: str) -> int:
        async with self._read_engine().connect() as conn:
            value = (
                await conn.execute(
                    text("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = :s"),
                    {"s": stream_id},
                )
            ).scalar_one()
            return int(value)

    async def max_position(self) -> int:
        async with self._read_engine().connect() as conn:
            value = (
                await conn.execute(text("SELECT COALESCE(MAX(position), 0) FROM events"))
            ).scalar_one()
            return int(value)

    async def tracked_position(self, consumer: str, upstream: str) -> int:
        tracking = event_store_metadata().tables["tracking"]
        async with self._read_engine().connect() as conn:
            value = (
                await conn.execute(
                    select(tracking.c.position).where(
                        tracking.c.consumer == consumer, tracking.c.upstream == upstream
                    )
                )
            ).scalar_one_or_none()
            return int(value) if value is not None else 0

    async def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        async with self._read_engine().connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT fingerprint, response FROM idempotency WHERE key = :k"), {"k": key}
                )
            ).first()
            return IdempotencyRecord(key, row[0], bytes(row[1])) if row is not None else None

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        engine = self._sync_engine
        if engine is None:
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        return await asyncio.to_thread(_forget_idempotency, engine, cutoff)

    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        if self._head is not None:  # not started: nothing will come
            await self._head.wait_above(after_position, timeout)


def _integrity_error(exc: sqlite3.IntegrityError, job: QueuedAppend) -> FordraError:
    # A unique (stream_id, version) violation is a lost race between two appends of one stream.
    message = str(exc)
    if "stream_id" in message or "uq_events_stream_version" in message:
        return job.lost_race()
    return StoreUnavailable(f"integrity error: {message}")


def _forget_idempotency(engine: Engine, cutoff: datetime) -> int:
    # recorded_at is the UTC ISO text the writer stores: compared as text, in the same format.
    with engine.begin() as conn:
        deleted = conn.execute(
            text("DELETE FROM idempotency WHERE recorded_at < :cutoff AND key NOT LIKE :claim"),
            {"cutoff": cutoff.astimezone(UTC).isoformat(), "claim": CONTENT_CLAIM_PREFIX + "%"},
        )
        return int(deleted.rowcount)
