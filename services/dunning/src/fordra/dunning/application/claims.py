"""The claims read model: every invoice as dunning sees it (domain.md §4), its holds, the step it
reached, the proposals made for it and the letters sent.

Built from invoicing's and payments' public events and from dunning's own, each upstream in a
table of its own (``claims`` from invoicing, ``claim_payments`` from payments, ``progress`` from
dunning), joined when read: no order exists between the logs of different contexts, so a
rebuild that replays dunning's log before invoicing's gives the same tables. The high-volume
events (an invoice issued, a payment allocated, a run's proposals) are applied set-based, one
statement per table per batch (``apply_batch``); the rest one at a time in log order.

No name or address is kept: the letters look the recipient up when rendered (domain.md §2).

The department and billing period of each invoice live in a table of their own
(``dunning_claim_periods``) rather than as new columns of ``dunning_claims``: the read models are
made by ``create_all``, which adds a missing table to an existing database but never a column to an
existing table, and the project has no migrations. On a database made before the table existed it
is empty for the invoices projected before; rebuilding the projection (``ProjectionRunner.reset``)
fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.dunning import (
    ClaimWrittenDown,
    ClaimWrittenOff,
    HandedToAgency,
    InstallmentMissed,
    PaymentPlanActivated,
    PaymentPlanCancelled,
    PaymentPlanCompleted,
    ReferredForDisconnection,
    ReminderSent,
    TerminationWarningSent,
)
from fordra.contracts.invoicing import (
    RENT_SERVICES,
    CreditNoteIssued,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.contracts.utility_disconnect import DisconnectionDeclined
from fordra.dunning.domain.claim import Claim, stale_reason
from fordra.dunning.domain.events import (
    ChildcareUnpaidReported,
    DunningProposed,
    InstallmentReminded,
    MusicSchoolPupilFlagged,
    ProposalApproved,
    ProposalRejected,
)
from fordra.dunning.domain.letters import LetterIssued
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection, Sums, insert_many, upsert, upsert_many

# What a claim is for, in the letter's words: the invoice's line texts, bounded.
WHAT_FOR_MAX = 200

# The column of ``progress`` that holds a claim's proposal of each kind: a claim gets one
# proposal per step (a rejected one is not proposed again: the case officer decided).
PROPOSAL_COLUMN = {
    "reminder": "reminder_proposal_id",
    "handover": "handover_proposal_id",
    "termination_warning": "termination_proposal_id",
}

_ONE_AT_A_TIME = frozenset(
    kind.event_type
    for kind in (
        CreditNoteIssued,
        InvoiceCancelled,
        DueDatePostponed,
        DeferralGranted,
        InvoiceDisputed,
        DisputeResolved,
        ReminderSent,
        HandedToAgency,
        TerminationWarningSent,
        PaymentPlanActivated,
        PaymentPlanCancelled,
        PaymentPlanCompleted,
        InstallmentMissed,
        InstallmentReminded,
        ProposalApproved,
        ProposalRejected,
        LetterIssued,
        ChildcareUnpaidReported,
        MusicSchoolPupilFlagged,
        ClaimWrittenDown,
        ClaimWrittenOff,
        ReferredForDisconnection,
        DisconnectionDeclined,
    )
)


def what_for(event: InvoiceIssued) -> str:
    texts = list(dict.fromkeys(line.description for line in event.lines))
    text = ", ".join(texts)
    return text if len(text) <= WHAT_FOR_MAX else text[: WHAT_FOR_MAX - 1] + "…"


class DunningClaimsProjection(Projection):
    name: ClassVar[str] = "dunning_claims"
    # Utility disconnection's too: a referral it declines goes to the agency (issue 16).
    upstreams: ClassVar[tuple[str, ...]] = (
        "invoicing",
        "payments",
        "dunning",
        "utility-disconnect",
    )

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.claims = Table(
            "dunning_claims",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("service_type", String(40), nullable=False),
            Column("invoice_number", String(20), nullable=False),
            Column("what_for", String(WHAT_FOR_MAX), nullable=False),
            Column("invoice_date", Date, nullable=False),
            Column("due_date", Date, nullable=False),
            Column("original_due_date", Date, nullable=False),
            Column("ocr", String(25), nullable=False),
            Column("total_ore", BigInteger, nullable=False),
            Column("charges_ore", BigInteger, nullable=False),
            Column("credited_ore", BigInteger, nullable=False),
            Column("cancelled", Boolean, nullable=False),
            Column("interest_from", Date, nullable=False),
            Column("deferred_until", Date),
            Column("disputed_on", Date),
            Column("dispute_resolved_on", Date),
        )
        # Who issued each invoice and the period it bills (InvoiceIssued; the period is None in
        # events stored before it existed): the unpaid-rent report selects by both.
        self.periods = Table(
            "dunning_claim_periods",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("department", String(64), nullable=False, index=True),
            Column("billing_period_start", Date, index=True),
            Column("billing_period_end", Date),
        )
        self.payments = Table(
            "dunning_claim_payments",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("paid_capital_ore", BigInteger, nullable=False),
            Column("paid_other_ore", BigInteger, nullable=False),
        )
        self.progress = Table(
            "dunning_claim_progress",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("reminded_on", Date),
            Column("handed_over_on", Date),
            Column("termination_warned_on", Date),
            # The date the termination warning named (the childcare report states it).
            Column("termination_date", Date),
            Column("plan_id", String(64)),
            Column("plan_ended_on", Date),
            Column("reminder_proposal_id", String(64)),
            Column("handover_proposal_id", String(64)),
            Column("termination_proposal_id", String(64)),
        )
        self.proposals = Table(
            "dunning_proposals",
            metadata,
            Column("proposal_id", String(64), primary_key=True),
            Column("kind", String(30), nullable=False),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("customer_id", String(64), nullable=False),
            Column("service_type", String(40), nullable=False),
            Column("proposed_on", Date, nullable=False),
            Column("capital_ore", BigInteger, nullable=False),
            Column("fee_ore", BigInteger, nullable=False),
            Column("interest_ore", BigInteger, nullable=False),
            Column("status", String(10), nullable=False, index=True),
        )
        self.letters = Table(
            "dunning_letters",
            metadata,
            Column("letter_id", String(64), primary_key=True),
            Column("invoice_id", String(64), primary_key=True),
            Column("kind", String(30), nullable=False),
            Column("sent_on", Date, nullable=False),
            Column("fee_ore", BigInteger, nullable=False),
        )
        self.installments = Table(
            "dunning_missed_installments",
            metadata,
            Column("plan_id", String(64), primary_key=True),
            Column("due_date", Date, primary_key=True),
            Column("customer_id", String(64), nullable=False),
            Column("invoice_ids", String(2000), nullable=False),  # space-separated
            Column("amount_ore", BigInteger, nullable=False),
            Column("missed_on", Date, nullable=False),
            Column("proposal_id", String(64)),
            Column("reminded_on", Date),
        )
        # The childcare report, month by month, and the music-school pupils flagged (domain.md
        # §4): what the run of their day found, as the department reads it.
        self.childcare_report = Table(
            "dunning_childcare_report",
            metadata,
            Column("report_month", String(7), primary_key=True),
            Column("customer_id", String(64), primary_key=True),
            Column("reported_on", Date, nullable=False),
            Column("invoice_ids", String(2000), nullable=False),  # space-separated
            Column("unpaid_ore", BigInteger, nullable=False),
            Column("first_warned_on", Date, nullable=False),
            Column("termination_date", Date, nullable=False),
        )
        self.music_school_flags = Table(
            "dunning_music_school_flags",
            metadata,
            Column("deadline", Date, primary_key=True),
            Column("customer_id", String(64), primary_key=True),
            Column("flagged_on", Date, nullable=False),
            Column("invoice_ids", String(2000), nullable=False),  # space-separated
            Column("unpaid_ore", BigInteger, nullable=False),
        )
        # Claims written down or off (domain.md §4): out of the dunning flow, and on the
        # departments' credit-stop list (seed 001). A table of its own, as the periods above.
        self.write_downs = Table(
            "dunning_claim_write_downs",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("invoice_number", String(20), nullable=False),
            Column("department", String(64), index=True),
            Column("written_down_on", Date),
            Column("written_down_ore", BigInteger, nullable=False, default=0),
            Column("written_down_reason", String(500)),
            Column("written_off_on", Date),
            Column("written_off_ore", BigInteger, nullable=False, default=0),
            Column("write_off_reason", String(20)),
            Column("decision_reference", String(100)),
        )
        # The disconnection procedure's side of a claim (issue 16, domain.md §6): the supply point
        # its invoice names (InvoiceIssued), the day dunning referred it instead of handing it
        # over, and the day utility disconnection declined it (then it goes to the agency). A
        # table of its own, as the periods above; each column set by one upstream, so a rebuild
        # in any order of the logs gives the same rows.
        self.disconnection = Table(
            "dunning_claim_disconnection",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("supply_point_id", String(64)),
            Column("referred_on", Date),
            Column("demand_sent_on", Date),
            Column("declined_on", Date),
            Column("declined_rule", String(40)),
        )
        return [
            self.claims,
            self.periods,
            self.disconnection,
            self.write_downs,
            self.payments,
            self.progress,
            self.proposals,
            self.letters,
            self.installments,
            self.childcare_report,
            self.music_school_flags,
        ]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """Invoices issued, payments allocated and proposals made are gathered and written with
        one statement per table; any other event writes what is gathered so far and applies
        itself, so the log's order is kept wherever it matters."""
        claims: list[dict[str, Any]] = []
        periods: list[dict[str, Any]] = []
        points: list[dict[str, Any]] = []
        paid = Sums(self.payments, ["invoice_id"], add=["paid_capital_ore", "paid_other_ore"])
        proposals: list[dict[str, Any]] = []
        proposed: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in PROPOSAL_COLUMN.values()}
        installments: list[tuple[str, date, str]] = []

        async def flush() -> None:
            await insert_many(conn, self.claims, claims)
            await insert_many(conn, self.periods, periods)
            await upsert_many(
                conn, self.disconnection, ["invoice_id"], points, set_=["supply_point_id"]
            )
            await paid.flush(conn)
            await insert_many(conn, self.proposals, proposals)
            for column, rows in proposed.items():
                await upsert_many(
                    conn, self.progress, ["invoice_id"], list(rows.values()), set_=[column]
                )
                rows.clear()
            for plan_id, due, proposal_id in installments:
                t = self.installments
                await conn.execute(
                    update(t)
                    .where(t.c.plan_id == plan_id, t.c.due_date == due)
                    .values(proposal_id=proposal_id)
                )
            claims.clear()
            periods.clear()
            points.clear()
            proposals.clear()
            installments.clear()

        for env in events:
            kind = env.event_type
            if kind == InvoiceIssued.event_type:
                issued = self.registry.load_as(env, InvoiceIssued)
                claims.append(self._claim_row(issued))
                periods.append(
                    {
                        "invoice_id": issued.invoice_id,
                        "department": issued.department,
                        "billing_period_start": issued.billing_period_start,
                        "billing_period_end": issued.billing_period_end,
                    }
                )
                if issued.supply_point_id is not None:
                    points.append(
                        {"invoice_id": issued.invoice_id, "supply_point_id": issued.supply_point_id}
                    )
            elif kind == PaymentAllocated.event_type:
                a = self.registry.load_as(env, PaymentAllocated)
                # Capital apart from interest and fees (domain.md §3); a reversal is negative.
                column = "paid_capital_ore" if a.component == "capital" else "paid_other_ore"
                paid.add((a.invoice_id,), column, a.amount_ore)
            elif kind == DunningProposed.event_type:
                p = self.registry.load_as(env, DunningProposed)
                proposals.append(
                    {
                        "proposal_id": p.proposal_id,
                        "kind": p.kind,
                        "invoice_id": p.invoice_id,
                        "customer_id": p.customer_id,
                        "service_type": p.service_type,
                        "proposed_on": p.proposed_on,
                        "capital_ore": p.capital_ore,
                        "fee_ore": p.fee_ore,
                        "interest_ore": p.interest_ore,
                        "status": "pending",
                    }
                )
                if p.kind == "installment_reminder":
                    assert p.plan_id is not None
                    assert p.installment_due_date is not None
                    installments.append((p.plan_id, p.installment_due_date, p.proposal_id))
                else:
                    column = PROPOSAL_COLUMN[p.kind]
                    for invoice_id in p.invoice_ids:
                        proposed[column][invoice_id] = {
                            "invoice_id": invoice_id,
                            column: p.proposal_id,
                        }
            elif kind in _ONE_AT_A_TIME:
                await flush()
                await self._apply_one(conn, env)
            elif self.registry.knows(kind):
                # Changes nothing here, but is read as one at a time would read it.
                self.registry.load(env)
        await flush()

    @staticmethod
    def _claim_row(i: InvoiceIssued) -> dict[str, Any]:
        return {
            "invoice_id": i.invoice_id,
            "customer_id": i.customer_id,
            "service_type": i.service_type,
            "invoice_number": i.invoice_number,
            "what_for": what_for(i),
            "invoice_date": i.invoice_date,
            "due_date": i.due_date,
            "original_due_date": i.due_date,
            "ocr": i.ocr,
            "total_ore": i.total_ore,
            # Late interest and fees invoiced as lines of their own (no VAT on them).
            "charges_ore": sum(line.net_ore for line in i.lines if line.kind != "capital"),
            "credited_ore": 0,
            "cancelled": False,
            # domain.md §3: late interest runs from the due date.
            "interest_from": i.due_date,
            "deferred_until": None,
            "disputed_on": None,
            "dispute_resolved_on": None,
        }

    async def _progress(self, conn: AsyncConnection, invoice_id: str, **values: Any) -> None:
        await upsert(conn, self.progress, {"invoice_id": invoice_id}, set_=values)

    async def _apply_one(self, conn: AsyncConnection, env: Envelope) -> None:
        e: Any = self.registry.load(env)
        c = self.claims
        this = c.c.invoice_id == getattr(e, "invoice_id", None)
        invoice_changes: dict[type, Any] = {
            CreditNoteIssued: lambda: {"credited_ore": c.c.credited_ore + e.total_ore},
            InvoiceCancelled: lambda: {"cancelled": True},
            # Uppskov: the due date moves and interest runs from the new date (domain.md §2).
            DueDatePostponed: lambda: {"due_date": e.due_date, "interest_from": e.due_date},
            # Anstånd: interest runs from the date the deferral names (domain.md §2).
            DeferralGranted: lambda: {
                "deferred_until": e.deferred_until,
                "interest_from": e.interest_from,
            },
            InvoiceDisputed: lambda: {"disputed_on": e.disputed_on},
            DisputeResolved: lambda: {"disputed_on": None, "dispute_resolved_on": e.resolved_on},
        }
        if type(e) in invoice_changes:
            await conn.execute(update(c).where(this).values(**invoice_changes[type(e)]()))
        else:
            await self._apply_dunning(conn, e)

    async def _apply_dunning(self, conn: AsyncConnection, e: Any) -> None:
        """Dunning's own events: the steps taken, the plans, the proposals and the letters."""
        if isinstance(e, ReminderSent):
            await self._progress(conn, e.invoice_id, reminded_on=e.sent_on)
        elif isinstance(e, HandedToAgency):
            await self._progress(conn, e.invoice_id, handed_over_on=e.handed_on)
        elif isinstance(e, ReferredForDisconnection | DisconnectionDeclined):
            await self._apply_referral(conn, e)
        elif isinstance(e, TerminationWarningSent):
            for invoice_id in e.invoice_ids:
                await self._progress(
                    conn,
                    invoice_id,
                    termination_warned_on=e.sent_on,
                    termination_date=e.termination_date,
                )
        elif isinstance(e, PaymentPlanActivated):
            for invoice_id in e.invoice_ids:
                await self._progress(conn, invoice_id, plan_id=e.plan_id)
        elif isinstance(e, PaymentPlanCancelled):
            for invoice_id in e.invoice_ids:
                await self._progress(conn, invoice_id, plan_id=None, plan_ended_on=e.cancelled_on)
        elif isinstance(e, PaymentPlanCompleted):
            for invoice_id in e.invoice_ids:
                await self._progress(conn, invoice_id, plan_id=None)
        else:
            await self._apply_installment(conn, e)

    async def _apply_referral(
        self, conn: AsyncConnection, e: ReferredForDisconnection | DisconnectionDeclined
    ) -> None:
        """A claim referred to the disconnection procedure, or declined by it (issue 16)."""
        key = {"invoice_id": e.invoice_id}
        set_: dict[str, Any]
        if isinstance(e, ReferredForDisconnection):
            set_ = {"referred_on": e.referred_on, "demand_sent_on": e.demand_sent_on}
        else:
            set_ = {"declined_on": e.declined_on, "declined_rule": e.rule}
        await upsert(conn, self.disconnection, key, set_=set_)

    async def _apply_installment(self, conn: AsyncConnection, e: Any) -> None:
        if isinstance(e, InstallmentMissed):
            await conn.execute(
                self.installments.insert().values(
                    plan_id=e.plan_id,
                    due_date=e.due_date,
                    customer_id=e.customer_id,
                    invoice_ids=" ".join(e.invoice_ids),
                    amount_ore=e.amount_ore,
                    missed_on=e.missed_on,
                )
            )
        elif isinstance(e, InstallmentReminded):
            t = self.installments
            await conn.execute(
                update(t)
                .where(t.c.plan_id == e.plan_id, t.c.due_date == e.due_date)
                .values(reminded_on=e.sent_on)
            )
        else:
            await self._apply_decision(conn, e)

    async def _apply_decision(self, conn: AsyncConnection, e: Any) -> None:
        """A proposal decided on, the letter it sent, what a run reported or flagged, and a
        claim written down or off."""
        if isinstance(e, ClaimWrittenDown | ClaimWrittenOff):
            await self._apply_write_down(conn, e)
        elif isinstance(e, ChildcareUnpaidReported):
            await upsert(
                conn,
                self.childcare_report,
                {"report_month": e.report_month, "customer_id": e.customer_id},
                set_={
                    "reported_on": e.reported_on,
                    "invoice_ids": " ".join(e.invoice_ids),
                    "unpaid_ore": e.unpaid_ore,
                    "first_warned_on": e.first_warned_on,
                    "termination_date": e.termination_date,
                },
            )
        elif isinstance(e, MusicSchoolPupilFlagged):
            await upsert(
                conn,
                self.music_school_flags,
                {"deadline": e.deadline, "customer_id": e.customer_id},
                set_={
                    "flagged_on": e.flagged_on,
                    "invoice_ids": " ".join(e.invoice_ids),
                    "unpaid_ore": e.unpaid_ore,
                },
            )
        elif isinstance(e, ProposalApproved | ProposalRejected):
            status = "approved" if isinstance(e, ProposalApproved) else "rejected"
            p = self.proposals
            await conn.execute(
                update(p).where(p.c.proposal_id == e.proposal_id).values(status=status)
            )
        elif isinstance(e, LetterIssued):
            facts = e.facts
            await insert_many(
                conn,
                self.letters,
                [
                    {
                        "letter_id": facts.letter_id,
                        "invoice_id": item.invoice_id,
                        "kind": facts.kind,
                        "sent_on": facts.sent_on,
                        "fee_ore": facts.fee_ore,
                    }
                    for item in facts.items
                ],
            )

    async def _apply_write_down(self, conn: AsyncConnection, e: Any) -> None:
        key = {"invoice_id": e.invoice_id}
        common = {
            "customer_id": e.customer_id,
            "invoice_number": e.invoice_number,
            "department": e.department,
        }
        if isinstance(e, ClaimWrittenDown):
            set_ = {
                **common,
                "written_down_on": e.written_down_on,
                "written_down_ore": e.amount_ore,
                "written_down_reason": e.reason,
            }
            await upsert(conn, self.write_downs, key, set_=set_)
            return
        # A further write-off (of a payment taken back since) adds to what was written off.
        set_ = {
            **common,
            "written_off_on": e.written_off_on,
            "write_off_reason": e.reason,
            "decision_reference": e.decision_reference,
        }
        await upsert(conn, self.write_downs, key, add={"written_off_ore": e.amount_ore}, set_=set_)

    def claim_columns(self) -> list[Any]:
        """Every column a ``Claim`` is made of, for a select over the three tables joined."""
        c, pay, g = self.claims, self.payments, self.progress
        return [
            *c.c,
            pay.c.paid_capital_ore,
            pay.c.paid_other_ore,
            g.c.reminded_on,
            g.c.handed_over_on,
            g.c.termination_warned_on,
            g.c.plan_id,
            g.c.plan_ended_on,
            g.c.reminder_proposal_id,
            g.c.handover_proposal_id,
            g.c.termination_proposal_id,
            self.write_downs.c.written_down_on,
            self.write_downs.c.written_off_on,
            self.write_downs.c.written_off_ore,
            self.disconnection.c.referred_on,
            self.disconnection.c.declined_on.label("disconnection_declined_on"),
        ]

    def joined(self) -> Any:
        c, pay, g, w = self.claims, self.payments, self.progress, self.write_downs
        d = self.disconnection
        return (
            c.outerjoin(pay, pay.c.invoice_id == c.c.invoice_id)
            .outerjoin(g, g.c.invoice_id == c.c.invoice_id)
            .outerjoin(w, w.c.invoice_id == c.c.invoice_id)
            .outerjoin(d, d.c.invoice_id == c.c.invoice_id)
        )


