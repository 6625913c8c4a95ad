"""Seed 001's billing periods per service."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.invoicing.domain.billing_period import BillingPeriod, billing_period_for


@pytest.mark.parametrize(
    ("service", "invoice_date", "start", "end"),
    [
        # VA & renhållning: two months in arrears + the current month ...
        ("water", date(2026, 3, 15), date(2026, 1, 1), date(2026, 3, 31)),
        ("waste", date(2026, 11, 2), date(2026, 9, 1), date(2026, 11, 30)),
        # ... but May-September at the start of the period
        ("water", date(2026, 5, 5), date(2026, 5, 1), date(2026, 7, 31)),
        ("childcare", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 28)),
        ("elderly_care", date(2026, 3, 5), date(2026, 2, 1), date(2026, 2, 28)),
        ("housing_rent", date(2026, 12, 20), date(2027, 1, 1), date(2027, 1, 31)),
        ("premises_rent", date(2026, 4, 20), date(2026, 5, 1), date(2026, 5, 31)),
        ("music_school", date(2026, 8, 20), date(2026, 7, 1), date(2026, 12, 31)),
        # ... per term in advance: December bills the coming spring term
        ("music_school", date(2026, 12, 1), date(2027, 1, 1), date(2027, 6, 30)),
        ("hall_rental", date(2026, 1, 15), date(2025, 7, 1), date(2025, 12, 31)),
        ("other", date(2026, 6, 3), date(2026, 6, 3), date(2026, 6, 3)),
    ],
)
def test_the_period_of_each_service(
    service: str, invoice_date: date, start: date, end: date
) -> None:
    assert billing_period_for(service, invoice_date) == BillingPeriod(start=start, end=end)


def test_premises_rent_may_be_billed_quarterly_in_advance() -> None:
    period = billing_period_for("premises_rent", date(2026, 3, 20), premises_rent="quarter")
    assert period == BillingPeriod(start=date(2026, 4, 1), end=date(2026, 6, 30))
    period = billing_period_for("premises_rent", date(2026, 12, 1), premises_rent="quarter")
    assert period == BillingPeriod(start=date(2027, 1, 1), end=date(2027, 3, 31))


def test_a_period_ends_after_it_starts() -> None:
    with pytest.raises(ValueError, match="ends on or after"):
        BillingPeriod(start=date(2026, 2, 1), end=date(2026, 1, 31))
