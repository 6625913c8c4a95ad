"""Water disconnection cases over HTTP (issue 16 "Water (LAV 43 §)", domain.md §7; the use cases
in application/water_cases.py)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.water_cases import (
    OpenWaterCase,
    Reconnect,
    WaterAct,
    WaterActTaken,
    WaterCaseList,
    WaterCaseOpenedView,
    WaterLetterView,
    list_water_cases,
    open_water_case,
    reconnect_water,
    send_water_letter,
    shut_off_water,
)

REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such water case or supply point"},
    422: {
        "description": "A rule of LAV 43 § or seed 001 refused it, named (not a water supply "
        "point, no overdue water charges, before 10 days from the reminder, a demand other than "
        "water, not the owner, not weighed as material, a block, before the time to remedy has "
        "run out, after the 45 days from the due date, still unpaid)"
    },
}


def make_router(deps: UtilityDisconnectDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/disconnection/water-cases", tags=["utility disconnection"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=WaterCaseOpenedView,
        responses=REFUSED,
        summary="Open a water disconnection case for a property's water supply point",
    )
    async def post_water_case(
        body: OpenWaterCase, principal: Caller, key: IdempotencyKey = None
    ) -> WaterCaseOpenedView:
        outcome = await open_water_case(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get("", response_model=WaterCaseList, summary="An owner's water disconnection cases")
    async def get_water_cases(
        principal: Caller,
        customer_id: Annotated[str, Query(min_length=1, max_length=100)],
    ) -> WaterCaseList:
        return await list_water_cases(customer_id, deps, principal)

    @router.post(
        "/{case_id}/letter",
        status_code=status.HTTP_201_CREATED,
        response_model=WaterLetterView,
        responses=REFUSED,
        summary="Send the owner the letter about disconnection: the written request to remedy "
        "the water charges within a reasonable time, a collection demand with its fee",
    )
    async def post_letter(case_id: PathId, body: WaterAct, principal: Caller) -> WaterLetterView:
        outcome = await send_water_letter(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.post(
        "/{case_id}/shut-off",
        status_code=status.HTTP_201_CREATED,
        response_model=WaterActTaken,
        responses=REFUSED,
        summary="Record the water shut off today (the visit charged per the taxa)",
    )
    async def post_shut_off(case_id: PathId, body: WaterAct, principal: Caller) -> WaterActTaken:
        outcome = await shut_off_water(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.post(
        "/{case_id}/reconnection",
        status_code=status.HTTP_201_CREATED,
        response_model=WaterActTaken,
        responses=REFUSED,
        summary="Record the water turned on again today once paid (the visit charged)",
    )
    async def post_reconnection(
        case_id: PathId, body: Reconnect, principal: Caller
    ) -> WaterActTaken:
        outcome = await reconnect_water(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    return router
