"""Invoicing reacting to other contexts' public events (a process manager): a payment allocated
to an invoice is noted on the invoice, because whether it is paid decides whether it may still be
cancelled (seed 002: makulering only while unpaid)."""

from __future__ import annotations

from collections.abc import Sequence

from fordra.contracts.payments import PaymentAllocated
from fordra.invoicing.application.handlers import CONTEXT, invoice_stream
from fordra.invoicing.domain.events import InvoicePaymentRecorded
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction


def payment_reactions(store: EventStore, registry: EventRegistry) -> dict[str, Reaction]:
    async def on_allocated(env: Envelope) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        stream = invoice_stream(allocated.invoice_id)
        version = await store.stream_version(stream)
        if version == 0:
            return []  # not an invoice of ours (cannot happen; never invent a stream)
        recorded = registry.envelope(
            InvoicePaymentRecorded(
                payment_id=allocated.payment_id,
                component=allocated.component,
                amount_ore=allocated.amount_ore,
            ),
            context=CONTEXT,
            stream_id=stream,
            version=version + 1,
            metadata=env.caused_metadata(),
            occurred_at=env.occurred_at,
        )
        return [StreamAppend(stream, version, [recorded])]

    return {PaymentAllocated.event_type: on_allocated}
