"""The HTTP app: every context's router, error mapping, health, metrics and the admin clock."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from fordra.agency_gateway.entrypoints.http import make_router as agency_router
from fordra.app.bootstrap import Platform
from fordra.app.lag_metrics import GAUGE_REFRESH_SECONDS, ConsumerLagGauge, ScrapeGauges
from fordra.app.observability import install_observability, metrics_response
from fordra.app.ops.pages import make_router as ops_pages
from fordra.app.parking_http import ParkedGauge, parked_health
from fordra.app.parking_http import make_router as parked_router
from fordra.app.sla_metrics import SlaGauge
from fordra.dunning.application.reference_rates import ReferenceRatesDeps
from fordra.dunning.domain.proposals import ProposalConflict
from fordra.dunning.entrypoints.http import make_router as dunning_router
from fordra.dunning.entrypoints.letters_http import make_router as letters_router
from fordra.dunning.entrypoints.payment_plans_http import make_router as plans_router
from fordra.dunning.entrypoints.policies_http import make_router as policies_router
from fordra.dunning.entrypoints.reference_rates_http import make_router as reference_rates_router
from fordra.dunning.entrypoints.write_downs_http import make_router as write_downs_router
from fordra.invoicing.application.customers import registered_by_department
from fordra.invoicing.domain.batch import BatchRejected
from fordra.invoicing.entrypoints.http import make_router as invoicing_router
from fordra.invoicing.entrypoints.recurring_http import make_router as recurring_router
from fordra.kernel.auth import AccessDenied, Principal, Role, require_role
from fordra.kernel.bus import SettleTimeout
from fordra.kernel.clock import ManualClock
from fordra.kernel.dated import CalendarDate
from fordra.kernel.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    DomainRuleViolation,
    IdempotencyKeyReused,
    NotFound,
)
from fordra.kernel.telemetry import current_telemetry
from fordra.kernel.web import RouterDeps, StrictJsonBodies, json_safe, problem
from fordra.payments.domain.bank_file import BankFileRejected
from fordra.payments.entrypoints.http import make_router as payments_router
from fordra.projections.entrypoints.cases_http import make_router as cases_router
from fordra.projections.entrypoints.http import make_router as ledger_router
from fordra.projections.entrypoints.kpis_http import make_router as kpis_router
from fordra.projections.entrypoints.sie_http import make_router as sie_router
from fordra.utility_disconnect.entrypoints.cases_http import make_router as disconnection_router
from fordra.utility_disconnect.entrypoints.http import make_router as utility_disconnect_router
from fordra.utility_disconnect.entrypoints.letters_http import letter_source
from fordra.utility_disconnect.entrypoints.social_services_http import (
    make_router as social_services_router,
)
from fordra.utility_disconnect.entrypoints.water_http import make_router as water_cases_router


class ClockAdvance(BaseModel):
    to: CalendarDate


class ClockState(BaseModel):
    today: date
    days_run: list[date]


def dunning_routers(platform: Platform, web: RouterDeps) -> list[APIRouter]:
    """Dunning's routers (issue 13): the flow, the policies, the letters, the payment plans, the
    reference rates."""
    rates = ReferenceRatesDeps(platform.stores["dunning"], platform.registry, platform.clock)
    return [
        dunning_router(platform.dunning, web),
        write_downs_router(platform.dunning, web),
        policies_router(platform.policies, web),
        # One route for every letter: utility disconnection's through the kernel's port.
        letters_router(
            platform.letters,
            web,
            other_letters=letter_source(platform.disconnection_letters),
        ),
        plans_router(platform.plans, platform.letters, web),
        reference_rates_router(rates, web),
    ]


def utility_disconnect_routers(platform: Platform, web: RouterDeps) -> list[APIRouter]:
    """Utility disconnection's routers (issue 16): supply points and the materiality
    assessment."""
    return [
        utility_disconnect_router(platform.utility_disconnect, web),
        disconnection_router(platform.utility_disconnect, web),
        water_cases_router(platform.utility_disconnect, web),
        social_services_router(platform.utility_disconnect, platform.social_services_queue, web),
    ]


def create_app(platform: Platform, *, manage_lifecycle: bool = True) -> FastAPI:
    """The ASGI app. With ``manage_lifecycle`` the app starts and stops the platform itself."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await platform.start()
        # The scrape-time gauges also refresh on their own, so that what the OTLP exporter sends
        # the collector is current when nobody scrapes /metrics.
        refreshing = asyncio.create_task(gauges.refresh_every(GAUGE_REFRESH_SECONDS))
        try:
            yield
        finally:
            refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refreshing
            if manage_lifecycle:
                await platform.stop()

    # Swagger UI (/docs) and ReDoc (/redoc) from the package's own files, not a CDN: municipal
    # networks are often offline (fastapi-offline ships them).
    app = FastAPIOffline(
        static_url="/docs-static",
        title="Fordra",
        version="0.1.0",
        description="Receivables for Swedish municipalities: invoices, payments, dunning.",
        lifespan=lifespan,
    )
    install_observability(app, platform.telemetry)
    # NaN, Infinity and lone surrogates are refused as JSON before any route reads the body.
    app.add_middleware(StrictJsonBodies)

    async def settle_briefly() -> bool:
        try:
            await platform.wait_for_read_models(platform.settings.file_settle_seconds)
        except SettleTimeout:
            return False
        return True

    web = RouterDeps(
        authenticate=platform.tokens.authenticate,
        settle=platform.settle,
        settle_briefly=settle_briefly,
    )
    Caller = Annotated[Principal, Depends(web.authenticate)]

    app.include_router(invoicing_router(platform.invoicing, web))
    app.include_router(recurring_router(platform.recurring, web))
    app.include_router(payments_router(platform.payments, web))
    app.include_router(agency_router(platform.agency, platform.agency_cases, web))
    for router in (
        *dunning_routers(platform, web),
        *utility_disconnect_routers(platform, web),
        # The case register and the SLA dashboard (issue 17).
        cases_router(platform.cases, web),
        kpis_router(platform.read_models, platform.kpis, web),
        # The ops web (issue 17): Swedish pages under /ops/, behind the same tokens and roles.
        ops_pages(platform),
    ):
        app.include_router(router)
    app.include_router(
        ledger_router(
            platform.read_models,
            ledger=platform.ledger,
            unmatched=platform.unmatched,
            corrections=platform.corrections,
            clock=platform.clock,
            calendar=platform.calendar,
            web=web,
            registered_by=functools.partial(registered_by_department, platform.invoicing),
        )
    )

    app.include_router(
        sie_router(
            platform.read_models,
            platform.postings,
            platform.settings.accounting,
            company_name=platform.settings.municipality_name,
            orgnr=platform.settings.organisation_number,
            web=web,
            clock=platform.clock,
        )
    )

    app.include_router(parked_router(platform.parked, platform.replay_parked, web))
    gauges = _ops_routes(app, platform, web)

    @app.get("/api/v1/admin/clock", tags=["admin"], response_model=ClockState)
    async def clock_state(principal: Caller) -> ClockState:
        require_role(principal, Role.ADMIN, Role.OPS_LEAD)
        return ClockState(today=platform.clock.today(), days_run=platform.scheduler.days_run[-31:])

    @app.post("/api/v1/admin/clock/advance", tags=["admin"], response_model=ClockState)
    async def advance_clock(body: ClockAdvance, principal: Caller) -> ClockState:
        """Run each day's scheduled work up to ``to``; answers once every projection caught up."""
        require_role(principal, Role.ADMIN)
        clock = platform.clock
        if not isinstance(clock, ManualClock):
            raise DomainRuleViolation(
                "the clock follows the real date; start with --clock manual to advance it",
                field="to",
                rule="manual_clock_only",
            )
        if body.to < clock.today():
            raise DomainRuleViolation(
                f"the business clock never goes back: {body.to} is before {clock.today()}",
                field="to",
                rule="clock_never_goes_back",
            )
        most = platform.settings.clock_max_advance_days.at(clock.today())
        if (body.to - clock.today()).days > most:
            raise DomainRuleViolation(
                f"the business clock moves at most {most} days per call: {body.to} is "
                f"{(body.to - clock.today()).days} days after {clock.today()}",
                field="to",
                rule="clock_advance_bounded",
            )
        ran = await platform.scheduler.advance(clock, body.to)
        return ClockState(today=clock.today(), days_run=ran)

    install_error_handlers(app)
    return app


