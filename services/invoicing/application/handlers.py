"""Invoicing's use cases. Each reads what it needs, lets the domain decide, and appends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict

from fordra.invoicing.domain.commands import IssueInvoice, RegisterCustomer
from fordra.invoicing.domain.customer import register_customer as decide_registration
from fordra.invoicing.domain.customer import valid_identity_number
from fordra.invoicing.domain.events import IdNumberClaimed, InvoiceSerialReserved
from fordra.invoicing.domain.invoice import issue_invoice as decide_invoice
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.application import Decision, Outcome, execute, fingerprint
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import AlreadyExists, DomainRuleViolation
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend

CONTEXT = "invoicing"

PUBLISHERS = (Role.ADMIN, Role.CASE_OFFICER, Role.DEPARTMENT)


@dataclass(frozen=True, slots=True)
class InvoicingDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    calendar: WorkingDayCalendar
    settings: InvoicingSettings
    # A keyed hash (HMAC with the instance's secret): stream names never reveal an id number.
    pseudonym: Callable[[str], str]


class CustomerRegisteredResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    kind: str
    id_kind: str
    protected_identity: bool


class InvoiceIssuedResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    customer_id: str
    invoice_number: str
    ocr: str
    invoice_date: date
    due_date: date
    net_ore: int
    vat_ore: int
    total_ore: int


def customer_stream(customer_id: str) -> str:
    return f"customer-{customer_id}"


def invoice_stream(invoice_id: str) -> str:
    return f"invoice-{invoice_id}"


def serial_stream(tenant: str) -> str:
    return f"invoice-serial-{tenant}"


async def register_customer(
    cmd: RegisterCustomer,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    idempotency_key: str | None = None,
) -> Outcome[CustomerRegisteredResponse]:
    require_role(principal, *PUBLISHERS)
    identity = valid_identity_number(cmd.id_number, deps.clock.today())
    claim_stream = f"customer-idnr-{deps.pseudonym(meta.tenant + ':' + identity.canonical)}"

    async def decide() -> Decision[CustomerRegisteredResponse]:
        claimed = await deps.store.read_stream(claim_stream)
        if claimed:
            existing = deps.registry.load_as(claimed[0], IdNumberClaimed).customer_id
            raise AlreadyExists(
                f"a customer with this id_number is already registered: {existing}",
                field="id_number",
                existing_id=existing,
            )
        customer_id = str(uuid.uuid4())
        event = decide_registration(
            cmd, customer_id=customer_id, identity=identity, department=principal.department
        )
        now = deps.clock.now()
        env = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=customer_stream(customer_id),
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        claim = deps.registry.envelope(
            IdNumberClaimed(customer_id=customer_id),
            context=CONTEXT,
            stream_id=claim_stream,
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        return Decision(
            [StreamAppend(env.stream_id, 0, [env]), StreamAppend(claim_stream, 0, [claim])],
            CustomerRegisteredResponse(
                customer_id=customer_id,
                kind=event.kind,
                id_kind=event.id_kind,
                protected_identity=event.protected_identity,
            ),
        )

    return await execute(
        deps.store,
        decide,
        CustomerRegisteredResponse,
        idempotency_key=_scoped(principal, idempotency_key),
        request_fingerprint=fingerprint("RegisterCustomer", cmd.model_dump(mode="json")),
    )


async def issue_invoice(
    cmd: IssueInvoice,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    idempotency_key: str | None = None,
) -> Outcome[InvoiceIssuedResponse]:
    require_role(principal, *PUBLISHERS)
    require_department(principal, cmd.department)

    async def decide() -> Decision[InvoiceIssuedResponse]:
        if await deps.store.stream_version(customer_stream(cmd.customer_id)) == 0:
            raise DomainRuleViolation(
                f"customer {cmd.customer_id!r} is not registered",
                field="customer_id",
                rule="customer_registered",
            )
        counter = serial_stream(meta.tenant)
        last_serial = await deps.store.stream_version(counter)
        invoice_id = str(uuid.uuid4())
        event = decide_invoice(
            cmd,
            invoice_id=invoice_id,
            serial_number=last_serial + 1,
            settings=deps.settings,
            calendar=deps.calendar,
        )
        now = deps.clock.now()
        issued = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=invoice_stream(invoice_id),
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        reserved = deps.registry.envelope(
            InvoiceSerialReserved(invoice_id=invoice_id, serial_number=event.serial_number),
            context=CONTEXT,
            stream_id=counter,
            version=event.serial_number,
            metadata=meta,
            occurred_at=now,
        )
        return Decision(
            [
                StreamAppend(counter, last_serial, [reserved]),
                StreamAppend(issued.stream_id, 0, [issued]),
            ],
            InvoiceIssuedResponse(
                invoice_id=invoice_id,
                customer_id=event.customer_id,
                invoice_number=event.invoice_number,
                ocr=event.ocr,
                invoice_date=event.invoice_date,
                due_date=event.due_date,
                net_ore=event.net_ore,
                vat_ore=event.vat_ore,
                total_ore=event.total_ore,
            ),
        )

    return await execute(
        deps.store,
        decide,
        InvoiceIssuedResponse,
        idempotency_key=_scoped(principal, idempotency_key),
        request_fingerprint=fingerprint("IssueInvoice", cmd.model_dump(mode="json")),
    )


def _scoped(principal: Principal, key: str | None) -> str | None:
    # Keys are the caller's own: two departments may both use "batch-1" without colliding.
    return f"{principal.role.value}:{principal.department or ''}:{key}" if key else None
