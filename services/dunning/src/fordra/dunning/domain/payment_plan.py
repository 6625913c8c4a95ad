"""The payment plan (avbetalningsplan, domain.md §4 "Installment plan"; seed 000 §9, seed 001,
seed 003 §5.3 and §7): drawn up from the open capital of a customer's invoices, kept or broken
installment by installment.

Pure: no I/O, no clock. The use cases (``fordra.dunning.application.payment_plans`` and
``.installments``) read the state, call these rules and append what they answer.

Decisions where the rulebook is silent (docs/rules.md §4 lists them):

- **The installments pay the capital.** The capital is split evenly in whole öre, the remainder
  öre on the *last* installment (the first ones are the round amount the debtor agreed to). Late
  interest and the plan's fee are not part of the installments: the plan computes and states them
  (interest to the last installment, at the rate in force, domain.md §4), and they are charged as
  every late interest is, on the customer's next invoice once the capital is paid (domain.md §3,
  seed 001: "Räntefakturering sker med automatik först när ursprungsfakturan är betald"). So a
  payment on a plan's invoice is booked by payments as capital, as any payment, and what the
  debtor paid counts towards the installments without a second booking of interest.
- **Interest on the declining balance.** Each installment's capital is paid on the invoices oldest
  first; interest on each piece runs from its invoice's interest date (the due date, a postponed
  due date, or a deferral's interest date) to the installment's due date, at the rate in force on
  each day (``InterestCalculator``), rounded per piece to whole öre.
- **Monthly dates**: the same day of the month as the first due date, or the month's last day when
  the month is shorter (31 May, 30 June, 31 July...).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from fordra.contracts.dunning import (
    ClaimWrittenDown,
    ClaimWrittenOff,
    Installment,
    InstallmentMissed,
    PaymentPlanActivated,
    PaymentPlanCancelled,
    PaymentPlanCompleted,
    PaymentPlanProposed,
    WriteDownRecovered,
)
from fordra.contracts.invoicing import RENT_SERVICES
from fordra.dunning.domain.policy import check_plan_fee_has_legal_ground
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.delegation import DepartmentDecision, check_department_decision
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event

PlanStatus = Literal["awaiting_signature", "active", "cancelled", "completed"]
InvoiceStatus = Literal["open", "cancelled", "handed_over"]


class InterestCalculator(Protocol):
    """Late interest (räntelagen 6 §, domain.md §3): the app's is
    ``fordra.dunning.domain.interest.StatutoryInterest`` over the rate table as it stands."""

    def interest_ore(self, capital_ore: int, from_date: date, to_date: date) -> int:
        """Interest on ``capital_ore`` for the days after ``from_date`` up to ``to_date``, at the
        rate of each rate period, actual/365, rounded to whole öre; 0 when ``to_date`` is not
        after ``from_date``."""
        ...

    def rate_percent(self, on: date) -> str:
        """The rate in force on ``on`` (the reference rate + 8 points), e.g. ``"10.00"``."""
        ...


# -- the invoices a plan is made of ---------------------------------------------------------------


class PlanInvoice(BaseModel):
    """What a plan needs to know of one invoice: its owner, what it is for, what of its capital
    is open, from when interest runs, whether it can still be planned, and its active plan."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    customer_id: str
    invoice_number: str
    service_type: str
    what_for: str
    invoice_date: date
    due_date: date
    interest_from: date
    capital_ore: int  # the invoice's capital, VAT included, as issued
    open_capital_ore: int
    status: InvoiceStatus = "open"
    active_plan_id: str | None = None
    # A write-down and a write-off (domain/write_down.py): when, how much was written down, and
    # what of it still stands as a value adjustment (capital paid since reverses it).
    written_down_on: date | None = None
    written_down_ore: int = 0
    value_adjustment_ore: int = 0
    written_off_on: date | None = None


