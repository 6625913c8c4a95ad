"""The contract every ``EventStore`` adapter passes (the port's docstring lists the promises).

An adapter's test module subclasses ``EventStoreContract`` as ``TestXxx`` and implements two hooks:

- ``make_store(context)``: a *started* store for ``context``; a context name not used before in the
  test answers a fresh, empty store (the subclass keeps its files or schemas under a fixture of its
  own, e.g. ``tmp_path``). The store must seal personal data with ``self.sealer``.
- ``raw_row_bytes(store, event_id)``: every column of the stored row, as bytes, read past the codec
  (the adapter's own connection), to check what actually lies on disk.

The harness closes every store it handed out. The base class is not collected (no ``Test`` prefix).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    CONTENT_CLAIM_PREFIX,
    IDEMPOTENCY_KEY_PREFIX,
    AlreadyProcessed,
    EventStore,
    IdempotencyRecord,
    RequestAlreadyDone,
    StreamAppend,
    Tracking,
)
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer

# -- helpers shared by the contract suites ------------------------------------------------------

_TIMEOUT = 20.0  # no single scenario may hang the suite


def envelope(
    stream_id: str,
    version: int,
    payload: dict[str, Any] | None = None,
    *,
    context: str = "ledger",
    event_type: str = "AmountRecorded",
    tenant: str = "tenant-1",
    personal: dict[str, Any] | None = None,
    subject: str | None = None,
) -> Envelope:
    """An unstored envelope (position 0, no recorded time)."""
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        context=context,
        stream_id=stream_id,
        version=version,
        occurred_at=datetime.now(UTC),
        metadata=Metadata(tenant=tenant, actor="tester", correlation_id=str(uuid.uuid4())),
        payload=payload if payload is not None else {},
        personal_data=personal,
        data_subject=subject,
    )


def stream_append(
    stream_id: str,
    after_version: int,
    payloads: Sequence[dict[str, Any]],
    *,
    context: str = "ledger",
    tenant: str = "tenant-1",
) -> StreamAppend:
    """Events for ``stream_id`` that follow ``after_version``, one per payload."""
    return StreamAppend(
        stream_id,
        after_version,
        [
            envelope(stream_id, after_version + i, p, context=context, tenant=tenant)
            for i, p in enumerate(payloads, start=1)
        ],
    )


def assert_gap_free(positions: Sequence[int], *, after: int = 0) -> None:
    expected = list(range(after + 1, after + 1 + len(positions)))
    assert list(positions) == expected, f"positions are not consecutive from {after + 1}"


async def read_whole_log(store: EventStore, page: int = 1000) -> list[Envelope]:
    events: list[Envelope] = []
    position = 0
    while True:
        batch = await store.read_log(position, page)
        if not batch:
            return events
        events.extend(batch)
        position = batch[-1].position


async def follow_log(store: EventStore, until: int, *, page: int = 1000) -> list[int]:
    """Poll the log from 0 the way a subscriber does until ``until`` events were seen; fail on the
    first read whose first position is not the next one (a skipped or not yet visible event that a
    later position overtook)."""
    seen: list[int] = []
    position = 0
    while position < until:
        batch = await store.read_log(position, page)
        for env in batch:
            assert env.position == position + 1, (
                f"a reader at position {position} was handed {env.position}: a gap"
            )
            position = env.position
            seen.append(position)
        if not batch:
            await asyncio.sleep(0.001)
    return seen


class StoreHarness:
    """Per-test state shared by the contract suites: the sealer and what must be closed."""

    sealer: PersonalDataSealer
    _cleanups: list[Callable[[], Awaitable[None]]]
    _contexts: itertools.count[int]

    def make_sealer(self) -> PersonalDataSealer:
        """Hook: the sealer the stores must use (default: keys in memory)."""
        return PersonalDataSealer(InMemoryKeyRing())

    @abstractmethod
    async def make_store(self, context: str) -> EventStore:
        """Hook: a started store for ``context``, fresh and empty for a name not used before in
        this test, and sealing personal data with ``self.sealer``."""

    @pytest.fixture(autouse=True)
    async def _store_harness(self) -> AsyncIterator[None]:
        self.sealer = self.make_sealer()
        self._cleanups = []
        self._contexts = itertools.count(1)
        yield
        errors: list[BaseException] = []
        for cleanup in reversed(self._cleanups):  # every one runs, even after a failure
            try:
                await cleanup()
            except Exception as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
        if errors:
            raise errors[0]

    def on_teardown(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        self._cleanups.append(cleanup)

    async def open_store(self, context: str = "ledger") -> EventStore:
        store = await self.make_store(context)
        self.on_teardown(store.close)
        return store

    @asynccontextmanager
    async def scratch_store(self) -> AsyncIterator[EventStore]:
        """A store under a context name not used before in this test, closed on leaving (one per
        hypothesis example)."""
        store = await self.make_store(f"scratch{next(self._contexts)}")
        try:
            yield store
        finally:
            await store.close()


# -- the event store contract --------------------------------------------------------------------


class EventStoreContract(StoreHarness, ABC):
    @abstractmethod
    async def raw_row_bytes(self, store: EventStore, event_id: str) -> bytes:
        """Hook: every column of the stored row of ``event_id`` as bytes, read past the codec."""

    # -- appending and reading --------------------------------------------------------------------

    async def test_append_then_read_stream_and_log(self) -> None:
        # Given an empty store
        store = await self.open_store()
        assert await store.max_position() == 0
        assert await store.read_log(0) == []
        assert await store.read_stream("invoice-1") == []
        assert await store.stream_version("invoice-1") == 0

        # When one stream gets 3 events, then 2 more, then another stream gets 2
        first = await store.append([stream_append("invoice-1", 0, [{"n": 1}, {"n": 2}, {"n": 3}])])
        second = await store.append([stream_append("invoice-1", 3, [{"n": 4}, {"n": 5}])])
        third = await store.append([stream_append("invoice-2", 0, [{"n": 6}, {"n": 7}])])

        # Then the answers carry positions 1..n and the recorded time
        stored = [*first, *second, *third]
        assert [e.position for e in stored] == [1, 2, 3, 4, 5, 6, 7]
        assert all(e.recorded_at is not None for e in stored)
        # and the stream reads back in version order, exactly as answered
        events = await store.read_stream("invoice-1")
        assert [e.version for e in events] == [1, 2, 3, 4, 5]
        assert [e.position for e in events] == [1, 2, 3, 4, 5]
        assert [e.payload["n"] for e in events] == [1, 2, 3, 4, 5]
        assert all(e.recorded_at is not None for e in events)
        assert events == [*first, *second]
        assert [e.version for e in await store.read_stream("invoice-1", after_version=3)] == [4, 5]
        assert await store.stream_version("invoice-1") == 5
        assert await store.stream_version("invoice-2") == 2
        # and the log is the global order, from any position, within the limit
        log = await store.read_log(0)
        assert [e.event_id for e in log] == [e.event_id for e in stored]
        assert [(e.stream_id, e.version) for e in log] == [
            *(("invoice-1", v) for v in range(1, 6)),
            ("invoice-2", 1),
            ("invoice-2", 2),
        ]
        assert [e.position for e in await store.read_log(4)] == [5, 6, 7]
        assert [e.position for e in await store.read_log(2, limit=3)] == [3, 4, 5]
        assert await store.read_log(7) == []
        assert await store.max_position() == 7

    async def test_the_committed_position_has_every_append_once_it_is_answered(self) -> None:
        # Given a store (the in-process bus's settle waits on this, not on a query)
        store = await self.open_store()
        assert await store.committed_position() == 0

        # When appends are answered, one alone and several at once
        await store.append([stream_append("invoice-1", 0, [{"n": 1}, {"n": 2}])])
        assert await store.committed_position() == 2
        await asyncio.gather(
            *(store.append([stream_append(f"invoice-{k}", 0, [{"n": k}])]) for k in range(2, 7))
        )

        # Then the committed position is the log's end, as the database tells it
        assert await store.committed_position() == await store.max_position() == 7

    async def test_metadata_round_trips(self) -> None:
        # Given an event with a causation and a tenant
        store = await self.open_store()
        env = replace(
            envelope("invoice-1", 1, {"amount": 100, "text": "åäö"}),
            metadata=Metadata("kommun-9", "clerk", "corr-1", causation_id="cause-1"),
        )

        # When it is appended and read back
        (stored,) = await store.append([StreamAppend("invoice-1", 0, [env])])
        (read,) = await store.read_log(0)

        # Then every field survives
        assert read == stored
        assert read.metadata == Metadata("kommun-9", "clerk", "corr-1", causation_id="cause-1")
        assert read.occurred_at == env.occurred_at
        assert read.payload == {"amount": 100, "text": "åäö"}
        assert read.context == store.context

    # -- optimistic concurrency -------------------------------------------------------------------

    async def test_stale_expected_version_is_a_conflict_and_writes_nothing(self) -> None:
        # Given a stream at version 2
        store = await self.open_store()
        await store.append([stream_append("invoice-1", 0, [{"n": 1}, {"n": 2}])])
        before = await store.read_stream("invoice-1")

        # When an append still expects version 1
        with pytest.raises(ConcurrencyConflict) as caught:
            await store.append([stream_append("invoice-1", 1, [{"n": 99}])])

        # Then the conflict names the stream, and nothing was written
        assert caught.value.stream_id == "invoice-1"
        assert caught.value.expected == 1
        assert await store.read_stream("invoice-1") == before
        assert await store.max_position() == 2

        # and the next append with the right version gets the next position
        (stored,) = await store.append([stream_append("invoice-1", 2, [{"n": 3}])])
        assert stored.position == 3

    async def test_expected_version_ahead_of_the_stream_is_a_conflict(self) -> None:
        # Given a stream at version 1 and an empty one
        store = await self.open_store()
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])])

        # When appends expect versions the streams have not reached
        with pytest.raises(ConcurrencyConflict) as ahead:
            await store.append([stream_append("invoice-1", 5, [{"n": 2}])])
        with pytest.raises(ConcurrencyConflict) as missing:
            await store.append([stream_append("invoice-new", 1, [{"n": 2}])])

        # Then both are refused, naming their streams, and nothing was written
        assert ahead.value.stream_id == "invoice-1"
        assert missing.value.stream_id == "invoice-new"
        assert await store.max_position() == 1
        assert await store.read_stream("invoice-new") == []

    async def test_racing_writers_on_one_stream_exactly_one_wins(self) -> None:
        # Given a stream at version 1
        store = await self.open_store()
        await store.append([stream_append("invoice-1", 0, [{"writer": -1}])])

        # When 8 writers append to it at once, all expecting version 1
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    store.append([stream_append("invoice-1", 1, [{"writer": w}, {"writer": w}])])
                    for w in range(8)
                ),
                return_exceptions=True,
            ),
            _TIMEOUT,
        )

        # Then exactly one wins and every other one is told it lost the race
        winners = [r for r in results if isinstance(r, list)]
        losers = [r for r in results if not isinstance(r, list)]
        assert len(winners) == 1
        assert len(losers) == 7
        assert all(isinstance(r, ConcurrencyConflict) for r in losers), losers
        # and the stream holds the winner's events only
        events = await store.read_stream("invoice-1")
        assert [e.version for e in events] == [1, 2, 3]
        assert [e.event_id for e in events[1:]] == [e.event_id for e in winners[0]]
        assert await store.max_position() == 3

    async def test_multi_stream_append_is_atomic(self) -> None:
        # Given stream B at version 1
        store = await self.open_store()
        await store.append([stream_append("stream-b", 0, [{"n": 1}])])

        # When A (new) and B (expecting 0, stale) are appended together
        with pytest.raises(ConcurrencyConflict) as caught:
            await store.append(
                [
                    stream_append("stream-a", 0, [{"n": 2}, {"n": 3}]),
                    stream_append("stream-b", 0, [{"n": 4}]),
                ]
            )

        # Then the conflict names B and A's events were not written either
        assert caught.value.stream_id == "stream-b"
        assert await store.read_stream("stream-a") == []
        assert await store.max_position() == 1

        # and with the right version both streams commit together, in the order given
        stored = await store.append(
            [
                stream_append("stream-a", 0, [{"n": 2}, {"n": 3}]),
                stream_append("stream-b", 1, [{"n": 4}]),
            ]
        )
        assert [(e.stream_id, e.version, e.position) for e in stored] == [
            ("stream-a", 1, 2),
            ("stream-a", 2, 3),
            ("stream-b", 2, 4),
        ]

    async def test_one_stream_twice_in_one_append_is_a_conflict(self) -> None:
        # Given an empty store
        store = await self.open_store()

        # When one append carries two appends to the same new stream
        with pytest.raises(ConcurrencyConflict) as caught:
            await store.append(
                [
                    stream_append("invoice-1", 0, [{"n": 1}]),
                    stream_append("invoice-1", 0, [{"n": 2}]),
                ]
            )

        # Then it is refused whole, naming the stream
        assert caught.value.stream_id == "invoice-1"
        assert await store.read_stream("invoice-1") == []
        assert await store.max_position() == 0

    async def test_envelope_versions_that_do_not_follow_are_refused_and_the_store_keeps_serving(
        self,
    ) -> None:
        # Given a stream at version 1
        store = await self.open_store()
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])])

        # When an append expects version 1 but its envelope says version 5
        bad = StreamAppend("invoice-1", 1, [envelope("invoice-1", 5, {"n": 2})])
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the port names no type
            await asyncio.wait_for(store.append([bad]), 5.0)

        # Then it is refused (not left hanging), nothing was written
        assert not isinstance(caught.value, TimeoutError), "the append never answered"
        assert [e.version for e in await store.read_stream("invoice-1")] == [1]
        # and the store still takes appends
        (stored,) = await asyncio.wait_for(
            store.append([stream_append("invoice-1", 1, [{"n": 2}])]), 5.0
        )
        assert stored.position == 2

    # -- tracking ---------------------------------------------------------------------------------

    async def test_tracking_commits_with_the_events(self) -> None:
        # Given an empty store: no tracking yet
        store = await self.open_store()
        assert await store.tracked_position("dunning", "invoicing") == 0

        # When an append carries tracking at upstream position 5
        await store.append(
            [stream_append("claim-1", 0, [{"n": 1}])],
            tracking=Tracking("dunning", "invoicing", 5),
        )

        # Then the tracking row says 5, for that consumer and upstream only
        assert await store.tracked_position("dunning", "invoicing") == 5
        assert await store.tracked_position("dunning", "payments") == 0
        assert await store.tracked_position("reminders", "invoicing") == 0

        # When redeliveries of positions 5 and 3 append again
        for stale in (5, 3):
            with pytest.raises(AlreadyProcessed):
                await store.append(
                    [stream_append("claim-2", 0, [{"n": 2}])],
                    tracking=Tracking("dunning", "invoicing", stale),
                )

        # Then nothing was written and the tracking is unchanged
        assert await store.read_stream("claim-2") == []
        assert await store.max_position() == 1
        assert await store.tracked_position("dunning", "invoicing") == 5

        # and a position ahead is taken, moving the tracking on
        await store.append(
            [stream_append("claim-2", 0, [{"n": 2}])],
            tracking=Tracking("dunning", "invoicing", 9),
        )
        assert await store.tracked_position("dunning", "invoicing") == 9
        assert await store.max_position() == 2

    async def test_racing_redeliveries_with_one_tracking_position_take_effect_once(self) -> None:
        # Given a consumer that has processed upstream position 1
        store = await self.open_store()
        await store.append(
            [stream_append("claim-0", 0, [{"n": 0}])], tracking=Tracking("dunning", "inv", 1)
        )

        # When 6 deliveries of upstream position 2 append to their own streams at once
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    store.append(
                        [stream_append(f"claim-{i}", 0, [{"n": i}])],
                        tracking=Tracking("dunning", "inv", 2),
                    )
                    for i in range(1, 7)
                ),
                return_exceptions=True,
            ),
            _TIMEOUT,
        )

        # Then exactly one took effect and the others were told it was already processed
        assert sum(isinstance(r, list) for r in results) == 1
        assert sum(isinstance(r, AlreadyProcessed) for r in results) == 5, results
        assert await store.max_position() == 2
        assert await store.tracked_position("dunning", "inv") == 2

    async def test_tracking_is_not_moved_by_a_conflicting_append(self) -> None:
        # Given a stream at version 1 and tracking at 2
        store = await self.open_store()
        await store.append(
            [stream_append("claim-1", 0, [{"n": 1}])], tracking=Tracking("dunning", "inv", 2)
        )

        # When an append with tracking 3 conflicts on its stream
        with pytest.raises(ConcurrencyConflict):
            await store.append(
                [stream_append("claim-1", 0, [{"n": 2}])], tracking=Tracking("dunning", "inv", 3)
            )

        # Then the tracking stays at 2
        assert await store.tracked_position("dunning", "inv") == 2

    # -- idempotency ------------------------------------------------------------------------------

    async def test_idempotency_records(self) -> None:
        # Given an empty store: no record for the key
        store = await self.open_store()
        assert await store.idempotency_record("key-1") is None
        first = IdempotencyRecord("key-1", "fp-a", b'{"invoice": "inv-1"}')

        # When the first request appends with its record
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])], idempotency=first)

        # Then the record is stored
        assert await store.idempotency_record("key-1") == first

        # When the same request comes again (same key, same fingerprint)
        with pytest.raises(RequestAlreadyDone) as done:
            await store.append(
                [stream_append("invoice-2", 0, [{"n": 2}])],
                idempotency=IdempotencyRecord("key-1", "fp-a", b"another answer"),
            )

        # Then it is told the first answer and nothing is written
        assert done.value.record == first
        assert await store.read_stream("invoice-2") == []
        assert await store.max_position() == 1

        # When the key comes with another request body
        with pytest.raises(IdempotencyKeyReused) as reused:
            await store.append(
                [stream_append("invoice-3", 0, [{"n": 3}])],
                idempotency=IdempotencyRecord("key-1", "fp-b", b"other"),
            )

        # Then it is refused, nothing is written, and the first record stands
        assert reused.value.key == "key-1"
        assert await store.read_stream("invoice-3") == []
        assert await store.max_position() == 1
        assert await store.idempotency_record("key-1") == first

    async def test_idempotency_record_is_not_kept_when_the_append_conflicts(self) -> None:
        # Given a stream at version 1
        store = await self.open_store()
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])])

        # When a keyed request conflicts
        with pytest.raises(ConcurrencyConflict):
            await store.append(
                [stream_append("invoice-1", 0, [{"n": 2}])],
                idempotency=IdempotencyRecord("key-1", "fp", b"answer"),
            )

        # Then no record was kept: a retry is not answered with an answer never given
        assert await store.idempotency_record("key-1") is None

    async def test_idempotency_rows_of_an_older_format_are_deleted_on_start(self) -> None:
        # Given a row written before keys were hashed per caller (a plain key, a whole answer
        # with a name in it) and a row of the current format
        store = await self.make_store("upgraded")
        old = IdempotencyRecord("department:waste:key-1", "fp", b'{"name": "Tolvan"}')
        new = IdempotencyRecord(IDEMPOTENCY_KEY_PREFIX + "ab12", "fp", b"\x02{}")
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])], idempotency=old)
        await store.append([stream_append("invoice-2", 0, [{"n": 2}])], idempotency=new)
        await store.close()

        # When the store starts again
        store = await self.open_store("upgraded")

        # Then the old row is gone (no request can name it; it may hold personal data) and the
        # current one stands, with every event
        assert await store.idempotency_record(old.key) is None
        assert await store.idempotency_record(new.key) == new
        assert await store.max_position() == 2

    async def test_idempotency_records_are_forgotten_after_their_time_but_content_claims_stay(
        self,
    ) -> None:
        # Given a caller's key and a file's content claim, recorded now
        store = await self.open_store()
        key = IdempotencyRecord(IDEMPOTENCY_KEY_PREFIX + "ab12", "fp", b"\x02{}")
        claim = IdempotencyRecord(CONTENT_CLAIM_PREFIX + "cd34", "fp", b"\x02{}")
        await store.append([stream_append("invoice-1", 0, [{"n": 1}])], idempotency=key)
        await store.append([stream_append("invoice-2", 0, [{"n": 2}])], idempotency=claim)

        # When records older than a minute ago are forgotten: both are younger, both stay
        assert await store.forget_idempotency_before(datetime.now(UTC) - timedelta(minutes=1)) == 0
        assert await store.idempotency_record(key.key) == key

        # When records older than a minute from now are forgotten
        assert await store.forget_idempotency_before(datetime.now(UTC) + timedelta(minutes=1)) == 1

        # Then the key is gone, the content claim stands (a file sent again books nothing), and
        # every event stands
        assert await store.idempotency_record(key.key) is None
        assert await store.idempotency_record(claim.key) == claim
        assert await store.max_position() == 2
        # and the key may be used again
        await store.append([stream_append("invoice-3", 0, [{"n": 3}])], idempotency=key)
        assert await store.idempotency_record(key.key) == key

    # -- personal data ----------------------------------------------------------------------------

    async def test_personal_data_is_sealed_and_can_be_forgotten(self) -> None:
        # Given an event with personal data for customer cust-1, and one for cust-2
        store = await self.open_store()
        name = "Astrid Ericsson-Lindgren"
        personal = {"name": name, "id_number": "19121212-1212"}
        env = envelope(
            "customer-1", 1, {"customer_id": "cust-1"}, personal=personal, subject="cust-1"
        )
        other = envelope(
            "customer-2", 1, {"customer_id": "cust-2"}, personal={"name": "B"}, subject="cust-2"
        )

        # When they are appended and read back
        await store.append(
            [StreamAppend("customer-1", 0, [env]), StreamAppend("customer-2", 0, [other])]
        )
        (read,) = await store.read_stream("customer-1")

        # Then the personal part comes back opened, with its subject
        assert read.personal_data == personal
        assert read.data_subject == "cust-1"
        assert read.payload == {"customer_id": "cust-1"}
        # and the stored row holds neither the name nor the identity number in the clear
        raw = await self.raw_row_bytes(store, env.event_id)
        assert b"cust-1" in raw  # the hook does read the row
        assert name.encode() not in raw
        assert b"19121212-1212" not in raw

        # When the customer is forgotten
        self.sealer.forget("cust-1")

        # Then the event is still there, in order, with its payload, but no personal part
        (forgotten,) = await store.read_stream("customer-1")
        assert forgotten.personal_data is None
        assert forgotten.payload == {"customer_id": "cust-1"}
        assert forgotten.data_subject == "cust-1"
        assert (forgotten.event_id, forgotten.position) == (env.event_id, 1)
        assert [e.personal_data for e in await store.read_log(0)] == [None, {"name": "B"}]

    # -- concurrency and the gap-free log ---------------------------------------------------------

    async def test_many_writers_and_readers_never_see_a_gap(self) -> None:
        # Given 20 writers that each append 25 single events to a stream of their own
        store = await self.open_store()
        writers, appends = 20, 25
        total = writers * appends

        async def writer(w: int) -> None:
            for v in range(appends):
                await store.append([stream_append(f"stream-{w}", v, [{"w": w, "v": v + 1}])])

        # When they run while 3 readers follow the log from their own positions
        async with asyncio.timeout(_TIMEOUT):
            results = await asyncio.gather(
                *(writer(w) for w in range(writers)),
                *(follow_log(store, total, page=37) for _ in range(3)),
            )

        # Then no reader ever saw a gap and every reader ended with all events
        for seen in results[writers:]:
            assert seen == list(range(1, total + 1))
        # and every stream is whole, in version order
        for w in range(writers):
            events = await store.read_stream(f"stream-{w}")
            assert [e.version for e in events] == list(range(1, appends + 1))
            assert [e.payload["v"] for e in events] == list(range(1, appends + 1))
        assert await store.max_position() == total

    async def test_a_slow_large_append_is_never_skipped_by_readers(self) -> None:
        # Given a writer of large batches (slow to commit) and 10 writers of single events
        store = await self.open_store()
        big_batches, big_size = 2, 2500
        small_writers, small_appends = 10, 20
        total = big_batches * big_size + small_writers * small_appends

        async def slow_writer() -> None:
            for b in range(big_batches):
                payloads = [{"big": b, "i": i} for i in range(big_size)]
                await store.append([stream_append("big", b * big_size, payloads)])

        async def small_writer(w: int) -> None:
            for v in range(small_appends):
                await store.append([stream_append(f"small-{w}", v, [{"w": w}])])
                await asyncio.sleep(0)

        # When they all commit while 3 readers poll the log
        async with asyncio.timeout(_TIMEOUT):
            results = await asyncio.gather(
                *(follow_log(store, total) for _ in range(3)),
                slow_writer(),
                *(small_writer(w) for w in range(small_writers)),
            )

        # Then no reader ever observed position p+1 before p, and all saw everything
        for seen in results[:3]:
            assert seen == list(range(1, total + 1))
        big = await store.read_stream("big")
        assert [e.version for e in big] == list(range(1, big_batches * big_size + 1))
        # and each large batch holds consecutive positions (it committed as one)
        for b in range(big_batches):
            chunk = [e.position for e in big[b * big_size : (b + 1) * big_size]]
            assert_gap_free(chunk, after=chunk[0] - 1)

    async def test_wait_for_events(self) -> None:
        # Given a store at position 1
        store = await self.open_store()
        await store.append([stream_append("s", 0, [{"n": 1}])])

        # When a reader waits for events above a position already passed, it returns at once
        started = time.monotonic()
        await store.wait_for_events(0, timeout=5.0)
        assert time.monotonic() - started < 1.0

        # When a reader waits above the head and nothing is appended, it times out
        started = time.monotonic()
        await store.wait_for_events(1, timeout=0.2)
        elapsed = time.monotonic() - started
        assert 0.15 <= elapsed < 2.0

        # When a reader waits above the head and an event is appended meanwhile
        waiter = asyncio.create_task(store.wait_for_events(1, timeout=5.0))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        started = time.monotonic()
        await store.append([stream_append("s", 1, [{"n": 2}])])
        await asyncio.wait_for(waiter, 2.0)

        # Then it returns promptly, and the event is readable
        assert time.monotonic() - started < 1.0
        assert [e.position for e in await store.read_log(1)] == [2]

    async def test_a_conflict_does_not_fail_the_appends_committed_with_it(self) -> None:
        # Given a stream at version 1
        store = await self.open_store()
        await store.append([stream_append("contested", 0, [{"n": 0}])])

        # When 20 appends to new streams and 1 stale append to it are fired at once
        results = await asyncio.wait_for(
            asyncio.gather(
                *(store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])]) for i in range(10)),
                store.append([stream_append("contested", 0, [{"n": -1}])]),
                *(
                    store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])])
                    for i in range(10, 20)
                ),
                return_exceptions=True,
            ),
            _TIMEOUT,
        )

        # Then only the stale one failed; the 20 others are committed
        assert isinstance(results[10], ConcurrencyConflict)
        committed = [r for i, r in enumerate(results) if i != 10]
        assert all(isinstance(r, list) and len(r) == 1 for r in committed), committed
        assert await store.max_position() == 21
        assert_gap_free([e.position for e in await store.read_log(0)])
        for i in range(20):
            assert [e.payload for e in await store.read_stream(f"fresh-{i}")] == [{"i": i}]
        assert [e.payload for e in await store.read_stream("contested")] == [{"n": 0}]

    # -- properties -------------------------------------------------------------------------------

    @settings(
        max_examples=25,
        deadline=None,
        # One property, run by each adapter's subclass: a different executor per adapter is the
        # point of a contract suite, and each example builds its own store.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        batches=st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=3),
                st.lists(
                    st.dictionaries(
                        st.text(max_size=8),
                        st.one_of(
                            st.text(max_size=20),
                            st.integers(min_value=-(2**63), max_value=2**63 - 1),
                        ),
                        max_size=4,
                    ),
                    min_size=1,
                    max_size=6,
                ),
            ),
            min_size=1,
            max_size=10,
        )
    )
    async def test_any_batches_give_a_gap_free_log_and_round_trip(
        self, batches: list[tuple[int, list[dict[str, Any]]]]
    ) -> None:
        async with self.scratch_store() as store:
            # Given a fresh store
            streams: dict[str, list[dict[str, Any]]] = {}

            # When each batch is appended to one of a few streams
            for index, payloads in batches:
                stream_id = f"stream-{index}"
                history = streams.setdefault(stream_id, [])
                await store.append([stream_append(stream_id, len(history), payloads)])
                history.extend(payloads)

            # Then the log is gap-free from 1
            log = await read_whole_log(store, page=7)
            assert_gap_free([e.position for e in log])
            assert len(log) == sum(len(p) for _, p in batches)
            # and every stream reads back its payloads in order
            for stream_id, payloads in streams.items():
                events = await store.read_stream(stream_id)
                assert [e.payload for e in events] == payloads
                assert [e.version for e in events] == list(range(1, len(payloads) + 1))
