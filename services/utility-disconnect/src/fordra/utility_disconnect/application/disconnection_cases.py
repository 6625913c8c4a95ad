"""Disconnection cases' use cases (issue 16, domain.md §6; the rules in domain/procedure.py and
domain/case_facts.py): open a case by hand, take its next letter, record the notice's service,
order the disconnection, execute it, reconnect, and list a customer's cases.

Every act re-assesses the supply point first (``assessment_for``, the read model's claims as of
the business date), and records that re-assessment with the act (``MaterialityAssessed``).
Before the act is decided, what the facts say must stop it is recorded as a block of its own, each
an event with its reason (domain.md §6 "No disconnection if"): a risk of injury or damage on the
supply point, an overdue invoice under dispute, the claim paid, or a partial payment that leaves
the breach no longer material. Those blocks are appended first, in a decision of their own, and
then the act is decided on the case as they left it, so a refused act still leaves the block on
record and nothing of the act itself (a 422 naming the rule).

Each letter step records its letter's facts (``DisconnectionLetterIssued``, domain/letters.py) on
the letter's own stream in the same append as the step; ``GET /api/v1/letters/{id}`` renders it
(application/letters.py). A case opened on its own, after dunning's collection demand, is
application/automatic_opening.py's (it shares ``opening_appends`` and ``case_in_progress``).
The board's queue and takeover are in application/social_services.py, water's cases in
application/water_cases.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import CustomerKind
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.dated import CalendarDate
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.utility_disconnect.application.deps import CONTEXT, UtilityDisconnectDeps
from fordra.utility_disconnect.application.electricity_claims import read_customer
from fordra.utility_disconnect.application.supply_points import (
    assessment_for,
    load_supply_point,
)
from fordra.utility_disconnect.domain.case_changed import case_changed, changes_case
from fordra.utility_disconnect.domain.case_facts import (
    blocks_from_facts,
    demand_items,
    step_assessment,
)
from fordra.utility_disconnect.domain.case_index import (
    CustomerCaseBegun,
    SupplyPointCaseBegun,
    case_ids,
    customer_cases_stream,
    point_cases_stream,
)
from fordra.utility_disconnect.domain.letters import (
    cost_lines,
    decide_letter_issued,
    disconnection_letter_stream,
    electricity_letter,
)
from fordra.utility_disconnect.domain.materiality import Assessment
from fordra.utility_disconnect.domain.procedure import (
    CaseState,
    DisconnectionStepTaken,
    OfficerDecision,
    Opened,
    StepAssessment,
    StepKind,
    case_of,
    case_stream,
    check_consumer_only,
    decide_execution,
    decide_letter_step,
    decide_open,
    decide_order,
    decide_reconnection,
    decide_service,
)
from fordra.utility_disconnect.domain.supply_point import SupplyPoint, check_customer_known

CASE_ROLES = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


class OpenCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    supply_point_id: str


class TakeStep(BaseModel):
    """The next letter. ``officer_decision`` is the case officer's weighing when the assessment
    is ``manual`` (two close unpaid invoices, domain.md §6); the caller is named as its maker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    officer_decision: OfficerDecision | None = None


