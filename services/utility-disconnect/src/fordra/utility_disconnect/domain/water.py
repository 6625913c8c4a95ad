"""The water disconnection case (domain.md §7; lag 2006:412 om allmänna vattentjänster 43 §;
seed 001; seed 003 line 363).

LAV 43 § allows shutting off water only if the property owner neglected to pay, the neglect is
material, shutting off causes no harm to human health, and the owner was told in writing to remedy
within a reasonable time and did not. Svenljunga's rules (seed 001, line 3) make the letter about
disconnection go about 10 days after the reminder; it is "att jämställa med ett inkassokrav", so
it carries the statutory collection fee (180 kr now, 160 kr in the seed), and a visit to shut
off and one to reconnect cost 500 kr each per the taxa. domain.md §7 adds: at most 45 days from
the due date to disconnection (due 2026-05-04 -> at the latest 2026-06-18).

Only water claims count: a court found a notice invalid that also demanded waste fees to avoid
the shut-off (seed 003 line 363, "avstängningsmeddelande ... ansetts inte"). The property owner is
the one addressed (domain.md §2: water's liable party is always the owner). No letter threatens
disconnection unless a case is open for that property (seed 001: "det strider mot god inkassosed
att hota med dylikt om åtgärden inte verkställs").

The case's stream ``water-case-<case id>`` holds ``WaterCaseOpened``, the letter, blocks, the
shut-off and the reconnection; the materiality of the neglect is an input (``StepAssessment``,
with a case officer's decision where it is ``manual``), as for electricity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import ClassVar, Final, Literal

from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.utility_disconnect.domain.procedure import (
    BlockNote,
    DemandItem,
    DisconnectionCostCharged,
    MaterialityAssessed,
    StepAssessment,
    check_assessment_date,
    check_assessment_material,
    period_end,
)
from fordra.utility_disconnect.domain.procedure_settings import AllowedCost, ProcedureSettings

WATER_SERVICES: Final[frozenset[str]] = frozenset({"water"})

WaterBlockReason = Literal["paid", "disputed", "health_risk"]
WaterStatus = Literal["open", "lettered", "disconnected", "reconnected", "stopped"]

WATER_BLOCK_MESSAGES: Final[dict[str, str]] = {
    "paid": "the owner has paid the water claim (LAV 43 §: the neglect is remedied)",
    "disputed": "the water claim is disputed (domain.md §7, §4)",
    "health_risk": "shutting off the water would harm human health (LAV 43 §)",
}


def water_case_stream(case_id: str) -> str:
    return f"water-case-{case_id}"


class WaterCaseOpened(Event):
    """A water disconnection case for one property, its owner the one addressed (domain.md §7)."""

    event_type: ClassVar[str] = "WaterDisconnectionCaseOpened"

    case_id: str
    supply_point_id: str
    property_designation: str
    owner_customer_id: str
    opened_on: date
    # The reminder the letter follows by about 10 days (seed 001): dunning's ``ReminderSent`` is
    # not among this context's upstreams, so the case officer gives its date when opening.
    reminder_sent_on: date | None = None


class WaterLetterSent(Event):
    """The letter about disconnection (seed 001): a written request to remedy by ``remedy_by`` and
    a collection demand; the water may be shut off after ``remedy_by`` and at the latest on
    ``latest_disconnection_on`` (45 days from the oldest claim's due date)."""

    event_type: ClassVar[str] = "WaterDisconnectionLetterSent"

    case_id: str
    letter_id: str
    sent_on: date
    reminder_sent_on: date
    oldest_due_date: date
    remedy_by: date
    latest_disconnection_on: date
    demand_ore: int


class WaterBlocked(Event):
    """Why the water may not be shut off (LAV 43 §; domain.md §7), with what was recorded."""

    event_type: ClassVar[str] = "WaterDisconnectionBlocked"
    personal_field: ClassVar[str | None] = "details"
    subject_field: ClassVar[str | None] = "owner_customer_id"

    case_id: str
    owner_customer_id: str
    reason: WaterBlockReason
    on: date
    details: BlockNote | None  # sealed: a harm to health tells of the household's health


class WaterShutOff(Event):
    """The water shut off at the property (a visit, charged per the taxa)."""

    event_type: ClassVar[str] = "WaterShutOff"

    case_id: str
    on: date
    demand_ore: int


class WaterReconnected(Event):
    """The water turned on again once the owner paid (a visit, charged per the taxa)."""

    event_type: ClassVar[str] = "WaterReconnected"

    case_id: str
    on: date


WATER_EVENTS: Final[tuple[type[Event], ...]] = (
    WaterCaseOpened,
    WaterLetterSent,
    WaterBlocked,
    WaterShutOff,
    WaterReconnected,
)


@dataclass(frozen=True, slots=True)
class WaterCase:
    case_id: str
    supply_point_id: str
    property_designation: str
    owner_customer_id: str
    opened_on: date
    reminder_sent_on: date | None = None
    status: WaterStatus = "open"
    letter: WaterLetterSent | None = None
    blocks: tuple[WaterBlockReason, ...] = ()
    shut_off_on: date | None = None
    costs_ore: int = 0


def water_case_of(events: Iterable[Event]) -> WaterCase | None:
    """The water case as its stream's events made it (None before it was opened)."""
    state: WaterCase | None = None
    for e in events:
        if isinstance(e, WaterCaseOpened):
            state = WaterCase(
                case_id=e.case_id,
                supply_point_id=e.supply_point_id,
                property_designation=e.property_designation,
                owner_customer_id=e.owner_customer_id,
                opened_on=e.opened_on,
                reminder_sent_on=e.reminder_sent_on,
            )
        elif state is None:
            continue
        elif isinstance(e, WaterLetterSent):
            state = replace(state, letter=e, status="lettered")
        elif isinstance(e, WaterBlocked):
            ends = e.reason == "paid" and state.status != "disconnected"
            state = replace(
                state,
                blocks=(*state.blocks, e.reason),
                status="stopped" if ends else state.status,
            )
        elif isinstance(e, WaterShutOff):
            state = replace(state, status="disconnected", shut_off_on=e.on)
        elif isinstance(e, WaterReconnected):
            state = replace(state, status="reconnected", blocks=())
        elif isinstance(e, DisconnectionCostCharged):
            state = replace(state, costs_ore=state.costs_ore + e.amount_ore)
    return state


# --- rules -------------------------------------------------------------------------------------


def check_property_owner_addressed(customer_id: str, owner_customer_id: str) -> None:
    """domain.md §2 and §7: for water the property owner is liable and is the one addressed."""
    if customer_id != owner_customer_id:
        raise DomainRuleViolation(
            f"customer {customer_id} is not the property's owner ({owner_customer_id}): a water "
            "disconnection letter is addressed to the owner",
            field="customer_id",
            rule="property_owner_addressed",
        )


def check_water_items(
    items: Iterable[DemandItem], supply_point_id: str, on: date
) -> tuple[DemandItem, ...]:
    """domain.md §7, seed 003 line 363: only water claims count. A demand that would also take a
    waste fee (or any other service), interest, a cost, or a claim of another property or not yet
    due is refused, naming the item."""
    checked = tuple(items)
    if not checked:
        raise DomainRuleViolation(
            "a water demand names at least one overdue water claim", field="items", rule="missing"
        )
    for i, item in enumerate(checked):
        where = f"items[{i}]"
        if item.service_type not in WATER_SERVICES:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is for {item.service_type}: only water claims "
                "count; a notice also demanding waste fees was found invalid (seed 003 line 363)",
                field=where,
                rule="water_claims_only",
            )
        if item.kind != "capital":
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is {item.kind}: the threat covers the water "
                "charges themselves; the letter's fee is a cost of the collection case",
                field=where,
                rule="capital_only",
            )
        if item.supply_point_id != supply_point_id:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is not for this property's connection "
                f"({supply_point_id})",
                field=where,
                rule="same_supply_point",
            )
        if item.due_date >= on:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) falls due on {item.due_date}: only overdue "
                "water charges are demanded",
                field=where,
                rule="overdue_only",
            )
        if item.amount_ore <= 0:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) has nothing open", field=where, rule="positive"
            )
    return checked


