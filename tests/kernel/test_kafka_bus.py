"""What ``KafkaBus`` does without a broker: ``settle`` waits on its consumers' tracking rows against
the heads of their upstream stores (the Kafka delivery itself is in test_kafka_subscriptions.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from fordra.kernel.bus import SettleTimeout
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.kafka_bus import KafkaBus
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from tests.kernel.contracts.eventstore import stream_append


class _Tracked:
    """A consumer whose tracking row the test moves by hand (a ``fordra.kernel.projection.
    Consumer``; the bus is never started, so nothing is delivered to it)."""

    name = "ledger-totals"

    def __init__(self) -> None:
        self.tracked = 0

    async def position(self, upstream: str) -> int:
        return self.tracked

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        self.tracked = events[-1].position
        return self.tracked

    async def skip(self, upstream: str, position: int) -> None:
        self.tracked = position


async def test_settle_waits_until_the_consumers_tracking_reaches_the_upstream_head() -> None:
    # Given a ledger store with 3 events and a consumer that has tracked none of them
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    store = MemoryEventStore("ledger", codec)
    await store.start()
    await store.append([stream_append("s", 0, [{"n": 1}, {"n": 2}, {"n": 3}])])
    consumer = _Tracked()
    bus = KafkaBus("localhost:9", {"ledger": codec}, stores={"ledger": store})
    bus.subscribe(consumer, "ledger")

    # When it settles while the consumer lags, Then it gives up naming the consumer
    with pytest.raises(SettleTimeout) as lagging:
        await bus.settle(timeout=0.1)
    assert lagging.value.lagging == ["ledger-totals<-ledger at 0 of 3"]

    # When the consumer's tracking reaches the head during the wait, Then settle returns
    waiting = asyncio.create_task(bus.settle(timeout=5.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    consumer.tracked = 3
    await asyncio.wait_for(waiting, 2.0)
    await store.close()


async def test_a_bus_without_the_upstream_store_refuses_to_settle() -> None:
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    bus = KafkaBus("localhost:9", {"ledger": codec})
    bus.subscribe(_Tracked(), "ledger")
    with pytest.raises(ValueError, match="ledger"):
        await bus.settle(timeout=0.1)