class RecordService(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    served_on: CalendarDate


class OrderDisconnection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: CalendarDate
    officer_decision: OfficerDecision | None = None


class ExecuteDisconnection(BaseModel):
    """The disconnection executed today, on or after the ordered date, re-assessed today."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    officer_decision: OfficerDecision | None = None


class Reconnect(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseOpened(BaseModel):
    case_id: str


class StepTaken(BaseModel):
    case_id: str
    kind: StepKind
    on: date
    letter_id: str | None
    demand_ore: int
    until: date | None  # the time to pay or to remedy; an order's date


class CaseView(BaseModel):
    case_id: str
    supply_point_id: str
    customer_id: str
    status: str
    demand_ore: int
    steps: list[dict[str, Any]]
    served_on: date | None
    earliest_disconnection_on: date | None
    blocks: list[dict[str, Any]]


class CaseList(BaseModel):
    items: list[CaseView]


async def load_case(
    deps: UtilityDisconnectDeps, case_id: str, store: EventStore | None = None
) -> tuple[CaseState, int]:
    """The case and its stream's version, read from ``store`` (the context's own by default; a
    process manager passes its batch's staged view)."""
    envelopes = await (store or deps.store).read_stream(case_stream(case_id))
    state = case_of(deps.registry.load(e) for e in envelopes)
    if state is None:
        raise NotFound("disconnection case", case_id)
    return state, envelopes[-1].version


async def case_history(deps: UtilityDisconnectDeps, stream: str, version: int) -> list[Event]:
    """A case stream's events up to ``version``: what ``append_to`` derives the case's public
    picture from (with the new events)."""
    return [
        deps.registry.load(e) for e in await deps.store.read_stream(stream) if e.version <= version
    ]


def append_to(
    deps: UtilityDisconnectDeps,
    meta: Metadata,
    stream: str,
    version: int,
    events: list[Event],
    *,
    before: Sequence[Event] | None = None,
) -> StreamAppend:
    """The append of ``events`` to ``stream`` after ``version``. When they change a case (its
    own stream, electricity's or water's), the case's public picture after them
    (``DisconnectionCaseChanged``, domain/case_changed.py) goes in the same append, so every
    path that changes a case tells the ledger (issue 16: "the ledger shows the whole process").
    ``before`` is the stream's events up to ``version`` (``case_history``); a new stream
    (``version`` 0) has none."""
    if changes_case(events):
        if before is None and version > 0:
            # A programming error, not a caller's: the picture would lack the case's past.
            raise ValueError(f"appending to case stream {stream} needs its events (before=)")
        changed = case_changed([*(before or ()), *events], deps.clock.today())
        if changed is not None:
            events = [*events, changed]
    envelopes = deps.registry.envelopes(
        events,
        context=CONTEXT,
        stream_id=stream,
        after_version=version,
        metadata=meta,
        occurred_at=deps.clock.now(),
    )
    return StreamAppend(stream, version, envelopes)


async def _record_blocks(
    deps: UtilityDisconnectDeps,
    meta: Metadata,
    *,
    case_id: str,
    point: SupplyPoint,
    assessment: Assessment,
    stepped: StepAssessment,
) -> None:
    async def decide() -> Decision[CaseOpened]:
        case, version = await load_case(deps, case_id)
        events = blocks_from_facts(case, point, assessment, stepped)
        stream = case_stream(case_id)
        before = await case_history(deps, stream, version)
        appends = [append_to(deps, meta, stream, version, events, before=before)] if events else []
        return Decision(appends, CaseOpened(case_id=case_id))

    await execute(deps.store, decide, CaseOpened)


async def case_in_progress(
    deps: UtilityDisconnectDeps, store: EventStore, supply_point_id: str
) -> CaseState | None:
    """The supply point's case in progress (neither stopped nor reconnected), if any: a supply
    point has one at a time."""
    indexed = await store.read_stream(point_cases_stream(supply_point_id))
    for earlier in case_ids(deps.registry.load(e) for e in indexed):
        state, _ = await load_case(deps, earlier, store)
        if state.status not in ("stopped", "reconnected"):
            return state
    return None


async def opening_appends(
    deps: UtilityDisconnectDeps,
    store: EventStore,
    meta: Metadata,
    *,
    point: SupplyPoint,
    customer_kind: CustomerKind,
    case_id: str,
    assessment: StepAssessment,
    today: date,
    opened: Opened,
    collection_demand_sent_on: date | None = None,
) -> list[StreamAppend]:
    """What opening a case appends, by hand or on its own (``decide_open``, domain.md §6): the
    case's stream with its first assessment, and the case in the indexes of its supply point and
    its customer, read from ``store`` (a process manager's staged view, or the context's own)."""
    events = decide_open(
        case_id=case_id,
        supply_point_id=point.supply_point_id,
        customer_id=point.customer_id,
        customer_kind=customer_kind,
        utility=point.utility,
        site_municipality=point.site_municipality,
        assessment=assessment,
        today=today,
        opened=opened,
        collection_demand_sent_on=collection_demand_sent_on,
    )
    index = point_cases_stream(point.supply_point_id)
    by_customer = customer_cases_stream(point.customer_id)
    return [
        append_to(deps, meta, case_stream(case_id), 0, events),
        append_to(
            deps,
            meta,
            index,
            await store.stream_version(index),
            [SupplyPointCaseBegun(supply_point_id=point.supply_point_id, case_id=case_id)],
        ),
        append_to(
            deps,
            meta,
            by_customer,
            await store.stream_version(by_customer),
            [CustomerCaseBegun(customer_id=point.customer_id, case_id=case_id)],
        ),
    ]


async def open_case(
    cmd: OpenCase,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CaseOpened]:
    """Open a case by hand (``POST /api/v1/disconnection/cases``): a consumer's electricity supply
    point with a material breach today, and no case of it in progress."""
    require_role(principal, *CASE_ROLES, action="open a disconnection case")
    point = await load_supply_point(deps, cmd.supply_point_id)
    async with deps.read_models.engine.connect() as conn:
        customer = check_customer_known(
            await read_customer(conn, deps.claims, point.customer_id), point.customer_id
        )

    async def decide() -> Decision[CaseOpened]:
        today = deps.clock.today()
        earlier = await case_in_progress(deps, deps.store, point.supply_point_id)
        if earlier is not None:
            raise DomainRuleViolation(
                f"supply point {point.supply_point_id} already has case {earlier.case_id} in "
                f"progress ({earlier.status})",
                field="supply_point_id",
                rule="one_case_per_supply_point",
            )
        # Answered before assessing: a business never enters the procedure (ellagen 11:1).
        check_consumer_only(customer.kind)
        assessment = await assessment_for(point.supply_point_id, deps, today)
        case_id = new_id()
        appends = await opening_appends(
            deps,
            deps.store,
            meta,
            point=point,
            customer_kind=customer.kind,
            case_id=case_id,
            assessment=step_assessment(assessment, principal.actor, None),
            today=today,
            opened="by_hand",
        )
        return Decision(appends, CaseOpened(case_id=case_id))

    return await execute(
        deps.store,
        decide,
        CaseOpened,
        idempotency=idempotent(
            principal, idempotency_key, "OpenDisconnectionCase", cmd.model_dump(mode="json")
        ),
    )


async def take_step(
    case_id: str, cmd: TakeStep, deps: UtilityDisconnectDeps, principal: Principal, meta: Metadata
) -> Outcome[StepTaken]:
    """The case's next letter (collection demand, request to remedy, notice), re-assessed; the
    notice also queues the message to the board where the electricity is delivered."""
    require_role(principal, *CASE_ROLES, action="take a disconnection step")
    case, _ = await load_case(deps, case_id)
    point = await load_supply_point(deps, case.supply_point_id)
    today = deps.clock.today()
    assessment = await assessment_for(point.supply_point_id, deps, today)
    stepped = step_assessment(assessment, principal.actor, cmd.officer_decision)
    await _record_blocks(
        deps, meta, case_id=case_id, point=point, assessment=assessment, stepped=stepped
    )

    async def decide() -> Decision[StepTaken]:
        case, version = await load_case(deps, case_id)
        letter_id = new_id()
        items = demand_items(assessment)
        events = decide_letter_step(
            case,
            today,
            stepped,
            items=items,
            letter_id=letter_id,
            notification_id=new_id(),
            settings=deps.settings.procedure,
            calendar=deps.calendar,
        )
        taken = _step_taken(case_id, events)
        # The letter's facts, in the same append as the step: what it demands (the items the
        # step was decided on), by when, and its costs apart; refused whole if its wording breaks
        # a rule (domain/letters.py).
        issued = decide_letter_issued(
            electricity_letter(
                taken.kind,
                letter_id=letter_id,
                case_id=case_id,
                customer_id=case.customer_id,
                supply_point_id=case.supply_point_id,
                items=items,
                sent_on=today,
                until=taken.until,
                costs=cost_lines(events),
            )
        )
        return Decision(
            [
                append_to(
                    deps,
                    meta,
                    case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, case_stream(case_id), version),
                ),
                append_to(deps, meta, disconnection_letter_stream(letter_id), 0, [issued]),
            ],
            taken,
        )

    return await execute(deps.store, decide, StepTaken)


