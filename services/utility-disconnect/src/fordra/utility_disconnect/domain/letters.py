"""What the procedure's letters say, as pure facts in Swedish (domain.md §6-7; seed 003; seed 001).

Each builder decides *what* a letter states, once, as labelled Swedish text: its title, heading,
paragraphs, the amount of each claim it demands, the dates, the costs of the collection case
(stated apart, never part of what avoids the disconnection) and what happens next. A renderer lays
the facts out as dunning's does its ``LetterDocument`` (title, heading, paragraphs, tables,
summary, next step, closing); the recipient's name and address are looked up at rendering, so that
a protected identity is respected and no personal data lies in the facts (domain.md §2).

The named rules:

- ``check_no_social_services_mention`` (domain.md §6; seed 003 line 29, section 4.1): the
  collection demand and the request to remedy (uppmaning) never name the social welfare board or
  social services; "Redan ett omnämnande av socialnämnden eller sociala myndigheter kan av många
  uppfattas som hotfullt". Only the notice (underrättelse) does, in its prescribed words, and the
  message to the board itself.
- ``check_notice_carries_prescribed_text`` (domain.md §6 "Prescribed notice text"; elförordningen
  26 § and bilaga 1): the notice carries the text word for word, as a paragraph of its own.
- The demanded items pass ``procedure.check_demand_items`` (electricity) or
  ``water.check_water_items`` (water) before a letter is built (seed 003 lines 31 and 363).

A letter sent is recorded as ``DisconnectionLetterIssued`` (its facts, checked again by both rules
in ``decide_letter_issued``) on its own stream, ``disconnection_letter_stream(letter_id)``, in the
same append as the step that sent it; ``GET /api/v1/letters/{letter_id}`` renders it from there
(application/letters.py). The supply point is named by its id in the facts: its site address is
the customer's personal data (sealed on the supply point), printed only at rendering and never
for a protected identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.documents import Entry
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.kernel.money import format_sek
from fordra.utility_disconnect.domain.notice_text import PRESCRIBED_NOTICE_TEXT
from fordra.utility_disconnect.domain.procedure import (
    DemandItem,
    DisconnectionCostCharged,
    StepKind,
    check_demand_items,
)
from fordra.utility_disconnect.domain.water import check_water_items

LetterKind = Literal[
    "collection_demand",
    "request_to_remedy",
    "notice",
    "social_services_message",
    "water_disconnection",
]
Utility = Literal["electricity", "water"]

# The letters that may never mention social services (seed 003 line 29): every one before the
# notice, and the water letter (the board has no part in LAV 43 §).
NO_SOCIAL_SERVICES: Final[frozenset[str]] = frozenset(
    {"collection_demand", "request_to_remedy", "water_disconnection"}
)
# Words that name the social welfare board or social services in Swedish; "social" alone covers
# "socialnämnd", "socialtjänst", "sociala myndigheter" and "socialkontor".
SOCIAL_WORDS: Final[tuple[str, ...]] = ("social", "socialnämnd", "socialtjänst")

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
    """A date in running Swedish text: ``7 april 2026`` (tables use ISO 8601)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LetterTable(_Frozen):
    """A table of the letter, as dunning's renderer takes one."""

    heading: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric_from: int  # columns from this index on are amounts, set flush right


class CostLine(_Frozen):
    """A cost of the collection case, stated apart from the demand (seed 003 lines 39-41)."""

    label: str
    amount_ore: int


class LetterFacts(_Frozen):
    """Everything a letter of the procedure states except its recipient (looked up at rendering).
    ``items`` hold each demanded amount as data; ``tables`` and ``summary`` show them in words."""

    letter_id: str
    kind: LetterKind
    utility: Utility
    case_id: str
    customer_id: str
    supply_point_id: str
    sent_on: date
    title: str
    recipient_heading: str
    details: tuple[Entry, ...]
    heading: str
    paragraphs: tuple[str, ...]
    items: tuple[DemandItem, ...]
    tables: tuple[LetterTable, ...]
    demand_ore: int
    summary: tuple[Entry, ...]
    pay_by: date | None
    costs: tuple[CostLine, ...]
    next_step: tuple[str, ...]
    closing: tuple[str, ...]

    def texts(self) -> tuple[str, ...]:
        """Every piece of text the letter prints, for the checks on its wording."""
        parts: list[str] = [self.title, self.recipient_heading, self.heading]
        parts += [f"{e.label} {e.value}" for e in (*self.details, *self.summary)]
        parts += list(self.paragraphs)
        for t in self.tables:
            parts.append(t.heading)
            parts += list(t.headers)
            parts += [" ".join(r) for r in t.rows]
        parts += [c.label for c in self.costs]
        parts += list(self.next_step)
        parts += list(self.closing)
        return tuple(parts)