class PlanInvoiceOpened(Event):
    """An invoice the plans may use (from invoicing's ``InvoiceIssued``)."""

    event_type: ClassVar[str] = "PlanInvoiceOpened"

    invoice_id: str
    customer_id: str
    invoice_number: str
    service_type: str
    what_for: str
    invoice_date: date
    due_date: date
    capital_ore: int


class PlanInvoiceCapitalReduced(Event):
    """Capital paid (payments' ``PaymentAllocated``, negative when a payment is taken back) or
    credited (invoicing's ``CreditNoteIssued``)."""

    event_type: ClassVar[str] = "PlanInvoiceCapitalReduced"

    invoice_id: str
    amount_ore: int
    cause: Literal["payment", "credit_note"]


class PlanInvoiceInterestFromMoved(Event):
    """A postponement moves the due date and interest with it; a deferral moves only interest
    (domain.md §2 "Deferral", "Postponement")."""

    event_type: ClassVar[str] = "PlanInvoiceInterestFromMoved"

    invoice_id: str
    interest_from: date
    due_date: date | None = None


class PlanInvoiceClosed(Event):
    """Cancelled by invoicing, or handed to the agency: no longer for a plan."""

    event_type: ClassVar[str] = "PlanInvoiceClosed"

    invoice_id: str
    reason: Literal["cancelled", "handed_over"]


class PlanInvoiceJoinedPlan(Event):
    """The invoice is in an active plan (written when the plan is signed)."""

    event_type: ClassVar[str] = "PlanInvoiceJoinedPlan"

    invoice_id: str
    plan_id: str


class PlanInvoiceLeftPlan(Event):
    """The invoice's plan was cancelled or completed."""

    event_type: ClassVar[str] = "PlanInvoiceLeftPlan"

    invoice_id: str
    plan_id: str


def replay_plan_invoice(events: Sequence[Event]) -> PlanInvoice | None:
    """The invoice's state from its stream; None until it is known as issued.

    Invoicing's, payments' and dunning's own logs reach the stream in no common order (each
    upstream is followed on its own), so a payment or a postponement may be recorded before the
    invoice's ``PlanInvoiceOpened``: every fact is kept and the state is built from all of them."""
    opened: PlanInvoiceOpened | None = None
    reduced = 0
    interest_from: date | None = None
    due_date: date | None = None
    status: InvoiceStatus = "open"
    active_plan_id: str | None = None
    written_down: ClaimWrittenDown | None = None
    recovered = 0
    written_off_on: date | None = None
    for e in events:
        if isinstance(e, PlanInvoiceOpened):
            opened = e
        elif isinstance(e, PlanInvoiceCapitalReduced):
            reduced += e.amount_ore
        elif isinstance(e, PlanInvoiceInterestFromMoved):
            interest_from = e.interest_from
            due_date = e.due_date or due_date
        elif isinstance(e, PlanInvoiceClosed):
            status = e.reason
        elif isinstance(e, PlanInvoiceJoinedPlan):
            active_plan_id = e.plan_id
        elif isinstance(e, PlanInvoiceLeftPlan) and active_plan_id == e.plan_id:
            active_plan_id = None
        elif isinstance(e, ClaimWrittenDown):
            written_down = e
        elif isinstance(e, WriteDownRecovered):
            recovered += e.amount_ore
        elif isinstance(e, ClaimWrittenOff):
            written_off_on = e.written_off_on
    if opened is None:
        return None
    return PlanInvoice(
        invoice_id=opened.invoice_id,
        customer_id=opened.customer_id,
        invoice_number=opened.invoice_number,
        service_type=opened.service_type,
        what_for=opened.what_for,
        invoice_date=opened.invoice_date,
        due_date=due_date or opened.due_date,
        interest_from=interest_from or due_date or opened.due_date,
        capital_ore=opened.capital_ore,
        open_capital_ore=opened.capital_ore - reduced,
        status=status,
        active_plan_id=active_plan_id,
        written_down_on=written_down.written_down_on if written_down else None,
        written_down_ore=written_down.amount_ore if written_down else 0,
        value_adjustment_ore=(
            written_down.amount_ore - recovered if written_down and not written_off_on else 0
        ),
        written_off_on=written_off_on,
    )


