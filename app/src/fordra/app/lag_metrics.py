"""``fordra_consumer_lag{consumer, upstream}``: how far each consumer is behind the log it follows.

Read at scrape time from the stores' heads and the consumers' own tracking rows, as
``TrackingSettle`` reads them, so that the API process reports the lag of the projections and
process managers that run in other processes (the distributed engine) as well as its own. The
figure is in log positions: the events committed upstream that the consumer has not yet applied
(a rolled-back append may leave a gap, so it can overstate by a few, never understate).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Final, Protocol

from opentelemetry.metrics import Meter

from fordra.kernel.eventstore import EventStore
from fordra.kernel.projection import Consumer

__all__ = ["GAUGE_REFRESH_SECONDS", "ConsumerLagGauge", "ScrapeGauges"]

# How often the gauges refresh on their own (a Prometheus scrape interval's order): a few
# indexed reads each time.
GAUGE_REFRESH_SECONDS: Final = 15.0

log = logging.getLogger(__name__)


class _Refreshed(Protocol):
    def refresh(self) -> Awaitable[object]: ...


class ScrapeGauges:
    """The gauges read at scrape time, refreshed together before ``/metrics`` answers."""

    def __init__(self, *gauges: _Refreshed) -> None:
        self._gauges = gauges

    async def refresh(self) -> None:
        for gauge in self._gauges:
            await gauge.refresh()

    async def refresh_every(self, seconds: float) -> None:
        """Refresh until cancelled; a failed refresh (a database away) is logged and retried."""
        while True:
            try:
                await self.refresh()
            except Exception:
                log.warning("the gauges could not be refreshed", exc_info=True)
            await asyncio.sleep(seconds)


class ConsumerLagGauge:
    """Sets ``fordra_consumer_lag`` for every (consumer, upstream) on ``refresh``."""

    def __init__(
        self,
        meter: Meter,
        stores: Mapping[str, EventStore],
        subscriptions: Sequence[tuple[Consumer, Sequence[str]]],
    ) -> None:
        self._gauge = meter.create_gauge(
            "fordra_consumer_lag",
            unit="1",
            description="Events committed upstream that the consumer has not applied yet",
        )
        self._stores = dict(stores)
        self._subscriptions = subscriptions

    async def refresh(self) -> dict[tuple[str, str], int]:
        """Read every head and tracked position, set the gauge, and answer the figures."""
        heads = {name: await store.max_position() for name, store in self._stores.items()}
        lags: dict[tuple[str, str], int] = {}
        for consumer, upstreams in self._subscriptions:
            for upstream in upstreams:
                at = await consumer.position(upstream)
                lag = max(0, heads.get(upstream, 0) - at)
                lags[consumer.name, upstream] = lag
                self._gauge.set(lag, {"consumer": consumer.name, "upstream": upstream})
        return lags
