"""The letters of the dunning process (domain.md §4; seed 001): what each one states.

This module starts as the interface between the daily run (which approves a proposal and so
sends a letter) and the letters themselves (their rules and rendering). Approving a proposal
appends a ``LetterIssued`` to the letter's own stream, ``letter_stream(letter_id)``, in the same
decision as the public event (``ReminderSent``, ``TerminationWarningSent``...). The letter is
rendered from these facts when asked for; the recipient's name and address are looked up then,
so that a protected identity or an erasure made since is respected and no personal data lies in
the facts.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.dunning import NextStep
from fordra.kernel.events import Event

LetterKind = Literal["reminder", "termination_warning", "installment_reminder", "payment_plan"]


def letter_stream(letter_id: str) -> str:
    return f"letter-{letter_id}"


class ClaimItem(BaseModel):
    """One invoice a letter is about: what the claim is for, its number, amount and due date
    (domain.md §4: a reminder states each)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str
    invoice_number: str
    what_for: str  # the invoice's lines in words, e.g. "Vatten och avlopp, jan–feb 2026"
    invoice_date: date
    due_date: date
    capital_ore: int  # what is still open of the invoice's capital
    ocr: str


class LetterFacts(BaseModel):
    """Everything a letter states except the recipient (looked up at rendering)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    letter_id: str
    kind: LetterKind
    customer_id: str
    service_type: str
    items: tuple[ClaimItem, ...]
    sent_on: date
    checked_on: date  # the date payment was last checked (the run's date)
    pay_by: date
    fee_ore: int
    interest_ore: int
    # What the process will do next if the claim stays unpaid; the letter says only this.
    next_step: NextStep
    termination_date: date | None = None  # a risk-of-termination letter (childcare)
    plan_id: str | None = None  # an installment reminder or a payment plan


class LetterIssued(Event):
    event_type: ClassVar[str] = "LetterIssued"

    facts: LetterFacts
