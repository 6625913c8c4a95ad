"""The disconnection case for electricity, from its events (domain.md §6; ellagen 11 kap.).

A case is opened per supply point, for a consumer only (ellagen 11:1: a customer with an
organisationsnummer never enters it), when a collection demand on a material electricity claim
stays unpaid, or by hand. Its stream ``disconnection-case-<case id>`` holds the steps in the order
the law takes them (seed 003 line 29, section 4.1):

1. ``collection_demand`` (inkassokrav; already sent by dunning when the case opens on its own),
2. ``request_to_remedy`` (uppmaning, ellagen 11:3): pay within a reasonable time; it, like any
   demand before it, never mentions social services,
3. ``notice`` (underrättelse, ellagen 11:4) with the prescribed text: pay within 3 weeks of
   service; the same day ``DisconnectionNoticed`` and a message to the social welfare board of
   the municipality **where the electricity is delivered** (the supply point's
   ``site_municipality``, not the customer's address),
4. the service (delgivning) recorded, from which ``earliest_disconnection_on`` is derived,
5. ``order``, 6. ``disconnection`` (executed), 7. ``reconnection`` on payment.

The materiality test runs again before every step (domain.md §6; seed 003 lines 23-27: "bör
göras på nytt i varje skede"): each step carries the re-assessment it was taken on
(``MaterialityAssessed``: the inputs and the result), and a step whose re-assessment is not
material, or ``manual`` without a case officer's decision, is refused with the reason. The
assessment itself is helper A's (``domain/materiality.py``); this module takes its result as an
input, ``StepAssessment``, and imports nothing of it.

No disconnection (ellagen 11:3-4; domain.md §6) while a block holds: the consumer paid, the claim
is disputed, the social welfare board has said in writing within the 3 weeks that it takes over
the debt, a risk of non-trivial personal injury or extensive property damage is recorded, or a
re-assessment after a partial payment found the breach no longer material. Each block is an event
(``DisconnectionBlocked``) with its reason; a dispute or a risk may later be lifted
(``BlockLifted``), the others end the case.

Deadlines follow lag (1930:173) om beräkning av lagstadgad tid: the 3 weeks from service end on
the day of the same weekday three weeks on, moved to the next working day when that is not one;
disconnection is allowed from the day after (served Tuesday 2026-04-07 -> pay by 2026-04-28 ->
earliest disconnection 2026-04-29, domain.md §6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import CustomerKind, LineKind, ServiceType
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event, PersonalData
from fordra.utility_disconnect.domain.procedure_settings import (
    ALLOWED_COSTS,
    FORBIDDEN_COSTS,
    AllowedCost,
    ProcedureSettings,
)

# The assessment's results (helper A's ``materiality.Result``): "refused" for a business customer.
AssessmentResult = Literal["material", "not_material", "manual", "refused"]
OfficerDecision = Literal["material", "not_material"]
Opened = Literal["automatic", "by_hand"]

# The letters and acts of the procedure, in the law's order (seed 003 line 29).
StepKind = Literal[
    "collection_demand",
    "request_to_remedy",
    "notice",
    "order",
    "disconnection",
    "reconnection",
]
STEP_ORDER: Final[tuple[StepKind, ...]] = (
    "collection_demand",
    "request_to_remedy",
    "notice",
    "order",
    "disconnection",
    "reconnection",
)

# Why a disconnection may not happen (ellagen 11:3-4, domain.md §6).
BlockReason = Literal[
    "paid",
    "disputed",
    "board_takeover",
    "risk_of_injury",
    "not_material_after_partial_payment",
]
# Blocks that end the case: the debt is gone, or the breach is no longer material; a new breach
# starts a new case from the request to remedy.
ENDING_BLOCKS: Final[frozenset[str]] = frozenset(
    {"paid", "board_takeover", "not_material_after_partial_payment"}
)
# Blocks that can be lifted: a dispute resolved, a risk no longer there.
LIFTABLE_BLOCKS: Final[frozenset[str]] = frozenset({"disputed", "risk_of_injury"})

# What a recorded assessment was for: a step, the opening, or a re-assessment between steps.
AssessedFor = StepKind | Literal["open", "reassessment"]

CaseStatus = Literal[
    "open",  # steps being taken
    "noticed",  # the notice has gone; waiting for service and its 3 weeks
    "ordered",
    "disconnected",
    "reconnected",
    "stopped",  # ended by a block: paid, taken over, no longer material
]

# The status a step leaves the case in (the letters before the notice leave it open).
STATUS_AFTER: Final[Mapping[str, CaseStatus]] = {
    "notice": "noticed",
    "order": "ordered",
    "disconnection": "disconnected",
    "reconnection": "reconnected",
}

# The parts of an electricity claim that may ground a disconnection (domain.md §6: grid and supply,
# each on its own; never water, waste or any other service).
ELECTRICITY_SERVICES: Final[frozenset[str]] = frozenset({"electricity_grid", "electricity_supply"})

BLOCK_MESSAGES: Final[Mapping[str, str]] = {
    "paid": "the consumer has paid the electricity claim (ellagen 11:3, 'sker rättelse')",
    "disputed": "the claim is disputed (domain.md §6)",
    "board_takeover": (
        "the social welfare board has said in writing within the 3 weeks that it takes over the "
        "debt (ellagen 11:4)"
    ),
    "risk_of_injury": (
        "a risk of non-trivial personal injury or extensive property damage is recorded "
        "(ellagen 11:3)"
    ),
    "not_material_after_partial_payment": (
        "re-assessed after a partial payment, the breach is no longer material (seed 003 line 25)"
    ),
}


def case_stream(case_id: str) -> str:
    return f"disconnection-case-{case_id}"


# --- input: the re-assessment a step is taken on -------------------------------------------------


class StepAssessment(BaseModel):
    """The materiality assessment a step is taken on (helper A's ``Assessment``: its result, the
    inputs it weighed and the reason, plus the overdue electricity capital it counted), with a
    case officer's decision where the result is ``manual`` (domain.md §6: with 2 unpaid invoices
    the total is weighed by a case officer, not automatically)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: AssessmentResult
    reason: str
    inputs: dict[str, Any]
    assessed_on: date
    # The supply point's overdue grid and supply capital the assessment counted (domain.md §6:
    # capital only, no interest, costs, other services or advance payments).
    overdue_capital_ore: int
    officer_decision: OfficerDecision | None = None
    decided_by: str | None = None

    @property
    def material(self) -> bool:
        """Material by the rule, or ``manual`` and found material by a named case officer."""
        if self.result == "material":
            return True
        return (
            self.result == "manual"
            and self.officer_decision == "material"
            and bool(self.decided_by)
        )


