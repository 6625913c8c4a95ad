"""The unmatched-payments work queue (domain.md §9: the rest go to the investigation queue): every
payment that did not match an open invoice, with its age in working days and suggestions from its
free text, payer and amount, for the ops team to match, refund or keep as credit.

The payer's name, free text and a reference that is not an OCR number are personal data (the text
often names a person and a personnummer): the row keeps them sealed under the payment's own key
(the key the event store seals the payment's payer with), opened only when the queue is read, so a
copy of the read-model database alone shows none of them and forgetting the payment's subject
reaches the queue as well as the log."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.payments import (
    CustomerCreditRecorded,
    PaymentMatched,
    PaymentReceived,
    PaymentReversed,
    PaymentUnmatched,
    RefundRequested,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.personal_data import PersonalDataSealer
from fordra.kernel.projection import Projection, insert_many

_DIGITS = re.compile(r"\d{3,25}")


class UnmatchedPaymentsProjection(Projection):
    # v2: the payer's name sealed (it was plain text in ``payments_received``); v3: the free text
    # and a non-OCR reference sealed with it. A new name and table each time, so that a
    # read-model database of the old shape fills the new table from the log instead of failing
    # on a missing column; the old table is the operator's to drop.
    name: ClassVar[str] = "unmatched_payments_v3"
    upstreams: ClassVar[tuple[str, ...]] = ("payments",)

    def __init__(self, registry: EventRegistry, sealer: PersonalDataSealer) -> None:
        self.registry = registry
        self.sealer = sealer

    def declare(self, metadata: MetaData) -> list[Table]:
        self.payments = Table(
            "unmatched_payments_v3",
            metadata,
            Column("payment_id", String(64), primary_key=True),
            Column("amount_ore", BigInteger, nullable=False),
            Column("currency", String(3), nullable=False),
            Column("reference", String(100)),  # an OCR reference only: plain
            # {"name", "free_text", "reference"} sealed with the payment's key (PaymentReceived's
            # data subject); None when the event carried no payer part.
            Column("payer_sealed", LargeBinary),
            Column("received_on", Date, nullable=False),
            Column("queued", Boolean, nullable=False, default=False),
            Column("reason", String(300)),
        )
        return [self.payments]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """The batch in at most one insert and one update per set of columns (a bank file brings
        a ``PaymentReceived`` and a ``PaymentMatched`` per payment). A change to a payment
        received in the same batch is made to its row before it is inserted; the changes to
        older rows are kept per payment, the last one of each column winning, as applying them
        in order would leave them."""
        t = self.payments
        received: dict[str, dict[str, Any]] = {}  # rows to insert, in log order
        inserts: list[dict[str, Any]] = []
        changes: dict[str, dict[str, Any]] = {}  # payment_id -> the columns an update sets
        for event in events:
            if not self.registry.knows(event.event_type):
                continue
            e = self.registry.load(event)
            change: dict[str, Any]
            if isinstance(e, PaymentReceived):
                row = {
                    "payment_id": e.payment_id,
                    "amount_ore": e.amount_ore,
                    "currency": e.currency,
                    # A bank file's reference is not bounded by its parser (camt.054 says 35
                    # characters; a file may say more): clipped like the reason, the whole of
                    # it stays on the event (PostgreSQL refused it, and the event was parked).
                    "reference": _fit(e.reference, t.c.reference.type) if e.reference else None,
                    "payer_sealed": self._seal_payer(e),
                    "received_on": e.received_on,
                    "queued": False,
                    "reason": None,
                }
                # Every row is inserted, so that a payment received twice fails the batch as it
                # fails alone (then it is parked). A change made before it, in this batch,
                # found no row, or the insert fails: it is dropped.
                changes.pop(e.payment_id, None)
                received[e.payment_id] = row
                inserts.append(row)
                continue
            if isinstance(e, PaymentUnmatched):
                change = {"queued": True, "reason": _fit(e.reason, t.c.reason.type)}
            # A payment the bank took back no longer waits to be placed (the general ledger takes
            # it out of 9181 with the reversal's own bank line, so the two still agree).
            elif isinstance(
                e, PaymentMatched | CustomerCreditRecorded | RefundRequested | PaymentReversed
            ):
                change = {"queued": False}
            else:
                continue
            if e.payment_id is None:
                continue  # no row has it (a refund of credit without a payment)
            if e.payment_id in received:
                received[e.payment_id].update(change)
            else:
                changes.setdefault(e.payment_id, {}).update(change)
        await insert_many(conn, t, inserts)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for payment_id, change in changes.items():
            columns = tuple(sorted(change))
            by_columns.setdefault(columns, []).append(
                {"b_payment_id": payment_id, **{f"b_{c}": v for c, v in change.items()}}
            )
        for columns, rows in by_columns.items():
            stmt = (
                t.update()
                .where(t.c.payment_id == bindparam("b_payment_id"))
                .values({c: bindparam(f"b_{c}") for c in columns})
            )
            await conn.execute(stmt, rows)

    def _seal_payer(self, e: PaymentReceived) -> bytes | None:
        if e.payer is None:
            return None  # nothing told, or the payment's subject already forgotten
        p = e.payer
        if p.name is None and not p.free_text and p.reference is None:
            return None
        words = {"name": p.name, "free_text": list(p.free_text), "reference": p.reference}
        return self.sealer.seal(e.payment_id, words)

    def payer_words(self, payment_id: str, sealed: bytes | None) -> dict[str, Any] | None:
        """The sealed part opened: ``{}`` when nothing was sealed, None once the payment's key is
        forgotten."""
        if sealed is None:
            return {}
        return self.sealer.open(payment_id, bytes(sealed))


def _fit(text: str, column: Any) -> str:
    """A reason clipped to its column (PostgreSQL refuses a longer value, and a refused event
    would stop the projection): the reasons for a payment with many extra references are long."""
    limit: int | None = getattr(column, "length", None)
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class Suggestion(BaseModel):
    invoice_id: str
    ocr: str
    open_ore: int
    why: str


class UnmatchedPayment(BaseModel):
    payment_id: str
    amount_ore: int
    currency: str
    reference: str | None
    payer_name: str | None
    free_text: list[str] | None  # None once the payment's subject is forgotten
    received_on: date
    age_working_days: int
    reason: str | None
    suggestions: list[Suggestion]


class UnmatchedQueue(BaseModel):
    items: list[UnmatchedPayment]


async def read_unmatched(
    conn: AsyncConnection,
    projection: UnmatchedPaymentsProjection,
    *,
    ledger_invoices: Table,
    ledger_payments: Table,
    calendar: WorkingDayCalendar,
    today: date,
) -> UnmatchedQueue:
    t = projection.payments
    rows = (
        await conn.execute(select(t).where(t.c.queued.is_(True)).order_by(t.c.received_on))
    ).all()
    items = []
    for r in rows:
        words = projection.payer_words(r.payment_id, r.payer_sealed)
        texts: list[str] | None = None if words is None else list(words.get("free_text") or [])
        reference: str | None = r.reference or (words or {}).get("reference")
        items.append(
            UnmatchedPayment(
                payment_id=r.payment_id,
                amount_ore=r.amount_ore,
                currency=r.currency,
                reference=reference,
                payer_name=(words or {}).get("name"),
                free_text=texts,
                received_on=r.received_on,
                age_working_days=max(calendar.working_days_between(r.received_on, today), 0),
                reason=r.reason,
                suggestions=await _suggest(
                    conn, ledger_invoices, ledger_payments, r, [*(texts or []), reference or ""]
                ),
            )
        )
    return UnmatchedQueue(items=items)


async def _suggest(
    conn: AsyncConnection, invoices: Table, payments: Table, payment: Any, words: list[str]
) -> list[Suggestion]:
    """Open invoices the payment may be for: a number in its free text or reference that is an
    open invoice's OCR or invoice number, or an open amount equal to the payment's. ``words``:
    its free text and reference, opened from the sealed row."""
    open_ore = invoices.c.open_ore - func.coalesce(payments.c.paid_ore, 0)
    base = (
        select(invoices.c.invoice_id, invoices.c.ocr, open_ore.label("open_ore"))
        .select_from(invoices.outerjoin(payments, payments.c.invoice_id == invoices.c.invoice_id))
        .where(open_ore > 0)
    )
    found: dict[str, Suggestion] = {}
    numbers = set(_DIGITS.findall(" ".join(words)))
    if numbers:
        query = base.where(invoices.c.ocr.in_(numbers) | invoices.c.invoice_number.in_(numbers))
        for inv in (await conn.execute(query.limit(5))).all():
            found[inv.invoice_id] = Suggestion(
                invoice_id=inv.invoice_id,
                ocr=inv.ocr,
                open_ore=inv.open_ore,
                why="its number is in the payment's text",
            )
    if payment.currency == "SEK":
        query = base.where(open_ore == payment.amount_ore)
        for inv in (await conn.execute(query.limit(5))).all():
            found.setdefault(
                inv.invoice_id,
                Suggestion(
                    invoice_id=inv.invoice_id,
                    ocr=inv.ocr,
                    open_ore=inv.open_ore,
                    why="the same amount is open on it",
                ),
            )
    return list(found.values())[:5]
