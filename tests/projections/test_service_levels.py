"""The service levels of the office's cases (domain.md §8, seed 002 "Handläggningstider"): the
due-date rule, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.projections.domain.service_levels import (
    ServiceLevel,
    ServiceLevelSettings,
    due_by,
    handling_days,
    percentile,
)

CAL = WorkingDayCalendar()
SETTINGS = ServiceLevelSettings()
SWEDEN = ZoneInfo("Europe/Stockholm")


def due(kind: str, received: str, *, autogiro: bool = False) -> date:
    at = datetime.fromisoformat(received)
    return due_by(kind, at, autogiro=autogiro, settings=SETTINGS, calendar=CAL)


def test_the_rulebooks_deferral_example() -> None:
    # domain.md §8: a deferral (1 day) received Thu 2026-04-02 13:05 is due Tue 2026-04-07
    # (after 12:00, then Good Friday, the weekend and Easter Monday).
    assert due("deferral", "2026-04-02T13:05:00+02:00") == date(2026, 4, 7)


def test_the_rulebooks_refund_example() -> None:
    # domain.md §8: a refund (3 days) received Thu 2026-06-18 11:00 is due Tue 2026-06-23
    # (Midsummer Eve is not a working day).
    assert due("refund", "2026-06-18T11:00:00+02:00") == date(2026, 6, 23)


def test_noon_is_read_on_the_swedish_clock_whatever_the_offset() -> None:
    # 10:30 UTC in summer is 12:30 in Sweden: after the cut-off, so day 1 is the next day.
    assert due("deferral", "2026-04-01T10:30:00Z") == date(2026, 4, 2)
    # 10:00 UTC is 12:00 in Sweden: by 12:00, so day 1 is the arrival day.
    assert due("deferral", "2026-04-01T10:00:00+00:00") == date(2026, 4, 1)
    # The same instant sent with a New York offset.
    assert due("deferral", "2026-04-01T06:00:00-04:00") == date(2026, 4, 1)


def test_every_row_of_the_seeds_table_has_its_number_of_days() -> None:
    # Seed 002, "Kundreskontra" (lines 1740-1790), and the childcare rows of domain.md §8.
    expected = {
        "refund": 3,
        "deferral": 1,
        "payment_plan": 2,
        "cancellation_credit": 2,
        "agency_inbox": 2,
        "import_error_list": 1,
        "payment_proposal": 3,
        "kronofogden": 2,
        "e_invoice_error": 2,
        "agency_payment": 3,
        "autogiro_mandate": 5,
        "department_question": 2,
        "childcare_manual_form": 3,
        "childcare_message": 1,
    }
    periods = {
        "weekly_control": "weekly",
        "reconciliation": "weekly",
        "advance_reversal": "monthly",
        "period_close": "period_close",
    }
    on = date(2026, 1, 1)
    assert set(SETTINGS.levels) == set(expected) | set(periods)
    for kind, days in expected.items():
        assert SETTINGS.level(kind, on).days == days, kind
    for kind, shape in periods.items():
        assert SETTINGS.level(kind, on).shape == shape, kind
    # Monday 2026-03-02 09:00: day 1 is that Monday, so N days is the N-th working day.
    for kind, days in expected.items():
        assert due(kind, "2026-03-02T09:00:00+01:00") == CAL.add_working_days(
            date(2026, 3, 2), days - 1
        ), kind


def test_a_deferral_with_autogiro_may_take_three_days() -> None:
    # Seed 002: "Om fakturan har autogiro kan det ta upp till 3 dagar".
    assert due("deferral", "2026-03-02T09:00:00+01:00", autogiro=True) == date(2026, 3, 4)
    # Autogiro changes nothing for other kinds.
    assert due("refund", "2026-03-02T09:00:00+01:00", autogiro=True) == date(2026, 3, 4)
    assert due("payment_plan", "2026-03-02T09:00:00+01:00", autogiro=True) == date(2026, 3, 3)


def test_once_a_week_is_due_the_last_working_day_of_the_week() -> None:
    assert due("reconciliation", "2026-03-02T09:00:00+01:00") == date(2026, 3, 6)
    # Midsummer week: Friday is Midsummer Eve, so Thursday ends the week.
    assert due("weekly_control", "2026-06-15T09:00:00+02:00") == date(2026, 6, 18)
    # Arriving after noon on the week's last working day: next week's.
    assert due("weekly_control", "2026-03-06T13:00:00+01:00") == date(2026, 3, 13)


def test_once_a_month_is_due_the_last_working_day_of_the_month() -> None:
    assert due("advance_reversal", "2026-05-04T09:00:00+02:00") == date(2026, 5, 29)
    # Late on the last working day: next month's.
    assert due("advance_reversal", "2026-05-29T15:00:00+02:00") == date(2026, 6, 30)


def test_period_close_is_due_on_day_2_of_the_closing() -> None:
    # Day 0 is the last working day of May (Fri 29th), days 1 and 2 Mon 1 and Tue 2 June.
    assert due("period_close", "2026-05-29T09:00:00+02:00") == date(2026, 6, 2)
    assert due("period_close", "2026-06-01T09:00:00+02:00") == date(2026, 6, 2)
    assert due("period_close", "2026-06-02T09:00:00+02:00") == date(2026, 6, 2)
    # After day 2 it belongs to June's closing.
    assert due("period_close", "2026-06-03T09:00:00+02:00") == date(2026, 7, 2)


def test_the_days_are_a_dated_setting() -> None:
    # A refund's 3 days become 2 from 2027; a case is held to the level in force when it came.
    settings = ServiceLevelSettings(
        levels={
            **SETTINGS.levels,
            "refund": Dated[ServiceLevel].table(
                ("1900-01-01", ServiceLevel(days=3)), ("2027-01-01", ServiceLevel(days=2))
            ),
        }
    )
    before = datetime(2026, 12, 1, 9, tzinfo=SWEDEN)
    after = datetime(2027, 3, 1, 9, tzinfo=SWEDEN)
    assert due_by("refund", before, autogiro=False, settings=settings, calendar=CAL) == date(
        2026, 12, 3
    )
    assert due_by("refund", after, autogiro=False, settings=settings, calendar=CAL) == date(
        2027, 3, 2
    )
    # And so is the cut-off of day 1.
    late = ServiceLevelSettings(cutoff=Dated[time].always(time(15, 0)))
    at_two = datetime(2026, 3, 2, 14, tzinfo=SWEDEN)
    assert due_by("deferral", at_two, autogiro=False, settings=late, calendar=CAL) == date(
        2026, 3, 2
    )
    assert due_by("deferral", at_two, autogiro=False, settings=SETTINGS, calendar=CAL) == date(
        2026, 3, 3
    )


def test_a_level_names_its_days_or_is_a_period() -> None:
    with pytest.raises(ValueError, match="names its days"):
        ServiceLevel(shape="weekly", days=1)
    with pytest.raises(ValueError, match="names its days"):
        ServiceLevel()


def test_handling_days_count_from_day_one() -> None:
    # Day 1 Thu 2026-06-18; done Mon 22nd is working day 2 (Midsummer Eve and the weekend off).
    assert handling_days(date(2026, 6, 18), date(2026, 6, 18), CAL) == 1
    assert handling_days(date(2026, 6, 18), date(2026, 6, 22), CAL) == 2
    # Done on a day off counts as the working day before; done before day 1 as one day.
    assert handling_days(date(2026, 6, 18), date(2026, 6, 20), CAL) == 1
    assert handling_days(date(2026, 6, 18), date(2026, 6, 17), CAL) == 1


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([4], 95) == 4
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 21)), 95) == 19
    assert percentile(list(range(1, 21)), 50) == 10


_instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
_working_kinds = st.sampled_from(
    [k for k in SETTINGS.levels if SETTINGS.level(k, date(2026, 1, 1)).days is not None]
)


@given(_instants, _working_kinds, st.booleans())
def test_a_due_date_is_the_nth_working_day_from_day_one(
    received: datetime, kind: str, autogiro: bool
) -> None:
    # Over the calendar: the due date is a working day, never before the arrival day, and
    # exactly N - 1 working days after day 1, which is the arrival day only by 12:00.
    level = SETTINGS.level(kind, date(2026, 1, 1))
    assert level.days is not None
    n = level.autogiro_days if autogiro and level.autogiro_days else level.days
    local = received.astimezone(SWEDEN)
    result = due_by(kind, received, autogiro=autogiro, settings=SETTINGS, calendar=CAL)
    assert CAL.is_working_day(result)
    assert result >= local.date()
    on_day_one = local.time() <= time(12, 0) and CAL.is_working_day(local.date())
    first = local.date() if on_day_one else CAL.add_working_days(local.date(), 1)
    assert CAL.working_days_between(first, result) == n - 1
    # Nothing before day 1 counts: a day later never makes a case due sooner.
    later = due_by(
        kind, received + timedelta(days=1), autogiro=autogiro, settings=SETTINGS, calendar=CAL
    )
    assert later >= result


@given(_instants, st.sampled_from(["weekly_control", "advance_reversal", "period_close"]))
def test_a_periodic_case_is_due_on_a_working_day_within_its_period(
    received: datetime, kind: str
) -> None:
    result = due_by(kind, received, autogiro=False, settings=SETTINGS, calendar=CAL)
    local = received.astimezone(SWEDEN).date()
    assert CAL.is_working_day(result)
    assert local <= result <= local + timedelta(days=45)
