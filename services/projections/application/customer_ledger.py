"""The customer ledger (kundreskontra, domain.md §10 account 1512): per customer, every invoice
with what is still open. Built from invoicing's public events only.

No name or address is kept here: the ledger is read by many roles, and a protected identity must
never leak into a read model (domain.md §2).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel
from sqlalchemy import BigInteger, Boolean, Column, Date, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.invoicing import CustomerRegistered, InvoiceIssued
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection
from fordra.projections.domain.ledger_status import InvoiceStatus, invoice_status


class CustomerLedgerProjection(Projection):
    name: ClassVar[str] = "customer_ledger"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing",)

    def __init__(self, registry: EventRegistry) -> None:
        # Events are read through the registry so that old schema versions are upcast.
        self.registry = registry

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
            Column("open_ore", BigInteger, nullable=False),
        )
        return [self.customers, self.invoices]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        if event.event_type == CustomerRegistered.event_type:
            c = self.registry.load_as(event, CustomerRegistered)
            await conn.execute(
                self.customers.insert().values(
                    customer_id=c.customer_id,
                    tenant=event.tenant,
                    kind=c.kind,
                    protected_identity=c.protected_identity,
                )
            )
        elif event.event_type == InvoiceIssued.event_type:
            i = self.registry.load_as(event, InvoiceIssued)
            await conn.execute(
                self.invoices.insert().values(
                    invoice_id=i.invoice_id,
                    customer_id=i.customer_id,
                    invoice_number=i.invoice_number,
                    ocr=i.ocr,
                    department=i.department,
                    service_type=i.service_type,
                    invoice_date=i.invoice_date,
                    due_date=i.due_date,
                    total_ore=i.total_ore,
                    open_ore=i.total_ore,
                )
            )


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


class CustomerLedger(BaseModel):
    customer_id: str
    kind: str
    balance_ore: int
    overdue_ore: int
    invoices: list[LedgerInvoice]


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
    query = select(projection.invoices).where(projection.invoices.c.customer_id == customer_id)
    if department is not None:
        query = query.where(projection.invoices.c.department == department)
    order = (projection.invoices.c.due_date, projection.invoices.c.invoice_number)
    rows = (await conn.execute(query.order_by(*order))).all()
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
            open_ore=r.open_ore,
            status=invoice_status(
                open_ore=r.open_ore, total_ore=r.total_ore, due_date=r.due_date, today=today
            ),
        )
        for r in rows
    ]
    return CustomerLedger(
        customer_id=customer_id,
        kind=customer.kind,
        balance_ore=sum(i.open_ore for i in invoices),
        overdue_ore=sum(i.open_ore for i in invoices if i.status == "overdue"),
        invoices=invoices,
    )
