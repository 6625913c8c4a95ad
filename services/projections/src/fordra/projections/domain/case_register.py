"""The case register's events: a case of the office's work opened with its due date, and done
(domain.md §8, issue 17 "Cases and service levels").

A case lives in a stream of its own (``case_stream``). A case registered by hand gets a fresh id;
a case another context raised (a refund to attest, a payment plan to decide, a credit note or a
cancellation to attest, an objection from Kronofogden) is named after what raised it
(``raised_case_id``), so that the event raising it seen again opens nothing new and the decision
that ends it finds it. These events are the register's own, read by its read model only: other
contexts learn nothing from them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from fordra.kernel.events import Event

CASE_STREAM_PREFIX = "service-case-"


def case_stream(case_id: str) -> str:
    return f"{CASE_STREAM_PREFIX}{case_id}"


def raised_case_id(kind: str, source_id: str) -> str:
    """The id of the case that ``source_id`` (a refund's, a plan's, a request's id) raised."""
    return f"{kind}-{source_id}"


class ServiceCaseOpened(Event):
    """A case entered the register with the due date its service level gives (domain.md §8).

    ``received_at`` is as the case came (its offset kept), ``day_one`` and ``due_by`` on the
    Swedish clock; ``raised_by`` names the event type that raised it, None when registered by
    hand."""

    event_type: ClassVar[str] = "ServiceCaseOpened"

    case_id: str
    kind: str
    received_at: datetime
    day_one: date
    due_by: date
    invoice_id: str | None = None
    autogiro: bool = False
    opened_by: str
    raised_by: str | None = None


class ServiceCaseDone(Event):
    """The case was handled: by hand (``POST /api/v1/cases/{id}/done``) or by the decision event
    that ends it (``closed_by_event``)."""

    event_type: ClassVar[str] = "ServiceCaseDone"

    case_id: str
    done_at: datetime
    done_on: date  # on the Swedish clock
    handling_days: int  # the working day of the case it was done on, day 1 first
    in_time: bool
    done_by: str
    closed_by_event: str | None = None


CASE_REGISTER_EVENTS: tuple[type[Event], ...] = (ServiceCaseOpened, ServiceCaseDone)