# --- events ------------------------------------------------------------------------------------


class DisconnectionCaseOpened(Event):
    """A disconnection case begins for one supply point of a consumer (domain.md §6)."""

    event_type: ClassVar[str] = "DisconnectionCaseOpened"

    case_id: str
    supply_point_id: str
    customer_id: str
    # Where the electricity is delivered: the municipality whose board the notice tells.
    site_municipality: str
    opened_on: date
    opened: Opened
    # A case opened on its own follows dunning's collection demand (already sent).
    collection_demand_sent_on: date | None = None


class MaterialityAssessed(Event):
    """The re-assessment a step was taken on, or refused on: its inputs and result (domain.md §6:
    "its inputs and result are recorded with each step")."""

    event_type: ClassVar[str] = "DisconnectionMaterialityAssessed"

    case_id: str
    supply_point_id: str
    step: AssessedFor
    assessed_on: date
    result: AssessmentResult
    reason: str
    inputs: dict[str, Any]
    overdue_capital_ore: int
    officer_decision: OfficerDecision | None = None
    decided_by: str | None = None


class DisconnectionStepTaken(Event):
    """A step of the procedure: a letter sent, an order given, the disconnection executed or the
    reconnection made; with the date its deadline runs to where it has one."""

    event_type: ClassVar[str] = "DisconnectionStepTaken"

    case_id: str
    kind: StepKind
    on: date
    letter_id: str | None = None
    # What the step demanded: the supply point's overdue electricity capital (domain.md §6).
    demand_ore: int
    # The request's reasonable time, the demand's time to pay, or the ordered disconnection date.
    until: date | None = None


class DisconnectionNoticed(Event):
    """The notice (underrättelse) went out with the prescribed text (ellagen 11:4; domain.md §6).
    Meant to become public in ``fordra.contracts.utility_disconnect`` when the case is wired."""

    event_type: ClassVar[str] = "DisconnectionNoticed"

    case_id: str
    supply_point_id: str
    customer_id: str
    noticed_on: date
    demand_ore: int
    letter_id: str


class SocialServicesMessageQueued(Event):
    """The message about the missed payment to the social welfare board of the municipality where
    the electricity is delivered, on the notice's date (ellagen 11:4; seed 003 line 29). Names,
    addresses and the deadline are looked up when the queue is read (protected identities)."""

    event_type: ClassVar[str] = "DisconnectionSocialServicesMessageQueued"

    notification_id: str
    case_id: str
    supply_point_id: str
    customer_id: str
    municipality: str
    debt_ore: int
    noticed_on: date


class ServiceRecorded(Event):
    """The notice was served (delgiven) on ``served_on``: the consumer pays by ``pay_by`` (3 weeks,
    lag 1930:173) and may be disconnected from ``earliest_disconnection_on``."""

    event_type: ClassVar[str] = "DisconnectionServiceRecorded"

    case_id: str
    served_on: date
    recorded_on: date
    pay_by: date
    earliest_disconnection_on: date


class BlockNote(PersonalData):
    """What was recorded of a block or its lifting: it may tell of the consumer's health (medical
    equipment) or finances, so it is sealed per customer, as the supply point's risk note is."""

    note: str


class DisconnectionBlocked(Event):
    """A reason the disconnection may not happen (domain.md §6), with what was recorded of it."""

    event_type: ClassVar[str] = "DisconnectionBlocked"
    personal_field: ClassVar[str | None] = "details"
    subject_field: ClassVar[str | None] = "customer_id"

    case_id: str
    customer_id: str
    reason: BlockReason
    on: date
    details: BlockNote | None  # None once erased
    written_on: date | None = None  # the board's written takeover


