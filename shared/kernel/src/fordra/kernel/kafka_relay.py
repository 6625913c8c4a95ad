"""The outbox relay: a context's events table *is* its outbox; the relay publishes new events to
``fordra.<context>.events`` in position order and records how far it got.

- One relay publishes per context at a time: it holds a PostgreSQL advisory lock (a lease) on a
  connection of its own, and records its progress through that same connection, so a relay that
  lost its lease cannot record anything. A second instance waits as a standby.
- The producer is idempotent with ``acks=all`` (aiokafka's defaults are neither): a retried send
  never duplicates or reorders within the partition.
- A relay killed mid-batch resumes from its recorded position and publishes the unrecorded tail
  again: delivery is at-least-once, and consumers make a redelivery a no-op with their tracking.
- Topics have one partition: the message order is then the global log order, which the consumers'
  tracking by position relies on (see docs/adr/0001). Messages are still keyed by stream id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from fordra.kernel.codec import EnvelopeCodec, message_from_envelope
from fordra.kernel.postgres_eventstore import PostgresEventStore, asyncpg_dsn

log = logging.getLogger(__name__)


def events_topic(context: str, namespace: str = "fordra") -> str:
    """``fordra.<context>.events``; tests use a namespace of their own to share one broker."""
    return f"{namespace}.{context}.events"


async def ensure_topics(bootstrap: str, *topics: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
    finally:
        await admin.close()


def safe_producer(bootstrap: str) -> AIOKafkaProducer:
    """A producer that neither loses nor duplicates on retry (aiokafka's defaults are not that)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
    )


class OutboxRelay:
    def __init__(
        self,
        store: PostgresEventStore,
        codec: EnvelopeCodec,
        bootstrap: str,
        *,
        batch_size: int = 500,
        idle_wait: float = 1.0,
        namespace: str = "fordra",
    ) -> None:
        self.store = store
        self.codec = codec
        self.bootstrap = bootstrap
        self.namespace = namespace
        self.topic = events_topic(store.context, namespace)
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.published = 0  # for tests and metrics: messages sent by this instance
        self.position = 0
        self.has_lease = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        digest = hashlib.sha256(f"fordra-relay:{store.schema}".encode()).digest()
        self._lease_key = int.from_bytes(digest[:8], "big", signed=True)

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"relay-{self.store.context}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay %s failed; retrying", self.topic)
                self.has_lease = False
                await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.store.url))
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lease_key):  # noqa: ASYNC110 - polling a lock in another process
                await asyncio.sleep(1.0)  # another instance publishes; stand by
            self.has_lease = True
            table = f"{self.store.schema}.relay_progress"
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} "
                "(topic TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            self.position = int(
                await conn.fetchval(f"SELECT position FROM {table} WHERE topic = $1", self.topic)  # noqa: S608
                or 0
            )
            await ensure_topics(self.bootstrap, self.topic)
            producer = safe_producer(self.bootstrap)
            await producer.start()
            try:
                await self._publish_loop(conn, producer, table)
            finally:
                await producer.stop()
        finally:
            self.has_lease = False
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _publish_loop(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, table: str
    ) -> None:
        upsert = (
            f"INSERT INTO {table} (topic, position) VALUES ($1, $2) "  # noqa: S608
            "ON CONFLICT (topic) DO UPDATE SET position = excluded.position"
        )
        while not self._stopping:
            if conn.is_closed():
                # The lease went with its connection (a restart, a cut): a standby may lead now.
                # Stop publishing before the next batch, not only when recording fails after it.
                raise ConnectionError(f"relay {self.topic}: the lease's connection is gone")
            events = await self.store.read_log(self.position, self.batch_size)
            if not events:
                await self.store.wait_for_events(self.position, self.idle_wait)
                continue
            sent = [
                await producer.send(
                    self.topic,
                    value=message_from_envelope(self.codec, env),
                    key=env.stream_id.encode(),
                )
                for env in events
            ]
            await asyncio.gather(*sent)  # every message acknowledged by all in-sync replicas
            self.published += len(events)
            await conn.execute(upsert, self.topic, events[-1].position)
            self.position = events[-1].position
