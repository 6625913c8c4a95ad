"""Billing periods per service (seed 001, "Följande debiteringsperioder gäller"; domain.md §2).

- water, waste: two months in arrears + the current month (VA & renhållning); May-September
  billed at the start of the period ("sommar i början av perioden maj-september");
- childcare: the current month, monthly;
- elderly care: the previous month (monthly in arrears);
- housing rent: the next month (monthly in advance);
- premises rent: the next month, or the next quarter (a setting per municipality);
- music school: the term in advance (spring Jan-Jun, autumn Jul-Dec);
- hall rental: the previous half-year (half-yearly in arrears);
- the rest: as close to delivery as possible, the invoice date itself.

A departmental system may send its own period; it must then be a real interval (start <= end).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from fordra.kernel.errors import DomainRuleViolation


class BillingPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date

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
    service_type: str, invoice_date: date, *, premises_rent: PremisesRentPeriod = "month"
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
        spring = invoice_date.month <= 6
        year = invoice_date.year
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
) -> BillingPeriod:
    if period is None:
        return billing_period_for(service_type, invoice_date, premises_rent=premises_rent)
    if (period.end - period.start).days > 366:
        raise DomainRuleViolation(
            "a billing period covers at most a year", field="billing_period", rule="period_length"
        )
    return period