def _step_taken(case_id: str, events: list[Event]) -> StepTaken:
    (step,) = [e for e in events if isinstance(e, DisconnectionStepTaken)]
    return StepTaken(
        case_id=case_id,
        kind=step.kind,
        on=step.on,
        letter_id=step.letter_id,
        demand_ore=step.demand_ore,
        until=step.until,
    )


def case_view(case: CaseState) -> CaseView:
    return CaseView.model_validate(case.listing())


async def record_service(
    case_id: str,
    cmd: RecordService,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
) -> Outcome[CaseView]:
    """The notice was served (delgiven) on ``served_on``: from it run the 3 weeks to pay, and the
    earliest disconnection date (domain.md §6: served 2026-04-07 -> 2026-04-29)."""
    require_role(principal, *CASE_ROLES, action="record the service of a notice")

    async def decide() -> Decision[CaseView]:
        case, version = await load_case(deps, case_id)
        events = decide_service(
            case, cmd.served_on, deps.clock.today(), deps.settings.procedure, deps.calendar
        )
        after = case_of([*await _events(deps, case_id), *events])
        assert after is not None
        return Decision(
            [
                append_to(
                    deps,
                    meta,
                    case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, case_stream(case_id), version),
                )
            ],
            case_view(after),
        )

    return await execute(deps.store, decide, CaseView)