def check_not_written_off(invoice: PlanInvoice, field: str) -> None:
    """A claim written off is gone for good (domain.md §4): no plan is made for it."""
    if invoice.written_off_on is not None:
        raise DomainRuleViolation(
            f"invoice {invoice.invoice_id!r} was written off on {invoice.written_off_on}",
            field=field,
            rule="check_invoice_not_written_off",
        )


# -- drawing up a plan ----------------------------------------------------------------------------


class PlanClaim(BaseModel):
    """One invoice of a plan as it stood when the plan was drawn up (the document's claims)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str
    invoice_number: str
    service_type: str
    what_for: str
    due_date: date
    interest_from: date
    open_capital_ore: int


class PaymentPlanDrawnUp(Event):
    """The plan's own facts beside its public ``PaymentPlanProposed``: each claim as it stood,
    the fee, and the rate's basis, for the document and for counting what is paid since."""

    event_type: ClassVar[str] = "PaymentPlanDrawnUp"

    plan_id: str
    claims: tuple[PlanClaim, ...]
    fee_ore: int
    first_due_date: date


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """A drawn-up plan: the installments (capital), the interest to the last installment, the
    costs and the total debt up to the last payment (domain.md §4, seed 003 §5.3)."""

    claims: tuple[PlanClaim, ...]
    installments: tuple[Installment, ...]
    capital_ore: int
    interest_ore: int
    costs_ore: int
    total_ore: int
    rate_percent: str
    # The department decision a rent plan beyond the office's delegation needs (seed 002).
    department_decision: DepartmentDecision | None = None


def installment_dates(first_due_date: date, count: int) -> list[date]:
    """Monthly from ``first_due_date``: the same day of the month, or the last day of a shorter
    month (31 May -> 30 June -> 31 July)."""
    dates = []
    for k in range(count):
        months = first_due_date.month - 1 + k
        year, month = first_due_date.year + months // 12, months % 12 + 1
        last = calendar.monthrange(year, month)[1]
        dates.append(date(year, month, min(first_due_date.day, last)))
    return dates


def split_capital(capital_ore: int, count: int) -> list[int]:
    """The capital in ``count`` even parts of whole öre, the remainder öre on the last."""
    part, remainder = divmod(capital_ore, count)
    return [part] * (count - 1) + [part + remainder]


def check_installments_at_least_one(count: int) -> None:
    if count < 1:
        raise DomainRuleViolation(
            "a payment plan has at least one installment",
            field="installments",
            rule="check_installments_at_least_one",
        )


def check_first_due_date_not_past(first_due_date: date, today: date) -> None:
    if first_due_date < today:
        raise DomainRuleViolation(
            f"the first installment's due date {first_due_date} is in the past (today is {today})",
            field="first_due_date",
            rule="check_first_due_date_not_past",
        )


def check_first_due_date_within_bound(
    first_due_date: date, today: date, settings: DunningSettings
) -> None:
    """The first installment within ``plan_first_due_within_days`` of today (a dated setting:
    a later start is a deferral, normally at most 3 months, domain.md §2)."""
    days = settings.plan_first_due_within_days.at(today)
    latest = today + timedelta(days=days)
    if first_due_date > latest:
        raise DomainRuleViolation(
            f"the first installment's due date {first_due_date} is more than {days} days ahead:"
            f" at the latest {latest}",
            field="first_due_date",
            rule="check_first_due_date_within_bound",
        )


