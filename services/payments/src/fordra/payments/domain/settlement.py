"""Where a payment matched to a claim goes (domain.md §3 "Allocation of a payment", §2 "Credit note
/ cancellation / refund"): match -> allocate -> set off -> credit, in one pure function that every
path calls (the bank-file import, the work queue's manual match, the agency's collections).

1. The claim the payment was matched to (by its OCR reference, or by hand) is paid by the
   allocation policy (``allocate_to_receivable``: capital first, service by service, then
   interest and fees, each apart; domain.md §3).
2. What is left is set off against the customer's other open claims not under a hold, oldest due
   date first (``claims_open_for_set_off``; domain.md §2: an overpayment is "first set off against
   the customer's open claims"), each by the same allocation policy.
3. What is left after that is the customer's credit (an overpayment), refunded only on request
   and after attest, and set off against the customer's next claim (``credit.py``).

When the payer said what the payment pays (the agency reports each collection split into capital,
interest and fees, domain.md §5; domain.md §3: "follow the debtor's instruction"), the interest
and fees go to the matched claim as said, and only the capital runs through steps 1-3.

Every öre of a payment (and of each instructed part) that is not negative ends as exactly one of
these (money in == money out, issue 9):
``Settlement.allocated_ore + set_off_ore + credit_ore + charges_ore == amount_ore``.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from fordra.contracts.payments import Component
from fordra.payments.domain.allocation import Allocation, AllocationPolicy, allocate_to_receivable
from fordra.payments.domain.credit import claims_open_for_set_off
from fordra.payments.domain.receivable import Receivable

__all__ = ["PaymentSetOff", "Settlement", "settle_payment"]

# The service an instructed charge is booked under when the claim names none.
_NO_SERVICE = "other"


@dataclass(frozen=True, slots=True)
class PaymentSetOff:
    """What of a payment was set off against one other open claim of the customer."""

    receivable: Receivable
    allocations: tuple[Allocation, ...]

    @property
    def amount_ore(self) -> int:
        return sum(a.amount_ore for a in self.allocations)


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where one payment's money goes (module docstring): ``allocations`` to the matched claim,
    ``set_offs`` against the customer's other claims in the order they were paid, ``credit_ore``
    kept as the customer's credit, and ``charges``: interest and fees paid to the matched claim
    as the payer said (the agency's split), after the rest."""

    amount_ore: int
    receivable: Receivable
    allocations: tuple[Allocation, ...] = ()
    set_offs: tuple[PaymentSetOff, ...] = ()
    credit_ore: int = 0
    charges: tuple[Allocation, ...] = ()

    @property
    def allocated_ore(self) -> int:
        return sum(a.amount_ore for a in self.allocations)

    @property
    def set_off_ore(self) -> int:
        return sum(s.amount_ore for s in self.set_offs)

    @property
    def charges_ore(self) -> int:
        return sum(a.amount_ore for a in self.charges)


def settle_payment(
    amount_ore: int,
    receivable: Receivable,
    claims: Iterable[Receivable],
    policy: AllocationPolicy,
    today: date,
    *,
    instructed: Mapping[Component, int] | None = None,
) -> Settlement:
    """Settle a payment of ``amount_ore`` matched to ``receivable`` (module docstring): pay it by
    the allocation policy, set what is left off against the customer's other ``claims`` (read as
    they are now; the matched claim among them is skipped) that are open and not under a hold on
    ``today``, and keep the rest as the customer's credit.

    ``instructed``: the part of the amount the payer said pays interest or a fee, per component
    (the agency's split, domain.md §3 and §5): each positive part goes to the matched claim as it
    is, under its first service, even beyond what the claim shows owed (the agency may collect
    more interest than was invoiced). Only the rest is allocated, set off and credited.

    A payment of nothing or less (an agency report with no capital) allocates nothing and leaves
    no credit. A closed claim (cancelled, written off) is paid nothing, its instructed parts
    included: the whole amount is set off and credited.
    """
    # A closed claim (cancelled, or written off for good: domain.md §4) takes nothing more, not
    # even the interest and fees the payer named: all of it is set off, then credited.
    instructed = {} if receivable.closed else (instructed or {})
    service = next(iter(receivable.owed), _NO_SERVICE)
    charges = tuple(
        Allocation(receivable.invoice_id, receivable.customer_id, component, service, part)
        for component, part in instructed.items()
        if part > 0
    )
    left = amount_ore - sum(instructed.values())
    allocations, left = allocate_to_receivable(left, receivable, policy)
    set_offs: list[PaymentSetOff] = []
    if left > 0:
        others = [c for c in claims if c.invoice_id != receivable.invoice_id]
        for other in claims_open_for_set_off(others, today):
            if left <= 0:
                break
            paid, left = allocate_to_receivable(left, other, policy)
            set_offs.append(PaymentSetOff(other, tuple(paid)))
    return Settlement(
        amount_ore=amount_ore,
        receivable=receivable,
        allocations=tuple(allocations),
        set_offs=tuple(set_offs),
        credit_ore=max(left, 0),
        charges=charges,
    )
