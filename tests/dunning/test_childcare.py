"""Childcare fees (domain.md §4; seed 002 lines 1199-1207 and 1863-1867; seed 001): two unpaid
fee invoices bring a letter about the risk of termination, two months after the oldest due date;
around the 15th the district gets the guardians who got it and still have not paid."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.dunning.domain.childcare import (
    ChildcareInvoiceRow,
    TerminationWarningProposal,
    WarnedInvoiceRow,
    childcare_report,
    childcare_report_day,
    is_childcare_report_day,
    months_after,
    termination_warnings,
)
from fordra.dunning.domain.policy import PolicyBook
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated

SETTINGS = DunningSettings()
CALENDAR = WorkingDayCalendar()
JAN_DUE = date(2026, 1, 31)
FEB_DUE = date(2026, 2, 28)


def fee(
    invoice_id: str,
    due: date,
    open_ore: int = 150_000,
    customer_id: str = "guardian-1",
    **flags: bool,
) -> ChildcareInvoiceRow:
    return ChildcareInvoiceRow(invoice_id, customer_id, due, open_ore, **flags)


def test_two_unpaid_fee_invoices_bring_a_warning_two_months_after_the_oldest_due_date() -> None:
    # Given January's and February's fees unpaid a week after February's due date
    rows = [fee("feb", FEB_DUE, 140_000), fee("jan", JAN_DUE, 150_000)]
    # When the daily run of 7 March looks
    proposals = termination_warnings(date(2026, 3, 7), rows, SETTINGS)
    # Then the guardian gets one warning naming both, oldest first, termination on 31 March
    assert proposals == [
        TerminationWarningProposal(
            customer_id="guardian-1",
            invoice_ids=("jan", "feb"),
            oldest_due_date=JAN_DUE,
            termination_date=date(2026, 3, 31),
            capital_ore=290_000,
        )
    ]


def test_one_unpaid_invoice_is_not_enough() -> None:
    assert termination_warnings(date(2026, 3, 7), [fee("jan", JAN_DUE)], SETTINGS) == []


def test_one_paid_of_two_brings_no_warning() -> None:
    rows = [fee("jan", JAN_DUE, open_ore=0), fee("feb", FEB_DUE)]
    assert termination_warnings(date(2026, 3, 7), rows, SETTINGS) == []


def test_an_invoice_paid_in_part_is_still_unpaid() -> None:
    rows = [fee("jan", JAN_DUE, open_ore=1), fee("feb", FEB_DUE)]
    [proposal] = termination_warnings(date(2026, 3, 7), rows, SETTINGS)
    assert proposal.capital_ore == 150_001


@pytest.mark.parametrize(("day", "warned"), [(date(2026, 3, 6), False), (date(2026, 3, 7), True)])
def test_an_invoice_counts_as_unpaid_seven_days_after_its_due_date(day: date, warned: bool) -> None:
    rows = [fee("jan", JAN_DUE), fee("feb", FEB_DUE)]
    assert bool(termination_warnings(day, rows, SETTINGS)) is warned


def test_the_number_of_invoices_is_a_setting_and_the_table_of_seed_002_is_not_the_rule() -> None:
    # The body of seed 002 says ">= 2" (the rule); a municipality following its table's "> 2"
    # sets 3 from a date
    three = DunningSettings(
        childcare_unpaid_invoices_for_warning=Dated[int].table(("1900-01-01", 2), ("2026-03-01", 3))
    )
    rows = [fee("jan", JAN_DUE), fee("feb", FEB_DUE)]
    assert termination_warnings(date(2026, 3, 7), rows, three) == []
    rows.append(fee("dec", date(2025, 12, 31)))
    [proposal] = termination_warnings(date(2026, 3, 7), rows, three)
    # The oldest is December's: termination two months after it, 28 February, has passed, so
    # the letter gives the minimum notice of 14 days
    assert proposal.invoice_ids == ("dec", "jan", "feb")
    assert proposal.termination_date == date(2026, 3, 21)


def test_invoices_named_in_a_warning_do_not_start_another() -> None:
    # Given a guardian warned for January and February, who then leaves March unpaid too
    rows = [
        fee("jan", JAN_DUE, warned=True),
        fee("feb", FEB_DUE, warned=True),
        fee("mar", date(2026, 3, 31)),
    ]
    # Then no second warning: one new unpaid invoice is not two
    assert termination_warnings(date(2026, 4, 10), rows, SETTINGS) == []
    # but two new unpaid invoices are
    rows.append(fee("apr", date(2026, 4, 30)))
    [proposal] = termination_warnings(date(2026, 5, 7), rows, SETTINGS)
    assert proposal.invoice_ids == ("mar", "apr")
    assert proposal.termination_date == date(2026, 5, 31)


def test_held_invoices_do_not_count() -> None:
    rows = [fee("jan", JAN_DUE, held=True), fee("feb", FEB_DUE)]
    assert termination_warnings(date(2026, 3, 7), rows, SETTINGS) == []


def test_each_guardian_is_judged_on_their_own_invoices() -> None:
    rows = [
        fee("a-jan", JAN_DUE, customer_id="guardian-a"),
        fee("b-jan", JAN_DUE, customer_id="guardian-b"),
        fee("a-feb", FEB_DUE, customer_id="guardian-a"),
        fee("c-jan", JAN_DUE, customer_id="guardian-c"),
        fee("c-feb", FEB_DUE, customer_id="guardian-c"),
    ]
    proposals = termination_warnings(date(2026, 3, 7), rows, SETTINGS)
    assert [(p.customer_id, p.invoice_ids) for p in proposals] == [
        ("guardian-a", ("a-jan", "a-feb")),
        ("guardian-c", ("c-jan", "c-feb")),
    ]


def test_no_warning_where_the_policy_will_not_terminate_and_none_to_the_exempt() -> None:
    rows = [fee("jan", JAN_DUE), fee("feb", FEB_DUE), fee("x", JAN_DUE, customer_id="exempt")]
    rows.append(fee("y", FEB_DUE, customer_id="exempt"))
    policy = PolicyBook(SETTINGS).policy_for("childcare", date(2026, 3, 7))
    exempting = policy.model_copy(update={"exempt_customer_ids": ("exempt",)})
    proposals = termination_warnings(date(2026, 3, 7), rows, SETTINGS, exempting)
    assert [p.customer_id for p in proposals] == ["guardian-1"]
    # A childcare policy whose next step is the agency threatens no termination
    to_agency = policy.model_copy(update={"next_step": "agency"})
    assert termination_warnings(date(2026, 3, 7), rows, SETTINGS, to_agency) == []


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # a leap year
        (date(2027, 12, 29), 2, date(2028, 2, 29)),
        (date(2027, 12, 28), 2, date(2028, 2, 28)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 5, 10), 12, date(2027, 5, 10)),
    ],
)
def test_months_after_keeps_the_day_or_takes_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert months_after(day, months) == expected


def test_a_leap_year_termination_date() -> None:
    # December 2027's and January 2028's fees unpaid: termination on 29 February 2028
    rows = [fee("dec", date(2027, 12, 31)), fee("jan", date(2028, 1, 31))]
    [proposal] = termination_warnings(date(2028, 2, 7), rows, SETTINGS)
    assert proposal.termination_date == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [
        (2026, 4, date(2026, 4, 15)),  # a Wednesday
        (2026, 3, date(2026, 3, 16)),  # the 15th is a Sunday
        (2026, 8, date(2026, 8, 17)),  # the 15th is a Saturday
        (2022, 4, date(2022, 4, 19)),  # Good Friday the 15th, then Easter Monday
    ],
)
def test_the_report_goes_on_the_first_working_day_on_or_after_the_15th(
    year: int, month: int, day: date
) -> None:
    assert childcare_report_day(year, month, CALENDAR, SETTINGS) == day
    assert is_childcare_report_day(day, CALENDAR, SETTINGS)
    assert not is_childcare_report_day(day.replace(day=14), CALENDAR, SETTINGS)


def test_a_late_report_day_of_a_month_ending_on_a_weekend_carries_into_the_next() -> None:
    # The 31st set: January 2027 ends on a Sunday, so its report goes on Monday 1 February
    late = DunningSettings(childcare_report_day_of_month=Dated[int].always(31))
    assert childcare_report_day(2027, 1, CALENDAR, late) == date(2027, 2, 1)
    assert is_childcare_report_day(date(2027, 2, 1), CALENDAR, late)
    # and February, with 28 days, reports on its last day, Sunday 28 -> Monday 1 March
    assert childcare_report_day(2027, 2, CALENDAR, late) == date(2027, 3, 1)
    assert childcare_report_day(2027, 3, CALENDAR, late) == date(2027, 3, 31)


def test_the_report_lists_who_got_the_letter_and_still_has_not_paid() -> None:
    termination = date(2026, 3, 31)
    rows = [
        # warned on 9 March for two invoices, one paid since
        WarnedInvoiceRow("guardian-1", "jan", date(2026, 3, 9), termination, 150_000),
        WarnedInvoiceRow("guardian-1", "feb", date(2026, 3, 9), termination, 0),
        # warned and paid everything
        WarnedInvoiceRow("guardian-2", "jan-2", date(2026, 3, 9), termination, 0),
        # warned on the report day itself: not yet had the chance to pay
        WarnedInvoiceRow("guardian-3", "jan-3", date(2026, 3, 16), termination, 150_000),
        # warned twice, the second time with a later termination date
        WarnedInvoiceRow("guardian-4", "a", date(2026, 2, 9), date(2026, 2, 28), 100),
        WarnedInvoiceRow("guardian-4", "b", date(2026, 3, 9), termination, 200),
    ]
    report = childcare_report(date(2026, 3, 16), rows)
    assert [(r.customer_id, r.invoice_ids, r.unpaid_ore) for r in report] == [
        ("guardian-1", ("jan",), 150_000),
        ("guardian-4", ("a", "b"), 300),
    ]
    assert (report[1].first_warned_on, report[1].termination_date) == (
        date(2026, 2, 9),
        date(2026, 2, 28),
    )


def test_the_first_month_settings_cover_has_no_previous_months_report() -> None:
    # A run of January 1900 (the first month the settings cover, a date the API accepts) looked
    # up December 1899's report day and failed with a 500: there is no report before the settings
    assert is_childcare_report_day(date(1900, 1, 15), CALENDAR, SETTINGS)
    assert not is_childcare_report_day(date(1900, 1, 2), CALENDAR, SETTINGS)
