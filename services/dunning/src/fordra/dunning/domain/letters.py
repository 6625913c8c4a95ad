"""The letters of the dunning process (domain.md §4; seed 001): what each one states.

This module starts as the interface between the daily run (which approves a proposal and so
sends a letter) and the letters themselves (their rules and rendering). Approving a proposal
appends a ``LetterIssued`` to the letter's own stream, ``letter_stream(letter_id)``, in the same
decision as the public event (``ReminderSent``, ``TerminationWarningSent``...). The letter is
rendered from these facts when asked for; the recipient's name and address are looked up then,
so that a protected identity or an erasure made since is respected and no personal data lies in
the facts.

``build_letter_document`` decides *what* a letter says, once, as labelled Swedish text; the HTML
and PDF renderers (adapters/letter_render.py) only lay it out, so both carry the same items and
the rules below cannot be forgotten by one of them. The named rules:

- ``check_reminder_has_required_items`` (domain.md §4 "Reminder", seed 001 "Påminnelsen skall
  innehålla uppgifter om"): what the claim is for and the invoice number, the amount, when it fell
  due, when payment was last checked, the date by which payment is wanted and how to pay, and
  what happens next (only what the policy will do).
- ``check_no_empty_threats`` (domain.md §4 "No empty threats", seed 001, seed 003 sections 3
  and 4): the letter's own wording threatens only the next step the policy will actually take
  (handover for collection, termination of a childcare place); with next step ``none`` it
  threatens nothing, and with next step ``disconnection`` nothing either (no letter threatens
  disconnection before the breach is assessed as material, domain.md §6: the disconnection
  case's request to remedy is the first that may); and it never uses the social services as
  pressure.
- ``check_termination_warning_names_invoices_and_date`` (domain.md §4 "Childcare", seed 002,
  seed 001): the unpaid fee invoices and the termination date.
- ``check_installment_reminder_names_plan_and_installment`` (domain.md §4 "Installment plan").

Added to the interface (each with a default, so existing ``LetterIssued`` payloads still load):
``LetterFacts.missed_installment`` and ``LetterFacts.plan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import Installment, NextStep
from fordra.contracts.invoicing import SERVICE_LABELS, PostalAddress
from fordra.dunning.domain.recipients import RecipientLetterView
from fordra.kernel.documents import (
    PROTECTED_RECIPIENT,
    Entry,
    ForwardingSheet,
    forwarding_sheet,
    postal_lines,
)
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.kernel.money import format_sek

LetterKind = Literal["reminder", "termination_warning", "installment_reminder", "payment_plan"]


def letter_stream(letter_id: str) -> str:
    return f"letter-{letter_id}"


class ClaimItem(BaseModel):
    """One invoice a letter is about: what the claim is for, its number, amount and due date
    (domain.md §4: a reminder states each)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str
    invoice_number: str
    what_for: str  # the invoice's lines in words, e.g. "Vatten och avlopp, jan–feb 2026"
    invoice_date: date
    due_date: date
    capital_ore: int  # what is still open of the invoice's capital
    ocr: str


class PlanClaimLine(BaseModel):
    """One invoice in a payment plan: what it is for, its number, due date and open capital.
    The names are those of the plans' ``PlanClaim``; fields a letter does not print (the
    service, the interest's start) are ignored when one is read from it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    invoice_id: str
    invoice_number: str
    what_for: str
    due_date: date
    open_capital_ore: int


class PlanCostLine(BaseModel):
    """One cost of a plan, specified (seed 003 section 5.3), e.g. the written plan's fee."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    label: str
    amount_ore: int


class PlanTerms(BaseModel):
    """The content of a payment plan (avbetalningsplan) that a letter of kind ``payment_plan``
    states: every item seed 001 lists (domain.md §4 "Installment plan"): the creditor (the
    letter's), what the claim is for (``claims``), capital, interest to the last installment and
    the rate, costs, each installment, their number and dates, the total and every condition.

    The field names are those of the plans' ``PlanDocument`` (``domain/plan_document.py``), so
    ``from_plan_document(doc.model_dump())`` reads one; that module checks the conditions (no
    material-breach or notice-duty clause, seed 003 section 7) before a plan is drawn up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    written: bool
    claims: tuple[PlanClaimLine, ...] = Field(min_length=1)
    installments: tuple[Installment, ...] = Field(min_length=1)
    capital_ore: int
    interest_ore: int  # computed to the last installment (seed 001)
    rate_percent: str  # e.g. "10.00": the reference rate + 8 points
    rate_basis: str | None = None  # how the rate is set, in words
    costs: tuple[PlanCostLine, ...] = ()
    costs_ore: int  # the plan's fee (at most 170 kr for a written plan, none for an oral one)
    total_ore: int  # the total debt up to the last payment (seed 003 section 5.3)
    conditions: tuple[str, ...] = ()
    signature_text: str | None = None  # what the debtor does with a written plan

    @classmethod
    def from_plan_document(cls, document: Mapping[str, Any]) -> PlanTerms:
        """From a dump of the plans' ``PlanDocument``: the fields a letter states."""
        return cls.model_validate({k: v for k, v in document.items() if k in cls.model_fields})


