"""Late interest on a claim (räntelagen 6 §; domain.md §3, seed 001; the start: domain.md §2
"Deferral", "Postponement"): the one function every dunning path calls (the charge when the
capital is paid, a reminder's or a handover's ``interest_ore``, a payment plan's interest to its
last installment), over the arithmetic the ledger shares (``fordra.kernel.late_interest``, whose
docstring states the day convention and where the rounding is done).

Pure: no I/O. A claim's state is replayed from dunning's own events (``rate_events``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.dunning import LateInterestCharged
from fordra.dunning.domain.rate_events import (
    InterestCapitalChanged,
    InterestClaimCancelled,
    InterestClaimOpened,
    InterestSettled,
    InterestStartMoved,
)
from fordra.kernel.dated import Dated
from fordra.kernel.events import Event
from fordra.kernel.late_interest import (
    STATUTORY_MARGIN_POINTS,
    CapitalChange,
    InterestPeriod,
    interest_start,
    late_interest,
    total_ore,
)

__all__ = [
    "CapitalChange",
    "InterestClaim",
    "InterestPeriod",
    "InterestSettings",
    "StatutoryInterest",
    "capital_paid_on",
    "charge_when_paid",
    "interest_on_claim",
    "late_interest_for",
    "replay_claim",
]


class InterestSettings(BaseModel):
    """The numbers of late interest as dated settings (domain.md preamble): the margin over the
    reference rate (räntelagen 6 §: 8 percentage points). The reference rates themselves are a
    table an admin extends (``reference_rates``), not a setting."""

    model_config = ConfigDict(frozen=True)

    margin_points: Dated[Decimal] = STATUTORY_MARGIN_POINTS


def late_interest_for(
    capital_ore: int,
    payments: Sequence[CapitalChange],
    *,
    start: date,
    until: date,
    reference_rates: Dated[Decimal],
    settings: InterestSettings,
) -> tuple[InterestPeriod, ...]:
    """Late interest on ``capital_ore`` from ``start`` to ``until``, the capital lowered by each
    payment from the day after it (domain.md §3): per rate period, each rounded to whole öre.
    ``payments`` are ``CapitalChange``s with negative amounts (a payment plan passes its
    installments to compute the interest to the last one)."""
    return late_interest(
        capital_ore,
        payments,
        start=start,
        until=until,
        reference_rates=reference_rates,
        margin_points=settings.margin_points,
    )


@dataclass(frozen=True, slots=True)
class StatutoryInterest:
    """The payment plans' ``InterestCalculator`` (``fordra.dunning.domain.payment_plan``) over the
    one rule: interest on a capital for the days after ``from_date`` up to ``to_date``, per rate
    period rounded to whole öre (so a sum over several rate periods may differ by part of an öre
    per period from one rounded once), and the rate in force on a day."""

    reference_rates: Dated[Decimal]
    settings: InterestSettings = field(default_factory=InterestSettings)

    def interest_ore(self, capital_ore: int, from_date: date, to_date: date) -> int:
        periods = late_interest_for(
            capital_ore,
            (),
            start=from_date,
            until=to_date,
            reference_rates=self.reference_rates,
            settings=self.settings,
        )
        return total_ore(periods)

    def rate_percent(self, on: date) -> str:
        """The late-interest rate in force on ``on``: the reference rate + the margin."""
        rate = self.reference_rates.at(on) + self.settings.margin_points.at(on)
        return f"{rate:.2f}"


@dataclass(frozen=True, slots=True)
class InterestClaim:
    """What dunning knows of one invoice for its interest, from whichever context told it first.
    ``opened`` is False while only payments have been heard of (the invoicing log may lag)."""

    invoice_id: str
    opened: bool = False
    customer_id: str = ""
    service_type: str = ""
    due_date: date | None = None
    interest_from: date | None = None
    capital_ore: int = 0
    credited_ore: int = 0
    payments: tuple[CapitalChange, ...] = field(default=())
    cancelled: bool = False
    settled: bool = False

    @property
    def start(self) -> date | None:
        """The day interest runs from (domain.md §2), once the invoice is known."""
        if self.due_date is None:
            return None
        return interest_start(self.due_date, self.interest_from)

    @property
    def owed_capital_ore(self) -> int:
        """The capital as owed: the invoice's capital less what was credited."""
        return max(self.capital_ore - self.credited_ore, 0)


