"""Public events of the invoicing context (customers and invoices). Rules: domain.md §2.

Version 1 of each. A change that a consumer could notice gets a new ``schema_version`` and an
upcaster from the old one; the old stored events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.delegation import DepartmentDecision
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
    # Food sold as goods (e.g. meals delivered to the elderly): its own VAT rate (domain.md §2).
    "food",
    "other",
]
SERVICE_TYPES: tuple[str, ...] = ServiceType.__args__  # type: ignore[attr-defined]
# The rents (domain.md §8 "Rent (LOIS)"): the services the rent administration's delegation and
# its unpaid-rent report are about (seed 002).
RENT_SERVICES: Final[tuple[str, ...]] = ("housing_rent", "premises_rent")

# What each service is called on paper: the invoice's "Avser" and lines, and the dunning letters
# that remind of an invoice, which must name the claim as the invoice did (domain.md §4 "Reminder":
# what the claim is for). Keyed by ``str`` so that a consumer reading a service type from an event
# can look it up; every ``ServiceType`` has a label (tests/invoicing/test_render.py). Co-billing
# keeps each line's service visible (domain.md §2 "Co-billing").
SERVICE_LABELS: Final[Mapping[str, str]] = {
    "water": "Vatten och avlopp",
    "waste": "Renhållning",
    "childcare": "Barnomsorg",
    "elderly_care": "Vård och omsorg",
    "housing_rent": "Bostadshyra",
    "premises_rent": "Lokalhyra",
    "music_school": "Musikskola",
    "hall_rental": "Hallhyra",
    "electricity_grid": "Elnät",
    "electricity_supply": "Elhandel",
    "food": "Livsmedel och måltider",
    "other": "Övrigt",
}

CustomerKind = Literal["person", "organisation"]

# What a line charges (domain.md §3: keep capital, interest and each kind of cost apart): the
# service's own price ("capital"), late interest put on a later invoice ("interest", outside the
# scope of VAT), or a fee ("fee"). Payments allocates each as a component of its own.
LineKind = Literal["capital", "interest", "fee"]


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


class CustomerDetailsChanged(Event):
    """A new name or address (the personal part is sealed like the registration's)."""

    event_type: ClassVar[str] = "CustomerDetailsChanged"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    reason: str
    personal: CustomerPersonalData | None


class CustomerPreferencesChanged(Event):
    """How the customer wants invoices and to pay: e-invoice (PEPPOL) and autogiro (seed 001:
    "Kunden skall ges möjlighet att betala med autogiro")."""

    event_type: ClassVar[str] = "CustomerPreferencesChanged"

    customer_id: str
    e_invoice: bool
    peppol_id: str | None = None
    autogiro: bool
    autogiro_payer_number: str | None = None


class PropertyOwnershipRecorded(Event):
    """Water and waste: the property owner is always liable (seed 001, domain.md §2)."""

    event_type: ClassVar[str] = "PropertyOwnershipRecorded"

    customer_id: str
    property_designation: str  # fastighetsbeteckning, e.g. "Svenljunga Kyrkan 1:23"
    owned_from: date
    owned_until: date | None = None


class ProtectedIdentityMarked(Event):
    """Sekretessmarkering or skyddad folkbokföring (domain.md §2): name and address must not leak;
    letters go through Skatteverket. Who set it and when are the envelope's actor and time."""

    event_type: ClassVar[str] = "ProtectedIdentityMarked"

    customer_id: str
    kind: Literal["sekretessmarkering", "skyddad_folkbokforing"]
    reason: str


class ProtectedIdentityCleared(Event):
    event_type: ClassVar[str] = "ProtectedIdentityCleared"

    customer_id: str
    reason: str


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    service_type: ServiceType
    quantity: Decimal
    unit_price_ore: int
    vat_rate: int
    net_ore: int
    # "capital" in every event stored before the field existed: v1 stays readable as it is.
    kind: LineKind = "capital"


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
    # The period billed (seed 001's billing periods per service); None in events stored before
    # the field existed, so v1 stays readable without an upcaster.
    billing_period_start: date | None = None
    billing_period_end: date | None = None
    # Water and waste: the property whose owner is liable (seed 001), when named or the only one
    # the customer owned on the invoice date; and, when no ownership was recorded, why the
    # customer was invoiced all the same and who said so. None in older events.
    property_designation: str | None = None
    owner_override_reason: str | None = None
    owner_override_by: str | None = None
    # Electricity and water: the supply point (anläggning) the invoice is for, as the
    # utility-disconnection context registered it (issue 16; the materiality assessment counts a
    # supply point's own claims only, domain.md §6). None in older events and for other services.
    supply_point_id: str | None = None


class CreditNoteIssued(Event):
    """A credit note (kreditfaktura) against an invoice: it lowers what is open on it. Its own
    serial number comes from the same series as invoices (seed 001: "Ett unikt löpnummer")."""

    event_type: ClassVar[str] = "CreditNoteIssued"

    credit_note_id: str
    invoice_id: str
    customer_id: str
    serial_number: int
    credit_note_number: str
    issued_on: date
    lines: tuple[InvoiceLine, ...]
    vat: tuple[VatBreakdown, ...]
    net_ore: int
    vat_ore: int
    total_ore: int  # positive: the amount taken off the invoice
    reason: str
    # The request it completes, who asked and who attested (seed 002: "korrekt attest"); None in
    # events stored before credit notes needed an attest.
    request_id: str | None = None
    requested_by: str | None = None
    attested_by: str | None = None


class InvoiceCancelled(Event):
    """Makulering (seed 002 lines 587-603): only while unpaid and not handed to the agency."""

    event_type: ClassVar[str] = "InvoiceCancelled"

    invoice_id: str
    customer_id: str
    cancelled_on: date
    reason: str
    request_id: str | None = None
    requested_by: str | None = None
    attested_by: str | None = None


class CreditNoteRequested(Event):
    """A credit note asked for; it is issued only once someone else with the right role attests
    it (seed 002 lines 587-603: "kreditering ... korrekt attest"). ``lines`` None credits all that
    is left. ``customer_kind`` tells the attester whether the invoice is to an organisation, one
    of the seed's checks."""

    event_type: ClassVar[str] = "CreditNoteRequested"

    request_id: str
    invoice_id: str
    customer_id: str
    department: str
    customer_kind: str | None  # CustomerKind; None when the customer is unknown
    requested_on: date
    requested_by: str  # the actor (role:scope:subject)
    requester_subject: str  # the person, for the four-eyes check
    reason: str
    total_ore: int  # what it would credit when asked for
    lines: tuple[InvoiceLine, ...] | None = None


class CancellationRequested(Event):
    """A cancellation (makulering) asked for; done only once attested by someone else with the
    right role, and only while the invoice is unpaid and not at the agency (seed 002)."""

    event_type: ClassVar[str] = "CancellationRequested"

    request_id: str
    invoice_id: str
    customer_id: str
    department: str
    customer_kind: str | None  # CustomerKind; None when the customer is unknown
    requested_on: date
    requested_by: str
    requester_subject: str
    reason: str
    total_ore: int  # what is open on the invoice when asked for


class CorrectionRequestAttested(Event):
    """A credit note or cancellation request attested: its ``CreditNoteIssued`` or
    ``InvoiceCancelled`` was appended with it."""

    event_type: ClassVar[str] = "CorrectionRequestAttested"

    request_id: str
    invoice_id: str
    attested_by: str
    attested_on: date


class CorrectionRequestRejected(Event):
    """The attester said no (or the request no longer holds): nothing changes on the invoice."""

    event_type: ClassVar[str] = "CorrectionRequestRejected"

    request_id: str
    invoice_id: str
    rejected_by: str
    rejected_on: date
    reason: str


class DueDatePostponed(Event):
    """Uppskov (seed 001): the invoice was unclear; the due date moves and late interest runs
    from the new date."""

    event_type: ClassVar[str] = "DueDatePostponed"

    invoice_id: str
    customer_id: str
    previous_due_date: date
    due_date: date
    reason: str


class DeferralGranted(Event):
    """Anstånd (seed 001): asked before the due date, at most 3 months by default, always noted
    in the ledger. Late interest still runs from ``interest_from`` (invoice date + 30 days by the
    seed's "Räntedebitering sker 30 dagar från fakturadatum"; a setting), never before the due
    date. An autogiro debit of the invoice is stopped (seed 001): ``autogiro_debit_stopped``
    tells payments not to debit it before ``deferred_until``. ``protected_identity``: the
    written confirmation (seed 000 §9) goes through Skatteverket's forwarding (domain.md §2).
    The fields after ``reason`` are absent from events stored before they existed."""

    event_type: ClassVar[str] = "DeferralGranted"

    invoice_id: str
    customer_id: str
    requested_on: date
    deferred_until: date
    interest_from: date
    reason: str
    registered_by: str | None = None  # the actor who registered the customer's request
    autogiro_debit_stopped: bool = False
    protected_identity: bool = False
    # A rent (domain.md §8 "Delegation"): whether the office deferred a tenancy's first rent
    # (double housing costs), and the department decision recorded for a deferral beyond the
    # office's delegation. Absent (False, None) from events stored before they existed.
    first_rent: bool = False
    department_decision: DepartmentDecision | None = None


class InvoiceDisputed(Event):
    """A disputed claim leaves the dunning flow until the dispute is resolved (domain.md §4)."""

    event_type: ClassVar[str] = "InvoiceDisputed"

    invoice_id: str
    customer_id: str
    disputed_on: date
    reason: str


class DisputeResolved(Event):
    event_type: ClassVar[str] = "DisputeResolved"

    invoice_id: str
    customer_id: str
    resolved_on: date
    outcome: Literal["customer_right", "claim_stands"]
    reason: str


class SmallAmountDeferred(Event):
    """An amount under the minimum (50 kr, a setting; domain.md §2) held for the customer's next
    invoice, where it becomes a line of its own with its own service."""

    event_type: ClassVar[str] = "SmallAmountDeferred"

    held_id: str
    customer_id: str
    department: str
    service_type: ServiceType
    invoice_date: date
    lines: tuple[InvoiceLine, ...]
    net_ore: int
    vat_ore: int
    total_ore: int
    policy: Literal["hold_for_next_invoice", "accumulate"]
    source_reference: str | None = None


class LateInterestHeld(Event):
    """Late interest dunning charged on a paid invoice, or the fee of a reminder it sent (the
    line's ``kind`` says which), held for the customer's next invoice as a line of its own (seed
    001: "beloppet läggs på nästkommande faktura"). The name is the first use's; the event is
    every charge of dunning's that waits for the next invoice."""

    event_type: ClassVar[str] = "LateInterestHeld"

    held_id: str
    customer_id: str
    invoice_id: str
    line: InvoiceLine


class SmallAmountsInvoiced(Event):
    """Held small amounts went onto an invoice (their lines are on it)."""

    event_type: ClassVar[str] = "SmallAmountsInvoiced"

    customer_id: str
    invoice_id: str
    held_ids: tuple[str, ...]
    total_ore: int


class SmallAmountDropped(Event):
    """A per-service setting may drop small amounts instead ("normalt inte debiteras")."""

    event_type: ClassVar[str] = "SmallAmountDropped"

    customer_id: str
    department: str
    service_type: ServiceType
    total_ore: int
    source_reference: str | None = None


CONTRACTS: tuple[type[Event], ...] = (
    CustomerRegistered,
    CustomerDetailsChanged,
    CustomerPreferencesChanged,
    PropertyOwnershipRecorded,
    ProtectedIdentityMarked,
    ProtectedIdentityCleared,
    InvoiceIssued,
    CreditNoteIssued,
    InvoiceCancelled,
    CreditNoteRequested,
    CancellationRequested,
    CorrectionRequestAttested,
    CorrectionRequestRejected,
    DueDatePostponed,
    DeferralGranted,
    InvoiceDisputed,
    DisputeResolved,
    SmallAmountDeferred,
    LateInterestHeld,
    SmallAmountsInvoiced,
    SmallAmountDropped,
)
