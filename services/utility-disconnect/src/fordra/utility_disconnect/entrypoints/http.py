"""Supply points and the materiality assessment over HTTP (issue 16; the use cases in
application/supply_points.py)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.supply_points import (
    RiskRecorded,
    SupplyPointCreated,
    SupplyPointView,
    add_risk,
    create_supply_point,
    get_assessment,
    view_supply_point,
)
from fordra.utility_disconnect.domain.materiality import Assessment
from fordra.utility_disconnect.domain.supply_point import RecordRisk, RegisterSupplyPoint

REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "A rule refused it, named with its field (e.g. an unknown customer)"}
}


def make_router(deps: UtilityDisconnectDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["utility disconnection"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/supply-points",
        status_code=status.HTTP_201_CREATED,
        response_model=SupplyPointCreated,
        responses=REFUSED,
        summary="Register a supply point (anläggning) of a customer (roles admin, ops_lead, "
        "case_officer)",
    )
    async def post_supply_point(
        body: RegisterSupplyPoint, principal: Caller, key: IdempotencyKey = None
    ) -> SupplyPointCreated:
        outcome = await create_supply_point(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get(
        "/supply-points/{supply_point_id}",
        response_model=SupplyPointView,
        summary="A supply point and its recorded risks",
    )
    async def get_supply_point(supply_point_id: PathId, principal: Caller) -> SupplyPointView:
        return await view_supply_point(supply_point_id, deps, principal)

    @router.post(
        "/supply-points/{supply_point_id}/risks",
        status_code=status.HTTP_201_CREATED,
        response_model=RiskRecorded,
        responses=REFUSED,
        summary="Record a risk of injury or serious damage if the supply were cut (ellagen "
        "11:3): it blocks a disconnection",
    )
    async def post_risk(
        supply_point_id: PathId, body: RecordRisk, principal: Caller, key: IdempotencyKey = None
    ) -> RiskRecorded:
        outcome = await add_risk(
            supply_point_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get(
        "/disconnection/assessments/{supply_point_id}",
        response_model=Assessment,
        responses=REFUSED,
        summary="The materiality assessment of an electricity supply point today (domain.md §6): "
        "material, not_material, manual (a case officer weighs the total) or refused (a business)",
    )
    async def get_materiality(supply_point_id: PathId, principal: Caller) -> Assessment:
        return await get_assessment(supply_point_id, deps, principal)

    return router
