"""The bus port: how the logs of upstream contexts reach the consumers that follow them.

Both engines' buses implement it (``InProcessBus`` in ``fordra.kernel.inprocess_bus``, ``KafkaBus``
in ``fordra.kernel.kafka_bus``) and pass the same contract suite
(``tests/kernel/contracts/subscriptions.py``):

- a subscription delivers an upstream's events to its consumer in position order, at least once,
  from the consumer's own tracked position (a redelivery is a no-op: the consumer's tracking row
  commits with its effects);
- an event the consumer cannot apply is parked (``fordra.kernel.parking``) when the bus is given
  somewhere to park it, so that it stops neither the events behind it nor ``settle``; a transient
  failure is retried, never skipped;
- ``settle`` answers once every subscription has processed what its upstream had committed when
  the wait began, including what consumers appended meanwhile (a cascade of contexts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from fordra.kernel.projection import Consumer


class SettleTimeout(Exception):
    def __init__(self, lagging: list[str]) -> None:
        super().__init__(f"read models did not catch up in time: {', '.join(lagging)}")
        self.lagging = lagging


class Bus(ABC):
    """The port both buses implement."""

    @abstractmethod
    def subscribe(self, consumer: Consumer, *upstreams: str) -> None:
        """Deliver the logs of ``upstreams`` (context names) to ``consumer`` once started."""

    @abstractmethod
    async def start(self) -> None:
        """Start every subscription from its consumer's tracked position."""

    @abstractmethod
    async def stop(self) -> None: ...

    async def restart(self, consumer_name: str) -> None:
        """Resume ``consumer_name``'s subscriptions from its tracked position (after a rebuild of
        its read model moved the tracking back). The default restarts every subscription."""
        await self.stop()
        await self.start()

    @abstractmethod
    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every subscription has processed what was committed upstream when the wait
        began (and what that made consumers append); ``SettleTimeout`` after ``timeout``."""
