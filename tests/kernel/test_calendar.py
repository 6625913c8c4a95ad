"""Tests for the Swedish working-day calendar and service-level due dates (domain.md §8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fordra.kernel.calendar import (
    DEFAULT_EXTRA_NON_WORKING,
    WorkingDayCalendar,
    service_level_due,
)

NOON = time(12, 0)
CAL = WorkingDayCalendar(frozenset(DEFAULT_EXTRA_NON_WORKING))


# --- domain.md §8 examples -------------------------------------------------------------


def test_rulebook_deferral_example_easter() -> None:
    # A deferral (1 day) received Thu 2026-04-02 13:05 is due Tue 2026-04-07: after the
    # cut-off, then Good Friday, the weekend and Easter Monday.
    received = datetime(2026, 4, 2, 13, 5)
    assert service_level_due(received, 1, CAL, NOON) == date(2026, 4, 7)


def test_rulebook_refund_example_midsummer() -> None:
    # A refund (3 days) received Thu 2026-06-18 11:00 is due Tue 2026-06-23: day 1 is the
    # Thursday, Midsummer Eve (Fri 19th) is not a working day, day 2 Mon 22nd, day 3 Tue.
    received = datetime(2026, 6, 18, 11, 0)
    assert service_level_due(received, 3, CAL, NOON) == date(2026, 6, 23)


@pytest.mark.parametrize(
    ("month", "expected"),
    [(1, date(2026, 1, 5)), (5, date(2026, 5, 5))],
)
def test_lois_second_working_day(month: int, expected: date) -> None:
    # Rent notices on the 2nd working day (New Year's Day and May Day come first).
    assert CAL.nth_working_day_of_month(2026, month, 2) == expected


@pytest.mark.parametrize(
    ("month", "expected"),
    [(5, date(2026, 5, 28)), (12, date(2026, 12, 29))],
)
def test_lois_second_to_last_working_day(month: int, expected: date) -> None:
    # Vacancies and internal contracts on the second-to-last working day (New Year's Eve,
    # Thu 2026-12-31, is not a working day by default).
    assert CAL.nth_last_working_day_of_month(2026, month, 2) == expected


def test_last_working_day_of_december_2026() -> None:
    assert CAL.nth_last_working_day_of_month(2026, 12, 1) == date(2026, 12, 30)


# --- the cut-off -------------------------------------------------------------------------


def test_exactly_at_cutoff_counts_as_day_one() -> None:
    # "By 12:00" is inclusive: a case stamped 12:00:00 is on day 1.
    assert service_level_due(datetime(2026, 3, 10, 12, 0, 0), 1, CAL, NOON) == date(2026, 3, 10)


def test_just_after_cutoff_moves_day_one() -> None:
    received = datetime(2026, 3, 10, 12, 0, 0, 1)
    assert service_level_due(received, 1, CAL, NOON) == date(2026, 3, 11)


def test_cutoff_is_a_parameter() -> None:
    received = datetime(2026, 3, 10, 14, 0)
    assert service_level_due(received, 1, CAL, time(15, 0)) == date(2026, 3, 10)
    assert service_level_due(received, 1, CAL, time(13, 59)) == date(2026, 3, 11)


def test_cutoff_defaults_to_noon() -> None:
    assert service_level_due(datetime(2026, 3, 10, 11, 59), 2, CAL) == date(2026, 3, 11)


def test_arrival_on_a_weekend_morning_starts_on_monday() -> None:
    # Before the cut-off, but not on a working day: day 1 is the next working day.
    received = datetime(2026, 3, 14, 9, 0)  # Saturday
    assert service_level_due(received, 1, CAL, NOON) == date(2026, 3, 16)
    assert service_level_due(received, 2, CAL, NOON) == date(2026, 3, 17)


def test_arrival_on_friday_afternoon_starts_on_monday() -> None:
    received = datetime(2026, 3, 13, 16, 0)
    assert service_level_due(received, 1, CAL, NOON) == date(2026, 3, 16)


def test_aware_datetime_is_read_on_the_swedish_clock() -> None:
    # 2026-06-18 is summer time (UTC+2): 09:30 UTC is 11:30 in Sweden, 10:30 UTC is 12:30.
    early = datetime(2026, 6, 18, 9, 30, tzinfo=UTC)
    late = datetime(2026, 6, 18, 10, 30, tzinfo=UTC)
    assert service_level_due(early, 1, CAL, NOON) == date(2026, 6, 18)
    assert service_level_due(late, 1, CAL, NOON) == date(2026, 6, 22)


def test_utc_evening_can_be_the_next_swedish_day() -> None:
    # 23:30 UTC on Thu 2026-01-08 is 00:30 on Fri 2026-01-09 in Sweden (UTC+1).
    received = datetime(2026, 1, 8, 23, 30, tzinfo=UTC)
    assert service_level_due(received, 1, CAL, NOON) == date(2026, 1, 9)


def test_handling_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        service_level_due(datetime(2026, 3, 10, 9, 0), 0, CAL, NOON)


def test_cutoff_must_be_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        service_level_due(datetime(2026, 3, 10, 9, 0), 1, CAL, time(12, tzinfo=UTC))


# --- which days are working days ---------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 1, 6),  # Epiphany
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),  # May Day
        date(2026, 5, 14),  # Ascension Day
        date(2026, 12, 25),  # Christmas Day
        date(2025, 6, 6),  # National Day on a Friday
        date(2025, 12, 26),  # Boxing Day on a Friday
    ],
)
def test_public_holidays_on_weekdays_are_not_working_days(d: date) -> None:
    assert d.weekday() < 5
    assert not CAL.is_working_day(d)


@pytest.mark.parametrize(
    "d",
    [date(2026, 6, 19), date(2026, 12, 24), date(2026, 12, 31)],
)
def test_eves_are_not_working_days_by_default_but_are_a_setting(d: date) -> None:
    assert not CAL.is_working_day(d)
    assert WorkingDayCalendar(frozenset()).is_working_day(d)


def test_each_eve_can_be_switched_separately() -> None:
    only_christmas = WorkingDayCalendar(frozenset({"christmas_eve"}))
    assert not only_christmas.is_working_day(date(2026, 12, 24))
    assert only_christmas.is_working_day(date(2026, 12, 31))
    assert only_christmas.is_working_day(date(2026, 6, 19))
    assert only_christmas.extra_non_working == frozenset({"christmas_eve"})


def test_default_constructor_uses_default_eves() -> None:
    assert WorkingDayCalendar().extra_non_working == frozenset(DEFAULT_EXTRA_NON_WORKING)


def test_unknown_eve_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="walpurgis"):
        WorkingDayCalendar(frozenset({"walpurgis_eve"}))


def test_bare_string_is_rejected() -> None:
    with pytest.raises(TypeError):
        WorkingDayCalendar("christmas_eve")


def test_weekends_are_never_working_days_and_ordinary_weekdays_are() -> None:
    # The holidays library may list Swedish Sundays as holidays; weekends are excluded by
    # weekday anyway, and an ordinary weekday must stay a working day.
    assert not CAL.is_working_day(date(2026, 3, 14))
    assert not CAL.is_working_day(date(2026, 3, 15))
    assert CAL.is_working_day(date(2026, 3, 16))
    assert CAL.is_working_day(datetime(2026, 3, 16, 23, 59))


@pytest.mark.parametrize("year", range(1990, 2051))
def test_eves_match_the_holidays_library_de_facto_category(year: int) -> None:
    # Cross-check our own eve dates (Midsummer Eve is the Friday 19-25 June) against the
    # library's "de facto" holidays (semesterlagen 7 §: midsommarafton, julafton,
    # nyårsafton), and the weekday public holidays against the library's public ones.
    de_facto = holidays.country_holidays("SE", years=year, categories=("de_facto",))
    public = holidays.country_holidays("SE", years=year)
    no_eves = WorkingDayCalendar(frozenset())
    d = date(year, 1, 1)
    while d.year == year:
        if d.weekday() < 5:
            assert CAL.is_working_day(d) == (d not in de_facto and d not in public), d
            assert no_eves.is_working_day(d) == (d not in public), d
        d += timedelta(days=1)


# --- arithmetic --------------------------------------------------------------------------


def test_next_and_previous_working_day() -> None:
    assert CAL.next_working_day(date(2026, 4, 2)) == date(2026, 4, 2)
    assert CAL.next_working_day(date(2026, 4, 3)) == date(2026, 4, 7)
    assert CAL.previous_working_day(date(2026, 4, 6)) == date(2026, 4, 2)


def test_add_working_days_examples() -> None:
    assert CAL.add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert CAL.add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 2)
    assert CAL.add_working_days(date(2026, 3, 14), 1) == date(2026, 3, 16)  # from Saturday
    assert CAL.add_working_days(date(2026, 3, 14), 0) == date(2026, 3, 16)
    assert CAL.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert CAL.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)  # across years


def test_working_days_between_examples() -> None:
    assert CAL.working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert CAL.working_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1
    assert CAL.working_days_between(date(2026, 4, 2), date(2026, 4, 2)) == 0
    assert CAL.working_days_between(date(2026, 3, 14), date(2026, 3, 13)) == 0  # Sat -> Fri
    # December 2026: 23 weekdays less Christmas Eve, Christmas Day, New Year's Eve.
    assert CAL.working_days_between(date(2026, 11, 30), date(2026, 12, 31)) == 20
    assert len(CAL.working_days_of_month(2026, 12)) == 20


def test_nth_working_day_bounds() -> None:
    assert CAL.nth_working_day_of_month(2026, 12, 20) == date(2026, 12, 30)
    with pytest.raises(ValueError, match="only 20 working days"):
        CAL.nth_working_day_of_month(2026, 12, 21)
    with pytest.raises(ValueError, match="only 20 working days"):
        CAL.nth_last_working_day_of_month(2026, 12, 21)
    with pytest.raises(ValueError, match="1 or more"):
        CAL.nth_working_day_of_month(2026, 12, 0)
    with pytest.raises(ValueError, match="1 or more"):
        CAL.nth_last_working_day_of_month(2026, 12, 0)


_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))


@given(_dates, st.integers(min_value=-40, max_value=40))
def test_add_then_count_round_trips(d: date, n: int) -> None:
    result = CAL.add_working_days(d, n)
    assert CAL.is_working_day(result)
    if n != 0:
        assert (result > d) == (n > 0)
    if n > 0 or (n < 0 and CAL.is_working_day(d)):
        assert CAL.working_days_between(d, result) == n
    if n < 0 and not CAL.is_working_day(d):
        # (result, d] does not contain d itself, so it holds one working day fewer.
        assert CAL.working_days_between(d, result) == n + 1


@given(_dates, _dates, _dates)
def test_working_days_between_adds_up(a: date, b: date, c: date) -> None:
    ab, bc = CAL.working_days_between(a, b), CAL.working_days_between(b, c)
    assert ab + bc == CAL.working_days_between(a, c)
    assert CAL.working_days_between(b, a) == -ab


@given(_dates, st.integers(min_value=1, max_value=10), st.times())
def test_due_date_is_a_working_day_n_minus_one_after_day_one(d: date, days: int, at: time) -> None:
    received = datetime.combine(d, at)
    due = service_level_due(received, days, CAL, NOON)
    assert CAL.is_working_day(due)
    day_one = d if (at <= NOON and CAL.is_working_day(d)) else CAL.add_working_days(d, 1)
    assert CAL.working_days_between(day_one, due) == days - 1
    assert due >= d


@given(_dates)
def test_a_month_s_working_days_are_the_same_asked_again_and_each_list_is_the_caller_s(
    d: date,
) -> None:
    # Kept per month (the billing run asks once per charge): a caller changing its list
    # changes no later answer.
    cal = WorkingDayCalendar(frozenset(DEFAULT_EXTRA_NON_WORKING))
    first = cal.working_days_of_month(d.year, d.month)
    expected = [
        day
        for day in (date(d.year, d.month, 1) + timedelta(days=n) for n in range(31))
        if day.month == d.month and cal.is_working_day(day)
    ]
    assert first == expected
    first.clear()
    assert cal.working_days_of_month(d.year, d.month) == expected
