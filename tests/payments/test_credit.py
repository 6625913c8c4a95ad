"""The customer's credit and its set-off (domain/credit.py; domain.md §2 "Credit note /
cancellation / refund": set off first against the customer's open claims, refunded only when
nothing is unpaid; kept per payment so a reversal takes back exactly that payment's part)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.payments import (
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    RefundRequested,
)
from fordra.payments.domain.allocation import AllocationPolicy
from fordra.payments.domain.credit import (
    CustomerCredit,
    claims_open_for_set_off,
    replay_credit,
    set_off_credit,
)
from fordra.payments.domain.receivable import Receivable

TODAY = date(2026, 3, 2)


def claim(
    number: int,
    open_ore: int,
    due: date,
    *,
    holds: dict[str, date | None] | None = None,
    closed: bool = False,
) -> Receivable:
    return Receivable(
        f"i-{number}",
        f"{number:08d}",
        "c-1",
        "133",
        due,
        {"water": open_ore},
        closed=closed,
        holds=holds or {},
    )


def recorded(payment_id: str, amount: int) -> CustomerCreditRecorded:
    return CustomerCreditRecorded(payment_id=payment_id, customer_id="c-1", amount_ore=amount)


def test_credit_is_kept_per_payment_in_the_order_recorded() -> None:
    credit = replay_credit(
        "c-1",
        [
            recorded("p-1", 10_000),
            recorded("p-2", 5_000),
            CustomerCreditApplied(
                payment_id="p-1", customer_id="c-1", invoice_id="i-1", amount_ore=4_000
            ),
            CustomerCreditReversed(payment_id="p-2", customer_id="c-1", amount_ore=5_000),
        ],
    )
    assert credit.lots == {"p-1": 6_000}
    assert credit.balance_ore == 6_000


def test_a_refund_asked_for_is_kept_from_set_off_until_it_goes_out() -> None:
    asked = RefundRequested(
        refund_id="r-1",
        payment_id=None,
        customer_id="c-1",
        amount_ore=7_000,
        reason="flyttar",
        requested_by="a",
    )
    waiting = replay_credit("c-1", [recorded("p-1", 10_000), asked])
    assert (waiting.balance_ore, waiting.available_ore) == (10_000, 3_000)

    refunded = CustomerCreditRefunded(
        refund_id="r-1", payment_id="p-1", customer_id="c-1", amount_ore=7_000
    )
    paid_out = replay_credit("c-1", [recorded("p-1", 10_000), asked, refunded])
    assert paid_out.reserved == {}
    assert (paid_out.balance_ore, paid_out.available_ore) == (3_000, 3_000)


def test_a_refund_of_a_payment_in_the_queue_is_no_credit_reservation() -> None:
    asked = RefundRequested(
        refund_id="r-1",
        payment_id="p-9",
        customer_id=None,
        amount_ore=7_000,
        reason="fel mottagare",
        requested_by="a",
    )
    assert replay_credit("c-1", [recorded("p-1", 10_000), asked]).available_ore == 10_000


def test_credit_is_taken_the_oldest_payments_first() -> None:
    credit = CustomerCredit("c-1", lots={"p-1": 3_000, "p-2": 5_000})
    assert credit.take(4_000) == [("p-1", 3_000), ("p-2", 1_000)]
    assert credit.take(20_000) == [("p-1", 3_000), ("p-2", 5_000)]


def test_set_off_takes_open_claims_not_under_a_hold_the_oldest_due_date_first() -> None:
    claims = [
        claim(1, 10_000, date(2026, 3, 31)),
        claim(2, 10_000, date(2026, 1, 31)),
        claim(3, 10_000, date(2026, 1, 31)),  # same due date: then the order of issue
        claim(4, 10_000, date(2025, 12, 31), holds={"disputed": None}),
        claim(5, 10_000, date(2025, 12, 31), holds={"deferred": TODAY}),
        claim(6, 10_000, date(2025, 11, 30), holds={"postponed": date(2026, 3, 1)}),
        claim(7, 0, date(2025, 10, 31)),
        claim(8, 10_000, date(2025, 10, 31), closed=True),
    ]
    order = [c.invoice_id for c in claims_open_for_set_off(claims, TODAY)]
    assert order == ["i-6", "i-2", "i-3", "i-1"]


def test_credit_set_off_pays_claims_from_the_oldest_payments_credit() -> None:
    credit = CustomerCredit("c-1", lots={"p-1": 3_000, "p-2": 5_000})
    claims = [claim(1, 6_000, date(2026, 1, 31)), claim(2, 4_000, date(2026, 2, 28))]

    set_offs = set_off_credit(credit, claims, AllocationPolicy(), TODAY)

    assert [(s.payment_id, s.receivable.invoice_id, s.amount_ore) for s in set_offs] == [
        ("p-1", "i-1", 3_000),
        ("p-2", "i-1", 3_000),
        ("p-2", "i-2", 2_000),
    ]


def test_credit_asked_back_is_not_set_off() -> None:
    credit = CustomerCredit("c-1", lots={"p-1": 10_000}, reserved={"r-1": 7_000})

    set_offs = set_off_credit(credit, [claim(1, 6_000, TODAY)], AllocationPolicy(), TODAY)

    assert [s.amount_ore for s in set_offs] == [3_000]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 100_000), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 100_000), st.integers(-60, 60)), min_size=1, max_size=6),
    st.integers(0, 200_000),
)
def test_set_off_never_takes_more_than_the_credit_or_the_claims_owe(
    lots: list[int], owed: list[tuple[int, int]], reserved: int
) -> None:
    credit = CustomerCredit(
        "c-1",
        lots={f"p-{n}": amount for n, amount in enumerate(lots)},
        reserved={"r-1": reserved} if reserved else {},
    )
    claims = [
        claim(n, amount, date.fromordinal(TODAY.toordinal() + days))
        for n, (amount, days) in enumerate(owed)
    ]

    set_offs = set_off_credit(credit, claims, AllocationPolicy(), TODAY)

    used = sum(s.amount_ore for s in set_offs)
    assert used == min(credit.available_ore, sum(c.open_ore for c in claims))
    for payment_id, lot in credit.lots.items():
        assert sum(s.amount_ore for s in set_offs if s.payment_id == payment_id) <= lot
    for c in claims:
        assert sum(s.amount_ore for s in set_offs if s.receivable.invoice_id == c.invoice_id) <= (
            c.open_ore
        )
    assert all(s.amount_ore > 0 for s in set_offs)
