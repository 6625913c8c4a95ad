"""The Swedish working-day calendar and service-level due dates (domain.md §8).

domain.md §8 defines every handling time ("N days") in working days: weekdays that are
neither Swedish public holidays nor (our assumption, a setting) Midsummer Eve, Christmas
Eve or New Year's Eve. The LOIS rent runs (domain.md §8, "Rent (LOIS)") are scheduled on
the n-th and n-th-last working day of a month, and Autogiro notices count banking days
(domain.md §9), so every part of Fordra asks this one module rather than counting days
on its own.

Pure: no I/O, no clock. Callers pass the dates and times they mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_EXTRA_NON_WORKING",
    "KNOWN_EXTRA_NON_WORKING",
    "SWEDISH_TIME",
    "WorkingDayCalendar",
    "service_level_due",
]

# domain.md §8: "(our assumption, a setting) Midsummer, Christmas and New Year's Eve".
# They are not public holidays in law (lag 1989:253), but offices are closed, so by
# default they are not working days either. A tuple, so that the default is immutable.
DEFAULT_EXTRA_NON_WORKING: Final[tuple[str, ...]] = (
    "midsummer_eve",
    "christmas_eve",
    "new_years_eve",
)

# Every name that `extra_non_working` may contain. Kept to the three eves the rulebook
# names; a typo in a setting must fail loudly rather than silently make a day working.
KNOWN_EXTRA_NON_WORKING: Final[frozenset[str]] = frozenset(DEFAULT_EXTRA_NON_WORKING)

# Service levels are measured on the Swedish office clock (domain.md §8, "by 12:00").
SWEDISH_TIME: Final[ZoneInfo] = ZoneInfo("Europe/Stockholm")

# Default 12:00 cut-off for "arrived on day 1" (domain.md §8, seed 002 line 1676).
DEFAULT_CUTOFF: Final[time] = time(12, 0)

_ONE_DAY: Final[timedelta] = timedelta(days=1)
_SATURDAY: Final[int] = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend.


def _midsummer_eve(year: int) -> date:
    """Midsummer Eve: the Friday between 19 and 25 June (lag 1989:253, Midsummer Day
    being the Saturday between 20 and 26 June)."""
    june_19 = date(year, 6, 19)
    # Friday is weekday 4; step forward from 19 June to the first Friday.
    return june_19 + timedelta(days=(4 - june_19.weekday()) % 7)


def _extra_day(name: str, year: int) -> date:
    """The date of one of the named eves in `year`."""
    if name == "midsummer_eve":
        return _midsummer_eve(year)
    if name == "christmas_eve":
        return date(year, 12, 24)
    if name == "new_years_eve":
        return date(year, 12, 31)
    raise ValueError(f"unknown extra non-working day {name!r}")  # pragma: no cover


class WorkingDayCalendar:
    """Swedish working days (domain.md §8).

    A day is a working day when it is a Monday to Friday, not a Swedish public holiday
    (from the `holidays` library, category "public"), and not one of the eves named in
    `extra_non_working` (by default all three of DEFAULT_EXTRA_NON_WORKING).

    Note on Sundays: the `holidays` library treats every Swedish Sunday as a holiday in
    some versions (`include_sundays`, once the default). We test the weekday first, so
    whether Sundays are in the holiday table never matters: weekends are never working
    days and weekdays are judged by the real holidays only.
    """

    def __init__(
        self, extra_non_working: Iterable[str] = frozenset(DEFAULT_EXTRA_NON_WORKING)
    ) -> None:
        if isinstance(extra_non_working, str):
            # A bare string is an Iterable[str] of its letters: surely a mistake.
            raise TypeError("extra_non_working must be a collection of names, not a str")
        names = frozenset(extra_non_working)
        unknown = names - KNOWN_EXTRA_NON_WORKING
        if unknown:
            raise ValueError(
                f"unknown extra non-working day(s) {sorted(unknown)}; "
                f"known: {sorted(KNOWN_EXTRA_NON_WORKING)}"
            )
        self._extra_non_working: frozenset[str] = names
        # Per-year cache of weekday closures: building the holiday table is far slower
        # than a set look-up, and add_working_days may walk many days of the same year.
        self._closed_by_year: dict[int, frozenset[date]] = {}
        # Per-month cache of working days: the billing run asks for the same month's for every
        # charge it bills (100,000 times in a run of 50,000 rents, docs/performance.md).
        self._working_days_by_month: dict[tuple[int, int], tuple[date, ...]] = {}

    @property
    def extra_non_working(self) -> frozenset[str]:
        """The eves this calendar treats as non-working (a setting, domain.md §8)."""
        return self._extra_non_working

    def __repr__(self) -> str:
        return f"WorkingDayCalendar(extra_non_working={sorted(self._extra_non_working)!r})"

    def _closed_days(self, year: int) -> frozenset[date]:
        """Public holidays and the configured eves of `year` (weekends not included)."""
        cached = self._closed_by_year.get(year)
        if cached is None:
            public = holidays.country_holidays("SE", years=year, categories=("public",))
            days = {d for d in public if d.year == year}
            days.update(_extra_day(name, year) for name in self._extra_non_working)
            cached = frozenset(days)
            self._closed_by_year[year] = cached
        return cached

    def is_working_day(self, d: date) -> bool:
        """True for a weekday that is neither a public holiday nor a configured eve."""
        # A datetime is a date subclass; use only its calendar date.
        d = _as_date(d)
        if d.weekday() >= _SATURDAY:
            return False
        return d not in self._closed_days(d.year)

    def next_working_day(self, d: date) -> date:
        """`d` itself if it is a working day, else the first working day after it."""
        d = _as_date(d)
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def previous_working_day(self, d: date) -> date:
        """`d` itself if it is a working day, else the last working day before it."""
        d = _as_date(d)
        while not self.is_working_day(d):
            d -= _ONE_DAY
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day strictly after `d` (n > 0) or strictly before it (n < 0).

        n == 0 gives next_working_day(d): "zero working days from d" is the first working
        day on or after d, so the result is always a working day.
        working_days_between(d, add_working_days(d, n)) == n for every n > 0, and for
        n < 0 when d is itself a working day.
        """
        d = _as_date(d)
        if n == 0:
            return self.next_working_day(d)
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """The working days in (a, b] when a <= b; minus those in (b, a] when a > b.

        Half-open so that "N working days after a" is exactly the day where this reaches
        N (service levels, Autogiro's 8 banking days, domain.md §8-9), and antisymmetric
        so that spans add up: between(a, b) + between(b, c) == between(a, c).
        """
        a, b = _as_date(a), _as_date(b)
        if a > b:
            return -self.working_days_between(b, a)
        count = 0
        d = a
        while d < b:
            d += _ONE_DAY
            if self.is_working_day(d):
                count += 1
        return count

    def working_days_of_month(self, year: int, month: int) -> list[date]:
        """All working days of the month, in order."""
        cached = self._working_days_by_month.get((year, month))
        if cached is None:
            d = date(year, month, 1)
            days: list[date] = []
            while d.month == month:
                if self.is_working_day(d):
                    days.append(d)
                d += _ONE_DAY
            cached = tuple(days)
            self._working_days_by_month[(year, month)] = cached
        return list(cached)  # the caller's own list: the cache is never changed

    def nth_working_day_of_month(self, year: int, month: int, n: int) -> date:
        """The n-th working day of the month, n >= 1 (LOIS rent notices: n = 2,
        domain.md §8)."""
        if n < 1:
            raise ValueError(f"n must be 1 or more, got {n}")
        days = self.working_days_of_month(year, month)
        if n > len(days):
            raise ValueError(f"{year}-{month:02d} has only {len(days)} working days, not {n}")
        return days[n - 1]

    def nth_last_working_day_of_month(self, year: int, month: int, n: int) -> date:
        """The n-th last working day of the month: n = 1 is the last, n = 2 the
        second-to-last (LOIS vacancies and internal contracts, domain.md §8)."""
        if n < 1:
            raise ValueError(f"n must be 1 or more, got {n}")
        days = self.working_days_of_month(year, month)
        if n > len(days):
            raise ValueError(f"{year}-{month:02d} has only {len(days)} working days, not {n}")
        return days[-n]


