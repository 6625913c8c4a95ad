"""Public events of the agency gateway (domain.md §5), defined ahead of the gateway itself
because payments consumes them: what the collection agency collected arrives split into capital,
interest and fees, and is allocated as split (issue: payments)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from fordra.kernel.events import Event


class AgencyPaymentCollected(Event):
    """The agency collected on a claim it was handed and reports the split (seed 004: the
    creditor gets the 180 kr collection fee and the late interest; the agency keeps its own)."""

    event_type: ClassVar[str] = "AgencyPaymentCollected"

    agency_reference: str  # the agency's unique id of this remittance line: idempotency
    invoice_id: str
    collected_on: date
    capital_ore: int
    interest_ore: int
    reminder_fee_ore: int = 0
    collection_fee_ore: int = 0


CONTRACTS: tuple[type[Event], ...] = (AgencyPaymentCollected,)
