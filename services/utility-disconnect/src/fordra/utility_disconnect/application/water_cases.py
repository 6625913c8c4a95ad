"""Water disconnection cases' use cases (issue 16 "Water (LAV 43 §)", domain.md §7, seed 001; the
rules in domain/water.py): open a case for a water supply point, send the letter about
disconnection (the written request to remedy, a collection demand with its fee), shut the water
off, turn it on again once paid, and list a customer's water cases.

- **The owner is addressed.** A water supply point is registered for the property's owner (its
  ``property_designation`` names the property); invoicing lets only the owner of record be
  invoiced for water (``check_property_owner_is_liable``, domain.md §2), and the claims read model
  counts only invoices of the point's customer (``read_claims``). The case names that customer as
  the owner, and every letter is addressed to them (``check_property_owner_addressed``).
- **Only water claims count.** The demand is built from the point's overdue ``water`` parts only;
  a waste fee (or any other part) on the same invoice is never demanded, and the letter's items
  pass ``check_water_items`` (seed 003 line 363: a notice also demanding waste fees was invalid).
- **The neglect must be material** (LAV 43 §). Neither the law nor the rulebook gives a figure,
  so this is our choice: with overdue water capital the assessment is ``manual``, and a case
  officer weighs it at each step (``officer_decision``), named as its maker, as for electricity's
  two close invoices; with none it is ``not_material``. ``water_assessment`` records the overdue
  water invoices it weighed, recorded with each step (``MaterialityAssessed``).
- **Which reminder.** The letter goes about 10 days after the reminder (seed 001). Dunning's
  ``ReminderSent`` is not among this context's upstreams, so the reminder's date is an input of
  the opening (``reminder_sent_on``) and recorded on the case.
- **Blocks before each act**, each an event with its reason, appended in a decision of their own
  before the act is decided, so that a refused act leaves the block on record and nothing of
  itself: a risk recorded on the supply point (LAV 43 §: no shut-off when health would suffer),
  a demanded invoice under dispute, and the demand paid (the case ends, or once shut off the
  water may be turned on again).
- **What the shut-off and the reconnection count:** the claims the letter demanded, which are
  the point's water claims overdue on the letter's date; a water invoice falling due later was
  never demanded in writing and can neither justify a shut-off nor hold up a reconnection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.dated import CalendarDate
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.disconnection_cases import append_to, case_history
from fordra.utility_disconnect.application.electricity_claims import read_claims
from fordra.utility_disconnect.application.supply_points import load_supply_point
from fordra.utility_disconnect.domain.case_index import (
    CustomerCaseBegun,
    SupplyPointCaseBegun,
    case_ids,
)
from fordra.utility_disconnect.domain.letters import (
    CostLine,
    LetterFacts,
    decide_letter_issued,
    disconnection_letter_stream,
    water_disconnection_letter,
)
from fordra.utility_disconnect.domain.materiality import PartClaim
from fordra.utility_disconnect.domain.procedure import (
    DisconnectionCostCharged,
    OfficerDecision,
)
from fordra.utility_disconnect.domain.supply_point import SupplyPoint
from fordra.utility_disconnect.domain.water import (
    WaterBlocked,
    WaterCase,
    WaterLetterSent,
    WaterReconnected,
    WaterShutOff,
    check_water_threat_has_open_case,
    decide_water_letter,
    decide_water_open,
    decide_water_reconnection,
    decide_water_shut_off,
    water_case_of,
    water_case_stream,
)
from fordra.utility_disconnect.domain.water_facts import (
    demanded_claims,
    water_assessment,
    water_blocks_from_facts,
    water_claims,
    water_demand_items,
)

WATER_CASE_ROLES = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)

# The collection demand's fee as the letter states it, apart from the demand (seed 001: the letter
# "är att jämställa med ett inkassokrav"; seed 003 lines 39-41: costs stated apart).
COLLECTION_FEE_LABEL = "Lagstadgad inkassoavgift"


def water_point_cases_stream(supply_point_id: str) -> str:
    """The water cases of one supply point (at most one in progress at a time)."""
    return f"water-cases-point-{supply_point_id}"


def water_customer_cases_stream(customer_id: str) -> str:
    """The water cases of one owner, listed together."""
    return f"water-cases-customer-{customer_id}"


# --- requests and answers ---------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenWaterCase(_Request):
    """``POST /api/v1/disconnection/water-cases``: a water supply point, and the day dunning's
    reminder of its water charges was sent (the letter follows it by about 10 days)."""

    supply_point_id: str
    reminder_sent_on: CalendarDate


class WaterAct(_Request):
    """The letter or the shut-off. ``officer_decision`` is the case officer's weighing of the
    neglect (LAV 43 §: it must be material; the module docstring says why it is weighed by a
    person); the caller is named as its maker."""

    officer_decision: OfficerDecision | None = None


class Reconnect(_Request):
    """``POST .../reconnection``: nothing to say; the water claims must be paid."""


class WaterCaseOpenedView(BaseModel):
    case_id: str


class DemandedItem(BaseModel):
    invoice_id: str
    invoice_number: str
    service_type: str
    due_date: date
    amount_ore: int


class Cost(BaseModel):
    kind: str
    on: date
    amount_ore: int


class WaterLetterView(BaseModel):
    """The letter sent: what it demands (water only), by when, the last day a shut-off may
    follow, its fee apart, and the letter's facts (Swedish text, no recipient)."""

    case_id: str
    kind: Literal["water_letter"]
    letter_id: str
    sent_on: date
    remedy_by: date
    latest_disconnection_on: date
    demand_ore: int
    items: list[DemandedItem]
    costs: list[Cost]
    letter: LetterFacts


