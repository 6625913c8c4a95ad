"""The contract for subscriptions: a bus delivering an upstream log to a ``ProjectionRunner``.

An engine's test module subclasses ``SubscriptionContract`` as ``TestXxx`` and implements:

- ``make_store(context)``: as in the event-store contract (started, fresh per new name, sealing
  with ``self.sealer``);
- ``make_read_models(name)``: a *not yet started* ``ReadModelDatabase`` (runners declare their
  tables before ``start``); the same ``name`` within one test is the same database, as after a
  process restart, and a new name is a fresh, empty one;
- ``make_bus(stores, batch_size=..., parking=...)``: the engine's bus over ``stores`` (context ->
  store), not started, parking in ``parking`` when given; it should retry a failing consumer
  after a short delay.

Everything runs through ``LedgerProjection`` below: events count per stream and amounts sum per
tenant, in two tables, so that a lost, doubled or reordered event shows in the totals.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.kernel.bus import Bus
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore
from fordra.kernel.parking import PARKED, REPLAYED, ParkedEvents, ReplayFailed, replay_parked
from fordra.kernel.projection import Projection, ProjectionRunner, ReadModelDatabase
from tests.kernel.contracts.eventstore import StoreHarness, stream_append

UPSTREAM = "ledger"
_SETTLE = 15.0
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


class ProjectionCrashed(Exception):
    """Raised by the test projection on purpose."""


class LedgerProjection(Projection):
    name: ClassVar[str] = "ledger_totals"
    upstreams: ClassVar[tuple[str, ...]] = (UPSTREAM,)

    def __init__(self) -> None:
        self.fail_on_position: int | None = None  # raise when applying this position
        self.fail_with: type[Exception] = ProjectionCrashed  # what it raises there
        self.failures = 0
        self.delay = 0.0  # seconds per event, to make batches slow
        self.applied: list[int] = []  # positions in the order apply saw them

    def declare(self, metadata: MetaData) -> list[Table]:
        self.streams = Table(
            "ledger_stream_counts",
            metadata,
            Column("stream_id", String(200), primary_key=True),
            Column("events", Integer, nullable=False),
            Column("last_version", Integer, nullable=False),
        )
        self.totals = Table(
            "ledger_tenant_totals",
            metadata,
            Column("tenant", String(100), primary_key=True),
            Column("amount", BigInteger, nullable=False),
            Column("events", Integer, nullable=False),
        )
        return [self.streams, self.totals]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.applied.append(event.position)
        s, t = self.streams, self.totals
        count = (
            await conn.execute(select(s.c.events).where(s.c.stream_id == event.stream_id))
        ).scalar_one_or_none()
        if count is None:
            await conn.execute(
                s.insert().values(stream_id=event.stream_id, events=1, last_version=event.version)
            )
        else:
            await conn.execute(
                update(s)
                .where(s.c.stream_id == event.stream_id)
                .values(events=s.c.events + 1, last_version=event.version)
            )
        if event.position == self.fail_on_position:
            # after some effects of this very event, so that a partial batch would show
            self.failures += 1
            raise self.fail_with(f"crashed on position {event.position}")
        amount = int(event.payload["amount"])
        total = (
            await conn.execute(select(t.c.amount).where(t.c.tenant == event.tenant))
        ).scalar_one_or_none()
        if total is None:
            await conn.execute(t.insert().values(tenant=event.tenant, amount=amount, events=1))
        else:
            await conn.execute(
                update(t)
                .where(t.c.tenant == event.tenant)
                .values(amount=t.c.amount + amount, events=t.c.events + 1)
            )


def expected_rows(events: Sequence[Envelope]) -> Rows:
    """The projection's tables computed straight from the log."""
    counts: Counter[str] = Counter()
    last: dict[str, int] = {}
    amounts: Counter[str] = Counter()
    per_tenant: Counter[str] = Counter()
    for e in events:
        counts[e.stream_id] += 1
        last[e.stream_id] = e.version
        amounts[e.tenant] += int(e.payload["amount"])
        per_tenant[e.tenant] += 1
    return (
        sorted((sid, n, last[sid]) for sid, n in counts.items()),
        sorted((tenant, amounts[tenant], per_tenant[tenant]) for tenant in per_tenant),
    )


