"""Write-down, write-off and the credit-stop list over HTTP (issue 15, domain.md §4; the use cases
in application/write_downs.py)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from fordra.dunning.application.daily_run import DunningDeps
from fordra.dunning.application.write_downs import (
    CreditStops,
    WrittenDown,
    WrittenOff,
    credit_stops,
    write_down_claim,
    write_off_claim,
)
from fordra.dunning.domain.write_down import WriteDown, WriteOff
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for

REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A rule refused it, named with its field: the amount or invoice number "
        "does not match the ledger, an active payment plan, paid, cancelled, or written off"
    }
}


def make_router(deps: DunningDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["write-down and write-off"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/invoices/{invoice_id}/write-down",
        status_code=status.HTTP_201_CREATED,
        response_model=WrittenDown,
        responses=REFUSED,
        summary="Write a claim down (nedskrivning, 1592); it stays under long-term surveillance "
        "(roles admin, ops_lead)",
    )
    async def post_write_down(
        invoice_id: PathId, body: WriteDown, principal: Caller, key: IdempotencyKey = None
    ) -> WrittenDown:
        outcome = await write_down_claim(
            invoice_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/invoices/{invoice_id}/write-off",
        status_code=status.HTTP_201_CREATED,
        response_model=WrittenOff,
        responses=REFUSED,
        summary="Write a claim off for a special reason, by delegation (avskrivning; role "
        "ops_lead)",
    )
    async def post_write_off(
        invoice_id: PathId, body: WriteOff, principal: Caller, key: IdempotencyKey = None
    ) -> WrittenOff:
        outcome = await write_off_claim(
            invoice_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get(
        "/credit-stops",
        response_model=CreditStops,
        summary="Claims written down or off: no new service on credit (a department sees its own)",
    )
    async def get_credit_stops(
        principal: Caller,
        customer_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    ) -> CreditStops:
        return await credit_stops(deps, principal, customer_id)

    return router
