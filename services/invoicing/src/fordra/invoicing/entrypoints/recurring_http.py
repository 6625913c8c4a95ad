"""Recurring charges and billing runs over HTTP (issue 14)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from fordra.invoicing.application.billing_run import (
    BillingRunReport,
    billing_run_report,
    release_held_notice,
)
from fordra.invoicing.application.recurring_charges import (
    ChargeChangedResponse,
    ChargeView,
    RecurringDeps,
    change_recurring_charge,
    create_recurring_charge,
    read_charges,
)
from fordra.invoicing.domain.recurring_charge import ChangeRecurringCharge, CreateRecurringCharge
from fordra.kernel.auth import Principal
from fordra.kernel.dated import CalendarDate
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for


def make_router(deps: RecurringDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["recurring charges"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/recurring-charges",
        status_code=status.HTTP_201_CREATED,
        response_model=ChargeView,
        summary="Register a rent, fee or subscription billed period by period",
    )
    async def post_charge(
        body: CreateRecurringCharge,
        principal: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> ChargeView:
        outcome = await create_recurring_charge(body, deps, principal, metadata_for(principal), key)
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    @router.patch(
        "/recurring-charges/{charge_id}",
        response_model=ChargeChangedResponse,
        summary="A new amount from a date, or an end; issued invoices are never rewritten",
    )
    async def patch_charge(
        charge_id: PathId,
        body: ChangeRecurringCharge,
        principal: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> ChargeChangedResponse:
        outcome = await change_recurring_charge(
            charge_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    @router.get("/recurring-charges", response_model=list[ChargeView])
    async def get_charges(
        principal: Caller, customer_id: Annotated[str, Query(min_length=1, max_length=64)]
    ) -> list[ChargeView]:
        return await read_charges(customer_id, deps, principal)

    @router.get("/billing-runs/{day}", response_model=BillingRunReport)
    async def get_run(day: CalendarDate, principal: Caller) -> BillingRunReport:
        return await billing_run_report(day, deps, principal)

    @router.post(
        "/billing-runs/{day}/held/{charge_id}/release",
        response_model=BillingRunReport,
        summary="A notice held for its manual check goes out",
    )
    async def post_release(
        day: CalendarDate, charge_id: PathId, principal: Caller
    ) -> BillingRunReport:
        await release_held_notice(day, charge_id, deps, principal, metadata_for(principal))
        await web.settle()
        return await billing_run_report(day, deps, principal)

    return router