class BlockLifted(Event):
    """A dispute resolved or a risk gone: the block no longer holds."""

    event_type: ClassVar[str] = "DisconnectionBlockLifted"
    personal_field: ClassVar[str | None] = "details"
    subject_field: ClassVar[str | None] = "customer_id"

    case_id: str
    customer_id: str
    reason: BlockReason
    on: date
    details: BlockNote | None


class DisconnectionCostCharged(Event):
    """A cost the law allows, charged within the collection case (seed 003 line 39), never on the
    next ordinary invoice and never part of what the threat demands."""

    event_type: ClassVar[str] = "DisconnectionCostCharged"

    case_id: str
    kind: AllowedCost
    on: date
    amount_ore: int


PROCEDURE_EVENTS: Final[tuple[type[Event], ...]] = (
    DisconnectionCaseOpened,
    MaterialityAssessed,
    DisconnectionStepTaken,
    DisconnectionNoticed,
    SocialServicesMessageQueued,
    ServiceRecorded,
    DisconnectionBlocked,
    BlockLifted,
    DisconnectionCostCharged,
)


# --- state -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    on: date
    letter_id: str | None
    until: date | None


@dataclass(frozen=True, slots=True)
class Block:
    reason: BlockReason
    on: date
    note: str


@dataclass(frozen=True, slots=True)
class CaseState:
    case_id: str
    supply_point_id: str
    customer_id: str
    site_municipality: str
    opened_on: date
    status: CaseStatus = "open"
    steps: tuple[Step, ...] = ()
    demand_ore: int = 0  # what the last step demanded
    served_on: date | None = None
    pay_by: date | None = None
    earliest_disconnection_on: date | None = None
    noticed_on: date | None = None
    blocks: tuple[Block, ...] = ()
    costs_ore: int = 0
    assessments: int = field(default=0)

    def step(self, kind: StepKind) -> Step | None:
        """The last step of ``kind`` taken, if any."""
        for s in reversed(self.steps):
            if s.kind == kind:
                return s
        return None

    def listing(self) -> dict[str, Any]:
        """The case as issue 16's ``GET /api/v1/disconnection/cases`` lists it (JSON-ready)."""
        return {
            "case_id": self.case_id,
            "supply_point_id": self.supply_point_id,
            "customer_id": self.customer_id,
            "status": self.status,
            "demand_ore": self.demand_ore,
            "steps": [
                {"kind": s.kind, "on": s.on.isoformat(), "letter_id": s.letter_id}
                for s in self.steps
            ],
            "served_on": self.served_on.isoformat() if self.served_on else None,
            "earliest_disconnection_on": (
                self.earliest_disconnection_on.isoformat()
                if self.earliest_disconnection_on
                else None
            ),
            "blocks": [
                {"reason": b.reason, "on": b.on.isoformat(), "note": b.note} for b in self.blocks
            ],
        }

    @property
    def last_step(self) -> StepKind | None:
        return self.steps[-1].kind if self.steps else None

    @property
    def next_step(self) -> StepKind | None:
        """The letter or act the case takes next (the order and later are decided apart)."""
        if self.status == "stopped":
            return None
        last = self.last_step
        if last is None:
            return "collection_demand"
        if last == "reconnection":
            return None
        return STEP_ORDER[STEP_ORDER.index(last) + 1]


def case_of(events: Iterable[Event]) -> CaseState | None:
    """The case as its stream's events made it (None before it was opened)."""
    state: CaseState | None = None
    for e in events:
        if isinstance(e, DisconnectionCaseOpened):
            state = CaseState(
                case_id=e.case_id,
                supply_point_id=e.supply_point_id,
                customer_id=e.customer_id,
                site_municipality=e.site_municipality,
                opened_on=e.opened_on,
            )
            if e.collection_demand_sent_on is not None:
                state = replace(
                    state,
                    steps=(Step("collection_demand", e.collection_demand_sent_on, None, None),),
                )
        elif state is None:
            continue
        elif isinstance(e, MaterialityAssessed):
            state = replace(state, assessments=state.assessments + 1)
            if e.step == "open" and state.last_step == "collection_demand" and not state.demand_ore:
                # A case opened on its own: dunning's collection demand claimed what was overdue
                # when the case opened, so a part payment before the request to remedy is
                # measured against it too (and may end the case, "not material after a partial
                # payment", handing the rest back to dunning).
                state = replace(state, demand_ore=e.overdue_capital_ore)
        elif isinstance(e, DisconnectionStepTaken):
            status = STATUS_AFTER.get(e.kind, state.status)
            state = replace(
                state,
                steps=(*state.steps, Step(e.kind, e.on, e.letter_id, e.until)),
                demand_ore=e.demand_ore,
                status=status,
                noticed_on=e.on if e.kind == "notice" else state.noticed_on,
            )
        elif isinstance(e, ServiceRecorded):
            state = replace(
                state,
                served_on=e.served_on,
                pay_by=e.pay_by,
                earliest_disconnection_on=e.earliest_disconnection_on,
            )
        elif isinstance(e, DisconnectionBlocked):
            ended = e.reason in ENDING_BLOCKS and state.status != "disconnected"
            state = replace(
                state,
                blocks=(
                    *state.blocks,
                    Block(e.reason, e.on, e.details.note if e.details is not None else ""),
                ),
                status="stopped" if ended else state.status,
            )
        elif isinstance(e, BlockLifted):
            kept = tuple(b for b in state.blocks if b.reason != e.reason)
            state = replace(state, blocks=kept)
        elif isinstance(e, DisconnectionCostCharged):
            state = replace(state, costs_ore=state.costs_ore + e.amount_ore)
    return state


