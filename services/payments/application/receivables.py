"""Payments learns what to collect from invoicing's public events (a process manager): each
issued invoice opens a receivable, a credit note reduces it, a cancellation closes it."""

from __future__ import annotations

from collections.abc import Sequence

from fordra.contracts.invoicing import (
    CreditNoteIssued,
    CustomerPreferencesChanged,
    InvoiceCancelled,
    InvoiceIssued,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction
from fordra.payments.domain.events import (
    AutogiroPayerRegistered,
    OcrRegistered,
    ReceivableClosed,
    ReceivableListed,
    ReceivableOpened,
    ReceivableReduced,
)
from fordra.payments.domain.receivable import interest_and_fees_owed, owed_by_service

CONTEXT = "payments"


def receivable_stream(invoice_id: str) -> str:
    return f"receivable-{invoice_id}"


def ocr_stream(ocr: str) -> str:
    return f"receivable-ocr-{ocr}"


def customer_receivables_stream(customer_id: str) -> str:
    return f"customer-receivables-{customer_id}"


def autogiro_payer_stream(payer_number: str) -> str:
    return f"autogiro-payer-{payer_number.lstrip('0')}"


def receivable_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    async def append_to(
        store: EventStore, stream: str, cause: Envelope, *events: Event
    ) -> StreamAppend:
        version = await store.stream_version(stream)
        return StreamAppend(
            stream,
            version,
            [
                registry.envelope(
                    e,
                    context=CONTEXT,
                    stream_id=stream,
                    version=version + i,
                    metadata=cause.caused_metadata(),
                    occurred_at=cause.occurred_at,
                )
                for i, e in enumerate(events, start=1)
            ],
        )

    async def on_issued(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        issued = registry.load_as(env, InvoiceIssued)
        opened = ReceivableOpened(
            invoice_id=issued.invoice_id,
            invoice_number=issued.invoice_number,
            customer_id=issued.customer_id,
            ocr=issued.ocr,
            due_date=issued.due_date,
            owed_by_service=owed_by_service(issued.lines, issued.vat),
            owed_interest_and_fees=interest_and_fees_owed(issued.lines, issued.vat),
        )
        return [
            await append_to(store, receivable_stream(issued.invoice_id), env, opened),
            await append_to(
                store, ocr_stream(issued.ocr), env, OcrRegistered(invoice_id=issued.invoice_id)
            ),
            await append_to(
                store,
                customer_receivables_stream(issued.customer_id),
                env,
                ReceivableListed(invoice_id=issued.invoice_id),
            ),
        ]

    async def on_credited(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        credit = registry.load_as(env, CreditNoteIssued)
        reduced = ReceivableReduced(
            invoice_id=credit.invoice_id,
            by_service=owed_by_service(credit.lines, credit.vat),
            interest_and_fees=interest_and_fees_owed(credit.lines, credit.vat),
        )
        return [await append_to(store, receivable_stream(credit.invoice_id), env, reduced)]

    async def on_cancelled(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cancelled = registry.load_as(env, InvoiceCancelled)
        closed = ReceivableClosed(invoice_id=cancelled.invoice_id)
        return [await append_to(store, receivable_stream(cancelled.invoice_id), env, closed)]

    async def on_preferences(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        prefs = registry.load_as(env, CustomerPreferencesChanged)
        if not prefs.autogiro or not prefs.autogiro_payer_number:
            return []
        stream = autogiro_payer_stream(prefs.autogiro_payer_number)
        return [
            await append_to(
                store, stream, env, AutogiroPayerRegistered(customer_id=prefs.customer_id)
            )
        ]

    return {
        CustomerPreferencesChanged.event_type: on_preferences,
        InvoiceIssued.event_type: on_issued,
        CreditNoteIssued.event_type: on_credited,
        InvoiceCancelled.event_type: on_cancelled,
    }
