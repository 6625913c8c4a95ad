"""The rent administration's delegation for refunds (domain.md §8 "Delegation", seed 002: it may
"återbetala hyra upp till ett belopp motsvarande två månadshyror vid avflyttning eller dödsfall
enligt underlag från behörig uppgiftslämnare"). Beyond that amount a department decision must be
recorded with the refund before it is asked for.

Rent comes back to the customer as credit when a paid rent notice is credited at move-out or
death (``CustomerCreditRecorded`` of reason ``credit_note``, domain.md §2): a refund of a
customer's credit is a refund of rent when such credit is part of it. The monthly rent is the
credited notice's own rent (its capital of the rent services as issued), the latest notice's when
several were credited, since the rent in force at move-out is the one the seed counts in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.invoicing import RENT_SERVICES
from fordra.contracts.payments import CustomerCreditRecorded
from fordra.kernel.dated import Dated
from fordra.kernel.delegation import DepartmentDecision, check_department_decision
from fordra.kernel.events import Event
from fordra.payments.domain.receivable import Receivable


class RentRefundSettings(BaseModel):
    """What the office may refund of rent on its own, in monthly rents (seed 002: two)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_monthly_rents: Dated[int] = Field(default_factory=lambda: Dated[int].always(2))


@dataclass(frozen=True, slots=True)
class CreditedRent:
    """A rent notice credited after it was paid: its money is part of the customer's credit."""

    invoice_id: str
    monthly_rent_ore: int


def credited_rents(
    credit_events: Iterable[Event], receivables: Mapping[str, Receivable | None]
) -> list[CreditedRent]:
    """The rent notices whose credit notes released payments to the customer's credit, in the
    order the credit was recorded, each once; ``receivables`` holds the credited invoices."""
    rents: dict[str, CreditedRent] = {}
    for event in credit_events:
        if not isinstance(event, CustomerCreditRecorded) or event.reason != "credit_note":
            continue
        claim = receivables.get(event.invoice_id or "")
        if claim is None:
            continue
        rent = sum(claim.issued.get(service, 0) for service in RENT_SERVICES)
        if rent > 0:
            rents.pop(claim.invoice_id, None)
            rents[claim.invoice_id] = CreditedRent(claim.invoice_id, rent)
    return list(rents.values())


def check_rent_refund_within_delegation(
    amount_ore: int,
    rents: list[CreditedRent],
    decision: DepartmentDecision | None,
    *,
    today: date,
    settings: RentRefundSettings,
) -> DepartmentDecision | None:
    """A refund of credit that holds rent (``rents`` not empty) of more than
    ``max_monthly_rents`` (a dated setting) times the monthly rent needs a department decision
    (seed 002). Other refunds are not concerned. Answers the decision to keep in the event."""
    if not rents:
        return decision
    months = settings.max_monthly_rents.at(today)
    monthly = rents[-1].monthly_rent_ore
    limit = months * monthly
    return check_department_decision(
        decision,
        beyond_delegation=amount_ore > limit,
        refusal=f"a refund of rent over {months} monthly rents ({limit} öre: the monthly rent of "
        f"{monthly} öre of invoice {rents[-1].invoice_id}) needs a department decision",
        today=today,
    )