def _ops_routes(app: FastAPI, platform: Platform, web: RouterDeps) -> ScrapeGauges:
    """``/healthz`` and ``/metrics``; answers the gauges ``/metrics`` refreshes when scraped."""
    Caller = Annotated[Principal, Depends(web.authenticate)]
    gauges = ScrapeGauges(
        ParkedGauge(
            platform.telemetry.meter,
            platform.parked,
            [s.consumer.name for s in platform.subscriptions],
        ),
        ConsumerLagGauge(
            platform.telemetry.meter,
            platform.stores,
            [(s.consumer, s.upstreams) for s in platform.subscriptions],
        ),
        SlaGauge(platform.telemetry.meter, platform.cases, platform.settings.municipality),
    )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """200 with "status" ok, or degraded while an event is parked (fordra.app.parking_http)."""
        health, code = await parked_health(platform.parked)
        today = platform.clock.today().isoformat()
        return JSONResponse({**health, "engine": platform.engine, "today": today}, code)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics(principal: Caller) -> Response:
        require_role(principal, Role.ADMIN, Role.OPS_LEAD)
        await gauges.refresh()
        return metrics_response(platform.telemetry)

    return gauges


def _without_echoes(errors: list[Any]) -> list[Any]:
    """Drop pydantic's "too short" on a list whose items failed: only valid items count towards
    its length, so it told the client "at least 1 item, not 0" beside the item really at fault
    (the invoice batch parser drops the same echo)."""
    bad_items = {
        tuple(e["loc"][:i])
        for e in errors
        for i in range(1, len(e["loc"]))
        if isinstance(e["loc"][i], int)
    }
    return [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in bad_items)]


