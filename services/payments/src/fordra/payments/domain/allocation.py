"""Allocating a payment (domain.md §3, seed 003): follow the debtor's instruction (an OCR
reference is one); a payment equal to the capital goes to the capital, never first to costs; keep
capital, interest and each kind of cost apart, and electricity apart from other services, because
the split decides whether disconnection is still allowed. The order is a setting; by default
electricity is paid first, since leaving it unpaid is what can cost the debtor the most (an
allocation may not be especially burdensome for the debtor, Supreme Court in seed 003).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.payments import Component
from fordra.payments.domain.receivable import Receivable

ELECTRICITY = ("electricity_grid", "electricity_supply")


class AllocationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Services in the order a payment pays them on a co-billed invoice; the rest follow in the
    # order of the invoice's lines.
    service_order: tuple[str, ...] = Field(default=ELECTRICITY)


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_id: str
    customer_id: str
    component: Component
    service_type: str
    amount_ore: int


def allocate_to_receivable(
    amount_ore: int, receivable: Receivable, policy: AllocationPolicy
) -> tuple[list[Allocation], int]:
    """Apply up to ``amount_ore`` to what is owed on one invoice; answer the allocations and what
    is left of the payment. The capital first, service by service in the policy's order, then
    the interest invoiced on the invoice, then its fees, each as a component of its own
    (domain.md §3: a payment equal to the capital goes to the capital, never first to costs)."""
    if receivable.closed or amount_ore <= 0:
        return [], amount_ore
    owed: list[tuple[Component, str, int]] = [
        ("capital", s, receivable.owed.get(s, 0)) for s in _in_policy_order(receivable.owed, policy)
    ]
    for component in _charges_in_order(receivable):
        parts = receivable.owed_interest_and_fees[component]
        owed += [
            (component, s, receivable.owed_charge(component, s))
            for s in _in_policy_order(parts, policy)
        ]
    left = amount_ore
    result = []
    for component, service, due in owed:
        if left == 0:
            break
        if due <= 0:
            continue
        part = min(left, due)
        result.append(
            Allocation(receivable.invoice_id, receivable.customer_id, component, service, part)
        )
        left -= part
    return result, left


CHARGE_ORDER: tuple[Component, ...] = ("interest", "reminder_fee", "collection_fee", "other_cost")


def _charges_in_order(receivable: Receivable) -> list[Component]:
    return [c for c in CHARGE_ORDER if c in receivable.owed_interest_and_fees]


def _in_policy_order(owed: dict[str, int], policy: AllocationPolicy) -> list[str]:
    services = [s for s in policy.service_order if owed.get(s, 0) > 0]
    return services + [s for s in owed if s not in services and owed[s] > 0]
