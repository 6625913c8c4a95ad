"""An invoice as its events left it: what is open, whether it may still be credited, cancelled,
postponed or deferred. Built by replaying the invoice's own stream."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from fordra.contracts.invoicing import (
    CreditNoteIssued,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
    InvoiceLine,
)
from fordra.invoicing.domain.events import InvoicePaymentRecorded, InvoiceWriteOffRecorded
from fordra.kernel.events import Event


@dataclass(frozen=True, slots=True)
class InvoiceState:
    invoice_id: str
    customer_id: str
    department: str
    invoice_date: date
    due_date: date
    lines: tuple[InvoiceLine, ...]
    total_ore: int
    original_due_date: date
    credited_ore: int = 0
    # Payments and hand-over arrive from the payments and agency contexts once they publish them.
    paid_ore: int = 0  # capital
    # Interest and fees invoiced as lines of their own (late interest on the next invoice), and
    # what payments allocated to interest and fees: the agency may collect more of them than
    # the invoice carries, which pays nothing of the invoice itself.
    charges_ore: int = 0
    charges_paid_ore: int = 0
    handed_to_agency: bool = False
    # What dunning wrote off (domain.md §4): no longer owed, and never to be credited again.
    written_off_ore: int = 0
    cancelled: bool = False
    disputed: bool = False
    deferred_until: date | None = None
    version: int = 0
    # What the invoice bills (the rent delegation's limits apply to rents only, domain.md §8).
    service_type: str = "other"

    @property
    def open_ore(self) -> int:
        if self.cancelled:
            return 0
        charges_paid = min(self.charges_paid_ore, self.charges_ore)
        owed = self.total_ore - self.credited_ore - self.paid_ore - self.written_off_ore
        return max(owed - charges_paid, 0)


def replay(events: Iterable[Event]) -> InvoiceState | None:
    state: InvoiceState | None = None
    for event in events:
        state = apply(state, event)
    return state


def apply(state: InvoiceState | None, event: Event) -> InvoiceState | None:  # noqa: PLR0911 - one return per event
    if isinstance(event, InvoiceIssued):
        return InvoiceState(
            invoice_id=event.invoice_id,
            customer_id=event.customer_id,
            department=event.department,
            invoice_date=event.invoice_date,
            due_date=event.due_date,
            lines=event.lines,
            total_ore=event.total_ore,
            original_due_date=event.due_date,
            charges_ore=charges_of(event.lines),
            version=1,
            service_type=event.service_type,
        )
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, CreditNoteIssued):
        return replace(state, credited_ore=state.credited_ore + event.total_ore)
    if isinstance(event, InvoiceCancelled):
        return replace(state, cancelled=True)
    if isinstance(event, DueDatePostponed):
        return replace(state, due_date=event.due_date)
    if isinstance(event, DeferralGranted):
        return replace(state, deferred_until=event.deferred_until)
    if isinstance(event, InvoiceDisputed):
        return replace(state, disputed=True)
    if isinstance(event, DisputeResolved):
        return replace(state, disputed=False)
    if isinstance(event, InvoiceWriteOffRecorded):
        return replace(state, written_off_ore=state.written_off_ore + event.amount_ore)
    if isinstance(event, InvoicePaymentRecorded) and event.component == "capital":
        return replace(state, paid_ore=state.paid_ore + event.amount_ore)
    if isinstance(event, InvoicePaymentRecorded):
        return replace(state, charges_paid_ore=state.charges_paid_ore + event.amount_ore)
    return state


def charges_of(lines: Iterable[InvoiceLine]) -> int:
    """Interest and fees on an invoice: its lines of another kind than capital (VAT-free:
    interest and statutory fees are outside the scope of VAT)."""
    return sum(line.net_ore for line in lines if line.kind != "capital")