# --- rules -------------------------------------------------------------------------------------


def check_no_social_services_mention(facts: LetterFacts) -> LetterFacts:
    """domain.md §6, seed 003 line 29: the request to remedy, like any collection demand before
    it, does not mention social services at all (nor does the water letter)."""
    if facts.kind not in NO_SOCIAL_SERVICES:
        return facts
    for text in facts.texts():
        lowered = text.lower()
        for word in SOCIAL_WORDS:
            if word in lowered:
                raise DomainRuleViolation(
                    f"the {facts.kind} may not mention social services ({word!r} in {text!r}): "
                    "only the notice tells of the message to the social welfare board "
                    "(seed 003 line 29)",
                    field="paragraphs",
                    rule="no_social_services_before_notice",
                )
    return facts


def check_notice_carries_prescribed_text(facts: LetterFacts) -> LetterFacts:
    """domain.md §6 "Prescribed notice text": the notice carries it word for word, as one
    paragraph (ellagen 11:6, elförordningen 26 § and bilaga 1)."""
    if facts.kind == "notice" and PRESCRIBED_NOTICE_TEXT not in facts.paragraphs:
        raise DomainRuleViolation(
            "the notice must carry the prescribed text word for word (elförordningen bilaga 1)",
            field="paragraphs",
            rule="prescribed_notice_text",
        )
    return facts


# --- building blocks -----------------------------------------------------------------------------

_SERVICE_WORDS: Final[dict[str, str]] = {
    "electricity_grid": "Elnät",
    "electricity_supply": "Elhandel",
    "water": "Vatten och avlopp",
}


def _items_table(items: tuple[DemandItem, ...], heading: str) -> LetterTable:
    return LetterTable(
        heading=heading,
        headers=("Faktura", "Avser", "Förföll", "Obetalt"),
        rows=tuple(
            (i.invoice_number, i.what_for, i.due_date.isoformat(), format_sek(i.amount_ore))
            for i in items
        ),
        numeric_from=3,
    )


def _per_service(items: tuple[DemandItem, ...]) -> tuple[Entry, ...]:
    """The amount per part (grid and supply each on its own, domain.md §6), then the total."""
    out: list[Entry] = []
    for service, label in _SERVICE_WORDS.items():
        amount = sum(i.amount_ore for i in items if i.service_type == service)
        if amount:
            out.append(Entry(label=label, value=format_sek(amount)))
    out.append(Entry(label="Att betala", value=format_sek(sum(i.amount_ore for i in items))))
    return tuple(out)


def _costs_paragraph(costs: tuple[CostLine, ...]) -> tuple[str, ...]:
    if not costs:
        return ()
    return (
        "Kostnaderna nedan hör till inkassoärendet och ingår inte i beloppet ovan. Att de inte "
        "är betalda kan aldrig leda till att leveransen stängs av.",
    )


def _details(case_id: str, site: str, sent_on: date) -> tuple[Entry, ...]:
    return (
        Entry(label="Datum", value=sent_on.isoformat()),
        Entry(label="Ärende", value=case_id),
        Entry(label="Anläggning", value=site),
    )


_HOW_TO_PAY: Final[str] = (
    "Betala till bankgiro eller plusgiro enligt fakturan och ange fakturans OCR-nummer, så att "
    "betalningen förs mot rätt fordran."
)
_CONTACT: Final[str] = (
    "Om du anser att kravet är felaktigt, eller om du inte kan betala, kontakta oss snarast. Vi "
    "kan komma överens om en avbetalningsplan."
)


