"""The customer ledger as of any date (issue 17, domain.md §10): each claim with its capital,
interest and each fee, its payments and their allocation, its holds, dunning stage, agency and
disconnection status as they stood at the end of that day, and totals that reconcile to the
accounts the rulebook names (1512 customer receivables, 1592 value adjustment, 2482
overpayments, 9181 unidentified payments).

The ledger's tables keep what the as-of view needs by date, written set-based with the rest of
the customer ledger (``CustomerLedgerProjection.apply_batch``):

- ``ledger_claim_log``: every dated fact of a claim, one row per event and claim (a credit note,
  a cancellation, a postponement, a deferral, a dispute and its resolution, a reminder and its
  fee, a handover and its fee, a payment plan activated, completed or cancelled, late interest
  invoiced, the agency's steps, write-downs and write-offs), on the business day the fact names;
- ``ledger_allocations``: what payments allocated, per claim, business day and component;
- ``ledger_credit_by_day``: the customer's credit (an advance, 2482) changed per business day.

The view is then a fold of the rows on or before the day; nothing depends on the read date, so
a rebuilt ledger gives the same answer for every date. Without ``as_of`` the route answers the
ledger as it stands (``read_customer_ledger``), in its promised shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Date, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyCaseStatus
from fordra.contracts.dunning import (
    ClaimWrittenDown,
    ClaimWrittenOff,
    HandedToAgency,
    LateInterestCharged,
    PaymentPlanActivated,
    PaymentPlanCancelled,
    PaymentPlanCompleted,
    ReminderSent,
    WriteDownRecovered,
)
from fordra.contracts.invoicing import (
    CreditNoteIssued,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
)
from fordra.contracts.payments import (
    CREDIT_STREAM_PREFIX,
    Component,
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
)
from fordra.contracts.utility_disconnect import DisconnectionCaseStatus
from fordra.kernel.clock import STOCKHOLM
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.projection import Sums, insert_many
from fordra.projections.domain.ledger_status import InvoiceStatus, invoice_status

# The dated facts of a claim the as-of view folds.
LOGGED_EVENTS: tuple[type[Event], ...] = (
    CreditNoteIssued,
    InvoiceCancelled,
    DueDatePostponed,
    DeferralGranted,
    InvoiceDisputed,
    DisputeResolved,
    ReminderSent,
    HandedToAgency,
    PaymentPlanActivated,
    PaymentPlanCompleted,
    PaymentPlanCancelled,
    LateInterestCharged,
    AgencyCaseChanged,
    ClaimWrittenDown,
    WriteDownRecovered,
    ClaimWrittenOff,
)
LOGGED = frozenset(kind.event_type for kind in LOGGED_EVENTS)
# The customer's credit (2482): recorded adds, applied / refunded / reversed take away.
CREDIT_CHANGES = (
    CustomerCreditRecorded,
    CustomerCreditApplied,
    CustomerCreditRefunded,
    CustomerCreditReversed,
)
CREDIT_TYPES = frozenset(kind.event_type for kind in CREDIT_CHANGES)

# Where a claim stands in dunning (domain.md §4): nothing sent yet, reminded, or handed to the
# agency (which wins: the agency's own steps are ``agency_status``).
DunningStage = Literal["none", "reminded", "handed_over"]
# What holds a claim out of the dunning flow on the day (domain.md §4): a dispute, a deferral
# still running, an active payment plan, a write-down (long-term surveillance).
Hold = Literal["disputed", "deferred", "payment_plan", "written_down"]
# The fees a claim brought about, each apart (domain.md §3: keep each kind of cost apart).
FeeKind = Literal["reminder_fee", "collection_fee", "plan_fee"]


def declare_as_of_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """The dated tables (module docstring): tables of their own, so that a read-model database
    made before them gains them without a migration (a rebuild fills them from the logs)."""
    log = Table(
        "ledger_claim_log",
        metadata,
        Column("event_id", String(100), primary_key=True),
        Column("invoice_id", String(64), primary_key=True),
        Column("on", Date, nullable=False),
        # The log's position: the order of two facts of one context on one day.
        Column("position", BigInteger, nullable=False),
        Column("kind", String(30), nullable=False),
        Column("amount_ore", BigInteger, nullable=False, default=0),
        # A status or a date the fact sets (the agency's status, a new due date, a deferral's
        # end, a credit's capital part) and a second date (the agency's deadline, a deferral's
        # interest start).
        Column("value", String(40)),
        Column("deadline", Date),
    )
    allocations = Table(
        "ledger_allocations",
        metadata,
        Column("invoice_id", String(64), primary_key=True),
        Column("paid_on", Date, primary_key=True),
        Column("component", String(20), primary_key=True),
        Column("amount_ore", BigInteger, nullable=False),
    )
    credit = Table(
        "ledger_credit_by_day",
        metadata,
        Column("customer_id", String(64), primary_key=True),
        Column("on", Date, primary_key=True),
        Column("amount_ore", BigInteger, nullable=False),
    )
    return log, allocations, credit


def booked_on(env: Envelope) -> date:
    """The business day an event was booked on, Swedish time."""
    return env.occurred_at.astimezone(STOCKHOLM).date()


# A fact: the claim, the day, the kind, an amount, and the value and the second date it sets.
_Fact = tuple[str, date, str, int, str | None, date | None]


def _plan_facts(e: PaymentPlanActivated) -> list[_Fact]:
    # The plan's fee once, on its first claim (domain.md §3: 170 kr for a written plan).
    return [
        (i, e.activated_on, "plan_active", e.fee_ore if n == 0 else 0, None, None)
        for n, i in enumerate(e.invoice_ids)
    ]


def _credited(e: CreditNoteIssued) -> list[_Fact]:
    # The capital part: what the credit took of the capital bore no interest.
    capital = e.total_ore - sum(ln.net_ore for ln in e.lines if ln.kind != "capital")
    return [(e.invoice_id, e.issued_on, "credited", e.total_ore, str(capital), None)]


# Each logged event's facts; ``booked`` is the day it was booked on, for the facts that name no
# day of their own (a postponement, a deferral, interest invoiced).
_FACTS: dict[type[Event], Callable[[Any, date], list[_Fact]]] = {
    CreditNoteIssued: lambda e, _: _credited(e),
    InvoiceCancelled: lambda e, _: [(e.invoice_id, e.cancelled_on, "cancelled", 0, None, None)],
    DueDatePostponed: lambda e, booked: [
        (e.invoice_id, booked, "due_date", 0, e.due_date.isoformat(), None)
    ],
    DeferralGranted: lambda e, booked: [
        (e.invoice_id, booked, "deferred", 0, e.deferred_until.isoformat(), e.interest_from)
    ],
    InvoiceDisputed: lambda e, _: [(e.invoice_id, e.disputed_on, "disputed", 0, None, None)],
    DisputeResolved: lambda e, _: [
        (e.invoice_id, e.resolved_on, "dispute_resolved", 0, e.outcome, None)
    ],
    ReminderSent: lambda e, _: [(e.invoice_id, e.sent_on, "reminded", e.fee_ore, None, None)],
    HandedToAgency: lambda e, _: [
        (e.invoice_id, e.handed_on, "handed_over", e.fee_ore, None, None)
    ],
    PaymentPlanActivated: lambda e, _: _plan_facts(e),
    PaymentPlanCompleted: lambda e, _: [
        (i, e.completed_on, "plan_ended", 0, None, None) for i in e.invoice_ids
    ],
    PaymentPlanCancelled: lambda e, _: [
        (i, e.cancelled_on, "plan_ended", 0, None, None) for i in e.invoice_ids
    ],
    LateInterestCharged: lambda e, booked: [
        (e.invoice_id, booked, "interest_charged", e.amount_ore, None, None)
    ],
    AgencyCaseChanged: lambda e, _: [
        (e.invoice_id, e.occurred_on, "agency", 0, e.status, e.deadline)
    ],
    ClaimWrittenDown: lambda e, _: [
        (e.invoice_id, e.written_down_on, "written_down", e.amount_ore, None, None)
    ],
    WriteDownRecovered: lambda e, _: [
        (e.invoice_id, e.recovered_on, "write_down_recovered", e.amount_ore, None, None)
    ],
    ClaimWrittenOff: lambda e, _: [
        (e.invoice_id, e.written_off_on, "written_off", e.amount_ore, None, None)
    ],
}


def claim_log_rows(e: Event, env: Envelope) -> list[dict[str, Any]]:
    """The rows of ``ledger_claim_log`` an event makes: one per claim it names, on the day the
    fact names (its ``..._on`` date; the booking day where it names none)."""
    facts = _FACTS.get(type(e))
    if facts is None:
        return []
    return [
        {
            "event_id": env.event_id,
            "position": env.position,
            "invoice_id": invoice_id,
            "on": on,
            "kind": kind,
            "amount_ore": amount,
            "value": value,
            "deadline": second,
        }
        for invoice_id, on, kind, amount, value, second in facts(e, booked_on(env))
    ]


class Allocation(BaseModel):
    paid_on: date
    component: Component
    amount_ore: int


class Fee(BaseModel):
    kind: FeeKind
    on: date
    amount_ore: int


class ClaimAsOf(BaseModel):
    """A claim as it stood at the end of the day. ``capital_ore`` is the invoice's capital (its
    total less its own interest and fee lines), ``charges_ore`` those lines; ``open_ore`` what
    was owed of the invoice (capital and charges, less credit notes, payments and write-offs);
    ``interest_ore`` the late interest accrued by the day (domain.md §3), ``interest_charged_ore``
    what of it was invoiced on a later invoice by then; ``fees`` the fees the claim brought
    about, each on the day it was charged."""

    invoice_id: str
    invoice_number: str
    department: str
    service_type: str
    invoice_date: date
    due_date: date
    status: InvoiceStatus
    total_ore: int
    capital_ore: int
    charges_ore: int
    credited_ore: int
    paid_ore: int
    interest_and_fees_paid_ore: int
    open_ore: int
    interest_ore: int
    interest_charged_ore: int
    fees: list[Fee]
    payments: list[Allocation]
    holds: list[Hold]
    deferred_until: date | None
    dunning_stage: DunningStage
    agency_status: AgencyCaseStatus | None
    agency_deadline: date | None
    disconnection_case_id: str | None
    disconnection_status: DisconnectionCaseStatus | None
    written_down_ore: int
    written_off_ore: int


class AccountTotals(BaseModel):
    """The customer's part of the accounts domain.md §10 names, at the end of the day (debit
    positive): 1512 the claims still owed; 1592 the value adjustment of what stands of their
    write-downs (a credit, so negative); 2482 the customer's credit, an advance we owe
    (negative); 9181 unidentified payments name no customer until they are matched (then they
    move to 1512 or 2482), so a customer's part of it is always 0."""

    receivables_1512_ore: int
    value_adjustment_1592_ore: int
    overpayments_2482_ore: int
    unidentified_9181_ore: int = 0


