"""Disconnection cases over HTTP (issue 16, domain.md §6; the use cases in
application/disconnection_cases.py)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.disconnection_cases import (
    CaseList,
    CaseOpened,
    CaseView,
    ExecuteDisconnection,
    OpenCase,
    OrderDisconnection,
    Reconnect,
    RecordService,
    StepTaken,
    TakeStep,
    execute_disconnection,
    list_cases,
    open_case,
    order_disconnection,
    reconnect,
    record_service,
    take_step,
)

REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case or supply point"},
    422: {
        "description": "A rule of ellagen 11 kap. refused it, named (not material, a business "
        "customer, a block, no service date, within 3 weeks of service, steps out of order)"
    },
}


def make_router(deps: UtilityDisconnectDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/disconnection", tags=["utility disconnection"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/cases",
        status_code=status.HTTP_201_CREATED,
        response_model=CaseOpened,
        responses=REFUSED,
        summary="Open a disconnection case for a consumer's electricity supply point by hand",
    )
    async def post_case(
        body: OpenCase, principal: Caller, key: IdempotencyKey = None
    ) -> CaseOpened:
        outcome = await open_case(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get("/cases", response_model=CaseList, summary="A customer's disconnection cases")
    async def get_cases(
        principal: Caller,
        customer_id: Annotated[str, Query(min_length=1, max_length=100)],
    ) -> CaseList:
        return await list_cases(customer_id, deps, principal)

    @router.post(
        "/cases/{case_id}/steps",
        status_code=status.HTTP_201_CREATED,
        response_model=StepTaken,
        responses=REFUSED,
        summary="Re-assess and send the case's next letter: collection demand, request to "
        "remedy, notice (with the message to the social welfare board)",
    )
    async def post_step(case_id: PathId, body: TakeStep, principal: Caller) -> StepTaken:
        outcome = await take_step(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.post(
        "/cases/{case_id}/service",
        response_model=CaseView,
        responses=REFUSED,
        summary="Record the day the notice was served: 3 weeks to pay run from it",
    )
    async def post_service(case_id: PathId, body: RecordService, principal: Caller) -> CaseView:
        outcome = await record_service(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.post(
        "/cases/{case_id}/order",
        status_code=status.HTTP_201_CREATED,
        response_model=StepTaken,
        responses=REFUSED,
        summary="Order the disconnection for a date, re-assessed today",
    )
    async def post_order(case_id: PathId, body: OrderDisconnection, principal: Caller) -> StepTaken:
        outcome = await order_disconnection(case_id, body, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.post(
        "/cases/{case_id}/disconnection",
        status_code=status.HTTP_201_CREATED,
        response_model=StepTaken,
        responses=REFUSED,
        summary="The disconnection executed today, on or after the ordered date, re-assessed",
    )
    async def post_disconnection(
        case_id: PathId, body: ExecuteDisconnection, principal: Caller
    ) -> StepTaken:
        outcome = await execute_disconnection(
            case_id, body, deps, principal, metadata_for(principal)
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/cases/{case_id}/reconnection",
        status_code=status.HTTP_201_CREATED,
        response_model=StepTaken,
        responses=REFUSED,
        summary="Reconnect once the electricity claim is paid (or taken over)",
    )
    async def post_reconnection(case_id: PathId, body: Reconnect, principal: Caller) -> StepTaken:
        outcome = await reconnect(case_id, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    return router
