"""Where a matched payment goes: allocate, set off, credit (domain/settlement.py; domain.md §2
"Credit note / cancellation / refund", §3 "Allocation of a payment")."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.payments.domain.allocation import AllocationPolicy
from fordra.payments.domain.receivable import Receivable
from fordra.payments.domain.settlement import Settlement, settle_payment

TODAY = date(2026, 3, 2)
POLICY = AllocationPolicy()


def claim(
    invoice: str,
    owed: dict[str, int],
    *,
    due: date = date(2026, 2, 28),
    customer: str = "c-1",
    interest: int = 0,
    held_until: date | None = None,
    held: bool = False,
    closed: bool = False,
) -> Receivable:
    return Receivable(
        invoice_id=invoice,
        invoice_number=invoice.removeprefix("i-").zfill(8),
        customer_id=customer,
        ocr="133",
        due_date=due,
        owed=owed,
        owed_interest_and_fees={"interest": {"water": interest}} if interest else {},
        closed=closed,
        holds={"disputed": held_until} if held or held_until else {},
    )


def money_out(s: Settlement) -> int:
    return s.allocated_ore + s.set_off_ore + s.credit_ore + s.charges_ore


def test_a_payment_of_the_claim_pays_the_claim_and_nothing_else() -> None:
    water = claim("i-1", {"water": 125_000})

    s = settle_payment(125_000, water, [water], POLICY, TODAY)

    assert [(a.invoice_id, a.service_type, a.amount_ore) for a in s.allocations] == [
        ("i-1", "water", 125_000)
    ]
    assert (s.set_offs, s.credit_ore, s.charges) == ((), 0, ())


def test_a_part_payment_pays_part_of_the_claim() -> None:
    water = claim("i-1", {"water": 125_000})

    s = settle_payment(25_000, water, [], POLICY, TODAY)

    assert s.allocated_ore == 25_000
    assert (s.set_offs, s.credit_ore) == ((), 0)


def test_the_rulebooks_overpayment_is_set_off_and_the_rest_kept_as_credit() -> None:
    # domain.md §2: "overpaid 500 kr with 300 kr open -> 300 set off, 200 refunded"
    paid = claim("i-1", {"water": 100_000})
    other = claim("i-2", {"waste": 30_000})

    s = settle_payment(150_000, paid, [paid, other], POLICY, TODAY)

    assert s.allocated_ore == 100_000
    assert [(x.receivable.invoice_id, x.amount_ore) for x in s.set_offs] == [("i-2", 30_000)]
    assert s.credit_ore == 20_000


def test_set_off_takes_the_oldest_due_date_first_and_skips_claims_under_a_hold() -> None:
    paid = claim("i-1", {"water": 10_000})
    newer = claim("i-2", {"water": 40_000}, due=date(2026, 3, 31))
    older = claim("i-3", {"water": 40_000}, due=date(2026, 1, 31))
    disputed = claim("i-4", {"water": 40_000}, due=date(2025, 12, 31), held=True)
    deferred = claim("i-5", {"water": 40_000}, due=date(2025, 11, 30), held_until=TODAY)
    deferral_over = claim(
        "i-6", {"water": 5_000}, due=date(2025, 10, 31), held_until=date(2026, 3, 1)
    )

    s = settle_payment(
        80_000, paid, [paid, newer, older, disputed, deferred, deferral_over], POLICY, TODAY
    )

    assert [(x.receivable.invoice_id, x.amount_ore) for x in s.set_offs] == [
        ("i-6", 5_000),
        ("i-3", 40_000),
        ("i-2", 25_000),
    ]
    assert s.credit_ore == 0


def test_set_off_stops_when_the_payment_is_used_up() -> None:
    paid = claim("i-1", {"water": 10_000})
    others = [claim(f"i-{n}", {"water": 10_000}, due=date(2026, 1, n)) for n in range(2, 6)]

    s = settle_payment(25_000, paid, [paid, *others], POLICY, TODAY)

    assert [(x.receivable.invoice_id, x.amount_ore) for x in s.set_offs] == [
        ("i-2", 10_000),
        ("i-3", 5_000),
    ]


def test_claims_paid_or_cancelled_already_take_nothing_by_set_off() -> None:
    paid = claim("i-1", {"water": 10_000})
    settled = claim("i-2", {"water": 0})
    cancelled = claim("i-3", {"water": 10_000}, closed=True)

    s = settle_payment(30_000, paid, [paid, settled, cancelled], POLICY, TODAY)

    assert s.set_offs == ()
    assert s.credit_ore == 20_000


def test_a_payment_to_a_cancelled_claim_goes_to_the_customers_other_claims() -> None:
    cancelled = claim("i-1", {"water": 10_000}, closed=True)
    other = claim("i-2", {"water": 4_000})

    s = settle_payment(10_000, cancelled, [cancelled, other], POLICY, TODAY)

    assert s.allocations == ()
    assert [x.amount_ore for x in s.set_offs] == [4_000]
    assert s.credit_ore == 6_000


def test_a_claim_written_off_takes_nothing_the_agency_collected_not_even_its_fees() -> None:
    # domain.md §4: a claim written off is closed for good. Should the agency still report a
    # collection on it, its interest and fees go with the capital to the customer's other
    # claims and credit: never onto the closed claim, never lost.
    written_off = claim("i-1", {"water": 10_000}, closed=True)
    other = claim("i-2", {"water": 4_000})

    s = settle_payment(
        10_000 + 500 + 18_000,
        written_off,
        [written_off, other],
        POLICY,
        TODAY,
        instructed={"interest": 500, "collection_fee": 18_000},
    )

    assert (s.allocations, s.charges) == ((), ())
    assert [x.amount_ore for x in s.set_offs] == [4_000]
    assert s.credit_ore == 10_000 + 500 + 18_000 - 4_000
    assert money_out(s) == s.amount_ore


def test_the_capital_is_paid_before_invoiced_interest() -> None:
    # domain.md §3: "a payment equal to the capital goes to the capital, never first to costs"
    paid = claim("i-1", {"water": 100_000}, interest=8_219)

    s = settle_payment(100_000, paid, [paid], POLICY, TODAY)

    assert [(a.component, a.amount_ore) for a in s.allocations] == [("capital", 100_000)]


def test_the_agencys_split_pays_interest_and_fees_as_said_and_the_capital_by_the_policy() -> None:
    # domain.md §3 "follow the debtor's instruction", §5: the agency reports capital, interest
    # and fees apart. 1,350 kr capital, 50 kr interest (none was invoiced on the claim: the
    # agency's own), 180 kr collection fee, no reminder fee.
    paid = claim("i-1", {"water": 100_000, "waste": 25_000})
    other = claim("i-2", {"water": 7_000})

    s = settle_payment(
        125_000 + 5_000 + 18_000 + 10_000,
        paid,
        [paid, other],
        POLICY,
        TODAY,
        instructed={"interest": 5_000, "reminder_fee": 0, "collection_fee": 18_000},
    )

    assert [(a.component, a.service_type, a.amount_ore) for a in s.charges] == [
        ("interest", "water", 5_000),
        ("collection_fee", "water", 18_000),
    ]
    # The capital: the claim's 1,250 kr, then 70 kr set off, 30 kr credit
    assert s.allocated_ore == 125_000
    assert all(a.component == "capital" for a in s.allocations)
    assert [x.amount_ore for x in s.set_offs] == [7_000]
    assert s.credit_ore == 3_000
    assert money_out(s) == s.amount_ore


def test_nothing_is_settled_of_a_payment_of_nothing() -> None:
    paid = claim("i-1", {"water": 10_000})
    other = claim("i-2", {"water": 10_000})

    s = settle_payment(0, paid, [paid, other], POLICY, TODAY)

    assert (s.allocations, s.set_offs, s.credit_ore, s.charges) == ((), (), 0, ())


SERVICES = ("water", "waste", "electricity_grid", "electricity_supply")

owed = st.dictionaries(st.sampled_from(SERVICES), st.integers(0, 500_000), min_size=1, max_size=4)
claims = st.lists(
    st.builds(
        lambda n, owed, interest, days, held, closed: claim(
            f"i-{n}",
            owed,
            interest=interest,
            due=TODAY + timedelta(days=days),
            held=held,
            closed=closed,
        ),
        st.integers(1, 10_000),
        owed,
        st.integers(0, 50_000),
        st.integers(-200, 200),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda c: c.invoice_id,
)


@settings(max_examples=300, deadline=None)
@given(
    claims,
    st.integers(0, 5_000_000),
    st.integers(0, 100_000),
    st.integers(0, 100_000),
)
def test_money_in_equals_money_out_and_nothing_is_negative_or_overpaid(
    customer_claims: list[Receivable], amount: int, interest: int, fee: int
) -> None:
    paid = customer_claims[0]
    s = settle_payment(
        amount + interest + fee,
        paid,
        customer_claims,
        POLICY,
        TODAY,
        instructed={"interest": interest, "collection_fee": fee},
    )
    # Every öre of the payment ends as exactly one of: allocated, set off, credit, as instructed
    assert money_out(s) == amount + interest + fee
    # A closed claim (cancelled, written off: domain.md §4) takes nothing, not even as instructed
    assert s.charges_ore == (0 if paid.closed else interest + fee)
    if paid.closed:
        assert s.allocations == ()
    assert s.credit_ore >= 0
    everything = [*s.allocations, *s.charges, *(a for x in s.set_offs for a in x.allocations)]
    assert all(a.amount_ore > 0 for a in everything)
    # No claim is paid more than it owes, none is paid twice, and the matched claim not by set-off
    assert s.allocated_ore <= paid.open_ore
    for x in s.set_offs:
        assert x.receivable.invoice_id != paid.invoice_id
        assert 0 < x.amount_ore <= x.receivable.open_ore
        assert not x.receivable.is_held(TODAY)
    assert len({x.receivable.invoice_id for x in s.set_offs}) == len(s.set_offs)
    # Credit is kept only when every claim the payment could pay is paid
    if s.credit_ore > 0:
        assert s.allocated_ore == paid.open_ore
        open_unheld = [c for c in customer_claims[1:] if c.open_ore > 0 and not c.is_held(TODAY)]
        assert s.set_off_ore == sum(c.open_ore for c in open_unheld)