class LetterFacts(BaseModel):
    """Everything a letter states except the recipient (looked up at rendering)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    letter_id: str
    kind: LetterKind
    customer_id: str
    service_type: str
    items: tuple[ClaimItem, ...]
    sent_on: date
    checked_on: date  # the date payment was last checked (the run's date)
    pay_by: date
    fee_ore: int
    interest_ore: int
    # What the process will do next if the claim stays unpaid; the letter says only this.
    next_step: NextStep
    termination_date: date | None = None  # a risk-of-termination letter (childcare)
    plan_id: str | None = None  # an installment reminder or a payment plan
    # Added by the letters (defaults keep older payloads valid): the installment an installment
    # reminder is about, and the plan a payment-plan letter states.
    missed_installment: Installment | None = None
    plan: PlanTerms | None = None


class LetterIssued(Event):
    event_type: ClassVar[str] = "LetterIssued"

    facts: LetterFacts


# --- the creditor ---------------------------------------------------------------------------

# Letters to a person with a protected identity go through Skatteverket: the outer envelope to
# this address, the sealed inner one marked with the personnummer (domain.md §2). A setting of
# the creditor, as on invoicing's issuer.
SKATTEVERKET_FORWARDING_ADDRESS: Final[tuple[str, ...]] = (
    "Skatteverket",
    "Box 2820",
    "403 20 Göteborg",
)

# Räntelagen 6 § and seed 001 (domain.md §3), as invoicing prints it on the invoice.
DEFAULT_LATE_INTEREST_TERMS: Final[str] = (
    "Dröjsmålsränta debiteras enligt räntelagen (referensränta + 8 procentenheter)"
)


class CreditorContact(BaseModel):
    """Where the customer turns with questions (the same fields as invoicing's issuer contact)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    email: str = Field(min_length=3)
    website: str | None = None


class Creditor(BaseModel):
    """The municipality that sends the letter (seed 001: "Borgenärens namn"; how to pay).

    The fields carry the names of invoicing's ``IssuerDetails`` so that the app passes the very
    settings invoicing prints on the invoice (``from_issuer_fields``): the reminder then names
    the same bankgiro and address as the invoice it reminds of. Invoicing validates the numbers
    (Luhn, IBAN) when its settings load."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    organisation_number: str = Field(min_length=10)
    postal_address: PostalAddress
    bankgiro: str = Field(min_length=7)
    plusgiro: str | None = None
    iban: str | None = None
    bic: str | None = None
    late_interest_terms: str = DEFAULT_LATE_INTEREST_TERMS
    forwarding_address: tuple[str, ...] = SKATTEVERKET_FORWARDING_ADDRESS
    contact: CreditorContact

    @classmethod
    def from_issuer_fields(cls, issuer: Mapping[str, Any]) -> Creditor:
        """From a dump of invoicing's issuer settings (``issuer.model_dump()``): the fields a
        letter needs, the rest (VAT number, F-tax statement) left out."""
        return cls.model_validate({k: v for k, v in issuer.items() if k in cls.model_fields})

    @property
    def iban_grouped(self) -> str | None:
        """The IBAN in groups of four, the way it is printed for people."""
        if self.iban is None:
            return None
        compact = self.iban.replace(" ", "")
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


# --- the document -------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LetterTable(_Frozen):
    heading: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # Columns from this index on are amounts, set flush right.
    numeric_from: int


class LetterDocument(_Frozen):
    """Everything a letter says, in Swedish, laid out by the HTML and the PDF alike."""

    letter_id: str
    kind: LetterKind
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
    next_step: tuple[str, ...]  # what happens next; empty when the policy does nothing more
    conditions_heading: str
    conditions: tuple[str, ...]
    signature: tuple[str, ...]  # a written plan: where the debtor signs
    closing: tuple[str, ...]
    creditor_entries: tuple[Entry, ...]
    forwarding: ForwardingSheet | None
    # False when the letter has no address to go to (a forgotten or unknown customer): shown, so
    # a case officer sees what was decided, but not for the post.
    sendable: bool
    mail_room_note: str | None


# --- Swedish presentation ----------------------------------------------------------------

_MONTHS: Final[tuple[str, ...]] = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def long_date(day: date) -> str:
    """A date in running Swedish text: ``16 mars 2026`` (Språkrådet's form; the tables use
    ISO 8601, ``2026-03-16``, as the invoice does, so the reader can match them)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    return day.isoformat()


# --- the named rules ----------------------------------------------------------------------

# The words with which a letter threatens each step (domain.md §4 "No empty threats"): a letter
# whose own wording holds one of them must be about to take that step. Lower case, matched as
# parts of words ("inkassoåtgärder", "avstängning").
THREAT_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "agency": ("inkasso",),
    "disconnection": ("stängas av", "stänga av", "stänger av", "avstängning", "frånkoppl"),
    "termination": ("uppsägning", "sägas upp", "säga upp", "säger upp", "sägs upp"),
}
# Never a means of pressure (seed 003 section 4: the duty to notify the social welfare board
# before disconnection must not be used to make the debtor pay).
SOCIAL_SERVICES_WORDS: Final[tuple[str, ...]] = (
    "socialnämnd",
    "socialtjänst",
    "sociala myndighet",
    "socialförvaltning",
)

