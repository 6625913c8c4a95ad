"""Late interest (dröjsmålsränta, räntelagen 6 §; domain.md §3, seed 001): the arithmetic every
path calls, shared like ``fordra.kernel.ocr`` because two contexts need the same answer to the
öre: dunning charges it when the capital is paid (and shows it on letters and payment plans), and
the customer ledger (projections, which may not import dunning) shows what has accrued so far.

The rule, as this module reads it:

- Interest runs **from** a start day (the due date, the postponed due date, or a deferral's
  ``interest_from``: ``interest_start``) **to** a day it accrues to (the payment day, or the
  business date for what has accrued so far). Each day ``d`` with ``start < d <= to`` is one day
  of interest: the rulebook's example, due 2026-01-31 and paid 2026-03-02, is 30 days (the 1st of
  February to the 2nd of March). So nothing accrues for a payment on the due date, and the
  payment day itself is a day of interest (the money was not ours until it came).
- **The day convention of a payment** (the brief asks us to choose): a change of the capital on
  day ``p`` (a partial payment, a reversal) counts from the day after, ``p + 1``. That is the
  same convention as a whole payment above: the capital paid on ``p`` still bears interest on
  ``p``, and a payment on the due date leaves no interest on what it paid.
- **The rate** of a day is the Riksbank reference rate of the half-year the day lies in, plus the
  margin in force that day (8 percentage points: a dated setting, ``STATUTORY_MARGIN_POINTS``).
  A rate below zero (never so since the reference rate was made, but the table accepts negative
  reference rates) bears no interest rather than paying the debtor.
- **Day count actual/365**: every day is 1/365 of the yearly rate, in leap years too (the rulebook
  says 365; a leap year's 366 days then make 366/365 of the yearly rate).
- **Rounding per rate period**: the days are grouped into *rate periods* (consecutive days of one
  rate: a half-year, or a margin change); within a period the interest of each day is summed
  exactly (rational arithmetic, no float), and the period's sum is rounded once to whole öre,
  half an öre up. The rulebook's "actual/365 per rate period, rounded to whole öre" read
  literally; and each period is one line of what is charged (``LateInterestCharged`` carries one
  rate), so each line is a whole number of öre and the lines add up to the total.
- **The base** is the capital open on the day, never below zero (an overpayment bears nothing);
  interest and fees bear no interest of their own (no interest on interest).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from fordra.kernel.dated import Dated

# Sveriges Riksbank's reference rate (referensränta, räntelagen 9 §), per calendar half-year, in
# percent, since it replaced the discount rate on 2002-07-01. Source for 2002-07-01 to 2023-07-01:
# Sveriges Riksbank, "Riksbankens referensränta",
# https://www.riksbank.se/sv/statistik/sok-rantor--valutakurser/referensranta/ (the table as
# updated 2023-07-03; 2023-07-01 also in the Riksbank's notice "Referensräntan fastställd till
# 3,50 procent" of 2023-07-03). From 2024-01-01 on: the rulebook (domain.md §3), which gives
# 2024-01-01 4.00, 2024-07-01 4.00, 2025-01-01 2.50, 2025-07-01 2.00 and 2026-01-01 2.00.
# Two things to verify before production (said so in the report of issue 13): a third-party
# table (mystep.se) gives 3.00 for 2025-01-01 where the rulebook gives 2.50 (the policy rate cut
# to 2.50 of December 2024 took effect on 2 January 2025, which would make the reference rate of
# the first half of 2025 3.00); we follow the rulebook. And no rate from 2026-07-01 on is shipped:
# none could be found; until an admin adds it (POST /api/v1/admin/reference-rates) the last
# half-year's rate stays in force, as a dated setting does. The years before 2020 are shipped so
# that an old claim (long-term surveillance, domain.md §4) has a rate for every day it was open.
RIKSBANK_REFERENCE_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2002, 7, 1), Decimal("4.50")),
    (date(2003, 1, 1), Decimal("4.00")),
    (date(2003, 7, 1), Decimal("3.00")),
    (date(2004, 1, 1), Decimal("3.00")),
    (date(2004, 7, 1), Decimal("2.00")),
    (date(2005, 1, 1), Decimal("2.00")),
    (date(2005, 7, 1), Decimal("1.50")),
    (date(2006, 1, 1), Decimal("1.50")),
    (date(2006, 7, 1), Decimal("2.50")),
    (date(2007, 1, 1), Decimal("3.00")),
    (date(2007, 7, 1), Decimal("3.50")),
    (date(2008, 1, 1), Decimal("4.00")),
    (date(2008, 7, 1), Decimal("4.50")),
    (date(2009, 1, 1), Decimal("2.00")),
    (date(2009, 7, 1), Decimal("0.50")),
    (date(2010, 1, 1), Decimal("0.50")),
    (date(2010, 7, 1), Decimal("0.50")),
    (date(2011, 1, 1), Decimal("1.50")),
    (date(2011, 7, 1), Decimal("2.00")),
    (date(2012, 1, 1), Decimal("2.00")),
    (date(2012, 7, 1), Decimal("1.50")),
    (date(2013, 1, 1), Decimal("1.00")),
    (date(2013, 7, 1), Decimal("1.00")),
    (date(2014, 1, 1), Decimal("1.00")),
    (date(2014, 7, 1), Decimal("1.00")),
    (date(2015, 1, 1), Decimal("0.00")),
    (date(2015, 7, 1), Decimal("0.00")),
    (date(2016, 1, 1), Decimal("0.00")),
    (date(2016, 7, 1), Decimal("-0.50")),
    (date(2017, 1, 1), Decimal("-0.50")),
    (date(2017, 7, 1), Decimal("-0.50")),
    (date(2018, 1, 1), Decimal("-0.50")),
    (date(2018, 7, 1), Decimal("-0.50")),
    (date(2019, 1, 1), Decimal("-0.50")),
    (date(2019, 7, 1), Decimal("0.00")),
    (date(2020, 1, 1), Decimal("0.00")),
    (date(2020, 7, 1), Decimal("0.00")),
    (date(2021, 1, 1), Decimal("0.00")),
    (date(2021, 7, 1), Decimal("0.00")),
    (date(2022, 1, 1), Decimal("0.00")),
    (date(2022, 7, 1), Decimal("0.50")),
    (date(2023, 1, 1), Decimal("2.50")),
    (date(2023, 7, 1), Decimal("3.50")),
    (date(2024, 1, 1), Decimal("4.00")),
    (date(2024, 7, 1), Decimal("4.00")),
    (date(2025, 1, 1), Decimal("2.50")),
    (date(2025, 7, 1), Decimal("2.00")),
    (date(2026, 1, 1), Decimal("2.00")),
)

# Räntelagen 6 §: the reference rate plus eight percentage points. A dated setting (domain.md
# preamble), from when the reference rate replaced the discount rate (2002-07-01, SFS 2002:352)
# and the rate table starts.
STATUTORY_MARGIN_POINTS: Dated[Decimal] = Dated[Decimal].table(("2002-07-01", Decimal("8")))

# Actual/365 (domain.md §3): one day is this part of the yearly rate, in leap years too.
DAYS_PER_YEAR = 365


def reference_rate_table(
    added: Iterable[tuple[date, Decimal]] = (),
) -> Dated[Decimal]:
    """The reference rates in force: the shipped table and the half-years an admin added (an added
    half-year never differs from a shipped one: the adding rule refuses that)."""
    rows = dict(RIKSBANK_REFERENCE_RATES)
    rows.update(dict(added))
    return Dated[Decimal](rows=tuple(sorted(rows.items())))


def interest_start(due_date: date, interest_from: date | None = None) -> date:
    """The day interest runs from (domain.md §2 "Deferral", "Postponement"): the due date as it
    stands (a postponement moves it, and interest with it), or, under a deferral, the day the
    ``DeferralGranted`` event names (invoice date + 30 days, never before the due date), but
    never before the current due date (a postponement after a deferral moves it on)."""
    if interest_from is None:
        return due_date
    return max(due_date, interest_from)


@dataclass(frozen=True, slots=True)
class CapitalChange:
    """The capital changed on ``on`` by ``amount_ore`` (negative: a payment; positive: a
    reversal of one). It counts from the day after ``on`` (the module's day convention)."""

    on: date
    amount_ore: int


@dataclass(frozen=True, slots=True)
class InterestPeriod:
    """The interest of one rate period: the days ``first_day`` to ``last_day``, both included,
    at ``rate_percent`` (the reference rate + the margin), rounded to whole öre."""

    first_day: date
    last_day: date
    rate_percent: Decimal
    amount_ore: int

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def _round_half_up(value: Fraction) -> int:
    """Whole öre, half an öre up (the value is never negative here)."""
    return int((value * 2 + 1) // 2)


def _breaks(rates: Dated[Decimal], after: date, until: date) -> list[date]:
    """The days in ``(after, until]`` on which a dated value changes."""
    return [d for d, _ in rates.rows if after < d <= until]


def late_interest(
    capital_ore: int,
    changes: Sequence[CapitalChange],
    *,
    start: date,
    until: date,
    reference_rates: Dated[Decimal],
    margin_points: Dated[Decimal] = STATUTORY_MARGIN_POINTS,
) -> tuple[InterestPeriod, ...]:
    """The late interest on ``capital_ore`` (the capital at the start, before ``changes``) from
    ``start`` to ``until``, one ``InterestPeriod`` per rate period with interest (domain.md §3,
    seed 001; the conventions are the module's docstring). Nothing when ``until <= start``.

    Works by segments, not by days: the days between two breaks (a rate change or a capital
    change) are summed at once, so a claim open for years costs a handful of steps."""
    if until <= start:
        return ()
    # The capital bearing interest on day d: the capital plus every change made before d.
    by_day: dict[date, int] = {}
    for change in changes:
        effective = max(change.on + timedelta(days=1), start + timedelta(days=1))
        by_day[effective] = by_day.get(effective, 0) + change.amount_ore
    capital_days = sorted(by_day)
    capital_steps = [0]
    for d in capital_days:
        capital_steps.append(capital_steps[-1] + by_day[d])

    def capital_on(day: date) -> int:
        return capital_ore + capital_steps[bisect_right(capital_days, day)]

    first = start + timedelta(days=1)
    breaks = sorted(
        {
            first,
            *_breaks(reference_rates, start, until),
            *_breaks(margin_points, start, until),
            *(d for d in capital_days if first < d <= until),
        }
    )
    periods: list[InterestPeriod] = []
    open_period: tuple[date, date, Decimal, Fraction] | None = None
    for i, seg_start in enumerate(breaks):
        seg_end = breaks[i + 1] - timedelta(days=1) if i + 1 < len(breaks) else until
        rate = reference_rates.at(seg_start) + margin_points.at(seg_start)
        days = (seg_end - seg_start).days + 1
        base = max(capital_on(seg_start), 0)
        part = Fraction(base * days) * Fraction(max(rate, Decimal(0))) / (100 * DAYS_PER_YEAR)
        if open_period is not None and open_period[2] == rate:
            open_period = (open_period[0], seg_end, rate, open_period[3] + part)
        else:
            if open_period is not None:
                periods.append(_closed(open_period))
            open_period = (seg_start, seg_end, rate, part)
    if open_period is not None:
        periods.append(_closed(open_period))
    return tuple(p for p in periods if p.amount_ore > 0)


def _closed(period: tuple[date, date, Decimal, Fraction]) -> InterestPeriod:
    first_day, last_day, rate, exact = period
    return InterestPeriod(first_day, last_day, rate, _round_half_up(exact))


def total_ore(periods: Iterable[InterestPeriod]) -> int:
    """The interest of all ``periods``: the sum of each period's whole öre."""
    return sum(p.amount_ore for p in periods)
