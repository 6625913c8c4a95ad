"""``PostgresEventStore`` against the event-store contract, on a real PostgreSQL server."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from fordra.kernel.codec import ROW_COLUMNS, EnvelopeCodec
from fordra.kernel.eventstore import EventStore
from fordra.kernel.postgres_eventstore import PostgresEventStore, asyncpg_dsn
from tests.kernel.contracts.eventstore import EventStoreContract
from tests.kernel.contracts.refused_rows import RefusedRowContract

pytestmark = pytest.mark.distributed


class TestPostgresEventStore(EventStoreContract, RefusedRowContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_server: Any) -> None:
        self.url = postgres_server.url
        # A schema per test and context: every test starts from an empty store.
        self.run_id = uuid.uuid4().hex[:8]

    async def make_store(self, context: str) -> EventStore:
        store = PostgresEventStore(
            self.url,
            context,
            EnvelopeCodec(context, self.sealer),
            schema=f"t{self.run_id}_{context}",
        )
        await store.start()
        return store

    async def raw_row_bytes(self, store: EventStore, event_id: str) -> bytes:
        assert isinstance(store, PostgresEventStore)
        conn = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            row = await conn.fetchrow(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM {store.schema}.events WHERE event_id = $1",
                event_id,
            )
        finally:
            await conn.close()
        assert row is not None
        return b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
