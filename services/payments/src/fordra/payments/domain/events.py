"""Payments' internal events: what payments knows of the invoices it collects for, kept in its
own store from invoicing's public events, plus the claims that make imports happen once."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from fordra.kernel.events import Event


class ReceivableOpened(Event):
    """An invoice to collect, with what is owed per service (VAT included): electricity must stay
    apart from the other services (seed 003), so allocation works per service."""

    event_type: ClassVar[str] = "ReceivableOpened"

    invoice_id: str
    invoice_number: str
    customer_id: str
    ocr: str
    due_date: date
    owed_by_service: dict[str, int]  # capital
    # Interest and fees invoiced as lines of their own: component -> service -> öre (none in
    # events stored before the field existed, when late interest was counted as capital).
    owed_interest_and_fees: dict[str, dict[str, int]] = Field(default_factory=dict)


class ReceivableReduced(Event):
    """A credit note took part of the claim away."""

    event_type: ClassVar[str] = "ReceivableReduced"

    invoice_id: str
    by_service: dict[str, int]  # capital
    interest_and_fees: dict[str, dict[str, int]] = Field(default_factory=dict)


class ReceivableClosed(Event):
    """The invoice was cancelled: nothing is owed on it any more."""

    event_type: ClassVar[str] = "ReceivableClosed"

    invoice_id: str


class ReceivableWrittenOff(Event):
    """Dunning wrote the claim off (avskrivning, domain.md §4; its public ``ClaimWrittenOff``):
    it is closed for good, so nothing more is allocated to it. What was allocated before stays;
    a later payment naming it goes where a payment for a closed claim goes (the work queue, or
    the customer's other claims and credit), never onto it. Kept apart from ``ReceivableClosed``
    (a cancellation) so that the queue can tell a case officer why the claim is not open."""

    event_type: ClassVar[str] = "ReceivableWrittenOff"

    invoice_id: str
    written_off_on: date
    reason: str
    decision_reference: str


class ReceivableHeld(Event):
    """A claim under a hold (disputed, deferred, postponed, in a payment plan): set-off and the
    customer's credit leave it alone while the hold lasts (issue 9, item 5). ``until`` is the
    last day of a dated hold; None holds until released."""

    event_type: ClassVar[str] = "ReceivableHeld"

    invoice_id: str
    reason: Literal["disputed", "deferred", "postponed", "payment_plan"]
    until: date | None = None


class ReceivableReleased(Event):
    """A hold ended before its date (a dispute resolved, a plan ended)."""

    event_type: ClassVar[str] = "ReceivableReleased"

    invoice_id: str
    reason: Literal["disputed", "deferred", "postponed", "payment_plan"]


class PaymentCredited(Event):
    """On the payment's own stream: part of this payment went to the customer's credit. The
    money itself is the ``CustomerCreditRecorded`` on the customer's credit stream; this marker
    lets a reversal find it without the ledger counting it twice (issue 9, item 3)."""

    event_type: ClassVar[str] = "PaymentCredited"

    payment_id: str
    customer_id: str
    amount_ore: int


class ReceivableListed(Event):
    """An invoice of this customer: the customer's stream lists them for set-off."""

    event_type: ClassVar[str] = "ReceivableListed"

    invoice_id: str


class OcrRegistered(Event):
    event_type: ClassVar[str] = "OcrRegistered"

    invoice_id: str


class PaymentFileClaimed(Event):
    """A file, by its SHA-256: the same file again changes nothing."""

    event_type: ClassVar[str] = "PaymentFileClaimed"

    file_id: str


class BankReferenceClaimed(Event):
    """The bank's unique reference of one payment (camt ``AcctSvcrRef``, BgMax BGC serial): the
    same payment in another file is a duplicate, booked once."""

    event_type: ClassVar[str] = "BankReferenceClaimed"

    payment_id: str
    amount_ore: int


class AutogiroPayerRegistered(Event):
    """The customer behind an Autogiro payer number (betalarnummer), from their preferences."""

    event_type: ClassVar[str] = "AutogiroPayerRegistered"

    customer_id: str


INTERNAL_EVENTS: tuple[type[Event], ...] = (
    AutogiroPayerRegistered,
    ReceivableOpened,
    ReceivableReduced,
    ReceivableClosed,
    ReceivableWrittenOff,
    ReceivableHeld,
    ReceivableReleased,
    ReceivableListed,
    PaymentCredited,
    OcrRegistered,
    PaymentFileClaimed,
    BankReferenceClaimed,
)