def claim_from_row(r: Any) -> Claim:
    return Claim(
        invoice_id=r.invoice_id,
        customer_id=r.customer_id,
        service_type=r.service_type,
        invoice_number=r.invoice_number,
        what_for=r.what_for,
        invoice_date=r.invoice_date,
        due_date=r.due_date,
        original_due_date=r.original_due_date,
        ocr=r.ocr,
        total_ore=int(r.total_ore),
        credited_ore=int(r.credited_ore),
        paid_capital_ore=int(r.paid_capital_ore or 0),
        paid_other_ore=int(r.paid_other_ore or 0),
        charges_ore=int(r.charges_ore),
        cancelled=bool(r.cancelled),
        interest_from=r.interest_from,
        deferred_until=r.deferred_until,
        disputed_on=r.disputed_on,
        dispute_resolved_on=r.dispute_resolved_on,
        plan_id=r.plan_id,
        plan_ended_on=r.plan_ended_on,
        reminded_on=r.reminded_on,
        handed_over_on=r.handed_over_on,
        termination_warned_on=r.termination_warned_on,
        written_down_on=r.written_down_on,
        written_off_on=r.written_off_on,
        written_off_ore=int(r.written_off_ore or 0),
        referred_on=r.referred_on,
        disconnection_declined_on=r.disconnection_declined_on,
    )


