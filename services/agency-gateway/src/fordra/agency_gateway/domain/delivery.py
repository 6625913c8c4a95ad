"""Delivering queued messages to an agency (issue 15 "Outbound"): the back-off rule and what is
waiting, pure.

An agency that is down delays a message and never loses or doubles it: the message stays queued
in the gateway's log (``OutboundQueued``) until an ``OutboundDelivered`` follows it; each failed
attempt is an ``OutboundFailed`` naming when to try again. The wait doubles from
``delivery_retry_first_seconds`` up to ``delivery_retry_cap_seconds`` (AgencySettings). Time here
is the system clock's, not the business clock's: an agency's outage is a matter of minutes of
real time, which no business day measures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from fordra.agency_gateway.domain.outbound import (
    OutboundDelivered,
    OutboundFailed,
    OutboundQueued,
    OutboundRefused,
    OutboundRetried,
)
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.kernel.events import Event

__all__ = [
    "AgencyAdapter",
    "DeliveryFailed",
    "DeliveryRefused",
    "Pending",
    "agencies_without_secret",
    "fold_pending",
    "next_attempt_at",
    "retry_delay",
]


def retry_delay(attempt: int, *, first_seconds: float, cap_seconds: float) -> timedelta:
    """How long to wait after the ``attempt``-th failure (1, 2, ...): ``first * 2**(attempt-1)``,
    at most ``cap`` (first 60 s, cap 1 h: 1, 2, 4, ... 32 minutes, then every hour)."""
    if attempt < 1:
        raise ValueError(f"attempt {attempt}: attempts count from 1")
    # 2**60 seconds is far past any cap; bounding the exponent keeps the float finite.
    seconds = first_seconds * 2 ** min(attempt - 1, 60)
    return timedelta(seconds=min(seconds, cap_seconds))


def next_attempt_at(failed_at: datetime, attempt: int, settings: AgencySettings) -> datetime:
    """When a message that failed its ``attempt``-th delivery at ``failed_at`` is tried again."""
    return failed_at + retry_delay(
        attempt,
        first_seconds=settings.delivery_retry_first_seconds,
        cap_seconds=settings.delivery_retry_cap_seconds,
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued message not yet delivered: its queuing, its stream's version, how many attempts
    failed and when the next is due (None: at once)."""

    queued: OutboundQueued
    version: int
    attempts: int = 0
    retry_at: datetime | None = None
    # Refused by the agency: never due until a person has it retried.
    refused: bool = False

    def due(self, now: datetime) -> bool:
        return not self.refused and (self.retry_at is None or self.retry_at <= now)


def fold_pending(
    pending: dict[str, Pending], events: Iterable[tuple[Event, int]]
) -> dict[str, Pending]:
    """Fold ``(event, stream version)`` pairs of the gateway's log, in log order, into the
    messages still waiting (``pending`` is what was waiting before them; a new dict is answered).
    A message delivered drops out; one failed waits until its ``retry_at``; one refused waits
    until it is retried, and then goes at once, its attempts counted afresh."""
    waiting = dict(pending)
    for event, version in events:
        if isinstance(event, OutboundQueued):
            waiting[event.message_id] = Pending(event, version)
        elif isinstance(event, OutboundDelivered):
            waiting.pop(event.message_id, None)
        elif isinstance(event, OutboundFailed) and event.message_id in waiting:
            waiting[event.message_id] = replace(
                waiting[event.message_id],
                version=version,
                attempts=event.attempt,
                retry_at=event.retry_at,
            )
        elif isinstance(event, OutboundRefused) and event.message_id in waiting:
            waiting[event.message_id] = replace(
                waiting[event.message_id], version=version, attempts=event.attempt, refused=True
            )
        elif isinstance(event, OutboundRetried) and event.message_id in waiting:
            waiting[event.message_id] = replace(
                waiting[event.message_id], version=version, attempts=0, retry_at=None, refused=False
            )
    return waiting


def agencies_without_secret(settings: AgencySettings) -> list[str]:
    """The configured agencies with no secret: their webhooks cannot be checked and their
    deliveries not signed, so the service refuses to start outside the demo (issue 15)."""
    return sorted(
        name
        for name in settings.agencies
        if name not in settings.secrets or not settings.secrets[name].get_secret_value()
    )


class DeliveryFailed(Exception):
    """The agency did not take the message (down, a timeout, an answer other than success); the
    reason is recorded with the attempt and the message is tried again after the back-off."""


class DeliveryRefused(DeliveryFailed):
    """The agency refused the message itself (an HTTP 4xx other than a timeout or a rate limit):
    sent again unchanged it would be refused again, so it waits for a person, not the back-off."""


class AgencyAdapter(ABC):
    """The port an agency is reached through (``HttpAgency``, ``FileAgency``). ``deliver`` sends
    one message (its JSON ``body``, ``message_id`` its idempotency key) and returns once the agency
    has it, or raises ``DeliveryFailed``. Sending a message id again must not double it at the
    agency: a crash between sending and recording the delivery sends it again."""

    @abstractmethod
    async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None: ...

    async def close(self) -> None:  # noqa: B027  (optional: most adapters hold nothing)
        """Release what the adapter holds (an HTTP client)."""
