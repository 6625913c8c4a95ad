"""The work queue's use cases on a ``MemoryEventStore``: an unmatched payment matched by hand
(then allocated, set off and credited like any other), kept as an advance, or refunded after
attest; the customer's credit refunded only when nothing is unpaid (domain.md §2 "Credit note /
cancellation / refund", §3; seed 002)."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.payments import (
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    PaymentAllocated,
    PaymentMatched,
    PaymentUnmatched,
    RefundAttested,
)
from fordra.kernel.auth import AccessDenied, Role
from fordra.kernel.errors import DomainRuleViolation
from fordra.payments.application.import_file import import_payment_file
from fordra.payments.application.streams import credit_stream, payment_stream
from fordra.payments.application.work_queue import (
    PaymentResolution,
    RefundCredit,
    ResolvePayment,
    attest_refund,
    refund_customer_credit,
    resolve_payment,
)
from tests.utils.payments import PaymentsOnMemory, bank_payment

TODAY = date(2026, 3, 2)


@pytest.fixture
async def payments() -> PaymentsOnMemory:
    return await PaymentsOnMemory.start(TODAY)


async def queued(payments: PaymentsOnMemory, amount_ore: int, currency: str = "SEK") -> str:
    """A payment without a reference, imported and waiting in the queue: its id."""
    payment = bank_payment("Hyra mars", amount_ore, reference_kind="free_text")
    payment = payment.model_copy(update={"currency": currency})
    ingest = payments.principal(Role.BANK_INGEST, "bank")
    data = payments.bank_file("camt054", payment)
    await import_payment_file(data, payments.deps, ingest, payments.meta())
    unmatched = [e for e in await payments.log() if isinstance(e, PaymentUnmatched)]
    return unmatched[-1].payment_id


async def resolve(payments: PaymentsOnMemory, payment_id: str, **command: str) -> PaymentResolution:
    officer = payments.principal(Role.CASE_OFFICER, "officer")
    cmd = ResolvePayment.model_validate({"reason": "kund ringde", **command})
    return (
        await resolve_payment(payment_id, cmd, payments.deps, officer, payments.meta())
    ).response


async def test_a_payment_matched_by_hand_is_allocated_set_off_and_credited(
    payments: PaymentsOnMemory,
) -> None:
    # Given two open invoices of one customer and a payment of 1,000 kr without a reference
    invoice = await payments.invoice("c-1", {"water": 60_000}, due=date(2026, 3, 31))
    other = await payments.invoice("c-1", {"waste": 25_000}, due=date(2026, 4, 30))
    payment_id = await queued(payments, 100_000)
    # When a case officer matches it to the first invoice
    result = await resolve(payments, payment_id, action="match", invoice_id=invoice.invoice_id)
    # Then the same rule as the import's pays it, sets 250 kr off and keeps 150 kr as credit
    assert result.credit_ore == 15_000
    matched = await payments.events_of(payment_stream(payment_id), PaymentMatched)
    assert [(m.invoice_id, m.method) for m in matched] == [
        (invoice.invoice_id, "manual"),
        (other.invoice_id, "set_off"),
    ]
    allocated = [e for e in await payments.log() if isinstance(e, PaymentAllocated)]
    assert [(a.invoice_id, a.amount_ore) for a in allocated] == [
        (invoice.invoice_id, 60_000),
        (other.invoice_id, 25_000),
    ]
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [(c.payment_id, c.amount_ore, c.reason) for c in credit] == [
        (payment_id, 15_000, "overpayment")
    ]


async def test_a_payment_is_resolved_once(payments: PaymentsOnMemory) -> None:
    invoice = await payments.invoice("c-1", {"water": 60_000}, due=date(2026, 3, 31))
    payment_id = await queued(payments, 10_000)
    await resolve(payments, payment_id, action="match", invoice_id=invoice.invoice_id)

    with pytest.raises(DomainRuleViolation) as refused:
        await resolve(payments, payment_id, action="match", invoice_id=invoice.invoice_id)

    assert refused.value.rule == "resolve_only_unmatched"


async def test_a_payment_is_matched_only_to_an_open_invoice(payments: PaymentsOnMemory) -> None:
    payment_id = await queued(payments, 10_000)

    with pytest.raises(DomainRuleViolation) as refused:
        await resolve(payments, payment_id, action="match", invoice_id="no-such-invoice")

    assert refused.value.rule == "match_open_invoice"


async def test_an_advance_only_when_the_customer_owes_nothing(payments: PaymentsOnMemory) -> None:
    # domain.md §2: an unmatched payment ends as set-off, refund or an advance (förskott)
    await payments.invoice("c-1", {"water": 60_000}, due=date(2026, 3, 31))
    payment_id = await queued(payments, 10_000)

    with pytest.raises(DomainRuleViolation) as refused:
        await resolve(payments, payment_id, action="keep_as_credit", customer_id="c-1")
    assert refused.value.rule == "set_off_before_advance"

    result = await resolve(payments, payment_id, action="keep_as_credit", customer_id="c-2")
    assert result.credit_ore == 10_000
    credit = await payments.events_of(credit_stream("c-2"), CustomerCreditRecorded)
    assert [(c.amount_ore, c.reason) for c in credit] == [(10_000, "advance")]


async def test_an_advance_is_set_off_against_the_customers_next_invoice(
    payments: PaymentsOnMemory,
) -> None:
    payment_id = await queued(payments, 10_000)
    await resolve(payments, payment_id, action="keep_as_credit", customer_id="c-1")

    invoice = await payments.invoice("c-1", {"water": 6_000}, due=date(2026, 3, 31))

    paid = await payments.receivable(invoice.invoice_id)
    assert paid is not None
    assert paid.open_ore == 0
    applied = await payments.events_of(credit_stream("c-1"), CustomerCreditApplied)
    assert [(a.invoice_id, a.amount_ore) for a in applied] == [(invoice.invoice_id, 6_000)]


async def test_a_payment_in_another_currency_can_only_be_refunded(
    payments: PaymentsOnMemory,
) -> None:
    invoice = await payments.invoice("c-1", {"water": 60_000}, due=date(2026, 3, 31))
    payment_id = await queued(payments, 10_000, currency="EUR")

    with pytest.raises(DomainRuleViolation) as refused:
        await resolve(payments, payment_id, action="match", invoice_id=invoice.invoice_id)

    assert refused.value.rule == "foreign_currency_refund_only"


async def test_credit_is_refunded_only_when_nothing_is_unpaid_and_attested_by_another(
    payments: PaymentsOnMemory,
) -> None:
    # Given 100 kr of advance on a customer who owes nothing
    payment_id = await queued(payments, 10_000)
    await resolve(payments, payment_id, action="keep_as_credit", customer_id="c-1")
    officer = payments.principal(Role.CASE_OFFICER, "officer")
    lead = payments.principal(Role.OPS_LEAD, "lead")
    admin = payments.principal(Role.ADMIN, "admin")
    # When the ops lead asks for it back
    cmd = RefundCredit(reason="kunden flyttar")
    refund = await refund_customer_credit("c-1", cmd, payments.deps, lead, payments.meta())
    refund_id = refund.response.refund_id
    # Then neither a case officer nor the one who asked may attest it (four eyes)
    with pytest.raises(AccessDenied):
        await attest_refund(refund_id, payments.deps, officer, payments.meta())
    with pytest.raises(DomainRuleViolation) as refused:
        await attest_refund(refund_id, payments.deps, lead, payments.meta())
    assert refused.value.rule == "four_eyes_attest"
    # And once another attests it, the credit goes out, taken from the payment behind it
    attested = await attest_refund(refund_id, payments.deps, admin, payments.meta())
    assert attested.response.attested_by == admin.actor
    refunded = await payments.events_of(credit_stream("c-1"), CustomerCreditRefunded)
    assert [(r.payment_id, r.amount_ore) for r in refunded] == [(payment_id, 10_000)]
    assert [e.amount_ore for e in await payments.log() if isinstance(e, RefundAttested)] == [10_000]


async def test_credit_is_not_refunded_while_an_invoice_is_unpaid(
    payments: PaymentsOnMemory,
) -> None:
    # Given 50 kr of credit from an overpayment, and then an invoice of 80 kr
    invoice = await payments.invoice("c-1", {"water": 5_000}, due=date(2026, 3, 31))
    payment_id = await queued(payments, 10_000)
    await resolve(payments, payment_id, action="match", invoice_id=invoice.invoice_id)
    later = await payments.invoice("c-1", {"water": 8_000}, due=date(2026, 4, 30))
    applied = await payments.events_of(credit_stream("c-1"), CustomerCreditApplied)
    assert [(a.invoice_id, a.amount_ore) for a in applied] == [(later.invoice_id, 5_000)]
    # The new invoice took the credit at once (30 kr is unpaid): nothing may be refunded
    officer = payments.principal(Role.CASE_OFFICER, "officer")
    with pytest.raises(DomainRuleViolation) as refused:
        await refund_customer_credit(
            "c-1", RefundCredit(reason="kunden flyttar"), payments.deps, officer, payments.meta()
        )
    assert refused.value.rule == "refund_only_when_nothing_unpaid"
