"""Payments learns what to collect from invoicing's public events (a process manager): each
issued invoice opens a receivable (and the customer's credit is set off against it), a credit note
reduces it (releasing what it took of paid services to the customer's credit), a cancellation
closes it, and a dispute, deferral or postponement puts it under a hold that set-off respects.

From dunning's public events it learns of a write-off (``ClaimWrittenOff``, domain.md §4): the
claim is closed for good and nothing more is allocated to it. A write-down (``ClaimWrittenDown``)
is not followed here on purpose: the claim stays owed, under long-term surveillance, and a payment
of it is allocated as before (dunning reverses the value adjustment from our ``PaymentAllocated``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Literal

from fordra.contracts.dunning import ClaimWrittenOff
from fordra.contracts.invoicing import (
    CreditNoteIssued,
    CustomerPreferencesChanged,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Prefetched, Reaction
from fordra.payments.application.booking import (
    BookingBatch,
    apply_customer_credit,
    release_credited_payments,
)
from fordra.payments.application.streams import (
    CONTEXT,
    autogiro_payer_stream,
    credit_stream,
    customer_receivables_stream,
    ocr_stream,
    receivable_stream,
)
from fordra.payments.domain.allocation import AllocationPolicy
from fordra.payments.domain.events import (
    AutogiroPayerRegistered,
    OcrRegistered,
    ReceivableClosed,
    ReceivableHeld,
    ReceivableListed,
    ReceivableOpened,
    ReceivableReduced,
    ReceivableReleased,
    ReceivableWrittenOff,
)
from fordra.payments.domain.receivable import interest_and_fees_owed, owed_by_service

HoldReason = Literal["disputed", "deferred", "postponed", "payment_plan"]

__all__ = [
    "CONTEXT",
    "autogiro_payer_stream",
    "customer_receivables_stream",
    "ocr_stream",
    "receivable_reactions",
    "receivable_stream",
    "write_off_reactions",
]


def receivable_reactions(registry: EventRegistry, policy: AllocationPolicy) -> dict[str, Reaction]:
    def batch_for(store: EventStore, cause: Envelope) -> BookingBatch:
        return BookingBatch(store, registry, cause.caused_metadata(), cause.occurred_at)

    async def on_issued(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        """A new claim; the customer's credit, if any, is set off against it at once."""
        issued = registry.load_as(env, InvoiceIssued)
        batch = batch_for(store, env)
        opened = ReceivableOpened(
            invoice_id=issued.invoice_id,
            invoice_number=issued.invoice_number,
            customer_id=issued.customer_id,
            ocr=issued.ocr,
            due_date=issued.due_date,
            owed_by_service=owed_by_service(issued.lines, issued.vat),
            owed_interest_and_fees=interest_and_fees_owed(issued.lines, issued.vat),
        )
        await batch.add(receivable_stream(issued.invoice_id), opened)
        await batch.add(ocr_stream(issued.ocr), OcrRegistered(invoice_id=issued.invoice_id))
        await batch.add(
            customer_receivables_stream(issued.customer_id),
            ReceivableListed(invoice_id=issued.invoice_id),
        )
        await apply_customer_credit(batch, policy, issued.customer_id, today=env.occurred_at.date())
        return batch.appends()

    def issued_reads(env: Envelope) -> Iterable[str]:
        # What on_issued reads of an invoice run, read for the whole batch at once: the
        # customer's list of claims and credit (a credit to set off reads more, as it goes).
        issued = registry.load_as(env, InvoiceIssued)
        return [customer_receivables_stream(issued.customer_id), credit_stream(issued.customer_id)]

    def issued_creates(env: Envelope) -> Iterable[str]:
        # A new invoice's receivable and OCR number start streams of their own: not read.
        issued = registry.load_as(env, InvoiceIssued)
        return [receivable_stream(issued.invoice_id), ocr_stream(issued.ocr)]

    async def on_credited(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        """A credit note reduces the claim; what it took of paid services becomes the
        customer's credit, which then pays their open claims (issue 9, item 2)."""
        credit = registry.load_as(env, CreditNoteIssued)
        batch = batch_for(store, env)
        await batch.add(
            receivable_stream(credit.invoice_id),
            ReceivableReduced(
                invoice_id=credit.invoice_id,
                by_service=owed_by_service(credit.lines, credit.vat),
                interest_and_fees=interest_and_fees_owed(credit.lines, credit.vat),
            ),
        )
        reduced = await batch.receivable(credit.invoice_id)
        if reduced is not None and await release_credited_payments(batch, reduced):
            await apply_customer_credit(
                batch, policy, reduced.customer_id, today=env.occurred_at.date()
            )
        return batch.appends()

    async def on_cancelled(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cancelled = registry.load_as(env, InvoiceCancelled)
        batch = batch_for(store, env)
        await batch.add(
            receivable_stream(cancelled.invoice_id),
            ReceivableClosed(invoice_id=cancelled.invoice_id),
        )
        return batch.appends()

    async def hold(
        env: Envelope, store: EventStore, invoice_id: str, reason: HoldReason, until: date | None
    ) -> Sequence[StreamAppend]:
        batch = batch_for(store, env)
        if await batch.receivable(invoice_id) is None:
            return []
        await batch.add(
            receivable_stream(invoice_id),
            ReceivableHeld(invoice_id=invoice_id, reason=reason, until=until),
        )
        return batch.appends()

    async def on_disputed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        disputed = registry.load_as(env, InvoiceDisputed)
        return await hold(env, store, disputed.invoice_id, "disputed", None)

    async def on_deferred(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        deferred = registry.load_as(env, DeferralGranted)
        return await hold(env, store, deferred.invoice_id, "deferred", deferred.deferred_until)

    async def on_postponed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        postponed = registry.load_as(env, DueDatePostponed)
        return await hold(env, store, postponed.invoice_id, "postponed", postponed.due_date)

    async def on_dispute_resolved(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        """The hold ends; credit waiting for the claim pays it now."""
        resolved = registry.load_as(env, DisputeResolved)
        batch = batch_for(store, env)
        receivable = await batch.receivable(resolved.invoice_id)
        if receivable is None:
            return []
        await batch.add(
            receivable_stream(resolved.invoice_id),
            ReceivableReleased(invoice_id=resolved.invoice_id, reason="disputed"),
        )
        await apply_customer_credit(
            batch, policy, receivable.customer_id, today=env.occurred_at.date()
        )
        return batch.appends()

    async def on_preferences(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        prefs = registry.load_as(env, CustomerPreferencesChanged)
        if not prefs.autogiro or not prefs.autogiro_payer_number:
            return []
        batch = batch_for(store, env)
        await batch.add(
            autogiro_payer_stream(prefs.autogiro_payer_number),
            AutogiroPayerRegistered(customer_id=prefs.customer_id),
        )
        return batch.appends()

    return {
        CustomerPreferencesChanged.event_type: on_preferences,
        InvoiceIssued.event_type: Prefetched(on_issued, reads=issued_reads, creates=issued_creates),
        CreditNoteIssued.event_type: on_credited,
        InvoiceCancelled.event_type: on_cancelled,
        InvoiceDisputed.event_type: on_disputed,
        DisputeResolved.event_type: on_dispute_resolved,
        DeferralGranted.event_type: on_deferred,
        DueDatePostponed.event_type: on_postponed,
        # Dunning's log (domain.md §4): a write-off closes the claim; a write-down changes
        # nothing in payments (module docstring).
        **write_off_reactions(registry),
    }


def write_off_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """Dunning's ``ClaimWrittenOff`` (module docstring), part of ``receivable_reactions``: the
    receivable must be there first, and the same consumer opens it."""

    async def on_written_off(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        """The claim is closed for good (domain.md §4): from now on a payment naming it is not
        allocated to it (it waits in the work queue, or is set off against the customer's other
        claims, then kept as credit), and set-off and credit pass it by. What was allocated to
        it before stays. Written off twice, or after a cancellation: nothing more to close."""
        written_off = registry.load_as(env, ClaimWrittenOff)
        batch = BookingBatch(store, registry, env.caused_metadata(), env.occurred_at)
        receivable = await batch.receivable(written_off.invoice_id)
        if receivable is None:
            # Payments has not learnt of the invoice yet (its reaction to invoicing lags): fail,
            # so that the bus delivers this again, rather than let a later payment pay it.
            raise LookupError(f"invoice {written_off.invoice_id} is not known to payments yet")
        if receivable.closed:
            return []
        await batch.add(
            receivable_stream(written_off.invoice_id),
            ReceivableWrittenOff(
                invoice_id=written_off.invoice_id,
                written_off_on=written_off.written_off_on,
                reason=written_off.reason,
                decision_reference=written_off.decision_reference,
            ),
        )
        return batch.appends()

    return {ClaimWrittenOff.event_type: on_written_off}
