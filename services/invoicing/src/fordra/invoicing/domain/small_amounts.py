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

from fordra.contracts.invoicing import (
    InvoiceLine,
    LateInterestHeld,
    SmallAmountDeferred,
    SmallAmountsInvoiced,
)
from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.invoice import price_lines, totals_of
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event


def is_under_minimum(total_ore: int, invoice_date: date, settings: InvoicingSettings) -> bool:
    return total_ore < settings.minimum_invoice_ore.at(invoice_date)


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
        return total > 0 and is_under_minimum(total, cmd.invoice_date, settings)

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
