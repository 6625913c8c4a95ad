"""A case at the agency, from its events (issue 15, "Inbound"; domain.md §5, seed 001, seed 004).

A case is a claim dunning handed over (``HandedToAgency``; its id is the ``handover_id``). Its
stream ``agency-case-<case id>`` starts with ``CaseHandedOver`` (the gateway's copy of the
handover) and then holds each step as the public ``AgencyCaseChanged``, each payment the agency
collected (``AgencyPaymentCollected`` and the municipality's share, ``MunicipalityShareRecorded``),
a recall, and a write-down of the claim (``CaseWrittenDown``). ``case_of`` folds them into a
``CaseState``; ``decide_report`` says what an agency's
report does to it, or why it is refused.

The steps come in the order Kronofogden's process takes them (domain.md §5): the case is opened,
a payment order is filed, the debtor objects (the creditor then has 3 weeks from the day the notice
of the objection was sent to ask for the district court), a judgment is given (the debtor may apply
for reinstatement, återvinning, within 1 month), enforcement follows, and an unsuccessful case
goes under long-term surveillance; the agency closes it, or the municipality recalls it. A report
the case's state does not allow (a judgment before a payment order, anything after ``closed``) is
refused, naming why.

Deadlines follow lag (1930:173) om beräkning av lagstadgad tid: a period of weeks or months ends
on the day of the same number (a month without it: its last day), and a period ending on a day
that is not a working day ends on the next working day (the calendar's eves count as holidays, as
the law's midsommarafton, julafton and nyårsafton do).
"""

from __future__ import annotations

import calendar as month_lengths
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import ClassVar, Literal

