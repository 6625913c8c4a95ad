"""Factories for invoicing's use-case tests: the use cases' dependencies on a ``MemoryEventStore``
(no HTTP, no database), principals and commands."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import PostalAddress
from fordra.invoicing.application.handlers import InvoicingDeps
from fordra.invoicing.application.numbering import InvoiceNumberBlocks
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice, RegisterCustomer
from fordra.invoicing.domain.events import INTERNAL_EVENTS
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import EventRegistry
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import luhn_check_digit
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer

TENANT = "svenljunga"
TODAY = date(2026, 3, 2)


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register_all(all_contracts())
    events.register_all(INTERNAL_EVENTS)
    return events


def memory_store() -> MemoryEventStore:
    return MemoryEventStore(
        "invoicing", EnvelopeCodec("invoicing", PersonalDataSealer(InMemoryKeyRing()))
    )


def invoicing_deps(
    store: MemoryEventStore,
    *,
    today: date = TODAY,
    settings: InvoicingSettings | None = None,
) -> InvoicingDeps:
    events = registry()
    clock = ManualClock(today)
    config = settings or InvoicingSettings()
    return InvoicingDeps(
        store=store,
        registry=events,
        clock=clock,
        calendar=WorkingDayCalendar(),
        settings=config,
        pseudonym=lambda value: hashlib.sha256(value.encode()).hexdigest(),
        serials=InvoiceNumberBlocks(store, events, config, clock).series,
    )


def department(name: str = "dept", subject: str = "system") -> Principal:
    return Principal(subject=subject, role=Role.DEPARTMENT, tenant=TENANT, department=name)


def person(role: Role, subject: str) -> Principal:
    return Principal(subject=subject, role=role, tenant=TENANT)


def meta(principal: Principal) -> Metadata:
    return Metadata(principal.tenant, principal.actor, str(uuid.uuid4()))


def personnummer(born: str, serial: int) -> str:
    """A valid personnummer (YYYYMMDD + 3 digits + the Luhn digit) born on ``born``."""
    body = f"{born[2:]}{serial:03d}"
    return f"{born}{serial:03d}{luhn_check_digit(body)}"


def registration(id_number: str, name: str = "Anna Andersson") -> RegisterCustomer:
    return RegisterCustomer(
        id_number=id_number,
        name=name,
        address=PostalAddress(street="Storgatan 1", postal_code="512 50", city="Svenljunga"),
    )


def invoice_for(
    customer_id: str,
    *amounts_ore: int,
    service: str = "other",
    vat: int = 25,
    dept: str = "dept",
    **extra: object,
) -> IssueInvoice:
    """An invoice of one line per amount (net, at ``vat`` %), dated on ``TODAY``."""
    return IssueInvoice.model_validate(
        {
            "customer_id": customer_id,
            "department": dept,
            "service_type": service,
            "invoice_date": TODAY,
            "lines": [
                InvoiceLineInput(description="Avgift", unit_price_ore=ore, vat_rate=vat)
                for ore in amounts_ore
            ],
            **extra,
        }
    )
