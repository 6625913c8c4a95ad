"""VAT (domain.md §2 "Invoice content"): rates 25/12/6/0, date-effective (food 6 % from
2026-04-01 to 2027-12-31), VAT in % and SEK per rate, rounded once per rate to whole öre."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.invoicing import InvoiceLine, ServiceType
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.invoicing.domain.vat import (
    check_vat_rate_valid_for_service,
    check_vat_rate_valid_on,
    vat_per_rate,
)
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation

SETTINGS = InvoicingSettings()
RATES = (25, 12, 6, 0)


def line(net_ore: int, vat_rate: int) -> InvoiceLine:
    return InvoiceLine(
        description="Rad",
        service_type="other",
        quantity=Decimal(1),
        unit_price_ore=net_ore,
        vat_rate=vat_rate,
        net_ore=net_ore,
    )


@pytest.mark.parametrize("rate", RATES)
def test_the_four_swedish_rates_are_valid(rate: int) -> None:
    check_vat_rate_valid_on(rate, date(2026, 3, 2), SETTINGS.vat_rates, field="lines.0.vat_rate")


def test_any_other_rate_is_refused_naming_the_line() -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        check_vat_rate_valid_on(7, date(2026, 3, 2), SETTINGS.vat_rates, field="lines.2.vat_rate")
    assert refused.value.rule == "vat_rate_valid_on_invoice_date"
    assert refused.value.field == "lines.2.vat_rate"


def test_the_rates_in_force_are_those_of_the_invoice_date() -> None:
    rates = Dated[tuple[int, ...]].table(("1900-01-01", (25, 12, 6, 0)), ("2030-01-01", (25, 0)))
    check_vat_rate_valid_on(12, date(2029, 12, 31), rates, field="f")
    with pytest.raises(DomainRuleViolation):
        check_vat_rate_valid_on(12, date(2030, 1, 1), rates, field="f")


@pytest.mark.parametrize(
    ("on", "allowed", "refused"),
    [
        (date(2026, 3, 31), 12, 6),  # food at 12 % until 2026-03-31 ...
        (date(2026, 4, 1), 6, 12),  # ... 6 % from 2026-04-01 ...
        (date(2027, 12, 31), 6, 12),  # ... to 2027-12-31 ...
        (date(2028, 1, 1), 12, 6),  # ... then 12 % again
    ],
)
def test_food_is_6_percent_from_april_2026_to_the_end_of_2027(
    on: date, allowed: int, refused: int
) -> None:
    table = SETTINGS.vat_rates_by_service
    check_vat_rate_valid_for_service(allowed, "food", on, table, field="f")
    with pytest.raises(DomainRuleViolation) as wrong:
        check_vat_rate_valid_for_service(refused, "food", on, table, field="f")
    assert wrong.value.rule == "vat_rate_valid_for_service"


@pytest.mark.parametrize(
    ("service", "rate"),
    [("childcare", 25), ("housing_rent", 25), ("water", 0), ("waste", 12)],
)
def test_a_service_carries_only_its_own_rates(service: ServiceType, rate: int) -> None:
    with pytest.raises(DomainRuleViolation):
        check_vat_rate_valid_for_service(
            rate, service, date(2026, 3, 2), SETTINGS.vat_rates_by_service, field="f"
        )


@pytest.mark.parametrize("rate", RATES)
def test_a_service_the_table_does_not_list_may_carry_any_rate(rate: int) -> None:
    check_vat_rate_valid_for_service(
        rate, "other", date(2026, 3, 2), SETTINGS.vat_rates_by_service, field="f"
    )


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    # Three lines of 0.33 kr at 25 %: 8.25 öre each would round to 8 (24 in all); on the rate's
    # net sum of 99 öre it is 24.75, printed as 25.
    breakdown = vat_per_rate([line(33, 25)] * 3)
    assert [(b.vat_rate, b.net_ore, b.vat_ore) for b in breakdown] == [(25, 99, 25)]


def test_one_breakdown_per_rate_highest_rate_first() -> None:
    breakdown = vat_per_rate([line(10000, 6), line(80000, 25), line(500, 0), line(20000, 25)])
    assert [(b.vat_rate, b.net_ore, b.vat_ore) for b in breakdown] == [
        (25, 100000, 25000),
        (6, 10000, 600),
        (0, 500, 0),
    ]


def test_half_an_ore_rounds_away_from_zero_for_a_credit_too() -> None:
    assert vat_per_rate([line(2, 25)])[0].vat_ore == 1  # 0.5 öre
    assert vat_per_rate([line(-2, 25)])[0].vat_ore == -1


lines_strategy = st.lists(
    st.builds(
        line,
        st.integers(min_value=-(10**9), max_value=10**9),
        st.sampled_from(RATES),
    ),
    max_size=30,
)


# ms per example: a busy shared machine is slow, never this slow
@settings(deadline=2000)
@given(lines_strategy)
def test_the_breakdown_adds_up_to_the_lines_and_is_within_half_an_ore_per_rate(
    lines: list[InvoiceLine],
) -> None:
    breakdown = vat_per_rate(lines)
    assert sum(b.net_ore for b in breakdown) == sum(x.net_ore for x in lines)
    assert len({b.vat_rate for b in breakdown}) == len(breakdown)
    for b in breakdown:
        assert b.net_ore == sum(x.net_ore for x in lines if x.vat_rate == b.vat_rate)
        exact = Fraction(b.net_ore * b.vat_rate, 100)
        assert abs(b.vat_ore - exact) <= Fraction(1, 2)
    exact_total = sum(Fraction(x.net_ore * x.vat_rate, 100) for x in lines)
    assert abs(sum(b.vat_ore for b in breakdown) - exact_total) <= Fraction(len(breakdown), 2)


# ms per example: a busy shared machine is slow, never this slow
@settings(deadline=2000)
@given(lines_strategy)
def test_a_credit_of_the_same_lines_has_exactly_the_opposite_vat(lines: list[InvoiceLine]) -> None:
    credit = vat_per_rate([line(-x.net_ore, x.vat_rate) for x in lines])
    assert [(b.vat_rate, -b.net_ore, -b.vat_ore) for b in credit] == [
        (b.vat_rate, b.net_ore, b.vat_ore) for b in vat_per_rate(lines)
    ]
