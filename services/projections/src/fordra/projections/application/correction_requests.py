"""The ops team's queue of credit note and cancellation requests waiting for attest (seed 002
lines 587-603: "endast med korrekt attest"), with who asked, why, for how much, and whether the
customer is an organisation (one of the seed's checks). Built from invoicing's public events."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Date, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.invoicing import (
    CancellationRequested,
    CorrectionRequestAttested,
    CorrectionRequestRejected,
    CreditNoteRequested,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection

RequestStatus = Literal["pending", "attested", "rejected"]


class CorrectionRequestsProjection(Projection):
    name: ClassVar[str] = "correction_requests"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing",)

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.requests = Table(
            "correction_requests",
            metadata,
            Column("request_id", String(64), primary_key=True),
            Column("kind", String(20), nullable=False),
            Column("status", String(10), nullable=False, index=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("customer_id", String(64), nullable=False),
            Column("customer_kind", String(20)),
            Column("department", String(64), nullable=False),
            Column("requested_on", Date, nullable=False),
            Column("requested_by", String(200), nullable=False),
            Column("reason", String(1000), nullable=False),
            Column("total_ore", BigInteger, nullable=False),
            Column("decided_by", String(200)),
            Column("decided_on", Date),
            Column("position", BigInteger, nullable=False),
        )
        return [self.requests]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        if not self.registry.knows(event.event_type):
            return
        e = self.registry.load(event)
        t = self.requests
        if isinstance(e, CreditNoteRequested | CancellationRequested):
            await conn.execute(
                t.insert().values(
                    request_id=e.request_id,
                    kind="credit_note" if isinstance(e, CreditNoteRequested) else "cancellation",
                    status="pending",
                    invoice_id=e.invoice_id,
                    customer_id=e.customer_id,
                    customer_kind=e.customer_kind,
                    department=e.department,
                    requested_on=e.requested_on,
                    requested_by=e.requested_by,
                    reason=e.reason,
                    total_ore=e.total_ore,
                    position=event.position,
                )
            )
        elif isinstance(e, CorrectionRequestAttested):
            await conn.execute(
                update(t)
                .where(t.c.request_id == e.request_id)
                .values(status="attested", decided_by=e.attested_by, decided_on=e.attested_on)
            )
        elif isinstance(e, CorrectionRequestRejected):
            await conn.execute(
                update(t)
                .where(t.c.request_id == e.request_id)
                .values(status="rejected", decided_by=e.rejected_by, decided_on=e.rejected_on)
            )


class CorrectionRequestItem(BaseModel):
    request_id: str
    kind: str
    status: RequestStatus
    invoice_id: str
    customer_id: str
    customer_kind: str | None
    department: str
    requested_on: date
    requested_by: str
    reason: str
    total_ore: int
    decided_by: str | None
    decided_on: date | None


class CorrectionRequestQueue(BaseModel):
    items: list[CorrectionRequestItem]


async def read_correction_requests(
    conn: AsyncConnection,
    projection: CorrectionRequestsProjection,
    *,
    status: RequestStatus = "pending",
    department: str | None = None,
) -> CorrectionRequestQueue:
    """Requests in the order they were asked for; a department sees only its own."""
    t = projection.requests
    query = select(t).where(t.c.status == status)
    if department is not None:
        query = query.where(t.c.department == department)
    rows = (await conn.execute(query.order_by(t.c.position))).all()
    return CorrectionRequestQueue(
        items=[
            CorrectionRequestItem(
                request_id=r.request_id,
                kind=r.kind,
                status=r.status,
                invoice_id=r.invoice_id,
                customer_id=r.customer_id,
                customer_kind=r.customer_kind,
                department=r.department,
                requested_on=r.requested_on,
                requested_by=r.requested_by,
                reason=r.reason,
                total_ore=r.total_ore,
                decided_by=r.decided_by,
                decided_on=r.decided_on,
            )
            for r in rows
        ]
    )
