"""Music school (domain.md §4, seed 001): a pupil can be refused a place if the annual fee is
unpaid on 31 August."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.dunning.domain.music_school import (
    MusicSchoolInvoiceRow,
    PupilFlag,
    is_music_school_check_day,
    latest_deadline,
    music_school_check_day,
    music_school_deadline,
    pupils_to_flag,
)
from fordra.dunning.domain.policy import PolicyBook
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated

SETTINGS = DunningSettings()
CALENDAR = WorkingDayCalendar()
SPRING_DUE = date(2026, 1, 31)


def fee(
    invoice_id: str, due: date, open_ore: int = 120_000, customer_id: str = "guardian-1", **f: bool
) -> MusicSchoolInvoiceRow:
    return MusicSchoolInvoiceRow(invoice_id, customer_id, due, open_ore, **f)


def test_the_fee_unpaid_on_31_august_flags_the_pupil() -> None:
    # Given the spring term's fee still open on Monday 31 August 2026
    day = date(2026, 8, 31)
    assert is_music_school_check_day(day, CALENDAR, SETTINGS)
    # When the check runs
    flags = pupils_to_flag(day, [fee("spring", SPRING_DUE)], SETTINGS)
    # Then the guardian's pupil is flagged, naming the invoice
    assert flags == [
        PupilFlag(
            customer_id="guardian-1",
            invoice_ids=("spring",),
            unpaid_ore=120_000,
            deadline=date(2026, 8, 31),
            flagged_on=day,
        )
    ]


def test_paid_or_not_yet_due_is_not_flagged() -> None:
    rows = [
        fee("paid", SPRING_DUE, open_ore=0),
        # the autumn term's fee, due after the deadline
        fee("autumn", date(2026, 9, 30), customer_id="guardian-2"),
        fee("held", SPRING_DUE, customer_id="guardian-3", held=True),
    ]
    assert pupils_to_flag(date(2026, 8, 31), rows, SETTINGS) == []


def test_a_fee_due_on_the_deadline_counts_and_older_terms_too() -> None:
    rows = [fee("on-the-day", date(2026, 8, 31)), fee("last-year", date(2025, 9, 30), 500)]
    [flag] = pupils_to_flag(date(2026, 8, 31), rows, SETTINGS)
    assert flag.invoice_ids == ("last-year", "on-the-day")
    assert flag.unpaid_ore == 120_500


def test_a_deadline_on_a_sunday_is_checked_on_the_monday() -> None:
    # 31 August 2025 is a Sunday
    assert music_school_check_day(2025, CALENDAR, SETTINGS) == date(2025, 9, 1)
    assert not is_music_school_check_day(date(2025, 8, 29), CALENDAR, SETTINGS)
    assert is_music_school_check_day(date(2025, 9, 1), CALENDAR, SETTINGS)
    assert not is_music_school_check_day(date(2025, 9, 2), CALENDAR, SETTINGS)
    flags = pupils_to_flag(date(2025, 9, 1), [fee("spring", date(2025, 1, 31))], SETTINGS)
    assert [(f.deadline, f.flagged_on) for f in flags] == [(date(2025, 8, 31), date(2025, 9, 1))]


def test_before_the_deadline_the_last_years_deadline_applies() -> None:
    assert latest_deadline(date(2026, 8, 30), SETTINGS) == date(2025, 8, 31)
    assert latest_deadline(date(2026, 8, 31), SETTINGS) == date(2026, 8, 31)
    # so a fee due in the spring is not held against the pupil before 31 August
    assert pupils_to_flag(date(2026, 8, 30), [fee("spring", SPRING_DUE)], SETTINGS) == []


@pytest.mark.parametrize(
    ("year", "deadline"), [(2028, date(2028, 2, 29)), (2027, date(2027, 2, 28))]
)
def test_the_deadline_is_a_setting_and_a_29_february_falls_back_in_a_common_year(
    year: int, deadline: date
) -> None:
    leap = DunningSettings(
        music_school_deadline_month=Dated[int].always(2),
        music_school_deadline_day=Dated[int].always(29),
    )
    assert music_school_deadline(year, leap) == deadline


def test_each_customer_is_flagged_once_and_the_exempt_not_at_all() -> None:
    rows = [
        fee("b1", SPRING_DUE, customer_id="guardian-b"),
        fee("a1", SPRING_DUE, customer_id="guardian-a"),
        fee("b2", date(2026, 6, 30), customer_id="guardian-b"),
        fee("x", SPRING_DUE, customer_id="exempt"),
    ]
    policy = PolicyBook(SETTINGS).policy_for("music_school", date(2026, 8, 31))
    policy = policy.model_copy(update={"exempt_customer_ids": ("exempt",)})
    flags = pupils_to_flag(date(2026, 8, 31), rows, SETTINGS, policy)
    assert [(f.customer_id, f.invoice_ids) for f in flags] == [
        ("guardian-a", ("a1",)),
        ("guardian-b", ("b1", "b2")),
    ]
