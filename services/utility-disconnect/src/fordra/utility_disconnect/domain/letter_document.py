"""A disconnection letter as its recipient gets it (domain.md §2 "Protected identity", §6-7).

``build_letter_document`` lays a recorded letter's facts (domain/letters.py, ``LetterFacts``) out
for the kernel's letter layout (``fordra.kernel.letter_layout``, shared with dunning's letters):
the sender (the municipality, invoicing's issuer), the recipient in the envelope's window, the
facts' text and tables, the costs of the collection case in a table of their own (apart from the
demand, seed 003 lines 39-41), how to pay and the sender's footer. It adds no wording of the
letter's own beyond headings and the sender's details, so the rules on the facts' wording
(``check_no_social_services_mention``, ``check_notice_carries_prescribed_text``) hold for the
printed letter too; both are run again here.

The recipient (``recipient_for_letter``) is looked up when the letter is read: the customer (the
property owner for water) as this context's sealed copy of the register names them now. A
protected identity (domain.md §2) never has the name or the address printed, nor the supply
point's site address or, for water, the property's designation (where the person lives): the
window says Skatteverket forwards the letter,
and a forwarding sheet comes first, the personnummer on it shown only to the protected-identity
officer (``reveal_id_number``), as dunning's letters do. A forgotten or unknown customer gets a
letter without personal data, marked as not for the post.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.invoicing import CustomerPersonalData, PostalAddress
from fordra.kernel.documents import (
    PROTECTED_RECIPIENT,
    Entry,
    ForwardingSheet,
    forwarding_sheet,
    postal_lines,
)
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.kernel.identity import IdentityKind, IdentityNumber
from fordra.kernel.money import format_sek
from fordra.utility_disconnect.domain.letters import (
    LetterFacts,
    LetterKind,
    LetterTable,
    check_no_social_services_mention,
    check_notice_carries_prescribed_text,
    long_date,
)

# Letters to a person with a protected identity go through Skatteverket (domain.md §2).
SKATTEVERKET_FORWARDING_ADDRESS: Final[tuple[str, ...]] = (
    "Skatteverket",
    "Box 2820",
    "403 20 Göteborg",
)
MASKED_ID_NUMBER: Final[str] = "XXXXXXXX-XXXX"
_UNKNOWN_RECIPIENT_NOTE: Final[str] = (
    "Mottagaren saknas i kundregistret (eller har glömts): brevet kan inte skickas."
)


class ProtectedRecipientShown(Event):
    """A protected person's personnummer was shown on a disconnection letter's forwarding sheet:
    every such look leaves a trace (domain.md §2: access "restricted to a small role and
    audited")."""

    event_type: ClassVar[str] = "DisconnectionProtectedRecipientShown"

    customer_id: str
    letter_id: str
    purpose: str


LETTER_DOCUMENT_EVENTS: Final[tuple[type[Event], ...]] = (ProtectedRecipientShown,)


def protected_access_stream(customer_id: str) -> str:
    return f"disconnection-protected-access-{customer_id}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SenderContact(_Frozen):
    unit: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    email: str = Field(min_length=3)
    website: str | None = None


class LetterSender(_Frozen):
    """The municipality that sends the letter: invoicing's issuer, so that the letter names the
    same bankgiro and address as the invoices it demands (``from_issuer_fields``)."""

    name: str = Field(min_length=1)
    organisation_number: str = Field(min_length=10)
    postal_address: PostalAddress
    bankgiro: str = Field(min_length=7)
    plusgiro: str | None = None
    iban: str | None = None
    bic: str | None = None
    forwarding_address: tuple[str, ...] = SKATTEVERKET_FORWARDING_ADDRESS
    contact: SenderContact

    @classmethod
    def from_issuer_fields(cls, issuer: Mapping[str, Any]) -> LetterSender:
        """From a dump of invoicing's issuer settings: the fields a letter needs."""
        return cls.model_validate({k: v for k, v in issuer.items() if k in cls.model_fields})


class LetterRecipient(_Frozen):
    """What a letter may print of its recipient (the module docstring)."""

    customer_id: str
    route: Literal["known", "protected", "unknown"]
    name: str | None = None
    address: PostalAddress | None = None
    id_number: str | None = None  # only for the protected route: formatted or masked
    id_number_hidden: bool = False
    site_address: str | None = None  # the supply point's, only for the known route


def recipient_for_letter(
    customer_id: str,
    personal: CustomerPersonalData | None,
    *,
    protected_identity: bool,
    site_address: str | None,
    reveal_id_number: bool,
) -> LetterRecipient:
    """The recipient as the letter may show them (domain.md §2 "Protected identity")."""
    if personal is None:
        return LetterRecipient(customer_id=customer_id, route="unknown")
    if protected_identity:
        return LetterRecipient(
            customer_id=customer_id,
            route="protected",
            id_number=_formatted(personal.id_number) if reveal_id_number else MASKED_ID_NUMBER,
            id_number_hidden=not reveal_id_number,
        )
    return LetterRecipient(
        customer_id=customer_id,
        route="known",
        name=personal.name,
        address=personal.address,
        site_address=site_address,
    )


def _formatted(id_number: str) -> str:
    """A person's number as people write it ("19121212-1212"); as stored when not 12 digits."""
    try:
        return IdentityNumber(IdentityKind.PERSONNUMMER, id_number).formatted
    except ValueError:
        return id_number


class DisconnectionLetterDocument(_Frozen):
    """Everything a disconnection letter prints, in Swedish, in the shape of the kernel's
    ``LetterLayout`` (the same field names as dunning's ``LetterDocument``)."""

    letter_id: str
    kind: LetterKind
    customer_id: str
    title: str
    sent_on: date
    creditor_name: str
    creditor_address: tuple[str, ...]
    recipient_heading: str
    recipient: tuple[str, ...]
    details: tuple[Entry, ...]
    heading: str
    paragraphs: tuple[str, ...]
    tables: tuple[LetterTable, ...]
    summary: tuple[Entry, ...]
    payment_heading: str
    payment: tuple[Entry, ...]
    payment_notes: tuple[str, ...]
    next_step: tuple[str, ...]
    conditions_heading: str
    conditions: tuple[str, ...]
    signature: tuple[str, ...]
    closing: tuple[str, ...]
    creditor_entries: tuple[Entry, ...]
    forwarding: ForwardingSheet | None
    sendable: bool
    mail_room_note: str | None


def _recipient_lines(recipient: LetterRecipient) -> tuple[str, ...]:
    if recipient.route == "protected":
        return PROTECTED_RECIPIENT
    if recipient.route == "unknown" or recipient.address is None or recipient.name is None:
        return ()
    return (recipient.name, *postal_lines(recipient.address))


def _payment(facts: LetterFacts, sender: LetterSender) -> tuple[Entry, ...]:
    entries = [Entry(label="Bankgiro", value=sender.bankgiro)]
    if sender.plusgiro:
        entries.append(Entry(label="Plusgiro", value=sender.plusgiro))
    if sender.iban:
        entries.append(Entry(label="IBAN", value=sender.iban))
    if sender.bic:
        entries.append(Entry(label="BIC", value=sender.bic))
    entries.append(Entry(label="Belopp", value=format_sek(facts.demand_ore)))
    if facts.pay_by is not None:
        entries.append(Entry(label="Betala senast", value=long_date(facts.pay_by)))
    return tuple(entries)


def _sender_entries(sender: LetterSender) -> tuple[Entry, ...]:
    entries = [
        Entry(label="Avsändare", value=sender.name),
        Entry(label="Adress", value=", ".join(postal_lines(sender.postal_address))),
        Entry(label="Organisationsnummer", value=sender.organisation_number),
        Entry(label="Bankgiro", value=sender.bankgiro),
        Entry(label="Kontakt", value=sender.contact.unit),
        Entry(label="Telefon", value=sender.contact.phone),
        Entry(label="E-post", value=sender.contact.email),
    ]
    if sender.contact.website:
        entries.append(Entry(label="Webbplats", value=sender.contact.website))
    return tuple(entries)


def _costs_table(facts: LetterFacts) -> tuple[LetterTable, ...]:
    """The costs of the collection case, apart from what avoids the disconnection."""
    if not facts.costs:
        return ()
    return (
        LetterTable(
            heading="Kostnader i inkassoärendet",
            headers=("Kostnad", "Belopp"),
            rows=tuple((c.label, format_sek(c.amount_ore)) for c in facts.costs),
            numeric_from=1,
        ),
    )


# What a protected owner's letter prints instead of the property's designation.
HIDDEN_PROPERTY: Final[str] = "(skyddad uppgift)"


def _without_property(facts: LetterFacts) -> LetterFacts:
    """A protected owner's water letter without the property's designation (domain.md §2: it
    tells where the person lives as well as an address would): the designation, which the water
    letter names in its details as the ``Anläggning``, is replaced wherever the letter prints it."""
    designation = next((e.value for e in facts.details if e.label == "Anläggning"), None)
    if not designation:
        return facts

    def hide(text: str) -> str:
        return text.replace(designation, HIDDEN_PROPERTY)

    def entries(items: tuple[Entry, ...]) -> tuple[Entry, ...]:
        return tuple(Entry(label=e.label, value=hide(e.value)) for e in items)

    return facts.model_copy(
        update={
            "title": hide(facts.title),
            "heading": hide(facts.heading),
            "details": entries(facts.details),
            "paragraphs": tuple(hide(p) for p in facts.paragraphs),
            "summary": entries(facts.summary),
            "next_step": tuple(hide(p) for p in facts.next_step),
            "closing": tuple(hide(p) for p in facts.closing),
            "tables": tuple(
                t.model_copy(
                    update={
                        "heading": hide(t.heading),
                        "rows": tuple(tuple(hide(c) for c in row) for row in t.rows),
                    }
                )
                for t in facts.tables
            ),
        }
    )


def build_letter_document(
    facts: LetterFacts, recipient: LetterRecipient, sender: LetterSender
) -> DisconnectionLetterDocument:
    """The letter as printed for ``recipient``, after the rules on its wording once more."""
    if recipient.customer_id != facts.customer_id:
        # A mix-up here would send one customer's letter under another's name.
        raise DomainRuleViolation(
            f"letter {facts.letter_id} is to customer {facts.customer_id}, "
            f"not {recipient.customer_id}",
            field="customer_id",
            rule="letter_rendered_for_its_customer",
        )
    check_no_social_services_mention(facts)
    check_notice_carries_prescribed_text(facts)
    if recipient.route == "protected" and facts.utility == "water":
        facts = _without_property(facts)
    details = list(facts.details)
    if recipient.route == "known" and recipient.site_address and facts.utility == "electricity":
        details.append(Entry(label="Anläggningsadress", value=recipient.site_address))
    forwarding = None
    if recipient.route == "protected":
        forwarding = forwarding_sheet(
            id_label="Personnummer",
            id_number=recipient.id_number or MASKED_ID_NUMBER,
            id_number_hidden=recipient.id_number_hidden,
            sender_name=sender.name,
            sender_address=sender.postal_address,
            outer_address=sender.forwarding_address,
            what=f"brevet ({facts.title.lower()})",
        )
    return DisconnectionLetterDocument(
        letter_id=facts.letter_id,
        kind=facts.kind,
        customer_id=facts.customer_id,
        title=facts.title,
        sent_on=facts.sent_on,
        creditor_name=sender.name,
        creditor_address=postal_lines(sender.postal_address),
        recipient_heading=facts.recipient_heading,
        recipient=_recipient_lines(recipient),
        details=tuple(details),
        heading=facts.heading,
        paragraphs=facts.paragraphs,
        tables=(*facts.tables, *_costs_table(facts)),
        summary=facts.summary,
        payment_heading="Så betalar du",
        payment=_payment(facts, sender),
        payment_notes=(),
        next_step=facts.next_step,
        conditions_heading="Villkor",
        conditions=(),
        signature=(),
        closing=(
            *facts.closing,
            f"Kontakt: {sender.contact.unit}, telefon {sender.contact.phone}, e-post "
            f"{sender.contact.email}.",
            f"Med vänlig hälsning, {sender.name}",
        ),
        creditor_entries=_sender_entries(sender),
        forwarding=forwarding,
        sendable=recipient.route != "unknown",
        mail_room_note=_UNKNOWN_RECIPIENT_NOTE if recipient.route == "unknown" else None,
    )
