"""What the gateway sends an agency, as events of its own log (issue 15, "Outbound"): each message
is queued once, then delivered, or failed and tried again after a back-off. An agency that is down
delays a message; it is never lost (it stays queued in the log) nor doubled (a message id the
agency has seen is accepted once by it, and delivered once here). A message the agency refuses as
such (an HTTP 4xx: a wrong address, a secret it does not accept, a body it cannot take) would be
refused again unchanged: it is set aside (``OutboundRefused``) for a person to look at, and
tried again when they say so (``OutboundRetried``), rather than every hour for ever.

Kinds: ``claim`` (a handed-over claim: its basis in words, capital, interest and costs apart, due
dates, the debtor), ``recall`` (the municipality takes the case back, by hand or because the claim
was written off), ``direct_payment`` (the debtor paid the municipality directly after the
handover), ``long_term_surveillance`` (the claim was written down: keep the case under long-term
surveillance, efterbevakning, to interrupt limitation; domain.md §4, seed 001 and 004).

Each message's stream is ``agency-outbound-<message id>``; a claim's message id is its case id
(dunning's ``handover_id``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from fordra.kernel.events import Event

OutboundKind = Literal["claim", "recall", "direct_payment", "long_term_surveillance"]


class OutboundQueued(Event):
    event_type: ClassVar[str] = "AgencyOutboundQueued"

    message_id: str
    case_id: str
    agency: str
    kind: OutboundKind
    payload: dict[str, Any]


class OutboundDelivered(Event):
    event_type: ClassVar[str] = "AgencyOutboundDelivered"

    message_id: str
    case_id: str
    delivered_at: datetime
    attempts: int


class OutboundFailed(Event):
    event_type: ClassVar[str] = "AgencyOutboundFailed"

    message_id: str
    case_id: str
    attempt: int
    error: str
    retry_at: datetime


class OutboundRefused(Event):
    """The agency refused the message itself: it waits in the refused list, not for a retry."""

    event_type: ClassVar[str] = "AgencyOutboundRefused"

    message_id: str
    case_id: str
    agency: str
    kind: OutboundKind
    attempt: int
    error: str
    refused_at: datetime


class OutboundRetried(Event):
    """A person had a refused message tried again (after the agency's settings were put right)."""

    event_type: ClassVar[str] = "AgencyOutboundRetried"

    message_id: str
    case_id: str


OUTBOUND_EVENTS: tuple[type[Event], ...] = (
    OutboundQueued,
    OutboundDelivered,
    OutboundFailed,
    OutboundRefused,
    OutboundRetried,
)


def outbound_stream(message_id: str) -> str:
    return f"agency-outbound-{message_id}"
