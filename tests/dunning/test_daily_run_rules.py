"""The daily run's cut-offs per service (domain.md §4, seed 001 / seed 004) and the fallback late
interest (domain.md §3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from fordra.dunning.application.claims import claim_interest_ore
from fordra.dunning.domain.daily_run import (
    DunningSettings,
    SeedPolicies,
    check_reminder_not_before_seven_days,
    cutoffs_for,
    reminder_fee_for,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated

SETTINGS = DunningSettings()
DAY = date(2026, 4, 8)


def test_seed_001_reminds_7_days_after_the_due_date_and_hands_over_10_days_later() -> None:
    policy = SeedPolicies(SETTINGS).policy_for("water", DAY)
    cut = cutoffs_for("water", policy, DAY, SETTINGS, WorkingDayCalendar())
    assert cut.model == "reminder_then_handover"
    assert cut.remind_started_by == date(2026, 4, 1)
    assert cut.hand_over_reminded_by == date(2026, 3, 29)
    assert cut.fee_ore == 0
    assert cut.next_step == "agency"


def test_a_reminder_is_never_earlier_than_7_days_whatever_the_policy_says() -> None:
    hasty = replace(SeedPolicies(SETTINGS).policy_for("water", DAY), reminder_after_days=3)
    assert check_reminder_not_before_seven_days(hasty, DAY, SETTINGS) == 7
    later = replace(hasty, reminder_after_days=14)
    assert check_reminder_not_before_seven_days(later, DAY, SETTINGS) == 14


def test_a_reminder_fee_only_where_it_was_agreed() -> None:
    settings = DunningSettings(
        reminder_fee_ore=Dated[int].always(6000),
        reminder_fee_agreed_for=Dated[tuple[str, ...]].always(("premises_rent",)),
    )
    book = SeedPolicies(settings)
    assert reminder_fee_for(book.policy_for("premises_rent", DAY)) == 6000
    assert reminder_fee_for(book.policy_for("water", DAY)) == 0


def test_no_handover_where_the_next_step_is_not_the_agency() -> None:
    policy = replace(SeedPolicies(SETTINGS).policy_for("water", DAY), next_step="none")
    cut = cutoffs_for("water", policy, DAY, SETTINGS, WorkingDayCalendar())
    assert cut.remind_started_by == date(2026, 4, 1)
    assert cut.hand_over_reminded_by is None


def test_seed_004_hands_over_invoices_4_to_7_weeks_overdue_once_a_month() -> None:
    policy = replace(
        SeedPolicies(SETTINGS).policy_for("water", DAY), model="handover_then_agency_reminder"
    )
    calendar = WorkingDayCalendar()
    # 2026-05-04 is May's first working day (1 May is a holiday, then a weekend)
    cut = cutoffs_for("water", policy, date(2026, 5, 4), SETTINGS, calendar)
    assert (cut.agency_due_from, cut.agency_due_by) == (date(2026, 3, 16), date(2026, 4, 6))
    assert cut.remind_started_by is None
    assert cut.fee_ore == 0
    other_day = cutoffs_for("water", policy, date(2026, 5, 5), SETTINGS, calendar)
    assert other_day.agency_due_by is None


def test_late_interest_is_the_reference_rate_plus_8_points_actual_365() -> None:
    # domain.md §3: 10,000 kr due 2026-01-31 paid 2026-03-02: 30 days at 10 % = 82.19 kr
    assert claim_interest_ore(1_000_000, date(2026, 1, 31), date(2026, 3, 2), SETTINGS) == 8219
    assert claim_interest_ore(1_000_000, date(2026, 3, 2), date(2026, 3, 2), SETTINGS) == 0
    assert claim_interest_ore(0, date(2026, 1, 31), date(2026, 3, 2), SETTINGS) == 0


def test_late_interest_changes_rate_at_the_half_year() -> None:
    # 2025-06-21..2025-06-30 at 2.50 + 8 (10 days), 2025-07-01..2025-07-10 at 2.00 + 8 (10 days)
    expected = (
        Decimal(1_000_000)
        * (Decimal("10.5") * 10 + Decimal("10.0") * 10)
        / Decimal(100)
        / Decimal(365)
    )
    got = claim_interest_ore(1_000_000, date(2025, 6, 20), date(2025, 7, 10), SETTINGS)
    assert got == round(expected)
    assert got == 5616


def test_days_before_the_first_known_rate_accrue_nothing_in_the_fallback() -> None:
    # The fallback table starts on 2020-01-01 (0 % + 8 points): an invoice of 2004 accrues
    # only from then, never an error
    got = claim_interest_ore(1_000_000, date(2004, 5, 1), date(2020, 1, 10), SETTINGS)
    assert got == round(Decimal(1_000_000) * Decimal("0.08") * 10 / 365)
