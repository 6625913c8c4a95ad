"""The in-memory event store the use-case tests of invoicing run on (no HTTP, no files)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fordra.kernel.memory_eventstore import MemoryEventStore
from tests.utils.invoicing import memory_store


@pytest.fixture
async def store() -> AsyncIterator[MemoryEventStore]:
    memory = memory_store()
    await memory.start()
    yield memory
    await memory.close()