# The threat each next step allows a dunning letter. ``disconnection`` allows none: before a
# disconnection is threatened the breach must be assessed as material (domain.md §6, seed 003
# lines 23-27), and dunning's reminder goes before that; the case's request to remedy is the
# first letter that may speak of it. Nor may it threaten the agency: a claim the procedure takes
# never goes there (``_next_step_text`` says only that collection goes on).
_THREAT_OF_STEP: Final[dict[NextStep, str | None]] = {
    "agency": "agency",
    "disconnection": None,
    "termination_warning": "termination",
    "none": None,
}


def _wording(doc: LetterDocument) -> str:
    """The letter's own words: headings, paragraphs, notes and conditions, not the customer's
    name and address nor what a department wrote about the claim (which may by chance hold a
    street "Stängselvägen" or the like)."""
    parts: list[str] = [
        doc.title,
        doc.heading,
        *doc.paragraphs,
        *(t.heading for t in doc.tables),
        *doc.payment_notes,
        *doc.next_step,
        *doc.conditions,
        *doc.closing,
        *(e.label for e in (*doc.summary, *doc.payment, *doc.details)),
    ]
    return "\n".join(parts).lower()


def check_no_empty_threats(facts: LetterFacts, doc: LetterDocument) -> None:
    """domain.md §4 "No empty threats" (seed 001: "det strider mot god inkassosed att hota med
    dylikt om åtgärden inte verkställs"; seed 003 sections 3 and 4): a letter may threaten only
    what the process will actually do. Allowed: the threat of the policy's next step, and the
    termination a risk-of-termination letter is about. With next step ``none``, nothing; with
    ``disconnection`` nothing either: the materiality is assessed before disconnection is
    threatened (domain.md §6), which dunning's letters come before."""
    allowed = {_THREAT_OF_STEP[facts.next_step]}
    if facts.kind == "termination_warning":
        allowed.add("termination")
    text = _wording(doc)
    for threat, words in THREAT_WORDS.items():
        if threat in allowed:
            continue
        for word in words:
            if word in text:
                raise DomainRuleViolation(
                    f"the letter says {word!r} but the policy's next step is "
                    f"{facts.next_step!r}: a letter may threaten only what will be done",
                    field="next_step",
                    rule="no_empty_threats",
                )
    for word in SOCIAL_SERVICES_WORDS:
        if word in text:
            raise DomainRuleViolation(
                f"the letter mentions {word!r}: the social services are never a means of "
                "pressure (seed 003 section 4)",
                field="next_step",
                rule="no_empty_threats",
            )


def _check_items(facts: LetterFacts) -> None:
    if not facts.items:
        raise DomainRuleViolation(
            f"a {facts.kind} letter names the invoices it is about; it has none",
            field="items",
            rule="letter_names_its_invoices",
        )
    for index, item in enumerate(facts.items):
        for name in ("invoice_number", "what_for", "ocr"):
            if not str(getattr(item, name)).strip():
                raise DomainRuleViolation(
                    f"invoice {item.invoice_id} has no {name.replace('_', ' ')}",
                    field=f"items.{index}.{name}",
                    rule="letter_names_its_invoices",
                )
        if item.capital_ore <= 0:
            raise DomainRuleViolation(
                f"invoice {item.invoice_number} has nothing open ({item.capital_ore} öre): "
                "there is nothing to remind of",
                field=f"items.{index}.capital_ore",
                rule="letter_names_its_invoices",
            )


