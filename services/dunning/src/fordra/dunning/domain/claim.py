"""A claim as dunning sees it: an invoice, what is still open of it, the holds that stop the
flow and the step it has reached (domain.md §2 deferral and postponement, §4 the timeline).

Pure: the claims read model (application/claims.py) keeps these facts per invoice and builds a
``Claim`` to decide one invoice (an approval, the collection view); the daily run asks the same
questions of every claim at once in SQL, and its queries follow the functions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

Stage = Literal[
    "open",
    "reminded",
    "handed_over",
    "referred_for_disconnection",
    "in_plan",
    "paid",
    "cancelled",
    "written_down",
    "written_off",
]
HoldKind = Literal["deferral", "postponement", "dispute", "payment_plan"]


class Hold(BaseModel):
    """Something that stops the dunning flow of a claim for now (domain.md §4)."""

    model_config = ConfigDict(frozen=True)

    kind: HoldKind
    since: date | None = None
    until: date | None = None
    plan_id: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    invoice_id: str
    customer_id: str
    service_type: str
    invoice_number: str
    what_for: str
    invoice_date: date
    due_date: date  # the postponed one when the due date moved (uppskov)
    original_due_date: date
    ocr: str
    total_ore: int
    credited_ore: int
    paid_capital_ore: int
    paid_other_ore: int  # interest and fees paid
    charges_ore: int  # interest and fee lines the invoice itself carries
    cancelled: bool
    interest_from: date
    deferred_until: date | None
    disputed_on: date | None  # None when not disputed (or resolved)
    dispute_resolved_on: date | None
    plan_id: str | None  # an active payment plan
    plan_ended_on: date | None  # a plan cancelled: the claim is back in the flow
    reminded_on: date | None
    handed_over_on: date | None
    termination_warned_on: date | None
    # Written down: out of the dunning flow, still owed; written off: gone for good (domain.md
    # §4, domain/write_down.py).
    written_down_on: date | None = None
    written_off_on: date | None = None
    # What write-offs took of it: a payment taken back afterwards is owed again.
    written_off_ore: int = 0
    # Referred to the disconnection procedure instead of the agency, and declined by it (issue
    # 16): a referral not declined is in (or covered by) a disconnection case.
    referred_on: date | None = None
    disconnection_declined_on: date | None = None

    @property
    def open_ore(self) -> int:
        return open_ore(
            cancelled=self.cancelled,
            written_off_ore=self.written_off_ore,
            total_ore=self.total_ore,
            credited_ore=self.credited_ore,
            paid_capital_ore=self.paid_capital_ore,
            paid_other_ore=self.paid_other_ore,
            charges_ore=self.charges_ore,
        )


def open_ore(
    *,
    cancelled: bool,
    total_ore: int,
    credited_ore: int,
    paid_capital_ore: int,
    paid_other_ore: int,
    charges_ore: int,
    written_off_ore: int = 0,
) -> int:
    """What is still open: the invoice less credit notes, capital paid, and interest and fees
    paid up to what the invoice itself carries (the agency may collect interest of its own,
    which pays nothing of the invoice; domain.md §3 keeps the components apart)."""
    if cancelled:
        return 0
    paid = paid_capital_ore + min(paid_other_ore, charges_ore)
    return max(total_ore - credited_ore - paid - written_off_ore, 0)


def stage_of(claim: Claim) -> Stage:
    """The step the claim has reached (domain.md §4): the first of these that holds."""
    steps: tuple[tuple[bool, Stage], ...] = (
        (claim.cancelled, "cancelled"),
        (claim.written_off_on is not None, "written_off"),
        (claim.open_ore <= 0, "paid"),
        (claim.written_down_on is not None, "written_down"),
        (claim.plan_id is not None, "in_plan"),
        (claim.handed_over_on is not None, "handed_over"),
        (
            claim.referred_on is not None and claim.disconnection_declined_on is None,
            "referred_for_disconnection",
        ),
        (claim.reminded_on is not None, "reminded"),
    )
    return next((stage for applies, stage in steps if applies), "open")


def holds_of(claim: Claim, today: date) -> list[Hold]:
    """The holds in force on ``today``: a deferral until its date (domain.md §2), a postponed
    due date not yet passed, a dispute until resolved, an active payment plan (domain.md §4)."""
    holds: list[Hold] = []
    if claim.deferred_until is not None and today <= claim.deferred_until:
        holds.append(Hold(kind="deferral", until=claim.deferred_until))
    if claim.due_date != claim.original_due_date and today <= claim.due_date:
        holds.append(Hold(kind="postponement", until=claim.due_date))
    if claim.disputed_on is not None:
        holds.append(Hold(kind="dispute", since=claim.disputed_on))
    if claim.plan_id is not None:
        holds.append(Hold(kind="payment_plan", plan_id=claim.plan_id))
    return holds


def timer_start(claim: Claim) -> date:
    """The date the reminder's days count from: the due date (the postponed one after an
    uppskov), the end of a deferral (domain.md §2), or the day a hold ended (a dispute resolved,
    a plan cancelled), whichever is latest. Our choice where the rulebook is silent: a hold that
    ends gives the customer the full period again rather than a letter the next morning."""
    return max(
        d
        for d in (
            claim.due_date,
            claim.deferred_until,
            claim.dispute_resolved_on,
            claim.plan_ended_on,
        )
        if d is not None
    )


def handover_timer_start(claim: Claim) -> date | None:
    """The handover's days count from the reminder, or from a later end of a hold."""
    if claim.reminded_on is None:
        return None
    return max(
        d
        for d in (claim.reminded_on, claim.dispute_resolved_on, claim.plan_ended_on)
        if d is not None
    )


def stale_reason(claim: Claim, today: date, proposed_on: date | None = None) -> str | None:
    """Why a proposal for ``claim`` may no longer be approved, or None: it was paid, cancelled,
    disputed, deferred or put in a plan since it was proposed (domain.md §4: holds stop the flow;
    a disputed claim is never handed over); or a hold ended, or the due date moved, after it was
    proposed: the days count again from then (``timer_start``), and the run proposes anew."""
    held_until = max(
        (d for d in (claim.dispute_resolved_on, claim.plan_ended_on) if d is not None),
        default=None,
    )
    reasons = (
        (claim.cancelled, "the invoice was cancelled"),
        (claim.written_off_on is not None, f"the claim was written off on {claim.written_off_on}"),
        (claim.open_ore <= 0, "the invoice is paid"),
        (
            claim.written_down_on is not None,
            f"the claim was written down on {claim.written_down_on}: it is under long-term"
            " surveillance",
        ),
        (claim.disputed_on is not None, f"the invoice is disputed since {claim.disputed_on}"),
        (claim.plan_id is not None, f"the invoice is in payment plan {claim.plan_id}"),
        (
            claim.deferred_until is not None and today <= claim.deferred_until,
            f"the invoice is deferred until {claim.deferred_until}",
        ),
        (today <= claim.due_date, f"the due date moved to {claim.due_date}"),
        (
            proposed_on is not None and held_until is not None and proposed_on <= held_until,
            f"the claim was on hold until {held_until}, after it was proposed on {proposed_on}:"
            " its days count again from then",
        ),
        (
            proposed_on is not None and proposed_on <= claim.due_date,
            f"the due date moved to {claim.due_date} after it was proposed on {proposed_on}",
        ),
    )
    return next((why for applies, why in reasons if applies), None)
