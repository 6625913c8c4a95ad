"""The daily run's cut-offs per service (domain.md §4, seed 001 / seed 004), from the policy book's
policies, and the late interest of a proposal (domain.md §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fordra.dunning.domain.daily_run import cutoffs_for, reminder_days, reminder_pay_by
from fordra.dunning.domain.interest import StatutoryInterest
from fordra.dunning.domain.policy import DunningPolicy, PolicyBook, default_policy
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.late_interest import reference_rate_table

SETTINGS = DunningSettings()
DAY = date(2026, 4, 8)


# A proposal's interest: what the run computes on the open capital (the shipped rates here).
proposal_interest_ore = StatutoryInterest(reference_rate_table()).interest_ore


def water(**changes: Any) -> DunningPolicy:
    return default_policy("water", DAY, SETTINGS).model_copy(update=changes)


def test_seed_001_reminds_7_days_after_the_due_date_and_hands_over_10_days_later() -> None:
    policy = PolicyBook(SETTINGS).policy_for("water", DAY)
    cut = cutoffs_for("water", policy, DAY, SETTINGS, WorkingDayCalendar())
    assert cut.model == "reminder_then_handover"
    assert cut.remind_started_by == date(2026, 4, 1)
    # 10 days after the reminder, and after the pay-by date it named: a reminder of 2026-03-29
    # asked payment by 2026-04-08 (domain.md §4), so the run of that day waits for it
    assert cut.hand_over_reminded_by == date(2026, 3, 28)
    assert cut.fee_ore == 0
    assert cut.next_step == "agency"


def test_a_reminder_is_never_earlier_than_7_days_whatever_the_policy_says() -> None:
    assert reminder_days(water(reminder_after_days=3), DAY, SETTINGS) == 7
    assert reminder_days(water(reminder_after_days=14), DAY, SETTINGS) == 14


def test_a_reminder_fee_only_where_it_was_agreed() -> None:
    calendar = WorkingDayCalendar()
    agreed = water(reminder_fee_ore=6000, reminder_fee_agreed=True)
    assert cutoffs_for("water", agreed, DAY, SETTINGS, calendar).fee_ore == 6000
    assert cutoffs_for("water", water(), DAY, SETTINGS, calendar).fee_ore == 0
    # a cap lowered after the policy was set: never more than the day's cap (domain.md §3)
    lowered = DunningSettings(reminder_fee_cap_ore=Dated[int].always(5000))
    assert cutoffs_for("water", agreed, DAY, lowered, calendar).fee_ore == 5000


def test_no_handover_where_the_next_step_is_not_the_agency() -> None:
    policy = water(next_step="none")
    cut = cutoffs_for("water", policy, DAY, SETTINGS, WorkingDayCalendar())
    assert cut.remind_started_by == date(2026, 4, 1)
    assert cut.hand_over_reminded_by is None


def test_a_disconnection_policy_refers_on_the_day_it_would_have_handed_over() -> None:
    # Given an electricity policy whose next step is disconnection (issue 16)
    electricity = default_policy("electricity_supply", DAY, SETTINGS).model_copy(
        update={"next_step": "disconnection"}
    )
    cut = cutoffs_for("electricity_supply", electricity, DAY, SETTINGS, WorkingDayCalendar())
    # Then the claim is referred by the agency's own cut-off (10 days and the pay-by date), and
    # the same cut-off hands over a claim the procedure declined
    assert cut.refers_for_disconnection
    assert cut.hand_over_reminded_by == date(2026, 3, 28)
    # And a policy for the agency refers nothing
    agency = default_policy("electricity_supply", DAY, SETTINGS)
    assert not cutoffs_for(
        "electricity_supply", agency, DAY, SETTINGS, WorkingDayCalendar()
    ).refers_for_disconnection


def test_seed_004_hands_over_invoices_4_to_7_weeks_overdue_once_a_month() -> None:
    policy = water(model="handover_then_agency_reminder")
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
    assert proposal_interest_ore(1_000_000, date(2026, 1, 31), date(2026, 3, 2)) == 8219
    assert proposal_interest_ore(1_000_000, date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert proposal_interest_ore(0, date(2026, 1, 31), date(2026, 3, 2)) == 0


def test_late_interest_changes_rate_at_the_half_year() -> None:
    # 2025-06-21..2025-06-30 at 2.50 + 8 (10 days), 2025-07-01..2025-07-10 at 2.00 + 8 (10 days)
    expected = (
        Decimal(1_000_000)
        * (Decimal("10.5") * 10 + Decimal("10.0") * 10)
        / Decimal(100)
        / Decimal(365)
    )
    got = proposal_interest_ore(1_000_000, date(2025, 6, 20), date(2025, 7, 10))
    # each rate period rounded once (fordra.kernel.late_interest): 2,876.71 + 2,739.73
    assert abs(got - expected) < 1
    assert got == 2877 + 2740


def test_a_reminders_pay_by_date_is_a_working_day() -> None:
    calendar = WorkingDayCalendar()
    # Sent Wednesday 2026-04-08: 10 days on is Saturday 2026-04-18, so Monday 2026-04-20
    assert reminder_pay_by(date(2026, 4, 8), SETTINGS, calendar) == date(2026, 4, 20)
    # Sent Monday 2026-04-13: 10 days on is Thursday 2026-04-23, a working day
    assert reminder_pay_by(date(2026, 4, 13), SETTINGS, calendar) == date(2026, 4, 23)


def test_a_claim_is_handed_over_only_after_the_pay_by_date_its_reminder_named() -> None:
    calendar = WorkingDayCalendar()
    # A reminder of Monday 2026-04-13 asks payment by Thursday 2026-04-23: the run of that day
    # does not propose the handover (the customer may still pay), the next day's does
    on_pay_by = cutoffs_for("water", water(), date(2026, 4, 23), SETTINGS, calendar)
    assert on_pay_by.hand_over_reminded_by is not None
    assert on_pay_by.hand_over_reminded_by < date(2026, 4, 13)
    after = cutoffs_for("water", water(), date(2026, 4, 24), SETTINGS, calendar)
    assert after.hand_over_reminded_by is not None
    assert after.hand_over_reminded_by >= date(2026, 4, 13)
    # A policy handing over 1 day after the reminder still waits for the pay-by date
    quick = water(handover_after_reminder_days=1)
    cut = cutoffs_for("water", quick, date(2026, 4, 14), SETTINGS, calendar)
    # (the reminders that asked payment by Monday 2026-04-13 at the latest)
    assert cut.hand_over_reminded_by == date(2026, 4, 3)
