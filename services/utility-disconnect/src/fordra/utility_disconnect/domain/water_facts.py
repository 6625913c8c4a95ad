"""The facts of a day, as the water procedure takes them (domain.md §7, LAV 43 §): only water
claims count, the owner's neglect weighed by a case officer, the letter's items, what a shut-off or
reconnection counts, and the blocks the facts call for. Pure: application/water_cases.py reads the
supply point and its claims and calls these."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fordra.kernel.events import Event
from fordra.utility_disconnect.domain.materiality import PartClaim
from fordra.utility_disconnect.domain.procedure import DemandItem, OfficerDecision, StepAssessment
from fordra.utility_disconnect.domain.supply_point import SupplyPoint
from fordra.utility_disconnect.domain.water import WATER_SERVICES, WaterCase, decide_water_block


def water_claims(claims: list[PartClaim], on: date) -> list[PartClaim]:
    """The overdue water claims (domain.md §7: only water claims count): each invoice's open
    water capital whose due date has passed; a waste fee or any other part is never among them."""
    return [
        c for c in claims if c.part in WATER_SERVICES and c.due_date < on and c.open_capital_ore > 0
    ]


def water_assessment(
    point: SupplyPoint,
    claims: list[PartClaim],
    on: date,
    decided_by: str,
    decision: OfficerDecision | None,
) -> StepAssessment:
    """LAV 43 §: the owner's neglect must be material. With overdue water capital it is weighed
    by a case officer (``manual``; the module docstring says why); with none it is not material.
    ``claims`` are the water claims the step may count (``water_claims``)."""
    total = sum(c.open_capital_ore for c in claims)
    if total > 0:
        result: Literal["manual", "not_material"] = "manual"
        reason = (
            f"{len(claims)} overdue water invoice(s), {total} öre of water capital in all: LAV "
            "43 § asks whether the owner's neglect is material, which a case officer weighs "
            "(domain.md §7 gives no figure)"
        )
    else:
        result = "not_material"
        reason = "no overdue water capital (domain.md §7: only water claims count)"
    return StepAssessment(
        result=result,
        reason=reason,
        inputs={
            "supply_point_id": point.supply_point_id,
            "property_designation": point.property_designation,
            "owner_customer_id": point.customer_id,
            "on": on.isoformat(),
            "counted": "water capital only (domain.md §7, seed 003 line 363)",
            "overdue_water_invoices": [
                {
                    "invoice_id": c.invoice_id,
                    "invoice_number": c.invoice_number,
                    "due_date": c.due_date.isoformat(),
                    "open_capital_ore": c.open_capital_ore,
                    "disputed": c.disputed,
                }
                for c in claims
            ],
            "overdue_water_capital_ore": total,
        },
        assessed_on=on,
        overdue_capital_ore=total,
        officer_decision=decision,
        decided_by=decided_by if decision is not None else None,
    )


def water_demand_items(supply_point_id: str, claims: list[PartClaim]) -> list[DemandItem]:
    """What the letter demands: each overdue invoice's open water capital, and nothing else."""
    return [
        DemandItem(
            invoice_id=c.invoice_id,
            invoice_number=c.invoice_number,
            supply_point_id=supply_point_id,
            service_type="water",
            kind="capital",
            what_for=f"Vatten och avlopp, faktura {c.invoice_number}",
            due_date=c.due_date,
            amount_ore=c.open_capital_ore,
        )
        for c in claims
    ]


def demanded_claims(case: WaterCase, claims: list[PartClaim], today: date) -> list[PartClaim]:
    """The claims a shut-off or reconnection counts: before the letter, every overdue water claim;
    after it, those the letter demanded (overdue on its date), whatever is still open of them."""
    if case.letter is None:
        return water_claims(claims, today)
    sent_on = case.letter.sent_on
    return [
        c
        for c in claims
        if c.part in WATER_SERVICES and c.due_date < sent_on and c.open_capital_ore > 0
    ]


def water_blocks_from_facts(
    case: WaterCase, point: SupplyPoint, demanded: list[PartClaim], today: date
) -> list[Event]:
    """What the facts of today say must stop the case, not yet recorded on it: a recorded risk
    (harm to health, LAV 43 §), a demanded claim under dispute, or the demand paid."""
    if case.status in ("stopped", "reconnected"):
        return []
    held = set(case.blocks)
    events: list[Event] = []
    if point.risks and "health_risk" not in held:
        kinds = ", ".join(sorted({r.kind for r in point.risks}))
        events.append(decide_water_block(case, "health_risk", today, f"recorded risk: {kinds}"))
    disputed = sorted({c.invoice_number for c in demanded if c.disputed})
    if disputed and "disputed" not in held:
        events.append(
            decide_water_block(case, "disputed", today, "disputed: " + ", ".join(disputed))
        )
    if not demanded and "paid" not in held:
        events.append(
            decide_water_block(case, "paid", today, "no water claim of the demand is open")
        )
    return events