def latest_water_disconnection_on(due_date: date, settings: ProcedureSettings) -> date:
    """domain.md §7: at most 45 days (a dated setting) from the due date to disconnection: due
    2026-05-04 -> at the latest 2026-06-18."""
    return due_date + timedelta(days=settings.water_max_days_from_due_date.at(due_date))


def earliest_water_letter_on(reminder_sent_on: date, settings: ProcedureSettings) -> date:
    """seed 001: the letter about disconnection goes about 10 days (a dated setting) after the
    reminder."""
    days = settings.water_letter_days_after_reminder.at(reminder_sent_on)
    return reminder_sent_on + timedelta(days=days)


def water_remedy_by(on: date, settings: ProcedureSettings, calendar: WorkingDayCalendar) -> date:
    """LAV 43 §: the written request gives a reasonable time to remedy (domain.md §7: about 14
    days, a dated setting), ending on a working day (lag 1930:173 2 §)."""
    return period_end(on, settings.water_remedy_days.at(on), calendar)


def check_water_threat_has_open_case(
    case: WaterCase | None, property_designation: str
) -> WaterCase:
    """domain.md §7, seed 001: no letter threatens shutting off the water unless a case is open
    for that property (a threat that will not be carried out breaks god inkassosed)."""
    if (
        case is None
        or case.property_designation != property_designation
        or case.status in ("stopped", "reconnected")
    ):
        raise DomainRuleViolation(
            f"no open water disconnection case for property {property_designation}: no letter "
            "may threaten to shut off its water",
            field="property_designation",
            rule="no_empty_threats",
        )
    return case