# --- rules -------------------------------------------------------------------------------------


def check_consumer_only(customer_kind: CustomerKind) -> None:
    """Ellagen 11:1 (domain.md §6): the chapter is for consumers; a customer with an
    organisationsnummer never enters this procedure."""
    if customer_kind != "person":
        raise DomainRuleViolation(
            "the customer is a business (organisationsnummer): ellagen 11 kap. applies to "
            "consumers only, so no disconnection procedure is opened",
            field="customer_id",
            rule="consumers_only",
        )


def check_assessment_material(assessment: StepAssessment, step: str) -> None:
    """domain.md §6, seed 003 lines 23-27: the materiality test before the threat and again at
    every later step. Not material, or ``manual`` without a case officer's decision, stops it;
    ``refused`` (a business customer) is outside the procedure altogether."""
    if assessment.result == "refused":
        raise DomainRuleViolation(
            f"the {step} is refused: {assessment.reason}",
            field="customer_id",
            rule="consumers_only",
        )
    if assessment.result == "manual" and assessment.officer_decision is None:
        raise DomainRuleViolation(
            f"the {step} is refused: the assessment is 'manual' ({assessment.reason}) and needs a "
            "case officer's decision that the breach is material",
            field="officer_decision",
            rule="materiality_manual_needs_decision",
        )
    if assessment.result == "manual" and not assessment.decided_by:
        raise DomainRuleViolation(
            f"the {step} is refused: a case officer's decision names who took it",
            field="decided_by",
            rule="materiality_manual_needs_decision",
        )
    if not assessment.material:
        raise DomainRuleViolation(
            f"the {step} is refused: the breach is not material ({assessment.reason})",
            field="supply_point_id",
            rule="material_breach",
        )


def check_assessment_date(assessment: StepAssessment, on: date) -> None:
    """The re-assessment is the step's own: made on the step's date, not carried from an
    earlier one (a partial payment since would be missed, seed 003 line 27)."""
    if assessment.assessed_on != on:
        raise DomainRuleViolation(
            f"the assessment is of {assessment.assessed_on}, not of the step's date {on}: "
            "re-assess before every step",
            field="assessed_on",
            rule="reassess_every_step",
        )


def assessed(case: CaseState, assessment: StepAssessment, step: AssessedFor) -> MaterialityAssessed:
    """The event recording the (re-)assessment a step is taken on."""
    return MaterialityAssessed(
        case_id=case.case_id,
        supply_point_id=case.supply_point_id,
        step=step,
        assessed_on=assessment.assessed_on,
        result=assessment.result,
        reason=assessment.reason,
        inputs=assessment.inputs,
        overdue_capital_ore=assessment.overdue_capital_ore,
        officer_decision=assessment.officer_decision,
        decided_by=assessment.decided_by,
    )


def decide_open(
    *,
    case_id: str,
    supply_point_id: str,
    customer_id: str,
    customer_kind: CustomerKind,
    utility: str,
    site_municipality: str,
    assessment: StepAssessment,
    today: date,
    opened: Opened,
    collection_demand_sent_on: date | None = None,
) -> list[Event]:
    """Open a case (domain.md §6): a consumer's electricity supply point, a material breach. On
    its own, after dunning's collection demand on the claim stayed unpaid; or by hand."""
    check_consumer_only(customer_kind)
    if utility != "electricity":
        raise DomainRuleViolation(
            f"a {utility} supply point follows LAV 43 § (water.py), not ellagen's procedure",
            field="supply_point_id",
            rule="electricity_only",
        )
    if opened == "automatic" and collection_demand_sent_on is None:
        raise DomainRuleViolation(
            "a case opens on its own only after a collection demand stayed unpaid",
            field="collection_demand_sent_on",
            rule="case_after_collection_demand",
        )
    if collection_demand_sent_on is not None and collection_demand_sent_on > today:
        raise DomainRuleViolation(
            f"collection_demand_sent_on {collection_demand_sent_on} is after today, {today}",
            field="collection_demand_sent_on",
            rule="date_in_future",
        )
    check_assessment_date(assessment, today)
    check_assessment_material(assessment, "case")
    opened_event = DisconnectionCaseOpened(
        case_id=case_id,
        supply_point_id=supply_point_id,
        customer_id=customer_id,
        site_municipality=site_municipality,
        opened_on=today,
        opened=opened,
        collection_demand_sent_on=collection_demand_sent_on,
    )
    state = case_of([opened_event])
    assert state is not None
    return [opened_event, assessed(state, assessment, "open")]


