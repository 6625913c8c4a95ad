"""The distributed engine (PostgreSQL event store and read models, outbox relay, Kafka consumer
groups) against the subscription contract, on a real PostgreSQL server and a real Kafka broker."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from fordra.kernel.bus import Bus
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.eventstore import EventStore
from fordra.kernel.kafka_bus import KafkaBus
from fordra.kernel.kafka_relay import OutboxRelay
from fordra.kernel.parking import ParkedEvents
from fordra.kernel.postgres_eventstore import PostgresEventStore
from fordra.kernel.projection import Consumer, ReadModelDatabase
from tests.kernel.contracts.subscriptions import SubscriptionContract
from tests.utils.platform import fresh_database

pytestmark = pytest.mark.distributed


class RelayedKafkaBus(Bus):
    """Relays for the given stores feeding a ``KafkaBus``: what the distributed engine runs, in
    one process. ``settle`` is the Kafka bus's: it waits on the consumers' tracking rows."""

    def __init__(
        self,
        stores: Mapping[str, PostgresEventStore],
        bootstrap: str,
        namespace: str,
        batch_size: int,
        parking: ParkedEvents | None = None,
    ) -> None:
        codecs: dict[str, Any] = {name: s.codec for name, s in stores.items()}
        self.relays = [
            OutboxRelay(s, codecs[name], bootstrap, namespace=namespace, idle_wait=0.2)
            for name, s in stores.items()
        ]
        self.kafka = KafkaBus(
            bootstrap,
            codecs,
            stores=stores,
            namespace=namespace,
            retry_delay=0.05,
            batch_size=batch_size,
            parking=parking,
        )

    def subscribe(self, consumer: Consumer, *upstreams: str) -> None:
        self.kafka.subscribe(consumer, *upstreams)

    async def start(self) -> None:
        for relay in self.relays:
            await relay.start()
        await self.kafka.start()

    async def stop(self) -> None:
        await self.kafka.stop()
        for relay in self.relays:
            await relay.stop()

    async def restart(self, consumer_name: str) -> None:
        await self.kafka.stop()
        await self.kafka.start()

    async def settle(self, timeout: float = 30.0) -> None:
        await self.kafka.settle(timeout)


class TestKafkaSubscriptions(SubscriptionContract):
    @pytest.fixture(autouse=True)
    async def _servers(self, postgres_server: Any, kafka_server: Any) -> None:
        self.url = await fresh_database(postgres_server.url)
        self.bootstrap = kafka_server.bootstrap
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        self.read_model_schemas: dict[str, str] = {}

    async def make_store(self, context: str) -> EventStore:
        store = PostgresEventStore(self.url, context, EnvelopeCodec(context, self.sealer))
        await store.start()
        return store

    def make_read_models(self, name: str = "read_models") -> ReadModelDatabase:
        return ReadModelDatabase(self.url, schema=f"rm_{name}")

    def make_bus(
        self,
        stores: Mapping[str, EventStore],
        *,
        batch_size: int = 500,
        parking: ParkedEvents | None = None,
    ) -> RelayedKafkaBus:
        pg = {n: s for n, s in stores.items() if isinstance(s, PostgresEventStore)}
        assert len(pg) == len(stores)
        return RelayedKafkaBus(pg, self.bootstrap, self.namespace, batch_size, parking)