def check_invoice_can_be_planned(
    invoice_id: str, invoice: PlanInvoice | None, customer_id: str, index: int
) -> PlanInvoice:
    """An invoice of a plan is the customer's, open, not paid, not handed over and not in an
    active plan already (domain.md §4)."""
    field = f"invoice_ids.{index}"
    if invoice is None:
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is unknown", field=field, rule="check_invoice_known"
        )
    if invoice.customer_id != customer_id:
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is not customer {customer_id!r}'s",
            field=field,
            rule="check_invoice_is_the_customers",
        )
    if invoice.status == "handed_over":
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is handed over to the collection agency",
            field=field,
            rule="check_invoice_not_handed_over",
        )
    if invoice.status == "cancelled":
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is cancelled", field=field, rule="check_invoice_open"
        )
    check_not_written_off(invoice, field)
    if invoice.open_capital_ore <= 0:
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is paid", field=field, rule="check_invoice_not_paid"
        )
    if invoice.active_plan_id is not None:
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is already in active payment plan {invoice.active_plan_id!r}",
            field=field,
            rule="check_invoice_not_in_active_plan",
        )
    return invoice


def months_after(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on; the month's last day where it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_rent_plan_within_delegation(
    claims: Sequence[PlanClaim],
    installments: Sequence[Installment],
    decision: DepartmentDecision | None,
    *,
    today: date,
    settings: DunningSettings,
) -> DepartmentDecision | None:
    """Seed 002: the rent administration may "vid utebliven hyresinbetalning, avtala med brukare
    om avbetalningsplan om högst tre månader" (domain.md §8 "Delegation"). A plan with a rent
    among its invoices whose last installment falls more than ``rent_plan_max_months`` (a dated
    setting) after the day it is drawn up needs a department decision. A plan of other services
    only is not concerned. Answers the decision to keep in the event."""
    if not any(c.service_type in RENT_SERVICES for c in claims):
        return decision
    months = settings.rent_plan_max_months.at(today)
    latest = months_after(today, months)
    last = max(i.due_date for i in installments)
    return check_department_decision(
        decision,
        beyond_delegation=last > latest,
        refusal=f"a payment plan for unpaid rent over {months} months (its last installment "
        f"{last.isoformat()} is after {latest.isoformat()}) needs a department decision",
        today=today,
    )


def plan_interest_ore(
    claims: Sequence[PlanClaim], installments: Sequence[Installment], interest: InterestCalculator
) -> int:
    """Late interest computed to the last installment on the declining balance: each
    installment's capital pays the claims oldest first (by interest date), and each piece bears
    interest from its claim's interest date to the installment's due date (domain.md §4: "interest
    always accrues"; seed 001: "Dröjsmålsränta, framräknad till sista delbetalning")."""
    ordered = sorted(claims, key=_oldest_first)
    left = [c.open_capital_ore for c in ordered]
    total = 0
    for inst in installments:
        to_pay = inst.amount_ore
        for i, claim in enumerate(ordered):
            if to_pay == 0:
                break
            paid = min(to_pay, left[i])
            if paid:
                total += interest.interest_ore(paid, claim.interest_from, inst.due_date)
                left[i] -= paid
                to_pay -= paid
    return total


def _oldest_first(c: PlanClaim) -> tuple[date, str]:
    return (c.interest_from, c.invoice_id)


