"""``InProcessBus``: the embedded engine's bus (the port is ``fordra.kernel.bus.Bus``).

Each subscription follows one upstream context's log from the consumer's own tracked position and
hands it batches in position order: at-least-once delivery with the consumer's tracking making a
redelivery a no-op, the same contract the Kafka engine keeps. ``settle`` waits until every
subscription has caught up with what was committed, so an HTTP command can answer only once the
projections show its effects (read your own writes). An event a consumer cannot apply is parked
(``fordra.kernel.parking``) so that it stops neither the events behind it nor ``settle``.

The subscriptions of one upstream share one ``_SharedLog``: each page of the log is read and
decoded once and the same envelopes go to every subscription that reaches it (five follow the
payments log). Each subscription still keeps its own position, retries and parking; one that is
behind what is cached reads for itself, so a slow or failing consumer holds up no other.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from fordra.kernel.bus import Bus, SettleTimeout
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore
from fordra.kernel.parking import ParkedEvents, deliver, describe_error
from fordra.kernel.projection import Consumer
from fordra.kernel.telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Subscription:
    consumer: Consumer
    upstream: str
    position: int = 0
    failures: int = 0
    last_error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.consumer.name}<-{self.upstream}"


class _SharedLog:
    """The decoded part of one upstream's log that its subscriptions are going through, read once
    for all of them.

    It holds every event with a position in ``(start, end]``, exactly as ``read_log`` returned
    them, in position order (positions need not be dense). A subscription inside that range is
    served from it. One at its end reads the next page under a lock, so that the others reaching
    the same place wait for that read instead of repeating it, and the page extends the range. One
    behind it (rebuilt) or ahead of it (a fast consumer leaving slow ones behind) reads for itself
    and changes nothing. What every subscription has passed is dropped, and the range stops
    growing at ``capacity`` events, so a stuck consumer costs the others only their own reads, as
    before. Envelopes are frozen and shared: consumers read them, never change them.
    """

    def __init__(self, store: EventStore, capacity: int) -> None:
        self._store = store
        self._capacity = capacity
        self._events: list[Envelope] = []
        self._positions: list[int] = []
        self._start = 0
        self._end = 0  # == start: nothing held
        self._lock = asyncio.Lock()

    def _held(self, after: int, limit: int) -> list[Envelope] | None:
        if not self._start <= after < self._end:
            return None
        i = bisect.bisect_right(self._positions, after)
        return self._events[i : i + limit]

    async def read(self, after: int, limit: int) -> list[Envelope]:
        found = self._held(after, limit)
        if found is not None:
            return found
        holding = self._start != self._end
        if holding and after != self._end:  # behind or ahead: on its own
            return await self._store.read_log(after, limit)
        async with self._lock:
            found = self._held(after, limit)  # another subscription read it meanwhile
            if found is not None:
                return found
            events = await self._store.read_log(after, limit)
            if events and len(self._events) < self._capacity:
                if self._start == self._end:  # nothing held: start here
                    self._start = self._end = after
                if after == self._end:
                    self._events.extend(events)
                    self._positions.extend(e.position for e in events)
                    self._end = events[-1].position
            return events

    def release(self, position: int) -> None:
        """Drop what every subscription has passed (positions up to ``position``)."""
        if position <= self._start:
            return
        if position >= self._end:
            self._events, self._positions, self._start, self._end = [], [], 0, 0
            return
        i = bisect.bisect_right(self._positions, position)
        del self._events[:i]
        del self._positions[:i]
        self._start = position


class InProcessBus(Bus):
    def __init__(
        self,
        stores: Mapping[str, EventStore],
        *,
        batch_size: int = 500,
        idle_wait: float = 1.0,
        retry_delay: float = 0.2,
        parking: ParkedEvents | None = None,
        attempts: int = 3,
        cached_pages: int = 40,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._stores = dict(stores)
        # Without parking a failing event is retried for ever (nothing is ever skipped).
        self._parking = parking
        # Traces and counts every delivery (``Telemetry.handling_batch``) when given.
        self._telemetry = telemetry
        self._attempts = attempts
        self._subs: list[_Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._retry_delay = retry_delay
        self._progress = asyncio.Condition()
        self._running = False
        self._cached_pages = cached_pages
        self._logs: dict[str, _SharedLog] = {}

    def subscribe(self, consumer: Consumer, *upstreams: str) -> None:
        for upstream in upstreams:
            if upstream not in self._stores:
                raise ValueError(f"{consumer.name} follows unknown context {upstream!r}")
            self._subs.append(_Subscription(consumer, upstream))

    @property
    def subscriptions(self) -> list[str]:
        return [s.key for s in self._subs]

    def lag(self) -> dict[str, int]:
        return {s.key: s.position for s in self._subs}

    async def start(self) -> None:
        self._running = True
        # Afresh on every start: a restart follows a rebuild, which may have moved positions.
        capacity = self._batch_size * self._cached_pages
        self._logs = {up: _SharedLog(self._stores[up], capacity) for up in self._stores}
        for sub in self._subs:
            sub.position = await sub.consumer.position(sub.upstream)
            self._tasks.append(asyncio.create_task(self._follow(sub), name=sub.key))

    async def stop(self) -> None:
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def restart(self, consumer_name: str) -> None:
        """Restart the subscriptions of one consumer from its tracked position (after a rebuild)."""
        await self.stop()
        await self.start()
        log.info("bus restarted for %s", consumer_name)

    async def _follow(self, sub: _Subscription) -> None:
        store = self._stores[sub.upstream]
        shared = self._logs[sub.upstream]
        while self._running:
            try:
                events = await shared.read(sub.position, self._batch_size)
                if not events:
                    await store.wait_for_events(sub.position, self._idle_wait)
                    continue
                position = await deliver(
                    sub.consumer,
                    sub.upstream,
                    events,
                    parking=self._parking,
                    attempts=self._attempts,
                    retry_delay=self._retry_delay,
                    telemetry=self._telemetry,
                )
                sub.failures = 0
                sub.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # transient (or no parking): retried, never skipped
                sub.failures += 1
                sub.last_error = describe_error(exc)
                log.exception("%s failed (attempt %d)", sub.key, sub.failures)
                await asyncio.sleep(min(self._retry_delay * sub.failures, 5.0))
                # Effects rolled back with the tracking row: resume from what is committed. If
                # even that cannot be read, keep the position we had and try again.
                try:
                    position = await sub.consumer.position(sub.upstream)
                except Exception:
                    log.exception("%s: tracked position unreadable", sub.key)
                    position = sub.position
            async with self._progress:
                sub.position = position
                self._progress.notify_all()
            shared.release(min(s.position for s in self._subs if s.upstream == sub.upstream))

    def _caught_up(self, heads: dict[str, int]) -> bool:
        return all(s.position >= heads[s.upstream] for s in self._subs)

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every subscription has processed everything committed so far, including
        what handlers appended while we waited (a cascade of contexts)."""

        async def caught_up() -> None:
            # The stores' in-memory heads, not a query each: every request that waits for the
            # read models settles, and at 20 concurrent requests the queries were two thirds of
            # all the SQL the requests caused (docs/performance.md, issue 12's table).
            for _round in range(50):
                heads = {name: await s.committed_position() for name, s in self._stores.items()}
                async with self._progress:
                    await self._progress.wait_for(functools.partial(self._caught_up, heads))
                again = {name: await s.committed_position() for name, s in self._stores.items()}
                if again == heads:
                    return

        try:
            await asyncio.wait_for(caught_up(), timeout)
        except TimeoutError:
            heads = {name: await s.max_position() for name, s in self._stores.items()}
            raise SettleTimeout(
                [
                    f"{s.key} at {s.position} of {heads[s.upstream]} ({s.last_error or 'slow'})"
                    for s in self._subs
                    if s.position < heads[s.upstream]
                ]
            ) from None
