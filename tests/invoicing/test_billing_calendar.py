"""The billing calendar of recurring charges (domain/billing_calendar.py; domain.md §8 "Rent
(LOIS)", seed 002 lines 1875-1881): the rulebook's dates, the holidays, and the days' share of a
period cut short."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fordra.invoicing.domain.billing_calendar import (
    amount_for,
    billing_date,
    billing_day_of_month,
    period_containing,
    periods_due,
)
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.kernel.calendar import WorkingDayCalendar

CALENDAR = WorkingDayCalendar()


def month(year: int, m: int) -> BillingPeriod:
    return period_containing("monthly", date(year, m, 1))


@pytest.mark.parametrize(
    ("year", "m", "billing_day", "expected"),
    [
        # The rulebook's examples: rent notices on the 2nd working day ...
        (2026, 1, "second_working_day", date(2026, 1, 5)),  # New Year's Day, then Fri 2, Mon 5
        (2026, 5, "second_working_day", date(2026, 5, 5)),  # 1 May, then Mon 4, Tue 5
        # ... vacancies and internal contracts on the second-to-last
        (2026, 5, "penultimate_working_day", date(2026, 5, 28)),
        (2026, 12, "penultimate_working_day", date(2026, 12, 29)),  # New Year's Eve is closed
        # Easter: Easter Monday 1 April 2024, Good Friday 29 March 2024
        (2024, 4, "second_working_day", date(2024, 4, 3)),
        (2024, 3, "last_working_day", date(2024, 3, 28)),
        (2024, 3, "penultimate_working_day", date(2024, 3, 27)),
        # Christmas Eve and Christmas: the last working days of December 2027 are 29 and 30
        (2027, 12, "last_working_day", date(2027, 12, 30)),
        (2026, 1, "first_working_day", date(2026, 1, 2)),
        (2026, 8, "first_day", date(2026, 8, 1)),  # a Saturday: the run sends it on Monday
    ],
)
def test_billing_days_of_the_swedish_calendar(
    year: int, m: int, billing_day: str, expected: date
) -> None:
    assert billing_day_of_month(year, m, billing_day, CALENDAR) == expected  # type: ignore[arg-type]


def test_midsummer_eve_is_no_working_day_for_the_run() -> None:
    # Midsummer Eve 2026 is Friday 19 June: the run does nothing that day (bootstrap's job)
    assert not CALENDAR.is_working_day(date(2026, 6, 19))
    assert CALENDAR.next_working_day(date(2026, 6, 19)) == date(2026, 6, 22)


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ("advance", date(2026, 1, 5)),  # February's rent, on January's 2nd working day
        ("current", date(2026, 2, 3)),
        ("closing", date(2026, 2, 3)),
        ("arrears", date(2026, 3, 3)),
    ],
)
def test_timing_picks_the_month(timing: str, expected: date) -> None:
    feb = month(2026, 2)
    assert billing_date(feb, timing, "second_working_day", CALENDAR) == expected  # type: ignore[arg-type]


def test_periods_are_calendar_aligned() -> None:
    assert period_containing("quarterly", date(2026, 5, 17)) == BillingPeriod(
        start=date(2026, 4, 1), end=date(2026, 6, 30)
    )
    assert period_containing("term", date(2026, 9, 1)) == BillingPeriod(
        start=date(2026, 7, 1), end=date(2026, 12, 31)
    )
    assert period_containing("yearly", date(2026, 2, 28)) == BillingPeriod(
        start=date(2026, 1, 1), end=date(2026, 12, 31)
    )


def test_periods_due_stop_at_the_day_and_at_the_end() -> None:
    due = periods_due(
        cadence="monthly",
        timing="advance",
        billing_day="second_working_day",
        calendar=CALENDAR,
        starts_on=date(2026, 1, 15),
        ends_on=date(2026, 4, 10),
        through=date(2026, 12, 31),
    )
    assert [p.start.month for p in due] == [1, 2, 3, 4]
    # nothing before its day: on 4 January (a Sunday) only January's notice is due
    early = periods_due(
        cadence="monthly",
        timing="advance",
        billing_day="second_working_day",
        calendar=CALENDAR,
        starts_on=date(2026, 1, 1),
        ends_on=None,
        through=date(2026, 1, 4),
    )
    assert [p.start for p in early] == [date(2026, 1, 1)]


def test_a_period_cut_short_costs_its_days() -> None:
    sept = month(2026, 9)
    prices = ((date(2026, 1, 1), 900_000),)
    assert amount_for(sept, prices, date(2026, 1, 1), None) == 900_000
    assert amount_for(sept, prices, date(2026, 1, 1), date(2026, 9, 15)) == 450_000
    assert amount_for(sept, prices, date(2026, 9, 21), None) == 300_000
    assert amount_for(sept, prices, date(2026, 10, 1), None) == 0
    # a raise from the 11th: 10 days at 9,000 and 20 at 9,300
    raised = ((date(2026, 1, 1), 900_000), (date(2026, 9, 11), 930_000))
    assert amount_for(sept, raised, date(2026, 1, 1), None) == 300_000 + 620_000
    # rounded once, half up, to whole öre: 100 öre for 1 day of 3 is 33.33
    assert amount_for(month(2026, 2), ((date(2026, 1, 1), 2_800),), date(2026, 2, 28), None) == 100


@given(
    price=st.integers(min_value=1, max_value=10**9),
    cut=st.integers(min_value=0, max_value=30),
)
def test_the_days_before_and_after_a_cut_sum_to_the_period(price: int, cut: int) -> None:
    """Money is neither lost nor invented by a cut: what the days up to the end cost and what
    the rest would cost make the whole period, give or take the one rounding of each part."""
    period = month(2026, 3)
    prices = ((date(2026, 1, 1), price),)
    end = period.start + timedelta(days=cut)
    before = amount_for(period, prices, date(2026, 1, 1), end)
    after = amount_for(period, prices, end + timedelta(days=1), None)
    assert abs(before + after - price) <= 1
    assert 0 <= before <= price
