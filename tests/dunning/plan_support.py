"""A reference late-interest calculator for the payment plan's tests (domain.md §3), until the
interest helper's ``fordra.dunning.domain.interest`` is merged: the Riksbank reference rate of
each half-year + 8 points, actual days / 365 per rate period, the sum rounded once, half up, to
whole öre. Deliberately plain, so that the plan's arithmetic is checked against an independent
computation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from fordra.kernel.dated import Dated

# domain.md §3: the reference rate per half-year.
REFERENCE_RATES: Dated[Decimal] = Dated.table(
    ("2024-01-01", Decimal("4.00")),
    ("2024-07-01", Decimal("4.00")),
    ("2025-01-01", Decimal("2.50")),
    ("2025-07-01", Decimal("2.00")),
    ("2026-01-01", Decimal("2.00")),
)
MARGIN = Decimal("8")


class ReferenceInterest:
    """``fordra.dunning.domain.payment_plan.InterestCalculator`` by day-by-day summation."""

    def __init__(self, rates: Dated[Decimal] = REFERENCE_RATES) -> None:
        self.rates = rates

    def interest_ore(self, capital_ore: int, from_date: date, to_date: date) -> int:
        total = Decimal(0)
        day = from_date
        while day < to_date:
            day += timedelta(days=1)
            total += Decimal(capital_ore) * (self.rates.at(day) + MARGIN) / Decimal(36_500)
        return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def rate_percent(self, on: date) -> str:
        return f"{self.rates.at(on) + MARGIN:.2f}"