async def read_claim(
    conn: AsyncConnection, projection: DunningClaimsProjection, invoice_id: str
) -> Claim | None:
    row = (
        await conn.execute(
            select(*projection.claim_columns())
            .select_from(projection.joined())
            .where(projection.claims.c.invoice_id == invoice_id)
        )
    ).first()
    return claim_from_row(row) if row is not None else None


async def read_pending_staleness(
    conn: AsyncConnection,
    projection: DunningClaimsProjection,
    rows: list[dict[str, Any]],
    today: date,
) -> dict[str, str]:
    """Why each pending proposal of ``rows`` may no longer be approved (``stale_reason``, the
    one rule the approval applies), or that the run has since proposed the step anew; the ids of
    the approvable ones are absent. Installment reminders follow their plan and are left out."""
    ids = sorted({r["invoice_id"] for r in rows if r["kind"] in PROPOSAL_COLUMN})
    claims: dict[str, Claim] = {}
    steps: dict[str, Any] = {}
    for first in range(0, len(ids), 500):
        found = await conn.execute(
            select(*projection.claim_columns())
            .select_from(projection.joined())
            .where(projection.claims.c.invoice_id.in_(ids[first : first + 500]))
        )
        for row in found:
            claims[row.invoice_id] = claim_from_row(row)
            steps[row.invoice_id] = row
    stale: dict[str, str] = {}
    for r in rows:
        column = PROPOSAL_COLUMN.get(r["kind"])
        claim = claims.get(r["invoice_id"])
        if column is None or claim is None:
            continue
        reason = stale_reason(claim, today, r["proposed_on"])
        newer = getattr(steps[r["invoice_id"]], column)
        if reason is None and newer is not None and newer != r["proposal_id"]:
            reason = f"proposed anew as {newer}"
        if reason is not None:
            stale[r["proposal_id"]] = reason
    return stale


