"""The key figures over HTTP (issue 17 "KPIs", seed 004): ``GET /api/v1/kpis?from&to``."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fordra.kernel.auth import Principal
from fordra.kernel.dated import CalendarDate
from fordra.kernel.projection import ReadModelDatabase
from fordra.kernel.web import RouterDeps
from fordra.projections.application.kpis import KpiProjection, Kpis, read_kpis


def make_router(db: ReadModelDatabase, projection: KpiProjection, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["kpis"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/kpis",
        response_model=Kpis,
        responses={422: {"description": "A date missing or not a date, or `to` before `from`"}},
        summary="Invoices issued, the agency's share and success, DSO, ageing, fee and interest",
    )
    async def get_kpis(
        principal: Caller,
        start: Annotated[CalendarDate, Query(alias="from")],
        end: Annotated[CalendarDate, Query(alias="to")],
    ) -> Kpis:
        return await read_kpis(db, projection, principal, start, end)

    return router