def check_reminder_has_required_items(facts: LetterFacts, doc: LetterDocument) -> None:
    """domain.md §4 "Reminder" (seed 001 "Påminnelsen skall innehålla uppgifter om"): the
    reminder states, and the document carries, for every invoice what it is for, its number,
    its amount and its due date; the date payment was last checked; the date by which payment
    is wanted (after the letter is sent) and how to pay (bankgiro and OCR number); and the next
    step only when there is one (``check_no_empty_threats`` keeps out any other)."""
    _check_items(facts)
    if facts.checked_on > facts.sent_on:
        raise DomainRuleViolation(
            f"payment was checked on {facts.checked_on}, after the letter was sent on "
            f"{facts.sent_on}",
            field="checked_on",
            rule="reminder_has_required_items",
        )
    if facts.pay_by <= facts.sent_on:
        raise DomainRuleViolation(
            f"the pay-by date {facts.pay_by} must come after the letter is sent ({facts.sent_on})",
            field="pay_by",
            rule="reminder_has_required_items",
        )
    shown = "\n".join(
        [
            *(e.value for e in (*doc.details, *doc.summary, *doc.payment)),
            *(cell for table in doc.tables for row in table.rows for cell in row),
            *doc.paragraphs,
            *doc.payment_notes,
        ]
    )
    required: list[tuple[str, str]] = [
        ("checked_on", long_date(facts.checked_on)),
        ("pay_by", long_date(facts.pay_by)),
        ("bankgiro", next((e.value for e in doc.payment if e.label == "Bankgiro"), "")),
    ]
    for index, item in enumerate(facts.items):
        required += [
            (f"items.{index}.what_for", item.what_for),
            (f"items.{index}.invoice_number", item.invoice_number),
            (f"items.{index}.capital_ore", format_sek(item.capital_ore)),
            (f"items.{index}.due_date", short_date(item.due_date)),
            (f"items.{index}.ocr", item.ocr),
        ]
    for field, text in required:
        if not text or text not in shown:
            raise DomainRuleViolation(
                f"the reminder does not state {field.replace('_', ' ')}",
                field=field,
                rule="reminder_has_required_items",
            )
    if facts.next_step != "none" and not doc.next_step:
        raise DomainRuleViolation(
            f"the policy's next step is {facts.next_step!r} and the reminder does not say so",
            field="next_step",
            rule="reminder_has_required_items",
        )


def check_termination_warning_names_invoices_and_date(facts: LetterFacts) -> None:
    """domain.md §4 "Childcare": the letter about the risk of termination names the unpaid fee
    invoices and the termination date (2 months after the due date, seed 001)."""
    _check_items(facts)
    if facts.termination_date is None:
        raise DomainRuleViolation(
            "a risk-of-termination letter names the date the place may be terminated",
            field="termination_date",
            rule="termination_warning_names_invoices_and_date",
        )
    if facts.termination_date <= facts.sent_on:
        raise DomainRuleViolation(
            f"the termination date {facts.termination_date} must come after the letter "
            f"({facts.sent_on})",
            field="termination_date",
            rule="termination_warning_names_invoices_and_date",
        )


def check_installment_reminder_names_plan_and_installment(facts: LetterFacts) -> None:
    """domain.md §4 "Installment plan": a missed installment is reminded; the reminder names the
    plan and the installment (its due date and amount)."""
    if facts.plan_id is None:
        raise DomainRuleViolation(
            "an installment reminder names its payment plan",
            field="plan_id",
            rule="installment_reminder_names_plan_and_installment",
        )
    if facts.missed_installment is None:
        raise DomainRuleViolation(
            "an installment reminder names the installment that was missed",
            field="missed_installment",
            rule="installment_reminder_names_plan_and_installment",
        )


def check_plan_letter_has_its_terms(facts: LetterFacts) -> None:
    """domain.md §4 "Installment plan" (seed 001): a payment-plan letter states the plan (its
    terms' model requires every item: claims, installments, capital, interest, rate, costs,
    total)."""
    if facts.plan_id is None or facts.plan is None:
        raise DomainRuleViolation(
            "a payment-plan letter states its plan (plan_id and the plan's terms)",
            field="plan",
            rule="plan_letter_states_the_plan",
        )


def plan_letter_facts(
    *,
    letter_id: str,
    plan_id: str,
    customer_id: str,
    service_type: str,
    drawn_up_on: date,
    terms: PlanTerms,
) -> LetterFacts:
    """The facts of a payment plan's letter (kind ``payment_plan``): the plan is sent for
    signature on the day it is drawn up; the first installment is the first payment wanted.
    It threatens nothing (a missed installment is reminded on its own, domain.md §4)."""
    first = min(terms.installments, key=lambda i: i.due_date)
    return LetterFacts(
        letter_id=letter_id,
        kind="payment_plan",
        customer_id=customer_id,
        service_type=service_type,
        items=(),
        sent_on=drawn_up_on,
        checked_on=drawn_up_on,
        pay_by=first.due_date,
        fee_ore=terms.costs_ore,
        interest_ore=terms.interest_ore,
        next_step="none",
        plan_id=plan_id,
        plan=terms,
    )


