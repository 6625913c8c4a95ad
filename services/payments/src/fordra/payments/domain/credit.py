"""The customer's credit and set-off (domain.md §2 "Credit note / cancellation / refund", seed 002
lines 587-603): money of the customer's that pays no claim yet — what was left of a payment after
the customer's open claims, an unmatched payment kept as an advance (förskott), or payments that a
credit note released from a paid invoice.

It is set off against the customer's open claims that are not under a hold, oldest due date
first; it is refunded, after attest, only when nothing is unpaid. Credit is kept per payment (a
"lot"), so that a bank's reversal of the payment takes back exactly what that payment still is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from fordra.contracts.payments import (
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    RefundRequested,
)
from fordra.kernel.events import Event
from fordra.payments.domain.allocation import Allocation, AllocationPolicy, allocate_to_receivable
from fordra.payments.domain.receivable import Receivable, with_allocation


@dataclass(frozen=True, slots=True)
class CustomerCredit:
    customer_id: str
    # payment_id -> what of that payment is still the customer's credit, in the order recorded
    lots: dict[str, int] = field(default_factory=dict)
    # refund_id -> amount asked for and not yet paid out: kept from set-off meanwhile
    reserved: dict[str, int] = field(default_factory=dict)

    @property
    def balance_ore(self) -> int:
        return sum(self.lots.values())

    @property
    def available_ore(self) -> int:
        return max(self.balance_ore - sum(self.reserved.values()), 0)

    def take(self, amount_ore: int) -> list[tuple[str, int]]:
        """Up to ``amount_ore`` of the credit, the oldest payment's first."""
        taken = []
        left = amount_ore
        for payment_id, lot in self.lots.items():
            if left <= 0:
                break
            part = min(lot, left)
            if part > 0:
                taken.append((payment_id, part))
                left -= part
        return taken


def replay_credit(customer_id: str, events: Iterable[Event]) -> CustomerCredit:
    state = CustomerCredit(customer_id)
    for event in events:
        if isinstance(event, CustomerCreditRecorded):
            state = _lot(state, event.payment_id, event.amount_ore)
        elif isinstance(event, CustomerCreditApplied | CustomerCreditReversed):
            state = _lot(state, event.payment_id, -event.amount_ore)
        elif isinstance(event, CustomerCreditRefunded):
            state = _lot(state, event.payment_id, -event.amount_ore)
            reserved = dict(state.reserved)
            if event.refund_id in reserved:
                reserved[event.refund_id] -= event.amount_ore
                if reserved[event.refund_id] <= 0:
                    del reserved[event.refund_id]
            state = replace(state, reserved=reserved)
        elif isinstance(event, RefundRequested) and event.payment_id is None:
            state = replace(state, reserved={**state.reserved, event.refund_id: event.amount_ore})
    return state


def _lot(state: CustomerCredit, payment_id: str, delta: int) -> CustomerCredit:
    lots = dict(state.lots)
    lots[payment_id] = lots.get(payment_id, 0) + delta
    return replace(state, lots={k: v for k, v in lots.items() if v != 0})


def claims_open_for_set_off(claims: Iterable[Receivable], today: date) -> list[Receivable]:
    """The claims set-off may take (domain.md §2, issue 9 item 5): open, and not under a hold
    (disputed, deferred, postponed, in a payment plan); the oldest due date first, then in the
    order the invoices were issued, so that the same facts always give the same set-off."""
    eligible = [c for c in claims if c.open_ore > 0 and not c.is_held(today)]
    return sorted(eligible, key=lambda c: (c.due_date, c.invoice_number))


@dataclass(frozen=True, slots=True)
class CreditSetOff:
    """One payment's credit set off against one claim."""

    payment_id: str
    receivable: Receivable
    allocations: tuple[Allocation, ...]

    @property
    def amount_ore(self) -> int:
        return sum(a.amount_ore for a in self.allocations)


def set_off_credit(
    credit: CustomerCredit,
    claims: Sequence[Receivable],
    policy: AllocationPolicy,
    today: date,
) -> list[CreditSetOff]:
    """Set the customer's available credit off against their open claims not under a hold
    (domain.md §2: "first set off against the customer's open claims"), each claim paid by the
    usual allocation policy (§3), the oldest credit first."""
    budget = credit.available_ore
    lots = dict(credit.lots)
    result: list[CreditSetOff] = []
    for claim in claims_open_for_set_off(claims, today):
        current = claim
        for payment_id, lot in lots.items():
            if budget <= 0:
                break
            amount = min(lot, budget)
            if amount <= 0:
                continue
            allocations, left = allocate_to_receivable(amount, current, policy)
            if not allocations:
                break  # the claim is paid
            paying = current
            for a in allocations:
                current = with_allocation(
                    current, payment_id, a.component, a.service_type, a.amount_ore
                )
            used = amount - left
            lots[payment_id] = lot - used
            budget -= used
            result.append(CreditSetOff(payment_id, paying, tuple(allocations)))
        if budget <= 0:
            break
    return result