def decide_water_open(
    *,
    case_id: str,
    supply_point_id: str,
    utility: str,
    property_designation: str,
    owner_customer_id: str,
    today: date,
    reminder_sent_on: date | None = None,
) -> WaterCaseOpened:
    """Open a water case for a property; it names its owner, the one every letter addresses, and
    the day the reminder went (the letter follows it by about 10 days, seed 001): not a day to
    come."""
    if utility != "water":
        raise DomainRuleViolation(
            f"a {utility} supply point does not follow LAV 43 §",
            field="supply_point_id",
            rule="water_only",
        )
    if not property_designation.strip():
        raise DomainRuleViolation(
            "a water case names the property (fastighetsbeteckning)",
            field="property_designation",
            rule="missing",
        )
    if reminder_sent_on is not None and reminder_sent_on > today:
        raise DomainRuleViolation(
            f"the reminder of {reminder_sent_on} has not been sent yet (today is {today})",
            field="reminder_sent_on",
            rule="reminder_sent_first",
        )
    return WaterCaseOpened(
        case_id=case_id,
        supply_point_id=supply_point_id,
        property_designation=property_designation,
        owner_customer_id=owner_customer_id,
        opened_on=today,
        reminder_sent_on=reminder_sent_on,
    )


def _charge(case_id: str, kind: AllowedCost, on: date, settings: ProcedureSettings) -> list[Event]:
    amount = settings.cost_ore(kind, on)
    if amount <= 0:
        return []
    return [DisconnectionCostCharged(case_id=case_id, kind=kind, on=on, amount_ore=amount)]


def _assessed(case: WaterCase, assessment: StepAssessment, step: str) -> MaterialityAssessed:
    return MaterialityAssessed(
        case_id=case.case_id,
        supply_point_id=case.supply_point_id,
        step="collection_demand" if step == "letter" else "disconnection",
        assessed_on=assessment.assessed_on,
        result=assessment.result,
        reason=assessment.reason,
        inputs=assessment.inputs,
        overdue_capital_ore=assessment.overdue_capital_ore,
        officer_decision=assessment.officer_decision,
        decided_by=assessment.decided_by,
    )


def decide_water_letter(
    case: WaterCase,
    on: date,
    items: Iterable[DemandItem],
    *,
    customer_id: str,
    reminder_sent_on: date,
    assessment: StepAssessment,
    letter_id: str,
    settings: ProcedureSettings,
    calendar: WorkingDayCalendar,
) -> list[Event]:
    """The letter about disconnection (seed 001; LAV 43 §): to the owner, about 10 days after the
    reminder, for water claims only, with a reasonable time to remedy and the collection fee. It
    is refused when the time to remedy would end on or after the last day the 45 days allow: the
    letter would threaten a shut-off that could not lawfully follow (no empty threats)."""
    if case.status != "open":
        raise DomainRuleViolation(
            f"water case {case.case_id} is {case.status}: its letter has gone or it has ended",
            field="case_id",
            rule="steps_in_order",
        )
    check_property_owner_addressed(customer_id, case.owner_customer_id)
    checked = check_water_items(items, case.supply_point_id, on)
    earliest = earliest_water_letter_on(reminder_sent_on, settings)
    if on < earliest:
        raise DomainRuleViolation(
            f"the letter goes about 10 days after the reminder of {reminder_sent_on}: "
            f"earliest {earliest}",
            field="on",
            rule="water_letter_after_reminder",
        )
    check_assessment_date(assessment, on)
    if case.blocks:
        raise DomainRuleViolation(
            f"the letter is refused: {WATER_BLOCK_MESSAGES[case.blocks[-1]]}",
            field="case_id",
            rule=f"blocked_{case.blocks[-1]}",
        )
    check_assessment_material(assessment, "water letter")
    oldest_due = min(i.due_date for i in checked)
    latest = latest_water_disconnection_on(oldest_due, settings)
    remedy_by = water_remedy_by(on, settings, calendar)
    if remedy_by >= latest:
        raise DomainRuleViolation(
            f"the time to remedy would run to {remedy_by}, but the water may be shut off at the "
            f"latest on {latest} (45 days from the due date {oldest_due}): the letter would "
            "threaten what cannot be done",
            field="on",
            rule="water_45_days",
        )
    demand = sum(i.amount_ore for i in checked)
    return [
        _assessed(case, assessment, "letter"),
        WaterLetterSent(
            case_id=case.case_id,
            letter_id=letter_id,
            sent_on=on,
            reminder_sent_on=reminder_sent_on,
            oldest_due_date=oldest_due,
            remedy_by=remedy_by,
            latest_disconnection_on=latest,
            demand_ore=demand,
        ),
        # seed 001: the letter is "att jämställa med ett inkassokrav": the statutory fee.
        *_charge(case.case_id, "collection_demand", on, settings),
    ]