def replay_claim(invoice_id: str, events: Iterable[Event]) -> InterestClaim:
    """The claim as its stream tells it (events in stream order)."""
    claim = InterestClaim(invoice_id)
    for e in events:
        if isinstance(e, InterestClaimOpened):
            claim = replace(
                claim,
                opened=True,
                customer_id=e.customer_id,
                service_type=e.service_type,
                # A postponement heard before the invoice (never in one log, but the logs are
                # two) keeps its later date.
                due_date=claim.due_date or e.due_date,
                capital_ore=e.capital_ore,
            )
        elif isinstance(e, InterestCapitalChanged):
            if e.cause == "credit_note":
                claim = replace(claim, credited_ore=claim.credited_ore + e.amount_ore)
            else:
                change = CapitalChange(e.on, e.amount_ore)
                claim = replace(claim, payments=(*claim.payments, change))
        elif isinstance(e, InterestStartMoved):
            claim = replace(
                claim,
                due_date=e.due_date or claim.due_date,
                interest_from=e.interest_from or claim.interest_from,
            )
        elif isinstance(e, InterestClaimCancelled):
            claim = replace(claim, cancelled=True)
        elif isinstance(e, InterestSettled):
            claim = replace(claim, settled=True)
    return claim


def capital_paid_on(claim: InterestClaim) -> date | None:
    """The day the capital was paid in full: the first day on which the payments so far add up to
    the capital owed (payments in day order; a reversal later that day counts that day). None
    while something is unpaid, and for a claim with no capital owed (nothing was paid)."""
    owed = claim.owed_capital_ore
    if owed <= 0 or not claim.opened:
        return None
    by_day: dict[date, int] = {}
    for p in claim.payments:
        by_day[p.on] = by_day.get(p.on, 0) + p.amount_ore
    paid = 0
    paid_on: date | None = None
    for day in sorted(by_day):
        paid -= by_day[day]  # payments are negative changes of the capital
        if paid >= owed and paid_on is None:
            paid_on = day
        elif paid < owed:
            paid_on = None  # reversed again: not paid on that day after all
    return paid_on


def interest_on_claim(
    claim: InterestClaim,
    until: date,
    reference_rates: Dated[Decimal],
    settings: InterestSettings,
) -> tuple[InterestPeriod, ...]:
    """The interest a claim has accrued by ``until`` (a reminder's, a handover's figure; the
    charge at payment): none for a cancelled claim or one not known yet."""
    start = claim.start
    if start is None or claim.cancelled:
        return ()
    return late_interest_for(
        claim.owed_capital_ore,
        claim.payments,
        start=start,
        until=until,
        reference_rates=reference_rates,
        settings=settings,
    )


def charge_when_paid(
    claim: InterestClaim, reference_rates: Dated[Decimal], settings: InterestSettings
) -> list[Event]:
    """What to append when the claim's state changed (domain.md §3, seed 001: the interest is
    charged once the original invoice is paid, on the next invoice): when the capital is paid in
    full and nothing was charged yet, one ``LateInterestCharged`` per rate period and the
    ``InterestSettled`` that makes it once. Nothing while unpaid, once settled, or when the
    interest is 0 (then no marker either: a claim paid on time costs no event, and a reversal
    and a late payment after it are charged as they should be)."""
    if claim.settled or claim.cancelled:
        return []
    paid_on = capital_paid_on(claim)
    if paid_on is None:
        return []
    periods = interest_on_claim(claim, paid_on, reference_rates, settings)
    amount = total_ore(periods)
    if amount <= 0:
        return []
    charged: list[Event] = [
        LateInterestCharged(
            interest_id=f"late-interest-{claim.invoice_id}-{n}",
            customer_id=claim.customer_id,
            invoice_id=claim.invoice_id,
            service_type=claim.service_type,
            from_date=p.first_day,
            to_date=p.last_day,
            rate_percent=f"{p.rate_percent:.2f}",
            amount_ore=p.amount_ore,
        )
        for n, p in enumerate(periods, start=1)
    ]
    return [
        *charged,
        InterestSettled(invoice_id=claim.invoice_id, paid_on=paid_on, amount_ore=amount),
    ]
