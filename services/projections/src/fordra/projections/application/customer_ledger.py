"""The customer ledger (kundreskontra, domain.md §10 account 1512): per customer, every invoice
with what is still open, and the late interest it has accrued as of the business date (domain.md
§3). Built from invoicing's, payments' and dunning's public events.

The interest is computed when the ledger is read, by the arithmetic dunning charges with
(``fordra.kernel.late_interest``): from the due date as it stands (or a deferral's
``interest_from``), on the capital (the total less the interest and fee lines, less what credit
notes took of the capital), lowered by each capital payment from the day after the business date
it was booked on, at the shipped reference rates and those an admin added (``ReferenceRateAdded``,
dunning's). The tables keep the facts (capital paid per invoice and day, the interest start, the
rates); nothing depends on the read date, so the tables stay what the events made them.

Write-downs and write-offs (domain.md §4, seed 001: "Ned- och avskrivningar noteras i
kundreskontran") are dunning's events, kept in a table of their own: a written-down claim stays owed
and shows what of its write-down still stands (the claim's share of account 1592); a written-off
claim has nothing open (its written-off amount a component of its own, no interest after the
write-off) unless a payment the bank took back since is owed again, and the customer is on a
credit stop (seed 001: staff and unit managers are told, so that no new service is given on
credit).

No name or address is kept here: the ledger is read by many roles, and a protected identity must
never leak into a read model (domain.md §2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyCaseStatus
from fordra.contracts.dunning import (
    ClaimWrittenDown,
    ClaimWrittenOff,
    ReferenceRateAdded,
    WriteDownRecovered,
    WriteOffReason,
)
from fordra.contracts.invoicing import (
    CreditNoteIssued,
    CustomerRegistered,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
    LateInterestHeld,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
    SmallAmountDeferred,
    SmallAmountsInvoiced,
)
from fordra.contracts.payments import (
    CREDIT_STREAM_PREFIX,
    AutogiroDebitFailed,
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
)
from fordra.contracts.utility_disconnect import (
    DisconnectionCaseBlock,
    DisconnectionCaseChanged,
    DisconnectionCaseStatus,
    DisconnectionCaseStep,
    Utility,
)
from fordra.kernel.clock import STOCKHOLM
from fordra.kernel.dated import Dated
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.late_interest import (
    STATUTORY_MARGIN_POINTS,
    CapitalChange,
    interest_start,
    late_interest,
    reference_rate_table,
    total_ore,
)
from fordra.kernel.projection import Projection, Sums, insert_many, upsert, upsert_many
from fordra.projections.application.ledger_as_of import (
    AccountTotals,
    AsOfFacts,
    ClaimAsOf,
    claim_as_of,
    credit_as_of,
    declare_as_of_tables,
    interest_row,
    read_claims_as_of,
    totals_of,
)
from fordra.projections.domain.ledger_status import (
    CreditStopReason,
    InvoiceStatus,
    credit_stop_reason,
    invoice_status,
)

# The customer's credit (an advance, förskott): recorded adds, applied / refunded / reversed take
# away, counted only on the customer's credit stream (CREDIT_STREAM_PREFIX, the contract's).
CREDIT_EVENTS = (
    CustomerCreditRecorded,
    CustomerCreditApplied,
    CustomerCreditRefunded,
    CustomerCreditReversed,
)


# The events ``_apply_change`` changes the tables for; the ledger reads every other event and
# leaves the tables as they are.
_CHANGING = frozenset(
    kind.event_type
    for kind in (
        CreditNoteIssued,
        InvoiceCancelled,
        DueDatePostponed,
        DeferralGranted,
        InvoiceDisputed,
        DisputeResolved,
        ProtectedIdentityMarked,
        ProtectedIdentityCleared,
        *CREDIT_EVENTS,
        AutogiroDebitFailed,
        SmallAmountDeferred,
        LateInterestHeld,
        SmallAmountsInvoiced,
        ReferenceRateAdded,
    )
)
# Dunning's write-downs and write-offs and the agency's case changes: each changes a table of
# its own alone.
_OWN_TABLES = frozenset(
    kind.event_type
    for kind in (ClaimWrittenDown, WriteDownRecovered, ClaimWrittenOff, AgencyCaseChanged)
)
# Logs read for a few events alone, the rest not even loaded: the agency gateway's messages,
# webhooks and the payments it reports (payments books them, and the ledger reads them from
# there); dunning's stream per invoice (the ledger follows it for the reference rates and the
# write-downs and write-offs); the disconnection procedure's own events (its steps, letters,
# index and the board's queue, some sealed), which DisconnectionCaseChanged pictures.
_UNREAD = frozenset({"agency-gateway", "dunning", "utility-disconnect"})


class CustomerLedgerProjection(Projection):
    name: ClassVar[str] = "customer_ledger"
    # Dunning for the reference rates an admin adds (late interest, domain.md §3); the agency
    # gateway for where a claim at the agency stands (issue 15, domain.md §5); utility
    # disconnection for its cases (issue 16: "the ledger shows the whole process").
    upstreams: ClassVar[tuple[str, ...]] = (
        "invoicing",
        "payments",
        "dunning",
        "agency-gateway",
        "utility-disconnect",
    )

    def __init__(
        self, registry: EventRegistry, margin_points: Dated[Decimal] = STATUTORY_MARGIN_POINTS
    ) -> None:
        # Events are read through the registry so that old schema versions are upcast.
        self.registry = registry
        # Räntelagen 6 §: the reference rate + 8 points, a dated setting (dunning's too).
        self.margin_points = margin_points

    def declare(self, metadata: MetaData) -> list[Table]:
        self.customers = Table(
            "ledger_customers",
            metadata,
            Column("customer_id", String(64), primary_key=True),
            Column("tenant", String(100), nullable=False),
            Column("kind", String(20), nullable=False),
            Column("protected_identity", Boolean, nullable=False),
        )
        self.invoices = Table(
            "ledger_invoices",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("invoice_number", String(20), nullable=False),
            Column("ocr", String(25), nullable=False, unique=True),
            Column("department", String(64), nullable=False),
            Column("service_type", String(40), nullable=False),
            Column("invoice_date", Date, nullable=False),
            Column("due_date", Date, nullable=False),
            Column("total_ore", BigInteger, nullable=False),
            Column("credited_ore", BigInteger, nullable=False, default=0),
            Column("open_ore", BigInteger, nullable=False),
            Column("original_due_date", Date, nullable=False),
            Column("deferred_until", Date),
            Column("cancelled", Boolean, nullable=False, default=False),
            Column("disputed", Boolean, nullable=False, default=False),
        )
        # What payments says, kept apart from what invoicing says and added up by key, so that
        # the ledger is the same whichever context's events are applied first (a rebuild replays
        # both logs; no order exists between them).
        self.payments = Table(
            "ledger_invoice_payments",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("paid_ore", BigInteger, nullable=False, default=0),
            Column("interest_and_fees_paid_ore", BigInteger, nullable=False, default=0),
            # An Autogiro debit failed: the invoice is back in dunning (issue: payments).
            Column("autogiro_failed", Boolean, nullable=False, default=False),
        )
        # Interest and fees invoiced as lines of their own (late interest on the next invoice):
        # what of the invoice's total is paid as interest and fees rather than capital. A table
        # of its own, so that a read-model database made before it gains it without a migration
        # (an invoice without such lines has no row).
        self.charges = Table(
            "ledger_invoice_charges",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("charges_ore", BigInteger, nullable=False),
        )
        self.credit = Table(
            "ledger_customer_credit",
            metadata,
            Column("customer_id", String(64), primary_key=True),
            # An advance (förskott): what the customer paid beyond their open claims.
            Column("credit_ore", BigInteger, nullable=False, default=0),
        )
        self.held = Table(
            "ledger_held_small_amounts",
            metadata,
            Column("held_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("department", String(64), nullable=False),
            Column("service_type", String(40), nullable=False),
            Column("invoice_date", Date, nullable=False),
            Column("total_ore", BigInteger, nullable=False),
            Column("invoiced_on_invoice", String(64)),
        )
        self.credit_notes = Table(
            "ledger_credit_notes",
            metadata,
            Column("credit_note_id", String(64), primary_key=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("credit_note_number", String(20), nullable=False),
            Column("issued_on", Date, nullable=False),
            Column("total_ore", BigInteger, nullable=False),
        )
        # Late interest (domain.md §3), in tables of their own so that a read-model database made
        # before them gains them without a migration (a rebuild fills them from the logs): the
        # capital paid per invoice and business day (a payment lowers the capital bearing
        # interest from the day after), what credit notes took of the capital and the deferral's
        # interest start, and the reference rates an admin added.
        self.capital_paid = Table(
            "ledger_capital_paid",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("paid_on", Date, primary_key=True),
            Column("amount_ore", BigInteger, nullable=False),
        )
        self.interest_terms = Table(
            "ledger_interest_terms",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("interest_from", Date),
            Column("capital_credited_ore", BigInteger, nullable=False, default=0),
        )
        self.reference_rates = Table(
            "ledger_reference_rates",
            metadata,
            Column("valid_from", Date, primary_key=True),
            Column("rate_percent", String(10), nullable=False),
        )
        # Where a claim handed to the agency stands and the deadline it waits for (issue 15): a
        # table of its own, so that a read-model database made before it gains it without a
        # migration.
        self.agency = Table(
            "ledger_agency_cases",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("status", String(30), nullable=False),
            Column("deadline", Date),
        )
        # Write-downs and write-offs (domain.md §4), dunning's: a table of its own, so that a
        # read-model database made before it gains it without a migration, and changed by
        # dunning's events alone, so that the ledger is the same whichever log is applied first.
        self.write_downs = Table(
            "ledger_write_downs",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            # The first write-down's day and what of the write-downs still stands (written down
            # less recovered: the claim's share of the value adjustment, 1592).
            Column("written_down_on", Date),
            Column("written_down_ore", BigInteger, nullable=False, default=0),
            Column("written_off_on", Date),
            Column("written_off_ore", BigInteger, nullable=False, default=0),
            Column("write_off_reason", String(20)),
            # Text: the contract bounds neither, and PostgreSQL would refuse a longer value.
            Column("write_off_decision_reference", Text),
        )
        # Disconnection cases (issue 16, domain.md §6 and §7), as each DisconnectionCaseChanged
        # pictures them, one row per case and business day of a change (the day's last
        # picture): the latest row is the case today, the latest on or before a date the case
        # as it stood that day (issue 17). Tables of their own, changed by the utility
        # disconnection log alone, so that the order among the logs does not matter.
        self.disconnection_cases = Table(
            "ledger_disconnection_cases",
            metadata,
            Column("case_id", String(64), primary_key=True),
            Column("changed_on", Date, primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("supply_point_id", String(64), nullable=False),
            Column("utility", String(20), nullable=False),
            Column("status", String(20), nullable=False),
            Column("opened_on", Date, nullable=False),
            Column("served_on", Date),
            Column("earliest_disconnection_on", Date),
            Column("latest_disconnection_on", Date),
            Column("demand_ore", BigInteger, nullable=False),
            Column("costs_ore", BigInteger, nullable=False),
            # The steps and the blocks in force, as the event has them (JSON text).
            Column("steps", Text, nullable=False),
            Column("blocks", Text, nullable=False),
        )
        # The claims a case's demands covered, and since when (the first picture naming them).
        self.disconnection_claims = Table(
            "ledger_disconnection_claims",
            metadata,
            Column("case_id", String(64), primary_key=True),
            Column("invoice_id", String(64), primary_key=True),
            Column("covered_on", Date, nullable=False),
        )
        # The dated facts the ledger as of a date folds (issue 17; ledger_as_of.py).
        self.claim_log, self.allocations, self.credit_by_day = declare_as_of_tables(metadata)
        return [
            self.customers,
            self.invoices,
            self.held,
            self.credit_notes,
            self.payments,
            self.charges,
            self.credit,
            self.capital_paid,
            self.interest_terms,
            self.reference_rates,
            self.agency,
            self.write_downs,
            self.disconnection_cases,
            self.disconnection_claims,
            self.claim_log,
            self.allocations,
            self.credit_by_day,
        ]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """The high-volume events set-based: the customers registered, the invoices issued and
        their charges inserted with one statement per table, and the payments allocated summed
        per invoice in memory, then added with one upsert (additions to other columns and
        tables than the inserts, so the order among them does not matter). Any other event
        writes what is gathered so far, then applies itself, so the order the log gives is
        kept wherever it matters."""
        customers: list[dict[str, Any]] = []
        invoices: list[dict[str, Any]] = []
        charges: list[dict[str, Any]] = []
        paid = Sums(
            self.payments,
            ["invoice_id"],
            add=["paid_ore", "interest_and_fees_paid_ore"],
            defaults={"autogiro_failed": False},
        )
        paid_by_day = Sums(self.capital_paid, ["invoice_id", "paid_on"], add=["amount_ore"])
        pictures = _CasePictures(self.disconnection_cases, self.disconnection_claims)
        dated = AsOfFacts(self.registry, self.claim_log, self.allocations, self.credit_by_day)

        async def flush() -> None:
            await insert_many(conn, self.customers, customers)
            await insert_many(conn, self.invoices, invoices)
            await insert_many(conn, self.charges, charges)
            await paid.flush(conn)
            await paid_by_day.flush(conn)
            for gathered in (customers, invoices, charges):
                gathered.clear()
            await pictures.flush(conn)
            await dated.flush(conn)

        for event in events:
            # Additions and inserts of tables of their own: the order does not matter.
            dated.gather(event)
            if event.event_type == CustomerRegistered.event_type:
                c = self.registry.load_as(event, CustomerRegistered)
                customers.append(
                    {
                        "customer_id": c.customer_id,
                        "tenant": event.tenant,
                        "kind": c.kind,
                        "protected_identity": c.protected_identity,
                    }
                )
            elif event.event_type == InvoiceIssued.event_type:
                i = self.registry.load_as(event, InvoiceIssued)
                invoices.append(
                    {
                        "invoice_id": i.invoice_id,
                        "customer_id": i.customer_id,
                        "invoice_number": i.invoice_number,
                        "ocr": i.ocr,
                        "department": i.department,
                        "service_type": i.service_type,
                        "invoice_date": i.invoice_date,
                        "due_date": i.due_date,
                        "original_due_date": i.due_date,
                        "total_ore": i.total_ore,
                        "credited_ore": 0,
                        "open_ore": i.total_ore,
                        "deferred_until": None,
                        "cancelled": False,
                        "disputed": False,
                    }
                )
                charged = sum(line.net_ore for line in i.lines if line.kind != "capital")
                if charged:
                    charges.append({"invoice_id": i.invoice_id, "charges_ore": charged})
            elif event.event_type == PaymentAllocated.event_type and self.registry.knows(
                event.event_type
            ):
                a = self.registry.load_as(event, PaymentAllocated)
                # Interest and fees are paid apart from the invoice's capital (domain.md §3).
                column = "paid_ore" if a.component == "capital" else "interest_and_fees_paid_ore"
                paid.add((a.invoice_id,), column, a.amount_ore)
                dated.allocated(event, a)
                if a.component == "capital":
                    # The business date it was booked on, Swedish time (late interest's base).
                    day = event.occurred_at.astimezone(STOCKHOLM).date()
                    paid_by_day.add((a.invoice_id, day), "amount_ore", a.amount_ore)
            elif event.event_type in _CHANGING:
                await flush()
                await self._apply_change(conn, event)
            elif event.event_type == DisconnectionCaseChanged.event_type:
                pictures.gather(self.registry.load_as(event, DisconnectionCaseChanged))
            elif event.event_type in _OWN_TABLES and self.registry.knows(event.event_type):
                # Nothing gathered reads or writes their tables: no flush needed.
                await self._apply_own_table(conn, self.registry.load(event))
            elif event.context in _UNREAD:
                continue
            elif self.registry.knows(event.event_type):
                # Changes nothing here (a payment received or matched), and gathers on: but it
                # is read as one at a time would, so a payload that does not load still fails.
                self.registry.load(event)
        await flush()

    async def _apply_own_table(self, conn: AsyncConnection, e: Event) -> None:
        """Dunning's write-downs and write-offs, the agency's case changes: each its own table."""
        if isinstance(e, AgencyCaseChanged):
            await self._apply_agency(conn, e)
        else:
            assert isinstance(e, ClaimWrittenDown | WriteDownRecovered | ClaimWrittenOff)
            await self._apply_write_down(conn, e)

    async def _apply_agency(self, conn: AsyncConnection, e: AgencyCaseChanged) -> None:
        """The claim's status at the agency and its deadline (domain.md §5), as the latest step
        says; news of our own delivery never moves back a case the agency has opened."""
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        stmt = insert(self.agency).values(
            invoice_id=e.invoice_id, status=e.status, deadline=e.deadline
        )
        changes: dict[str, Any] = {"status": e.status, "deadline": e.deadline}
        where = None
        if e.status in ("queued", "delivered"):
            where = self.agency.c.status.in_(("queued", "delivered"))
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["invoice_id"], set_=changes, where=where)
        )

    async def _apply_change(self, conn: AsyncConnection, event: Envelope) -> None:
        if not self.registry.knows(event.event_type):
            return
        e = self.registry.load(event)
        inv = self.invoices
        this = inv.c.invoice_id == getattr(e, "invoice_id", None)
        ev: Any = e  # each entry below reads the fields of its own event type
        changes: dict[type, Any] = {
            CreditNoteIssued: lambda: {
                "credited_ore": inv.c.credited_ore + ev.total_ore,
                "open_ore": inv.c.open_ore - ev.total_ore,
            },
            InvoiceCancelled: lambda: {"cancelled": True, "open_ore": 0},
            DueDatePostponed: lambda: {"due_date": ev.due_date},
            DeferralGranted: lambda: {"deferred_until": ev.deferred_until},
            InvoiceDisputed: lambda: {"disputed": True},
            DisputeResolved: lambda: {"disputed": False},
        }
        if isinstance(e, CreditNoteIssued):
            # What the credit took of the capital bore no interest (dunning's capital_of).
            capital = e.total_ore - sum(ln.net_ore for ln in e.lines if ln.kind != "capital")
            key = {"invoice_id": e.invoice_id}
            await upsert(conn, self.interest_terms, key, add={"capital_credited_ore": capital})
        if isinstance(e, DeferralGranted):
            key = {"invoice_id": e.invoice_id}
            await upsert(
                conn,
                self.interest_terms,
                key,
                add={"capital_credited_ore": 0},
                set_={"interest_from": e.interest_from},
            )
        if isinstance(e, CreditNoteIssued):
            await conn.execute(
                self.credit_notes.insert().values(
                    credit_note_id=e.credit_note_id,
                    invoice_id=e.invoice_id,
                    credit_note_number=e.credit_note_number,
                    issued_on=e.issued_on,
                    total_ore=e.total_ore,
                )
            )
        if type(e) in changes:
            await conn.execute(update(inv).where(this).values(**changes[type(e)]()))
        elif isinstance(e, ProtectedIdentityMarked | ProtectedIdentityCleared):
            await conn.execute(
                update(self.customers)
                .where(self.customers.c.customer_id == e.customer_id)
                .values(protected_identity=isinstance(e, ProtectedIdentityMarked))
            )
        elif isinstance(e, CREDIT_EVENTS) and event.stream_id.startswith(CREDIT_STREAM_PREFIX):
            # Only the customer's credit stream counts: logs written before issue 9 also carried
            # a copy of CustomerCreditRecorded on the payment's stream (counted twice then).
            sign = 1 if isinstance(e, CustomerCreditRecorded) else -1
            key = {"customer_id": e.customer_id}
            await upsert(conn, self.credit, key, add={"credit_ore": sign * e.amount_ore})
        elif isinstance(e, AutogiroDebitFailed) and e.invoice_id is not None:
            key = {"invoice_id": e.invoice_id}
            await upsert(conn, self.payments, key, set_={"autogiro_failed": True})
        elif isinstance(e, SmallAmountDeferred):
            await conn.execute(
                self.held.insert().values(
                    held_id=e.held_id,
                    customer_id=e.customer_id,
                    department=e.department,
                    service_type=e.service_type,
                    invoice_date=e.invoice_date,
                    total_ore=e.total_ore,
                )
            )
        elif isinstance(e, LateInterestHeld):
            await conn.execute(
                self.held.insert().values(
                    held_id=e.held_id,
                    customer_id=e.customer_id,
                    department="dunning",
                    service_type=e.line.service_type,
                    invoice_date=event.occurred_at.date(),
                    total_ore=e.line.net_ore,
                )
            )
        elif isinstance(e, ReferenceRateAdded):
            await upsert(
                conn,
                self.reference_rates,
                {"valid_from": e.valid_from},
                set_={"rate_percent": e.rate_percent},
            )
        elif isinstance(e, SmallAmountsInvoiced):
            await conn.execute(
                update(self.held)
                .where(self.held.c.held_id.in_(e.held_ids))
                .values(invoiced_on_invoice=e.invoice_id)
            )

    async def _apply_write_down(
        self, conn: AsyncConnection, e: ClaimWrittenDown | WriteDownRecovered | ClaimWrittenOff
    ) -> None:
        """domain.md §4: a write-down adds to what stands of it (its first day kept), capital
        recovered takes away (a payment taken back adds again), a write-off notes the day, the
        amount, the reason and the decision."""
        w = self.write_downs
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        new: dict[str, Any] = {"invoice_id": e.invoice_id, "customer_id": e.customer_id}
        changes: dict[str, Any]
        if isinstance(e, ClaimWrittenDown):
            new |= {"written_down_on": e.written_down_on, "written_down_ore": e.amount_ore}
            changes = {
                "written_down_on": func.coalesce(w.c.written_down_on, e.written_down_on),
                "written_down_ore": w.c.written_down_ore + e.amount_ore,
            }
        elif isinstance(e, WriteDownRecovered):
            new |= {"written_down_ore": -e.amount_ore}
            changes = {"written_down_ore": w.c.written_down_ore - e.amount_ore}
        else:
            # A further write-off (of a payment the bank took back since) adds to the first.
            changes = {
                "written_off_on": e.written_off_on,
                "written_off_ore": w.c.written_off_ore + e.amount_ore,
                "write_off_reason": e.reason,
                "write_off_decision_reference": e.decision_reference,
            }
            new |= changes | {"written_off_ore": e.amount_ore, "written_down_ore": 0}
        stmt = insert(w).values(**{"written_down_ore": 0, "written_off_ore": 0, **new})
        await conn.execute(stmt.on_conflict_do_update(index_elements=["invoice_id"], set_=changes))


class _CasePictures:
    """A batch's disconnection case pictures (issue 16), written by ``flush`` with one upsert
    (a later picture of the same case and business day replaces an earlier one: the log's order)
    and the claims they cover with one insert that keeps the first day a claim was covered."""

    def __init__(self, cases: Table, claims: Table) -> None:
        self.cases, self.claims = cases, claims
        self.pictures: dict[tuple[str, date], dict[str, Any]] = {}
        self.covered: dict[tuple[str, str], date] = {}

    def gather(self, d: DisconnectionCaseChanged) -> None:
        self.pictures[(d.case_id, d.changed_on)] = _picture_row(d)
        for invoice_id in d.invoice_ids:
            self.covered.setdefault((d.case_id, invoice_id), d.changed_on)

    async def flush(self, conn: AsyncConnection) -> None:
        columns = [c.name for c in self.cases.c if not c.primary_key]
        await upsert_many(
            conn, self.cases, ["case_id", "changed_on"], list(self.pictures.values()), set_=columns
        )
        if self.covered:
            insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            stmt = insert(self.claims).on_conflict_do_nothing(
                index_elements=["case_id", "invoice_id"]
            )
            rows = [
                {"case_id": case_id, "invoice_id": invoice_id, "covered_on": on}
                for (case_id, invoice_id), on in self.covered.items()
            ]
            await conn.execute(stmt, rows)
        self.pictures.clear()
        self.covered.clear()


def _picture_row(d: DisconnectionCaseChanged) -> dict[str, Any]:
    return {
        "case_id": d.case_id,
        "changed_on": d.changed_on,
        "customer_id": d.customer_id,
        "supply_point_id": d.supply_point_id,
        "utility": d.utility,
        "status": d.status,
        "opened_on": d.opened_on,
        "served_on": d.served_on,
        "earliest_disconnection_on": d.earliest_disconnection_on,
        "latest_disconnection_on": d.latest_disconnection_on,
        "demand_ore": d.demand_ore,
        "costs_ore": d.costs_ore,
        "steps": json.dumps([s.model_dump(mode="json") for s in d.steps]),
        "blocks": json.dumps([b.model_dump(mode="json") for b in d.blocks]),
    }


class LedgerDisconnectionCase(BaseModel):
    """A disconnection case of the customer's (issue 16, domain.md §6 and §7): where it stands,
    each step with its day, the service and the dates it gives, the blocks in force, what the
    demand asks and the claims it covers. No note, name or address (domain.md §2)."""

    case_id: str
    supply_point_id: str
    utility: Utility
    status: DisconnectionCaseStatus
    opened_on: date
    steps: list[DisconnectionCaseStep]
    served_on: date | None
    earliest_disconnection_on: date | None
    latest_disconnection_on: date | None
    blocks: list[DisconnectionCaseBlock]
    demand_ore: int
    costs_ore: int
    invoice_ids: list[str]


class LedgerInvoice(BaseModel):
    invoice_id: str
    invoice_number: str
    ocr: str
    department: str
    service_type: str
    invoice_date: date
    due_date: date
    total_ore: int
    open_ore: int
    status: InvoiceStatus
    credited_ore: int
    paid_ore: int
    interest_and_fees_paid_ore: int
    original_due_date: date
    deferred_until: date | None
    disputed: bool
    autogiro_failed: bool
    # Late interest accrued as of the business date (domain.md §3): to the payment for a paid
    # invoice (what dunning charges on the next invoice), 0 for a cancelled one.
    interest_ore: int
    # Where the claim stands at the collection agency and the deadline its step waits for (an
    # objection's 3 weeks, a judgment's month for reinstatement: domain.md §5); None when it was
    # never handed over.
    agency_status: AgencyCaseStatus | None = None
    agency_deadline: date | None = None
    # Write-down and write-off (domain.md §4, seed 001: noted in the ledger). What of the
    # write-down still stands (written down less capital recovered; the claim's share of account
    # 1592, 0 once written off, when the value adjustment is reversed) and the first write-down's
    # day; a written-off claim's day, amount (its own component: total - credited - paid -
    # written off = open, and open is 0), reason and decision (delegation).
    written_down_ore: int = 0
    written_down_on: date | None = None
    written_off_ore: int = 0
    written_off_on: date | None = None
    write_off_reason: WriteOffReason | None = None
    write_off_decision_reference: str | None = None
    # The disconnection case covering the claim, if any (the latest opened), and its status
    # (issue 16: "the ledger shows the whole process").
    disconnection_case_id: str | None = None
    disconnection_status: DisconnectionCaseStatus | None = None


class HeldSmallAmount(BaseModel):
    held_id: str
    department: str
    service_type: str
    invoice_date: date
    total_ore: int


class CreditStop(BaseModel):
    """No new service on credit (seed 001: "Viktigt är att om möjligt förhindra att ny tjänst
    tillhandahålles med eventuell ny utebliven betalning som följd"): since the first day one of
    the customer's claims was written down or off, and why (written off when any claim is)."""

    since: date
    reason: CreditStopReason


class CustomerLedger(BaseModel):
    customer_id: str
    kind: str
    balance_ore: int
    overdue_ore: int
    credit_ore: int
    invoices: list[LedgerInvoice]
    held_small_amounts: list[HeldSmallAmount]
    # Any claim of the customer's written down or off, any department's: a department reading
    # its own claims is told too (seed 001), of the fact alone, not the other claims.
    credit_stop: CreditStop | None = Field(default=None)
    # The customer's disconnection cases, the oldest first (issue 16); a department reading
    # its own claims sees the cases that cover one of them.
    disconnection_cases: list[LedgerDisconnectionCase] = Field(default_factory=list)


async def department_has_invoiced(
    conn: AsyncConnection, projection: CustomerLedgerProjection, customer_id: str, department: str
) -> bool:
    """Whether ``department`` has booked a claim on the customer (an invoice, or a small amount
    held for a later invoice): what, besides having registered them, lets a department read a
    customer (issue 10). Two lookups by the customer's index, never a scan."""
    for table in (projection.invoices, projection.held):
        found = await conn.execute(
            select(table.c.customer_id)
            .where(table.c.customer_id == customer_id, table.c.department == department)
            .limit(1)
        )
        if found.first() is not None:
            return True
    return False


async def read_customer_ledger(
    conn: AsyncConnection,
    projection: CustomerLedgerProjection,
    customer_id: str,
    today: date,
    *,
    department: str | None = None,
) -> CustomerLedger | None:
    customer = (
        await conn.execute(
            select(projection.customers).where(projection.customers.c.customer_id == customer_id)
        )
    ).first()
    if customer is None:
        return None
    inv, pay, chg = projection.invoices, projection.payments, projection.charges
    terms = projection.interest_terms
    agency = projection.agency
    wd = projection.write_downs
    query = (
        select(
            inv,
            func.coalesce(pay.c.paid_ore, 0).label("paid_ore"),
            func.coalesce(pay.c.interest_and_fees_paid_ore, 0).label("interest_and_fees_paid_ore"),
            func.coalesce(pay.c.autogiro_failed, False).label("autogiro_failed"),
            func.coalesce(chg.c.charges_ore, 0).label("charges_ore"),
            terms.c.interest_from,
            func.coalesce(terms.c.capital_credited_ore, 0).label("capital_credited_ore"),
            agency.c.status.label("agency_status"),
            agency.c.deadline.label("agency_deadline"),
            wd.c.written_down_on,
            func.coalesce(wd.c.written_down_ore, 0).label("written_down_ore"),
            wd.c.written_off_on,
            func.coalesce(wd.c.written_off_ore, 0).label("written_off_ore"),
            wd.c.write_off_reason,
            wd.c.write_off_decision_reference,
        )
        .select_from(
            inv.outerjoin(pay, pay.c.invoice_id == inv.c.invoice_id)
            .outerjoin(chg, chg.c.invoice_id == inv.c.invoice_id)
            .outerjoin(terms, terms.c.invoice_id == inv.c.invoice_id)
            .outerjoin(agency, agency.c.invoice_id == inv.c.invoice_id)
            .outerjoin(wd, wd.c.invoice_id == inv.c.invoice_id)
        )
        .where(inv.c.customer_id == customer_id)
    )
    if department is not None:
        query = query.where(inv.c.department == department)
    rows = (await conn.execute(query.order_by(inv.c.due_date, inv.c.invoice_number))).all()
    interest = await _interest_of(conn, projection, customer_id, rows, today)
    cases = await read_disconnection_cases(conn, projection, customer_id)
    if department is not None:
        # A department sees the cases that cover one of its own claims, and nothing of others.
        own = {r.invoice_id for r in rows}
        cases = [c for c in cases if own.intersection(c.invoice_ids)]
    covering = covering_cases(cases)

    def open_of(r: Any) -> int:
        # Capital paid, and interest and fees paid up to what the invoice itself carries (the
        # agency may collect interest of its own on top, which pays nothing of the invoice).
        # What write-offs took is not open (domain.md §4); a payment the bank took back after
        # a write-off is owed again.
        if r.cancelled:
            return 0
        charges_paid = min(r.interest_and_fees_paid_ore, r.charges_ore)
        return max(int(r.open_ore - r.paid_ore - charges_paid - r.written_off_ore), 0)

    invoices = [
        LedgerInvoice(
            invoice_id=r.invoice_id,
            invoice_number=r.invoice_number,
            ocr=r.ocr,
            department=r.department,
            service_type=r.service_type,
            invoice_date=r.invoice_date,
            due_date=r.due_date,
            total_ore=r.total_ore,
            open_ore=open_of(r),
            credited_ore=r.credited_ore,
            paid_ore=r.paid_ore,
            interest_and_fees_paid_ore=r.interest_and_fees_paid_ore,
            original_due_date=r.original_due_date,
            deferred_until=r.deferred_until,
            disputed=r.disputed,
            autogiro_failed=r.autogiro_failed,
            interest_ore=interest.get(r.invoice_id, 0),
            agency_status=r.agency_status,
            agency_deadline=r.agency_deadline,
            # What stands of a write-down is reversed from 1592 by the write-off.
            written_down_ore=0 if r.written_off_on is not None else r.written_down_ore,
            written_down_on=r.written_down_on,
            written_off_ore=r.written_off_ore,
            written_off_on=r.written_off_on,
            write_off_reason=r.write_off_reason,
            write_off_decision_reference=r.write_off_decision_reference,
            disconnection_case_id=(
                covering[r.invoice_id].case_id if r.invoice_id in covering else None
            ),
            disconnection_status=(
                covering[r.invoice_id].status if r.invoice_id in covering else None
            ),
            status=invoice_status(
                open_ore=open_of(r),
                total_ore=r.total_ore,
                credited_ore=r.credited_ore,
                due_date=r.due_date,
                today=today,
                cancelled=r.cancelled,
                disputed=r.disputed,
                deferred_until=r.deferred_until,
                written_down=r.written_down_on is not None,
                written_off=r.written_off_on is not None,
            ),
        )
        for r in rows
    ]
    held_query = select(projection.held).where(
        projection.held.c.customer_id == customer_id,
        projection.held.c.invoiced_on_invoice.is_(None),
    )
    if department is not None:
        held_query = held_query.where(projection.held.c.department == department)
    held = [
        HeldSmallAmount(
            held_id=h.held_id,
            department=h.department,
            service_type=h.service_type,
            invoice_date=h.invoice_date,
            total_ore=h.total_ore,
        )
        for h in (await conn.execute(held_query.order_by(projection.held.c.invoice_date))).all()
    ]
    return CustomerLedger(
        customer_id=customer_id,
        kind=customer.kind,
        balance_ore=sum(i.open_ore for i in invoices),
        credit_ore=await _credit_of(conn, projection, customer_id),
        # A written-down claim is past its due date too (it went through collection).
        overdue_ore=sum(
            i.open_ore
            for i in invoices
            if i.status == "overdue" or (i.status == "written_down" and today > i.due_date)
        ),
        invoices=invoices,
        held_small_amounts=held,
        credit_stop=await _credit_stop_of(conn, projection, customer_id),
        disconnection_cases=cases,
    )


def covering_cases(cases: Sequence[LedgerDisconnectionCase]) -> dict[str, LedgerDisconnectionCase]:
    """The case each claim is covered by: the latest opened, when a new breach opened another."""
    covering: dict[str, LedgerDisconnectionCase] = {}
    for case in sorted(cases, key=lambda c: (c.opened_on, c.case_id)):
        for invoice_id in case.invoice_ids:
            covering[invoice_id] = case
    return covering


async def read_disconnection_cases(
    conn: AsyncConnection,
    projection: CustomerLedgerProjection,
    customer_id: str,
    as_of: date | None = None,
) -> list[LedgerDisconnectionCase]:
    """The customer's disconnection cases as they stand (or stood at the end of ``as_of``): each
    case's latest picture on or before the day, and the claims it had covered by then; cases
    opened later are not there yet. Two lookups by the customer's index."""
    t, claims = projection.disconnection_cases, projection.disconnection_claims
    latest = select(t.c.case_id, func.max(t.c.changed_on).label("changed_on")).where(
        t.c.customer_id == customer_id
    )
    if as_of is not None:
        latest = latest.where(t.c.changed_on <= as_of)
    last = latest.group_by(t.c.case_id).subquery()
    rows = (
        await conn.execute(
            select(t)
            .join(last, and_(t.c.case_id == last.c.case_id, t.c.changed_on == last.c.changed_on))
            .order_by(t.c.opened_on, t.c.case_id)
        )
    ).all()
    if not rows:
        return []
    covered_query = select(claims.c.case_id, claims.c.invoice_id).where(
        claims.c.case_id.in_([r.case_id for r in rows])
    )
    if as_of is not None:
        covered_query = covered_query.where(claims.c.covered_on <= as_of)
    invoices: dict[str, list[str]] = {}
    for c in (
        await conn.execute(covered_query.order_by(claims.c.covered_on, claims.c.invoice_id))
    ).all():
        invoices.setdefault(c.case_id, []).append(c.invoice_id)
    return [
        LedgerDisconnectionCase(
            case_id=r.case_id,
            supply_point_id=r.supply_point_id,
            utility=r.utility,
            status=r.status,
            opened_on=r.opened_on,
            steps=json.loads(r.steps),
            served_on=r.served_on,
            earliest_disconnection_on=r.earliest_disconnection_on,
            latest_disconnection_on=r.latest_disconnection_on,
            blocks=json.loads(r.blocks),
            demand_ore=r.demand_ore,
            costs_ore=r.costs_ore,
            invoice_ids=invoices.get(r.case_id, []),
        )
        for r in rows
    ]


async def _credit_stop_of(
    conn: AsyncConnection, projection: CustomerLedgerProjection, customer_id: str
) -> CreditStop | None:
    """The customer's credit stop (seed 001), from every claim of theirs whichever department's
    written down or off, as dunning's credit-stop list has them: a write-down recovered in full
    still counts (the customer did not pay on time, and no event lifts a stop). One lookup by
    the customer's index."""
    w = projection.write_downs
    counted = (
        await conn.execute(
            select(w.c.written_down_on, w.c.written_off_on).where(
                w.c.customer_id == customer_id,
                or_(w.c.written_down_on.is_not(None), w.c.written_off_on.is_not(None)),
            )
        )
    ).all()
    if not counted:
        return None
    # The stop began with the claim's first write-down, or its write-off when it had none.
    since = min(d for r in counted for d in (r.written_down_on, r.written_off_on) if d is not None)
    written_off = any(r.written_off_on is not None for r in counted)
    return CreditStop(since=since, reason=credit_stop_reason(written_off=written_off))


async def _interest_of(
    conn: AsyncConnection,
    projection: CustomerLedgerProjection,
    customer_id: str,
    rows: Sequence[Any],
    today: date,
) -> dict[str, int]:
    """The late interest each invoice has accrued by ``today`` (domain.md §3), with the rules
    dunning charges by (``fordra.kernel.late_interest``). Two lookups: the customer's capital
    payments by its invoices' index, and the few rates an admin added."""
    paid = projection.capital_paid
    ids = projection.invoices.c.invoice_id
    of_customer = select(ids).where(projection.invoices.c.customer_id == customer_id)
    payments: dict[str, list[CapitalChange]] = {}
    for p in (
        await conn.execute(select(paid).where(paid.c.invoice_id.in_(of_customer.scalar_subquery())))
    ).all():
        if p.paid_on <= today:  # the ledger as of a past day knows nothing after it
            payments.setdefault(p.invoice_id, []).append(CapitalChange(p.paid_on, -p.amount_ore))
    added = projection.reference_rates
    rates = reference_rate_table(
        (r.valid_from, Decimal(r.rate_percent)) for r in (await conn.execute(select(added))).all()
    )
    interest: dict[str, int] = {}
    for r in rows:
        if r.cancelled:
            continue
        capital = int(r.total_ore - r.charges_ore - r.capital_credited_ore)
        # A written-off claim is closed: it accrues nothing after the write-off (domain.md §4).
        until = today if r.written_off_on is None else min(today, r.written_off_on)
        periods = late_interest(
            max(capital, 0),
            payments.get(r.invoice_id, []),
            start=interest_start(r.due_date, r.interest_from),
            until=until,
            reference_rates=rates,
            margin_points=projection.margin_points,
        )
        interest[r.invoice_id] = total_ore(periods)
    return interest


async def _credit_of(conn: AsyncConnection, projection: CustomerLedgerProjection, cid: str) -> int:
    t = projection.credit
    value = (
        await conn.execute(select(t.c.credit_ore).where(t.c.customer_id == cid))
    ).scalar_one_or_none()
    return int(value or 0)


class CustomerLedgerAsOf(BaseModel):
    """The customer ledger as it stood at the end of ``as_of`` (issue 17): the claims invoiced by
    then, each as it stood, the customer's credit, the disconnection cases, and the customer's
    part of the accounts of domain.md §10."""

    customer_id: str
    kind: str
    as_of: date
    claims: list[ClaimAsOf]
    balance_ore: int
    credit_ore: int
    totals: AccountTotals
    disconnection_cases: list[LedgerDisconnectionCase]


async def read_customer_ledger_as_of(
    conn: AsyncConnection,
    projection: CustomerLedgerProjection,
    customer_id: str,
    as_of: date,
    *,
    department: str | None = None,
) -> CustomerLedgerAsOf | None:
    """The ledger as of a date: the claims of ``ledger_invoices`` invoiced on or before it,
    folded from their dated facts (ledger_as_of.py), their late interest by the day with the
    payments booked by then, and the cases as their last picture on or before it showed them."""
    customer = (
        await conn.execute(
            select(projection.customers).where(projection.customers.c.customer_id == customer_id)
        )
    ).first()
    if customer is None:
        return None
    inv, chg = projection.invoices, projection.charges
    query = (
        select(inv, func.coalesce(chg.c.charges_ore, 0).label("charges_ore"))
        .select_from(inv.outerjoin(chg, chg.c.invoice_id == inv.c.invoice_id))
        .where(inv.c.customer_id == customer_id, inv.c.invoice_date <= as_of)
    )
    if department is not None:
        query = query.where(inv.c.department == department)
    rows = (await conn.execute(query.order_by(inv.c.invoice_date, inv.c.invoice_number))).all()
    folded = await read_claims_as_of(
        conn,
        invoices=rows,
        log=projection.claim_log,
        allocations=projection.allocations,
        as_of=as_of,
    )
    interest = await _interest_of(
        conn,
        projection,
        customer_id,
        [interest_row(r, folded[r.invoice_id][0]) for r in rows],
        as_of,
    )
    cases = await read_disconnection_cases(conn, projection, customer_id, as_of)
    if department is not None:
        own = {r.invoice_id for r in rows}
        cases = [c for c in cases if own.intersection(c.invoice_ids)]
    covering = covering_cases(cases)
    claims = []
    for r in rows:
        fold, fees, payments = folded[r.invoice_id]
        claim = claim_as_of(
            r, fold, fees, payments, interest_ore=interest.get(r.invoice_id, 0), as_of=as_of
        )
        if r.invoice_id in covering:
            case = covering[r.invoice_id]
            claim = claim.model_copy(
                update={"disconnection_case_id": case.case_id, "disconnection_status": case.status}
            )
        claims.append(claim)
    credit = await credit_as_of(conn, projection.credit_by_day, customer_id, as_of)
    return CustomerLedgerAsOf(
        customer_id=customer_id,
        kind=customer.kind,
        as_of=as_of,
        claims=claims,
        balance_ore=sum(c.open_ore for c in claims),
        credit_ore=credit,
        totals=totals_of(claims, credit),
        disconnection_cases=cases,
    )