def check_no_block(case: CaseState, act: str) -> None:
    """domain.md §6 "No disconnection if": a block that holds stops the act, naming it."""
    if case.blocks:
        block = case.blocks[-1]
        raise DomainRuleViolation(
            f"the {act} is refused: {BLOCK_MESSAGES[block.reason]}",
            field="case_id",
            rule=f"blocked_{block.reason}",
        )


def check_case_not_stopped(case: CaseState) -> None:
    if case.status == "stopped":
        reasons = ", ".join(b.reason for b in case.blocks) or "stopped"
        raise DomainRuleViolation(
            f"case {case.case_id} has ended ({reasons}): no further step is taken",
            field="case_id",
            rule="case_ended",
        )


def period_end(start: date, days: int, calendar: WorkingDayCalendar) -> date:
    """Lag (1930:173) 2 §: a period ending on a day that is not a working day ends on the next."""
    end = start + timedelta(days=days)
    while not calendar.is_working_day(end):
        end += timedelta(days=1)
    return end


def pay_by_after_service(
    served_on: date, settings: ProcedureSettings, calendar: WorkingDayCalendar
) -> date:
    """The last day to pay: 3 weeks (a dated setting) from service (ellagen 11:4)."""
    days = settings.notice_pay_days_from_service.at(served_on)
    return period_end(served_on, days, calendar)


def earliest_disconnection_on(
    served_on: date, settings: ProcedureSettings, calendar: WorkingDayCalendar
) -> date:
    """domain.md §6: disconnection only after the 3 weeks from service have run out (served
    2026-04-07 -> earliest 2026-04-29)."""
    return pay_by_after_service(served_on, settings, calendar) + timedelta(days=1)


def letter_step_until(
    kind: StepKind, on: date, settings: ProcedureSettings, calendar: WorkingDayCalendar
) -> date | None:
    """The date a letter's time runs to: the collection demand's time to pay, the request's
    reasonable time (ellagen 11:3). The notice's 3 weeks run from service, not from sending."""
    if kind == "collection_demand":
        return period_end(on, settings.collection_demand_pay_days.at(on), calendar)
    if kind == "request_to_remedy":
        return period_end(on, settings.request_to_remedy_days.at(on), calendar)
    return None


def check_letter_timing(case: CaseState, kind: StepKind, on: date) -> None:
    """The request follows the collection demand's time to pay; the notice follows the request's
    reasonable time ("sedan tiden för rättelse gått ut", seed 003 line 29)."""
    if kind == "collection_demand":
        return
    before = case.step("collection_demand" if kind == "request_to_remedy" else "request_to_remedy")
    assert before is not None  # the order of steps is checked first
    if before.until is not None and on <= before.until:
        what = (
            "collection demand's time to pay"
            if kind == "request_to_remedy"
            else "request to remedy's reasonable time"
        )
        raise DomainRuleViolation(
            f"the {kind} may go only after the {what} has run out ({before.until}); "
            f"earliest {before.until + timedelta(days=1)}",
            field="on",
            rule="after_time_to_remedy" if kind == "notice" else "after_collection_demand",
        )
    if before.until is None and on < before.on:
        raise DomainRuleViolation(
            f"the {kind} cannot be dated before the step it follows ({before.on})",
            field="on",
            rule="steps_in_order",
        )


def decide_letter_step(
    case: CaseState,
    on: date,
    assessment: StepAssessment,
    *,
    items: Iterable[DemandItem],
    letter_id: str,
    notification_id: str,
    settings: ProcedureSettings,
    calendar: WorkingDayCalendar,
) -> list[Event]:
    """The next letter of the case (collection demand, request to remedy or notice), re-assessed
    (domain.md §6), demanding ``items``: only the supply point's overdue grid and supply capital,
    never more than the re-assessment counted (``check_demand_items``). The notice also appends
    ``DisconnectionNoticed`` and queues the message to the board of ``site_municipality`` on the
    same date. The letter's cost is charged when the law allows one and the setting is not
    nothing."""
    check_case_not_stopped(case)
    kind = case.next_step
    if kind not in ("collection_demand", "request_to_remedy", "notice"):
        raise DomainRuleViolation(
            f"case {case.case_id} has sent its letters; its next step is {kind or 'none'}",
            field="case_id",
            rule="steps_in_order",
        )
    check_assessment_date(assessment, on)
    check_letter_timing(case, kind, on)
    check_no_block(case, kind)
    check_assessment_material(assessment, kind)
    demand = sum(i.amount_ore for i in check_demand_items(items, case.supply_point_id, on))
    if demand > assessment.overdue_capital_ore:
        raise DomainRuleViolation(
            f"the letter would demand {demand} öre but the re-assessment counted "
            f"{assessment.overdue_capital_ore} öre of overdue electricity capital",
            field="items",
            rule="demand_within_assessed_capital",
        )
    until = letter_step_until(kind, on, settings, calendar)
    events: list[Event] = [
        assessed(case, assessment, kind),
        DisconnectionStepTaken(
            case_id=case.case_id,
            kind=kind,
            on=on,
            letter_id=letter_id,
            demand_ore=demand,
            until=until,
        ),
    ]
    cost_kinds = LETTER_COSTS[kind]
    if kind == "notice":
        events.append(
            DisconnectionNoticed(
                case_id=case.case_id,
                supply_point_id=case.supply_point_id,
                customer_id=case.customer_id,
                noticed_on=on,
                demand_ore=demand,
                letter_id=letter_id,
            )
        )
        events.append(
            SocialServicesMessageQueued(
                notification_id=notification_id,
                case_id=case.case_id,
                supply_point_id=case.supply_point_id,
                customer_id=case.customer_id,
                # ellagen 11:4: the board of the municipality where the electricity is delivered.
                municipality=case.site_municipality,
                debt_ore=demand,
                noticed_on=on,
            )
        )
    events.extend(costs_for(case, cost_kinds, on, settings))
    return events


