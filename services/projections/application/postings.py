"""The general ledger's postings (domain.md §10): one balanced voucher per invoicing event that
moves money, numbered per series in the order the events were recorded, ready for the SIE 4i
export. Built from invoicing's public events only.

A voucher's id is the id of the event that caused it and its number is the next in its series in
position order, so a rebuild from position 0 gives the very same vouchers and numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import ClassVar, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.invoicing import CreditNoteIssued, InvoiceCancelled, InvoiceIssued
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection
from fordra.projections.domain.chart_of_accounts import (
    AccountingSettings,
    PostingRow,
    Voucher,
    cancellation_voucher,
    credit_note_voucher,
    invoice_voucher,
)

# What each voucher was posted for; the invoice's own voucher is the one credit notes and a
# cancellation look up.
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
CANCELLATION = "cancellation"


class _Invoice(NamedTuple):
    """What a credit note or a cancellation needs to know of the invoice's own voucher."""

    invoice_number: str | None
    department: str | None


class PostingsProjection(Projection):
    name: ClassVar[str] = "general_ledger"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing",)

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
            Column("invoice_id", String(64), nullable=False, index=True),
            # The invoice's number and department, kept on its voucher for the credit notes and
            # cancellation that follow (their events carry only the invoice id).
            Column("invoice_number", String(20)),
            Column("department", String(64)),
            Column("position", BigInteger, nullable=False),
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
        return [self.vouchers, self.rows]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        # Every other event posts nothing: held small amounts are not owed until invoiced (then
        # they are lines of the invoice), a dropped one never was, and the rest move no money.
        if event.event_type == InvoiceIssued.event_type:
            i = self.registry.load_as(event, InvoiceIssued)
            voucher = invoice_voucher(i, self.settings)
            await self._post(
                conn,
                event,
                voucher,
                kind=INVOICE,
                invoice_id=i.invoice_id,
                invoice_number=i.invoice_number,
                department=i.department,
            )
        elif event.event_type == CreditNoteIssued.event_type:
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

    async def _invoice_voucher(self, conn: AsyncConnection, invoice_id: str) -> _Invoice | None:
        v = self.vouchers
        found = (
            await conn.execute(
                select(v.c.invoice_number, v.c.department).where(
                    v.c.invoice_id == invoice_id, v.c.kind == INVOICE
                )
            )
        ).first()
        return None if found is None else _Invoice(found.invoice_number, found.department)

    async def _standing_rows(self, conn: AsyncConnection, invoice_id: str) -> list[PostingRow]:
        v, r = self.vouchers, self.rows
        found = await conn.execute(
            select(r.c.account, r.c.amount_ore, r.c.objects)
            .join(v, v.c.voucher_id == r.c.voucher_id)
            .where(v.c.invoice_id == invoice_id)
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
        invoice_id: str,
        invoice_number: str | None = None,
        department: str | None = None,
    ) -> None:
        v = self.vouchers
        # Events arrive in position order, so the next number in the series is a rebuild's too.
        last = (
            await conn.execute(
                select(func.max(v.c.number)).where(
                    v.c.tenant == event.tenant, v.c.series == voucher.series
                )
            )
        ).scalar_one_or_none()
        await conn.execute(
            v.insert().values(
                voucher_id=event.event_id,
                tenant=event.tenant,
                series=voucher.series,
                number=(last or 0) + 1,
                voucher_date=voucher.date,
                text=voucher.text,
                kind=kind,
                invoice_id=invoice_id,
                invoice_number=invoice_number,
                department=department,
                position=event.position,
            )
        )
        await conn.execute(
            self.rows.insert(),
            [
                {
                    "voucher_id": event.event_id,
                    "row_no": n,
                    "account": row.account,
                    "amount_ore": row.amount_ore,
                    "objects": json.dumps([list(o) for o in row.objects]),
                    "text": row.text,
                }
                for n, row in enumerate(voucher.rows, start=1)
            ],
        )


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
