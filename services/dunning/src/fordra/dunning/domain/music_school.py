"""Music school: a pupil may be refused a place when the annual fee is unpaid on 31 August
(domain.md §4, seed 001: "Elev vid musikskolan kan nekas undervisning om årsavgiften ej är betald
31 augusti").

What we chose where the rulebook is silent:

- The deadline is a month and a day each year (settings ``music_school_deadline_month`` and
  ``music_school_deadline_day``, 31 August; a day the month lacks is its last day, so a 29
  February deadline is the 28th in a common year).
- "The annual fee" is every music-school invoice due on or before the deadline with capital
  still open: the fee is billed per term in advance (seed 001: "Musikavgifter terminsvis i
  förskott"), and an older term left unpaid is unpaid fee all the same. An invoice under a hold
  (a deferral, postponement, dispute or active plan) is not held against the pupil.
- The check is made on the first working day on or after the deadline (the daily run runs on
  working days only): what was paid by then counts as paid.
- Invoices name the paying customer (the guardian), not the pupil: the customer is flagged, with
  the invoices, and the music school finds the pupil by them. A flag is a decision the school
  may act on ("kan nekas"), not a refusal: no letter follows from it.

The functions take plain rows, as the daily run's SQL selects them, and answer decisions.
"""

from __future__ import annotations

import calendar as month_lengths
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from fordra.dunning.domain.policy import DunningPolicy
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import SINCE_ALWAYS


@dataclass(frozen=True, slots=True)
class MusicSchoolInvoiceRow:
    """One of a customer's music-school invoices with capital still open."""

    invoice_id: str
    customer_id: str
    due_date: date
    capital_open_ore: int
    # Under a hold: a deferral, a postponement, a dispute or an active payment plan.
    held: bool = False


@dataclass(frozen=True, slots=True)
class PupilFlag:
    """The pupil of ``customer_id`` may be refused a place: the fee was unpaid at the deadline.
    ``deadline`` names the school year, so a flag is decided once per customer and year."""

    customer_id: str
    invoice_ids: tuple[str, ...]
    unpaid_ore: int
    deadline: date
    flagged_on: date


def music_school_deadline(year: int, settings: DunningSettings) -> date:
    """The deadline of ``year`` (31 August by default)."""
    first = date(year, 1, 1)
    month = settings.music_school_deadline_month.at(first)
    day = settings.music_school_deadline_day.at(first)
    return date(year, month, min(day, month_lengths.monthrange(year, month)[1]))


def music_school_check_day(
    year: int, calendar: WorkingDayCalendar, settings: DunningSettings
) -> date:
    """The working day the fees of ``year`` are checked: the deadline, or the next working day."""
    return calendar.next_working_day(music_school_deadline(year, settings))


def is_music_school_check_day(
    day: date, calendar: WorkingDayCalendar, settings: DunningSettings
) -> bool:
    """Is ``day`` the day the pupils of this year are checked? (Where the deadline is a weekend
    at the end of December, the check falls in January: last year's.)"""
    if day == music_school_check_day(day.year, calendar, settings):
        return True
    # Before the first year the settings cover there is no deadline to carry over (and no
    # setting to look up: a run of January 1900 answered a 500).
    if day.year - 1 < SINCE_ALWAYS.year:
        return False
    return day == music_school_check_day(day.year - 1, calendar, settings)


def latest_deadline(day: date, settings: DunningSettings) -> date:
    """The deadline on or before ``day``: this year's once it has come, else last year's."""
    this_year = music_school_deadline(day.year, settings)
    return this_year if this_year <= day else music_school_deadline(day.year - 1, settings)


def pupils_to_flag(
    day: date,
    rows: Iterable[MusicSchoolInvoiceRow],
    settings: DunningSettings,
    policy: DunningPolicy | None = None,
) -> list[PupilFlag]:
    """The customers whose music-school fee due by the latest deadline is still unpaid on
    ``day``, sorted by customer; with ``policy`` (the music school's), exempt customers are left
    out."""
    deadline = latest_deadline(day, settings)
    unpaid: dict[str, list[MusicSchoolInvoiceRow]] = defaultdict(list)
    for row in rows:
        if row.capital_open_ore <= 0 or row.held or row.due_date > deadline:
            continue
        if policy is not None and policy.is_exempt(row.customer_id):
            continue
        unpaid[row.customer_id].append(row)
    return [
        PupilFlag(
            customer_id=customer_id,
            invoice_ids=tuple(sorted(r.invoice_id for r in unpaid[customer_id])),
            unpaid_ore=sum(r.capital_open_ore for r in unpaid[customer_id]),
            deadline=deadline,
            flagged_on=day,
        )
        for customer_id in sorted(unpaid)
    ]