@dataclass
class _Fold:
    """A claim's dated facts folded up to the day."""

    credited_ore: int = 0
    capital_credited_ore: int = 0
    cancelled: bool = False
    due_date: date | None = None
    deferred_until: date | None = None
    interest_from: date | None = None
    disputed: bool = False
    stage: DunningStage = "none"
    plan: bool = False
    interest_charged_ore: int = 0
    agency_status: AgencyCaseStatus | None = None
    agency_deadline: date | None = None
    written_down_ore: int = 0
    written_down: bool = False
    written_off_ore: int = 0
    written_off_on: date | None = None


def _stage(f: _Fold, r: Any, fees: list[Fee]) -> None:
    # Handed over wins: a reminder the agency sends after the handover does not move it back.
    f.stage = "handed_over" if r.kind == "handed_over" or f.stage == "handed_over" else "reminded"
    if r.amount_ore:
        fee: FeeKind = "reminder_fee" if r.kind == "reminded" else "collection_fee"
        fees.append(Fee(kind=fee, on=r.on, amount_ore=r.amount_ore))


def _plan(f: _Fold, r: Any, fees: list[Fee]) -> None:
    f.plan = r.kind == "plan_active"
    if r.amount_ore:
        fees.append(Fee(kind="plan_fee", on=r.on, amount_ore=r.amount_ore))