class SubscriptionContract(StoreHarness, ABC):
    @abstractmethod
    def make_read_models(self, name: str = "read_models") -> ReadModelDatabase:
        """Hook: an unstarted read-model database; the same name is the same database."""

    @abstractmethod
    def make_bus(
        self,
        stores: Mapping[str, EventStore],
        *,
        batch_size: int = 500,
        parking: ParkedEvents | None = None,
    ) -> Bus:
        """Hook: the engine's bus over ``stores``, not started."""

    # -- helpers ----------------------------------------------------------------------------------

    async def open_projection(
        self, name: str = "read_models"
    ) -> tuple[LedgerProjection, ProjectionRunner, ReadModelDatabase]:
        db = self.make_read_models(name)
        projection = LedgerProjection()
        runner = ProjectionRunner(projection, db)
        await db.start()
        self.on_teardown(db.close)
        return projection, runner, db

    async def start_bus(
        self,
        store: EventStore,
        runner: ProjectionRunner,
        *,
        batch_size: int = 500,
        parking: ParkedEvents | None = None,
    ) -> Bus:
        bus = self.make_bus({store.context: store}, batch_size=batch_size, parking=parking)
        bus.subscribe(runner, store.context)
        await bus.start()
        self.on_teardown(bus.stop)
        return bus

    @staticmethod
    async def rows(runner: ProjectionRunner) -> Rows:
        streams, totals = runner.tables
        async with runner.db.engine.connect() as conn:
            a = (await conn.execute(select(streams))).all()
            b = (await conn.execute(select(totals))).all()
        return sorted(tuple(r) for r in a), sorted(tuple(r) for r in b)

    @staticmethod
    async def record(
        store: EventStore, n: int, *, streams: int = 3, tenants: int = 2, start: int = 0
    ) -> None:
        """Append ``n`` events, one per append, round-robin over streams and tenants."""
        for i in range(start, start + n):
            stream_id = f"claim-{i % streams}"
            version = await store.stream_version(stream_id)
            await store.append(
                [
                    stream_append(
                        stream_id,
                        version,
                        [{"amount": 100 + i}],
                        context=store.context,
                        tenant=f"tenant-{i % tenants}",
                    )
                ]
            )

    @staticmethod
    async def until(condition: Callable[[], Any], timeout: float = _SETTLE) -> None:
        deadline = time.monotonic() + timeout
        while not await _maybe_await(condition()):
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.01)

    # -- (a) catching up --------------------------------------------------------------------------

    async def test_settle_returns_only_when_the_projection_has_applied(self) -> None:
        # Given a projection following an empty store
        store = await self.open_store(UPSTREAM)
        _projection, runner, _db = await self.open_projection()
        bus = await self.start_bus(store, runner)

        # When nothing was appended, settle returns at once with empty tables
        await bus.settle(_SETTLE)
        assert await self.rows(runner) == ([], [])

        for round_ in range(3):
            # When events are appended and the bus is settled (no sleep in between)
            await self.record(store, 7, start=round_ * 7)
            await bus.settle(_SETTLE)

            # Then every one of them is in the tables already
            assert await self.rows(runner) == expected_rows(await store.read_log(0))
            assert await runner.position(UPSTREAM) == await store.max_position()

    async def test_a_projection_catches_up_with_events_appended_before_it_started(self) -> None:
        # Given 40 events appended before any projection existed
        store = await self.open_store(UPSTREAM)
        await self.record(store, 40, streams=5, tenants=3)

        # When a projection starts following, in small batches
        _projection, runner, _db = await self.open_projection()
        bus = await self.start_bus(store, runner, batch_size=6)
        await bus.settle(_SETTLE)

        # Then it has caught up with all of them
        assert await self.rows(runner) == expected_rows(await store.read_log(0))
        assert await runner.position(UPSTREAM) == 40

    # -- (b) at-least-once delivery ---------------------------------------------------------------

    async def test_a_redelivered_batch_changes_nothing(self) -> None:
        # Given a projection that has handled 8 events
        store = await self.open_store(UPSTREAM)
        await self.record(store, 12)
        events = await store.read_log(0)
        _projection, runner, _db = await self.open_projection()
        assert await runner.handle(UPSTREAM, events[:8]) == 8
        after_first = await self.rows(runner)
        assert after_first == expected_rows(events[:8])

        # When the same batch is delivered again
        position = await runner.handle(UPSTREAM, events[:8])

        # Then nothing changed
        assert position == 8
        assert await self.rows(runner) == after_first
        assert await runner.position(UPSTREAM) == 8

        # When a batch overlapping what was handled arrives
        assert await runner.handle(UPSTREAM, events[5:12]) == 12

        # Then only the new events took effect
        assert await self.rows(runner) == expected_rows(events)

    async def test_a_batch_repeating_its_own_tail_applies_each_event_once(self) -> None:
        # Given a projection that has handled 4 of 12 events
        store = await self.open_store(UPSTREAM)
        await self.record(store, 12)
        events = await store.read_log(0)
        _projection, runner, _db = await self.open_projection()
        assert await runner.handle(UPSTREAM, events[:4]) == 4

        # When one batch carries 5..8, then 5..8 again (a relay killed before recording its
        # progress published that tail twice), then 9..12: all of it above the tracked position
        position = await runner.handle(UPSTREAM, [*events[4:8], *events[4:8], *events[8:]])

        # Then every event took effect once
        assert position == 12
        assert await self.rows(runner) == expected_rows(events)
        assert await runner.position(UPSTREAM) == 12

    # -- (c) a crash in the middle of a batch -----------------------------------------------------

    async def test_a_crash_in_the_middle_of_a_batch_leaves_no_effect(self) -> None:
        # Given a projection that has handled 4 of 12 events
        store = await self.open_store(UPSTREAM)
        await self.record(store, 12)
        events = await store.read_log(0)
        projection, runner, _db = await self.open_projection()
        await runner.handle(UPSTREAM, events[:4])
        before = await self.rows(runner)

        # When it crashes on the 4th event of the next batch (position 8)
        projection.fail_on_position = 8
        with pytest.raises(ProjectionCrashed):
            await runner.handle(UPSTREAM, events[4:])

        # Then no effect of that batch remains and the tracking is unchanged
        assert await self.rows(runner) == before == expected_rows(events[:4])
        assert await runner.position(UPSTREAM) == 4

        # When the bus delivers while the crash persists
        bus = await self.start_bus(store, runner)
        await self.until(lambda: projection.failures >= 3)

        # Then it keeps retrying without effect
        assert await self.rows(runner) == before
        assert await runner.position(UPSTREAM) == 4

        # When the fault is cleared
        projection.fail_on_position = None
        await bus.settle(_SETTLE)

        # Then the bus converges and the totals are exact
        assert await self.rows(runner) == expected_rows(events)
        assert await runner.position(UPSTREAM) == 12

    # -- (c') a poison event ----------------------------------------------------------------------

    async def test_a_poison_event_is_parked_and_replayed_once_fixed(self) -> None:
        # Given a projection that cannot apply position 8 of 12, on a bus that parks
        store = await self.open_store(UPSTREAM)
        await self.record(store, 12)
        events = await store.read_log(0)
        projection, runner, db = await self.open_projection()
        parking = ParkedEvents(db)
        projection.fail_on_position = 8
        bus = await self.start_bus(store, runner, batch_size=5, parking=parking)

        # When the bus has delivered everything
        await bus.settle(_SETTLE)

        # Then position 8 alone is parked, with its error, and everything else applied
        (parked,) = await parking.all()
        assert (parked.position, parked.event_id) == (8, events[7].event_id)
        assert (parked.consumer, parked.upstream, parked.state) == (runner.name, UPSTREAM, PARKED)
        assert parked.error == "ProjectionCrashed: crashed on position 8"
        assert await runner.position(UPSTREAM) == 12
        others = [e for e in events if e.position != 8]
        assert await self.rows(runner) == expected_rows(others)
        assert await parking.pending() == {runner.name: 1}

        # When the events behind it come, and the bus is replaced (a restart)
        await self.record(store, 3, start=12)
        await bus.stop()
        bus = await self.start_bus(store, runner, parking=parking)
        await bus.settle(_SETTLE)
        # Then they are applied and the poison is neither retried nor parked twice
        failures = projection.failures
        assert await runner.position(UPSTREAM) == 15
        assert len(await parking.all()) == 1
        assert projection.failures == failures

        # When it is replayed before the fix, then after it, then again
        consumers = {runner.name: runner}
        with pytest.raises(ReplayFailed):
            await replay_parked(parking, parked.id, consumers, {UPSTREAM: store})
        projection.fail_on_position = None
        replayed, applied = await replay_parked(parking, parked.id, consumers, {UPSTREAM: store})
        _again, applied_again = await replay_parked(
            parking, parked.id, consumers, {UPSTREAM: store}
        )
        # Then it is applied once (counts and sums exact; "last version" is what an event applied
        # out of order leaves, which is why replay is an operator's decision), nothing is parked
        assert (applied, applied_again, replayed.state) == (True, False, REPLAYED)
        streams, totals = await self.rows(runner)
        want_streams, want_totals = expected_rows(await store.read_log(0))
        assert totals == want_totals
        assert [(sid, n) for sid, n, _v in streams] == [(sid, n) for sid, n, _v in want_streams]
        assert await parking.pending() == {}
        assert await runner.position(UPSTREAM) == 15

    async def test_a_transient_failure_is_retried_never_parked(self) -> None:
        # Given a projection whose database "goes away" on position 8
        store = await self.open_store(UPSTREAM)
        await self.record(store, 12)
        events = await store.read_log(0)
        projection, runner, db = await self.open_projection()
        parking = ParkedEvents(db)
        projection.fail_on_position = 8
        projection.fail_with = ConnectionResetError
        bus = await self.start_bus(store, runner, parking=parking)

        # When the bus has tried many times
        await self.until(lambda: projection.failures >= 8)

        # Then nothing is parked and the tracking waits before it
        assert await parking.all() == []
        assert await runner.position(UPSTREAM) < 8

        # When the database is back, everything is applied
        projection.fail_on_position = None
        await bus.settle(_SETTLE)
        assert await self.rows(runner) == expected_rows(events)

    # -- (d) rebuild ------------------------------------------------------------------------------

    async def test_a_rebuild_equals_the_incremental_build(self) -> None:
        # Given a projection built incrementally over several rounds and batches
        store = await self.open_store(UPSTREAM)
        _projection, runner, _db = await self.open_projection()
        bus = await self.start_bus(store, runner, batch_size=5)
        for round_ in range(4):
            await self.record(store, 9, streams=4, tenants=3, start=round_ * 9)
            await bus.settle(_SETTLE)
        incremental = await self.rows(runner)
        assert incremental == expected_rows(await store.read_log(0))

        # When it is reset
        await runner.reset()

        # Then its tables and tracking are empty
        assert await self.rows(runner) == ([], [])
        assert await runner.position(UPSTREAM) == 0

        # When the bus replays it from zero
        await bus.restart(runner.name)
        await bus.settle(_SETTLE)

        # Then the tables are identical to the incremental ones
        assert await self.rows(runner) == incremental
        assert await runner.position(UPSTREAM) == 36

    # -- (e) resume -------------------------------------------------------------------------------

    async def test_a_new_bus_resumes_from_the_tracked_position(self) -> None:
        # Given 40 events and a slow projection following them in batches of 5
        store = await self.open_store(UPSTREAM)
        await self.record(store, 40, streams=4, tenants=3)
        projection, runner, db = await self.open_projection("shared")
        projection.delay = 0.005
        bus = await self.start_bus(store, runner, batch_size=5)

        # When the bus is stopped midway (likely inside a batch) and the process "ends"
        await self.until(lambda: _at_least(runner, 12))
        await bus.stop()
        stopped_at = await runner.position(UPSTREAM)
        assert 12 <= stopped_at < 40, "the bus was not stopped midway"
        await db.close()
        # and more events arrive while nothing follows them
        await self.record(store, 10, streams=4, tenants=3, start=40)

        # When a new bus with a new runner starts on the same read-model database
        projection2, runner2, _db2 = await self.open_projection("shared")
        assert await runner2.position(UPSTREAM) == stopped_at
        bus2 = await self.start_bus(store, runner2, batch_size=5)
        await bus2.settle(_SETTLE)

        # Then it resumed after the tracked position, without doubling any event
        assert projection2.applied == list(range(stopped_at + 1, 51))
        assert await self.rows(runner2) == expected_rows(await store.read_log(0))
        assert await runner2.position(UPSTREAM) == 50

    # -- (f) ordering -----------------------------------------------------------------------------

    async def test_events_are_applied_in_position_order(self) -> None:
        # Given a projection following while 5 writers append concurrently to their own streams
        store = await self.open_store(UPSTREAM)
        projection, runner, _db = await self.open_projection()
        bus = await self.start_bus(store, runner, batch_size=7)

        async def writer(w: int) -> None:
            for v in range(12):
                await store.append(
                    [stream_append(f"claim-{w}", v, [{"amount": w * 100 + v}], tenant=f"t{w % 2}")]
                )

        # When all is appended and the bus settles
        await asyncio.gather(*(writer(w) for w in range(5)))
        await bus.settle(_SETTLE)

        # Then every event was applied once, in position order
        assert projection.applied == list(range(1, 61))
        # and per stream in version order (the last applied version is the stream's last)
        assert await self.rows(runner) == expected_rows(await store.read_log(0))

    # -- (g) two deliveries of one batch at once --------------------------------------------------

    async def test_two_runners_handling_one_batch_at_once_take_effect_once(self) -> None:
        # Given a projection that has handled 3 of 30 events, and a second runner of it on another
        # handle of the same database (a second process, or a zombie consumer after a rebalance)
        store = await self.open_store(UPSTREAM)
        await self.record(store, 30)
        events = await store.read_log(0)
        first, runner1, _db1 = await self.open_projection("shared")
        second, runner2, _db2 = await self.open_projection("shared")
        first.delay = second.delay = 0.001
        await runner1.handle(UPSTREAM, events[:3])

        # When both are handed the whole log at the same time
        results = await asyncio.wait_for(
            asyncio.gather(
                runner1.handle(UPSTREAM, events),
                runner2.handle(UPSTREAM, events),
                return_exceptions=True,
            ),
            _SETTLE,
        )

        # Then one of them took effect (the other may fail: its bus retries), and only once
        assert 30 in results, results
        assert await self.rows(runner1) == expected_rows(events)
        assert await runner2.position(UPSTREAM) == 30


async def _at_least(runner: ProjectionRunner, position: int) -> bool:
    return await runner.position(UPSTREAM) >= position


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value):
        return await value
    return value
