"""A payment the municipality received directly on a claim at the agency is reported to the
agency (issue 15, "Recall": "A payment received directly after handover is reported to the
agency"; domain.md §5), so that it does not go on collecting what is paid.

The gateway follows payments' public ``PaymentAllocated``: an allocation to an invoice whose
current case is still at the agency (not closed, not recalled) queues a ``direct_payment`` message
for that agency (``OutboundQueued`` on a stream of its own, which the delivery takes to the agency
like any other message). What the agency itself collected is not reported back to it: payments
books it as the payment ``agency-<event id of the AgencyPaymentCollected>``
(``fordra.payments.application.agency_payments``), which the case's own stream names. A
reversal (a negative allocation) is reported too: the agency must know the money is owed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fordra.agency_gateway.application.cases import load_case
from fordra.agency_gateway.application.deps import CONTEXT
from fordra.agency_gateway.domain.case import (
    CaseOfInvoice,
    case_stream,
    invoice_cases_stream,
)
from fordra.agency_gateway.domain.outbound import OutboundQueued, outbound_stream
from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Prefetched, Reaction


def direct_payment_message_id(allocation_event_id: str) -> str:
    """One message per allocation event: a redelivered allocation finds its message queued."""
    return f"direct-{allocation_event_id}"


def direct_payment_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    async def on_allocated(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        index = await store.read_stream(invoice_cases_stream(allocated.invoice_id))
        if not index:
            return []  # never handed over: the common case
        case_id = registry.load_as(index[-1], CaseOfInvoice).case_id
        case, _ = await load_case(store, registry, case_id)
        if case is None or case.ended:
            return []
        collected_by_agency = {
            f"agency-{e.event_id}"
            for e in await store.read_stream(case_stream(case_id))
            if e.event_type == AgencyPaymentCollected.event_type
        }
        if allocated.payment_id in collected_by_agency:
            return []
        message_id = direct_payment_message_id(env.event_id)
        out = outbound_stream(message_id)
        if await store.stream_version(out):
            return []
        queued = OutboundQueued(
            message_id=message_id,
            case_id=case_id,
            agency=case.agency,
            kind="direct_payment",
            payload={
                "case_id": case_id,
                "invoice_id": allocated.invoice_id,
                "payment_id": allocated.payment_id,
                "component": allocated.component,
                "amount_ore": allocated.amount_ore,
                "paid_on": env.occurred_at.date().isoformat(),
            },
        )
        envelope = registry.envelope(
            queued,
            context=CONTEXT,
            stream_id=out,
            version=1,
            metadata=env.caused_metadata(),
            occurred_at=env.occurred_at,
        )
        return [StreamAppend(out, 0, [envelope])]

    def reads(env: Envelope) -> Iterable[str]:
        # The invoice's cases, read for a whole batch of allocations at once.
        invoice_id = env.payload.get("invoice_id")
        return [invoice_cases_stream(str(invoice_id))] if invoice_id else []

    return {PaymentAllocated.event_type: Prefetched(on_allocated, reads=reads)}