async def read_letters(
    conn: AsyncConnection, projection: DunningClaimsProjection, invoice_id: str
) -> list[dict[str, Any]]:
    t = projection.letters
    rows = await conn.execute(
        select(t.c.letter_id, t.c.kind, t.c.sent_on, t.c.fee_ore)
        .where(t.c.invoice_id == invoice_id)
        .order_by(t.c.sent_on, t.c.letter_id)
    )
    return [dict(r._mapping) for r in rows]


async def read_proposals(
    conn: AsyncConnection, projection: DunningClaimsProjection, status: str
) -> list[dict[str, Any]]:
    p = projection.proposals
    rows = await conn.execute(
        select(
            p.c.proposal_id,
            p.c.kind,
            p.c.invoice_id,
            p.c.customer_id,
            p.c.proposed_on,
            p.c.capital_ore,
            p.c.fee_ore,
            p.c.interest_ore,
        )
        .where(p.c.status == status)
        .order_by(p.c.proposed_on, p.c.proposal_id)
    )
    return [dict(r._mapping) for r in rows]


async def read_disputed(
    conn: AsyncConnection, projection: DunningClaimsProjection
) -> list[dict[str, Any]]:
    """The queue of disputed claims waiting for a decision on court (domain.md §4: a disputed
    claim never goes to a payment order or the agency); a claim paid or cancelled since has
    nothing left to decide."""
    c = projection.claims
    rows = await conn.execute(
        select(*projection.claim_columns())
        .select_from(projection.joined())
        .where(c.c.disputed_on.is_not(None))
        .order_by(c.c.disputed_on, c.c.invoice_id)
    )
    claims = [claim_from_row(r) for r in rows]
    return [
        {"invoice_id": k.invoice_id, "customer_id": k.customer_id, "disputed_on": k.disputed_on}
        for k in claims
        if k.open_ore > 0
    ]


