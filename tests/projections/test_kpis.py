"""The arithmetic of the key figures (issue 17 "KPIs", seed 004), pure."""

from __future__ import annotations

from datetime import date

from fordra.projections.domain.kpis import (
    NOT_YET_DUE,
    age_bucket,
    agency_success_rate,
    days_sales_outstanding,
    percent,
    share_handed_to_agency,
)


def test_seed_004s_share_handed_to_the_agency() -> None:
    # Seed 004: 207,506 invoices in 2017, of which 16,586 went to the agency: 8.0 %.
    assert share_handed_to_agency(16_586, 207_506) == 8.0


def test_a_share_of_nothing_is_none_not_a_division_by_zero() -> None:
    assert share_handed_to_agency(0, 0) is None
    assert agency_success_rate(0, 0) is None
    assert percent(0, 10) == 0.0


def test_the_agencys_success_rate() -> None:
    # Seed 004 speaks of about 55 %: 11 of 20 cases ended with the whole capital collected.
    assert agency_success_rate(11, 20) == 55.0
    assert agency_success_rate(1, 3) == 33.3


def test_days_sales_outstanding() -> None:
    # 130,000 öre open at the end of a 31-day month in which 180,000 öre were invoiced.
    assert days_sales_outstanding(130_000, 180_000, date(2026, 3, 1), date(2026, 3, 31)) == 22.4
    assert days_sales_outstanding(0, 180_000, date(2026, 3, 1), date(2026, 3, 31)) == 0.0
    assert days_sales_outstanding(5, 0, date(2026, 3, 1), date(2026, 3, 31)) is None


def test_age_buckets_by_days_past_due() -> None:
    as_of = date(2026, 5, 31)
    assert age_bucket(date(2026, 6, 1), as_of) == NOT_YET_DUE
    assert age_bucket(as_of, as_of) == "0-30"
    assert age_bucket(date(2026, 5, 1), as_of) == "0-30"  # 30 days
    assert age_bucket(date(2026, 4, 30), as_of) == "31-60"  # 31 days
    assert age_bucket(date(2026, 4, 1), as_of) == "31-60"  # 60 days
    assert age_bucket(date(2026, 3, 31), as_of) == "61-90"  # 61 days
    assert age_bucket(date(2026, 3, 2), as_of) == "61-90"  # 90 days
    assert age_bucket(date(2026, 3, 1), as_of) == "91+"  # 91 days
