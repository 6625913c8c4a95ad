"""Dunning's own events about late interest (domain.md §3): what it follows of each invoice to
charge the interest once the capital is paid, on a stream per invoice (``late-interest-<id>``).

They are internal (never published): the public ones are ``LateInterestCharged`` and
``ReferenceRateAdded`` in ``fordra.contracts.dunning``. Each records a fact another context told,
in dunning's words, so that the claim's interest can be replayed from dunning's own store whatever
order the invoicing and payments logs arrive in (no order exists between them).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from fordra.kernel.events import Event


class InterestClaimOpened(Event):
    """An invoice was issued: its capital (the capital lines with their VAT; interest and fees
    bear no interest, domain.md §3) and the due date interest runs from."""

    event_type: ClassVar[str] = "InterestClaimOpened"

    invoice_id: str
    customer_id: str
    service_type: str
    due_date: date
    capital_ore: int


class InterestCapitalChanged(Event):
    """The capital bearing interest changed: a payment (``amount_ore`` negative) or its reversal
    (positive) on ``on``, counting from the day after; or a credit note, which lowers the capital
    itself from the start (what was credited was never owed, so it never bore interest)."""

    event_type: ClassVar[str] = "InterestCapitalChanged"

    invoice_id: str
    on: date
    amount_ore: int
    cause: Literal["payment", "credit_note"]


class InterestStartMoved(Event):
    """A postponement (a new ``due_date``) or a deferral (``interest_from``, domain.md §2)."""

    event_type: ClassVar[str] = "InterestStartMoved"

    invoice_id: str
    due_date: date | None = None
    interest_from: date | None = None


class InterestClaimCancelled(Event):
    """The invoice was cancelled (makulering): no interest, ever."""

    event_type: ClassVar[str] = "InterestClaimCancelled"

    invoice_id: str


class InterestSettled(Event):
    """The capital was paid in full on ``paid_on`` and ``amount_ore`` of interest was charged
    (one ``LateInterestCharged`` per rate period, appended with it): exactly once per invoice."""

    event_type: ClassVar[str] = "InterestSettled"

    invoice_id: str
    paid_on: date
    amount_ore: int


INTEREST_EVENTS: tuple[type[Event], ...] = (
    InterestClaimOpened,
    InterestCapitalChanged,
    InterestStartMoved,
    InterestClaimCancelled,
    InterestSettled,
)
