"""What is still owed on one invoice, per service and component, as payments sees it
(domain.md §3): the invoice's capital per service, and apart from it the interest and fees that
were invoiced as lines of their own (late interest on the next invoice, seed 001); who paid it,
whether the claim is under a hold, and whether it was closed: cancelled, or written off for good
(domain.md §4 "Write-down and write-off"). A write-down changes nothing here: the claim stays
owed and payments keep paying it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TypeVar

from fordra.contracts.invoicing import InvoiceLine, LineKind, VatBreakdown
from fordra.contracts.payments import Component, PaymentAllocated
from fordra.kernel.events import Event
from fordra.payments.domain.events import (
    ReceivableClosed,
    ReceivableHeld,
    ReceivableOpened,
    ReceivableReduced,
    ReceivableReleased,
    ReceivableWrittenOff,
)

# (payment_id, component, service_type): what one payment has paid of one part of the claim
PaidKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Receivable:
    invoice_id: str
    invoice_number: str
    customer_id: str
    ocr: str
    due_date: date
    owed: dict[str, int] = field(default_factory=dict)  # per service, capital incl. VAT
    # Interest and fees invoiced on this invoice: component -> service -> öre. Paid apart from
    # the capital; what the agency collects beyond them may take a part below zero, which owes
    # nothing (``owed_charge``).
    owed_interest_and_fees: dict[str, dict[str, int]] = field(default_factory=dict)
    closed: bool = False
    # Closed by a write-off (domain.md §4), not a cancellation: the queue says so.
    written_off: bool = False
    version: int = 0
    # reason -> last day of the hold (None: until released)
    holds: dict[str, date | None] = field(default_factory=dict)
    paid: dict[PaidKey, int] = field(default_factory=dict)
    # The capital per service as the invoice was issued, before any credit note: a refund of
    # rent is weighed in the notice's monthly rent (domain.md §8 "Delegation").
    issued: dict[str, int] = field(default_factory=dict)

    def owed_charge(self, component: str, service: str) -> int:
        return max(self.owed_interest_and_fees.get(component, {}).get(service, 0), 0)

    @property
    def open_ore(self) -> int:
        if self.closed:
            return 0
        charges = sum(
            self.owed_charge(component, service)
            for component, parts in self.owed_interest_and_fees.items()
            for service in parts
        )
        return sum(v for v in self.owed.values() if v > 0) + charges

    def is_held(self, today: date) -> bool:
        """Under a hold today: disputed, deferred, postponed or in a payment plan (domain.md §2)."""
        return any(until is None or today <= until for until in self.holds.values())


def replay_receivable(events: Iterable[Event]) -> Receivable | None:
    state: Receivable | None = None
    for event in events:
        if isinstance(event, ReceivableOpened):
            state = Receivable(
                invoice_id=event.invoice_id,
                invoice_number=event.invoice_number,
                customer_id=event.customer_id,
                ocr=event.ocr,
                due_date=event.due_date,
                owed=dict(event.owed_by_service),
                issued=dict(event.owed_by_service),
                owed_interest_and_fees={
                    c: dict(parts) for c, parts in event.owed_interest_and_fees.items()
                },
            )
        elif state is None:
            continue
        elif isinstance(event, ReceivableReduced):
            state = replace(
                state,
                owed=_subtract(state.owed, event.by_service),
                owed_interest_and_fees=_subtract_charges(
                    state.owed_interest_and_fees, event.interest_and_fees
                ),
            )
        elif isinstance(event, ReceivableClosed):
            state = replace(state, closed=True)
        elif isinstance(event, ReceivableWrittenOff):
            state = replace(state, closed=True, written_off=True)
        elif isinstance(event, ReceivableHeld):
            state = replace(state, holds={**state.holds, event.reason: event.until})
        elif isinstance(event, ReceivableReleased):
            holds = {k: v for k, v in state.holds.items() if k != event.reason}
            state = replace(state, holds=holds)
        elif isinstance(event, PaymentAllocated):
            state = with_allocation(
                state,
                event.payment_id,
                event.component,
                event.service_type,
                event.amount_ore,
            )
        if state is not None:
            state = replace(state, version=state.version + 1)
    return state


def _subtract(owed: dict[str, int], by: dict[str, int]) -> dict[str, int]:
    result = dict(owed)
    for service, amount in by.items():
        result[service] = result.get(service, 0) - amount
    return result


def _subtract_charges(
    owed: dict[str, dict[str, int]], by: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    result = {c: dict(parts) for c, parts in owed.items()}
    for component, parts in by.items():
        result[component] = _subtract(result.get(component, {}), parts)
    return result


K = TypeVar("K")

# The payment component each kind of invoice line is paid as (contracts.payments.Component).
COMPONENT_OF_KIND: dict[LineKind, Component] = {
    "capital": "capital",
    "interest": "interest",
    "fee": "other_cost",
}


def owed_by_component(
    lines: Sequence[InvoiceLine], vat: Sequence[VatBreakdown]
) -> dict[Component, dict[str, int]]:
    """Split an invoice's total per component (capital, interest, fees: a line's ``kind``) and
    service: each part's net, plus its share of the VAT of each rate in proportion to its net at
    that rate, shared out by largest remainder so that the parts add up to the invoice total to
    the öre. Late interest invoiced on a later invoice is interest, never the claim's service
    capital, so that allocation and dunning treat it as interest (domain.md §3)."""
    owed: dict[tuple[Component, str], int] = {}
    for line in lines:
        key = (COMPONENT_OF_KIND[line.kind], str(line.service_type))
        owed[key] = owed.get(key, 0) + line.net_ore
    for breakdown in vat:
        nets: dict[tuple[Component, str], int] = {}
        for line in lines:
            if line.vat_rate == breakdown.vat_rate:
                key = (COMPONENT_OF_KIND[line.kind], str(line.service_type))
                nets[key] = nets.get(key, 0) + line.net_ore
        for key, share in _largest_remainder(breakdown.vat_ore, nets).items():
            owed[key] = owed.get(key, 0) + share
    result: dict[Component, dict[str, int]] = {}
    for (component, service), amount in owed.items():
        result.setdefault(component, {})[service] = amount
    return result


def owed_by_service(lines: Sequence[InvoiceLine], vat: Sequence[VatBreakdown]) -> dict[str, int]:
    """The capital of an invoice per service (``owed_by_component``'s capital part)."""
    return owed_by_component(lines, vat).get("capital", {})


def interest_and_fees_owed(
    lines: Sequence[InvoiceLine], vat: Sequence[VatBreakdown]
) -> dict[str, dict[str, int]]:
    """The interest and fees of an invoice, per component and service (the rest of
    ``owed_by_component``)."""
    return {str(c): parts for c, parts in owed_by_component(lines, vat).items() if c != "capital"}


def _largest_remainder(amount: int, weights: dict[K, int]) -> dict[K, int]:
    total = sum(weights.values())
    if total == 0 or amount == 0:
        return dict.fromkeys(weights, 0)
    exact = {k: amount * w / total for k, w in weights.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = amount - sum(shares.values())
    for k in sorted(exact, key=lambda k: exact[k] - shares[k], reverse=True)[: abs(left)]:
        shares[k] += 1 if left > 0 else -1
    return shares


def with_allocation(
    state: Receivable, payment_id: str, component: str, service: str, amount: int
) -> Receivable:
    """The claim after ``amount`` of ``payment_id`` went to one part of it (negative: taken
    back). Capital per service; interest and fees apart (domain.md §3)."""
    key = (payment_id, component, service)
    paid = {**state.paid, key: state.paid.get(key, 0) + amount}
    state = replace(state, paid={k: v for k, v in paid.items() if v != 0})
    if component == "capital":
        return replace(state, owed=_subtract(state.owed, {service: amount}))
    if component in state.owed_interest_and_fees:
        return replace(
            state,
            owed_interest_and_fees=_subtract_charges(
                state.owed_interest_and_fees, {component: {service: amount}}
            ),
        )
    return state


def payments_released_by_credit(receivable: Receivable) -> list[tuple[str, str, int]]:
    """A credit note on a paid or part-paid invoice (domain.md §2, seed 002 lines 587-603): what
    the credit takes beyond what was still unpaid of a service was paid already, so that much of
    the payments is released to the customer's credit instead of vanishing (issue 9, item 2).

    Answers ``(payment_id, service_type, amount)`` to take back from the claim, the latest
    payment first (the earliest payments keep paying what is still owed)."""
    released = []
    for service, owed in receivable.owed.items():
        excess = -owed
        for (payment_id, component, paid_service), amount in reversed(receivable.paid.items()):
            if excess <= 0:
                break
            if component != "capital" or paid_service != service or amount <= 0:
                continue
            part = min(excess, amount)
            released.append((payment_id, service, part))
            excess -= part
    return released