async def read_childcare_report(
    conn: AsyncConnection, projection: DunningClaimsProjection, month: str
) -> list[dict[str, Any]]:
    """The guardians on the childcare report of ``month`` ("YYYY-MM"), by customer."""
    t = projection.childcare_report
    rows = await conn.execute(select(t).where(t.c.report_month == month).order_by(t.c.customer_id))
    return [{**r._mapping, "invoice_ids": r.invoice_ids.split()} for r in rows]


async def read_music_school_flags(
    conn: AsyncConnection, projection: DunningClaimsProjection
) -> list[dict[str, Any]]:
    """Every music-school pupil flagged, the latest deadline first, then by customer."""
    t = projection.music_school_flags
    rows = await conn.execute(select(t).order_by(t.c.deadline.desc(), t.c.customer_id))
    return [{**r._mapping, "invoice_ids": r.invoice_ids.split()} for r in rows]


async def read_rent_notices(
    conn: AsyncConnection,
    projection: DunningClaimsProjection,
    first_day: date,
    last_day: date,
    department: str | None = None,
) -> list[tuple[Claim, Any]]:
    """The rent notices (``RENT_SERVICES``) not cancelled whose billing period begins between
    ``first_day`` and ``last_day``, of ``department`` when one is named, each as a claim with
    its period row: one SELECT over the claims, their payments and their periods. Whether one
    is still open is the claim's own rule (``Claim.open_ore``), applied by the caller."""
    c, per = projection.claims, projection.periods
    query = (
        select(
            *projection.claim_columns(),
            per.c.billing_period_start,
            per.c.billing_period_end,
        )
        .select_from(projection.joined().join(per, per.c.invoice_id == c.c.invoice_id))
        .where(
            c.c.service_type.in_(RENT_SERVICES),
            c.c.cancelled.is_(False),
            per.c.billing_period_start >= first_day,
            per.c.billing_period_start <= last_day,
        )
        .order_by(c.c.customer_id, c.c.invoice_number)
    )
    if department is not None:
        query = query.where(per.c.department == department)
    rows = await conn.execute(query)
    return [(claim_from_row(r), r) for r in rows]
