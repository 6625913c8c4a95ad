"""The claims of each supply point, as this context sees them (domain.md §6 and §7): the read
model the materiality assessment reads, a line per invoice and service part, grid and supply apart.

Built from invoicing's and payments' public events, each upstream in tables of its own, joined
when read: no order exists between the logs of different contexts, so a rebuild that replays
payments before invoicing gives the same tables (the payments are sums per part, which commute).

- ``ud_invoices``: every invoice that names a supply point (``InvoiceIssued.supply_point_id``), its
  due date (moved by a postponement, pushed out by a deferral), whether it is cancelled or
  disputed. An invoice naming no supply point is no claim of any supply point and is not kept.
- ``ud_invoice_parts``: its capital per service part, VAT included, split as payments splits it
  (``materiality.capital_by_service``); interest and fee lines are never capital.
- ``ud_part_credits`` and ``ud_part_payments``: what credit notes took off and payments allocated
  (``PaymentAllocated`` with component ``capital``; a reversal is negative) per invoice and part,
  for the utility parts only (electricity grid and supply, water): these are kept for every
  invoice, since a payment does not say whether its invoice named a supply point.
- ``ud_customers``: whether each customer is a person or an organisation (ellagen 11:1: consumers
  only) and whether their identity is protected. No name or address is kept (domain.md §2).

Set-based (``apply_batch``): a batch costs one statement per table, the high-volume events
(invoices issued, payments allocated, customers registered) summed or gathered in memory; the
rare ones (a cancellation, a dispute, a postponement) are applied one at a time in log order
after what the batch gathered before them is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar, Final

from sqlalchemy import BigInteger, Boolean, Column, Date, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.invoicing import (
    CreditNoteIssued,
    CustomerRegistered,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection, Sums, insert_many, upsert_many
from fordra.utility_disconnect.domain.materiality import PartClaim, capital_by_service
from fordra.utility_disconnect.domain.supply_point import KnownCustomer

# The service parts a supply point's claims are made of (domain.md §6: grid and supply; §7: water).
UTILITY_PARTS: Final[frozenset[str]] = frozenset(
    {"electricity_grid", "electricity_supply", "water"}
)

_GATHERED = frozenset(
    kind.event_type
    for kind in (InvoiceIssued, PaymentAllocated, CreditNoteIssued, CustomerRegistered)
)


class SupplyPointClaimsProjection(Projection):
    name: ClassVar[str] = "utility_disconnect_claims"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing", "payments")

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.invoices = Table(
            "ud_invoices",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("supply_point_id", String(64), nullable=False, index=True),
            Column("customer_id", String(64), nullable=False),
            Column("invoice_number", String(20), nullable=False),
            Column("due_date", Date, nullable=False),
            Column("deferred_until", Date),
            Column("cancelled", Boolean, nullable=False),
            Column("disputed", Boolean, nullable=False),
        )
        self.parts = Table(
            "ud_invoice_parts",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("part", String(40), primary_key=True),
            Column("capital_ore", BigInteger, nullable=False),
        )
        self.credits = Table(
            "ud_part_credits",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("part", String(40), primary_key=True),
            Column("credited_ore", BigInteger, nullable=False),
        )
        self.payments = Table(
            "ud_part_payments",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("part", String(40), primary_key=True),
            Column("paid_capital_ore", BigInteger, nullable=False),
        )
        self.customers = Table(
            "ud_customers",
            metadata,
            Column("customer_id", String(64), primary_key=True),
            Column("kind", String(20), nullable=False),
            Column("protected_identity", Boolean, nullable=False),
        )
        return [self.invoices, self.parts, self.credits, self.payments, self.customers]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        batch = _Batch(self)
        for env in events:
            if env.event_type in _GATHERED:
                batch.gather(self.registry, env)
            else:
                # A rare event changes rows gathered before it: write those first (log order).
                await batch.flush(conn)
                await self._one(conn, env)
        await batch.flush(conn)

    async def _one(self, conn: AsyncConnection, env: Envelope) -> None:
        t = self.invoices
        load = self.registry.load
        event = load(env)
        if isinstance(event, InvoiceCancelled):
            stmt = update(t).where(t.c.invoice_id == event.invoice_id).values(cancelled=True)
        elif isinstance(event, InvoiceDisputed):
            stmt = update(t).where(t.c.invoice_id == event.invoice_id).values(disputed=True)
        elif isinstance(event, DisputeResolved):
            # Either outcome ends the dispute; a customer found right gets a credit note or a
            # cancellation of its own, which this model follows.
            stmt = update(t).where(t.c.invoice_id == event.invoice_id).values(disputed=False)
        elif isinstance(event, DueDatePostponed):
            stmt = (
                update(t).where(t.c.invoice_id == event.invoice_id).values(due_date=event.due_date)
            )
        elif isinstance(event, DeferralGranted):
            stmt = (
                update(t)
                .where(t.c.invoice_id == event.invoice_id)
                .values(deferred_until=event.deferred_until)
            )
        elif isinstance(event, ProtectedIdentityMarked | ProtectedIdentityCleared):
            c = self.customers
            stmt = (
                update(c)
                .where(c.c.customer_id == event.customer_id)
                .values(protected_identity=isinstance(event, ProtectedIdentityMarked))
            )
        else:
            return
        await conn.execute(stmt)


class _Batch:
    """What a batch gathers before writing it with one statement per table."""

    def __init__(self, p: SupplyPointClaimsProjection) -> None:
        self.p = p
        self.invoices: list[dict[str, Any]] = []
        self.parts: list[dict[str, Any]] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.credits = Sums(p.credits, ("invoice_id", "part"), ("credited_ore",))
        self.payments = Sums(p.payments, ("invoice_id", "part"), ("paid_capital_ore",))

    def gather(self, registry: EventRegistry, env: Envelope) -> None:
        if env.event_type == PaymentAllocated.event_type:
            paid = registry.load_as(env, PaymentAllocated)
            if paid.component == "capital" and paid.service_type in UTILITY_PARTS:
                self.payments.add(
                    (paid.invoice_id, paid.service_type), "paid_capital_ore", paid.amount_ore
                )
        elif env.event_type == InvoiceIssued.event_type:
            issued = registry.load_as(env, InvoiceIssued)
            if issued.supply_point_id is None:
                return
            self.invoices.append(
                {
                    "invoice_id": issued.invoice_id,
                    "supply_point_id": issued.supply_point_id,
                    "customer_id": issued.customer_id,
                    "invoice_number": issued.invoice_number,
                    "due_date": issued.due_date,
                    "deferred_until": None,
                    "cancelled": False,
                    "disputed": False,
                }
            )
            self.parts += [
                {"invoice_id": issued.invoice_id, "part": part, "capital_ore": amount}
                for part, amount in capital_by_service(issued.lines, issued.vat).items()
            ]
        elif env.event_type == CreditNoteIssued.event_type:
            credit = registry.load_as(env, CreditNoteIssued)
            for part, amount in capital_by_service(credit.lines, credit.vat).items():
                if part in UTILITY_PARTS:
                    self.credits.add((credit.invoice_id, part), "credited_ore", amount)
        elif env.event_type == CustomerRegistered.event_type:
            registered = registry.load_as(env, CustomerRegistered)
            self.customers[registered.customer_id] = {
                "customer_id": registered.customer_id,
                "kind": registered.kind,
                "protected_identity": registered.protected_identity,
            }

    async def flush(self, conn: AsyncConnection) -> None:
        p = self.p
        await insert_many(conn, p.invoices, self.invoices)
        await insert_many(conn, p.parts, self.parts)
        await upsert_many(
            conn,
            p.customers,
            ("customer_id",),
            list(self.customers.values()),
            set_=("kind", "protected_identity"),
        )
        await self.credits.flush(conn)
        await self.payments.flush(conn)
        self.invoices, self.parts, self.customers = [], [], {}


async def read_customer(
    conn: AsyncConnection, p: SupplyPointClaimsProjection, customer_id: str
) -> KnownCustomer | None:
    """The customer as this context knows them; None when invoicing never told of them."""
    c = p.customers
    row = (await conn.execute(select(c).where(c.c.customer_id == customer_id))).one_or_none()
    if row is None:
        return None
    return KnownCustomer(
        customer_id=row.customer_id, kind=row.kind, protected_identity=row.protected_identity
    )


async def read_claims(
    conn: AsyncConnection, p: SupplyPointClaimsProjection, supply_point_id: str, customer_id: str
) -> list[PartClaim]:
    """Every part of every invoice of ``customer_id`` naming ``supply_point_id`` that is not
    cancelled, with what is open of its capital (capital less credits less payments). The due
    date is the later of the (possibly postponed) due date and a deferral's end: a deferred
    invoice is not overdue before.

    Invoicing checks a supply point id for its shape only, so an invoice may name another
    customer's point by mistake: it is that other customer's debt, never this point's holder's,
    and is left out (the consumer is the one who failed to pay, ellagen 11:3)."""
    i, parts, cr, pay = p.invoices, p.parts, p.credits, p.payments
    query = (
        select(
            i.c.invoice_id,
            i.c.invoice_number,
            i.c.due_date,
            i.c.deferred_until,
            i.c.disputed,
            parts.c.part,
            parts.c.capital_ore,
            cr.c.credited_ore,
            pay.c.paid_capital_ore,
        )
        .join(parts, parts.c.invoice_id == i.c.invoice_id)
        .outerjoin(cr, (cr.c.invoice_id == parts.c.invoice_id) & (cr.c.part == parts.c.part))
        .outerjoin(pay, (pay.c.invoice_id == parts.c.invoice_id) & (pay.c.part == parts.c.part))
        .where(
            i.c.supply_point_id == supply_point_id,
            i.c.customer_id == customer_id,
            i.c.cancelled.is_(False),
        )
        .order_by(i.c.due_date, i.c.invoice_number, parts.c.part)
    )
    claims = []
    for row in (await conn.execute(query)).all():
        due: date = row.due_date
        if row.deferred_until is not None and row.deferred_until > due:
            due = row.deferred_until
        open_ore = row.capital_ore - (row.credited_ore or 0) - (row.paid_capital_ore or 0)
        claims.append(
            PartClaim(
                invoice_id=row.invoice_id,
                invoice_number=row.invoice_number,
                part=row.part,
                due_date=due,
                open_capital_ore=open_ore,
                disputed=row.disputed,
            )
        )
    return claims
