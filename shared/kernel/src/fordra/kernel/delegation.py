"""Delegation: what the shared service office may decide on its own, and the department decision
that must be recorded before anything beyond it takes effect (domain.md §8 "Delegation", seed 002:
"Serviceförvaltningens hyresadministration har delegation från stadens nämnder för att ...").

Each context applies the limits of its own commands (a deferral in invoicing, a payment plan in
dunning, a refund in payments); this module holds the decision they all carry and the one refusal
they all give, so that a case officer reads the same 422 whichever limit was passed.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from fordra.kernel.dated import CalendarDate
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.text import SingleLine

# The rule every refusal names: a case officer looks it up in docs/rules.md (§8).
RENT_DELEGATION_RULE = "rent_delegation"


class DepartmentDecision(BaseModel):
    """A decision of the department (the committee's delegate) recorded with a command that goes
    beyond the office's delegation: the decision's reference (diarienummer), the day it was taken
    and who took it. Kept in the event the command appends."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: SingleLine = Field(min_length=1, max_length=100)
    decided_on: CalendarDate
    decided_by: SingleLine = Field(min_length=1, max_length=200)


def check_department_decision(
    decision: DepartmentDecision | None,
    *,
    beyond_delegation: bool,
    refusal: str,
    today: date,
    field: str = "department_decision",
) -> DepartmentDecision | None:
    """Refuse a command beyond the office's delegation without a department decision (``refusal``
    says which limit, in a case officer's words); a decision dated after ``today`` is not yet
    taken, so it cannot let the command take effect. Answers the decision to keep in the event:
    the one given, also within the delegation (recorded all the same), or None."""
    if beyond_delegation and decision is None:
        raise DomainRuleViolation(
            f"{refusal} (seed 002): give department_decision",
            field=field,
            rule=RENT_DELEGATION_RULE,
        )
    if decision is not None and decision.decided_on > today:
        raise DomainRuleViolation(
            f"the department decision {decision.reference!r} is dated {decision.decided_on}, "
            f"after today {today}: it must be taken before the command takes effect",
            field=f"{field}.decided_on",
            rule="department_decision_taken_before",
        )
    return decision