def _as_date(d: date) -> date:
    """The calendar date of a date or datetime (a datetime is a date subclass, and mixing
    them in comparisons raises TypeError)."""
    if isinstance(d, datetime):
        return d.date()
    return d


def service_level_due(
    received: datetime,
    days: int,
    calendar: WorkingDayCalendar,
    cutoff: time = DEFAULT_CUTOFF,
) -> date:
    """The date by whose end a case with an `days`-day handling time must be done
    (domain.md §8).

    "N days" means done by the end of working day N. Day 1 is the arrival day if the case
    arrived on a working day by the cut-off (12:00 in the rulebook), else the next
    working day.

    "By 12:00" is inclusive: a case stamped exactly 12:00:00 (the cut-off itself) is on
    day 1; one stamped 12:00:00.000001 or later is not. The comparison is at full
    precision, not by the minute, so that two systems with different clock resolutions
    cannot disagree about the same instant.

    `received` is read on the Swedish clock: an aware datetime is converted to
    Europe/Stockholm first (a UTC timestamp of 10:30 in summer is 12:30 in Sweden, after
    the cut-off); a naive one is taken to be Swedish local time already. `cutoff` must be
    naive (a wall-clock time).

    Examples from the rulebook: a deferral (1 day) received Thu 2026-04-02 13:05 is due
    Tue 2026-04-07 (Easter); a refund (3 days) received Thu 2026-06-18 11:00 is due
    Tue 2026-06-23 (Midsummer Eve is not a working day).
    """
    if days < 1:
        raise ValueError(f"a handling time is at least 1 working day, got {days}")
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff must be a naive wall-clock time (Swedish local time)")
    local = received.astimezone(SWEDISH_TIME) if received.tzinfo is not None else received
    arrival = local.date()
    on_time = local.time() <= cutoff
    if on_time and calendar.is_working_day(arrival):
        day_one = arrival
    else:
        # Too late, or not a working day: day 1 is the first working day after arrival.
        day_one = calendar.add_working_days(arrival, 1)
    return calendar.add_working_days(day_one, days - 1) if days > 1 else day_one
