"""Supply points (anläggningar) and the risks recorded on them (issue 16, domain.md §6 and §7).

A supply point is where a customer gets electricity or water: the assessment and the procedure
are per supply point (seed 003 line 25: "varje abonnemang bedömas var för sig"), and the social
welfare board told is the one of the municipality where the electricity is delivered (ellagen
11:4), which is why the site's municipality is recorded with it. Its annual cost and category are
the inputs of Svensk Energi's shares (seed 003 line 25, ``materiality.py``).

A recorded risk (ellagen 11:3: "ej obetydlig personskada eller omfattande sakskada") blocks a
disconnection of the point; the procedure reads ``SupplyPoint.risks``.

Pure: the application layer reads the customer and the stream and hands them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.utility_disconnect import (
    RiskKind,
    RiskNote,
    SupplyPointCategory,
    SupplyPointRegistered,
    SupplyPointRiskRecorded,
    SupplyPointSite,
    Utility,
)
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.kernel.money import Ore
from fordra.kernel.text import FreeText, SingleLine

CustomerKind = Literal["person", "organisation"]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RegisterSupplyPoint(_Command):
    """``POST /api/v1/supply-points``."""

    customer_id: SingleLine = Field(min_length=1, max_length=64)
    utility: Utility
    site_address: SingleLine = Field(min_length=1, max_length=200)
    site_municipality: SingleLine = Field(
        min_length=2,
        max_length=100,
        description="The municipality where the electricity or water is delivered (its social "
        "welfare board is the one told, ellagen 11:4)",
    )
    annual_cost_ore: Ore = Field(
        gt=0, description="The expected annual cost of the supply, in öre (seed 003 line 25)"
    )
    category: SupplyPointCategory
    property_designation: SingleLine = Field(min_length=3, max_length=200)


class RecordRisk(_Command):
    """``POST /api/v1/supply-points/{id}/risks``: a risk of injury or serious damage."""

    kind: RiskKind
    note: FreeText = Field(min_length=3, max_length=1000)


@dataclass(frozen=True, slots=True)
class KnownCustomer:
    """What this context knows of a customer (from invoicing's public register events): whether
    the customer is a consumer at all (ellagen 11:1; an organisationsnummer never is)."""

    customer_id: str
    kind: CustomerKind
    protected_identity: bool = False


@dataclass(frozen=True, slots=True)
class Risk:
    risk_id: str
    kind: RiskKind
    recorded_on: date
    recorded_by: str
    note: str | None  # None once the person is forgotten


@dataclass(frozen=True, slots=True)
class SupplyPoint:
    supply_point_id: str
    customer_id: str
    utility: Utility
    site_address: str | None  # None once the person is forgotten
    site_municipality: str
    annual_cost_ore: int
    category: SupplyPointCategory
    property_designation: str
    registered_by: str
    risks: tuple[Risk, ...] = ()


def check_customer_known(customer: KnownCustomer | None, customer_id: str) -> KnownCustomer:
    """A supply point belongs to a customer of the register (issue 16): one this context has
    heard of through invoicing's public events."""
    if customer is None:
        raise DomainRuleViolation(
            f"customer {customer_id!r} is not in the customer register; register the customer "
            "first (POST /api/v1/customers)",
            field="customer_id",
            rule="supply_point_customer_known",
        )
    return customer


def register_supply_point(
    cmd: RegisterSupplyPoint,
    *,
    supply_point_id: str,
    customer: KnownCustomer | None,
    actor: str,
) -> SupplyPointRegistered:
    """The registration of a supply point for a known customer. A business customer's point is
    registered too (water is owed by the property owner whoever it is, domain.md §7); the
    electricity assessment refuses it later (ellagen 11:1, ``materiality.assess``)."""
    check_customer_known(customer, cmd.customer_id)
    return SupplyPointRegistered(
        supply_point_id=supply_point_id,
        customer_id=cmd.customer_id,
        utility=cmd.utility,
        site_municipality=cmd.site_municipality,
        annual_cost_ore=cmd.annual_cost_ore,
        category=cmd.category,
        property_designation=cmd.property_designation,
        registered_by=actor,
        site=SupplyPointSite(site_address=cmd.site_address),
    )


def record_risk(
    point: SupplyPoint, cmd: RecordRisk, *, risk_id: str, today: date, actor: str
) -> SupplyPointRiskRecorded:
    """A risk recorded on the point (ellagen 11:3). The same kind and note twice is refused: a
    case officer who sends it again means the risk already recorded."""
    for risk in point.risks:
        if risk.kind == cmd.kind and risk.note == cmd.note:
            raise DomainRuleViolation(
                f"this risk ({cmd.kind}) is already recorded on supply point "
                f"{point.supply_point_id!r} (on {risk.recorded_on.isoformat()})",
                field="note",
                rule="risk_recorded_once",
            )
    return SupplyPointRiskRecorded(
        supply_point_id=point.supply_point_id,
        customer_id=point.customer_id,
        risk_id=risk_id,
        kind=cmd.kind,
        recorded_on=today,
        recorded_by=actor,
        details=RiskNote(note=cmd.note),
    )


def replay_supply_point(events: Iterable[Event]) -> SupplyPoint | None:
    """The supply point as its stream tells it; None for a stream without a registration."""
    point: SupplyPoint | None = None
    for event in events:
        if isinstance(event, SupplyPointRegistered):
            point = SupplyPoint(
                supply_point_id=event.supply_point_id,
                customer_id=event.customer_id,
                utility=event.utility,
                site_address=event.site.site_address if event.site else None,
                site_municipality=event.site_municipality,
                annual_cost_ore=event.annual_cost_ore,
                category=event.category,
                property_designation=event.property_designation,
                registered_by=event.registered_by,
            )
        elif isinstance(event, SupplyPointRiskRecorded) and point is not None:
            risk = Risk(
                risk_id=event.risk_id,
                kind=event.kind,
                recorded_on=event.recorded_on,
                recorded_by=event.recorded_by,
                note=event.details.note if event.details else None,
            )
            point = replace(point, risks=(*point.risks, risk))
    return point
