"""The billing calendar of recurring charges: which periods a charge bills, on which day each
notice goes out, and what a period costs when the contract covers only part of it.

Rules (domain.md §2 "Billing periods", §8 "Rent (LOIS)"; seed 001's periods, seed 002 lines
1485-1501 and 1875-1881):

- A charge bills calendar periods: months, quarters (January, April, July, October), terms (spring
  January-June, autumn July-December, as the music school's terms in billing_period.py) or years.
- A period's notice goes out in a month given by the charge's *timing*: ``advance`` the month
  before the period begins (housing rent "monthly in advance", premises rent, the music school's
  term), ``current`` the period's first month (childcare "current month"), ``closing`` the
  period's last month (LOIS's vacancy and internal contracts, "näst sista arbetsdagen", for the
  month that ends), ``arrears`` the month after it ends (elderly care, hall rental).
- On that month's *billing day*: the 2nd working day for rent notices ("Andra arbetsdagen i
  månaden"), the second-to-last for vacancies and internal contracts ("Näst sista arbetsdagen i
  månaden"), or the first day, the first or the last working day. Working days are the Swedish
  calendar's (fordra.kernel.calendar: Midsummer, Christmas and New Year's Eve are not).
- A period the contract covers only in part (it starts or ends inside it) costs its days' share:
  the amount times the days covered over the period's days, rounded once to whole öre; a price
  change inside a period splits it the same way (our choice, the usual per-day rent).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Final, Literal

from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.kernel.calendar import WorkingDayCalendar

Cadence = Literal["monthly", "quarterly", "term", "yearly"]
BillingDay = Literal[
    "first_day",
    "first_working_day",
    "second_working_day",
    "penultimate_working_day",
    "last_working_day",
]
Timing = Literal["advance", "current", "closing", "arrears"]

_MONTHS: Final[dict[str, int]] = {"monthly": 1, "quarterly": 3, "term": 6, "yearly": 12}
_ONE_DAY: Final[timedelta] = timedelta(days=1)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    return date(year, month, month_calendar.monthrange(year, month)[1])


def period_containing(cadence: Cadence, day: date) -> BillingPeriod:
    """The calendar period of ``cadence`` that ``day`` falls in."""
    months = _MONTHS[cadence]
    first_month = (day.month - 1) // months * months + 1
    end_year, end_month = _add_months(day.year, first_month, months - 1)
    return BillingPeriod(start=date(day.year, first_month, 1), end=_month_end(end_year, end_month))


def next_period(cadence: Cadence, period: BillingPeriod) -> BillingPeriod:
    return period_containing(cadence, period.end + _ONE_DAY)


def billing_month(period: BillingPeriod, timing: Timing) -> tuple[int, int]:
    """The month whose billing day sends the notice of ``period`` (see the module docstring)."""
    if timing == "advance":
        return _add_months(period.start.year, period.start.month, -1)
    if timing == "current":
        return period.start.year, period.start.month
    if timing == "closing":
        return period.end.year, period.end.month
    return _add_months(period.end.year, period.end.month, 1)


def billing_day_of_month(
    year: int, month: int, billing_day: BillingDay, calendar: WorkingDayCalendar
) -> date:
    if billing_day == "first_day":
        return date(year, month, 1)
    if billing_day == "first_working_day":
        return calendar.nth_working_day_of_month(year, month, 1)
    if billing_day == "second_working_day":
        return calendar.nth_working_day_of_month(year, month, 2)
    if billing_day == "penultimate_working_day":
        return calendar.nth_last_working_day_of_month(year, month, 2)
    return calendar.nth_last_working_day_of_month(year, month, 1)


def billing_date(
    period: BillingPeriod, timing: Timing, billing_day: BillingDay, calendar: WorkingDayCalendar
) -> date:
    """The day the notice of ``period`` goes out."""
    year, month = billing_month(period, timing)
    return billing_day_of_month(year, month, billing_day, calendar)


def periods_due(
    *,
    cadence: Cadence,
    timing: Timing,
    billing_day: BillingDay,
    calendar: WorkingDayCalendar,
    starts_on: date,
    ends_on: date | None,
    through: date,
) -> list[BillingPeriod]:
    """Every period the contract covers (from ``starts_on`` to ``ends_on``) whose notice day is on
    or before ``through``: a run that was missed (a day the process was down) is made up by the
    next one, and a notice is never sent before its day."""
    due: list[BillingPeriod] = []
    period = period_containing(cadence, starts_on)
    while (ends_on is None or period.start <= ends_on) and billing_date(
        period, timing, billing_day, calendar
    ) <= through:
        due.append(period)
        period = next_period(cadence, period)
    return due


def amount_for(
    period: BillingPeriod,
    prices: Sequence[tuple[date, int]],
    starts_on: date,
    ends_on: date | None,
) -> int:
    """What ``period`` costs: each day covered (from ``starts_on`` to ``ends_on``) at the price in
    force that day (``prices``: (from, öre per period), sorted, the first from ``starts_on``),
    over the period's days; rounded once, half away from zero, to whole öre."""
    first = max(period.start, starts_on)
    last = period.end if ends_on is None else min(period.end, ends_on)
    if last < first:
        return 0
    days_in_period = (period.end - period.start).days + 1
    total = Fraction(0)
    for index, (price_from, amount) in enumerate(prices):
        price_until = prices[index + 1][0] - _ONE_DAY if index + 1 < len(prices) else last
        segment_first = max(first, price_from)
        segment_last = min(last, price_until)
        if segment_last >= segment_first:
            total += Fraction(amount * ((segment_last - segment_first).days + 1), days_in_period)
    whole = int(abs(total) + Fraction(1, 2))
    return whole if total >= 0 else -whole
