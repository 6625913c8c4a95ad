"""The invoice as a person reads it (domain.md §2 "Invoice content", "Protected identity", "How
to pay"; seed 001 "Uppgifter fakturan bör innehålla").

``build_invoice_document`` decides *what* the invoice says, once, as labelled Swedish text: the
HTML and the PDF renderers (adapters/render.py) only lay it out, so both carry the same items and
the protected-identity rule cannot be forgotten by one of them.

Seed 001's two lists, and where each item is:
  Fakturadatum -> ``details``; Kundens namn, Fakturamottagare, fullständig adress -> ``recipient``;
  eventuell referens, beställare/kontaktperson -> ``details`` ("Er referens"); vad fakturan avser
  och belopp -> ``concerns``, ``lines``, ``totals``; betalningsvillkor and dröjsmålsränta ->
  ``terms``; hur fakturan kan betalas (bankgiro, postgiro/plusgiro, autogiro, swift) ->
  ``payment``, ``payment_notes``; F-skattebevis, utställarens organisationsnummer, namn och adress
  -> ``issuer_entries``, ``issuer_name``, ``issuer_address``.
  With VAT: unikt löpnummer -> "Fakturanummer" (the serial); mängd och art -> ``lines``
  (Antal, Beskrivning); pris per enhet per skattesats -> ``lines`` (À-pris, Moms); rabatt per
  skattesats -> ``vat_rows`` (discount lines are lines of their own with a negative amount);
  moms i % och kr per momssats -> ``vat_rows``.

Protected identity (domain.md §2): the customer's name, address and reference never appear; the
document opens with Skatteverket's forwarding sheet instead (outer envelope to Skatteverket, the
sealed inner one marked with the personnummer), and the invoice itself says only that Skatteverket
forwards it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fordra.contracts.invoicing import (
    SERVICE_LABELS,
    CustomerKind,
    CustomerRegistered,
    InvoiceIssued,
    PostalAddress,
)
from fordra.invoicing.domain.customer_state import CustomerState
from fordra.invoicing.domain.issuer import IssuerDetails
from fordra.kernel.documents import (
    PROTECTED_RECIPIENT,
    Entry,
    ForwardingSheet,
    forwarding_sheet,
    postal_lines,
)
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.identity import IdentityKind, IdentityNumber
from fordra.kernel.money import format_sek

__all__ = [
    "MASKED_ID_NUMBER",
    "SERVICE_LABELS",
    "CustomerView",
    "DocumentLine",
    "Entry",
    "ForwardingSheet",
    "InvoiceDocument",
    "VatRow",
    "build_invoice_document",
    "check_e_invoice_recipient_is_organisation",
]

IdKind = Literal["personnummer", "samordningsnummer", "organisationsnummer"]
# What the forwarding sheet shows in place of a protected person's number to a reader who may not
# see it: not even the birth date, which with the municipality narrows down who is protected.
MASKED_ID_NUMBER: Final = "XXXXXXXX-XXXX"

_ID_LABELS: Final[dict[IdKind, str]] = {
    "personnummer": "Personnummer",
    "samordningsnummer": "Samordningsnummer",
    "organisationsnummer": "Organisationsnummer",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerView(_Frozen):
    """What the invoice may know of the customer.

    ``name`` and ``address`` may be left out for a customer with a protected identity: the
    document never prints them, so a caller need not unseal them at all (and ``from_registered``
    does not copy them). For everyone else they are required: seed 001 wants "Kundens namn" and
    "Kundens fullständiga adress" on the invoice.
    """

    customer_id: str
    kind: CustomerKind
    id_number: str  # formatted: 19121212-1212, 556036-0793; MASKED_ID_NUMBER when hidden
    # A protected person's number, hidden from a reader who may not see it (the sheet then says
    # who may print it).
    id_number_hidden: bool = False
    id_kind: IdKind | None = None  # None: "personnummer" for a person, else "organisationsnummer"
    name: str | None = None
    address: PostalAddress | None = None
    protected_identity: bool = False
    e_invoice: bool = False
    # The customer's PEPPOL participant id, "scheme:value" (e.g. "0088:7300010000001"); None: the
    # organisationsnummer under scheme 0007.
    peppol_id: str | None = Field(default=None, pattern=r"^\d{4}:[A-Za-z0-9.-]{1,50}$")
    # Pays by autogiro: the invoice is then the notice of the amount and date to be debited
    # (domain.md §9: at least 8 banking days before).
    autogiro: bool = False
    # Seed 001: "Fakturamottagare och eventuell referens", "Eventuell beställare/kontaktpersons
    # namn": the customer's own reference ("Er referens"); for an e-invoice, the buyer reference.
    reference: str | None = None

    @model_validator(mode="after")
    def _name_and_address_unless_protected(self) -> CustomerView:
        if not self.protected_identity and (self.name is None or self.address is None):
            raise ValueError("a customer without a protected identity needs a name and an address")
        return self

    @property
    def id_label(self) -> str:
        kind: IdKind = self.id_kind or (
            "personnummer" if self.kind == "person" else "organisationsnummer"
        )
        return _ID_LABELS[kind]

    @classmethod
    def from_state(
        cls,
        state: CustomerState,
        *,
        reference: str | None = None,
        reveal_protected_id_number: bool = False,
    ) -> CustomerView:
        """The view of a customer as the register holds them; a protected identity's name,
        address and reference are not copied (domain.md §2: they must not leak into anything
        but the sealed record). Their personnummer goes on the forwarding sheet only for a
        reader who may see it (``reveal_protected_id_number``); anyone else sees it masked."""
        if state.personal is None:
            raise DomainRuleViolation(
                "the customer's personal data has been erased; nothing can be sent to them",
                field="customer_id",
                rule="customer_not_forgotten",
            )
        identity = IdentityNumber(IdentityKind(state.id_kind), state.personal.id_number)
        protected = state.protected_identity
        # model_validate: the state keeps kind and id_kind as plain strings; this checks them.
        return cls.model_validate(
            {
                "customer_id": state.customer_id,
                "kind": state.kind,
                "id_number": identity.formatted
                if reveal_protected_id_number or not protected
                else MASKED_ID_NUMBER,
                "id_number_hidden": protected and not reveal_protected_id_number,
                "id_kind": state.id_kind,
                "name": None if protected else state.personal.name,
                "address": None if protected else state.personal.address,
                "protected_identity": protected,
                "e_invoice": state.e_invoice,
                "peppol_id": state.peppol_id,
                "autogiro": state.autogiro,
                "reference": None if protected else reference,
            }
        )

    @classmethod
    def from_registered(
        cls,
        event: CustomerRegistered,
        *,
        reference: str | None = None,
        reveal_protected_id_number: bool = False,
    ) -> CustomerView:
        """The view of a customer right after registration (no preferences yet)."""
        return cls.from_state(
            CustomerState(
                customer_id=event.customer_id,
                kind=event.kind,
                id_kind=event.id_kind,
                personal=event.personal,
                protected_identity=event.protected_identity,
            ),
            reference=reference,
            reveal_protected_id_number=reveal_protected_id_number,
        )


class DocumentLine(_Frozen):
    description: str
    service: str
    quantity: str
    unit_price: str
    vat_rate: str
    amount: str


class VatRow(_Frozen):
    """Seed 001: "Debiterad moms i % och kr, specificerad för varje momssats"."""

    rate: str
    base: str
    vat: str
    # Seed 001: "Rabatt ... för varje beskattningssats": the discount lines at this rate, if any.
    discount: str | None = None


class InvoiceDocument(_Frozen):
    title: str
    invoice_number: str
    issuer_name: str
    issuer_address: tuple[str, ...]
    recipient_heading: str
    recipient: tuple[str, ...]
    details: tuple[Entry, ...]
    concerns: Entry
    line_headers: tuple[str, ...]
    lines: tuple[DocumentLine, ...]
    vat_headers: tuple[str, ...]
    vat_rows: tuple[VatRow, ...]
    totals: tuple[Entry, ...]
    amount_due: Entry
    payment_heading: str
    payment: tuple[Entry, ...]
    payment_notes: tuple[str, ...]
    terms: tuple[Entry, ...]
    issuer_entries: tuple[Entry, ...]
    notes: tuple[str, ...]
    forwarding: ForwardingSheet | None
    protected_identity: bool


def check_e_invoice_recipient_is_organisation(customer: CustomerView) -> None:
    """A PEPPOL e-invoice goes to an organisation's electronic address (its orgnr, scheme 0007).
    A person has none, and a personnummer must not be sent as one; a protected identity never
    leaves the sealed record (domain.md §2)."""
    if customer.kind != "organisation" or customer.protected_identity:
        raise DomainRuleViolation(
            "a PEPPOL e-invoice can only be sent to an organisation; send a person a paper or PDF "
            "invoice",
            field="customer_id",
            rule="e_invoice_recipient_is_organisation",
        )


def _quantity(value: Decimal) -> str:
    # "1", "2,5", "0,125": no trailing zeros, decimal comma (Swedish style).
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def _recipient(customer: CustomerView) -> tuple[str, ...]:
    # CustomerView's validator guarantees a name and an address unless the identity is protected.
    if customer.protected_identity or customer.name is None or customer.address is None:
        return PROTECTED_RECIPIENT
    return (customer.name, *postal_lines(customer.address))


def printed_id_number(customer: CustomerView) -> str:
    """As much of the identity number as the invoice's reader needs (issue 18): a person's birth
    date tells a household's members apart, and the last four digits, which make it an
    identifier someone else could use, are printed as "XXXX" (19121212-XXXX). An
    organisationsnummer is public and prints whole; the forwarding sheet's inner envelope keeps
    the whole personnummer, which Skatteverket needs."""
    if customer.kind != "person" or customer.id_number_hidden:
        return customer.id_number
    return customer.id_number[:-4] + "XXXX"


def _details(invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails) -> list[Entry]:
    details = [
        Entry(label="Fakturanummer", value=invoice.invoice_number),
        Entry(label="Fakturadatum", value=invoice.invoice_date.isoformat()),
        Entry(label="Förfallodatum", value=invoice.due_date.isoformat()),
        Entry(label="OCR-nummer", value=invoice.ocr),
        Entry(label="Kundnummer", value=customer.customer_id),
    ]
    if invoice.billing_period_start is not None and invoice.billing_period_end is not None:
        # Seed 001's billing periods per service: what the invoice covers is printed on it.
        details.append(
            Entry(
                label="Period",
                value=f"{invoice.billing_period_start.isoformat()} – "
                f"{invoice.billing_period_end.isoformat()}",
            )
        )
    if invoice.property_designation:
        # Water and waste: the property whose owner is liable (seed 001).
        details.append(Entry(label="Fastighet", value=invoice.property_designation))
    if not customer.protected_identity:
        # The personnummer of a protected person goes on the sealed inner envelope only.
        details.append(Entry(label=customer.id_label, value=printed_id_number(customer)))
        if customer.reference:
            details.append(Entry(label="Er referens", value=customer.reference))
    details.append(Entry(label="Vår referens", value=issuer.contact.unit))
    return details


def _vat_rows(invoice: InvoiceIssued) -> tuple[VatRow, ...]:
    rows = []
    for breakdown in invoice.vat:
        discount = sum(
            line.net_ore
            for line in invoice.lines
            if line.vat_rate == breakdown.vat_rate and line.net_ore < 0
        )
        rows.append(
            VatRow(
                rate=f"{breakdown.vat_rate} %",
                base=format_sek(breakdown.net_ore),
                vat=format_sek(breakdown.vat_ore),
                discount=format_sek(discount) if discount else None,
            )
        )
    return tuple(rows)


def _payment(
    invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> tuple[list[Entry], list[str]]:
    total = format_sek(invoice.total_ore)
    due = invoice.due_date.isoformat()
    entries = [Entry(label="Bankgiro", value=issuer.bankgiro)]
    if issuer.plusgiro:
        entries.append(Entry(label="Plusgiro", value=issuer.plusgiro))
    entries += [
        Entry(label="OCR-nummer", value=invoice.ocr),
        Entry(label="Förfallodatum", value=due),
        Entry(label="IBAN", value=issuer.iban_grouped),
        Entry(label="BIC/SWIFT", value=issuer.bic),
    ]
    if customer.autogiro:
        # The invoice is the autogiro notice of amount and date (domain.md §9).
        return entries, [
            f"Autogiro: {total} dras från ditt konto på förfallodagen {due}. Du behöver inte "
            "betala på annat sätt.",
        ]
    giro = "bankgiro" if issuer.plusgiro is None else "bankgiro eller plusgiro"
    notes = [
        f"Betala {total} till {giro} senast {due} och ange OCR-nummer {invoice.ocr}.",
        "Betalning från utlandet: använd IBAN och BIC/SWIFT ovan och ange OCR-numret som referens.",
        # Seed 001: "Kunden skall ges möjlighet att betala med autogiro".
        f"Autogiro: {issuer.autogiro_offer}",
    ]
    return entries, notes


def _issuer_address(issuer: IssuerDetails) -> tuple[str, ...]:
    return postal_lines(issuer.postal_address)


def _issuer_entries(issuer: IssuerDetails) -> list[Entry]:
    entries = [
        Entry(label="Utställare", value=issuer.name),
        Entry(label="Adress", value=", ".join(_issuer_address(issuer))),
        Entry(label="Organisationsnummer", value=issuer.organisation_number),
        Entry(label="Momsregistreringsnummer", value=issuer.vat_number),
        Entry(label="F-skatt", value=issuer.f_tax_statement),
        Entry(label="Kontakt", value=issuer.contact.unit),
        Entry(label="Telefon", value=issuer.contact.phone),
        Entry(label="E-post", value=issuer.contact.email),
    ]
    if issuer.contact.website:
        entries.append(Entry(label="Webbplats", value=issuer.contact.website))
    return entries


def _forwarding_sheet(customer: CustomerView, issuer: IssuerDetails) -> ForwardingSheet:
    return forwarding_sheet(
        id_label=customer.id_label,
        id_number=customer.id_number,
        id_number_hidden=customer.id_number_hidden,
        sender_name=issuer.name,
        sender_address=issuer.postal_address,
        outer_address=issuer.forwarding_address,
        what="fakturan",
    )


def build_invoice_document(
    invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> InvoiceDocument:
    """Everything the printed invoice says, in Swedish, amounts formatted with ``format_sek``."""
    if customer.customer_id != invoice.customer_id:
        # A mix-up here would print one customer's invoice under another's name.
        raise DomainRuleViolation(
            f"invoice {invoice.invoice_number} belongs to customer {invoice.customer_id}, "
            f"not {customer.customer_id}",
            field="customer_id",
            rule="invoice_rendered_for_its_customer",
        )
    payment, payment_notes = _payment(invoice, customer, issuer)
    notes = []
    if customer.e_invoice:
        notes.append("Fakturan skickas även som e-faktura.")
    return InvoiceDocument(
        title="Faktura",
        invoice_number=invoice.invoice_number,
        issuer_name=issuer.name,
        issuer_address=_issuer_address(issuer),
        recipient_heading="Fakturamottagare",
        recipient=_recipient(customer),
        details=tuple(_details(invoice, customer, issuer)),
        concerns=Entry(label="Avser", value=SERVICE_LABELS[invoice.service_type]),
        line_headers=("Beskrivning", "Verksamhet", "Antal", "À-pris", "Moms", "Belopp"),
        lines=tuple(
            DocumentLine(
                description=line.description,
                service=SERVICE_LABELS[line.service_type],
                quantity=_quantity(line.quantity),
                unit_price=format_sek(line.unit_price_ore),
                vat_rate=f"{line.vat_rate} %",
                amount=format_sek(line.net_ore),
            )
            for line in invoice.lines
        ),
        vat_headers=("Momssats", "Underlag", "Moms", "Varav rabatt"),
        vat_rows=_vat_rows(invoice),
        totals=(
            Entry(label="Summa exkl. moms", value=format_sek(invoice.net_ore)),
            Entry(label="Summa moms", value=format_sek(invoice.vat_ore)),
            Entry(label="Att betala", value=format_sek(invoice.total_ore)),
        ),
        amount_due=Entry(label="Att betala", value=format_sek(invoice.total_ore)),
        payment_heading="Så betalar du",
        payment=tuple(payment),
        payment_notes=tuple(payment_notes),
        terms=(
            Entry(label="Betalningsvillkor", value=f"{invoice.payment_terms_days} dagar netto"),
            Entry(label="Dröjsmålsränta", value=issuer.late_interest_terms),
        ),
        issuer_entries=tuple(_issuer_entries(issuer)),
        notes=tuple(notes),
        forwarding=_forwarding_sheet(customer, issuer) if customer.protected_identity else None,
        protected_identity=customer.protected_identity,
    )
