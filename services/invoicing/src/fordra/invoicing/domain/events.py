"""Invoicing's internal events: kept in its own log, never published as contracts.

``InvoiceNumberBlockReserved`` reserves a block of serial numbers for one process's series on the
tenant's counter stream (an optimistic append: blocks never overlap); the process then hands them
out in memory (domain/numbering.py, docs/adr/0004-invoice-numbering.md). ``InvoiceSerialReserved``
is the counter's older event, one per invoice, still read on streams that hold it.
``OcrReferenceClaimed`` does the same for OCR references. ``IdNumberClaimed`` makes an
identity number unique among customers: its stream (named by a keyed
hash of the number, so the name reveals nothing) can be created once. ``SourceReferenceClaimed``
books a departmental system's own invoice id once per department the same way.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from fordra.kernel.events import Event


class InvoiceSerialReserved(Event):
    """One serial taken for one invoice or credit note: the counter's event before numbers were
    reserved in blocks. No longer written by the use cases; a counter that holds it continues
    after its ``serial_number``."""

    event_type: ClassVar[str] = "InvoiceSerialReserved"
    invoice_id: str
    serial_number: int


class InvoiceNumberBlockReserved(Event):
    """Serial numbers ``first`` to ``last`` (inclusive) belong to the process series ``series``,
    which hands them out in ascending order (domain/numbering.py)."""

    event_type: ClassVar[str] = "InvoiceNumberBlockReserved"
    first: int
    last: int
    series: str


class IdNumberClaimed(Event):
    event_type: ClassVar[str] = "IdNumberClaimed"
    customer_id: str


class OcrReferenceClaimed(Event):
    """An OCR reference is never reused (domain.md §2): its stream can be created once."""

    event_type: ClassVar[str] = "OcrReferenceClaimed"
    invoice_id: str


class SourceReferenceClaimed(Event):
    """A department's ``source_reference`` was booked: as an invoice, as a small amount held for a
    later invoice (``held_id``), or dropped (neither). Whether it came alone or in a batch, and
    whatever key or role sent it, the same reference of the same department is booked once."""

    event_type: ClassVar[str] = "SourceReferenceClaimed"
    department: str
    invoice_id: str | None = None
    held_id: str | None = None


class BillingPeriodBilled(Event):
    """An invoice billed this period of a service for a customer (and property): the next one
    starts after it (billing_period.next_billing_period)."""

    event_type: ClassVar[str] = "BillingPeriodBilled"
    invoice_id: str
    start: date
    end: date


class ProtectedIdentityAccessed(Event):
    """Someone read a protected person's name and address (who and when: the envelope)."""

    event_type: ClassVar[str] = "ProtectedIdentityAccessed"
    customer_id: str
    purpose: str


class InvoicePaymentRecorded(Event):
    """Payments allocated part of a payment to this invoice (a negative amount undoes one)."""

    event_type: ClassVar[str] = "InvoicePaymentRecorded"
    payment_id: str
    component: str
    amount_ore: int


class InvoiceWriteOffRecorded(Event):
    """Dunning wrote the claim off (``ClaimWrittenOff``, domain.md §4): ``amount_ore`` of it is an
    established loss, no longer owed, so it can be neither credited nor cancelled again."""

    event_type: ClassVar[str] = "InvoiceWriteOffRecorded"
    amount_ore: int


INTERNAL_EVENTS: tuple[type[Event], ...] = (
    InvoicePaymentRecorded,
    InvoiceWriteOffRecorded,
    ProtectedIdentityAccessed,
    InvoiceSerialReserved,
    InvoiceNumberBlockReserved,
    IdNumberClaimed,
    OcrReferenceClaimed,
    BillingPeriodBilled,
    SourceReferenceClaimed,
)
