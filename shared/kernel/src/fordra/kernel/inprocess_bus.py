"""``InProcessBus``: the embedded engine's bus (the port is ``fordra.kernel.bus.Bus``).

Each subscription follows one upstream context's log from the consumer's own tracked position and
hands it batches in position order: at-least-once delivery with the consumer's tracking making a
redelivery a no-op, the same contract the Kafka engine keeps. ``settle`` waits until every
subscription has caught up with what was committed, so an HTTP command can answer only once the
projections show its effects (read your own writes). An event a consumer cannot apply is parked
(``fordra.kernel.parking``) so that it stops neither the events behind it nor ``settle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from fordra.kernel.bus import Bus, SettleTimeout
from fordra.kernel.eventstore import EventStore
from fordra.kernel.parking import ParkedEvents, deliver, describe_error
from fordra.kernel.projection import Consumer

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
    ) -> None:
        self._stores = dict(stores)
        # Without parking a failing event is retried for ever (nothing is ever skipped).
        self._parking = parking
        self._attempts = attempts
        self._subs: list[_Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._retry_delay = retry_delay
        self._progress = asyncio.Condition()
        self._running = False

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
        while self._running:
            try:
                events = await store.read_log(sub.position, self._batch_size)
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

    def _caught_up(self, heads: dict[str, int]) -> bool:
        return all(s.position >= heads[s.upstream] for s in self._subs)

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every subscription has processed everything committed so far, including
        what handlers appended while we waited (a cascade of contexts)."""

        async def caught_up() -> None:
            for _round in range(50):
                heads = {name: await s.max_position() for name, s in self._stores.items()}
                async with self._progress:
                    await self._progress.wait_for(functools.partial(self._caught_up, heads))
                again = {name: await s.max_position() for name, s in self._stores.items()}
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
