"""``MemoryEventStore`` against the event-store contract, and with the in-process bus against the
subscription contract: the in-memory store the use-case tests run on keeps every promise the
stores on disk keep. ``DelegatingEventStore`` over it passes the same contract: it forwards every
method of the port."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.eventstore import DelegatingEventStore, EventStore
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.parking import ParkedEvents
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import ReadModelDatabase
from tests.kernel.contracts.eventstore import EventStoreContract, StoreHarness, stream_append
from tests.kernel.contracts.subscriptions import SubscriptionContract


class _MemoryStores(StoreHarness):
    """One store object per context name within a test: making the store of a name again is
    starting the same object again, as a file-backed store reopens its file."""

    _stores: dict[str, MemoryEventStore]

    @pytest.fixture(autouse=True)
    def _memory(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._stores = {}

    async def make_store(self, context: str) -> EventStore:
        store = self._stores.get(context)
        if store is None:
            store = MemoryEventStore(context, EnvelopeCodec(context, self.sealer))
            self._stores[context] = store
        await store.start()
        return store


class TestMemoryEventStore(_MemoryStores, EventStoreContract):
    async def raw_row_bytes(self, store: EventStore, event_id: str) -> bytes:
        assert isinstance(store, MemoryEventStore)
        row = store.raw_row(event_id)
        assert row is not None
        return b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in row)


class TestDelegatingEventStore(_MemoryStores, EventStoreContract):
    async def make_store(self, context: str) -> EventStore:
        return DelegatingEventStore(await super().make_store(context))

    async def raw_row_bytes(self, store: EventStore, event_id: str) -> bytes:
        assert isinstance(store, DelegatingEventStore)
        assert isinstance(store.inner, MemoryEventStore)
        row = store.inner.raw_row(event_id)
        assert row is not None
        return b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in row)


class TestMemorySubscriptions(_MemoryStores, SubscriptionContract):
    def make_read_models(self, name: str = "read_models") -> ReadModelDatabase:
        return ReadModelDatabase(f"sqlite+aiosqlite:///{self.tmp_path / name}.sqlite")

    def make_bus(
        self,
        stores: Mapping[str, EventStore],
        *,
        batch_size: int = 500,
        parking: ParkedEvents | None = None,
    ) -> InProcessBus:
        return InProcessBus(
            stores, batch_size=batch_size, idle_wait=0.2, retry_delay=0.01, parking=parking
        )


async def test_a_new_store_object_starts_empty_and_a_restarted_one_keeps_its_events() -> None:
    # Given a store with 2 events, closed
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    store = MemoryEventStore("ledger", codec)
    await store.start()
    await store.append([stream_append("s", 0, [{"n": 1}, {"n": 2}])])
    await store.close()

    # When it is started again, and another object is made for the same context
    await store.start()
    other = MemoryEventStore("ledger", codec)
    await other.start()

    # Then the restarted one continues its log and the new one is empty
    (third,) = await store.append([stream_append("s", 2, [{"n": 3}])])
    assert third.position == 3
    assert await other.max_position() == 0
    await store.close()
    await other.close()
