"""The case register's HTTP routes (issue 17 "Cases and service levels", domain.md §8): register
a case, mark it done, the queues, and the SLA dashboard of a week."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for
from fordra.projections.application.case_register import (
    CaseClosed,
    CaseQueue,
    CaseRegisterDeps,
    CaseRegistered,
    CaseStatus,
    RegisterCase,
    SlaDashboard,
    close_case,
    open_case,
    read_cases,
    sla_dashboard,
)
from fordra.projections.domain.service_levels import CaseKind

# An ISO week as the dashboard takes it; anything else is a 422 naming ``week``.
IsoWeek = Annotated[str, Query(pattern=r"^\d{4}-W\d{2}$", examples=["2026-W15"])]


def make_router(deps: CaseRegisterDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["cases"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/cases",
        response_model=CaseRegistered,
        status_code=status.HTTP_201_CREATED,
        responses={422: {"description": "Unknown kind or invoice, or a time without offset"}},
        summary="Register a case; its due date follows its kind's service level",
    )
    async def post_case(
        body: RegisterCase, principal: Caller, key: IdempotencyKey = None
    ) -> CaseRegistered:
        outcome = await open_case(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/cases/{case_id}/done",
        response_model=CaseClosed,
        responses={404: {"description": "No such case"}, 422: {"description": "Done already"}},
        summary="Mark a case done now",
    )
    async def post_done(
        case_id: PathId, principal: Caller, key: IdempotencyKey = None
    ) -> CaseClosed:
        outcome = await close_case(
            case_id, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get(
        "/cases",
        response_model=CaseQueue,
        summary="The queues: cases by due date, of a kind and a status",
    )
    async def get_cases(
        principal: Caller, kind: CaseKind | None = None, status: CaseStatus | None = None
    ) -> CaseQueue:
        return await read_cases(deps, principal, kind=kind, status=status)

    @router.get(
        "/sla/dashboard",
        response_model=SlaDashboard,
        summary="Per kind: open, due today, overdue, handled in time and handling times",
    )
    async def get_dashboard(principal: Caller, week: IsoWeek) -> SlaDashboard:
        return await sla_dashboard(deps, principal, week)

    return router
