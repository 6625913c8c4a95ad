"""Dunning's internal events: the daily run's proposals and what a case officer decided on them
(domain.md §4, seed 002: reminder and collection runs produce proposals that a case officer
approves before anything is sent). The public events (``ReminderSent``, ``HandedToAgency``...)
are in ``fordra.contracts.dunning``; these stay in dunning's own store."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from fordra.contracts.dunning import NextStep
from fordra.dunning.domain.letters import LetterIssued
from fordra.kernel.events import Event

ProposalKind = Literal["reminder", "handover", "termination_warning", "installment_reminder"]
DunningModel = Literal["reminder_then_handover", "handover_then_agency_reminder"]


def proposal_stream(proposal_id: str) -> str:
    return f"dunning-proposal-{proposal_id}"


def run_stream(day: date) -> str:
    """One stream per run date: its first event makes a run of that date happen once."""
    return f"dunning-run-{day.isoformat()}"


def claim_stream(invoice_id: str) -> str:
    """The letters and handover of one invoice, so that two proposals for one step cannot both
    be approved (the append's version check)."""
    return f"dunning-claim-{invoice_id}"


def installment_stream(plan_id: str, due_date: date) -> str:
    return f"dunning-installment-{plan_id}-{due_date.isoformat()}"


class DunningProposed(Event):
    """The daily run found a claim due for a step; nothing is sent until it is approved."""

    event_type: ClassVar[str] = "DunningProposed"

    proposal_id: str
    kind: ProposalKind
    invoice_id: str  # the claim (the oldest one when a proposal covers several)
    invoice_ids: tuple[str, ...]
    customer_id: str
    service_type: str
    proposed_on: date
    capital_ore: int
    fee_ore: int
    interest_ore: int
    model: DunningModel
    next_step: NextStep
    # An installment reminder: the plan and the installment missed.
    plan_id: str | None = None
    installment_due_date: date | None = None
    termination_date: date | None = None


class DunningRunCompleted(Event):
    """The run of a date: how many proposals it made (a second run of the date answers this)."""

    event_type: ClassVar[str] = "DunningRunCompleted"

    day: date
    proposals: int


class ProposalApproved(Event):
    event_type: ClassVar[str] = "ProposalApproved"

    proposal_id: str
    approved_on: date
    approved_by: str
    letter_id: str | None


class ProposalRejected(Event):
    event_type: ClassVar[str] = "ProposalRejected"

    proposal_id: str
    rejected_on: date
    rejected_by: str
    reason: str


class InstallmentReminded(Event):
    """A missed installment was reminded (domain.md §4); the contracts have no public event for
    it: the plan's own life (missed, cancelled) is public."""

    event_type: ClassVar[str] = "InstallmentReminded"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    due_date: date
    letter_id: str
    sent_on: date


class ChildcareUnpaidReported(Event):
    """A guardian on the month's childcare report: got the letter about the risk of termination
    and still has not paid an invoice it named (domain.md §4; seed 002 lines 1205-1207 and
    1863-1867: "Runt den 15:e varje månad"). Appended by the run of the report day, once per
    day and customer (with the run's own record)."""

    event_type: ClassVar[str] = "ChildcareUnpaidReported"

    report_month: str  # "YYYY-MM": the month whose report this is
    reported_on: date
    customer_id: str
    invoice_ids: tuple[str, ...]
    unpaid_ore: int
    first_warned_on: date
    termination_date: date


class MusicSchoolPupilFlagged(Event):
    """The pupil of ``customer_id`` may be refused a place: the music school's annual fee was
    unpaid on the deadline (domain.md §4, seed 001: 31 August). Appended by the run of the check
    day (the deadline, or the first working day after it), once per day and customer."""

    event_type: ClassVar[str] = "MusicSchoolPupilFlagged"

    customer_id: str
    invoice_ids: tuple[str, ...]
    unpaid_ore: int
    deadline: date
    flagged_on: date


INTERNAL_EVENTS: tuple[type[Event], ...] = (
    DunningProposed,
    DunningRunCompleted,
    ProposalApproved,
    ProposalRejected,
    InstallmentReminded,
    LetterIssued,
    ChildcareUnpaidReported,
    MusicSchoolPupilFlagged,
)
