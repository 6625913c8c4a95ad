"""The general ledger's postings (domain.md §10): one balanced voucher per event that moves
money, numbered per series in the order the events were recorded, ready for the SIE 4i export.
Built from invoicing's public events (invoices, credit notes, cancellations: series ``KF``) and
payments' (money received, placed, credited, refunded: series ``KI``, rules in
``domain/payment_postings.py``) and dunning's write-downs, their recoveries and write-offs (series
``KN``, rules in ``domain/loss_postings.py``; the rest of dunning's log posts nothing), and what
a recall costs the municipality, from the agency gateway's log (series ``KA``, the rule in
``domain/agency_postings.py``).

A voucher's id is the id of the event that caused it and its number is the next in its series in
position order. Each series is fed by one context's log, whose order is total, so a rebuild from
position 0 gives the very same vouchers and numbers whichever log is replayed first. No payments
rule reads what invoicing posted, for the same reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteDownRecovered
from fordra.contracts.invoicing import CreditNoteIssued, InvoiceCancelled, InvoiceIssued
from fordra.contracts.payments import (
    CREDIT_STREAM_PREFIX,
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
    PaymentReceived,
    RefundAttested,
    RefundRequested,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection, insert_many, upsert
from fordra.projections.domain.agency_postings import rule_agency_cost
from fordra.projections.domain.chart_of_accounts import (
    AccountingSettings,
    PostingRow,
    Voucher,
    cancellation_voucher,
    credit_note_voucher,
    invoice_voucher,
)
from fordra.projections.domain.loss_postings import (
    rule_claim_written_down,
    rule_claim_written_off,
    rule_write_down_recovered,
)
from fordra.projections.domain.payment_postings import (
    is_booked_currency,
    rule_customer_credit_applied,
    rule_customer_credit_recorded,
    rule_customer_credit_refunded,
    rule_customer_credit_reversed,
    rule_payment_allocated,
    rule_payment_received,
    rule_refund_attested,
)

# What each voucher was posted for; the invoice's own voucher is the one credit notes and a
# cancellation look up.
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
CANCELLATION = "cancellation"
PAYMENT = "payment"  # every voucher of a payments event
# Dunning's: a write-down's voucher is the one its recoveries look up.
WRITE_DOWN = "write_down"
WRITE_DOWN_RECOVERY = "write_down_recovery"
WRITE_OFF = "write_off"
AGENCY_COST = "agency_cost"  # the agency gateway's
# What invoicing posted on an invoice, which a cancellation reverses.
_INVOICING_KINDS = (INVOICE, CREDIT_NOTE, CANCELLATION)


@dataclass(frozen=True, slots=True)
class _Posting:
    """What an event that needs nothing from the tables posts: a voucher (or none) and, for a
    payment received, whether its money was booked."""

    voucher: Voucher | None
    kind: str = PAYMENT
    invoice_id: str | None = None
    payment_id: str | None = None
    invoice_number: str | None = None
    department: str | None = None
    booked: bool | None = None  # a PaymentReceived's row of gl_payments


_NOTHING = _Posting(None)


class _Invoice(NamedTuple):
    """What a credit note or a cancellation needs to know of the invoice's own voucher."""

    invoice_number: str | None
    department: str | None


