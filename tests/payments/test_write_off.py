"""Payments after a write-down and a write-off (issue 15; domain.md §4 "Write-down and write-off"),
on a ``MemoryEventStore``, dunning's public events fed through payments' own reaction: a claim
written off is closed for good (nothing more is allocated to it; what was stays), and the money of
a later payment naming it is never lost: it waits in the work queue for a case officer, or goes to
the customer's other claims and credit. A write-down changes nothing: the claim stays owed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff
from fordra.contracts.payments import (
    CustomerCreditRecorded,
    PaymentAllocated,
    PaymentReceived,
    PaymentUnmatched,
)
from fordra.kernel.auth import Role
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.process import ProcessManagerRunner
from fordra.payments.application.agency_payments import agency_reactions
from fordra.payments.application.import_file import import_payment_file
from fordra.payments.application.receivables import receivable_reactions
from fordra.payments.application.streams import credit_stream, receivable_stream
from fordra.payments.application.work_queue import ResolvePayment, resolve_payment
from fordra.payments.domain.events import ReceivableWrittenOff
from fordra.payments.domain.receivable import Receivable
from tests.utils.payments import PaymentsOnMemory, bank_payment

TODAY = date(2026, 3, 2)


@pytest.fixture
async def payments() -> PaymentsOnMemory:
    return await PaymentsOnMemory.start(TODAY)


async def written_off(payments: PaymentsOnMemory, claim: Receivable, **fields: Any) -> None:
    """Dunning's ``ClaimWrittenOff`` of ``claim`` (a death, decision AVS-2026-7), through
    payments' reaction to dunning's log."""
    event = ClaimWrittenOff.model_validate(
        {
            "invoice_id": claim.invoice_id,
            "customer_id": claim.customer_id,
            "service_type": "water",
            "invoice_number": claim.invoice_number,
            "written_off_on": TODAY,
            "amount_ore": claim.open_ore,
            "value_adjustment_ore": 0,
            "reason": "death",
            "decision_reference": "AVS-2026-7",
            **fields,
        }
    )
    react = receivable_reactions(payments.registry, payments.deps.policy)
    await payments.react(react[ClaimWrittenOff.event_type], event, context="dunning")


async def pay(payments: PaymentsOnMemory, ocr: str, amount_ore: int) -> None:
    ingest = payments.principal(Role.BANK_INGEST, "bank")
    data = payments.bank_file("camt054", bank_payment(ocr, amount_ore))
    await import_payment_file(data, payments.deps, ingest, payments.meta())


async def allocated_to(payments: PaymentsOnMemory, invoice_id: str) -> int:
    stream = receivable_stream(invoice_id)
    return sum(e.amount_ore for e in await payments.events_of(stream, PaymentAllocated))


async def test_a_claim_written_off_is_closed_and_keeps_what_was_paid(
    payments: PaymentsOnMemory,
) -> None:
    # Given a claim of 1,000 kr of which 400 kr was paid
    claim = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    await pay(payments, claim.ocr, 40_000)
    # When dunning writes it off
    await written_off(payments, claim)
    # Then it owes nothing more, is closed as written off, and the 400 kr stays allocated
    after = await payments.receivable(claim.invoice_id)
    assert after is not None
    assert (after.open_ore, after.closed, after.written_off) == (0, True, True)
    assert await allocated_to(payments, claim.invoice_id) == 40_000
    (closed,) = await payments.events_of(receivable_stream(claim.invoice_id), ReceivableWrittenOff)
    assert (closed.reason, closed.decision_reference, closed.written_off_on) == (
        "death",
        "AVS-2026-7",
        TODAY,
    )


async def test_a_later_payment_of_its_ocr_waits_in_the_queue_saying_why(
    payments: PaymentsOnMemory,
) -> None:
    # Given a claim written off
    claim = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    await written_off(payments, claim)
    # When a payment of its OCR number comes (an estate pays after all)
    await pay(payments, claim.ocr, 100_000)
    # Then nothing is allocated to it: the money waits in the work queue for a case officer,
    # who is told the claim is written off
    assert await allocated_to(payments, claim.invoice_id) == 0
    (unmatched,) = [e for e in await payments.log() if isinstance(e, PaymentUnmatched)]
    assert (unmatched.amount_ore, unmatched.reason) == (
        100_000,
        "the invoice the OCR reference names is written off",
    )
    # And matching it to the claim by hand is refused, naming why; keeping it as the
    # customer's advance is allowed (nothing else is unpaid), so the money ends somewhere
    officer = payments.principal(Role.CASE_OFFICER, "officer")
    match = ResolvePayment(reason="dödsbo", action="match", invoice_id=claim.invoice_id)
    with pytest.raises(DomainRuleViolation, match="written off") as refused:
        await resolve_payment(unmatched.payment_id, match, payments.deps, officer, payments.meta())
    assert refused.value.rule == "match_open_invoice"
    keep = ResolvePayment(reason="dödsbo", action="keep_as_credit", customer_id="c-1")
    await resolve_payment(unmatched.payment_id, keep, payments.deps, officer, payments.meta())
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [(c.amount_ore, c.reason) for c in credit] == [(100_000, "advance")]


async def test_credit_and_set_off_pass_a_written_off_claim_by(
    payments: PaymentsOnMemory,
) -> None:
    # Given a claim written off (the older) and another open claim of the same customer
    old = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    other = await payments.invoice("c-1", {"waste": 30_000}, due=date(2026, 3, 31))
    await written_off(payments, old)
    # When the other claim is overpaid by 500 kr
    await pay(payments, other.ocr, 80_000)
    # Then the 500 kr is the customer's credit: not set off against the written-off claim
    assert await allocated_to(payments, old.invoice_id) == 0
    assert await allocated_to(payments, other.invoice_id) == 30_000
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [c.amount_ore for c in credit] == [50_000]
    # And a new claim is paid from that credit, the written-off one still not
    newer = await payments.invoice("c-1", {"water": 20_000}, due=date(2026, 4, 30))
    assert await allocated_to(payments, newer.invoice_id) == 20_000
    assert await allocated_to(payments, old.invoice_id) == 0


async def test_what_the_agency_collects_on_it_goes_to_the_customers_credit(
    payments: PaymentsOnMemory,
) -> None:
    # Given a claim written off while the agency still had it (its recall crosses a collection)
    claim = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    await written_off(payments, claim)
    # When the agency reports 600 kr capital, 20 kr interest and the 180 kr fee collected
    event = AgencyPaymentCollected(
        invoice_id=claim.invoice_id,
        agency_reference="reference:e-1",
        collected_on=TODAY,
        capital_ore=60_000,
        interest_ore=2_000,
        collection_fee_ore=18_000,
    )
    await payments.react(
        agency_reactions(payments.deps)[AgencyPaymentCollected.event_type],
        event,
        context="agency-gateway",
    )
    # Then none of it, not even the interest and fee, is allocated to the closed claim: the
    # whole 800 kr is the customer's credit, for a case officer to refund or set off
    assert await allocated_to(payments, claim.invoice_id) == 0
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [c.amount_ore for c in credit] == [80_000]


async def test_a_write_off_seen_twice_closes_once(payments: PaymentsOnMemory) -> None:
    claim = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))

    await written_off(payments, claim)
    await written_off(payments, claim)

    events = await payments.events_of(receivable_stream(claim.invoice_id), ReceivableWrittenOff)
    assert len(events) == 1


async def test_a_write_off_of_an_invoice_not_yet_known_is_delivered_again(
    payments: PaymentsOnMemory,
) -> None:
    # Payments' reaction to invoicing may lag behind dunning: the write-off fails, so that the
    # bus delivers it again (and parks it if it keeps failing), rather than being dropped and
    # letting a later payment pay a claim written off.
    head = await payments.store.max_position()
    unknown = Receivable(
        invoice_id="inv-unknown",
        invoice_number="00000099",
        customer_id="c-1",
        ocr="133",
        due_date=TODAY,
    )
    with pytest.raises(LookupError, match="inv-unknown"):
        await written_off(payments, unknown)
    assert await payments.store.max_position() == head


async def test_a_write_down_changes_nothing_and_a_later_payment_still_pays_the_claim(
    payments: PaymentsOnMemory,
) -> None:
    # Given a claim of 1,000 kr written down (nedskrivning: the claim stays owed, domain.md §4)
    claim = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 1, 31))
    runner = ProcessManagerRunner(
        "payments-receivables",
        payments.store,
        receivable_reactions(payments.registry, payments.deps.policy),
    )
    down = ClaimWrittenDown(
        invoice_id=claim.invoice_id,
        customer_id="c-1",
        service_type="water",
        invoice_number=claim.invoice_number,
        written_down_on=TODAY,
        amount_ore=100_000,
        reason="obeståndig gäldenär",
    )
    env = payments.registry.envelope(
        down,
        context="dunning",
        stream_id="dunning-test",
        version=1,
        metadata=payments.meta("upstream"),
        occurred_at=payments.clock.now(),
    ).stored(1, payments.clock.now())
    # Delivered to payments' consumer as the bus would: only its tracking moves
    before = await payments.receivable(claim.invoice_id)
    await runner.handle("dunning", [env])
    assert await runner.position("dunning") == 1
    assert await payments.receivable(claim.invoice_id) == before
    # When the customer pays 1,000 kr with the claim's OCR number
    await pay(payments, claim.ocr, 100_000)
    # Then the payment pays the claim, as before the write-down
    paid = await payments.receivable(claim.invoice_id)
    assert paid is not None
    assert (paid.open_ore, paid.closed) == (0, False)
    assert await allocated_to(payments, claim.invoice_id) == 100_000
    log = await payments.log()
    assert not [e for e in log if isinstance(e, PaymentUnmatched)]
    assert sum(e.amount_ore for e in log if isinstance(e, PaymentReceived)) == 100_000
