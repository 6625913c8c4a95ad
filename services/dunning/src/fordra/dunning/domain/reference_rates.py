"""The reference-rate table (referensränta, räntelagen 9 §; domain.md §3: "keep as a dated table an
admin extends"): Sveriges Riksbank's official rates per calendar half-year, shipped, and the
half-years an admin adds.

The shipped rates are ``fordra.kernel.late_interest.RIKSBANK_REFERENCE_RATES`` (2002-07-01 to
2026-01-01; the source and what remains to verify are cited there): the kernel holds them because
the customer ledger, which may not import dunning, must compute with the same table. This module
holds the rules for adding a half-year. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from fordra.contracts.dunning import ReferenceRateAdded
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.late_interest import RIKSBANK_REFERENCE_RATES, reference_rate_table

__all__ = [
    "RIKSBANK_REFERENCE_RATES",
    "add_reference_rate",
    "check_half_year_start",
    "check_no_half_year_left_out",
    "check_rate_known_by",
    "parse_rate_percent",
    "rate_text",
    "rates_in_force",
]

# A rate as an admin writes it: a decimal with at most two places, a sign allowed (the reference
# rate was -0.50 from 2016 to 2019). Two integer digits bound what a request may say; not a rule
# of the rulebook, so not a setting.
_RATE = re.compile(r"^-?\d{1,2}(\.\d{1,2})?$")


def rate_text(rate: Decimal) -> str:
    """A rate as the API and the events carry it: two places, no negative zero ("2.50")."""
    if not rate:
        return "0.00"
    return f"{rate.quantize(Decimal('0.01')):.2f}"


def parse_rate_percent(text: str) -> Decimal:
    """An admin's rate ("2.50", "2.5", "-0.50"): a decimal with at most two places, or a 422
    naming ``rate_percent``."""
    if not _RATE.match(text):
        raise DomainRuleViolation(
            f"rate_percent must be a decimal with at most 2 places, like '2.50', not {text!r}",
            field="rate_percent",
            rule="reference_rate_format",
        )
    return Decimal(text).quantize(Decimal("0.01"))


def check_half_year_start(valid_from: date) -> None:
    """The Riksbank sets the reference rate per calendar half-year (räntelagen 9 §): a rate is in
    force from 1 January or 1 July."""
    if (valid_from.month, valid_from.day) not in ((1, 1), (7, 1)):
        raise DomainRuleViolation(
            f"a reference rate is set per half-year: valid_from must be 1 January or 1 July, "
            f"not {valid_from.isoformat()}",
            field="valid_from",
            rule="reference_rate_half_year",
        )


def _next_half_year(day: date) -> date:
    return date(day.year, 7, 1) if day.month == 1 else date(day.year + 1, 1, 1)


def check_no_half_year_left_out(table: Dated[Decimal], valid_from: date) -> None:
    """A half-year is added next to the table, never beyond a gap: a half-year left out would
    silently bear the rate of the one before it (a dated value stays in force until the next).
    Nor before the table, which starts when the reference rate replaced the discount rate."""
    first, last = table.rows[0][0], table.rows[-1][0]
    if first <= valid_from <= _next_half_year(last):
        return
    raise DomainRuleViolation(
        f"the table runs from {first.isoformat()} to {last.isoformat()}: the next half-year to "
        f"add is {_next_half_year(last).isoformat()}, not {valid_from.isoformat()}",
        field="valid_from",
        rule="reference_rate_no_gap",
    )


def check_rate_known_by(valid_from: date, today: date) -> None:
    """The reference rate of a half-year is the Riksbank's policy rate at the end of the previous
    half-year (domain.md §3, räntelagen 9 §): it is known on that last day at the earliest. A rate
    added before then is a guess, and a half-year once in the table is never changed
    (``add_reference_rate``), so a guess could never be corrected."""
    known_on = valid_from - timedelta(days=1)
    if today < known_on:
        raise DomainRuleViolation(
            f"the reference rate from {valid_from.isoformat()} is the policy rate on "
            f"{known_on.isoformat()}: not known before that day (today is {today.isoformat()})",
            field="valid_from",
            rule="reference_rate_not_yet_known",
        )


def rates_in_force(added: Iterable[ReferenceRateAdded]) -> Dated[Decimal]:
    """The table: the shipped rates and the half-years added (in the order they were added)."""
    return reference_rate_table((e.valid_from, Decimal(e.rate_percent)) for e in added)


def add_reference_rate(
    table: Dated[Decimal], valid_from: date, rate_percent: str
) -> ReferenceRateAdded | None:
    """An admin adds a half-year (domain.md §3): the event to append, or None when the table holds
    that half-year with that rate already (the same request again changes nothing). A half-year
    already in the table with another rate is refused: the Riksbank's decision is a fact, and a
    rate changed after interest was charged at it would rewrite what was charged."""
    check_half_year_start(valid_from)
    rate = parse_rate_percent(rate_percent)
    existing = dict(table.rows).get(valid_from)
    if existing is not None:
        if existing == rate:
            return None
        raise DomainRuleViolation(
            f"the half-year from {valid_from.isoformat()} has the reference rate "
            f"{rate_text(existing)} already, not {rate_text(rate)}",
            field="rate_percent",
            rule="reference_rate_already_set",
        )
    check_no_half_year_left_out(table, valid_from)
    return ReferenceRateAdded(valid_from=valid_from, rate_percent=rate_text(rate))
