"""The department decision the rent delegation's commands carry (issue 14; domain.md §8
"Delegation", seed 002): its shape, the one refusal every context gives, and the contract events
stored before it existed, which still load (the field defaults to None)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from fordra.contracts import all_contracts
from fordra.contracts.dunning import Installment, PaymentPlanProposed
from fordra.contracts.invoicing import DeferralGranted
from fordra.contracts.payments import RefundRequested
from fordra.kernel.delegation import (
    RENT_DELEGATION_RULE,
    DepartmentDecision,
    check_department_decision,
)
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event, EventRegistry

TODAY = date(2026, 3, 2)
DECISION = DepartmentDecision(reference="SN 2026/1", decided_on=TODAY, decided_by="Nämnden")


def test_a_decision_names_its_reference_day_and_maker() -> None:
    for bad in (
        {"reference": "", "decided_on": "2026-03-02", "decided_by": "Nämnden"},
        {"reference": "SN\n1", "decided_on": "2026-03-02", "decided_by": "Nämnden"},
        {"reference": "SN 1", "decided_on": "2026-03-02"},
        {"reference": "SN 1", "decided_on": "2026-03-02", "decided_by": "N", "extra": 1},
    ):
        with pytest.raises(ValidationError):
            DepartmentDecision.model_validate(bad)


def test_beyond_the_delegation_a_decision_is_needed_and_kept() -> None:
    with pytest.raises(DomainRuleViolation) as refusal:
        check_department_decision(
            None, beyond_delegation=True, refusal="a thing over 1 month", today=TODAY
        )
    assert refusal.value.rule == RENT_DELEGATION_RULE
    assert refusal.value.field == "department_decision"
    assert str(refusal.value) == "a thing over 1 month (seed 002): give department_decision"
    kept = check_department_decision(
        DECISION, beyond_delegation=True, refusal="a thing", today=TODAY
    )
    assert kept == DECISION
    # Within the delegation none is needed; one given is kept all the same
    assert check_department_decision(None, beyond_delegation=False, refusal="", today=TODAY) is None
    assert (
        check_department_decision(DECISION, beyond_delegation=False, refusal="", today=TODAY)
        == DECISION
    )


def test_a_decision_dated_after_today_is_not_yet_taken() -> None:
    tomorrow = DECISION.model_copy(update={"decided_on": date(2026, 3, 3)})
    with pytest.raises(DomainRuleViolation) as refusal:
        check_department_decision(tomorrow, beyond_delegation=True, refusal="x", today=TODAY)
    assert refusal.value.rule == "department_decision_taken_before"


@pytest.mark.parametrize(
    "event",
    [
        DeferralGranted(
            invoice_id="i",
            customer_id="c",
            requested_on=TODAY,
            deferred_until=date(2026, 5, 2),
            interest_from=date(2026, 4, 1),
            reason="r",
            department_decision=DECISION,
        ),
        PaymentPlanProposed(
            plan_id="p",
            customer_id="c",
            invoice_ids=("i",),
            proposed_on=TODAY,
            written=True,
            installments=(Installment(due_date=date(2026, 4, 1), amount_ore=100),),
            capital_ore=100,
            interest_ore=0,
            costs_ore=0,
            total_ore=100,
            rate_percent="10.00",
            department_decision=DECISION,
        ),
        RefundRequested(
            refund_id="r",
            payment_id=None,
            customer_id="c",
            amount_ore=100,
            reason="r",
            requested_by="a",
            department_decision=DECISION,
        ),
    ],
    ids=lambda e: e.event_type,
)
def test_events_round_trip_and_those_stored_before_still_load(event: Event) -> None:
    registry = EventRegistry()
    registry.register_all(all_contracts())
    env = registry.envelope(
        event,
        context="t",
        stream_id="s",
        version=1,
        metadata=Metadata("t", "a", "c"),
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert registry.load(env) == event
    old = {k: v for k, v in env.payload.items() if k != "department_decision"}
    loaded = registry.load(replace(env, payload=old))
    assert loaded.model_dump()["department_decision"] is None