def decide_water_block(
    case: WaterCase, reason: WaterBlockReason, on: date, note: str
) -> WaterBlocked:
    """Record why the water may not be shut off (LAV 43 §: harm to health; paid; disputed)."""
    if not note.strip():
        raise DomainRuleViolation("a block says what was recorded", field="note", rule="missing")
    return WaterBlocked(
        case_id=case.case_id,
        owner_customer_id=case.owner_customer_id,
        reason=reason,
        on=on,
        details=BlockNote(note=note),
    )


def decide_water_shut_off(
    case: WaterCase, on: date, assessment: StepAssessment, settings: ProcedureSettings
) -> list[Event]:
    """Shut off the water (LAV 43 §, domain.md §7): only after the time to remedy has run out,
    at the latest 45 days from the due date, with no block (paid, disputed, harm to health), and
    the neglect still material on the day. The visit is charged per the taxa (500 kr)."""
    letter = case.letter
    if case.status != "lettered" or letter is None:
        raise DomainRuleViolation(
            f"water case {case.case_id} is {case.status}: the owner must first be told in writing "
            "to remedy within a reasonable time",
            field="case_id",
            rule="written_request_first",
        )
    if on <= letter.remedy_by:
        raise DomainRuleViolation(
            f"the owner may remedy until {letter.remedy_by}: earliest shut-off "
            f"{letter.remedy_by + timedelta(days=1)}",
            field="date",
            rule="after_time_to_remedy",
        )
    if on > letter.latest_disconnection_on:
        raise DomainRuleViolation(
            f"at most 45 days from the due date {letter.oldest_due_date}: the last day was "
            f"{letter.latest_disconnection_on}",
            field="date",
            rule="water_45_days",
        )
    if case.blocks:
        raise DomainRuleViolation(
            f"the shut-off is refused: {WATER_BLOCK_MESSAGES[case.blocks[-1]]}",
            field="case_id",
            rule=f"blocked_{case.blocks[-1]}",
        )
    check_assessment_date(assessment, on)
    check_assessment_material(assessment, "shut-off")
    return [
        _assessed(case, assessment, "disconnection"),
        WaterShutOff(case_id=case.case_id, on=on, demand_ore=assessment.overdue_capital_ore),
        *_charge(case.case_id, "disconnection_visit", on, settings),
    ]


def decide_water_reconnection(
    case: WaterCase, on: date, overdue_capital_ore: int, settings: ProcedureSettings
) -> list[Event]:
    """Turn the water on again once the owner has paid; the visit is charged (500 kr, seed 001)."""
    if case.status != "disconnected":
        raise DomainRuleViolation(
            f"water case {case.case_id} is {case.status}: nothing to reconnect",
            field="case_id",
            rule="steps_in_order",
        )
    if overdue_capital_ore > 0 and "health_risk" not in case.blocks:
        raise DomainRuleViolation(
            f"{overdue_capital_ore} öre of the water claim is still unpaid",
            field="case_id",
            rule="reconnection_on_payment",
        )
    return [
        WaterReconnected(case_id=case.case_id, on=on),
        *_charge(case.case_id, "reconnection_visit", on, settings),
    ]