def draw_up_plan(
    *,
    customer_id: str,
    invoices: Sequence[tuple[str, PlanInvoice | None]],
    installments: int,
    first_due_date: date,
    written: bool,
    fee_ore: int,
    today: date,
    settings: DunningSettings,
    interest: InterestCalculator,
    department_decision: DepartmentDecision | None = None,
) -> PlanTerms:
    """The plan's terms, every rule checked (domain.md §3 fees, §4 "Installment plan")."""
    if not invoices:
        raise DomainRuleViolation(
            "a payment plan needs at least one invoice",
            field="invoice_ids",
            rule="check_plan_has_invoices",
        )
    check_installments_at_least_one(installments)
    check_first_due_date_not_past(first_due_date, today)
    check_first_due_date_within_bound(first_due_date, today, settings)
    # The statutory caps, the same rule as every fee of dunning (domain.md §3).
    check_plan_fee_has_legal_ground(fee_ore, written=written, day=today, settings=settings)
    seen: set[str] = set()
    claims = []
    for i, (invoice_id, state) in enumerate(invoices):
        if invoice_id in seen:
            raise DomainRuleViolation(
                f"invoice {invoice_id!r} is named twice",
                field=f"invoice_ids.{i}",
                rule="check_invoice_named_once",
            )
        seen.add(invoice_id)
        inv = check_invoice_can_be_planned(invoice_id, state, customer_id, i)
        claims.append(
            PlanClaim(
                invoice_id=inv.invoice_id,
                invoice_number=inv.invoice_number,
                service_type=inv.service_type,
                what_for=inv.what_for,
                due_date=inv.due_date,
                interest_from=inv.interest_from,
                open_capital_ore=inv.open_capital_ore,
            )
        )
    capital = sum(c.open_capital_ore for c in claims)
    if installments > capital:
        raise DomainRuleViolation(
            f"{installments} installments of a capital of {capital} öre would leave an "
            "installment of nothing",
            field="installments",
            rule="check_installments_at_least_one",
        )
    plan = tuple(
        Installment(due_date=d, amount_ore=a)
        for d, a in zip(
            installment_dates(first_due_date, installments),
            split_capital(capital, installments),
            strict=True,
        )
    )
    decision = check_rent_plan_within_delegation(
        claims, plan, department_decision, today=today, settings=settings
    )
    interest_ore = plan_interest_ore(claims, plan, interest)
    return PlanTerms(
        claims=tuple(claims),
        installments=plan,
        capital_ore=capital,
        interest_ore=interest_ore,
        costs_ore=fee_ore,
        total_ore=capital + interest_ore + fee_ore,
        rate_percent=interest.rate_percent(today),
        department_decision=decision,
    )


# -- the plan's life ------------------------------------------------------------------------------


