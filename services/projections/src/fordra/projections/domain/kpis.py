"""The key figures of the receivables (issue 17 "KPIs"; domain.md §5 and seed 004): the arithmetic,
pure. The read model (``fordra.projections.application.kpis``) counts; these functions say what
the counts mean.

- **Share handed to the agency**: of the invoices issued in a period, the share of claims handed
  to the collection agency in the same period, in per cent to one decimal (seed 004: "207 506 st
  fakturor varav 16 586 st gick vidare till inkassoföretaget, det vill säga 8,0 %").
- **The agency's success rate** (seed 004: "en lyckandegrad på cirka 55 procent"; the seed does
  not define it, so we do): of the agency's cases that ended in the period (the agency closed it,
  or the municipality recalled it, by the gateway's ``AgencyCaseChanged``), the share the agency
  closed having collected the whole capital handed over (``AgencyPaymentCollected.capital_ore``
  adding up to ``HandedToAgency.capital_ore``). A recalled case, or one closed short (long-term
  surveillance given up), is not a success.
- **Days sales outstanding** (the "countback-free" standard formula): the receivables open at the
  period's end divided by what was invoiced in the period, times the period's days.
- **Aged receivables** as of a day: the open capital of each invoice issued by then, in buckets by
  the days past its due date (not yet due, 0-30, 31-60, 61-90, 91 and more).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

# The buckets of aged receivables, as the ops web shows them (issue 17), with the days past due
# each begins at. "0-30" begins on the due date itself.
AGE_BUCKETS: Final[tuple[tuple[str, int], ...]] = (
    ("0-30", 0),
    ("31-60", 31),
    ("61-90", 61),
    ("91+", 91),
)
NOT_YET_DUE: Final[str] = "not_yet_due"


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent to one decimal; None when there is no whole (seed 004:
    16,586 of 207,506 is 8.0 %)."""
    if whole <= 0:
        return None
    return round(100 * part / whole, 1)


def share_handed_to_agency(handed: int, issued: int) -> float | None:
    """The share of the period's invoices handed to the agency (module docstring)."""
    return percent(handed, issued)


def agency_success_rate(successes: int, ended: int) -> float | None:
    """The agency's success rate (module docstring)."""
    return percent(successes, ended)


def days_sales_outstanding(
    open_ore: int, invoiced_ore: int, start: date, end: date
) -> float | None:
    """DSO = receivables open at ``end`` / invoiced in [start, end] x days in the period, to one
    decimal; None when nothing was invoiced."""
    if invoiced_ore <= 0:
        return None
    days = (end - start).days + 1
    return round(open_ore / invoiced_ore * days, 1)


def bucket_starts(as_of: date) -> list[tuple[str, date]]:
    """Each age bucket with the latest due date that falls in it as of ``as_of``: an invoice is
    in the first bucket whose date its due date is on or before (after ``as_of``: not yet
    due)."""
    return [(name, as_of - timedelta(days=days)) for name, days in AGE_BUCKETS]


def age_bucket(due: date, as_of: date) -> str:
    """The bucket of an invoice due on ``due``, as of ``as_of``."""
    if due > as_of:
        return NOT_YET_DUE
    past = (as_of - due).days
    name = AGE_BUCKETS[0][0]
    for bucket, start in AGE_BUCKETS:
        if past >= start:
            name = bucket
    return name
