"""Payments the collection agency collected (issue: payments): they arrive split into capital,
interest and fees, and are allocated as split — capital to the invoice's services by the usual
policy, interest and each fee as components of their own (domain.md §3: keep them apart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.contracts.payments import PaymentMatched, PaymentReceived
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction
from fordra.payments.application.booking import (
    BookingBatch,
    PaymentsDeps,
    settle_matched_payment,
)
from fordra.payments.application.import_file import bank_reference_stream
from fordra.payments.application.streams import payment_stream
from fordra.payments.domain.events import BankReferenceClaimed


def agency_reactions(all_deps: PaymentsDeps) -> dict[str, Reaction]:
    async def on_collected(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        deps = replace(all_deps, store=store)
        collected = deps.registry.load_as(env, AgencyPaymentCollected)
        claim_stream = bank_reference_stream("agency", collected.agency_reference)
        if await deps.store.stream_version(claim_stream):
            return []  # reported twice: booked once
        batch = BookingBatch(deps.store, deps.registry, env.caused_metadata(), env.occurred_at)
        receivable = await batch.receivable(collected.invoice_id)
        if receivable is None:
            # Payments has not learnt of the invoice yet (its own reaction to invoicing lags):
            # fail, so that the bus delivers this again later, rather than drop the money.
            raise LookupError(f"invoice {collected.invoice_id} is not known to payments yet")
        total = (
            collected.capital_ore
            + collected.interest_ore
            + collected.reminder_fee_ore
            + collected.collection_fee_ore
        )
        payment_id = f"agency-{env.event_id}"
        await batch.add(claim_stream, BankReferenceClaimed(payment_id=payment_id, amount_ore=total))
        await batch.add(
            payment_stream(payment_id),
            PaymentReceived(
                payment_id=payment_id,
                file_id=f"agency:{collected.agency_reference}",
                bank_reference=collected.agency_reference,
                amount_ore=total,
                currency="SEK",
                reference=receivable.ocr,
                reference_kind="ocr",
                received_on=collected.collected_on,
            ),
            PaymentMatched(
                payment_id=payment_id,
                invoice_id=receivable.invoice_id,
                customer_id=receivable.customer_id,
                method="manual",
            ),
        )
        # Interest and fees as the agency split them; capital beyond what is owed is not lost:
        # set off, then the customer's credit (domain/settlement.py).
        await settle_matched_payment(
            batch,
            deps,
            payment_id,
            receivable,
            total,
            today=env.occurred_at.date(),
            instructed={
                "interest": collected.interest_ore,
                "reminder_fee": collected.reminder_fee_ore,
                "collection_fee": collected.collection_fee_ore,
            },
        )
        return batch.appends()

    return {AgencyPaymentCollected.event_type: on_collected}
