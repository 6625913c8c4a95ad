"""``SqliteEventStore``: the embedded engine's event store, one SQLite file per bounded context.

Reads go through SQLAlchemy's async engine (aiosqlite). Appends go through one writer thread with
a plain DB-API connection from SQLAlchemy's sync engine and *group commit*: every append waiting
when the writer is free joins one transaction and one fsync covers them all. The group is checked
at once (one query reads the version of every stream it appends to; each append is checked as if
the ones before it were written, so one conflict fails only its own append) and the accepted
events go in with one ``executemany``. Should the table still refuse a row, the group is written
again append by append, each in a savepoint, and only the append at fault fails. Measured on our
2-core machines the async driver reaches about a fortieth of a plain insert at batch 1; see
docs/performance.md.

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
        try:
            try:
                position = self._in_transaction(conn, group, one_by_one=False)
            except sqlite3.OperationalError:
                raise  # the connection itself is in trouble: fail the whole group below
            except Exception:  # noqa: BLE001 - one append at fault must fail alone
                # Under BEGIN IMMEDIATE no version moves, so this is a row the table refuses (an
                # event id stored twice) or one the codec could not encode as it was written:
                # write the group again, each append in a savepoint of its own, so that the
                # append at fault fails alone.
                position = self._in_transaction(conn, group, one_by_one=True)
            head.move_to(position)
        except Exception as exc:  # noqa: BLE001 - the writer thread must outlive any failure
            failure = StoreUnavailable(f"event store {self.context!r}: {exc}")
            for job in group:
                job.result = failure
        answer(group, head)

    def _in_transaction(
        self, conn: sqlite3.Connection, group: list[QueuedAppend], *, one_by_one: bool
    ) -> int:
        """Write ``group`` in one transaction; answer the last position."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            recorded = datetime.now(UTC)
            if one_by_one:
                position = self._write_one_by_one(conn, group, recorded)
            else:
                position = _write_group(conn, self.codec, group, recorded)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return position

    def _write_one_by_one(
        self, conn: sqlite3.Connection, group: list[QueuedAppend], recorded: datetime
    ) -> int:
        # Savepoints cost a journal of their own (docs/performance.md): only this path has them.
        position = 0
        for job in group:
            conn.execute("SAVEPOINT job")
            try:
                position = _write_group(conn, self.codec, [job], recorded, new_streams=True)
            except sqlite3.OperationalError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad append must not stop the writer
                conn.execute("ROLLBACK TO job")
                job.result = (
                    _integrity_error(exc, job) if isinstance(exc, sqlite3.IntegrityError) else exc
                )
            conn.execute("RELEASE job")
        if position == 0:  # every append failed: the log did not move
            position = _last_position(conn)
        return position

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

    async def committed_position(self) -> int:
        # The writer thread moves the head before it answers an append (``_commit_group``), so
        # whatever this process appended is in it: no query, no hop to a reader thread.
        if self._head is not None:
            return self._head.position
        return await self.max_position()

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


def _last_position(conn: sqlite3.Connection) -> int:
    (position,) = conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
    return int(position)


def _read_facts(
    conn: sqlite3.Connection, group: Sequence[QueuedAppend], *, new_streams: bool
) -> GroupFacts:
    """What the group is checked against: a query per table and 500 ids, whatever its size."""
    streams, keys, tracks = GroupFacts.wanted(group, new_streams=new_streams)
    versions: dict[str, int] = {}
    for chunk in _chunks(streams):
        marks = ", ".join(["?"] * len(chunk))
        versions.update(
            conn.execute(
                "SELECT stream_id, MAX(version) FROM events "
                f"WHERE stream_id IN ({marks}) GROUP BY stream_id",
                chunk,
            ).fetchall()
        )
    first_answers: dict[str, IdempotencyRecord] = {}
    for chunk in _chunks(keys):
        marks = ", ".join(["?"] * len(chunk))
        for key, fingerprint, response in conn.execute(
            f"SELECT key, fingerprint, response FROM idempotency WHERE key IN ({marks})",
            chunk,
        ):
            first_answers[key] = IdempotencyRecord(key, fingerprint, bytes(response))
    tracked: dict[tuple[str, str], int] = {}
    for consumer, upstream in tracks:  # one per append at most: process managers append alone
        row = conn.execute(
            "SELECT position FROM tracking WHERE consumer = ? AND upstream = ?",
            (consumer, upstream),
        ).fetchone()
        if row is not None:
            tracked[(consumer, upstream)] = row[0]
    return GroupFacts(versions, first_answers, tracked)


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _write_group(
    conn: sqlite3.Connection,
    codec: EnvelopeCodec,
    group: Sequence[QueuedAppend],
    recorded: datetime,
    *,
    new_streams: bool = False,
) -> int:
    """Check the whole group against one read of its facts, then write the accepted appends'
    events with one ``executemany`` (encoded one row at a time as it takes them) and their
    idempotency and tracking rows; answer the last position. An append that fails its checks
    writes nothing and fails alone."""
    facts = _read_facts(conn, group, new_streams=new_streams)
    write = accept_group(group, facts, _last_position(conn), recorded)
    accepted = write.jobs
    conn.executemany(_INSERT, write.rows(codec, recorded))
    recorded_text = recorded.isoformat()
    idempotency = [
        (j.idempotency.key, j.idempotency.fingerprint, j.idempotency.response, recorded_text)
        for j in accepted
        if j.idempotency is not None
    ]
    if idempotency:
        conn.executemany(
            "INSERT INTO idempotency (key, fingerprint, response, recorded_at) VALUES (?, ?, ?, ?)",
            idempotency,
        )
    tracking = [
        (j.tracking.consumer, j.tracking.upstream, j.tracking.position)
        for j in accepted
        if j.tracking is not None
    ]
    if tracking:
        conn.executemany(
            "INSERT INTO tracking (consumer, upstream, position) VALUES (?, ?, ?) "
            "ON CONFLICT (consumer, upstream) DO UPDATE SET position = excluded.position",
            tracking,
        )
    return write.position


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
