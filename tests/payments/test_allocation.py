"""Allocation never makes or loses an öre (issue: payments; domain.md §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.invoicing import InvoiceLine
from fordra.invoicing.domain.vat import vat_per_rate
from fordra.payments.domain.allocation import AllocationPolicy, allocate_to_receivable
from fordra.payments.domain.receivable import Receivable, owed_by_service

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
