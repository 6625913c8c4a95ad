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


CONTRACTS: tuple[type[Event], ...] = (SupplyPointRegistered, SupplyPointRiskRecorded)


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
