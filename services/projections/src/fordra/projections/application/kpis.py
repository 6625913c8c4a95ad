"""The key figures over a period (issue 17 "KPIs", domain.md §5, seed 004): ``GET
/api/v1/kpis?from&to``.

``KpiProjection`` follows the public events of invoicing, payments, dunning and the agency
gateway into a few narrow tables, one statement per table for a delivered batch (a billing run
issues thousands of invoices, a bank file allocates thousands of payments); ``read_kpis`` asks
each figure of them in one SELECT. The formulas are in ``fordra.projections.domain.kpis``.

What counts as what:

- invoices issued: ``InvoiceIssued`` dated in the period (credit notes are not invoices);
- handed to the agency: ``HandedToAgency`` on a day of the period;
- open capital of an invoice on a day: its total, less credit notes, a cancellation, the capital
  allocated from payments (the agency's collections included: payments books them) and a
  write-off, each on its own day (a payment on the day it was booked, on the Swedish clock);
- fee income: reminder fees charged (``ReminderSent.fee_ore``), written payment plans' fees
  (``PaymentPlanActivated.fee_ore``) and the collection fees the agency collected for the
  municipality (``AgencyPaymentCollected.collection_fee_ore``, seed 004: the 180 kr is the
  creditor's); the reminder fee the agency reports collected is not counted again;
- interest income: late interest charged (``LateInterestCharged``) and the interest the agency
  collected (``AgencyPaymentCollected.interest_ore``).

Aged receivables use each invoice's due date as it stands now (after a deferral or a
postponement), not as it stood on ``to``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyPaymentCollected
from fordra.contracts.dunning import (
    ClaimWrittenOff,
    HandedToAgency,
    LateInterestCharged,
    PaymentPlanActivated,
    ReminderSent,
)
from fordra.contracts.invoicing import (
    CreditNoteIssued,
    DeferralGranted,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceIssued,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.calendar import SWEDISH_TIME
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection, ReadModelDatabase
from fordra.projections.domain.kpis import (
    AGE_BUCKETS,
    NOT_YET_DUE,
    agency_success_rate,
    bucket_starts,
    days_sales_outstanding,
    share_handed_to_agency,
)

KPI_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)

# The agency's statuses that end a case (AgencyCaseStatus).
ENDED = ("closed", "recalled")


# The events the figures are made of.
FOLLOWED = frozenset(
    model.event_type
    for model in (
        InvoiceIssued,
        CreditNoteIssued,
        InvoiceCancelled,
        DueDatePostponed,
        DeferralGranted,
        PaymentAllocated,
        ClaimWrittenOff,
        HandedToAgency,
        ReminderSent,
        PaymentPlanActivated,
        LateInterestCharged,
        AgencyPaymentCollected,
        AgencyCaseChanged,
    )
)


class KpiProjection(Projection):
    name: ClassVar[str] = "kpis"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing", "payments", "dunning", "agency-gateway")

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.invoices = Table(
            "kpi_invoices",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("invoice_date", Date, nullable=False, index=True),
            Column("due_date", Date, nullable=False),
            Column("total_ore", BigInteger, nullable=False),
        )
        # What changes an invoice's open capital, signed, each on its day.
        self.movements = Table(
            "kpi_movements",
            metadata,
            Column("event_id", String(64), primary_key=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("on_date", Date, nullable=False),
            Column("amount_ore", BigInteger, nullable=False),
        )
        self.handovers = Table(
            "kpi_handovers",
            metadata,
            Column("handover_id", String(64), primary_key=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("handed_on", Date, nullable=False, index=True),
            Column("capital_ore", BigInteger, nullable=False),
        )
        self.collected = Table(
            "kpi_agency_collected",
            metadata,
            Column("event_id", String(64), primary_key=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("collected_on", Date, nullable=False),
            Column("capital_ore", BigInteger, nullable=False),
        )
        self.ended = Table(
            "kpi_agency_ended",
            metadata,
            Column("case_id", String(64), primary_key=True),
            Column("invoice_id", String(64), nullable=False),
            Column("status", String(20), nullable=False),
            Column("ended_on", Date, nullable=False, index=True),
        )
        self.income = Table(
            "kpi_income",
            metadata,
            Column("event_id", String(64), primary_key=True),
            Column("kind", String(20), primary_key=True),  # "fee" or "interest"
            Column("on_date", Date, nullable=False, index=True),
            Column("amount_ore", BigInteger, nullable=False),
        )
        return [
            self.invoices,
            self.movements,
            self.handovers,
            self.collected,
            self.ended,
            self.income,
        ]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """Rows gathered per table and written in one statement each, in log order: an
        invoice's rows before its cancellation, which reads what stands on it, and before a due
        date moved."""
        rows: dict[str, list[dict[str, Any]]] = {
            "invoices": [],
            "movements": [],
            "handovers": [],
            "collected": [],
            "income": [],
        }
        for env in events:
            # Most of a bank file's or a billing run's events are not ours: not even loaded.
            if env.event_type not in FOLLOWED or not self.registry.knows(env.event_type):
                continue
            e = self.registry.load(env)
            if isinstance(
                e, InvoiceCancelled | DueDatePostponed | DeferralGranted | AgencyCaseChanged
            ):
                # These read or change rows: what came before them in the batch goes first.
                await self._flush(conn, rows)
                await self._apply_one(conn, env.event_id, e)
                continue
            self._gather(rows, env, e)
        await self._flush(conn, rows)

    def _gather(self, rows: dict[str, list[dict[str, Any]]], env: Envelope, e: object) -> None:
        booked_on = env.occurred_at.astimezone(SWEDISH_TIME).date()
        move = rows["movements"]
        if isinstance(e, InvoiceIssued):
            rows["invoices"].append(
                {
                    "invoice_id": e.invoice_id,
                    "invoice_date": e.invoice_date,
                    "due_date": e.due_date,
                    "total_ore": e.total_ore,
                }
            )
            move.append(_move(env, e.invoice_id, e.invoice_date, e.total_ore))
        elif isinstance(e, CreditNoteIssued):
            move.append(_move(env, e.invoice_id, e.issued_on, -e.total_ore))
        elif isinstance(e, PaymentAllocated) and e.component == "capital":
            move.append(_move(env, e.invoice_id, booked_on, -e.amount_ore))
        elif isinstance(e, ClaimWrittenOff):
            move.append(_move(env, e.invoice_id, e.written_off_on, -e.amount_ore))
        elif isinstance(e, HandedToAgency):
            rows["handovers"].append(
                {
                    "handover_id": e.handover_id,
                    "invoice_id": e.invoice_id,
                    "handed_on": e.handed_on,
                    "capital_ore": e.capital_ore,
                }
            )
        elif isinstance(e, AgencyPaymentCollected):
            rows["collected"].append(
                {
                    "event_id": env.event_id,
                    "invoice_id": e.invoice_id,
                    "collected_on": e.collected_on,
                    "capital_ore": e.capital_ore,
                }
            )
            _income(rows, env, "fee", e.collected_on, e.collection_fee_ore)
            _income(rows, env, "interest", e.collected_on, e.interest_ore)
        elif isinstance(e, ReminderSent):
            _income(rows, env, "fee", e.sent_on, e.fee_ore)
        elif isinstance(e, PaymentPlanActivated):
            _income(rows, env, "fee", e.activated_on, e.fee_ore)
        elif isinstance(e, LateInterestCharged):
            _income(rows, env, "interest", booked_on, e.amount_ore)

    async def _apply_one(self, conn: AsyncConnection, event_id: str, e: object) -> None:
        if isinstance(e, InvoiceCancelled):
            # What still stands on the invoice goes, on the day it was cancelled.
            m = self.movements
            standing = select(
                literal(event_id),
                literal(e.invoice_id),
                literal(e.cancelled_on, Date),
                -func.coalesce(func.sum(m.c.amount_ore), 0),
            ).where(m.c.invoice_id == e.invoice_id)
            await conn.execute(
                m.insert().from_select(
                    ["event_id", "invoice_id", "on_date", "amount_ore"], standing
                )
            )
        elif isinstance(e, DueDatePostponed | DeferralGranted):
            new_due = e.due_date if isinstance(e, DueDatePostponed) else e.deferred_until
            await conn.execute(
                update(self.invoices)
                .where(self.invoices.c.invoice_id == e.invoice_id)
                .values(due_date=new_due)
            )
        elif isinstance(e, AgencyCaseChanged) and e.status in ENDED:
            x = self.ended
            if await conn.scalar(select(x.c.case_id).where(x.c.case_id == e.case_id)):
                return  # the first end counts (a case recalled, then closed by the agency)
            await conn.execute(
                self.ended.insert().values(
                    case_id=e.case_id,
                    invoice_id=e.invoice_id,
                    status=e.status,
                    ended_on=e.occurred_on,
                )
            )

    async def _flush(self, conn: AsyncConnection, rows: dict[str, list[dict[str, Any]]]) -> None:
        tables = {
            "invoices": self.invoices,
            "movements": self.movements,
            "handovers": self.handovers,
            "collected": self.collected,
            "income": self.income,
        }
        for name, table in tables.items():
            if rows[name]:
                await conn.execute(table.insert(), rows[name])
                rows[name] = []


def _move(env: Envelope, invoice_id: str, on: date, amount_ore: int) -> dict[str, Any]:
    return {
        "event_id": env.event_id,
        "invoice_id": invoice_id,
        "on_date": on,
        "amount_ore": amount_ore,
    }


def _income(
    rows: dict[str, list[dict[str, Any]]], env: Envelope, kind: str, on: date, amount_ore: int
) -> None:
    if amount_ore:
        rows["income"].append(
            {"event_id": env.event_id, "kind": kind, "on_date": on, "amount_ore": amount_ore}
        )


class AgedReceivables(BaseModel):
    """Open capital as of ``to`` by days past due (öre)."""

    not_yet_due_ore: int
    days_0_30_ore: int
    days_31_60_ore: int
    days_61_90_ore: int
    days_91_plus_ore: int
    total_ore: int


class Kpis(BaseModel):
    from_date: date
    to_date: date
    invoices_issued: int
    invoiced_ore: int
    handed_to_agency: int
    handed_to_agency_percent: float | None
    agency_cases_ended: int
    agency_successes: int
    agency_success_rate_percent: float | None
    receivables_open_ore: int
    days_sales_outstanding: float | None
    aged_receivables: AgedReceivables
    fee_income_ore: int
    interest_income_ore: int


async def read_kpis(
    db: ReadModelDatabase, projection: KpiProjection, principal: Principal, start: date, end: date
) -> Kpis:
    """The figures of [start, end] (module docstring), each one SELECT."""
    require_role(principal, *KPI_READERS, action="read the key figures")
    if start > end:
        raise DomainRuleViolation(
            f"the period ends ({end}) before it begins ({start})", field="to", rule="period_order"
        )
    p = projection
    i, m, h, c, x, inc = p.invoices, p.movements, p.handovers, p.collected, p.ended, p.income
    in_period = and_(i.c.invoice_date >= start, i.c.invoice_date <= end)
    issued = select(func.count(), func.coalesce(func.sum(i.c.total_ore), 0)).where(in_period)
    handed = select(func.count()).where(h.c.handed_on >= start, h.c.handed_on <= end)
    # The agency's cases ended in the period, and whether each collected its whole capital.
    collected = (
        select(c.c.invoice_id, func.sum(c.c.capital_ore).label("capital"))
        .where(c.c.collected_on <= end)
        .group_by(c.c.invoice_id)
        .subquery()
    )
    success = and_(x.c.status == "closed", func.coalesce(collected.c.capital, 0) >= h.c.capital_ore)
    agency = (
        select(func.count(), func.coalesce(func.sum(case((success, 1), else_=0)), 0))
        .select_from(
            x.join(h, h.c.handover_id == x.c.case_id).outerjoin(
                collected, collected.c.invoice_id == x.c.invoice_id
            )
        )
        .where(x.c.ended_on >= start, x.c.ended_on <= end)
    )
    # Each invoice's open capital on `end`, aged by its due date.
    standing = (
        select(m.c.invoice_id, func.sum(m.c.amount_ore).label("open_ore"))
        .where(m.c.on_date <= end)
        .group_by(m.c.invoice_id)
        .subquery()
    )
    starts = dict(bucket_starts(end))
    oldest_first = [(name, starts[name]) for name, _ in reversed(AGE_BUCKETS)]
    bucket = case(
        *[(i.c.due_date <= latest, name) for name, latest in oldest_first], else_=NOT_YET_DUE
    )
    aged = (
        select(bucket.label("bucket"), func.sum(standing.c.open_ore))
        .select_from(standing.join(i, i.c.invoice_id == standing.c.invoice_id))
        .where(standing.c.open_ore > 0, i.c.invoice_date <= end)
        .group_by(bucket)
    )
    income = (
        select(inc.c.kind, func.sum(inc.c.amount_ore))
        .where(inc.c.on_date >= start, inc.c.on_date <= end)
        .group_by(inc.c.kind)
    )
    async with db.engine.connect() as conn:
        n_issued, invoiced = (await conn.execute(issued)).one()
        n_handed = int(await conn.scalar(handed) or 0)
        n_ended, n_success = (await conn.execute(agency)).one()
        buckets = {str(b): int(v) for b, v in (await conn.execute(aged)).all()}
        earned = {str(k): int(v) for k, v in (await conn.execute(income)).all()}
    open_total = sum(buckets.values())
    return Kpis(
        from_date=start,
        to_date=end,
        invoices_issued=int(n_issued),
        invoiced_ore=int(invoiced),
        handed_to_agency=n_handed,
        handed_to_agency_percent=share_handed_to_agency(n_handed, int(n_issued)),
        agency_cases_ended=int(n_ended),
        agency_successes=int(n_success),
        agency_success_rate_percent=agency_success_rate(int(n_success), int(n_ended)),
        receivables_open_ore=open_total,
        days_sales_outstanding=days_sales_outstanding(open_total, int(invoiced), start, end),
        aged_receivables=AgedReceivables(
            not_yet_due_ore=buckets.get(NOT_YET_DUE, 0),
            days_0_30_ore=buckets.get("0-30", 0),
            days_31_60_ore=buckets.get("31-60", 0),
            days_61_90_ore=buckets.get("61-90", 0),
            days_91_plus_ore=buckets.get("91+", 0),
            total_ore=open_total,
        ),
        fee_income_ore=earned.get("fee", 0),
        interest_income_ore=earned.get("interest", 0),
    )
