"""The public picture of a disconnection case (issue 16: "the ledger shows the whole process";
domain.md §6 and §7), derived in one place from the case's events after a change: the procedure's
own events stay internal to this context, and what a ledger reader needs goes out as
``DisconnectionCaseChanged`` (``fordra.contracts.utility_disconnect``), appended with them.

Pure: the append helpers (``application/disconnection_cases.append_to`` and
``application/water_cases._append``) hand it the case's events before the append and the new
ones, and add what it answers to the same append, so every path that changes a case (an act, a
block, the board's takeover, an automatic opening) tells the ledger.

Nothing personal goes out (domain.md §2 "Protected identity"): no block note (it may tell of the
household's health), no site address, no property designation (it tells where an owner lives).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from fordra.contracts.utility_disconnect import (
    DisconnectionCaseBlock,
    DisconnectionCaseChanged,
    DisconnectionCaseStep,
)
from fordra.kernel.events import Event
from fordra.utility_disconnect.domain.procedure import (
    PROCEDURE_EVENTS,
    DisconnectionCaseOpened,
    MaterialityAssessed,
    case_of,
)
from fordra.utility_disconnect.domain.water import (
    WATER_EVENTS,
    WaterBlocked,
    WaterCaseOpened,
    WaterLetterSent,
    WaterReconnected,
    WaterShutOff,
    water_case_of,
)

# The assessments whose overdue invoices a demand covered: the opening's (an automatic opening
# follows dunning's collection demand on them) and each letter's (domain.md §6: each letter
# demands what its re-assessment counted). Water's letter records its assessment as a
# collection demand (domain/water.py ``_assessed``).
DEMAND_ASSESSMENTS = frozenset({"open", "collection_demand", "request_to_remedy", "notice"})

_CASE_EVENTS = frozenset(kind for kind in (*PROCEDURE_EVENTS, *WATER_EVENTS))


def changes_case(events: Iterable[Event]) -> bool:
    """Whether ``events`` hold an event of a case's own stream (electricity's or water's)."""
    return any(type(e) in _CASE_EVENTS for e in events)


def covered_invoices(events: Iterable[Event]) -> list[str]:
    """The invoices the case's demands covered, in the order first demanded: each demanding
    assessment's overdue invoices with open capital (electricity's parts, water's own list)."""
    seen: dict[str, None] = {}
    for e in events:
        if isinstance(e, MaterialityAssessed) and e.step in DEMAND_ASSESSMENTS:
            for invoice in _overdue_invoices(e.inputs):
                if int(invoice.get("open_capital_ore", 0)) > 0:
                    seen.setdefault(str(invoice["invoice_id"]), None)
    return list(seen)


def _overdue_invoices(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    parts = inputs.get("parts")
    if isinstance(parts, dict):
        return [i for part in parts.values() for i in part.get("overdue_invoices", [])]
    water = inputs.get("overdue_water_invoices")
    return list(water) if isinstance(water, list) else []


def case_changed(events: Sequence[Event], on: date) -> DisconnectionCaseChanged | None:
    """The case as ``events`` (its whole stream, the new ones last) leave it, on business day
    ``on``; None when they hold no case (an index or letter stream)."""
    if any(isinstance(e, DisconnectionCaseOpened) for e in events):
        return _electricity(events, on)
    if any(isinstance(e, WaterCaseOpened) for e in events):
        return _water(events, on)
    return None


def _electricity(events: Sequence[Event], on: date) -> DisconnectionCaseChanged | None:
    case = case_of(events)
    if case is None:
        return None
    return DisconnectionCaseChanged(
        case_id=case.case_id,
        customer_id=case.customer_id,
        supply_point_id=case.supply_point_id,
        utility="electricity",  # water's cases are water_case_of's (domain/water.py)
        status=case.status,
        opened_on=case.opened_on,
        changed_on=on,
        steps=[
            DisconnectionCaseStep(kind=s.kind, on=s.on, letter_id=s.letter_id) for s in case.steps
        ],
        served_on=case.served_on,
        earliest_disconnection_on=case.earliest_disconnection_on,
        blocks=[DisconnectionCaseBlock(reason=b.reason, on=b.on) for b in case.blocks],
        demand_ore=case.demand_ore,
        invoice_ids=covered_invoices(events),
        costs_ore=case.costs_ore,
    )


def _water(events: Sequence[Event], on: date) -> DisconnectionCaseChanged | None:
    case = water_case_of(events)
    if case is None:
        return None
    steps: list[DisconnectionCaseStep] = []
    blocks: list[DisconnectionCaseBlock] = []
    for e in events:
        if isinstance(e, WaterLetterSent):
            steps.append(
                DisconnectionCaseStep(kind="water_letter", on=e.sent_on, letter_id=e.letter_id)
            )
        elif isinstance(e, WaterShutOff):
            steps.append(DisconnectionCaseStep(kind="shut_off", on=e.on))
        elif isinstance(e, WaterReconnected):
            steps.append(DisconnectionCaseStep(kind="reconnection", on=e.on))
            blocks = []  # the water is on again: nothing is held any more (water_case_of)
        elif isinstance(e, WaterBlocked):
            blocks.append(DisconnectionCaseBlock(reason=e.reason, on=e.on))
    letter = case.letter
    return DisconnectionCaseChanged(
        case_id=case.case_id,
        customer_id=case.owner_customer_id,
        supply_point_id=case.supply_point_id,
        utility="water",
        status=case.status,
        opened_on=case.opened_on,
        changed_on=on,
        steps=steps,
        latest_disconnection_on=letter.latest_disconnection_on if letter else None,
        blocks=blocks,
        demand_ore=letter.demand_ore if letter else 0,
        invoice_ids=covered_invoices(events),
        costs_ore=case.costs_ore,
    )