# --- building the document ----------------------------------------------------------------

_UNKNOWN_RECIPIENT_NOTE: Final[str] = (
    "Brevet kan inte skickas: kunden saknar adressuppgifter i Fordra (personuppgifterna är "
    "raderade eller ännu inte kända för kravhanteringen)."
)


def _recipient_lines(recipient: RecipientLetterView) -> tuple[str, ...]:
    if recipient.route == "protected":
        return PROTECTED_RECIPIENT
    if recipient.route == "unknown" or recipient.name is None or recipient.address is None:
        return (f"Kund {recipient.customer_id}", "Adressuppgifter saknas")
    return (recipient.name, *postal_lines(recipient.address))


def _forwarding_sheet(
    recipient: RecipientLetterView, creditor: Creditor, title: str
) -> ForwardingSheet:
    return forwarding_sheet(
        id_label=recipient.id_label,
        id_number=recipient.id_number or "",
        id_number_hidden=recipient.id_number_hidden,
        sender_name=creditor.name,
        sender_address=creditor.postal_address,
        outer_address=creditor.forwarding_address,
        what=f"brevet ({title.lower()})",
    )


def _creditor_entries(creditor: Creditor) -> tuple[Entry, ...]:
    entries = [
        Entry(label="Borgenär", value=creditor.name),
        Entry(label="Adress", value=", ".join(postal_lines(creditor.postal_address))),
        Entry(label="Organisationsnummer", value=creditor.organisation_number),
        Entry(label="Bankgiro", value=creditor.bankgiro),
        Entry(label="Kontakt", value=creditor.contact.unit),
        Entry(label="Telefon", value=creditor.contact.phone),
        Entry(label="E-post", value=creditor.contact.email),
    ]
    if creditor.contact.website:
        entries.append(Entry(label="Webbplats", value=creditor.contact.website))
    return tuple(entries)


def _items_table(facts: LetterFacts, heading: str) -> LetterTable:
    return LetterTable(
        heading=heading,
        headers=("Fakturanummer", "Avser", "Fakturadatum", "Förfallodatum", "OCR-nummer", "Belopp"),
        rows=tuple(
            (
                item.invoice_number,
                item.what_for,
                short_date(item.invoice_date),
                short_date(item.due_date),
                item.ocr,
                format_sek(item.capital_ore),
            )
            for item in facts.items
        ),
        numeric_from=5,
    )


def _payment_entries(
    creditor: Creditor, ocr: str | None, pay_by: date, amount_ore: int
) -> list[Entry]:
    entries = [
        Entry(label="Att betala", value=format_sek(amount_ore)),
        Entry(label="Betala senast", value=long_date(pay_by)),
        Entry(label="Bankgiro", value=creditor.bankgiro),
    ]
    if creditor.plusgiro:
        entries.append(Entry(label="Plusgiro", value=creditor.plusgiro))
    if ocr is not None:
        entries.append(Entry(label="OCR-nummer", value=ocr))
    if creditor.iban_grouped and creditor.bic:
        entries += [
            Entry(label="IBAN", value=creditor.iban_grouped),
            Entry(label="BIC/SWIFT", value=creditor.bic),
        ]
    return entries


def _payment_notes(creditor: Creditor, facts: LetterFacts, total_ore: int) -> list[str]:
    giro = f"bankgiro {creditor.bankgiro}"
    if creditor.plusgiro:
        giro += f" (eller plusgiro {creditor.plusgiro})"
    first = facts.items[0]
    if len(facts.items) == 1:
        notes = [
            f"Betala {format_sek(total_ore)} till {giro} senast "
            f"{long_date(facts.pay_by)} och ange OCR-nummer {first.ocr}."
        ]
    else:
        notes = [
            f"Betala varje faktura till {giro} senast "
            f"{long_date(facts.pay_by)} och ange fakturans eget OCR-nummer (se tabellen).",
        ]
    if facts.fee_ore > 0:
        # Invoicing puts the fee on the next invoice (a line of its own), so that a payment of
        # this invoice's OCR number pays its capital and nothing else (domain.md §3).
        notes.append(
            f"Påminnelseavgiften {format_sek(facts.fee_ore)} läggs på din nästa faktura. "
            "Betala den inte nu."
        )
    if creditor.iban_grouped and creditor.bic:
        notes.append(
            "Betalning från utlandet: använd IBAN och BIC/SWIFT ovan och ange OCR-numret som "
            "referens."
        )
    return notes