def collection_demand_letter(
    *,
    letter_id: str,
    case_id: str,
    customer_id: str,
    supply_point_id: str,
    site_label: str,
    items: Iterable[DemandItem],
    sent_on: date,
    pay_by: date,
    costs: Iterable[CostLine] = (),
) -> LetterFacts:
    """The collection demand (inkassokrav, domain.md §5; seed 003 section 5): headed
    "Inkassokrav", the basis of each claim in words, the time to pay and to object; the demand
    only the supply point's overdue electricity capital, its fee stated apart."""
    checked = check_demand_items(items, supply_point_id, sent_on)
    cost_lines = tuple(costs)
    facts = LetterFacts(
        letter_id=letter_id,
        kind="collection_demand",
        utility="electricity",
        case_id=case_id,
        customer_id=customer_id,
        supply_point_id=supply_point_id,
        sent_on=sent_on,
        title="Inkassokrav",
        recipient_heading="Till",
        details=_details(case_id, site_label, sent_on),
        heading="Obetalda elfakturor",
        paragraphs=(
            f"Vi har inte fått betalt för elfakturorna nedan för anläggningen {site_label}. "
            "Fakturorna avser elnät och elhandel för de perioder som anges.",
            f"Betala {format_sek(sum(i.amount_ore for i in checked))} senast "
            f"{long_date(pay_by)}. {_HOW_TO_PAY}",
            "Har du invändningar mot kravet ska du meddela oss det skriftligt senast samma dag.",
            *_costs_paragraph(cost_lines),
        ),
        items=checked,
        tables=(_items_table(checked, "Obetalda elfakturor"),),
        demand_ore=sum(i.amount_ore for i in checked),
        summary=_per_service(checked),
        pay_by=pay_by,
        costs=cost_lines,
        next_step=(
            "Om skulden inte betalas kan vi uppmana dig att betala inom en viss tid och därefter "
            "avbryta överföringen av el enligt ellagen.",
        ),
        closing=(_CONTACT,),
    )
    return check_no_social_services_mention(facts)


def request_to_remedy_letter(
    *,
    letter_id: str,
    case_id: str,
    customer_id: str,
    supply_point_id: str,
    site_label: str,
    items: Iterable[DemandItem],
    sent_on: date,
    remedy_by: date,
    costs: Iterable[CostLine] = (),
) -> LetterFacts:
    """The request to remedy (uppmaning, ellagen 11:3): pay the supply point's overdue grid and
    supply capital within a reasonable time; it says what happens otherwise, and nothing of social
    services (seed 003 line 29)."""
    checked = check_demand_items(items, supply_point_id, sent_on)
    cost_lines = tuple(costs)
    total = sum(i.amount_ore for i in checked)
    facts = LetterFacts(
        letter_id=letter_id,
        kind="request_to_remedy",
        utility="electricity",
        case_id=case_id,
        customer_id=customer_id,
        supply_point_id=supply_point_id,
        sent_on=sent_on,
        title="Uppmaning att betala för el",
        recipient_heading="Till",
        details=_details(case_id, site_label, sent_on),
        heading="Du behöver betala dina obetalda elfakturor",
        paragraphs=(
            f"Vi har fortfarande inte fått betalt för elfakturorna nedan för anläggningen "
            f"{site_label}. Vi uppmanar dig att betala {format_sek(total)} senast "
            f"{long_date(remedy_by)}.",
            "Beloppet avser bara elnät och elhandel för anläggningen. Du behöver inte betala "
            "något annat för att behålla elen.",
            _HOW_TO_PAY,
            *_costs_paragraph(cost_lines),
        ),
        items=checked,
        tables=(_items_table(checked, "Obetalda elfakturor"),),
        demand_ore=total,
        summary=_per_service(checked),
        pay_by=remedy_by,
        costs=cost_lines,
        next_step=(
            f"Om du inte betalar senast {long_date(remedy_by)} får du en underrättelse om att "
            "överföringen av el kan komma att avbrytas enligt 11 kap. ellagen.",
        ),
        closing=(_CONTACT,),
    )
    return check_no_social_services_mention(facts)