def _credit(f: _Fold, r: Any) -> None:
    f.credited_ore += r.amount_ore
    f.capital_credited_ore += int(r.value)


def _deferred(f: _Fold, r: Any) -> None:
    f.deferred_until, f.interest_from = date.fromisoformat(r.value), r.deadline


def _written_down(f: _Fold, r: Any) -> None:
    f.written_down = True
    f.written_down_ore += r.amount_ore if r.kind == "written_down" else -r.amount_ore


def _written_off(f: _Fold, r: Any) -> None:
    f.written_off_ore += r.amount_ore
    f.written_off_on = r.on


def _agency(f: _Fold, r: Any) -> None:
    # News of our own delivery never moves back a case the agency has opened (as today's
    # ledger, ``CustomerLedgerProjection._apply_agency``).
    if r.value in _DELIVERY and f.agency_status not in (None, *_DELIVERY):
        return
    f.agency_status, f.agency_deadline = r.value, r.deadline


_DELIVERY = ("queued", "delivered")


# How each kind of fact changes the fold (the fees a claim brought about are gathered apart).
_FOLD: dict[str, Callable[[_Fold, Any], None]] = {
    "credited": _credit,
    "cancelled": lambda f, _: setattr(f, "cancelled", True),
    "due_date": lambda f, r: setattr(f, "due_date", date.fromisoformat(r.value)),
    "deferred": _deferred,
    "disputed": lambda f, _: setattr(f, "disputed", True),
    "dispute_resolved": lambda f, _: setattr(f, "disputed", False),
    "interest_charged": lambda f, r: setattr(
        f, "interest_charged_ore", f.interest_charged_ore + r.amount_ore
    ),
    "agency": _agency,
    "written_down": _written_down,
    "write_down_recovered": _written_down,
    "written_off": _written_off,
}
_FOLD_WITH_FEES: dict[str, Callable[[_Fold, Any, list[Fee]], None]] = {
    "reminded": _stage,
    "handed_over": _stage,
    "plan_active": _plan,
    "plan_ended": _plan,
}


