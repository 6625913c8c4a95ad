"""Public events of the dunning context that other contexts consume.

Defined ahead of dunning itself because invoicing must know the contract: late interest is
invoiced automatically only once the original invoice is paid, on the customer's next invoice
(domain.md §3, seed 001: "Räntefakturering sker med automatik först när ursprungsfakturan är
betald och beloppet läggs på nästkommande faktura"). Dunning computes the interest and publishes
``LateInterestCharged``; invoicing consumes it and adds a line of its own to the next invoice.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from fordra.kernel.events import Event


class LateInterestCharged(Event):
    """Late interest (dröjsmålsränta, räntelagen 6 §) on a paid invoice, to be put on the
    customer's next invoice as its own line, with no VAT (interest is outside the scope of VAT)."""

    event_type: ClassVar[str] = "LateInterestCharged"

    interest_id: str
    customer_id: str
    invoice_id: str
    service_type: str
    from_date: date
    to_date: date
    rate_percent: str  # e.g. "10.00": the reference rate + 8 points, per rate period
    amount_ore: int


CONTRACTS: tuple[type[Event], ...] = (LateInterestCharged,)