def _interest_note(creditor: Creditor, facts: LetterFacts) -> list[str]:
    # Interest is charged on the next invoice once the capital is paid (domain.md §3, seed 001):
    # the letter tells it, and does not ask for it now.
    note = f"{creditor.late_interest_terms}."
    if facts.interest_ore > 0:
        note += (
            f" Räntan hittills är {format_sek(facts.interest_ore)}; den debiteras på en kommande "
            "faktura när fakturan är betald."
        )
    return [note]


def _next_step_text(facts: LetterFacts) -> tuple[str, ...]:
    """What happens if the claim stays unpaid: only the policy's next step, nothing else."""
    when = f"Om vi inte har fått betalt senast {long_date(facts.pay_by)}"
    if facts.next_step == "agency":
        # Seed 001: "Meddelande om att fordran kommer att överlämnas för inkassoåtgärder".
        return (f"{when} lämnas fordringen över till inkassoföretag för inkassoåtgärder.",)
    if facts.next_step == "disconnection":
        # What is true whichever way the claim goes: a disconnection case (its request to remedy
        # is a letter of its own) or, where the procedure declines it, the agency. No threat of
        # either: the materiality is not yet assessed (domain.md §6).
        return (
            f"{when} fortsätter vi att driva in fordringen, och du får ett nytt brev om vad som "
            "händer då.",
        )
    if facts.next_step == "termination_warning":
        if facts.kind == "termination_warning":
            return ()  # this letter is that warning: it names the termination date itself
        return (f"{when} får du ett brev om risk för uppsägning av platsen.",)
    return ()


def _details(facts: LetterFacts, creditor: Creditor) -> tuple[Entry, ...]:
    return (
        Entry(label="Datum", value=short_date(facts.sent_on)),
        Entry(label="Kundnummer", value=facts.customer_id),
        Entry(label="Brevnummer", value=facts.letter_id),
        Entry(label="Vår referens", value=creditor.contact.unit),
    )


def _closing(creditor: Creditor) -> tuple[str, ...]:
    return (
        "Har du frågor om fakturan, eller kan du inte betala i tid, kontakta oss så snart som "
        f"möjligt: {creditor.contact.unit}, telefon {creditor.contact.phone}, e-post "
        f"{creditor.contact.email}. Vi kan till exempel komma överens om en avbetalningsplan.",
        f"Med vänlig hälsning, {creditor.name}",
    )


def _reminder_parts(facts: LetterFacts, creditor: Creditor) -> dict[str, Any]:
    capital = sum(item.capital_ore for item in facts.items)
    # The fee is invoiced on the next invoice, not paid with this one (``_payment_notes``).
    total = capital
    checked = long_date(facts.checked_on)
    one = len(facts.items) == 1
    summary = [Entry(label="Obetalt belopp", value=format_sek(capital))]
    if facts.fee_ore > 0:
        summary.append(
            Entry(
                label="Påminnelseavgift",
                value=f"{format_sek(facts.fee_ore)} (läggs på nästa faktura)",
            )
        )
    summary.append(Entry(label="Att betala", value=format_sek(total)))
    return {
        "title": "Betalningspåminnelse",
        "heading": "Vi har inte fått betalt för " + ("din faktura" if one else "dina fakturor"),
        "paragraphs": (
            f"Enligt vår kontroll den {checked} har vi inte fått betalt för "
            + ("fakturan nedan" if one else "fakturorna nedan")
            + f" ({SERVICE_LABELS.get(facts.service_type, 'Övrigt').lower()}).",
            "Har du redan betalat kan du bortse från den här påminnelsen.",
            *_interest_note(creditor, facts),
        ),
        "tables": (_items_table(facts, "Obetalda fakturor"),),
        "summary": tuple(summary),
        "payment": tuple(
            _payment_entries(creditor, facts.items[0].ocr if one else None, facts.pay_by, total)
        ),
        "payment_notes": tuple(_payment_notes(creditor, facts, total)),
        "next_step": _next_step_text(facts),
    }


