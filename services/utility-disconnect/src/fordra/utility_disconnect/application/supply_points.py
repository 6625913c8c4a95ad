"""Supply points and the materiality assessment as use cases (issue 16; rules in
domain/supply_point.py and domain/materiality.py).

- ``POST /api/v1/supply-points``: a supply point of a customer this context knows (from
  invoicing's public register events, application/electricity_claims.py), on a stream of its own
  (``supply-point-<id>``).
- ``GET /api/v1/supply-points/{id}``: the point and its recorded risks; the site address of a
  customer with a protected identity is not shown (domain.md §2).
- ``POST /api/v1/supply-points/{id}/risks``: a risk of injury or serious damage (ellagen 11:3).
- ``assessment_for(supply_point_id, deps)``: the materiality assessment on the business day, from
  the point, the customer's kind and the point's claims as the read model has them. The procedure
  (the case steps) calls it before every step (domain.md §6: "again at every later step").

Who: the finance office's case officers, ops leads and admins. A department does not register
supply points: the register serves the disconnection procedure, which is the finance office's
(the energy department's billing system names the point on its invoices, ``supply_point_id``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict

from fordra.contracts.utility_disconnect import (
    RiskKind,
    SupplyPointCategory,
    Utility,
)
from fordra.kernel.application import PERSONAL, Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id
from fordra.utility_disconnect.application.deps import CONTEXT, UtilityDisconnectDeps
from fordra.utility_disconnect.application.electricity_claims import read_claims, read_customer
from fordra.utility_disconnect.domain.materiality import Assessment, assess
from fordra.utility_disconnect.domain.supply_point import (
    RecordRisk,
    RegisterSupplyPoint,
    SupplyPoint,
    check_customer_known,
    record_risk,
    register_supply_point,
    replay_supply_point,
)

SUPPLY_POINT_ROLES = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


def supply_point_stream(supply_point_id: str) -> str:
    return f"supply-point-{supply_point_id}"


class SupplyPointCreated(BaseModel):
    model_config = ConfigDict(frozen=True)

    supply_point_id: str


class RiskView(BaseModel):
    model_config = ConfigDict(frozen=True)

    risk_id: str
    kind: RiskKind
    recorded_on: date
    recorded_by: str
    note: Annotated[str | None, PERSONAL]


class SupplyPointView(BaseModel):
    model_config = ConfigDict(frozen=True)

    supply_point_id: str
    customer_id: str
    utility: Utility
    # None for a customer with a protected identity (domain.md §2) or a forgotten person.
    site_address: Annotated[str | None, PERSONAL]
    site_municipality: str
    annual_cost_ore: int
    category: SupplyPointCategory
    property_designation: str
    protected_identity: bool
    risks: list[RiskView]


class RiskRecorded(BaseModel):
    model_config = ConfigDict(frozen=True)

    supply_point_id: str
    risk_id: str
    kind: RiskKind
    recorded_on: date


def _append(
    deps: UtilityDisconnectDeps, meta: Metadata, stream_id: str, version: int, event: Event
) -> StreamAppend:
    return StreamAppend(
        stream_id,
        version,
        deps.registry.envelopes(
            [event],
            context=CONTEXT,
            stream_id=stream_id,
            after_version=version,
            metadata=meta,
            occurred_at=deps.clock.now(),
        ),
    )


async def load_supply_point(deps: UtilityDisconnectDeps, supply_point_id: str) -> SupplyPoint:
    """The supply point as its stream tells it, or ``NotFound``."""
    point, _ = await _load(deps, supply_point_id)
    return point


async def _load(deps: UtilityDisconnectDeps, supply_point_id: str) -> tuple[SupplyPoint, int]:
    events = await deps.store.read_stream(supply_point_stream(supply_point_id))
    point = replay_supply_point(deps.registry.load(e) for e in events)
    if point is None:
        raise NotFound("supply point", supply_point_id)
    return point, events[-1].version


async def create_supply_point(
    cmd: RegisterSupplyPoint,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[SupplyPointCreated]:
    """Register a supply point of a known customer (module docstring)."""
    require_role(principal, *SUPPLY_POINT_ROLES, action="register a supply point")

    async def decide() -> Decision[SupplyPointCreated]:
        async with deps.read_models.engine.connect() as conn:
            customer = await read_customer(conn, deps.claims, cmd.customer_id)
        supply_point_id = new_id()
        event = register_supply_point(
            cmd, supply_point_id=supply_point_id, customer=customer, actor=meta.actor
        )
        append = _append(deps, meta, supply_point_stream(supply_point_id), 0, event)
        return Decision([append], SupplyPointCreated(supply_point_id=supply_point_id))

    return await execute(
        deps.store,
        decide,
        SupplyPointCreated,
        idempotency=idempotent(
            principal, idempotency_key, "RegisterSupplyPoint", cmd.model_dump(mode="json")
        ),
    )


async def add_risk(
    supply_point_id: str,
    cmd: RecordRisk,
    deps: UtilityDisconnectDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[RiskRecorded]:
    """Record a risk of injury or serious damage on the point (ellagen 11:3)."""
    require_role(principal, *SUPPLY_POINT_ROLES, action="record a risk on a supply point")

    async def decide() -> Decision[RiskRecorded]:
        point, version = await _load(deps, supply_point_id)
        event = record_risk(
            point, cmd, risk_id=new_id(), today=deps.clock.today(), actor=meta.actor
        )
        append = _append(deps, meta, supply_point_stream(supply_point_id), version, event)
        return Decision(
            [append],
            RiskRecorded(
                supply_point_id=supply_point_id,
                risk_id=event.risk_id,
                kind=event.kind,
                recorded_on=event.recorded_on,
            ),
        )

    return await execute(
        deps.store,
        decide,
        RiskRecorded,
        idempotency=idempotent(
            principal, idempotency_key, "RecordRisk", supply_point_id, cmd.model_dump(mode="json")
        ),
    )


async def view_supply_point(
    supply_point_id: str, deps: UtilityDisconnectDeps, principal: Principal
) -> SupplyPointView:
    """The point and its risks; a protected customer's site address is not shown (domain.md §2:
    name and address must not leak; the protected-identity officer reads them at the customer)."""
    require_role(principal, *SUPPLY_POINT_ROLES, action="read a supply point")
    point = await load_supply_point(deps, supply_point_id)
    async with deps.read_models.engine.connect() as conn:
        customer = await read_customer(conn, deps.claims, point.customer_id)
    protected = customer is not None and customer.protected_identity
    return SupplyPointView(
        supply_point_id=point.supply_point_id,
        customer_id=point.customer_id,
        utility=point.utility,
        site_address=None if protected else point.site_address,
        site_municipality=point.site_municipality,
        annual_cost_ore=point.annual_cost_ore,
        category=point.category,
        property_designation=point.property_designation,
        protected_identity=protected,
        risks=[
            RiskView(
                risk_id=r.risk_id,
                kind=r.kind,
                recorded_on=r.recorded_on,
                recorded_by=r.recorded_by,
                note=None if protected else r.note,
            )
            for r in point.risks
        ],
    )


async def assessment_for(
    supply_point_id: str, deps: UtilityDisconnectDeps, today: date | None = None
) -> Assessment:
    """The materiality assessment of an electricity supply point on ``today`` (the business day
    by default), from its claims as the read model has them (domain.md §6). The procedure calls
    it before every step and records what it answers."""
    point = await load_supply_point(deps, supply_point_id)
    async with deps.read_models.engine.connect() as conn:
        customer = check_customer_known(
            await read_customer(conn, deps.claims, point.customer_id), point.customer_id
        )
        claims = await read_claims(conn, deps.claims, supply_point_id, point.customer_id)
    return assess(point, customer.kind, claims, today or deps.clock.today(), deps.settings)


async def get_assessment(
    supply_point_id: str, deps: UtilityDisconnectDeps, principal: Principal
) -> Assessment:
    """``GET /api/v1/disconnection/assessments/{supply_point_id}``."""
    require_role(principal, *SUPPLY_POINT_ROLES, action="read a materiality assessment")
    return await assessment_for(supply_point_id, deps)
