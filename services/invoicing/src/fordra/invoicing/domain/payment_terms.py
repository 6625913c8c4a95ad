"""Due dates from payment terms (domain.md §2 "payment terms"; seed 001)."""

from __future__ import annotations

from datetime import date, timedelta

from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.calendar import WorkingDayCalendar


def due_date_for(
    invoice_date: date, settings: InvoicingSettings, calendar: WorkingDayCalendar
) -> tuple[date, int]:
    """The due date and the number of days of credit in force on the invoice date."""
    days = settings.payment_terms_days.at(invoice_date)
    due = invoice_date + timedelta(days=days)
    if settings.due_date_moves_to_working_day:
        due = calendar.next_working_day(due)
    return due, days