def _count_import_error(kind: str, file_format: str) -> None:
    # The request's telemetry (the handlers run inside ``CorrelationMiddleware``'s scope).
    telemetry = current_telemetry()
    if telemetry is not None:
        telemetry.import_errors.add(1, {"kind": kind, "format": file_format})


def install_error_handlers(app: FastAPI) -> None:
    """Fordra's errors in HTTP: 422 names the field, 403 says what is missing, 409 what exists."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_r: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, except that the echoed input is made encodable first: bytes that
        # are not UTF-8 or a non-finite number in it made FastAPI's handler itself fail (a 500).
        return JSONResponse(
            {"detail": json_safe(_without_echoes(list(exc.errors())))},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(DomainRuleViolation)
    async def rule_violation(_r: Request, exc: DomainRuleViolation) -> JSONResponse:
        loc: list[str | int] = ["body", *_path(exc.field)] if exc.field else ["body"]
        return JSONResponse(
            {"detail": [problem(loc, str(exc), exc.rule or "domain_rule")]},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(BankFileRejected)
    async def file_rejected(_r: Request, exc: BankFileRejected) -> JSONResponse:
        # Refused whole: every problem, each naming its line or element (domain.md §9).
        _count_import_error("bank_file", exc.file_format or "unknown")
        return JSONResponse(
            {"errors": list(exc.errors), "detail": str(exc)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(BatchRejected)
    async def batch_rejected(_r: Request, exc: BatchRejected) -> JSONResponse:
        # A batch is accepted or rejected whole; every problem names its line and field.
        _count_import_error("invoice_batch", "json")
        return JSONResponse(
            {"errors": [e.model_dump() for e in exc.errors]},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(IdempotencyKeyReused)
    async def key_reused(_r: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        return JSONResponse(
            {
                "detail": [
                    problem(["header", "Idempotency-Key"], str(exc), "idempotency_key_reused")
                ]
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(AlreadyExists)
    async def already_exists(_r: Request, exc: AlreadyExists) -> JSONResponse:
        body: dict[str, Any] = {"detail": str(exc)}
        if exc.field:
            body["field"] = exc.field
        if exc.existing_id:
            body["existing_id"] = exc.existing_id
        return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(ProposalConflict)
    async def proposal_conflict(_r: Request, exc: ProposalConflict) -> JSONResponse:
        # A rejected or stale dunning proposal: nothing was sent (domain.md §4).
        return JSONResponse(
            {"detail": str(exc), "reason": exc.reason}, status_code=status.HTTP_409_CONFLICT
        )

    @app.exception_handler(ConcurrencyConflict)
    async def conflict(_r: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(AccessDenied)
    async def denied(_r: Request, exc: AccessDenied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)

    @app.exception_handler(NotFound)
    async def not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(SettleTimeout)
    async def lagging(_r: Request, exc: SettleTimeout) -> JSONResponse:
        # The command is committed; repeating it with the same Idempotency-Key is safe.
        return JSONResponse(
            {"detail": str(exc), "committed": True},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )


def _path(field: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in field.split(".")]