async def order_disconnection(
    case_id: str,
    cmd: OrderDisconnection,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
) -> Outcome[StepTaken]:
    """Order the disconnection for ``date`` (domain.md §6 step 3): refused naming the rule without
    a recorded service date, within 3 weeks of service, or while a block holds; re-assessed today
    and recorded with the order."""
    require_role(principal, *CASE_ROLES, action="order a disconnection")
    case, _ = await load_case(deps, case_id)
    point = await load_supply_point(deps, case.supply_point_id)
    today = deps.clock.today()
    assessment = await assessment_for(point.supply_point_id, deps, today)
    stepped = step_assessment(assessment, principal.actor, cmd.officer_decision)
    await _record_blocks(
        deps, meta, case_id=case_id, point=point, assessment=assessment, stepped=stepped
    )

    async def decide() -> Decision[StepTaken]:
        case, version = await load_case(deps, case_id)
        events = decide_order(case, cmd.date, stepped, today)
        return Decision(
            [
                append_to(
                    deps,
                    meta,
                    case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, case_stream(case_id), version),
                )
            ],
            _step_taken(case_id, events),
        )

    return await execute(deps.store, decide, StepTaken)


async def execute_disconnection(
    case_id: str,
    cmd: ExecuteDisconnection,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
) -> Outcome[StepTaken]:
    """The disconnection executed today (domain.md §6 step 3): on or after the ordered date,
    re-assessed on the day (a payment or a block may have come since the order), the visit charged
    as the law allows (ellagen 11:5)."""
    require_role(principal, *CASE_ROLES, action="execute a disconnection")
    case, _ = await load_case(deps, case_id)
    point = await load_supply_point(deps, case.supply_point_id)
    today = deps.clock.today()
    assessment = await assessment_for(point.supply_point_id, deps, today)
    stepped = step_assessment(assessment, principal.actor, cmd.officer_decision)
    await _record_blocks(
        deps, meta, case_id=case_id, point=point, assessment=assessment, stepped=stepped
    )

    async def decide() -> Decision[StepTaken]:
        case, version = await load_case(deps, case_id)
        events = decide_execution(case, today, stepped, deps.settings.procedure)
        return Decision(
            [
                append_to(
                    deps,
                    meta,
                    case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, case_stream(case_id), version),
                )
            ],
            _step_taken(case_id, events),
        )

    return await execute(deps.store, decide, StepTaken)


async def reconnect(
    case_id: str, deps: UtilityDisconnectDeps, principal: Principal, meta: Metadata
) -> Outcome[StepTaken]:
    """Reconnect once the supply point's overdue electricity capital is paid (or the board took
    the debt over, or a risk came to light after the disconnection); the visit is charged. What
    counts is the supply point's overdue grid and supply capital today, as the assessment has it."""
    require_role(principal, *CASE_ROLES, action="reconnect a supply point")
    case, _ = await load_case(deps, case_id)
    point = await load_supply_point(deps, case.supply_point_id)
    today = deps.clock.today()
    assessment = await assessment_for(point.supply_point_id, deps, today)
    overdue = sum(p.overdue_capital_ore for p in assessment.inputs.parts.values())

    async def decide() -> Decision[StepTaken]:
        case, version = await load_case(deps, case_id)
        events = decide_reconnection(case, today, overdue, deps.settings.procedure)
        return Decision(
            [
                append_to(
                    deps,
                    meta,
                    case_stream(case_id),
                    version,
                    events,
                    before=await case_history(deps, case_stream(case_id), version),
                )
            ],
            _step_taken(case_id, events),
        )

    return await execute(deps.store, decide, StepTaken)


async def _events(deps: UtilityDisconnectDeps, case_id: str) -> list[Event]:
    return [deps.registry.load(e) for e in await deps.store.read_stream(case_stream(case_id))]


async def list_cases(
    customer_id: str, deps: UtilityDisconnectDeps, principal: Principal
) -> CaseList:
    """A customer's cases, the oldest first, each with its steps, service and blocks."""
    require_role(principal, *CASE_ROLES, action="read disconnection cases")
    index = await deps.store.read_stream(customer_cases_stream(customer_id))
    items = []
    for case_id in case_ids(deps.registry.load(e) for e in index):
        case, _ = await load_case(deps, case_id)
        items.append(case_view(case))
    return CaseList(items=items)