class WaterActTaken(BaseModel):
    case_id: str
    kind: Literal["shut_off", "reconnection"]
    on: date
    demand_ore: int
    costs: list[Cost]


class WaterCaseView(BaseModel):
    case_id: str
    supply_point_id: str
    property_designation: str
    owner_customer_id: str
    status: str
    opened_on: date
    reminder_sent_on: date | None
    demand_ore: int
    remedy_by: date | None
    latest_disconnection_on: date | None
    steps: list[dict[str, Any]]
    blocks: list[dict[str, Any]]
    costs: list[Cost]
    costs_ore: int


class WaterCaseList(BaseModel):
    items: list[WaterCaseView]


# --- loading and appending ---------------------------------------------------------------------


async def _events(deps: UtilityDisconnectDeps, case_id: str) -> tuple[list[Event], int]:
    envelopes = await deps.store.read_stream(water_case_stream(case_id))
    if not envelopes:
        raise NotFound("water disconnection case", case_id)
    return [deps.registry.load(e) for e in envelopes], envelopes[-1].version


async def _load_case(deps: UtilityDisconnectDeps, case_id: str) -> tuple[WaterCase, int]:
    events, version = await _events(deps, case_id)
    state = water_case_of(events)
    if state is None:
        raise NotFound("water disconnection case", case_id)
    return state, version


def _append(
    deps: UtilityDisconnectDeps,
    meta: Metadata,
    stream: str,
    version: int,
    events: list[Event],
    *,
    before: Sequence[Event] | None = None,
) -> StreamAppend:
    """Electricity's ``append_to``: a change of the case goes out with its public picture."""
    return append_to(deps, meta, stream, version, events, before=before)


async def _water_point(deps: UtilityDisconnectDeps, supply_point_id: str) -> SupplyPoint:
    point = await load_supply_point(deps, supply_point_id)
    if point.utility != "water":
        raise DomainRuleViolation(
            f"supply point {supply_point_id} delivers {point.utility}: a water case follows LAV "
            "43 § (electricity: POST /api/v1/disconnection/cases)",
            field="supply_point_id",
            rule="water_only",
        )
    return point


async def _claims(deps: UtilityDisconnectDeps, point: SupplyPoint) -> list[PartClaim]:
    async with deps.read_models.engine.connect() as conn:
        return await read_claims(conn, deps.claims, point.supply_point_id, point.customer_id)