# ellagen 11:5's costs of each letter (the collection demand's is the statutory fee, domain.md §3).
LETTER_COSTS: Final[Mapping[str, tuple[AllowedCost, ...]]] = {
    "collection_demand": ("collection_demand",),
    "request_to_remedy": ("request_to_remedy",),
    "notice": ("notice", "social_services_message"),
}


def costs_for(
    case: CaseState, kinds: Iterable[AllowedCost], on: date, settings: ProcedureSettings
) -> list[Event]:
    """The allowed costs of a step, those not set to nothing (domain.md §6 "Costs")."""
    out: list[Event] = []
    for kind in kinds:
        amount = settings.cost_ore(kind, on)
        if amount > 0:
            out.append(
                DisconnectionCostCharged(case_id=case.case_id, kind=kind, on=on, amount_ore=amount)
            )
    return out


def check_cost_allowed(kind: str) -> AllowedCost:
    """domain.md §6 "Costs", seed 003 lines 39-41: only the statutory fees and ellagen 11:5's
    reasonable costs; a fee for a "notice of disconnection" or an oral plan is refused, as is any
    cost the law does not name (a term widening the debtor's duty to pay costs is void)."""
    if kind in FORBIDDEN_COSTS:
        raise DomainRuleViolation(
            f"the cost {kind!r} is refused: {FORBIDDEN_COSTS[kind]}",
            field="kind",
            rule="cost_without_legal_ground",
        )
    if kind not in ALLOWED_COSTS:
        raise DomainRuleViolation(
            f"the cost {kind!r} is refused: only the statutory fees and ellagen 11:5's costs of "
            f"the procedure may be charged ({', '.join(ALLOWED_COSTS)})",
            field="kind",
            rule="cost_without_legal_ground",
        )
    return kind  # type: ignore[return-value]


def decide_cost(
    case: CaseState, kind: str, on: date, settings: ProcedureSettings
) -> DisconnectionCostCharged:
    """Charge an allowed cost within the collection case (seed 003 line 39), at its setting."""
    allowed = check_cost_allowed(kind)
    return DisconnectionCostCharged(
        case_id=case.case_id, kind=allowed, on=on, amount_ore=settings.cost_ore(allowed, on)
    )


def decide_service(
    case: CaseState,
    served_on: date,
    today: date,
    settings: ProcedureSettings,
    calendar: WorkingDayCalendar,
) -> list[Event]:
    """Record the notice's service (delgivning, ellagen 11:4): not before the notice was sent,
    nor after today. Service is the procedure's own cost (ellagen 11:5)."""
    check_case_not_stopped(case)
    notice = case.step("notice")
    if notice is None:
        raise DomainRuleViolation(
            "no notice has been sent on this case: service is of the notice",
            field="served_on",
            rule="service_after_notice",
        )
    if served_on < notice.on:
        raise DomainRuleViolation(
            f"served_on {served_on} is before the notice was sent ({notice.on})",
            field="served_on",
            rule="service_after_notice",
        )
    if served_on > today:
        raise DomainRuleViolation(
            f"served_on {served_on} is after today, {today}",
            field="served_on",
            rule="date_in_future",
        )
    if case.served_on is not None:
        raise DomainRuleViolation(
            f"service is already recorded on {case.served_on}",
            field="served_on",
            rule="service_recorded_once",
        )
    events: list[Event] = [
        ServiceRecorded(
            case_id=case.case_id,
            served_on=served_on,
            recorded_on=today,
            pay_by=pay_by_after_service(served_on, settings, calendar),
            earliest_disconnection_on=earliest_disconnection_on(served_on, settings, calendar),
        )
    ]
    events.extend(costs_for(case, ("service",), served_on, settings))
    return events


