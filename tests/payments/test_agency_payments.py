"""Payments the collection agency collected, on a ``MemoryEventStore``: booked as the agency split
them, the capital by the same rule as every other payment (domain/settlement.py; domain.md §3
"keep capital, interest and each kind of cost apart", §5)."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.contracts.payments import (
    CustomerCreditRecorded,
    PaymentAllocated,
    PaymentMatched,
    PaymentReceived,
)
from fordra.payments.application.agency_payments import agency_reactions
from fordra.payments.application.streams import credit_stream
from tests.utils.payments import PaymentsOnMemory

TODAY = date(2026, 3, 2)


@pytest.fixture
async def payments() -> PaymentsOnMemory:
    return await PaymentsOnMemory.start(TODAY)


async def collected(payments: PaymentsOnMemory, **split: object) -> None:
    on_collected = agency_reactions(payments.deps)[AgencyPaymentCollected.event_type]
    event = AgencyPaymentCollected.model_validate(
        {"agency_reference": "AG-1", "collected_on": TODAY, **split}
    )
    await payments.react(on_collected, event, context="agency-gateway")


async def test_a_collection_is_allocated_as_the_agency_split_it(
    payments: PaymentsOnMemory,
) -> None:
    # Given a 1,000 kr claim handed to the agency
    invoice = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    # When the agency reports 1,000 kr capital, 50 kr interest and the 180 kr collection fee
    await collected(
        payments,
        invoice_id=invoice.invoice_id,
        capital_ore=100_000,
        interest_ore=5_000,
        collection_fee_ore=18_000,
    )
    # Then one payment of 1,230 kr, each part allocated as a component of its own
    log = await payments.log()
    assert [e.amount_ore for e in log if isinstance(e, PaymentReceived)] == [123_000]
    allocations = [(e.component, e.amount_ore) for e in log if isinstance(e, PaymentAllocated)]
    assert allocations == [("capital", 100_000), ("interest", 5_000), ("collection_fee", 18_000)]
    paid = await payments.receivable(invoice.invoice_id)
    assert paid is not None
    assert paid.open_ore == 0


async def test_capital_beyond_the_claim_is_set_off_then_credited(
    payments: PaymentsOnMemory,
) -> None:
    invoice = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    other = await payments.invoice("c-1", {"waste": 3_000}, due=date(2026, 3, 31))

    await collected(payments, invoice_id=invoice.invoice_id, capital_ore=105_000, interest_ore=0)

    log = await payments.log()
    assert [(e.invoice_id, e.method) for e in log if isinstance(e, PaymentMatched)] == [
        (invoice.invoice_id, "manual"),
        (other.invoice_id, "set_off"),
    ]
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [(c.amount_ore, c.reason) for c in credit] == [(2_000, "overpayment")]


async def test_a_collection_reported_twice_is_booked_once(payments: PaymentsOnMemory) -> None:
    invoice = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    split = {"invoice_id": invoice.invoice_id, "capital_ore": 40_000, "interest_ore": 0}
    await collected(payments, **split)

    await collected(payments, **split)

    received = [e for e in await payments.log() if isinstance(e, PaymentReceived)]
    assert len(received) == 1


async def test_a_collection_for_an_invoice_payments_has_not_learnt_of_yet_is_retried(
    payments: PaymentsOnMemory,
) -> None:
    # Failing makes the bus deliver it again later, rather than drop the money
    with pytest.raises(LookupError):
        await collected(payments, invoice_id="inv-unknown", capital_ore=40_000, interest_ore=0)
    assert await payments.store.max_position() == 0