async def _record_blocks(
    deps: UtilityDisconnectDeps, meta: Metadata, case_id: str, point: SupplyPoint, today: date
) -> None:
    """The blocks the facts call for, appended in a decision of their own before the act."""
    claims = await _claims(deps, point)

    async def decide() -> Decision[WaterCaseOpenedView]:
        case, version = await _load_case(deps, case_id)
        events = water_blocks_from_facts(case, point, demanded_claims(case, claims, today), today)
        appends = (
            [
                _append(
                    deps,
                    meta,
                    water_case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, water_case_stream(case_id), version),
                )
            ]
            if events
            else []
        )
        return Decision(appends, WaterCaseOpenedView(case_id=case_id))

    await execute(deps.store, decide, WaterCaseOpenedView)


def _costs(events: list[Event]) -> list[Cost]:
    return [
        Cost(kind=e.kind, on=e.on, amount_ore=e.amount_ore)
        for e in events
        if isinstance(e, DisconnectionCostCharged)
    ]


# --- use cases ---------------------------------------------------------------------------------


async def open_water_case(
    cmd: OpenWaterCase,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[WaterCaseOpenedView]:
    """Open a case for a water supply point with overdue water charges and no case of it in
    progress (a stopped, reconnected or blocked one does not count): the case is what allows a
    letter to threaten a shut-off at all (seed 001, ``check_water_threat_has_open_case``)."""
    require_role(principal, *WATER_CASE_ROLES, action="open a water disconnection case")
    point = await _water_point(deps, cmd.supply_point_id)
    claims = await _claims(deps, point)

    async def decide() -> Decision[WaterCaseOpenedView]:
        today = deps.clock.today()
        index = water_point_cases_stream(point.supply_point_id)
        indexed = await deps.store.read_stream(index)
        for earlier in case_ids(deps.registry.load(e) for e in indexed):
            state, _ = await _load_case(deps, earlier)
            # A blocked case (disputed, a risk) threatens nothing more; one shut off is still on.
            ended = state.status in ("stopped", "reconnected")
            if not ended and (state.status == "disconnected" or not state.blocks):
                raise DomainRuleViolation(
                    f"supply point {point.supply_point_id} already has water case {earlier} in "
                    f"progress ({state.status})",
                    field="supply_point_id",
                    rule="one_case_per_supply_point",
                )
        if not water_claims(claims, today):
            raise DomainRuleViolation(
                f"supply point {point.supply_point_id} has no overdue water charges: nothing "
                "to open a case for (domain.md §7: only water claims count)",
                field="supply_point_id",
                rule="material_breach",
            )
        case_id = new_id()
        opened = decide_water_open(
            case_id=case_id,
            supply_point_id=point.supply_point_id,
            utility=point.utility,
            property_designation=point.property_designation,
            owner_customer_id=point.customer_id,
            today=today,
            reminder_sent_on=cmd.reminder_sent_on,
        )
        by_customer = water_customer_cases_stream(point.customer_id)
        customer_version = await deps.store.stream_version(by_customer)
        appends = [
            _append(deps, meta, water_case_stream(case_id), 0, [opened]),
            _append(
                deps,
                meta,
                index,
                indexed[-1].version if indexed else 0,
                [SupplyPointCaseBegun(supply_point_id=point.supply_point_id, case_id=case_id)],
            ),
            _append(
                deps,
                meta,
                by_customer,
                customer_version,
                [CustomerCaseBegun(customer_id=point.customer_id, case_id=case_id)],
            ),
        ]
        return Decision(appends, WaterCaseOpenedView(case_id=case_id))

    return await execute(
        deps.store,
        decide,
        WaterCaseOpenedView,
        idempotency=idempotent(
            principal, idempotency_key, "OpenWaterDisconnectionCase", cmd.model_dump(mode="json")
        ),
    )


async def send_water_letter(
    case_id: str, cmd: WaterAct, deps: UtilityDisconnectDeps, principal: Principal, meta: Metadata
) -> Outcome[WaterLetterView]:
    """The letter about disconnection (seed 001, LAV 43 §): to the owner, about 10 days after the
    reminder, the overdue water charges only, a reasonable time to remedy that ends before the
    last day the 45 days allow, and the collection fee apart."""
    require_role(principal, *WATER_CASE_ROLES, action="send a water disconnection letter")
    case, _ = await _load_case(deps, case_id)
    point = await _water_point(deps, case.supply_point_id)
    today = deps.clock.today()
    await _record_blocks(deps, meta, case_id, point, today)
    claims = water_claims(await _claims(deps, point), today)
    assessment = water_assessment(point, claims, today, principal.actor, cmd.officer_decision)
    settings = deps.settings.procedure

    async def decide() -> Decision[WaterLetterView]:
        case, version = await _load_case(deps, case_id)
        check_water_threat_has_open_case(case, point.property_designation)
        if case.reminder_sent_on is None:
            raise DomainRuleViolation(
                f"water case {case_id} records no reminder: the letter follows the reminder",
                field="reminder_sent_on",
                rule="missing",
            )
        letter_id = new_id()
        items = water_demand_items(point.supply_point_id, claims)
        events = decide_water_letter(
            case,
            today,
            items,
            customer_id=point.customer_id,
            reminder_sent_on=case.reminder_sent_on,
            assessment=assessment,
            letter_id=letter_id,
            settings=settings,
            calendar=deps.calendar,
        )
        (sent,) = [e for e in events if isinstance(e, WaterLetterSent)]
        costs = _costs(events)
        # The letter's own rules run too: water only, no word of social services.
        facts = water_disconnection_letter(
            letter_id=letter_id,
            case_id=case_id,
            owner_customer_id=case.owner_customer_id,
            supply_point_id=point.supply_point_id,
            property_designation=point.property_designation,
            items=items,
            sent_on=today,
            remedy_by=sent.remedy_by,
            visit_fee_ore=settings.cost_ore("disconnection_visit", today),
            costs=[CostLine(label=COLLECTION_FEE_LABEL, amount_ore=c.amount_ore) for c in costs],
        )
        view = WaterLetterView(
            case_id=case_id,
            kind="water_letter",
            letter_id=letter_id,
            sent_on=today,
            remedy_by=sent.remedy_by,
            latest_disconnection_on=sent.latest_disconnection_on,
            demand_ore=sent.demand_ore,
            items=[
                DemandedItem(
                    invoice_id=i.invoice_id,
                    invoice_number=i.invoice_number,
                    service_type=i.service_type,
                    due_date=i.due_date,
                    amount_ore=i.amount_ore,
                )
                for i in items
            ],
            costs=costs,
            letter=facts,
        )
        # The letter recorded with the step, read at GET /api/v1/letters/{letter_id}.
        issued = decide_letter_issued(facts)
        return Decision(
            [
                _append(
                    deps,
                    meta,
                    water_case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, water_case_stream(case_id), version),
                ),
                _append(deps, meta, disconnection_letter_stream(letter_id), 0, [issued]),
            ],
            view,
        )

    return await execute(deps.store, decide, WaterLetterView)


