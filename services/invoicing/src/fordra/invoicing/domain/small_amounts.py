"""Small amounts (domain.md §2, seed 001 line 3): "Belopp under 50 kr debiteras normalt inte om
det saknas faktura för annan kostnad att lägga beloppet på" — an amount under the minimum is not
invoiced on its own. Per service (a setting) it is held and added, as a line of its own with its own
service, to the customer's next invoice (default); or accumulated until the held sum is worth
invoicing; or dropped. 49.99 kr is under 50 kr; 50.00 kr is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fordra.contracts.invoicing import (
    InvoiceLine,
    LateInterestHeld,
    SmallAmountDeferred,
    SmallAmountDropped,
    SmallAmountsInvoiced,
)
from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.invoice import price_lines, totals_of
from fordra.invoicing.domain.settings import InvoicingSettings, SmallAmountPolicy
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event


def is_under_minimum(total_ore: int, invoice_date: date, settings: InvoicingSettings) -> bool:
    """Under the minimum in force on the invoice date (domain.md §2 "Minimum amount": 50 kr,
    ``InvoicingSettings.minimum_invoice_ore``): 49.99 kr is under, 50.00 kr is not."""
    return total_ore < settings.minimum_invoice_ore.at(invoice_date)


def is_small_amount(total_ore: int, invoice_date: date, settings: InvoicingSettings) -> bool:
    """More than nothing but under the minimum: not invoiced on its own (domain.md §2 "Minimum
    amount"). An amount of 0 kr or less is not small: it is refused as an invoice
    (``invoice_total_positive``)."""
    return total_ore > 0 and is_under_minimum(total_ore, invoice_date, settings)


class SmallAmountOutcome(StrEnum):
    """What becomes of an amount to invoice (domain.md §2 "Minimum amount")."""

    # Not a small amount: invoiced, with whatever is held for the customer added to it.
    INVOICE = "invoice"
    # Held for the customer's next invoice ("hold_for_next_invoice"), or accumulated while the
    # held sum is still under the minimum ("accumulate").
    HOLD = "hold"
    # Not charged ("drop": "normally not charged" where there is no other invoice).
    DROP = "drop"
    # "accumulate", and the held sum with this amount is now worth an invoice of its own: every
    # held amount is invoiced, this one included (held first, so that every invoiced amount was
    # held).
    INVOICE_ACCUMULATED = "invoice_accumulated"


@dataclass(frozen=True, slots=True)
class SmallAmountDecision:
    outcome: SmallAmountOutcome
    # The service's policy (``InvoicingSettings.small_amount_policy_for``); for an amount that is
    # not small, the policy it would have had.
    policy: SmallAmountPolicy


def decide_small_amount(
    total_ore: int,
    invoice_date: date,
    service_type: str,
    held_ore: int,
    settings: InvoicingSettings,
) -> SmallAmountDecision:
    """The small-amount decision (domain.md §2 "Minimum amount", seed 001 line 3): an amount under
    the minimum is not invoiced on its own; per service (a setting) it is held and added to the
    customer's next invoice (default), accumulated until the sum is worth invoicing, or dropped.

    ``total_ore`` is the amount to invoice (VAT included), ``held_ore`` what is already held for
    the customer; an amount that is not small (``is_small_amount``) is invoiced. Example
    (domain.md §2): 45 kr -> hold; then a 1,200 kr invoice for the same customer -> invoice (of
    1,245 kr with the held line)."""
    policy = settings.small_amount_policy_for(service_type)
    if not is_small_amount(total_ore, invoice_date, settings):
        return SmallAmountDecision(SmallAmountOutcome.INVOICE, policy)
    if policy == "drop":
        return SmallAmountDecision(SmallAmountOutcome.DROP, policy)
    if policy == "accumulate" and not is_under_minimum(
        held_ore + total_ore, invoice_date, settings
    ):
        return SmallAmountDecision(SmallAmountOutcome.INVOICE_ACCUMULATED, policy)
    return SmallAmountDecision(SmallAmountOutcome.HOLD, policy)


def held_small_amount(
    cmd: IssueInvoice, lines: tuple[InvoiceLine, ...], *, held_id: str, policy: SmallAmountPolicy
) -> SmallAmountDeferred:
    """A small amount held for the customer's next invoice: its priced ``lines`` keep their own
    service on that invoice (domain.md §2 "Minimum amount" and "Co-billing")."""
    net, vat, total = totals_of(lines)
    return SmallAmountDeferred(
        held_id=held_id,
        customer_id=cmd.customer_id,
        department=cmd.department,
        service_type=cmd.service_type,
        invoice_date=cmd.invoice_date,
        lines=lines,
        net_ore=net,
        vat_ore=vat,
        total_ore=total,
        policy=policy,
        source_reference=cmd.source_reference,
    )


def dropped_small_amount(cmd: IssueInvoice, total_ore: int) -> SmallAmountDropped:
    """A small amount that is not charged (policy "drop", domain.md §2 "Minimum amount")."""
    return SmallAmountDropped(
        customer_id=cmd.customer_id,
        department=cmd.department,
        service_type=cmd.service_type,
        total_ore=total_ore,
        source_reference=cmd.source_reference,
    )


def small_amounts_first(commands: Sequence[IssueInvoice], settings: InvoicingSettings) -> list[int]:
    """The order in which one run's invoices are decided: every amount under the minimum first,
    then the rest, each group in file order (answers indexes into ``commands``).

    domain.md §2: "45 kr and a 1,200 kr invoice for the same customer in one run -> one invoice
    of 1,245 kr". A small amount is held for the customer's *next* invoice, so deciding in file
    order would hold a 45 kr line that comes after the 1,200 kr one for some later run. Deciding
    the small ones first puts each on the customer's invoice in the same run whichever line came
    first; with "accumulate" they add up first too. A command whose lines cannot be priced is not
    small: it is decided with the rest, and refused there with its line."""

    def is_small(cmd: IssueInvoice) -> bool:
        try:
            _net, _vat, total = totals_of(price_lines(cmd, settings))
        except DomainRuleViolation:
            return False
        return is_small_amount(total, cmd.invoice_date, settings)

    small = [is_small(cmd) for cmd in commands]
    return [i for i in range(len(commands)) if small[i]] + [
        i for i in range(len(commands)) if not small[i]
    ]


@dataclass(frozen=True, slots=True)
class HeldAmounts:
    """What is held for one customer's next invoice: small amounts and late interest."""

    pending: dict[str, SmallAmountDeferred | LateInterestHeld] = field(default_factory=dict)
    version: int = 0

    @property
    def total_ore(self) -> int:
        return sum(
            h.total_ore if isinstance(h, SmallAmountDeferred) else h.line.net_ore
            for h in self.pending.values()
        )

    @property
    def lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(line for h in self.pending.values() for line in _lines(h))

    def with_held(self, held: SmallAmountDeferred) -> HeldAmounts:
        """What is held once ``held`` is too (not yet appended: the version stays)."""
        return HeldAmounts({**self.pending, held.held_id: held}, self.version)

    def invoiced_on(self, invoice_id: str, customer_id: str) -> SmallAmountsInvoiced:
        """Everything held went on invoice ``invoice_id``."""
        return SmallAmountsInvoiced(
            customer_id=customer_id,
            invoice_id=invoice_id,
            held_ids=tuple(self.pending),
            total_ore=self.total_ore,
        )


def _lines(held: SmallAmountDeferred | LateInterestHeld) -> tuple[InvoiceLine, ...]:
    return held.lines if isinstance(held, SmallAmountDeferred) else (held.line,)


def replay_held(events: Iterable[Event]) -> HeldAmounts:
    pending: dict[str, SmallAmountDeferred | LateInterestHeld] = {}
    version = 0
    for event in events:
        version += 1
        if isinstance(event, SmallAmountDeferred | LateInterestHeld):
            pending[event.held_id] = event
        elif isinstance(event, SmallAmountsInvoiced):
            for held_id in event.held_ids:
                pending.pop(held_id, None)
    return HeldAmounts(pending, version)
