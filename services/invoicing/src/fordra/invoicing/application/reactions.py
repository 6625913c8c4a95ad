"""Invoicing reacting to other contexts' public events (a process manager): a payment allocated
to an invoice is noted on the invoice, because whether it is paid decides whether it may still be
cancelled (seed 002: makulering only while unpaid), and so is a write-off (what it took is never
credited or cancelled again); late interest that dunning charged, the fee of
a reminder sent and the fee of a payment plan signed are held for the customer's next invoice
(seed 001; domain.md §3 keeps interest and each fee apart from the capital)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from fordra.contracts.dunning import (
    ClaimWrittenOff,
    LateInterestCharged,
    PaymentPlanActivated,
    ReminderSent,
)
from fordra.contracts.invoicing import SERVICE_TYPES, InvoiceLine, LateInterestHeld
from fordra.contracts.payments import PaymentAllocated
from fordra.invoicing.application.handlers import invoice_stream, small_amounts_stream
from fordra.invoicing.application.numbering import CONTEXT
from fordra.invoicing.domain.events import InvoicePaymentRecorded, InvoiceWriteOffRecorded
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Prefetched, Reaction, append_caused


def payment_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    async def on_allocated(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        stream = invoice_stream(allocated.invoice_id)
        if await store.stream_version(stream) == 0:
            return []  # not an invoice of ours (cannot happen; never invent a stream)
        recorded = InvoicePaymentRecorded(
            payment_id=allocated.payment_id,
            component=allocated.component,
            amount_ore=allocated.amount_ore,
        )
        return await append_caused(
            registry, store, env, context=CONTEXT, stream_id=stream, event=recorded
        )

    async def on_written_off(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        # What was written off is no longer owed: never credited or cancelled again (a found
        # path: a credit note after a write-off took the same öre off the ledger twice).
        written_off = registry.load_as(env, ClaimWrittenOff)
        stream = invoice_stream(written_off.invoice_id)
        if await store.stream_version(stream) == 0 or written_off.amount_ore <= 0:
            return []
        recorded = InvoiceWriteOffRecorded(amount_ore=written_off.amount_ore)
        return await append_caused(
            registry, store, env, context=CONTEXT, stream_id=stream, event=recorded
        )

    def written_off_reads(env: Envelope) -> Iterable[str]:
        return [invoice_stream(registry.load_as(env, ClaimWrittenOff).invoice_id)]

    def allocated_reads(env: Envelope) -> Iterable[str]:
        # A bank file allocates to thousands of invoices: their streams are read at once.
        return [invoice_stream(registry.load_as(env, PaymentAllocated).invoice_id)]

    async def on_interest(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        interest = registry.load_as(env, LateInterestCharged)
        line = InvoiceLine(
            description=(
                f"Dröjsmålsränta {interest.rate_percent} % "
                f"{interest.from_date.isoformat()}–{interest.to_date.isoformat()}"
            ),
            service_type=interest.service_type
            if interest.service_type in SERVICE_TYPES
            else "other",
            quantity=Decimal(1),
            unit_price_ore=interest.amount_ore,
            vat_rate=0,  # interest is outside the scope of VAT
            net_ore=interest.amount_ore,
            kind="interest",  # never the claim's service capital (domain.md §3)
        )
        held = LateInterestHeld(
            held_id=interest.interest_id,
            customer_id=interest.customer_id,
            invoice_id=interest.invoice_id,
            line=line,
        )
        return await append_caused(
            registry,
            store,
            env,
            context=CONTEXT,
            stream_id=small_amounts_stream(interest.customer_id),
            event=held,
        )

    def interest_reads(env: Envelope) -> Iterable[str]:
        # A dunning run charges interest on many customers' invoices at once.
        return [small_amounts_stream(registry.load_as(env, LateInterestCharged).customer_id)]

    async def hold_fee(
        env: Envelope,
        store: EventStore,
        *,
        held_id: str,
        customer_id: str,
        invoice_id: str,
        service_type: str | None,
        description: str,
        fee_ore: int,
    ) -> Sequence[StreamAppend]:
        # A fee of dunning's (a reminder's, a payment plan's: statutory caps, domain.md §3) goes
        # on the customer's next invoice as a fee line of its own, as late interest does, so
        # that a payment of a dunned invoice's OCR pays that invoice's capital and nothing else.
        if fee_ore <= 0:
            return []
        line = InvoiceLine(
            description=description,
            service_type=service_type if service_type in SERVICE_TYPES else "other",
            quantity=Decimal(1),
            unit_price_ore=fee_ore,
            # Compensation for the creditor's costs, not consideration for a supply: outside
            # the scope of VAT, like late interest.
            vat_rate=0,
            net_ore=fee_ore,
            kind="fee",
        )
        held = LateInterestHeld(
            held_id=held_id, customer_id=customer_id, invoice_id=invoice_id, line=line
        )
        return await append_caused(
            registry,
            store,
            env,
            context=CONTEXT,
            stream_id=small_amounts_stream(customer_id),
            event=held,
        )

    async def on_reminder(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        # Owed once the reminder is sent (only where agreed when the debt arose: dunning's
        # policy decided).
        reminder = registry.load_as(env, ReminderSent)
        return await hold_fee(
            env,
            store,
            held_id=f"reminder-fee-{reminder.letter_id}",
            customer_id=reminder.customer_id,
            invoice_id=reminder.invoice_id,
            service_type=reminder.service_type,
            description=f"Påminnelseavgift, påminnelse {reminder.sent_on.isoformat()}",
            fee_ore=reminder.fee_ore,
        )

    async def on_plan(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        # Owed once the debtor signed the written plan.
        plan = registry.load_as(env, PaymentPlanActivated)
        return await hold_fee(
            env,
            store,
            held_id=f"plan-fee-{plan.plan_id}",
            customer_id=plan.customer_id,
            invoice_id=plan.invoice_ids[0],
            service_type=plan.service_type,
            description=f"Avgift för avbetalningsplan, {plan.activated_on.isoformat()}",
            fee_ore=plan.fee_ore,
        )

    def reminder_reads(env: Envelope) -> Iterable[str]:
        return [small_amounts_stream(registry.load_as(env, ReminderSent).customer_id)]

    def plan_reads(env: Envelope) -> Iterable[str]:
        return [small_amounts_stream(registry.load_as(env, PaymentPlanActivated).customer_id)]

    return {
        PaymentAllocated.event_type: Prefetched(on_allocated, reads=allocated_reads),
        LateInterestCharged.event_type: Prefetched(on_interest, reads=interest_reads),
        ReminderSent.event_type: Prefetched(on_reminder, reads=reminder_reads),
        PaymentPlanActivated.event_type: Prefetched(on_plan, reads=plan_reads),
        ClaimWrittenOff.event_type: Prefetched(on_written_off, reads=written_off_reads),
    }