from fordra.agency_gateway.domain.outbound import OutboundQueued
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.contracts.agency_gateway import (
    AgencyCaseChanged,
    AgencyCaseStatus,
    AgencyPaymentCollected,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event

# What an agency reports about a case's progress (a payment collected is reported apart: it moves
# no status).
StepKind = Literal[
    "opened",
    "payment_order_filed",
    "objection",
    "judgment",
    "enforcement",
    "long_term_surveillance",
    "closed",
]
TaskKind = Literal["court_decision", "reinstatement_window"]

# The statuses a case has ended in: nothing more is reported or recalled.
ENDED: frozenset[AgencyCaseStatus] = frozenset({"closed", "recalled"})
# Before the agency has opened the case (queued by us, delivered to it).
NOT_OPENED: frozenset[AgencyCaseStatus] = frozenset({"queued", "delivered"})

# Which status each step may follow (domain.md §5). A judgment follows an objection (the
# district court's) or the payment order itself (Kronofogden's utslag when nobody objected);
# enforcement follows a judgment; long-term surveillance follows any opened step before closing
# (the agency finds the debtor insolvent, seed 004), and a payment order may be filed from it
# when the debtor can pay again.
ALLOWED_AFTER: dict[StepKind, frozenset[AgencyCaseStatus]] = {
    "opened": NOT_OPENED,
    "payment_order_filed": frozenset({"opened", "long_term_surveillance"}),
    "objection": frozenset({"payment_order_filed"}),
    "judgment": frozenset({"payment_order_filed", "objection"}),
    "enforcement": frozenset({"judgment"}),
    "long_term_surveillance": frozenset(
        {"opened", "payment_order_filed", "objection", "judgment", "enforcement"}
    ),
    "closed": frozenset(
        {
            "opened",
            "payment_order_filed",
            "objection",
            "judgment",
            "enforcement",
            "long_term_surveillance",
        }
    ),
}


def case_stream(case_id: str) -> str:
    return f"agency-case-{case_id}"


class CaseHandedOver(Event):
    """The gateway's copy of dunning's ``HandedToAgency``: the case begins, at ``agency``."""

    event_type: ClassVar[str] = "AgencyCaseHandedOver"

    case_id: str
    invoice_id: str
    customer_id: str
    agency: str
    handed_over_on: date
    capital_ore: int
    interest_ore: int
    fee_ore: int


class MunicipalityShareRecorded(Event):
    """Of a payment the agency collected, what it remits to the municipality (the rest is its
    own: the reminder fee it keeps in the agency model, seed 004)."""

    event_type: ClassVar[str] = "AgencyMunicipalityShareRecorded"

    case_id: str
    invoice_id: str
    agency_reference: str
    collected_on: date
    collected_ore: int
    municipality_share_ore: int


class CaseWrittenDown(Event):
    """Dunning wrote the claim down (its public ``ClaimWrittenDown``, domain.md §4): the claim
    stays owed and the agency is asked to keep the case under long-term surveillance
    (efterbevakning, seed 001 and 004). ``amount_ore`` is what was written down."""

    event_type: ClassVar[str] = "AgencyCaseWrittenDown"

    case_id: str
    invoice_id: str
    written_down_on: date
    amount_ore: int
    reason: str


class InvoiceCaseBegun(Event):
    """On ``agency-invoice-cases-<invoice>``: a case of this invoice began (written with its
    ``CaseHandedOver``), so that dunning's news of the invoice (a write-down, a write-off, which
    name the invoice, not the case) finds its cases in the same process's own writes."""

    event_type: ClassVar[str] = "AgencyInvoiceCaseBegun"

    invoice_id: str
    case_id: str


def invoice_cases_stream(invoice_id: str) -> str:
    return f"agency-invoice-cases-{invoice_id}"


CASE_EVENTS: tuple[type[Event], ...] = (
    CaseHandedOver,
    MunicipalityShareRecorded,
    CaseWrittenDown,
    InvoiceCaseBegun,
)


@dataclass(frozen=True, slots=True)
class OpenTask:
    """Something the case waits for by a deadline: the creditor's decision to go to the district
    court after an objection, or the debtor's month for reinstatement after a judgment."""

    kind: TaskKind
    deadline: date


@dataclass(frozen=True, slots=True)
class CaseState:
    case_id: str
    invoice_id: str
    customer_id: str
    agency: str
    handed_over_on: date
    capital_ore: int
    interest_ore: int
    fee_ore: int
    status: AgencyCaseStatus = "queued"
    costs_ore: int = 0  # Kronofogden's outlays so far (domain.md §3)
    municipality_cost_ore: int = 0
    collected_ore: int = 0
    municipality_share_ore: int = 0
    tasks: tuple[OpenTask, ...] = field(default=())
    # The day dunning wrote the claim down (domain.md §4), None while it was not.
    written_down_on: date | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def deadline_on(self, day: date) -> date | None:
        """The deadline the case waits for on ``day``: the court decision's until the step it
        waits for comes, the reinstatement window's until it has passed."""
        live = [
            t.deadline
            for t in self.tasks
            if t.kind == "court_decision"
            or (t.kind == "reinstatement_window" and t.deadline >= day)
        ]
        return min(live, default=None)


def case_of(events: Iterable[Event]) -> CaseState | None:
    """The case as its stream's events made it (None before it was handed over)."""
    state: CaseState | None = None
    for e in events:
        if isinstance(e, CaseHandedOver):
            state = CaseState(
                case_id=e.case_id,
                invoice_id=e.invoice_id,
                customer_id=e.customer_id,
                agency=e.agency,
                handed_over_on=e.handed_over_on,
                capital_ore=e.capital_ore,
                interest_ore=e.interest_ore,
                fee_ore=e.fee_ore,
            )
        elif state is None:
            continue
        elif isinstance(e, AgencyCaseChanged):
            # News of our own delivery may be written after the agency's first report (the two
            # are recorded apart): it never moves an opened case back.
            moves = e.status not in NOT_OPENED or state.status in NOT_OPENED
            state = replace(
                state,
                status=e.status if moves else state.status,
                costs_ore=state.costs_ore + e.costs_ore,
                municipality_cost_ore=state.municipality_cost_ore + e.municipality_cost_ore,
                tasks=_tasks_after(state.tasks, e),
            )
        elif isinstance(e, AgencyPaymentCollected):
            total = e.capital_ore + e.interest_ore + e.reminder_fee_ore + e.collection_fee_ore
            state = replace(state, collected_ore=state.collected_ore + total)
        elif isinstance(e, MunicipalityShareRecorded):
            state = replace(
                state,
                municipality_share_ore=state.municipality_share_ore + e.municipality_share_ore,
            )
        elif isinstance(e, CaseWrittenDown):
            state = replace(state, written_down_on=e.written_down_on)
    return state


def _tasks_after(tasks: tuple[OpenTask, ...], change: AgencyCaseChanged) -> tuple[OpenTask, ...]:
    """An objection opens the court task; the judgment it waits for closes it and opens the
    reinstatement window; a case that ends closes every task."""
    if change.status in ENDED:
        return ()
    if change.status == "objection" and change.deadline is not None:
        return (*tasks, OpenTask("court_decision", change.deadline))
    if change.status == "judgment":
        kept = tuple(t for t in tasks if t.kind != "court_decision")
        if change.deadline is not None:
            return (*kept, OpenTask("reinstatement_window", change.deadline))
        return kept
    return tasks


def next_working_day_on_or_after(day: date, calendar: WorkingDayCalendar) -> date:
    """Lag (1930:173) 2 §: a period ending on a Saturday, Sunday, holiday or eve ends on the next
    working day."""
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a month without it gives its last day (lag 1930:173 2 §:
    a judgment on 31 January has its month end on 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_lengths.monthrange(year, month)[1]))


def objection_deadline(
    notice_sent_on: date, settings: AgencySettings, calendar: WorkingDayCalendar
) -> date:
    """domain.md §5: the creditor must ask for the district court within 3 weeks (a dated
    setting, in days) from the day the notice of the objection was sent: 2026-05-05 ->
    2026-05-26."""
    days = settings.objection_window_days.at(notice_sent_on)
    return next_working_day_on_or_after(notice_sent_on + timedelta(days=days), calendar)


def reinstatement_deadline(
    judgment_on: date, settings: AgencySettings, calendar: WorkingDayCalendar
) -> date:
    """domain.md §5: the debtor may apply for reinstatement within 1 month (a dated setting) of
    the judgment: 2026-05-05 -> 2026-06-05."""
    months = settings.reinstatement_months.at(judgment_on)
    return next_working_day_on_or_after(add_months(judgment_on, months), calendar)