def _termination_parts(facts: LetterFacts, creditor: Creditor) -> dict[str, Any]:
    assert facts.termination_date is not None  # checked before
    capital = sum(item.capital_ore for item in facts.items)
    termination = long_date(facts.termination_date)
    return {
        "title": "Risk för uppsägning av platsen i barnomsorgen",
        "heading": "Obetalda avgifter för barnomsorg",
        "paragraphs": (
            f"Vi har inte fått betalt för {len(facts.items)} "
            + ("avgiftsfaktura" if len(facts.items) == 1 else "avgiftsfakturor")
            + f" för barnomsorg (kontrollerat den {long_date(facts.checked_on)}).",
            f"Om avgifterna inte är betalda kan platsen sägas upp från och med {termination}.",
            "Har du redan betalat kan du bortse från det här brevet.",
            *_interest_note(creditor, facts),
        ),
        "tables": (_items_table(facts, "Obetalda avgiftsfakturor"),),
        "summary": (
            Entry(label="Obetalt belopp", value=format_sek(capital)),
            Entry(label="Uppsägningsdatum", value=termination),
        ),
        "payment": tuple(
            _payment_entries(
                creditor,
                facts.items[0].ocr if len(facts.items) == 1 else None,
                facts.pay_by,
                capital,
            )
        ),
        "payment_notes": tuple(_payment_notes(creditor, facts, capital)),
        "next_step": _next_step_text(facts),
    }


def _installment_parts(facts: LetterFacts, creditor: Creditor) -> dict[str, Any]:
    missed = facts.missed_installment
    # Both checked by check_installment_reminder_names_plan_and_installment before.
    assert missed is not None
    assert facts.plan_id is not None
    ocr = facts.items[0].ocr if facts.items else None
    notes = [
        f"Betala {format_sek(missed.amount_ore)} till bankgiro {creditor.bankgiro} senast "
        f"{long_date(facts.pay_by)}" + (f" och ange OCR-nummer {ocr}." if ocr else "."),
    ]
    return {
        "title": "Påminnelse om delbetalning",
        "heading": f"Delbetalningen enligt avbetalningsplan {facts.plan_id} är inte betald",
        "paragraphs": (
            f"Enligt vår kontroll den {long_date(facts.checked_on)} har vi inte fått "
            f"delbetalningen som förföll den {long_date(missed.due_date)} enligt "
            f"avbetalningsplan {facts.plan_id}.",
            "Har du redan betalat kan du bortse från den här påminnelsen.",
        ),
        "tables": (
            LetterTable(
                heading="Delbetalning som inte är betald",
                headers=("Avbetalningsplan", "Förfallodatum", "Belopp"),
                rows=((facts.plan_id, short_date(missed.due_date), format_sek(missed.amount_ore)),),
                numeric_from=2,
            ),
            *((_items_table(facts, "Fakturor i planen"),) if facts.items else ()),
        ),
        "summary": (Entry(label="Att betala", value=format_sek(missed.amount_ore)),),
        "payment": tuple(_payment_entries(creditor, ocr, facts.pay_by, missed.amount_ore)),
        "payment_notes": tuple(notes),
        "next_step": _next_step_text(facts),
    }


_SIGNATURE_LINES: Final[tuple[str, ...]] = (
    "Ort och datum: ______________________________",
    "Gäldenärens underskrift: ______________________________",
    "Namnförtydligande: ______________________________",
)


def _plan_parts(facts: LetterFacts, creditor: Creditor) -> dict[str, Any]:
    plan = facts.plan
    # Both checked by check_plan_letter_has_its_terms before.
    assert plan is not None
    assert facts.plan_id is not None
    installments = sorted(plan.installments, key=lambda i: i.due_date)
    count = len(installments)
    first, last = installments[0], installments[-1]
    rate = plan.rate_percent.replace(".", ",")
    costs = plan.costs or (
        (PlanCostLine(label="Kostnader", amount_ore=plan.costs_ore),) if plan.costs_ore else ()
    )
    signature = (
        (
            plan.signature_text
            or "Planen gäller när du har skrivit under den och skickat tillbaka den till oss.",
            *_SIGNATURE_LINES,
        )
        if plan.written
        else ()
    )
    return {
        "title": "Avbetalningsplan",
        "heading": f"Avbetalningsplan {facts.plan_id}",
        "paragraphs": (
            f"{creditor.name} (borgenär) och du kommer överens om att du betalar skulden nedan "
            f"i {count} delbetalningar, den första den {long_date(first.due_date)} och den sista "
            f"den {long_date(last.due_date)}.",
            "Dröjsmålsränta löper under hela planen och är framräknad till sista delbetalningen"
            f" ({rate} %).",
            *((plan.rate_basis,) if plan.rate_basis else ()),
        ),
        "tables": (
            LetterTable(
                heading="Vad skulden avser",
                headers=("Fakturanummer", "Avser", "Förfallodatum", "Kapitalbelopp"),
                rows=tuple(
                    (
                        c.invoice_number,
                        c.what_for,
                        short_date(c.due_date),
                        format_sek(c.open_capital_ore),
                    )
                    for c in plan.claims
                ),
                numeric_from=3,
            ),
            LetterTable(
                heading="Delbetalningar",
                headers=("Nr", "Förfallodatum", "Belopp"),
                rows=tuple(
                    (str(n), short_date(i.due_date), format_sek(i.amount_ore))
                    for n, i in enumerate(installments, start=1)
                ),
                numeric_from=2,
            ),
        ),
        "summary": (
            Entry(label="Borgenär", value=creditor.name),
            Entry(label="Kapitalbelopp", value=format_sek(plan.capital_ore)),
            Entry(
                label="Dröjsmålsränta till sista delbetalningen",
                value=format_sek(plan.interest_ore),
            ),
            Entry(label="Räntesats", value=f"{rate} %"),
            *(Entry(label=c.label, value=format_sek(c.amount_ore)) for c in costs),
            Entry(label="Antal delbetalningar", value=str(count)),
            Entry(label="Total skuld till sista betalningen", value=format_sek(plan.total_ore)),
        ),
        "payment": tuple(_payment_entries(creditor, None, first.due_date, first.amount_ore)),
        "payment_notes": (
            f"Betala varje delbetalning till bankgiro {creditor.bankgiro} senast på dess "
            "förfallodag och ange fakturans OCR-nummer.",
        ),
        "next_step": (),
        "conditions_heading": "Villkor",
        "conditions": plan.conditions,
        "signature": signature,
    }