async def shut_off_water(
    case_id: str, cmd: WaterAct, deps: UtilityDisconnectDeps, principal: Principal, meta: Metadata
) -> Outcome[WaterActTaken]:
    """The water shut off today (LAV 43 §, domain.md §7): after the time to remedy, at the latest
    45 days from the due date, with no block, the neglect still material; the visit charged."""
    require_role(principal, *WATER_CASE_ROLES, action="shut off water")
    case, _ = await _load_case(deps, case_id)
    point = await _water_point(deps, case.supply_point_id)
    today = deps.clock.today()
    await _record_blocks(deps, meta, case_id, point, today)
    claims = await _claims(deps, point)

    async def decide() -> Decision[WaterActTaken]:
        case, version = await _load_case(deps, case_id)
        demanded = demanded_claims(case, claims, today)
        assessment = water_assessment(point, demanded, today, principal.actor, cmd.officer_decision)
        events = decide_water_shut_off(case, today, assessment, deps.settings.procedure)
        (done,) = [e for e in events if isinstance(e, WaterShutOff)]
        view = WaterActTaken(
            case_id=case_id,
            kind="shut_off",
            on=today,
            demand_ore=done.demand_ore,
            costs=_costs(events),
        )
        return Decision(
            [
                _append(
                    deps,
                    meta,
                    water_case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, water_case_stream(case_id), version),
                )
            ],
            view,
        )

    return await execute(deps.store, decide, WaterActTaken)


