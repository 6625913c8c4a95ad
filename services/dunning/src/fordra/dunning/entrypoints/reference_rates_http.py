"""The reference-rate table over HTTP (domain.md §3): ``GET /api/v1/admin/reference-rates`` and
``POST /api/v1/admin/reference-rates`` (an admin adds a half-year)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse

from fordra.dunning.application.reference_rates import (
    AddedReferenceRate,
    AddReferenceRate,
    ReferenceRates,
    ReferenceRatesDeps,
    add_reference_rate_to_table,
    list_reference_rates,
)
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, RouterDeps, metadata_for


def make_router(deps: ReferenceRatesDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["dunning"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/reference-rates",
        response_model=ReferenceRates,
        summary="The Riksbank's reference rates per half-year, shipped and added",
    )
    async def get_reference_rates(principal: Caller) -> ReferenceRates:
        return await list_reference_rates(deps, principal)

    @router.post(
        "/reference-rates",
        status_code=status.HTTP_201_CREATED,
        response_model=AddedReferenceRate,
        responses={
            200: {"model": AddedReferenceRate, "description": "In the table already: nothing new"},
            422: {"description": "Not 1 January or 1 July, not a rate, or another rate set"},
        },
        summary="Add a half-year's reference rate (admin)",
    )
    async def post_reference_rate(
        body: AddReferenceRate, principal: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        outcome = await add_reference_rate_to_table(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        # The ledger shows interest at the new rate once it has caught up.
        await web.settle()
        code = status.HTTP_201_CREATED if outcome.response.added else status.HTTP_200_OK
        return JSONResponse(outcome.response.model_dump(mode="json"), status_code=code)

    return router