def build_letter_document(
    facts: LetterFacts, recipient: RecipientLetterView, creditor: Creditor
) -> LetterDocument:
    """Everything the letter says, in Swedish, after its kind's named rule and before
    ``check_no_empty_threats`` (a wording that threatens more than the policy does fails here,
    not in the post)."""
    if recipient.customer_id != facts.customer_id:
        # A mix-up here would send one customer's letter under another's name.
        raise DomainRuleViolation(
            f"letter {facts.letter_id} is to customer {facts.customer_id}, "
            f"not {recipient.customer_id}",
            field="customer_id",
            rule="letter_rendered_for_its_customer",
        )
    if facts.kind == "reminder":
        _check_items(facts)
        parts = _reminder_parts(facts, creditor)
    elif facts.kind == "termination_warning":
        check_termination_warning_names_invoices_and_date(facts)
        parts = _termination_parts(facts, creditor)
    elif facts.kind == "installment_reminder":
        check_installment_reminder_names_plan_and_installment(facts)
        parts = _installment_parts(facts, creditor)
    else:
        check_plan_letter_has_its_terms(facts)
        parts = _plan_parts(facts, creditor)
    protected = recipient.route == "protected"
    doc = LetterDocument(
        letter_id=facts.letter_id,
        kind=facts.kind,
        sent_on=facts.sent_on,
        creditor_name=creditor.name,
        creditor_address=postal_lines(creditor.postal_address),
        recipient_heading="Mottagare",
        recipient=_recipient_lines(recipient),
        details=_details(facts, creditor),
        payment_heading="Så betalar du",
        conditions_heading=parts.pop("conditions_heading", "Villkor"),
        conditions=parts.pop("conditions", ()),
        signature=parts.pop("signature", ()),
        closing=_closing(creditor),
        creditor_entries=_creditor_entries(creditor),
        forwarding=_forwarding_sheet(recipient, creditor, parts["title"]) if protected else None,
        sendable=recipient.route != "unknown",
        mail_room_note=_UNKNOWN_RECIPIENT_NOTE if recipient.route == "unknown" else None,
        **parts,
    )
    if facts.kind == "reminder":
        check_reminder_has_required_items(facts, doc)
    check_no_empty_threats(facts, doc)
    return doc


def letter_texts(doc: LetterDocument) -> Iterable[str]:
    """Every text the letter prints, for the tests of what it carries (and does not)."""
    yield from (doc.title, doc.heading, doc.recipient_heading, *doc.recipient, *doc.paragraphs)
    yield from (doc.payment_heading, *doc.payment_notes)
    if doc.conditions:
        yield doc.conditions_heading
    yield from (doc.creditor_name, *doc.creditor_address, *doc.next_step, *doc.conditions)
    yield from (*doc.signature, *doc.closing)
    for entry in (*doc.details, *doc.summary, *doc.payment, *doc.creditor_entries):
        yield entry.label
        yield entry.value
    for table in doc.tables:
        yield table.heading
        yield from table.headers
        for row in table.rows:
            yield from row
    if doc.forwarding is not None:
        yield doc.forwarding.title
        yield from doc.forwarding.outer_address
        for entry in doc.forwarding.inner_marking:
            yield entry.label
            yield entry.value
        yield from doc.forwarding.instructions
    if doc.mail_room_note:
        yield doc.mail_room_note


# The letters' own events, for the app's registry (``build_registry``).
LETTER_EVENTS: tuple[type[Event], ...] = (LetterIssued,)
