"""``KafkaBus``: the distributed engine's bus (the port is ``fordra.kernel.bus.Bus``), aiokafka
consumers delivering to the same ``Consumer``s as the in-process bus, with the same contract.

Correctness never depends on Kafka transactions or offsets: a consumer's effects and its tracking
row commit in one database transaction, a redelivered message (at or below the tracked position)
changes nothing, and the Kafka offset is committed only afterwards, as a hint of where to resume.
A message that still fails after retries is parked (``fordra.kernel.parking``, shared with the
in-process bus): recorded in the read-model database with the error, where the API lists and
replays it, and the tracking moves past it so that it does not stop its partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from fordra.kernel.bus import Bus, SettleTimeout
from fordra.kernel.codec import EnvelopeCodec, envelope_from_message
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore
from fordra.kernel.kafka_relay import ensure_topics, events_topic
from fordra.kernel.parking import ParkedEvents, deliver
from fordra.kernel.projection import Consumer, unseen
from fordra.kernel.telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Subscription:
    consumer: Consumer
    upstream: str
    position: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        return f"{self.consumer.name}<-{self.upstream}"


class KafkaBus(Bus):
    def __init__(
        self,
        bootstrap: str,
        codecs: Mapping[str, EnvelopeCodec],
        *,
        stores: Mapping[str, EventStore] | None = None,
        attempts: int = 3,
        retry_delay: float = 0.2,
        batch_size: int = 500,
        namespace: str = "fordra",
        parking: ParkedEvents | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.namespace = namespace
        self._codecs = dict(codecs)
        # The upstreams' stores, read only by ``settle`` for their heads (the events themselves
        # come from Kafka); a bus that is never settled (a worker process) needs none.
        self._stores = dict(stores or {})
        self._subs: list[_Subscription] = []
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._batch_size = batch_size
        # Without parking a failing event is retried for ever (nothing is ever skipped).
        self._parking = parking
        # Traces and counts every delivery (``Telemetry.handling_batch``) when given.
        self._telemetry = telemetry
        self._running = False

    def subscribe(self, consumer: Consumer, *upstreams: str) -> None:
        for upstream in upstreams:
            self._subs.append(_Subscription(consumer, upstream))

    async def start(self) -> None:
        self._running = True
        upstreams = {s.upstream for s in self._subs}
        ns = self.namespace
        topics = [events_topic(u, ns) for u in upstreams]
        if topics:
            await ensure_topics(self.bootstrap, *topics)
        for sub in self._subs:
            sub.position = await sub.consumer.position(sub.upstream)
            sub.task = asyncio.create_task(self._follow(sub), name=sub.key)

    async def stop(self) -> None:
        self._running = False
        for sub in self._subs:
            if sub.task is not None:
                sub.task.cancel()
        for sub in self._subs:
            if sub.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sub.task
                sub.task = None

    async def _follow(self, sub: _Subscription) -> None:
        topic = events_topic(sub.upstream, self.namespace)
        partition = TopicPartition(topic, 0)  # one partition per topic (kafka_relay.py)
        while self._running:
            # Assigned by hand, not by group rebalancing: the consumer decides where it resumes
            # (its tracking), and a second instance is harmless (tracking refuses a double).
            kafka = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=f"{self.namespace}.{sub.consumer.name}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                max_poll_records=self._batch_size,
            )
            try:
                await kafka.start()
                kafka.assign([partition])
                sub.position = await sub.consumer.position(sub.upstream)
                await self._seek_to_tracked(kafka, partition, sub.position)
                while self._running:
                    batches = await kafka.getmany(timeout_ms=500)
                    for records in batches.values():
                        codec = self._codecs[sub.upstream]
                        events = [envelope_from_message(codec, r.value) for r in records]
                        await self._deliver(sub, events)
                    if batches:
                        # Only a hint of where to resume: the tracking row is what counts.
                        await kafka.commit()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: consumer failed; reconnecting", sub.key)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await kafka.stop()

    @staticmethod
    async def _seek_to_tracked(
        kafka: AIOKafkaConsumer, partition: TopicPartition, tracked: int
    ) -> None:
        """Resume from the consumer's own tracked position, using Kafka's committed offset only
        when it is not ahead of it (after a rebuild or a restore of the read models it is)."""
        committed = await kafka.committed(partition)
        if not committed:
            await kafka.seek_to_beginning(partition)
            return
        kafka.seek(partition, committed - 1)
        last = (await kafka.getmany(partition, timeout_ms=5000, max_records=1)).get(partition, [])
        if last and int(orjson.loads(last[0].value)["position"]) <= tracked:
            kafka.seek(partition, committed)
        else:
            # Tracking is behind what Kafka saw consumed: replay from the start; what is at or
            # below the tracked position is skipped as a redelivery.
            await kafka.seek_to_beginning(partition)

    async def _deliver(self, sub: _Subscription, events: Sequence[Envelope]) -> None:
        # Drop what is tracked and what this batch repeats (a republished tail): see ``unseen``.
        fresh = unseen(events, sub.position)
        if not fresh:
            return
        # A transient failure propagates: ``_follow`` reconnects and resumes from the tracking.
        sub.position = await deliver(
            sub.consumer,
            sub.upstream,
            fresh,
            parking=self._parking,
            attempts=self._attempts,
            retry_delay=self._retry_delay,
            telemetry=self._telemetry,
        )

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait on this bus's consumers' tracking rows (``TrackingSettle``). The API process runs
        no consumers and waits on every consumer's rows, wherever it runs."""
        missing = sorted({sub.upstream for sub in self._subs} - set(self._stores))
        if missing:
            raise ValueError(f"KafkaBus.settle needs the stores of {', '.join(missing)}")
        subscriptions = [(sub.consumer, (sub.upstream,)) for sub in self._subs]
        await TrackingSettle(self._stores, subscriptions)(timeout)


class TrackingSettle:
    """Read-your-writes across processes: wait until every consumer's *tracking row* has reached
    the head of each upstream log, as committed when the wait began."""

    def __init__(
        self,
        stores: Mapping[str, EventStore],
        consumers: Sequence[tuple[Consumer, Sequence[str]]],
        *,
        poll: float = 0.02,
    ) -> None:
        self._stores = dict(stores)
        self._consumers = consumers
        self._poll = poll

    async def __call__(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # Until the heads stop moving: a consumer that appends (a process manager) moves the head
        # of its own context, which other consumers then follow (a cascade of contexts).
        heads = await self._heads()
        while True:
            lagging = await self._lagging(heads)
            if not lagging:
                again = await self._heads()
                if again == heads:
                    return
                heads = again
                continue
            if loop.time() > deadline:
                raise SettleTimeout(lagging)
            await asyncio.sleep(self._poll)

    async def _heads(self) -> dict[str, int]:
        return {name: await s.max_position() for name, s in self._stores.items()}

    async def _lagging(self, heads: dict[str, int]) -> list[str]:
        lagging = []
        for consumer, upstreams in self._consumers:
            for upstream in upstreams:
                at = await consumer.position(upstream)
                if at < heads.get(upstream, 0):
                    lagging.append(f"{consumer.name}<-{upstream} at {at} of {heads[upstream]}")
        return lagging