async def reconnect_water(
    case_id: str, cmd: Reconnect, deps: UtilityDisconnectDeps, principal: Principal, meta: Metadata
) -> Outcome[WaterActTaken]:
    """The water turned on again today once the demanded water charges are paid (or at once when
    a risk to health is found after the shut-off); the visit charged (500 kr, seed 001)."""
    require_role(principal, *WATER_CASE_ROLES, action="reconnect water")
    case, _ = await _load_case(deps, case_id)
    point = await _water_point(deps, case.supply_point_id)
    today = deps.clock.today()
    await _record_blocks(deps, meta, case_id, point, today)
    claims = await _claims(deps, point)

    async def decide() -> Decision[WaterActTaken]:
        case, version = await _load_case(deps, case_id)
        unpaid = sum(c.open_capital_ore for c in demanded_claims(case, claims, today))
        events = decide_water_reconnection(case, today, unpaid, deps.settings.procedure)
        view = WaterActTaken(
            case_id=case_id, kind="reconnection", on=today, demand_ore=unpaid, costs=_costs(events)
        )
        return Decision(
            [
                _append(
                    deps,
                    meta,
                    water_case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, water_case_stream(case_id), version),
                )
            ],
            view,
        )

    return await execute(deps.store, decide, WaterActTaken)


def water_case_view(events: list[Event]) -> WaterCaseView:
    """A case as its stream tells it: status, the demand and its dates, each step with its day and
    letter, each block with its reason and day, and the costs charged within the case."""
    case = water_case_of(events)
    assert case is not None
    steps: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for e in events:
        if isinstance(e, WaterLetterSent):
            steps.append({"kind": "water_letter", "on": e.sent_on, "letter_id": e.letter_id})
        elif isinstance(e, WaterShutOff):
            steps.append({"kind": "shut_off", "on": e.on, "letter_id": None})
        elif isinstance(e, WaterReconnected):
            steps.append({"kind": "reconnection", "on": e.on, "letter_id": None})
        elif isinstance(e, WaterBlocked):
            blocks.append({"reason": e.reason, "on": e.on})
    letter = case.letter
    costs = _costs(events)
    return WaterCaseView(
        case_id=case.case_id,
        supply_point_id=case.supply_point_id,
        property_designation=case.property_designation,
        owner_customer_id=case.owner_customer_id,
        status=case.status,
        opened_on=case.opened_on,
        reminder_sent_on=case.reminder_sent_on,
        demand_ore=letter.demand_ore if letter else 0,
        remedy_by=letter.remedy_by if letter else None,
        latest_disconnection_on=letter.latest_disconnection_on if letter else None,
        steps=steps,
        blocks=blocks,
        costs=costs,
        costs_ore=case.costs_ore,
    )


async def list_water_cases(
    customer_id: str, deps: UtilityDisconnectDeps, principal: Principal
) -> WaterCaseList:
    """An owner's water cases, the oldest first."""
    require_role(principal, *WATER_CASE_ROLES, action="read water disconnection cases")
    index = await deps.store.read_stream(water_customer_cases_stream(customer_id))
    items = []
    for case_id in case_ids(deps.registry.load(e) for e in index):
        events, _ = await _events(deps, case_id)
        items.append(water_case_view(events))
    return WaterCaseList(items=items)
