"""The social-services notification queue (issue 16; domain.md §6, ellagen 11:4): when the notice
goes out, the social welfare board of the municipality where the electricity is delivered is told
of the missed payment (``SocialServicesMessageQueued``, on the case's stream). The board reads its
own municipality's messages, acknowledges them, and may say in writing within the 3 weeks that it
takes over the debt, which stops the disconnection (``DisconnectionBlocked`` with reason
``board_takeover``, the procedure's rule ``decide_block``)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from fordra.kernel.events import Event


class NotificationAcknowledged(Event):
    """The board has read the message (the first acknowledgement counts; another changes
    nothing)."""

    event_type: ClassVar[str] = "SocialServicesNotificationAcknowledged"

    notification_id: str
    case_id: str
    acknowledged_on: date


SOCIAL_SERVICES_EVENTS: tuple[type[Event], ...] = (NotificationAcknowledged,)


def notification_stream(notification_id: str) -> str:
    return f"social-notification-{notification_id}"


def same_municipality(a: str, b: str | None) -> bool:
    """A board reads only its own municipality's messages; names compare without case or
    surrounding space (a token says "tranemo", a supply point "Tranemo")."""
    return b is not None and a.strip().casefold() == b.strip().casefold()