def fold_claim(rows: Iterable[Any]) -> tuple[_Fold, list[Fee]]:
    """A claim's log rows (in the day's and the log's order) folded into where it stood."""
    f = _Fold()
    fees: list[Fee] = []
    for r in rows:
        if r.kind in _FOLD_WITH_FEES:
            _FOLD_WITH_FEES[r.kind](f, r, fees)
        else:
            _FOLD[r.kind](f, r)
    return f, fees


async def read_claims_as_of(
    conn: AsyncConnection,
    *,
    invoices: Sequence[Any],
    log: Table,
    allocations: Table,
    as_of: date,
) -> dict[str, tuple[_Fold, list[Fee], list[Allocation]]]:
    """Each claim's fold, fees and allocations on or before ``as_of``: two lookups by the
    claims' keys."""
    ids = [r.invoice_id for r in invoices]
    by_claim: dict[str, list[Any]] = {i: [] for i in ids}
    for r in (
        await conn.execute(
            select(log)
            .where(log.c.invoice_id.in_(ids), log.c.on <= as_of)
            .order_by(log.c.on, log.c.position)
        )
    ).all():
        by_claim[r.invoice_id].append(r)
    paid: dict[str, list[Allocation]] = {i: [] for i in ids}
    for a in (
        await conn.execute(
            select(allocations)
            .where(allocations.c.invoice_id.in_(ids), allocations.c.paid_on <= as_of)
            .order_by(allocations.c.paid_on, allocations.c.component)
        )
    ).all():
        if a.amount_ore:
            paid[a.invoice_id].append(
                Allocation(paid_on=a.paid_on, component=a.component, amount_ore=a.amount_ore)
            )
    answer: dict[str, tuple[_Fold, list[Fee], list[Allocation]]] = {}
    for i in ids:
        fold, fees = fold_claim(by_claim[i])
        answer[i] = (fold, fees, paid[i])
    return answer


async def credit_as_of(conn: AsyncConnection, credit: Table, customer_id: str, as_of: date) -> int:
    """The customer's credit (2482) at the end of the day."""
    total = (
        await conn.execute(
            select(func.coalesce(func.sum(credit.c.amount_ore), 0)).where(
                credit.c.customer_id == customer_id, credit.c.on <= as_of
            )
        )
    ).scalar_one()
    return int(total)


