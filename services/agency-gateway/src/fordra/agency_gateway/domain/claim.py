"""The claim as an agency gets it (issue 15 "Outbound"; domain.md §5, seed 003 §5, seed 001).

An inkassokrav must state the basis of the claim in words, not only an invoice number, and the
amount split into capital, interest and costs (inkassolagen 5 §, domain.md §5); the agency writes
it from what we send. So the gateway keeps, in its own log, what it learns of each invoice from
invoicing's public ``InvoiceIssued`` (``AgencyInvoiceNoted`` on ``agency-invoice-<invoice id>``:
contexts never read each other's stores) and which case it went to (``AgencyInvoiceHandedOver``),
and ``claim_for_agency`` puts the message together from those facts, dunning's ``HandedToAgency``
and the gateway's copy of the debtor (domain/debtors.py).

A protected identity (domain.md §2) goes with the marking and the identity number only: no name
and no address, since the agency's files and letters must not carry them; the agency writes
through Skatteverket's forwarding instead.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import SERVICE_LABELS, CustomerKind, PostalAddress
from fordra.kernel.events import Event

__all__ = [
    "CLAIM_EVENTS",
    "AgencyClaim",
    "AgencyDebtor",
    "AgencyInvoiceHandedOver",
    "AgencyInvoiceNoted",
    "HandoverFacts",
    "InvoiceFacts",
    "basis_in_words",
    "claim_for_agency",
    "invoice_stream",
]

IdKind = Literal["personnummer", "samordningsnummer", "organisationsnummer"]


def invoice_stream(invoice_id: str) -> str:
    """The gateway's own stream of what it knows of one invoice."""
    return f"agency-invoice-{invoice_id}"


class AgencyInvoiceNoted(Event):
    """What the gateway keeps of an issued invoice to describe the claim to an agency (from
    invoicing's ``InvoiceIssued``; no personal data: the debtor is a customer id here)."""

    event_type: ClassVar[str] = "AgencyInvoiceNoted"

    invoice_id: str
    customer_id: str
    invoice_number: str
    ocr: str
    service_type: str
    invoice_date: date
    due_date: date
    total_ore: int
    # What the lines say the invoice is for (capital lines only, in order, without repeats).
    descriptions: tuple[str, ...]
    billing_period_start: date | None = None
    billing_period_end: date | None = None
    property_designation: str | None = None


class AgencyInvoiceHandedOver(Event):
    """The invoice was handed to an agency as case ``case_id`` (dunning's ``handover_id``): a
    payment of it received directly from now on is reported to that agency (domain.md §5)."""

    event_type: ClassVar[str] = "AgencyInvoiceHandedOver"

    invoice_id: str
    case_id: str
    agency: str
    handed_on: date


CLAIM_EVENTS: tuple[type[Event], ...] = (AgencyInvoiceNoted, AgencyInvoiceHandedOver)


class InvoiceFacts(BaseModel):
    """The invoice as the gateway knows it (folded from ``agency-invoice-<id>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    noted: AgencyInvoiceNoted | None = None
    case_id: str | None = None
    agency: str | None = None

    @classmethod
    def fold(cls, events: list[Event]) -> InvoiceFacts:
        facts = cls()
        for event in events:
            if isinstance(event, AgencyInvoiceNoted):
                facts = facts.model_copy(update={"noted": event})
            elif isinstance(event, AgencyInvoiceHandedOver):
                facts = facts.model_copy(update={"case_id": event.case_id, "agency": event.agency})
        return facts


class HandoverFacts(BaseModel):
    """What dunning's ``HandedToAgency`` says, kept as the queued claim's payload (no personal
    data: the payload of a stored event never holds any)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    invoice_id: str
    customer_id: str
    service_type: str
    handed_on: date
    capital_ore: int
    interest_ore: int
    fee_ore: int
    model: Literal["reminder_then_handover", "handover_then_agency_reminder"]


class AgencyDebtor(BaseModel):
    """The debtor as an agency may see them (domain.md §2). A protected identity: the marking
    and the identity number (the agency needs it to reach Kronofogden and Skatteverket's
    forwarding), never a name or an address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    kind: CustomerKind
    id_kind: IdKind
    id_number: str
    protected_identity: bool
    name: str | None = None
    address: PostalAddress | None = None


class AgencyClaim(BaseModel):
    """One claim as the agency gets it (issue 15 "Outbound"): every amount in öre, capital,
    interest and costs apart; the invoice's and the due date; the basis in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    invoice_id: str
    invoice_number: str
    ocr: str
    service_type: str
    basis: str
    invoice_date: date
    due_date: date
    handed_over_on: date
    capital_ore: int
    interest_ore: int
    costs_ore: int
    total_ore: int
    currency: Literal["SEK"] = "SEK"
    # seed 004: unreminded, so the agency sends the reminder (and keeps its fee).
    agency_sends_reminder: bool
    debtor: AgencyDebtor


def basis_in_words(noted: AgencyInvoiceNoted) -> str:
    """The basis of the claim in words (domain.md §5, inkassolagen 5 §), in Swedish since the
    agency quotes it to the debtor: the service, what the lines say, the period or property,
    the invoice's number and dates. Example: "Lokalhyra: Lokalhyra mars. Faktura 1001 daterad
    2026-03-02, förfallodag 2026-04-01." """
    label = SERVICE_LABELS.get(noted.service_type, noted.service_type)
    what = f"{label}: {'; '.join(noted.descriptions)}" if noted.descriptions else label
    parts = [f"{what}."]
    if noted.billing_period_start and noted.billing_period_end:
        parts.append(
            f"Period {noted.billing_period_start.isoformat()}"
            f"–{noted.billing_period_end.isoformat()}."
        )
    if noted.property_designation:
        parts.append(f"Fastighet {noted.property_designation}.")
    parts.append(
        f"Faktura {noted.invoice_number} daterad {noted.invoice_date.isoformat()}, "
        f"förfallodag {noted.due_date.isoformat()}."
    )
    return " ".join(parts)


def claim_for_agency(
    handover: HandoverFacts, noted: AgencyInvoiceNoted, debtor: AgencyDebtor
) -> AgencyClaim:
    """The claim the agency gets: the amounts are dunning's at the handover (what was still
    open then), the description the invoice's (domain.md §5; seed 003 §5)."""
    if noted.invoice_id != handover.invoice_id:
        raise ValueError(f"invoice {noted.invoice_id} is not the handed-over {handover.invoice_id}")
    if debtor.protected_identity and (debtor.name is not None or debtor.address is not None):
        # domain.md §2: must not leak into agency files; the caller builds the debtor, so this
        # guards the rule itself rather than trusting every caller.
        raise ValueError("a protected identity's name and address never go to an agency")
    return AgencyClaim(
        case_id=handover.case_id,
        invoice_id=handover.invoice_id,
        invoice_number=noted.invoice_number,
        ocr=noted.ocr,
        service_type=handover.service_type,
        basis=basis_in_words(noted),
        invoice_date=noted.invoice_date,
        due_date=noted.due_date,
        handed_over_on=handover.handed_on,
        capital_ore=handover.capital_ore,
        interest_ore=handover.interest_ore,
        costs_ore=handover.fee_ore,
        total_ore=handover.capital_ore + handover.interest_ore + handover.fee_ore,
        agency_sends_reminder=handover.model == "handover_then_agency_reminder",
        debtor=debtor,
    )
