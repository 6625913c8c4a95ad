"""Billing periods per service (seed 001, "Följande debiteringsperioder gäller"; domain.md §2).

- water, waste: two months in arrears + the current month (VA & renhållning); May-September
  billed at the start of the period ("sommar i början av perioden maj-september");
- childcare: the current month, monthly;
- elderly care: the previous month (monthly in arrears);
- housing rent: the next month (monthly in advance);
- premises rent: the next month, or the next quarter (a setting per municipality);
- music school: the term in advance (spring Jan-Jun, autumn Jul-Dec): the term running a month
  (a setting) after the invoice date, so a December invoice covers the coming spring term;
- hall rental: the previous half-year (half-yearly in arrears);
- the rest: as close to delivery as possible, the invoice date itself.

A departmental system may send its own period; it must then be a real interval (start <= end).

Water and waste periods never overlap from one invoice to the next (``next_billing_period``): the
rule's period starts after what the customer's standing invoices for that service (and property)
already cover.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from fordra.kernel.dated import CalendarDate
from fordra.kernel.errors import DomainRuleViolation


class BillingPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Within the calendar a request may name (kernel.dated): 9999-12-01 was taken as a period.
    start: CalendarDate
    end: CalendarDate

    @model_validator(mode="after")
    def _ordered(self) -> BillingPeriod:
        if self.end < self.start:
            raise ValueError("a billing period ends on or after its start")
        return self


PremisesRentPeriod = Literal["month", "quarter"]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def billing_period_for(  # noqa: PLR0911 - one return per rule of seed 001
    service_type: str,
    invoice_date: date,
    *,
    premises_rent: PremisesRentPeriod = "month",
    term_months_ahead: int = 1,
) -> BillingPeriod:
    """The period an invoice of this service covers when its system did not say."""
    this_month = _month_start(invoice_date)
    if service_type in ("water", "waste"):
        if 5 <= invoice_date.month <= 9:  # summer: billed at the start of the period
            return BillingPeriod(start=this_month, end=_month_end(_add_months(this_month, 2)))
        return BillingPeriod(start=_add_months(this_month, -2), end=_month_end(invoice_date))
    if service_type == "childcare":
        return BillingPeriod(start=this_month, end=_month_end(invoice_date))
    if service_type == "elderly_care":
        previous = _add_months(this_month, -1)
        return BillingPeriod(start=previous, end=this_month - timedelta(days=1))
    if service_type == "housing_rent" or (
        service_type == "premises_rent" and premises_rent == "month"
    ):
        following = _add_months(this_month, 1)
        return BillingPeriod(start=following, end=_month_end(following))
    if service_type == "premises_rent":
        quarter = _add_months(date(invoice_date.year, (invoice_date.month - 1) // 3 * 3 + 1, 1), 3)
        return BillingPeriod(start=quarter, end=_month_end(_add_months(quarter, 2)))
    if service_type == "music_school":
        # "Musikavgifter terminsvis i förskott": the term running ``term_months_ahead`` after
        # the invoice's month, so a December invoice covers the coming spring term.
        ahead = _add_months(this_month, term_months_ahead)
        spring = ahead.month <= 6
        year = ahead.year
        return (
            BillingPeriod(start=date(year, 1, 1), end=date(year, 6, 30))
            if spring
            else BillingPeriod(start=date(year, 7, 1), end=date(year, 12, 31))
        )
    if service_type == "hall_rental":
        if invoice_date.month <= 6:
            return BillingPeriod(
                start=date(invoice_date.year - 1, 7, 1), end=date(invoice_date.year - 1, 12, 31)
            )
        return BillingPeriod(
            start=date(invoice_date.year, 1, 1), end=date(invoice_date.year, 6, 30)
        )
    return BillingPeriod(start=invoice_date, end=invoice_date)


def checked_period(
    period: BillingPeriod | None,
    service_type: str,
    invoice_date: date,
    premises_rent: PremisesRentPeriod,
    *,
    term_months_ahead: int = 1,
    billed: tuple[BillingPeriod, ...] = (),
) -> BillingPeriod:
    """The period an invoice covers: its system's own, or the service's rule, and after what
    ``billed`` (the standing invoices' periods of the same kind) already covers."""
    if period is None:
        rule = billing_period_for(
            service_type,
            invoice_date,
            premises_rent=premises_rent,
            term_months_ahead=term_months_ahead,
        )
        return next_billing_period(rule, billed, explicit=False)
    if (period.end - period.start).days > 366:
        raise DomainRuleViolation(
            "a billing period covers at most a year", field="billing_period", rule="period_length"
        )
    return next_billing_period(period, billed, explicit=True)


def next_billing_period(
    period: BillingPeriod, billed: tuple[BillingPeriod, ...], *, explicit: bool
) -> BillingPeriod:
    """Billing periods do not overlap from one invoice to the next (seed 001's periods for "Va &
    Renhållning", domain.md §2): two months in arrears + the current month, but May-September
    at the start of the period, would otherwise bill August and September twice when October's
    invoice follows July's. ``billed`` holds the periods of the customer's standing invoices for
    the same service and property (a cancelled or fully credited invoice frees its period).

    A period the rule computed starts the day after the last one billed; if nothing is left of it,
    or a departmental system sent a period that overlaps one billed, the invoice is refused."""
    overlapping = [b for b in billed if b.start <= period.end and period.start <= b.end]
    if not overlapping:
        return period
    through = max(b.end for b in overlapping)
    if not explicit and all(b.start <= period.start for b in overlapping) and through < period.end:
        return BillingPeriod(start=through + timedelta(days=1), end=period.end)
    raise DomainRuleViolation(
        f"the period {period.start.isoformat()} – {period.end.isoformat()} overlaps one already "
        f"invoiced (through {through.isoformat()}): a period is billed once",
        field="billing_period",
        rule="billing_periods_do_not_overlap",
    )