class PostingsProjection(Projection):
    name: ClassVar[str] = "general_ledger"
    # Dunning's log for the write-downs and write-offs, the agency gateway's for what a recall
    # costs (issue 15). On a read-model database made before they were upstreams, their tracking
    # starts at 0, so the bus replays each whole log into its series of its own: the same
    # vouchers as a rebuild gives.
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing", "payments", "dunning", "agency-gateway")

    def __init__(self, registry: EventRegistry, settings: AccountingSettings) -> None:
        # Events are read through the registry so that old schema versions are upcast.
        self.registry = registry
        # Accounts are resolved when an event is posted, as a bookkeeper would: a changed chart
        # applies to new postings, and to old ones only if the projection is rebuilt.
        self.settings = settings

    def declare(self, metadata: MetaData) -> list[Table]:
        self.vouchers = Table(
            "gl_vouchers",
            metadata,
            Column("voucher_id", String(64), primary_key=True),  # the causing event's id
            Column("tenant", String(100), nullable=False),
            Column("series", String(10), nullable=False),
            Column("number", Integer, nullable=False),
            Column("voucher_date", Date, nullable=False, index=True),
            Column("text", String(200), nullable=False),
            Column("kind", String(20), nullable=False),
            # The invoice an invoicing voucher is for; a payments voucher's when it names one.
            Column("invoice_id", String(64), index=True),
            # The payment a payments voucher moves money of.
            Column("payment_id", String(64), index=True),
            # The invoice's number and department, kept on its voucher for the credit notes and
            # cancellation that follow (their events carry only the invoice id).
            Column("invoice_number", String(20)),
            Column("department", String(64)),
            Column("position", BigInteger, nullable=False),
            # The next number of a series is looked up for every voucher.
            Index("ix_gl_vouchers_series_number", "tenant", "series", "number"),
        )
        self.rows = Table(
            "gl_voucher_rows",
            metadata,
            Column("voucher_id", String(64), primary_key=True),
            Column("row_no", Integer, primary_key=True),
            Column("account", Integer, nullable=False),
            Column("amount_ore", BigInteger, nullable=False),
            # SIE objects as JSON pairs [[dimension, id], ...]: few rows carry any.
            Column("objects", String(500), nullable=False),
            Column("text", String(200)),
        )
        # What a refund's attest needs to know and may not say itself (an attest stored before
        # it carried the amount, payment and customer): the request, and the refunded payment's
        # currency (a foreign-currency payment was never booked, so its refund posts nothing).
        self.payments = Table(
            "gl_payments",
            metadata,
            Column("payment_id", String(64), primary_key=True),
            Column("booked", Boolean, nullable=False),
        )
        self.refunds = Table(
            "gl_refund_requests",
            metadata,
            Column("refund_id", String(64), primary_key=True),
            Column("payment_id", String(64)),
            Column("customer_id", String(64)),
            Column("amount_ore", BigInteger, nullable=False),
        )
        return [self.vouchers, self.rows, self.payments, self.refunds]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """The vouchers of a batch (an invoice run, a bank file) in one insert per table: the
        number series is read once per batch and counted on in memory, in position order as
        one at a time. An event that reads the tables (a credit note, a cancellation, a refund)
        writes what is gathered first, then posts alone."""
        vouchers: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        payments: list[dict[str, Any]] = []
        last: dict[tuple[str, str], int] = {}  # (tenant, series) -> the last number given

        async def flush() -> None:
            await insert_many(conn, self.payments, payments)
            await insert_many(conn, self.vouchers, vouchers)
            await insert_many(conn, self.rows, rows)
            for gathered in (payments, vouchers, rows):
                gathered.clear()
            last.clear()

        for event in events:
            posting = self._posting(event)
            if posting is None:
                await flush()
                await self._apply_reading(conn, event)
                continue
            if posting.booked is not None:
                payments.append({"payment_id": posting.payment_id, "booked": posting.booked})
            if posting.voucher is None:
                continue
            series = (event.tenant, posting.voucher.series)
            if series not in last:
                last[series] = await self._last_number(conn, *series)
            last[series] += 1
            head, lines = self._voucher_rows(event, posting, last[series])
            vouchers.append(head)
            rows.extend(lines)
        await flush()

    def _posting(self, event: Envelope) -> _Posting | None:
        """What ``event`` posts when that needs nothing from the tables; None when it does."""
        # Every other event posts nothing: held small amounts are not owed until invoiced (then
        # they are lines of the invoice), a dropped one never was, and the rest move no money.
        if event.event_type == InvoiceIssued.event_type:
            i = self.registry.load_as(event, InvoiceIssued)
            return _Posting(
                invoice_voucher(i, self.settings),
                kind=INVOICE,
                invoice_id=i.invoice_id,
                invoice_number=i.invoice_number,
                department=i.department,
            )
        if event.event_type in (CreditNoteIssued.event_type, InvoiceCancelled.event_type):
            return None
        if event.context == "dunning":
            return self._dunning_posting(event)
        if event.context == "agency-gateway":
            return self._agency_posting(event)
        if event.context != "payments" or not self.registry.knows(event.event_type):
            return _NOTHING
        return self._payments_posting(event)

    def _payments_posting(self, event: Envelope) -> _Posting | None:
        """The money events (domain/payment_postings.py). Events without a date of their own are
        posted on the business day they were recorded. ``PaymentMatched`` carries no amount (the
        allocations that follow do), ``PaymentUnmatched`` leaves the money where it landed (9181),
        and ``PaymentReversed`` only names the payment taken back: the bank's reversal line is a
        ``PaymentReceived`` of its own, which posts the money out, and the negated allocations and
        ``CustomerCreditReversed`` that follow post what it undoes. None of them post."""
        e = self.registry.load(event)
        day = event.occurred_at.date()
        s = self.settings
        if isinstance(e, RefundRequested | RefundAttested):
            return None
        if isinstance(e, PaymentReceived):
            return _Posting(
                rule_payment_received(e, s),
                payment_id=e.payment_id,
                booked=is_booked_currency(e.currency, s),
            )
        voucher: Voucher | None = None
        invoice_id: str | None = None
        if isinstance(e, PaymentAllocated):
            voucher, invoice_id = rule_payment_allocated(e, s, day), e.invoice_id
        elif isinstance(e, CustomerCreditRecorded):
            # The contract: "Appended once, on customer-credit-<customer> only". A copy on another
            # stream (keeping an unmatched payment as credit also puts it on the payment's) is
            # the same credit and posts nothing.
            if event.stream_id.startswith(CREDIT_STREAM_PREFIX):
                voucher, invoice_id = rule_customer_credit_recorded(e, s, day), e.invoice_id
        elif isinstance(e, CustomerCreditApplied):
            voucher, invoice_id = rule_customer_credit_applied(e, s, day), e.invoice_id
        elif isinstance(e, CustomerCreditRefunded):
            voucher = rule_customer_credit_refunded(e, s, day)
        elif isinstance(e, CustomerCreditReversed):
            voucher = rule_customer_credit_reversed(e, s, day)
        if voucher is None:
            return _NOTHING
        return _Posting(voucher, invoice_id=invoice_id, payment_id=getattr(e, "payment_id", None))

    def _agency_posting(self, event: Envelope) -> _Posting:
        """What a recall costs the municipality (domain/agency_postings.py). The rest of the
        gateway's log (its messages, webhooks, the payments it reports, which payments books)
        posts nothing, nor does a case step that costs nothing."""
        if event.event_type != AgencyCaseChanged.event_type:
            return _NOTHING
        c = self.registry.load_as(event, AgencyCaseChanged)
        return _Posting(
            rule_agency_cost(c, self.settings), kind=AGENCY_COST, invoice_id=c.invoice_id
        )

    def _dunning_posting(self, event: Envelope) -> _Posting | None:
        """Write-downs and write-offs (domain/loss_postings.py); a recovery reads its
        write-down's voucher for the invoice's number and department. Nothing else of dunning's
        log (reminders, handovers, plans, rates) moves money in the ledger."""
        if event.event_type == ClaimWrittenDown.event_type:
            d = self.registry.load_as(event, ClaimWrittenDown)
            return _Posting(
                rule_claim_written_down(d, self.settings),
                kind=WRITE_DOWN,
                invoice_id=d.invoice_id,
                invoice_number=d.invoice_number,
                department=d.department,
            )
        if event.event_type == ClaimWrittenOff.event_type:
            o = self.registry.load_as(event, ClaimWrittenOff)
            return _Posting(
                rule_claim_written_off(o, self.settings),
                kind=WRITE_OFF,
                invoice_id=o.invoice_id,
                invoice_number=o.invoice_number,
                department=o.department,
            )
        if event.event_type == WriteDownRecovered.event_type:
            return None
        return _NOTHING

    async def _apply_reading(self, conn: AsyncConnection, event: Envelope) -> None:
        """The events whose posting reads the tables, one at a time."""
        if event.event_type == CreditNoteIssued.event_type:
            c = self.registry.load_as(event, CreditNoteIssued)
            invoice = await self._invoice_voucher(conn, c.invoice_id)
            voucher = credit_note_voucher(
                c,
                self.settings,
                department=invoice.department if invoice else None,
                invoice_number=invoice.invoice_number if invoice else None,
            )
            await self._post(conn, event, voucher, kind=CREDIT_NOTE, invoice_id=c.invoice_id)
        elif event.event_type == InvoiceCancelled.event_type:
            x = self.registry.load_as(event, InvoiceCancelled)
            invoice = await self._invoice_voucher(conn, x.invoice_id)
            standing = await self._standing_rows(conn, x.invoice_id)
            reversal = cancellation_voucher(
                x,
                standing,
                self.settings,
                invoice_number=invoice.invoice_number if invoice else None,
            )
            if reversal is not None:
                await self._post(conn, event, reversal, kind=CANCELLATION, invoice_id=x.invoice_id)
            return
        if event.event_type == WriteDownRecovered.event_type:
            r = self.registry.load_as(event, WriteDownRecovered)
            # Dunning appends the write-down before any recovery, on the same log: the lookup
            # finds it in a rebuild as it did live.
            written_down = await self._invoice_voucher(conn, r.invoice_id, kind=WRITE_DOWN)
            recovery = rule_write_down_recovered(
                r,
                self.settings,
                invoice_number=written_down.invoice_number if written_down else None,
                department=written_down.department if written_down else None,
            )
            if recovery is not None:
                await self._post(
                    conn,
                    event,
                    recovery,
                    kind=WRITE_DOWN_RECOVERY,
                    invoice_id=r.invoice_id,
                    invoice_number=written_down.invoice_number if written_down else None,
                    department=written_down.department if written_down else None,
                )
            return
        e = self.registry.load(event)
        if isinstance(e, RefundRequested):
            # Payments appends the request on the payment's stream and the refund's: the same
            # request twice, kept once.
            await upsert(
                conn,
                self.refunds,
                {"refund_id": e.refund_id},
                set_={
                    "payment_id": e.payment_id,
                    "customer_id": e.customer_id,
                    "amount_ore": e.amount_ore,
                },
            )
        elif isinstance(e, RefundAttested):
            attested, payment_id = await self._attested(conn, e, event.occurred_at.date())
            if attested is not None:
                await self._post(conn, event, attested, kind=PAYMENT, payment_id=payment_id)

    async def _attested(
        self, conn: AsyncConnection, e: RefundAttested, day: dt.date
    ) -> tuple[Voucher | None, str | None]:
        r = self.refunds
        asked = (
            await conn.execute(
                select(r.c.payment_id, r.c.customer_id, r.c.amount_ore).where(
                    r.c.refund_id == e.refund_id
                )
            )
        ).first()
        # The attest's own fields when it has them, else the request's.
        payment_id = e.payment_id or (asked.payment_id if asked else None)
        customer_id = e.customer_id or (asked.customer_id if asked else None)
        amount = e.amount_ore or (asked.amount_ore if asked else 0)
        booked = False
        if payment_id is not None and customer_id is None:
            p = self.payments
            booked = bool(
                (
                    await conn.execute(select(p.c.booked).where(p.c.payment_id == payment_id))
                ).scalar_one_or_none()
            )
        voucher = rule_refund_attested(
            refund_id=e.refund_id,
            amount_ore=amount,
            of_unmatched_payment=booked,
            settings=self.settings,
            day=day,
        )
        return voucher, payment_id

    async def _invoice_voucher(
        self, conn: AsyncConnection, invoice_id: str, *, kind: str = INVOICE
    ) -> _Invoice | None:
        v = self.vouchers
        found = (
            await conn.execute(
                select(v.c.invoice_number, v.c.department)
                .where(v.c.invoice_id == invoice_id, v.c.kind == kind)
                .order_by(v.c.position)
                .limit(1)
            )
        ).first()
        return None if found is None else _Invoice(found.invoice_number, found.department)

    async def _standing_rows(self, conn: AsyncConnection, invoice_id: str) -> list[PostingRow]:
        v, r = self.vouchers, self.rows
        found = await conn.execute(
            select(r.c.account, r.c.amount_ore, r.c.objects)
            .join(v, v.c.voucher_id == r.c.voucher_id)
            # Only what invoicing posted: a payment on the invoice is not undone by cancelling it,
            # nor a write-down (dunning's log: whether it was applied yet depends on which log a
            # rebuild replays first, and the series must not).
            .where(v.c.invoice_id == invoice_id, v.c.kind.in_(_INVOICING_KINDS))
            .order_by(v.c.position, r.c.row_no)
        )
        return [
            PostingRow(account=a, amount_ore=amount, objects=_objects(o))
            for a, amount, o in found.all()
        ]

    async def _post(
        self,
        conn: AsyncConnection,
        event: Envelope,
        voucher: Voucher,
        *,
        kind: str,
        invoice_id: str | None = None,
        payment_id: str | None = None,
        invoice_number: str | None = None,
        department: str | None = None,
    ) -> None:
        number = await self._last_number(conn, event.tenant, voucher.series) + 1
        posting = _Posting(
            voucher,
            kind=kind,
            invoice_id=invoice_id,
            payment_id=payment_id,
            invoice_number=invoice_number,
            department=department,
        )
        head, lines = self._voucher_rows(event, posting, number)
        await conn.execute(self.vouchers.insert().values(**head))
        await conn.execute(self.rows.insert(), lines)

    async def _last_number(self, conn: AsyncConnection, tenant: str, series: str) -> int:
        # Events arrive in position order, so the next number in the series is a rebuild's too.
        v = self.vouchers
        last = (
            await conn.execute(
                select(func.max(v.c.number)).where(v.c.tenant == tenant, v.c.series == series)
            )
        ).scalar_one_or_none()
        return int(last or 0)

    def _voucher_rows(
        self, event: Envelope, posting: _Posting, number: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        voucher = posting.voucher
        assert voucher is not None
        head = {
            "voucher_id": event.event_id,
            "tenant": event.tenant,
            "series": voucher.series,
            "number": number,
            "voucher_date": voucher.date,
            "text": voucher.text,
            "kind": posting.kind,
            "invoice_id": posting.invoice_id,
            "payment_id": posting.payment_id,
            "invoice_number": posting.invoice_number,
            "department": posting.department,
            "position": event.position,
        }
        lines = [
            {
                "voucher_id": event.event_id,
                "row_no": n,
                "account": row.account,
                "amount_ore": row.amount_ore,
                "objects": json.dumps([list(o) for o in row.objects]),
                "text": row.text,
            }
            for n, row in enumerate(voucher.rows, start=1)
        ]
        return head, lines


def _objects(stored: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(dim), str(ident)) for dim, ident in json.loads(stored))


