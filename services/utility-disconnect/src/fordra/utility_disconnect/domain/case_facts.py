"""The facts of a day, as the electricity procedure takes them (domain.md §6): the materiality
assessment turned into the re-assessment a step is taken on, the items a letter demands, and the
blocks the facts call for that the case has not recorded yet. Pure: the use cases
(application/disconnection_cases.py) read the supply point and its claims and call these."""

from __future__ import annotations

from fordra.kernel.events import Event
from fordra.utility_disconnect.domain.materiality import Assessment
from fordra.utility_disconnect.domain.procedure import (
    CaseState,
    DemandItem,
    OfficerDecision,
    StepAssessment,
    decide_block,
    decide_lift,
    decide_reassessment,
)
from fordra.utility_disconnect.domain.supply_point import SupplyPoint

# What each electricity part is for, in the letter's words (seed 003 section 5.2).
PART_WORDS = {"electricity_grid": "Elnät", "electricity_supply": "Elhandel"}


def step_assessment(
    assessment: Assessment, decided_by: str, decision: OfficerDecision | None
) -> StepAssessment:
    """The procedure's view of an assessment: its result and inputs, the overdue electricity
    capital it counted, and the case officer's weighing of a ``manual`` one."""
    return StepAssessment(
        result=assessment.result,
        reason=assessment.reason,
        inputs=assessment.inputs.model_dump(mode="json"),
        assessed_on=assessment.inputs.on,
        overdue_capital_ore=sum(p.overdue_capital_ore for p in assessment.inputs.parts.values()),
        officer_decision=decision,
        decided_by=decided_by if decision is not None else None,
    )


def demand_items(assessment: Assessment) -> list[DemandItem]:
    """What a letter demands: each overdue invoice's open grid or supply capital the assessment
    counted, and nothing else (domain.md §6)."""
    point = assessment.inputs.supply_point_id
    return [
        DemandItem(
            invoice_id=i.invoice_id,
            invoice_number=i.invoice_number,
            supply_point_id=point,
            service_type=part,
            kind="capital",
            what_for=f"{PART_WORDS.get(part, part)}, faktura {i.invoice_number}",
            due_date=i.due_date,
            amount_ore=i.open_capital_ore,
        )
        for part, inputs in sorted(assessment.inputs.parts.items())
        for i in inputs.overdue_invoices
        if i.open_capital_ore > 0
    ]


def blocks_from_facts(
    case: CaseState, point: SupplyPoint, assessment: Assessment, stepped: StepAssessment
) -> list[Event]:
    """What the facts of today say must stop the case, not yet recorded on it (module
    docstring): a recorded risk, a dispute (lifted when no overdue invoice is disputed any
    more), the claim paid or no longer material after a partial payment."""
    if case.status in ("stopped", "disconnected", "reconnected"):
        return []
    today = stepped.assessed_on
    held = {b.reason for b in case.blocks}
    events: list[Event] = []
    if point.risks and "risk_of_injury" not in held:
        kinds = ", ".join(sorted({r.kind for r in point.risks}))
        events.append(decide_block(case, "risk_of_injury", today, f"recorded risk: {kinds}"))
    disputed = assessment.disputed_invoice_ids
    if disputed and "disputed" not in held:
        events.append(decide_block(case, "disputed", today, "disputed: " + ", ".join(disputed)))
    elif not disputed and "disputed" in held:
        events.append(decide_lift(case, "disputed", today, "no overdue invoice is disputed"))
    if case.demand_ore > 0 and (
        stepped.overdue_capital_ore == 0
        or (stepped.result == "not_material" and stepped.overdue_capital_ore < case.demand_ore)
    ):
        events.extend(decide_reassessment(case, stepped))
    return events
