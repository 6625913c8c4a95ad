"""Read-side HTTP route: the period's postings as a SIE 4i file for the general ledger
(domain.md §10: "SIE 4i (text, codepage 437, #VER balanced to zero)")."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.clock import BusinessClock
from fordra.kernel.projection import ReadModelDatabase
from fordra.kernel.web import RouterDeps, problem
from fordra.projections.adapters.sie import write_sie4i
from fordra.projections.application.postings import PostingsProjection, read_vouchers
from fordra.projections.domain.chart_of_accounts import AccountingSettings

EXPORT_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
# IANA's name for codepage 437 (SIE's PC8); "cp437" is only Python's.
SIE_MEDIA_TYPE = "text/plain; charset=IBM437"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def make_router(
    db: ReadModelDatabase,
    projection: PostingsProjection,
    settings: AccountingSettings,
    *,
    company_name: str,
    orgnr: str,
    web: RouterDeps,
    clock: BusinessClock,
) -> APIRouter:
    """``clock`` dates the file (#GEN) by the business date, so a file made under a manual clock
    says the day it was made in the scenario."""
    router = APIRouter(prefix="/api/v1", tags=["exports"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/exports/sie",
        response_class=Response,
        responses={200: {"content": {SIE_MEDIA_TYPE: {}}, "description": "A SIE 4i file"}},
    )
    async def export_sie(
        principal: Caller,
        from_: Annotated[str, Query(alias="from", description="First day, YYYY-MM-DD")],
        to: Annotated[str, Query(description="Last day (included), YYYY-MM-DD")],
    ) -> Response:
        """The postings dated ``from`` to ``to`` as SIE 4i: codepage 437, every #VER balanced."""
        require_role(principal, *EXPORT_READERS)
        first, last = _day("from", from_), _day("to", to)
        if first > last:
            raise RequestValidationError(
                [problem(["query", "from"], f"from ({first}) is after to ({last})", "date_order")]
            )
        async with db.engine.connect() as conn:
            vouchers = await read_vouchers(conn, projection, first, last, tenant=principal.tenant)
        body = write_sie4i(
            vouchers,
            company_name=company_name,
            orgnr=orgnr,
            generated_at=clock.today(),
            from_date=first,
            to_date=last,
            accounts=settings.account_names,
        )
        # SIE names import files .si (type 4i) and export files .se.
        filename = f"fordra-{first:%Y%m%d}-{last:%Y%m%d}.si"
        return Response(
            content=body,
            media_type=SIE_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return router


def _day(name: str, value: str) -> dt.date:
    # Parsed here rather than by FastAPI's `date` type, which also takes a Unix timestamp or
    # "20240101": a period for the ledger must be written one way only.
    try:
        if not _ISO_DATE.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RequestValidationError(
            [problem(["query", name], f"{name} must be a date as YYYY-MM-DD", "date_from_iso")]
        ) from None
