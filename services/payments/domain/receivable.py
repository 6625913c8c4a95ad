"""What is still owed on one invoice, per service, as payments sees it (domain.md §3), who paid
it, and whether the claim is under a hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from fordra.contracts.invoicing import InvoiceLine, VatBreakdown
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.events import Event
from fordra.payments.domain.events import (
    ReceivableClosed,
    ReceivableHeld,
    ReceivableOpened,
    ReceivableReduced,
    ReceivableReleased,
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
    closed: bool = False
    version: int = 0
    # reason -> last day of the hold (None: until released)
    holds: dict[str, date | None] = field(default_factory=dict)
    paid: dict[PaidKey, int] = field(default_factory=dict)

    @property
    def open_ore(self) -> int:
        return 0 if self.closed else sum(v for v in self.owed.values() if v > 0)

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
            )
        elif state is None:
            continue
        elif isinstance(event, ReceivableReduced):
            state = replace(state, owed=_subtract(state.owed, event.by_service))
        elif isinstance(event, ReceivableClosed):
            state = replace(state, closed=True)
        elif isinstance(event, ReceivableHeld):
            state = replace(state, holds={**state.holds, event.reason: event.until})
        elif isinstance(event, ReceivableReleased):
            holds = {k: v for k, v in state.holds.items() if k != event.reason}
            state = replace(state, holds=holds)
        elif isinstance(event, PaymentAllocated):
            key = (event.payment_id, event.component, event.service_type)
            paid = {**state.paid, key: state.paid.get(key, 0) + event.amount_ore}
            state = replace(state, paid={k: v for k, v in paid.items() if v != 0})
            if event.component == "capital":
                state = replace(
                    state, owed=_subtract(state.owed, {event.service_type: event.amount_ore})
                )
        if state is not None:
            state = replace(state, version=state.version + 1)
    return state


def _subtract(owed: dict[str, int], by: dict[str, int]) -> dict[str, int]:
    result = dict(owed)
    for service, amount in by.items():
        result[service] = result.get(service, 0) - amount
    return result


def owed_by_service(lines: Sequence[InvoiceLine], vat: Sequence[VatBreakdown]) -> dict[str, int]:
    """Split an invoice's total per service: each service's net, plus its share of the VAT of
    each rate in proportion to its net at that rate, shared out by largest remainder so that the
    parts add up to the invoice total to the öre."""
    owed: dict[str, int] = {}
    for line in lines:
        owed[line.service_type] = owed.get(line.service_type, 0) + line.net_ore
    for breakdown in vat:
        nets: dict[str, int] = {}
        for line in lines:
            if line.vat_rate == breakdown.vat_rate:
                nets[line.service_type] = nets.get(line.service_type, 0) + line.net_ore
        for service, share in _largest_remainder(breakdown.vat_ore, nets).items():
            owed[service] = owed.get(service, 0) + share
    return owed


def _largest_remainder(amount: int, weights: dict[str, int]) -> dict[str, int]:
    total = sum(weights.values())
    if total == 0 or amount == 0:
        return dict.fromkeys(weights, 0)
    exact = {k: amount * w / total for k, w in weights.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = amount - sum(shares.values())
    for k in sorted(exact, key=lambda k: exact[k] - shares[k], reverse=True)[: abs(left)]:
        shares[k] += 1 if left > 0 else -1
    return shares


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