def claim_as_of(
    r: Any,
    fold: _Fold,
    fees: list[Fee],
    payments: list[Allocation],
    *,
    interest_ore: int,
    as_of: date,
) -> ClaimAsOf:
    """One claim as it stood: ``r`` its ledger row (what never changes: number, total, lines)."""
    capital_paid = sum(p.amount_ore for p in payments if p.component == "capital")
    charges_paid = sum(p.amount_ore for p in payments if p.component != "capital")
    due = fold.due_date or r.original_due_date
    if fold.cancelled:
        open_ore = 0
    else:
        # As today's ledger counts it: charges paid up to what the invoice itself carries.
        owed = r.total_ore - fold.credited_ore - capital_paid - min(charges_paid, r.charges_ore)
        open_ore = max(owed - fold.written_off_ore, 0)
    holds: list[Hold] = []
    if fold.disputed:
        holds.append("disputed")
    if fold.deferred_until is not None and as_of <= fold.deferred_until:
        holds.append("deferred")
    if fold.plan:
        holds.append("payment_plan")
    if fold.written_down and fold.written_off_on is None:
        holds.append("written_down")
    return ClaimAsOf(
        invoice_id=r.invoice_id,
        invoice_number=r.invoice_number,
        department=r.department,
        service_type=r.service_type,
        invoice_date=r.invoice_date,
        due_date=due,
        status=invoice_status(
            open_ore=open_ore,
            total_ore=r.total_ore,
            credited_ore=fold.credited_ore,
            due_date=due,
            today=as_of,
            cancelled=fold.cancelled,
            disputed=fold.disputed,
            deferred_until=fold.deferred_until,
            written_down=fold.written_down,
            written_off=fold.written_off_on is not None,
        ),
        total_ore=r.total_ore,
        capital_ore=r.total_ore - r.charges_ore,
        charges_ore=r.charges_ore,
        credited_ore=fold.credited_ore,
        paid_ore=capital_paid,
        interest_and_fees_paid_ore=charges_paid,
        open_ore=open_ore,
        interest_ore=interest_ore,
        interest_charged_ore=fold.interest_charged_ore,
        fees=fees,
        payments=payments,
        holds=holds,
        deferred_until=fold.deferred_until,
        dunning_stage=fold.stage,
        agency_status=fold.agency_status,
        agency_deadline=fold.agency_deadline,
        disconnection_case_id=None,
        disconnection_status=None,
        # What stands of the write-downs: the claim's share of 1592, reversed by a write-off.
        written_down_ore=0 if fold.written_off_on is not None else fold.written_down_ore,
        written_off_ore=fold.written_off_ore,
    )


def interest_row(r: Any, fold: _Fold) -> SimpleNamespace:
    """The terms late interest is computed on, as they stood (``_interest_of``'s row)."""
    return SimpleNamespace(
        invoice_id=r.invoice_id,
        cancelled=fold.cancelled,
        total_ore=r.total_ore,
        charges_ore=r.charges_ore,
        capital_credited_ore=fold.capital_credited_ore,
        due_date=fold.due_date or r.original_due_date,
        interest_from=fold.interest_from,
        written_off_on=fold.written_off_on,
    )


def totals_of(claims: Sequence[ClaimAsOf], credit_ore: int) -> AccountTotals:
    return AccountTotals(
        receivables_1512_ore=sum(c.open_ore for c in claims),
        value_adjustment_1592_ore=-sum(c.written_down_ore for c in claims),
        overpayments_2482_ore=-credit_ore,
    )


class AsOfFacts:
    """What a batch adds to the dated tables, written by ``flush`` with one statement per table:
    the claims' log rows inserted, the allocations and the credit summed per key (additions
    commute, so the order among the logs does not matter)."""

    def __init__(self, registry: EventRegistry, log: Table, allocations: Table, credit: Table):
        self.registry = registry
        self.log = log
        self.rows: list[dict[str, Any]] = []
        self.allocations = Sums(allocations, ["invoice_id", "paid_on", "component"], ["amount_ore"])
        self.credit = Sums(credit, ["customer_id", "on"], ["amount_ore"])

    def gather(self, env: Envelope) -> None:
        """An event's dated facts, if it has any (any other event: nothing)."""
        if env.event_type in LOGGED and self.registry.knows(env.event_type):
            self.rows.extend(claim_log_rows(self.registry.load(env), env))
        elif env.event_type in CREDIT_TYPES and env.stream_id.startswith(CREDIT_STREAM_PREFIX):
            # Only the customer's credit stream counts (the ledger's credit table says why).
            e = self.registry.load(env)
            assert isinstance(e, CREDIT_CHANGES)
            sign = 1 if isinstance(e, CustomerCreditRecorded) else -1
            self.credit.add((e.customer_id, booked_on(env)), "amount_ore", sign * e.amount_ore)

    def allocated(self, env: Envelope, a: PaymentAllocated) -> None:
        self.allocations.add(
            (a.invoice_id, booked_on(env), a.component), "amount_ore", a.amount_ore
        )

    async def flush(self, conn: AsyncConnection) -> None:
        await insert_many(conn, self.log, self.rows)
        self.rows.clear()
        await self.allocations.flush(conn)
        await self.credit.flush(conn)
