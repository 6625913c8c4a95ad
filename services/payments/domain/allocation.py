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
    component: str
    service_type: str
    amount_ore: int


def allocate_to_receivable(
    amount_ore: int, receivable: Receivable, policy: AllocationPolicy
) -> tuple[list[Allocation], int]:
    """Apply up to ``amount_ore`` to what is owed on one invoice; answer the allocations and what
    is left of the payment. Only capital exists on invoices so far; interest and fees are added as
    components of their own when dunning charges them."""
    if receivable.closed or amount_ore <= 0:
        return [], amount_ore
    services = [s for s in policy.service_order if receivable.owed.get(s, 0) > 0]
    services += [s for s in receivable.owed if s not in services and receivable.owed[s] > 0]
    left = amount_ore
    result = []
    for service in services:
        if left == 0:
            break
        part = min(left, receivable.owed[service])
        result.append(
            Allocation(receivable.invoice_id, receivable.customer_id, "capital", service, part)
        )
        left -= part
    return result, left
