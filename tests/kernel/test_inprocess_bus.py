"""``InProcessBus`` reads each page of an upstream's log once for all the subscriptions following
it, and still keeps each subscription on its own: one that cannot go on holds up no other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from tests.kernel.contracts.eventstore import stream_append

UPSTREAM = "ledger"


class CountingStore(MemoryEventStore):
    """A real in-memory store that counts the events its log reads decode."""

    def __init__(self) -> None:
        super().__init__(UPSTREAM, EnvelopeCodec(UPSTREAM, PersonalDataSealer(InMemoryKeyRing())))
        self.decoded = 0

    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        events = await super().read_log(after_position, limit)
        self.decoded += len(events)
        return events


class Recorder:
    """A consumer keeping the positions it applied, in memory; ``failing`` makes it raise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.applied: list[int] = []
        self.failing = False

    async def position(self, upstream: str) -> int:
        return self.applied[-1] if self.applied else 0

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        if self.failing:
            raise RuntimeError(f"{self.name} is down")
        tracked = await self.position(upstream)
        self.applied.extend(e.position for e in events if e.position > tracked)
        return await self.position(upstream)

    async def skip(self, upstream: str, position: int) -> None:
        raise AssertionError("nothing is parked here")


async def _store_with(events: int) -> CountingStore:
    store = CountingStore()
    await store.start()
    for n in range(0, events, 10):
        await store.append([stream_append(f"s-{n}", 0, [{"n": n + i} for i in range(10)])])
    return store


async def test_three_subscriptions_of_one_upstream_decode_its_log_once() -> None:
    # Given 120 events and three consumers following that log, 10 events a batch
    store = await _store_with(120)
    consumers = [Recorder(f"c{i}") for i in range(3)]
    bus = InProcessBus({UPSTREAM: store}, batch_size=10, idle_wait=0.05, retry_delay=0.01)
    for consumer in consumers:
        bus.subscribe(consumer, UPSTREAM)

    # When the bus settles
    await bus.start()
    try:
        await bus.settle(10.0)
    finally:
        await bus.stop()

    # Then each consumer applied every event once, in order, and each was decoded once
    for consumer in consumers:
        assert consumer.applied == list(range(1, 121))
    assert store.decoded == 120


async def test_a_consumer_that_cannot_go_on_holds_up_no_other() -> None:
    # Given 120 events, two consumers, and pages held for one batch only
    store = await _store_with(120)
    stuck, healthy = Recorder("stuck"), Recorder("healthy")
    stuck.failing = True
    bus = InProcessBus(
        {UPSTREAM: store}, batch_size=10, idle_wait=0.05, retry_delay=0.01, cached_pages=1
    )
    bus.subscribe(stuck, UPSTREAM)
    bus.subscribe(healthy, UPSTREAM)
    await bus.start()
    try:
        # When one of them fails on every batch
        deadline = time.monotonic() + 10.0
        while len(healthy.applied) < 120:
            assert time.monotonic() < deadline, "the healthy consumer did not catch up"
            await asyncio.sleep(0.01)

        # Then the other has applied all of them meanwhile, and the stuck one none
        assert healthy.applied == list(range(1, 121))
        assert stuck.applied == []

        # And once it works again, it catches up from where it was, in order
        stuck.failing = False
        await bus.settle(10.0)
        assert stuck.applied == list(range(1, 121))
    finally:
        await bus.stop()