class PaymentPlan(BaseModel):
    """A plan as its stream tells it."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    customer_id: str
    status: PlanStatus
    proposed: PaymentPlanProposed
    drawn_up: PaymentPlanDrawnUp
    activated_on: date | None = None
    missed: tuple[InstallmentMissed, ...] = ()
    closed_on: date | None = None
    reason: str | None = None

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return self.proposed.invoice_ids


def replay_plan(events: Sequence[Event]) -> PaymentPlan | None:
    plan: PaymentPlan | None = None
    drawn: PaymentPlanDrawnUp | None = None
    proposed: PaymentPlanProposed | None = None
    for e in events:
        if isinstance(e, PaymentPlanProposed):
            proposed = e
        elif isinstance(e, PaymentPlanDrawnUp):
            drawn = e
        if plan is None and proposed is not None and drawn is not None:
            plan = PaymentPlan(
                plan_id=proposed.plan_id,
                customer_id=proposed.customer_id,
                status="awaiting_signature",
                proposed=proposed,
                drawn_up=drawn,
            )
            continue
        if plan is None:
            continue
        if isinstance(e, PaymentPlanActivated):
            plan = plan.model_copy(update={"status": "active", "activated_on": e.activated_on})
        elif isinstance(e, InstallmentMissed):
            plan = plan.model_copy(update={"missed": (*plan.missed, e)})
        elif isinstance(e, PaymentPlanCancelled):
            plan = plan.model_copy(
                update={"status": "cancelled", "closed_on": e.cancelled_on, "reason": e.reason}
            )
        elif isinstance(e, PaymentPlanCompleted):
            plan = plan.model_copy(update={"status": "completed", "closed_on": e.completed_on})
    return plan


def paid_towards_plan(plan: PaymentPlan, invoices: dict[str, PlanInvoice | None]) -> int:
    """What the debtor has paid of the plan's capital since it was drawn up: the fall of each
    invoice's open capital (payments' capital allocations, a credit note), never below zero; an
    invoice cancelled since is no longer owed."""
    paid = 0
    for claim in plan.drawn_up.claims:
        now = invoices.get(claim.invoice_id)
        if now is None or now.status == "cancelled":
            paid += claim.open_capital_ore
        else:
            paid += max(0, claim.open_capital_ore - max(0, now.open_capital_ore))
    return paid


def installments_covered(installments: Sequence[Installment], paid_ore: int) -> int:
    """How many installments, in due-date order, what was paid covers."""
    covered = 0
    running = 0
    for inst in sorted(installments, key=lambda i: i.due_date):
        running += inst.amount_ore
        if paid_ore < running:
            break
        covered += 1
    return covered


def assess_plan(
    plan: PaymentPlan, invoices: dict[str, PlanInvoice | None], day: date, s: DunningSettings
) -> list[Event]:
    """The day's events of an active plan (domain.md §4: "A plan not kept is cancelled and the
    department told", seed 002): completed once every installment is paid; an installment not
    paid ``installment_missed_after_days`` after its due date missed (once); a plan whose missed
    installment is still unpaid ``plan_cancel_after_missed_days`` after it was missed
    cancelled."""
    if plan.status != "active":
        return []
    ids = plan.invoice_ids
    installments = sorted(plan.proposed.installments, key=lambda i: i.due_date)
    covered = installments_covered(installments, paid_towards_plan(plan, invoices))
    if covered == len(installments):
        return [
            PaymentPlanCompleted(
                plan_id=plan.plan_id,
                customer_id=plan.customer_id,
                invoice_ids=ids,
                completed_on=day,
            )
        ]
    out: list[Event] = []
    already = {m.due_date for m in plan.missed}
    grace = timedelta(days=s.installment_missed_after_days.at(day))
    missed = list(plan.missed)
    for inst in installments[covered:]:
        if inst.due_date + grace >= day:
            break
        if inst.due_date not in already:
            event = InstallmentMissed(
                plan_id=plan.plan_id,
                customer_id=plan.customer_id,
                invoice_ids=ids,
                due_date=inst.due_date,
                amount_ore=inst.amount_ore,
                missed_on=day,
            )
            out.append(event)
            missed.append(event)
    unpaid = {i.due_date for i in installments[covered:]}
    wait = timedelta(days=s.plan_cancel_after_missed_days.at(day))
    for m in sorted(missed, key=lambda m: m.due_date):
        if m.due_date in unpaid and m.missed_on + wait <= day:
            out.append(
                PaymentPlanCancelled(
                    plan_id=plan.plan_id,
                    customer_id=plan.customer_id,
                    invoice_ids=ids,
                    cancelled_on=day,
                    reason=(
                        f"plan not kept: the installment of {_kr(m.amount_ore)} due "
                        f"{m.due_date.isoformat()} was missed on {m.missed_on.isoformat()} and is "
                        f"still unpaid {wait.days} days later"
                    ),
                )
            )
            break
    return out


def _kr(ore: int) -> str:
    kronor, rest = divmod(ore, 100)
    return f"{kronor:,}.{rest:02d} kr"


class PaymentPlanIndexed(Event):
    """A plan's status in the list of every plan (one stream), so that the daily job reads only
    the active plans and the department's queue lists the cancelled ones without reading every
    plan's stream."""

    event_type: ClassVar[str] = "PaymentPlanIndexed"

    plan_id: str
    status: PlanStatus


def replay_plan_index(events: Sequence[Event]) -> dict[str, PlanStatus]:
    """Each plan's last status, in the order the plans were first listed."""
    statuses: dict[str, PlanStatus] = {}
    for e in events:
        if isinstance(e, PaymentPlanIndexed):
            statuses[e.plan_id] = e.status
    return statuses


PLAN_INTERNAL_EVENTS: tuple[type[Event], ...] = (
    PlanInvoiceOpened,
    PlanInvoiceCapitalReduced,
    PlanInvoiceInterestFromMoved,
    PlanInvoiceClosed,
    PlanInvoiceJoinedPlan,
    PlanInvoiceLeftPlan,
    PaymentPlanDrawnUp,
    PaymentPlanIndexed,
)