def decide_order(case: CaseState, on: date, assessment: StepAssessment, today: date) -> list[Event]:
    """Order the disconnection for ``on`` (domain.md §6 step 3): never without a recorded service
    date, never before the 3 weeks from service have run out, never while a block holds, and only
    when today's re-assessment still finds the breach material."""
    check_case_not_stopped(case)
    if case.step("notice") is None or case.next_step != "order":
        raise DomainRuleViolation(
            f"case {case.case_id} cannot be ordered: its next step is {case.next_step or 'none'}",
            field="case_id",
            rule="steps_in_order",
        )
    if case.served_on is None or case.earliest_disconnection_on is None:
        raise DomainRuleViolation(
            "no service date is recorded: disconnection is never ordered without one "
            "(ellagen 11:4)",
            field="served_on",
            rule="service_recorded",
        )
    if on < case.earliest_disconnection_on:
        raise DomainRuleViolation(
            f"{on} is within 3 weeks of service on {case.served_on}: the consumer may pay until "
            f"{case.pay_by}; the earliest disconnection is {case.earliest_disconnection_on}",
            field="date",
            rule="three_weeks_from_service",
        )
    if on < today:
        raise DomainRuleViolation(
            f"the date {on} is before today, {today}", field="date", rule="date_in_past"
        )
    check_assessment_date(assessment, today)
    check_no_block(case, "order")
    check_assessment_material(assessment, "order")
    return [
        assessed(case, assessment, "order"),
        DisconnectionStepTaken(
            case_id=case.case_id,
            kind="order",
            on=today,
            demand_ore=assessment.overdue_capital_ore,
            until=on,
        ),
    ]


def decide_execution(
    case: CaseState, on: date, assessment: StepAssessment, settings: ProcedureSettings
) -> list[Event]:
    """The disconnection executed on the ordered date or later, re-assessed on the day (a payment
    or a block may have come since the order); the visit is charged (ellagen 11:5)."""
    check_case_not_stopped(case)
    order = case.step("order")
    if order is None or case.next_step != "disconnection":
        raise DomainRuleViolation(
            f"case {case.case_id} has no order to execute",
            field="case_id",
            rule="steps_in_order",
        )
    assert order.until is not None
    if on < order.until:
        raise DomainRuleViolation(
            f"the disconnection was ordered for {order.until}, not {on}",
            field="date",
            rule="not_before_ordered_date",
        )
    check_assessment_date(assessment, on)
    check_no_block(case, "disconnection")
    check_assessment_material(assessment, "disconnection")
    return [
        assessed(case, assessment, "disconnection"),
        DisconnectionStepTaken(
            case_id=case.case_id,
            kind="disconnection",
            on=on,
            demand_ore=assessment.overdue_capital_ore,
        ),
        *costs_for(case, ("disconnection_visit",), on, settings),
    ]


def decide_reconnection(
    case: CaseState, on: date, overdue_capital_ore: int, settings: ProcedureSettings
) -> list[Event]:
    """Reconnect on payment: the electricity claim the case was about is paid (or the board took
    it over, or a risk of injury is recorded); the visit is charged (seed 001's taxa, ellagen
    11:5)."""
    if case.status != "disconnected":
        raise DomainRuleViolation(
            f"case {case.case_id} is {case.status}, not disconnected: nothing to reconnect",
            field="case_id",
            rule="steps_in_order",
        )
    # Reconnected unpaid when the board took the debt over, or when a risk of injury or damage
    # came to light after the disconnection (ellagen 11:3: no interruption that risks it).
    excused = any(b.reason in ("board_takeover", "risk_of_injury") for b in case.blocks)
    if overdue_capital_ore > 0 and not excused:
        raise DomainRuleViolation(
            f"{overdue_capital_ore} öre of the electricity claim is still unpaid",
            field="case_id",
            rule="reconnection_on_payment",
        )
    return [
        DisconnectionStepTaken(
            case_id=case.case_id, kind="reconnection", on=on, demand_ore=overdue_capital_ore
        ),
        *costs_for(case, ("reconnection_visit",), on, settings),
    ]


def decide_block(
    case: CaseState,
    reason: BlockReason,
    on: date,
    note: str,
    *,
    written_on: date | None = None,
) -> DisconnectionBlocked:
    """Record a block (domain.md §6 "No disconnection if"), with its reason. The board's takeover
    counts only when given in writing within the 3 weeks (ellagen 11:4): before service that time
    has not begun, so any written takeover after the notice counts."""
    if not note.strip():
        raise DomainRuleViolation("a block says what was recorded", field="note", rule="missing")
    if any(b.reason == reason for b in case.blocks):
        raise DomainRuleViolation(
            f"the block {reason!r} is already recorded", field="reason", rule="block_recorded_once"
        )
    if reason == "board_takeover":
        if written_on is None:
            raise DomainRuleViolation(
                "the board's takeover is in writing: give the date it was written",
                field="written_on",
                rule="board_takeover_in_writing",
            )
        if case.noticed_on is None or written_on < case.noticed_on:
            raise DomainRuleViolation(
                "the board takes over the debt after the notice's message to it",
                field="written_on",
                rule="board_takeover_within_three_weeks",
            )
        if case.pay_by is not None and written_on > case.pay_by:
            raise DomainRuleViolation(
                f"the takeover was written on {written_on}, after the 3 weeks ended on "
                f"{case.pay_by}: it does not stop the disconnection under ellagen 11:4 (record "
                "the board's payment instead)",
                field="written_on",
                rule="board_takeover_within_three_weeks",
            )
    return blocked(case, reason, on, note, written_on=written_on)