def step_costs_ore(step: StepKind, on: date, settings: AgencySettings) -> int:
    """Kronofogden's outlays a step adds to the claim (domain.md §3): a payment order 300 kr plus
    380 kr for drawing it up, enforcement's basic fee 600 kr; dated settings."""
    if step == "payment_order_filed":
        return settings.payment_order_outlay_ore.at(on)
    if step == "enforcement":
        return settings.enforcement_fee_ore.at(on)
    return 0


def check_step_allowed(state: CaseState, step: StepKind) -> None:
    """domain.md §5: the agency's reports come in the process's order; a report after the case
    ended, or one its state does not allow (a judgment before a payment order), is refused."""
    if state.ended:
        raise DomainRuleViolation(
            f"case {state.case_id} is {state.status}: no report is taken after that",
            field="kind",
            rule="agency_case_ended",
        )
    allowed = ALLOWED_AFTER[step]
    if state.status not in allowed:
        after = ", ".join(sorted(allowed))
        raise DomainRuleViolation(
            f"a {step} report cannot follow {state.status} on case {state.case_id}: "
            f"it follows {after}",
            field="kind",
            rule="agency_step_out_of_order",
        )


def check_report_date(state: CaseState, occurred_on: date, today: date) -> None:
    """A report tells of a day that has been: not after the business date, nor before the claim
    was handed over (a mistyped year would otherwise set a deadline years off)."""
    if occurred_on > today:
        raise DomainRuleViolation(
            f"occurred_on {occurred_on} is after today, {today}",
            field="occurred_on",
            rule="agency_report_in_future",
        )
    if occurred_on < state.handed_over_on:
        raise DomainRuleViolation(
            f"occurred_on {occurred_on} is before case {state.case_id} was handed over "
            f"({state.handed_over_on})",
            field="occurred_on",
            rule="agency_report_before_handover",
        )


def check_payment_allowed(state: CaseState) -> None:
    """A payment is collected on a case the agency has opened and not yet closed."""
    if state.ended:
        raise DomainRuleViolation(
            f"case {state.case_id} is {state.status}: no payment is taken after that",
            field="kind",
            rule="agency_case_ended",
        )
    if state.status in NOT_OPENED:
        raise DomainRuleViolation(
            f"case {state.case_id} is not opened by the agency yet: a payment follows opened",
            field="kind",
            rule="agency_step_out_of_order",
        )


def decide_step(
    state: CaseState,
    step: StepKind,
    occurred_on: date,
    settings: AgencySettings,
    calendar: WorkingDayCalendar,
    *,
    notice_sent_on: date | None = None,
) -> AgencyCaseChanged:
    """The public change a step makes: its status, the deadline the case then waits for and the
    outlays the step adds."""
    check_step_allowed(state, step)
    deadline: date | None
    if step == "objection":
        if notice_sent_on is None:
            raise DomainRuleViolation(
                "an objection names the day its notice was sent",
                field="notice_sent_on",
                rule="missing",
            )
        deadline = objection_deadline(notice_sent_on, settings, calendar)
    elif step == "judgment":
        deadline = reinstatement_deadline(occurred_on, settings, calendar)
    elif step == "closed":
        deadline = None
    else:
        # The reinstatement window of a judgment runs on beside enforcement.
        deadline = state.deadline_on(occurred_on)
    return AgencyCaseChanged(
        case_id=state.case_id,
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        agency=state.agency,
        status=step,
        occurred_on=occurred_on,
        deadline=deadline,
        costs_ore=step_costs_ore(step, occurred_on, settings),
    )


def check_recall_allowed(state: CaseState) -> None:
    """A closed case is not recalled (nothing is at the agency any more), nor one recalled."""
    if state.ended:
        raise DomainRuleViolation(
            f"case {state.case_id} is {state.status}: it cannot be recalled",
            field="case_id",
            rule="agency_case_ended",
        )


def decide_recall(state: CaseState, on: date) -> AgencyCaseChanged:
    """seed 004: a recall after a payment order costs the municipality the agency's outlays,
    which it can no longer recover from the debtor; before it, nothing."""
    check_recall_allowed(state)
    # Outlays arise from the payment order on (step_costs_ore): before it the sum is 0.
    cost = state.costs_ore
    return AgencyCaseChanged(
        case_id=state.case_id,
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        agency=state.agency,
        status="recalled",
        occurred_on=on,
        deadline=None,
        municipality_cost_ore=cost,
    )


def recall_message(state: CaseState, message_id: str, on: date, reason: str) -> OutboundQueued:
    """The recall the agency is sent (issue 15 "Recall"): by a case officer's hand, or because
    the claim was written off; the agency stops collecting the case."""
    return OutboundQueued(
        message_id=message_id,
        case_id=state.case_id,
        agency=state.agency,
        kind="recall",
        payload={
            "case_id": state.case_id,
            "invoice_id": state.invoice_id,
            "recalled_on": on.isoformat(),
            "reason": reason,
        },
    )