async def read_vouchers(
    conn: AsyncConnection,
    projection: PostingsProjection,
    from_date: dt.date,
    to_date: dt.date,
    *,
    tenant: str | None = None,
) -> list[Voucher]:
    """The vouchers dated ``from_date`` to ``to_date`` (both included), by series and number;
    only ``tenant``'s when given."""
    v, r = projection.vouchers, projection.rows
    # One query, vouchers joined to their rows: a year's export can hold more vouchers than a
    # database accepts parameters in an IN list.
    query = (
        select(v.c.voucher_id, v.c.series, v.c.number, v.c.voucher_date, v.c.text)
        .add_columns(r.c.account, r.c.amount_ore, r.c.objects, r.c.text.label("row_text"))
        .join(r, r.c.voucher_id == v.c.voucher_id)
        .where(v.c.voucher_date >= from_date, v.c.voucher_date <= to_date)
    )
    if tenant is not None:
        query = query.where(v.c.tenant == tenant)
    found = await conn.execute(query.order_by(v.c.series, v.c.number, r.c.row_no))
    heads: dict[str, tuple[str, int, dt.date, str]] = {}
    rows: dict[str, list[PostingRow]] = {}
    for row in found.all():
        if row.voucher_id not in heads:
            heads[row.voucher_id] = (row.series, row.number, row.voucher_date, row.text)
            rows[row.voucher_id] = []
        rows[row.voucher_id].append(
            PostingRow(
                account=row.account,
                amount_ore=row.amount_ore,
                objects=_objects(row.objects),
                text=row.row_text,
            )
        )
    return [
        Voucher(series=series, number=number, date=day, text=text, rows=tuple(rows[vid]))
        for vid, (series, number, day, text) in heads.items()
    ]
