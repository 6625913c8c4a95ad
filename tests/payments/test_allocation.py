"""Allocation never makes or loses an öre (issue: payments; domain.md §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.invoicing import InvoiceLine
from fordra.invoicing.domain.vat import vat_per_rate
from fordra.payments.domain.allocation import AllocationPolicy, allocate_to_receivable
from fordra.payments.domain.receivable import (
    Receivable,
    interest_and_fees_owed,
    owed_by_component,
    owed_by_service,
)

SERVICES = ("water", "waste", "electricity_grid", "electricity_supply", "other")

lines = st.lists(
    st.builds(
        lambda service, qty, price, rate: InvoiceLine(
            description="x",
            service_type=service,
            quantity=Decimal(qty),
            unit_price_ore=price,
            vat_rate=rate,
            net_ore=qty * price,
        ),
        st.sampled_from(SERVICES),
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=1, max_value=2_000_000),
        st.sampled_from((25, 12, 6, 0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(lines)
def test_the_parts_per_service_add_up_to_the_invoice_total(
    invoice_lines: list[InvoiceLine],
) -> None:
    vat = vat_per_rate(invoice_lines)
    total = sum(b.net_ore + b.vat_ore for b in vat)
    owed = owed_by_service(invoice_lines, vat)
    assert sum(owed.values()) == total
    assert all(amount >= 0 for amount in owed.values())


@settings(max_examples=300, deadline=None)
@given(lines, st.integers(min_value=1, max_value=100_000_000))
def test_an_allocation_sums_to_the_payment(invoice_lines: list[InvoiceLine], paid: int) -> None:
    vat = vat_per_rate(invoice_lines)
    owed = owed_by_service(invoice_lines, vat)
    receivable = Receivable("i", "00000001", "c", "133", date(2026, 1, 1), owed)
    allocations, left = allocate_to_receivable(paid, receivable, AllocationPolicy())
    # Every öre of the payment is either allocated or left over, and nothing is over-allocated
    assert sum(a.amount_ore for a in allocations) + left == paid
    assert all(a.amount_ore > 0 for a in allocations)
    for a in allocations:
        assert a.amount_ore <= owed[a.service_type]
    assert left == max(paid - sum(owed.values()), 0)


def test_electricity_is_paid_first_on_a_co_billed_invoice() -> None:
    owed = {"water": 50000, "electricity_grid": 30000, "electricity_supply": 20000}
    receivable = Receivable("i", "00000001", "c", "133", date(2026, 1, 1), owed)
    allocations, left = allocate_to_receivable(60000, receivable, AllocationPolicy())
    assert [(a.service_type, a.amount_ore) for a in allocations] == [
        ("electricity_grid", 30000),
        ("electricity_supply", 20000),
        ("water", 10000),
    ]
    assert left == 0


def test_invoiced_late_interest_is_owed_and_paid_as_interest_after_the_capital() -> None:
    # Given a 1,000 kr water invoice (25 % VAT) carrying 82.19 kr of late interest as its own line
    water = InvoiceLine(
        description="Vatten",
        service_type="water",
        quantity=Decimal(1),
        unit_price_ore=80000,
        vat_rate=25,
        net_ore=80000,
    )
    interest = water.model_copy(
        update={"description": "Ränta", "unit_price_ore": 8219, "vat_rate": 0, "net_ore": 8219}
    ).model_copy(update={"kind": "interest"})
    vat = vat_per_rate([water, interest])
    assert owed_by_component([water, interest], vat) == {
        "capital": {"water": 100000},
        "interest": {"water": 8219},
    }
    receivable = Receivable(
        "i",
        "00000001",
        "c",
        "133",
        date(2026, 1, 1),
        owed_by_service([water, interest], vat),
        interest_and_fees_owed([water, interest], vat),
    )
    # When 1,050 kr is paid: the capital first, the rest to the interest (domain.md §3)
    allocations, left = allocate_to_receivable(105000, receivable, AllocationPolicy())
    assert [(a.component, a.amount_ore) for a in allocations] == [
        ("capital", 100000),
        ("interest", 5000),
    ]
    assert left == 0
