"""The embedded engine (SQLite event store, SQLite read models, in-process bus) against the
subscription contract."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.eventstore import EventStore
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.parking import ParkedEvents
from fordra.kernel.projection import ReadModelDatabase
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from tests.kernel.contracts.subscriptions import SubscriptionContract


class TestSqliteSubscriptions(SubscriptionContract):
    @pytest.fixture(autouse=True)
    def _files(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    async def make_store(self, context: str) -> EventStore:
        store = SqliteEventStore(
            self.tmp_path / f"{context}.sqlite", context, EnvelopeCodec(context, self.sealer)
        )
        await store.start()
        return store

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
