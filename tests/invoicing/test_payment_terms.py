"""Payment terms (domain.md §2 "Invoice content"; seed 001: "Räntedebitering sker 30 dagar från
fakturadatum"): the due date is the invoice date plus the days of credit in force on it, moved to
the next working day when it falls on a day the banks are closed."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.invoicing.domain.payment_terms import due_date_for
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated

SETTINGS = InvoicingSettings()
CALENDAR = WorkingDayCalendar()


@pytest.mark.parametrize(
    ("invoice_date", "due"),
    [
        # 30 days to a Wednesday: as it is
        (date(2026, 3, 2), date(2026, 4, 1)),
        # to a Sunday: the Monday after
        (date(2026, 2, 27), date(2026, 3, 30)),
        # to New Year's Day (a Thursday): the Friday
        (date(2025, 12, 2), date(2026, 1, 2)),
        # to Christmas Eve (closed, a setting), then Christmas, Boxing Day and a Sunday
        (date(2026, 11, 24), date(2026, 12, 28)),
    ],
)
def test_thirty_days_of_credit_to_the_next_working_day(invoice_date: date, due: date) -> None:
    assert due_date_for(invoice_date, SETTINGS, CALENDAR) == (due, 30)


def test_a_due_date_stays_on_a_closed_day_when_the_setting_says_so() -> None:
    settings = InvoicingSettings(due_date_moves_to_working_day=False)
    assert due_date_for(date(2026, 2, 27), settings, CALENDAR) == (date(2026, 3, 29), 30)


def test_the_terms_are_those_in_force_on_the_invoice_date() -> None:
    settings = InvoicingSettings(
        payment_terms_days=Dated[int].table(("1900-01-01", 30), ("2027-01-01", 20))
    )
    assert due_date_for(date(2026, 12, 31), settings, CALENDAR) == (date(2027, 2, 1), 30)
    assert due_date_for(date(2027, 1, 1), settings, CALENDAR) == (date(2027, 1, 21), 20)