def blocked(
    case: CaseState, reason: BlockReason, on: date, note: str, *, written_on: date | None = None
) -> DisconnectionBlocked:
    """The block's event, its note sealed for the customer."""
    return DisconnectionBlocked(
        case_id=case.case_id,
        customer_id=case.customer_id,
        reason=reason,
        on=on,
        details=BlockNote(note=note),
        written_on=written_on,
    )


def decide_lift(case: CaseState, reason: BlockReason, on: date, note: str) -> BlockLifted:
    """A dispute resolved, a risk no longer there: the block is lifted (the others end the case)."""
    if reason not in LIFTABLE_BLOCKS:
        raise DomainRuleViolation(
            f"the block {reason!r} ends the case; it is not lifted",
            field="reason",
            rule="block_not_liftable",
        )
    if not any(b.reason == reason for b in case.blocks):
        raise DomainRuleViolation(
            f"no block {reason!r} holds on case {case.case_id}",
            field="reason",
            rule="block_not_recorded",
        )
    return BlockLifted(
        case_id=case.case_id,
        customer_id=case.customer_id,
        reason=reason,
        on=on,
        details=BlockNote(note=note),
    )


def decide_reassessment(case: CaseState, assessment: StepAssessment) -> list[Event]:
    """A re-assessment between steps (a payment came in): recorded, and when the electricity claim
    is paid, or a partial payment leaves it no longer material, the case is blocked with that
    reason (seed 003 line 25: "Om kunden gör en delbetalning ... torde en ny bedömning behöva
    göras"). A ``manual`` result blocks nothing: a case officer weighs it at the next step."""
    check_case_not_stopped(case)
    events: list[Event] = [assessed(case, assessment, "reassessment")]
    on = assessment.assessed_on
    if assessment.overdue_capital_ore == 0:
        if case.status != "disconnected":
            events.append(
                blocked(case, "paid", on, "the supply point's overdue electricity capital is paid")
            )
    elif (
        assessment.result == "not_material"
        and assessment.overdue_capital_ore < case.demand_ore
        and case.status != "disconnected"
    ):
        paid = case.demand_ore - assessment.overdue_capital_ore
        events.append(
            blocked(
                case,
                "not_material_after_partial_payment",
                on,
                f"{paid} öre paid since the last step; {assessment.reason}",
            )
        )
    return events


# --- the demand's content ----------------------------------------------------------------------


class DemandItem(BaseModel):
    """One amount a letter demands to avoid disconnection: an invoice's open part of one service
    and one kind (domain.md §3: capital, interest and each kind of cost kept apart)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str
    invoice_number: str
    supply_point_id: str | None
    service_type: ServiceType
    kind: LineKind | Literal["cost", "advance"]
    what_for: str  # in words, e.g. "Elnät, januari–februari 2026" (seed 003 section 5.2)
    due_date: date
    amount_ore: int


def check_demand_items(
    items: Iterable[DemandItem], supply_point_id: str, on: date
) -> tuple[DemandItem, ...]:
    """domain.md §6, seed 003 line 31: the threat covers only that supply point's overdue grid and
    supply capital. An item of another service, of interest, a cost, an advance payment, another
    supply point or a claim not yet due is refused, naming it."""
    checked = tuple(items)
    if not checked:
        raise DomainRuleViolation(
            "a demand names at least one overdue electricity claim", field="items", rule="missing"
        )
    for i, item in enumerate(checked):
        where = f"items[{i}]"
        if item.service_type not in ELECTRICITY_SERVICES:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is for {item.service_type}: disconnection may "
                "only be threatened for electricity grid and supply (seed 003 line 31)",
                field=where,
                rule="electricity_claims_only",
            )
        if item.kind != "capital":
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is {item.kind}: the threat covers capital only, "
                "never interest, costs or advance payments (seed 003 line 31)",
                field=where,
                rule="capital_only",
            )
        if item.supply_point_id != supply_point_id:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) is not for supply point {supply_point_id}: "
                "each subscription is assessed and threatened on its own",
                field=where,
                rule="same_supply_point",
            )
        if item.due_date >= on:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) falls due on {item.due_date}: only overdue "
                "capital is demanded (no advance payment for electricity not yet due)",
                field=where,
                rule="overdue_only",
            )
        if item.amount_ore <= 0:
            raise DomainRuleViolation(
                f"{where} ({item.invoice_number}) has nothing open", field=where, rule="positive"
            )
    return checked


def check_threat_has_open_case(case: CaseState | None, supply_point_id: str) -> CaseState:
    """domain.md §4 "No empty threats", seed 001: a letter threatens disconnection only when a
    case for that supply point is open and not ended."""
    if case is None or case.supply_point_id != supply_point_id or case.status == "stopped":
        raise DomainRuleViolation(
            f"no open disconnection case for supply point {supply_point_id}: no letter may "
            "threaten disconnection",
            field="supply_point_id",
            rule="no_empty_threats",
        )
    return case
