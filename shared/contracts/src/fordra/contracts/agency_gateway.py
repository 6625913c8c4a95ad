"""Public events of the agency gateway (domain.md §5), defined ahead of the gateway itself
because payments consumes them: what the collection agency collected arrives split into capital,
interest and fees, and is allocated as split (issue: payments)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from fordra.kernel.events import Event

# Where a claim handed to the agency stands (domain.md §5: what the agency reports), in the order a
# case usually takes. "queued": handed over, not yet accepted by the agency's API or file;
# "delivered": the agency has it; then the agency's own reports; "recalled" by the municipality.
AgencyCaseStatus = Literal[
    "queued",
    "delivered",
    "opened",
    "payment_order_filed",
    "objection",
    "judgment",
    "enforcement",
    "long_term_surveillance",
    "closed",
    "recalled",
]


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


class AgencyCaseChanged(Event):
    """A case at the agency moved on (domain.md §5): the customer ledger and the ops web show each
    claim's agency status and its deadline. ``case_id`` is dunning's ``handover_id``.

    ``costs_ore`` are Kronofogden's outlays this step adds to the claim (a payment order 300 + 380
    kr, enforcement 600 kr: domain.md §3); ``municipality_cost_ore`` what it costs the municipality
    (a recall after a payment order: the agency's outlays it cannot recover, seed 004).
    ``deadline`` is the date the step's task falls due (an objection: 3 weeks from the notice's
    sending; a judgment: the 1 month for reinstatement), when it opens one."""

    event_type: ClassVar[str] = "AgencyCaseChanged"

    case_id: str
    invoice_id: str
    customer_id: str
    agency: str
    status: AgencyCaseStatus
    occurred_on: date
    deadline: date | None = None
    costs_ore: int = 0
    municipality_cost_ore: int = 0


CONTRACTS: tuple[type[Event], ...] = (AgencyPaymentCollected, AgencyCaseChanged)
