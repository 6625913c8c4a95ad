"""New ids are UUIDv7: time-ordered, so the stores' indexes on them grow at one end."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import ClassVar

from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.ids import new_id


def test_a_new_id_is_a_canonical_uuid_version_7() -> None:
    value = new_id()

    assert str(uuid.UUID(value)) == value
    assert uuid.UUID(value).version == 7


def test_ids_made_a_millisecond_apart_sort_in_the_order_they_were_made() -> None:
    ids = []
    for _ in range(5):
        ids.append(new_id())
        time.sleep(0.002)

    assert ids == sorted(ids)
    assert len(set(ids)) == 5


class Noted(Event):
    event_type: ClassVar[str] = "Noted"
    note: str


def test_an_event_enveloped_without_an_event_id_gets_a_new_id() -> None:
    registry = EventRegistry()
    registry.register(Noted)

    env = registry.envelope(
        Noted(note="x"),
        context="test",
        stream_id="s-1",
        version=1,
        metadata=Metadata("t", "a", "c"),
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert uuid.UUID(env.event_id).version == 7
