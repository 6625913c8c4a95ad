"""What is still owed on one invoice, as payments sees it (domain/receivable.py; domain.md §2
holds and credit notes, §3 capital apart from interest and fees)."""

from __future__ import annotations

from datetime import date

from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.events import Event
from fordra.payments.domain.events import (
    ReceivableClosed,
    ReceivableHeld,
    ReceivableOpened,
    ReceivableReduced,
    ReceivableReleased,
)
from fordra.payments.domain.receivable import (
    Receivable,
    payments_released_by_credit,
    replay_receivable,
    with_allocation,
)

TODAY = date(2026, 3, 2)

OPENED = ReceivableOpened(
    invoice_id="i-1",
    invoice_number="00000001",
    customer_id="c-1",
    ocr="133",
    due_date=date(2026, 3, 31),
    owed_by_service={"water": 60_000, "waste": 20_000},
    owed_interest_and_fees={"interest": {"water": 8_219}},
)


def paid(payment_id: str, amount: int, service: str = "water") -> PaymentAllocated:
    return PaymentAllocated(
        payment_id=payment_id,
        invoice_id="i-1",
        customer_id="c-1",
        component="capital",
        service_type=service,
        amount_ore=amount,
    )


def replay(*events: Event) -> Receivable:
    state = replay_receivable([OPENED, *events])
    assert state is not None
    return state


def test_a_new_claim_owes_its_capital_and_its_interest_apart() -> None:
    claim = replay()
    assert claim.owed == {"water": 60_000, "waste": 20_000}
    assert claim.owed_charge("interest", "water") == 8_219
    assert claim.open_ore == 88_219
    assert claim.version == 1


def test_payments_and_a_credit_note_lower_what_is_open() -> None:
    claim = replay(
        paid("p-1", 50_000),
        ReceivableReduced(
            invoice_id="i-1",
            by_service={"waste": 20_000},
            interest_and_fees={"interest": {"water": 8_219}},
        ),
    )
    assert claim.owed == {"water": 10_000, "waste": 0}
    assert claim.open_ore == 10_000
    assert claim.paid == {("p-1", "capital", "water"): 50_000}


def test_a_payment_taken_back_opens_the_claim_again() -> None:
    claim = replay(paid("p-1", 60_000), paid("p-1", -60_000))
    assert claim.owed["water"] == 60_000
    assert claim.paid == {}


def test_a_cancelled_claim_owes_nothing() -> None:
    assert replay(ReceivableClosed(invoice_id="i-1")).open_ore == 0


def test_a_hold_lasts_until_its_last_day_or_its_release() -> None:
    deferred = replay(ReceivableHeld(invoice_id="i-1", reason="deferred", until=TODAY))
    assert deferred.is_held(TODAY)
    assert not deferred.is_held(date(2026, 3, 3))

    disputed = replay(ReceivableHeld(invoice_id="i-1", reason="disputed"))
    assert disputed.is_held(date(2030, 1, 1))
    released = replay(
        ReceivableHeld(invoice_id="i-1", reason="disputed"),
        ReceivableReleased(invoice_id="i-1", reason="disputed"),
    )
    assert not released.is_held(TODAY)


def test_nothing_is_owed_before_the_claim_is_opened() -> None:
    assert replay_receivable([paid("p-1", 100)]) is None


def test_an_allocation_to_interest_leaves_the_capital_alone() -> None:
    claim = with_allocation(replay(), "p-1", "interest", "water", 8_219)
    assert claim.owed == {"water": 60_000, "waste": 20_000}
    assert claim.owed_charge("interest", "water") == 0


def test_more_interest_than_invoiced_owes_nothing_below_zero() -> None:
    # The agency may collect more interest than was invoiced (domain.md §5)
    claim = with_allocation(replay(), "agency-1", "interest", "water", 10_000)
    assert claim.owed_charge("interest", "water") == 0
    assert claim.open_ore == 80_000


def test_a_credit_note_on_a_paid_service_releases_the_latest_payments_first() -> None:
    # Given water paid 400 kr by p-1 and then 200 kr by p-2, then a credit note of all 600 kr
    # water and half the waste
    claim = replay(
        paid("p-1", 40_000),
        paid("p-2", 20_000),
        ReceivableReduced(invoice_id="i-1", by_service={"water": 60_000, "waste": 10_000}),
    )
    # Then what the credit took beyond what was unpaid goes back: p-2's 200 kr, then p-1's
    assert payments_released_by_credit(claim) == [
        ("p-2", "water", 20_000),
        ("p-1", "water", 40_000),
    ]


def test_a_credit_note_on_the_unpaid_part_releases_nothing() -> None:
    claim = replay(
        paid("p-1", 40_000), ReceivableReduced(invoice_id="i-1", by_service={"water": 20_000})
    )
    assert claim.owed["water"] == 0
    assert payments_released_by_credit(claim) == []