def notice_letter(
    *,
    letter_id: str,
    case_id: str,
    customer_id: str,
    supply_point_id: str,
    site_label: str,
    items: Iterable[DemandItem],
    sent_on: date,
    costs: Iterable[CostLine] = (),
) -> LetterFacts:
    """The notice (underrättelse, ellagen 11:4): the prescribed text word for word, then the
    amount per part and claim. The 3 weeks run from service, so the letter names no date to pay
    by: the consumer learns it from the prescribed text ("inom tre veckor från det att du har fått
    del av detta meddelande")."""
    checked = check_demand_items(items, supply_point_id, sent_on)
    cost_lines = tuple(costs)
    total = sum(i.amount_ore for i in checked)
    facts = LetterFacts(
        letter_id=letter_id,
        kind="notice",
        utility="electricity",
        case_id=case_id,
        customer_id=customer_id,
        supply_point_id=supply_point_id,
        sent_on=sent_on,
        title="Underrättelse om avbrytande av överföring av el",
        recipient_heading="Till",
        details=_details(case_id, site_label, sent_on),
        heading="Underrättelse enligt 11 kap. 4 § ellagen",
        paragraphs=(
            PRESCRIBED_NOTICE_TEXT,
            f"Skulden är {format_sek(total)} och avser bara elnät och elhandel för anläggningen "
            f"{site_label}, enligt fakturorna nedan.",
            _HOW_TO_PAY,
            *_costs_paragraph(cost_lines),
        ),
        items=checked,
        tables=(_items_table(checked, "Obetalda elfakturor"),),
        demand_ore=total,
        summary=_per_service(checked),
        pay_by=None,
        costs=cost_lines,
        next_step=(
            "Om skulden inte är betald inom tre veckor från delgivningen kan överföringen av el "
            "avbrytas.",
        ),
        closing=(_CONTACT,),
    )
    return check_notice_carries_prescribed_text(facts)


def social_services_message(
    *,
    letter_id: str,
    case_id: str,
    customer_id: str,
    supply_point_id: str,
    site_label: str,
    municipality: str,
    debt_ore: int,
    noticed_on: date,
) -> LetterFacts:
    """The message about the missed payment to the social welfare board of ``municipality``, the
    municipality where the electricity is delivered (ellagen 11:4), sent with the notice. The
    consumer's name is looked up at rendering (domain.md §2: protected identities)."""
    return LetterFacts(
        letter_id=letter_id,
        kind="social_services_message",
        utility="electricity",
        case_id=case_id,
        customer_id=customer_id,
        supply_point_id=supply_point_id,
        sent_on=noticed_on,
        title="Meddelande om utebliven betalning av el",
        recipient_heading=f"Till socialnämnden i {municipality}",
        details=_details(case_id, site_label, noticed_on),
        heading="Meddelande enligt 11 kap. 4 § ellagen",
        paragraphs=(
            f"En konsument som får el överförd till anläggningen {site_label} i {municipality} "
            f"har inte betalat {format_sek(debt_ore)} för elnät och elhandel.",
            f"Konsumenten fick i dag, {long_date(noticed_on)}, en underrättelse om att "
            "överföringen av el kan komma att avbrytas om skulden inte betalas inom tre veckor "
            "från delgivningen.",
            "Avbrytandet sker inte om nämnden inom samma tid skriftligen meddelar oss att "
            "nämnden tar på sig betalningsansvaret för skulden.",
        ),
        items=(),
        tables=(),
        demand_ore=debt_ore,
        summary=(Entry(label="Skuld", value=format_sek(debt_ore)),),
        pay_by=None,
        costs=(),
        next_step=(),
        closing=(),
    )


def water_disconnection_letter(
    *,
    letter_id: str,
    case_id: str,
    owner_customer_id: str,
    supply_point_id: str,
    property_designation: str,
    items: Iterable[DemandItem],
    sent_on: date,
    remedy_by: date,
    visit_fee_ore: int,
    costs: Iterable[CostLine] = (),
) -> LetterFacts:
    """The letter about shutting off water (seed 001; LAV 43 §): to the property owner, a written
    request to pay the water charges by a reasonable date, a collection demand with its fee stated
    apart; water charges only (seed 003 line 363)."""
    checked = check_water_items(items, supply_point_id, sent_on)
    cost_lines = tuple(costs)
    total = sum(i.amount_ore for i in checked)
    facts = LetterFacts(
        letter_id=letter_id,
        kind="water_disconnection",
        utility="water",
        case_id=case_id,
        customer_id=owner_customer_id,
        supply_point_id=supply_point_id,
        sent_on=sent_on,
        title="Inkassokrav – vattnet kan komma att stängas av",
        recipient_heading="Till fastighetsägaren",
        details=_details(case_id, property_designation, sent_on),
        heading=f"Obetalda avgifter för vatten och avlopp, {property_designation}",
        paragraphs=(
            f"Vi har inte fått betalt för avgifterna för vatten och avlopp nedan för fastigheten "
            f"{property_designation}. Som fastighetsägare uppmanas du att betala "
            f"{format_sek(total)} senast {long_date(remedy_by)}.",
            "Beloppet avser bara vatten och avlopp. Andra avgifter, till exempel för "
            "renhållning, påverkar inte om vattnet stängs av.",
            _HOW_TO_PAY,
            *_costs_paragraph(cost_lines),
        ),
        items=checked,
        tables=(_items_table(checked, "Obetalda avgifter för vatten och avlopp"),),
        demand_ore=total,
        summary=_per_service(checked),
        pay_by=remedy_by,
        costs=cost_lines,
        next_step=(
            f"Om avgifterna inte är betalda senast {long_date(remedy_by)} kan vattnet stängas av "
            "enligt 43 § lagen om allmänna vattentjänster. Vattnet stängs inte av om det kan "
            "skada människors hälsa.",
            f"Ett besök för avstängning kostar {format_sek(visit_fee_ore)} enligt taxan, och "
            "lika mycket ett besök för påkoppling.",
        ),
        closing=(_CONTACT,),
    )
    return check_no_social_services_mention(facts)


