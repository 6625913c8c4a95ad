"""Public events of the utility-disconnection context (domain.md §6 and §7, issue 16).

A supply point (anläggning: where electricity or water is delivered) is public because invoices
name it (``InvoiceIssued.supply_point_id``, checked for its shape only: invoicing does not follow
this context) and because the customer ledger shows the whole disconnection process, the supply
point and its recorded risks included (issue 16: "the ledger shows the whole process").

The site address of a consumer is where they live, and a recorded risk's note may tell of their
health (medical equipment): both are the personal part of their events, sealed per customer like
the customer register's own (domain.md §2 "Protected identity"), so forgetting the person empties
them here too. The municipality where the electricity is delivered stays in the clear: the
message to the social welfare board goes to that municipality (ellagen 11:4, domain.md §6).

Version 1 of each. A change a consumer could notice gets a new ``schema_version`` and an upcaster.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.events import Event, PersonalData

# A supply point's id as this context makes them (``fordra.kernel.ids.new_id``: a UUID in its
# canonical lower-case text form). Invoicing checks an invoice's ``supply_point_id`` against it
# (its shape only: whether the point exists is this context's business, not invoicing's).
SUPPLY_POINT_ID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Utility = Literal["electricity", "water"]
# Svensk Energi's categories for the materiality assessment (seed 003 line 25): a flat or a house
# without electric heating (about 1/3 of the annual cost), an electrically heated house (1/4).
SupplyPointCategory = Literal["apartment", "house", "house_electric_heating"]
# Why a disconnection would risk non-trivial personal injury or extensive property damage
# (ellagen 11:3, domain.md §6 "No disconnection if"): medical equipment that needs power, a house
# heated by electricity in the cold season, or another danger to a person or to property that the
# case officer describes in the note.
RiskKind = Literal[
    "medical_equipment",
    "electric_heating_in_winter",
    "other_personal_injury",
    "other_property_damage",
]

# Where a disconnection case stands (domain.md §6 and §7): the electricity procedure's statuses,
# and water's "lettered" (the letter about disconnection sent, LAV 43 §).
DisconnectionCaseStatus = Literal[
    "open", "lettered", "noticed", "ordered", "disconnected", "reconnected", "stopped"
]
# The letters and acts of a case: electricity's in ellagen's order, then water's own.
DisconnectionStepKind = Literal[
    "collection_demand",
    "request_to_remedy",
    "notice",
    "order",
    "disconnection",
    "reconnection",
    "water_letter",
    "shut_off",
]
# Why a disconnection may not happen (ellagen 11:3-4, LAV 43 §): electricity's and water's.
DisconnectionBlockReason = Literal[
    "paid",
    "disputed",
    "board_takeover",
    "risk_of_injury",
    "not_material_after_partial_payment",
    "health_risk",
]


class DisconnectionCaseStep(BaseModel):
    """A letter or an act of the case, on its business day (its letter, when it sends one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DisconnectionStepKind
    on: date
    letter_id: str | None = None


class DisconnectionCaseBlock(BaseModel):
    """A block in force and the day it was recorded; its note is the case's own (it may tell of
    the household's health) and never leaves the context."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: DisconnectionBlockReason
    on: date


class DisconnectionCaseChanged(Event):
    """A disconnection case as it stands after a change (issue 16: "the ledger shows the whole
    process"): appended with the case's own events, in the same append, by every path that
    changes a case, electricity or water. The whole picture each time, so a reader keeps the
    latest per case (and per day, for the ledger as of a date) and folds nothing.

    ``invoice_ids`` are the claims the case's demands covered so far (electricity: each letter's
    overdue grid and supply capital; water: the letter's water capital), ``demand_ore`` what the
    last demand asked for. ``earliest_disconnection_on`` is electricity's, from the service
    (ellagen: 3 weeks), ``latest_disconnection_on`` water's (45 days from the due date). No name,
    address, property designation or block note: the ledger is read by many roles, and a
    protected identity must never leak into a read model (domain.md §2)."""

    event_type: ClassVar[str] = "DisconnectionCaseChanged"
    schema_version: ClassVar[int] = 1

    case_id: str
    customer_id: str
    supply_point_id: str
    utility: Utility
    status: DisconnectionCaseStatus
    opened_on: date
    changed_on: date  # the business day of the change
    steps: list[DisconnectionCaseStep]
    served_on: date | None = None
    earliest_disconnection_on: date | None = None
    latest_disconnection_on: date | None = None
    blocks: list[DisconnectionCaseBlock]
    demand_ore: int
    invoice_ids: list[str]
    costs_ore: int = 0


class SupplyPointSite(PersonalData):
    """Where the supply point is: a consumer's home address."""

    site_address: str


class SupplyPointRegistered(Event):
    event_type: ClassVar[str] = "SupplyPointRegistered"
    schema_version: ClassVar[int] = 1
    personal_field: ClassVar[str | None] = "site"
    subject_field: ClassVar[str | None] = "customer_id"

    supply_point_id: str
    customer_id: str
    utility: Utility
    # The municipality where the electricity (or water) is delivered: its social welfare board is
    # the one told (ellagen 11:4).
    site_municipality: str
    annual_cost_ore: int
    category: SupplyPointCategory
    property_designation: str
    registered_by: str  # the actor
    site: SupplyPointSite | None


class RiskNote(PersonalData):
    """What the case officer wrote about the risk (it may tell of the consumer's health)."""

    note: str


class SupplyPointRiskRecorded(Event):
    """A risk of injury or serious damage if the supply were cut (ellagen 11:3): it blocks a
    disconnection of this supply point."""

    event_type: ClassVar[str] = "SupplyPointRiskRecorded"
    schema_version: ClassVar[int] = 1
    personal_field: ClassVar[str | None] = "details"
    subject_field: ClassVar[str | None] = "customer_id"

    supply_point_id: str
    customer_id: str
    risk_id: str
    kind: RiskKind
    recorded_on: date  # the business day it was recorded
    recorded_by: str  # the actor
    details: RiskNote | None


CONTRACTS: tuple[type[Event], ...] = (
    DisconnectionCaseChanged,
    SupplyPointRegistered,
    SupplyPointRiskRecorded,
)


# Why a claim dunning referred is not taken into the procedure (issue 16): the rule that stops
# it, named as the manual opening's 422 names it.
DeclineRule = Literal[
    "no_supply_point",
    "supply_point_of_another_customer",
    "electricity_only",
    "customer_unknown",
    "consumers_only",
    "material_breach",
    "materiality_manual_needs_decision",
]


class DisconnectionDeclined(Event):
    """A claim dunning referred for disconnection (``fordra.contracts.dunning.
    ReferredForDisconnection``) for which no case opens on its own: the invoice names no
    electricity supply point, the customer is a business (ellagen 11:1), the breach is not
    material, or the assessment is ``manual`` (two close unpaid invoices: a case officer must weigh
    the total, domain.md §6, never automatic). Dunning consumes it and hands the
    claim to the agency as it would have, so that no claim stalls. ``supply_point_id`` is the one
    the invoice names (None when it names none). Version 1."""

    event_type: ClassVar[str] = "DisconnectionDeclined"
    schema_version: ClassVar[int] = 1

    invoice_id: str
    customer_id: str
    supply_point_id: str | None
    declined_on: date
    rule: DeclineRule
    reason: str


CONTRACTS += (DisconnectionDeclined,)
