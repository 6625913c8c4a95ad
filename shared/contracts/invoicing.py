"""Public events of the invoicing context (customers and invoices). Rules: domain.md §2.

Version 1 of each. A change that a consumer could notice gets a new ``schema_version`` and an
upcaster from the old one; the old stored events are never rewritten.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.events import Event, PersonalData

ServiceType = Literal[
    "water",
    "waste",
    "childcare",
    "elderly_care",
    "housing_rent",
    "premises_rent",
    "music_school",
    "hall_rental",
    "electricity_grid",
    "electricity_supply",
    "other",
]
SERVICE_TYPES: tuple[str, ...] = ServiceType.__args__  # type: ignore[attr-defined]

CustomerKind = Literal["person", "organisation"]


class PostalAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    street: str
    postal_code: str
    city: str
    care_of: str | None = None
    country: str = "SE"


class CustomerPersonalData(PersonalData):
    """Everything that identifies the person: sealed per customer in the event log."""

    name: str
    id_number: str
    address: PostalAddress


class CustomerRegistered(Event):
    event_type: ClassVar[str] = "CustomerRegistered"
    schema_version: ClassVar[int] = 1
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    kind: CustomerKind
    id_kind: Literal["personnummer", "samordningsnummer", "organisationsnummer"]
    protected_identity: bool = False
    registered_by_department: str | None = None
    # None once the person has been forgotten (their key deleted).
    personal: CustomerPersonalData | None


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    service_type: ServiceType
    quantity: Decimal
    unit_price_ore: int
    vat_rate: int
    net_ore: int


class VatBreakdown(BaseModel):
    """VAT per rate, rounded per rate to whole öre (domain.md §2, seed 001)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vat_rate: int
    net_ore: int
    vat_ore: int


class InvoiceIssued(Event):
    event_type: ClassVar[str] = "InvoiceIssued"
    schema_version: ClassVar[int] = 1

    invoice_id: str
    customer_id: str
    serial_number: int
    invoice_number: str
    ocr: str
    department: str
    service_type: ServiceType
    invoice_date: date
    due_date: date
    payment_terms_days: int
    lines: tuple[InvoiceLine, ...]
    vat: tuple[VatBreakdown, ...]
    net_ore: int
    vat_ore: int
    total_ore: int
    currency: Literal["SEK"] = "SEK"
    source_reference: str | None = None


CONTRACTS: tuple[type[Event], ...] = (CustomerRegistered, InvoiceIssued)