# --- the letter recorded -------------------------------------------------------------------------


class DisconnectionLetterIssued(Event):
    """A letter of the procedure sent: what it states, without its recipient's name or address
    (looked up when it is rendered, domain.md §2), on the letter's own stream."""

    event_type: ClassVar[str] = "DisconnectionLetterIssued"

    facts: LetterFacts


LETTER_EVENTS: Final[tuple[type[Event], ...]] = (DisconnectionLetterIssued,)


def disconnection_letter_stream(letter_id: str) -> str:
    return f"disconnection-letter-{letter_id}"


def decide_letter_issued(facts: LetterFacts) -> DisconnectionLetterIssued:
    """The letter as it is recorded, once more through both rules on its wording (the builders
    run them too; a letter is never recorded without them): nothing of social services before
    the notice, and the notice with the prescribed text word for word (domain.md §6)."""
    check_no_social_services_mention(facts)
    check_notice_carries_prescribed_text(facts)
    return DisconnectionLetterIssued(facts=facts)


# Each cost of the collection case in the letter's words (domain.md §3 and §6 "Costs").
COST_LABELS: Final[dict[str, str]] = {
    "reminder": "Påminnelseavgift",
    "collection_demand": "Lagstadgad inkassoavgift",
    "written_plan": "Avgift för skriftlig avbetalningsplan",
    "request_to_remedy": "Kostnad för uppmaningen",
    "notice": "Kostnad för underrättelsen",
    "social_services_message": "Kostnad för meddelandet enligt 11 kap. 4 § ellagen",
    "service": "Kostnad för delgivning",
    "disconnection_visit": "Besök för avstängning",
    "reconnection_visit": "Besök för påkoppling",
}


def cost_lines(events: Iterable[Event]) -> tuple[CostLine, ...]:
    """The costs a step charged, as its letter states them apart from the demand."""
    return tuple(
        CostLine(label=COST_LABELS[e.kind], amount_ore=e.amount_ore)
        for e in events
        if isinstance(e, DisconnectionCostCharged)
    )


def electricity_letter(
    kind: StepKind,
    *,
    letter_id: str,
    case_id: str,
    customer_id: str,
    supply_point_id: str,
    items: Iterable[DemandItem],
    sent_on: date,
    until: date | None,
    costs: Iterable[CostLine] = (),
) -> LetterFacts:
    """The letter of an electricity step (``decide_letter_step``'s kind and ``until``): the
    collection demand with its time to pay, the request to remedy with its reasonable time, or
    the notice. The supply point is named by its id (the module docstring says why)."""
    if kind == "notice":
        return notice_letter(
            letter_id=letter_id,
            case_id=case_id,
            customer_id=customer_id,
            supply_point_id=supply_point_id,
            site_label=supply_point_id,
            items=items,
            sent_on=sent_on,
            costs=costs,
        )
    if kind not in ("collection_demand", "request_to_remedy") or until is None:
        raise DomainRuleViolation(
            f"the step {kind!r} sends no letter with a time to pay",
            field="kind",
            rule="letter_steps_only",
        )
    if kind == "collection_demand":
        return collection_demand_letter(
            letter_id=letter_id,
            case_id=case_id,
            customer_id=customer_id,
            supply_point_id=supply_point_id,
            site_label=supply_point_id,
            items=items,
            sent_on=sent_on,
            pay_by=until,
            costs=costs,
        )
    return request_to_remedy_letter(
        letter_id=letter_id,
        case_id=case_id,
        customer_id=customer_id,
        supply_point_id=supply_point_id,
        site_label=supply_point_id,
        items=items,
        sent_on=sent_on,
        remedy_by=until,
        costs=costs,
    )
