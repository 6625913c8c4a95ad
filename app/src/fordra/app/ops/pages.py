"""The ops web's pages (issue 17): server-rendered Swedish HTML under ``/ops/``.

Each page calls the same application function or read model as the API route it mirrors, with
the same ``Principal``, so it is refused to the same roles (the function's own ``require_role``
and, before it, the page's row in ``NAV``) and shows the same figures; nothing here asks the
API over HTTP or computes an amount of its own. A role sees only the links of the pages it may
open. Forms post to routes that call the same commands as the API, with an idempotency key
made when the form was drawn, so a form sent twice does the work once.
"""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time.

import contextlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from fordra.agency_gateway.application.cases import CASE_READERS, list_tasks
from fordra.app.bootstrap import Platform
from fordra.app.ops.charts import Bar, bar_chart
from fordra.app.ops.present import (
    case_kind,
    day,
    disconnection,
    explained,
    kronor,
    label,
    local_time,
    percent,
)
from fordra.app.ops.session import (
    CSRF_FIELD,
    ForgedForm,
    FormTooLarge,
    SignedOut,
    Visitor,
    check_form,
    check_origin,
    csrf_token,
    forget_token,
    form_fields,
    keep_token,
    verified,
    visitor_of,
)
from fordra.dunning.application.collection import READERS as DUNNING_READERS
from fordra.dunning.application.collection import (
    Collection,
    collection_of,
    disputed_claims,
    proposals_with,
)
from fordra.dunning.application.payment_plans import PLAN_READERS, list_payment_plans
from fordra.dunning.application.proposals import (
    RejectProposal,
    approve_proposal,
    reject_proposal,
)
from fordra.dunning.domain.proposals import ProposalConflict
from fordra.invoicing.application.customers import read_customer, registered_by_department
from fordra.kernel.auth import AccessDenied, Principal, Role, require_role
from fordra.kernel.dated import CalendarDate
from fordra.kernel.errors import (
    ConcurrencyConflict,
    DomainRuleViolation,
    IdempotencyKeyReused,
    NotFound,
)
from fordra.kernel.web import IDEMPOTENCY_KEY_MAX_LENGTH, PathId, metadata_for
from fordra.payments.application.work_queue import ResolvePayment, resolve_payment
from fordra.projections.application.case_register import CASE_READERS as SLA_READERS
from fordra.projections.application.case_register import (
    CASE_WORKERS,
    close_case,
    iso_week,
    read_cases,
    sla_dashboard,
)
from fordra.projections.application.customer_ledger import (
    CustomerLedger,
    CustomerLedgerAsOf,
    department_has_invoiced,
    read_customer_ledger,
    read_customer_ledger_as_of,
)
from fordra.projections.application.kpis import KPI_READERS, read_kpis
from fordra.projections.application.unmatched_payments import UnmatchedQueue, read_unmatched
from fordra.projections.entrypoints.http import LEDGER_READERS, QUEUE_READERS
from fordra.utility_disconnect.application.social_services import (
    BOARD,
    acknowledge,
    notifications,
)

TEMPLATES = Path(__file__).parent / "templates"
# A date as the API's queries take one (kernel.dated: 1900 to 2199).
CALENDAR_DATE: TypeAdapter[date] = TypeAdapter(CalendarDate)
EVERY_ROLE = tuple(Role)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the menu and the roles that may open it: those of the API route it mirrors."""

    path: str
    title: str
    roles: tuple[Role, ...]


CUSTOMERS = Page("/ops/customers", "Kunder och reskontra", LEDGER_READERS)
UNMATCHED = Page("/ops/unmatched", "Oidentifierade inbetalningar", QUEUE_READERS)
PROPOSALS = Page("/ops/dunning/proposals", "Förslag att godkänna", DUNNING_READERS)
DISPUTES = Page("/ops/disputes", "Bestridda fordringar", DUNNING_READERS)
PLANS = Page("/ops/payment-plans", "Avbetalningsplaner", PLAN_READERS)
AGENCY_TASKS = Page("/ops/agency/tasks", "Inkassoärendenas frister", CASE_READERS)
SOCIAL_SERVICES = Page("/ops/social-services", "Meddelanden till socialnämnden", BOARD)
SLA = Page("/ops/sla", "Servicenivåer", SLA_READERS)
KPIS = Page("/ops/kpis", "Nyckeltal", KPI_READERS)
CASES = Page("/ops/cases", "Ärenden att handlägga", SLA_READERS)
# The menu, in the order a case officer works: how the office stands first, then the queues.
NAV: tuple[Page, ...] = (
    SLA,
    KPIS,
    CASES,
    CUSTOMERS,
    UNMATCHED,
    PROPOSALS,
    DISPUTES,
    PLANS,
    AGENCY_TASKS,
    SOCIAL_SERVICES,
)

# What the start page counts for each queue.
WAITING = {
    CASES.path: "öppna ärenden",
    UNMATCHED.path: "inbetalningar att matcha",
    PROPOSALS.path: "förslag att godkänna eller avslå",
    DISPUTES.path: "bestridda fordringar",
    PLANS.path: "planer som väntar på underskrift",
    AGENCY_TASKS.path: "öppna frister",
    SOCIAL_SERVICES.path: "olästa meddelanden",
}

# What a finished action says on the page it returns to (a key in the query, never free text).
DONE = {
    "matched": "Inbetalningen är matchad mot fakturan.",
    "approved": "Förslaget är godkänt.",
    "rejected": "Förslaget är avslaget.",
    "acknowledged": "Meddelandet är markerat som läst.",
    "closed": "Ärendet är markerat som klart.",
}

# Every page: never cached (it shows personal data and amounts), never framed by another site (a
# framed approve button is a click on someone else's page), no script and nothing fetched from
# elsewhere (the pages need their own inline style and nothing more), forms only to this site.
PAGE_HEADERS = (
    ("Cache-Control", "no-store"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)

# What an error page says first, in Swedish; the API's own detail follows it.
LEADS = {
    status.HTTP_403_FORBIDDEN: "Din roll får inte göra detta, eller formuläret kom inte från "
    "den här sidan.",
    status.HTTP_404_NOT_FOUND: "Det finns inget med det id:t som du får se.",
    status.HTTP_409_CONFLICT: "Läget har ändrats sedan sidan visades; inget har gjorts.",
    status.HTTP_413_CONTENT_TOO_LARGE: "Formuläret är för stort.",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "Uppgifterna räcker inte; inget har gjorts.",
}

TITLES = {
    status.HTTP_401_UNAUTHORIZED: "Logga in",
    status.HTTP_403_FORBIDDEN: "Åtkomst nekad",
    status.HTTP_404_NOT_FOUND: "Hittades inte",
    status.HTTP_409_CONFLICT: "Kan inte genomföras",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "Kontrollera uppgifterna",
}


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        kronor=kronor,
        day=day,
        label=label,
        explained=explained,
        case_kind=case_kind,
        disconnection=disconnection,
        local_time=local_time,
        percent=percent,
    )
    return env


def wants_html(request: Request) -> bool:
    """A browser asks for HTML; an API client (curl, httpx) gets the API's JSON error shape."""
    return "text/html" in request.headers.get("accept", "")


def may_open(principal: Principal, page: Page) -> bool:
    return principal.role in page.roles


def require_page(principal: Principal, page: Page) -> None:
    require_role(principal, *page.roles, action=f"see the page {page.path}")


# Fordra's errors as the status codes the API answers for them (app.http.install_error_handlers).
REFUSALS: tuple[tuple[type[Exception], int], ...] = (
    (SignedOut, status.HTTP_401_UNAUTHORIZED),
    (AccessDenied, status.HTTP_403_FORBIDDEN),
    (ForgedForm, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (FormTooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (ProposalConflict, status.HTTP_409_CONFLICT),
    (ConcurrencyConflict, status.HTTP_409_CONFLICT),
    (DomainRuleViolation, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (IdempotencyKeyReused, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ValidationError, status.HTTP_422_UNPROCESSABLE_CONTENT),
)


class OpsWeb:
    """What every page needs: the platform, the templates, and who is asking."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.env = templates()
        self.key = platform.secrets.token_key

    def render(
        self,
        request: Request,
        template: str,
        visitor: Visitor | None,
        *,
        code: int = status.HTTP_200_OK,
        **context: Any,
    ) -> HTMLResponse:
        principal = visitor.principal if visitor else None
        html = self.env.get_template(template).render(
            principal=principal,
            nav=[p for p in NAV if principal and may_open(principal, p)],
            csrf=csrf_token(self.key, visitor.token) if visitor else "",
            csrf_field=CSRF_FIELD,
            today=self.platform.clock.today(),
            municipality=self.platform.settings.municipality_name,
            path=request.url.path,
            done=DONE.get(request.query_params.get("done", "")),
            may_read_ledger=principal is not None and principal.role in LEDGER_READERS,
            new_key=lambda: str(uuid.uuid4()),
            **context,
        )
        return HTMLResponse(html, status_code=code, headers=dict(PAGE_HEADERS))

    def refusal(self, request: Request, exc: Exception) -> Response:
        """The page (or, for a client that is no browser, the API's JSON) for an error."""
        code = next(c for kind, c in REFUSALS if isinstance(exc, kind))
        message, errors = str(exc), []
        if isinstance(exc, ValidationError):
            errors = [
                f"{'.'.join(str(p) for p in e['loc']) or 'formuläret'}: {e['msg']}"
                for e in exc.errors()
            ]
            message = "the form is not complete: " + "; ".join(errors)
        headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else {}
        if not wants_html(request):
            return JSONResponse({"detail": message}, status_code=code, headers=headers)
        visitor: Visitor | None = None
        if code != status.HTTP_401_UNAUTHORIZED:
            with contextlib.suppress(SignedOut):
                visitor = visitor_of(request, self.platform.tokens)
        template = "sign_in.html" if code == status.HTTP_401_UNAUTHORIZED else "error.html"
        response = self.render(
            request,
            template,
            visitor,
            code=code,
            title=TITLES.get(code, "Fel"),
            lead=LEADS.get(code, ""),
            message=message,
            errors=errors,
        )
        response.headers.update(headers)
        return response

    def visitor(self, request: Request, page: Page | None = None) -> Visitor:
        """The signed-in caller, refused (403) a page its role may not open."""
        visitor = visitor_of(request, self.platform.tokens)
        if page is not None:
            require_page(visitor.principal, page)
        return visitor

    async def form(self, request: Request, visitor: Visitor) -> dict[str, str]:
        form = await form_fields(request)
        check_form(request, visitor, self.key, form.get(CSRF_FIELD))
        return form


def idempotency_key(form: dict[str, str]) -> str | None:
    sent = form.get("idempotency_key", "").strip()
    if len(sent) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise DomainRuleViolation(
            f"idempotency_key has at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            field="idempotency_key",
            rule="idempotency_key_length",
        )
    return sent or None


def back_to(page: Page, done: str) -> RedirectResponse:
    # Post/Redirect/Get: reloading the page after an action does not send the form again.
    return RedirectResponse(f"{page.path}?done={done}", status_code=status.HTTP_303_SEE_OTHER)


def make_router(platform: Platform) -> APIRouter:
    """The ``/ops`` pages over the platform's use cases and read models."""
    ops = OpsWeb(platform)
    handled = tuple(kind for kind, _ in REFUSALS)

    class OpsRoute(APIRoute):
        """Turns Fordra's errors into pages (or the API's JSON for a client that is no browser)."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except handled as exc:
                    return ops.refusal(request, exc)

            return guarded

    router = APIRouter(prefix="/ops", route_class=OpsRoute, include_in_schema=False)
    _session_pages(router, ops)
    _customer_pages(router, ops)
    _payment_pages(router, ops)
    _dunning_pages(router, ops)
    _queue_pages(router, ops)
    _figure_pages(router, ops)
    return router


def _session_pages(router: APIRouter, ops: OpsWeb) -> None:
    @router.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> Response:
        return ops.render(request, "sign_in.html", None, title="Logga in", message=None, errors=[])

    @router.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        """The token from ``fordra token --role ...`` is verified as the API verifies it, then
        kept in the cookie; the page answers 401 for a missing or invalid one."""
        check_origin(request)
        token = (await form_fields(request)).get("token")
        if token is None or not token.strip():
            raise SignedOut("ange din token (fordra token --role ...)")
        verified(ops.platform.tokens, token.strip())
        response = RedirectResponse("/ops/", status_code=status.HTTP_303_SEE_OTHER)
        keep_token(response, request, token.strip())
        return response

    @router.post("/sign-out", response_class=HTMLResponse)
    async def sign_out(request: Request) -> Response:
        check_origin(request)
        response = ops.render(
            request, "sign_in.html", None, title="Logga in", message="Du är utloggad.", errors=[]
        )
        forget_token(response, request)
        return response

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        visitor = ops.visitor(request)
        counts = await _work_waiting(ops.platform, visitor.principal)
        return ops.render(
            request, "home.html", visitor, title="Översikt", counts=counts, waiting=WAITING
        )


def _customer_pages(router: APIRouter, ops: OpsWeb) -> None:
    platform = ops.platform

    @router.get("/customers", response_class=HTMLResponse)
    async def customers(request: Request, customer_id: str | None = None) -> Response:
        """Looked up by customer id (the API reads a customer by id only; a name search waits
        for the API's own, issue 18)."""
        visitor = ops.visitor(request, CUSTOMERS)
        wanted = (customer_id or "").strip()
        if not wanted:
            return ops.render(request, "customers.html", visitor, title=CUSTOMERS.title)
        if len(wanted) > 100 or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in wanted):
            raise DomainRuleViolation(
                "customer_id is at most 100 characters, without control characters",
                field="customer_id",
                rule="path_id",
            )
        return RedirectResponse(
            f"{CUSTOMERS.path}/{quote(wanted, safe='')}", status_code=status.HTTP_303_SEE_OTHER
        )

    @router.get("/customers/{customer_id}", response_class=HTMLResponse)
    async def ledger_page(request: Request, customer_id: PathId) -> Response:
        visitor = ops.visitor(request, CUSTOMERS)
        principal = visitor.principal
        customer = await read_customer(
            customer_id, platform.invoicing, principal, metadata_for(principal)
        )
        if request.query_params.get("as_of", "").strip():
            as_of = _date_param(request, "as_of", platform.clock.today())
            then = await _ledger_as_the_api_reads_it(platform, principal, customer_id, as_of)
            assert isinstance(then, CustomerLedgerAsOf)
            return ops.render(
                request,
                "ledger_as_of.html",
                visitor,
                title="Kundreskontra per dag",
                customer=customer,
                ledger=then,
            )
        ledger = await _ledger_as_the_api_reads_it(platform, principal, customer_id)
        assert isinstance(ledger, CustomerLedger)
        # The dunning stage for the roles that may read an invoice's collection (the API's
        # GET /invoices/{id}/collection); the others see no such column.
        stages: dict[str, Collection] = {}
        if principal.role in DUNNING_READERS:
            for invoice in ledger.invoices:
                with contextlib.suppress(NotFound):  # dunning has not seen it yet: no stage
                    stages[invoice.invoice_id] = await collection_of(
                        invoice.invoice_id, platform.dunning, principal
                    )
        chart = bar_chart(
            "Öppet belopp per faktura",
            [Bar(f"Faktura {i.invoice_number}", i.open_ore) for i in ledger.invoices],
        )
        return ops.render(
            request,
            "ledger.html",
            visitor,
            title="Kundreskontra",
            customer=customer,
            ledger=ledger,
            stages=stages,
            show_stage=principal.role in DUNNING_READERS,
            chart=chart,
        )


def _payment_pages(router: APIRouter, ops: OpsWeb) -> None:
    platform = ops.platform

    @router.get("/unmatched", response_class=HTMLResponse)
    async def unmatched(request: Request) -> Response:
        visitor = ops.visitor(request, UNMATCHED)
        queue = await _unmatched_queue(platform)
        return ops.render(request, "unmatched.html", visitor, title=UNMATCHED.title, queue=queue)

    @router.post("/unmatched/{payment_id}/match", response_class=HTMLResponse)
    async def match_payment(request: Request, payment_id: PathId) -> Response:
        visitor = ops.visitor(request, UNMATCHED)
        form = await ops.form(request, visitor)
        body = ResolvePayment(
            action="match", invoice_id=form.get("invoice_id"), reason=form.get("reason", "")
        )
        principal = visitor.principal
        await resolve_payment(
            payment_id,
            body,
            platform.payments,
            principal,
            metadata_for(principal),
            idempotency_key=idempotency_key(form),
        )
        await platform.settle()
        return back_to(UNMATCHED, "matched")


def _dunning_pages(router: APIRouter, ops: OpsWeb) -> None:
    platform = ops.platform

    @router.get("/dunning/proposals", response_class=HTMLResponse)
    async def proposals(request: Request) -> Response:
        visitor = ops.visitor(request, PROPOSALS)
        principal = visitor.principal
        pending = await proposals_with("pending", platform.dunning, principal)
        stale = await proposals_with("stale", platform.dunning, principal)
        return ops.render(
            request,
            "proposals.html",
            visitor,
            title=PROPOSALS.title,
            pending=pending.items,
            stale=stale.items,
        )

    @router.post("/dunning/proposals/{proposal_id}/approve", response_class=HTMLResponse)
    async def approve(request: Request, proposal_id: PathId) -> Response:
        visitor = ops.visitor(request, PROPOSALS)
        form = await ops.form(request, visitor)
        principal = visitor.principal
        await approve_proposal(
            proposal_id,
            platform.dunning,
            principal,
            metadata_for(principal),
            idempotency_key=idempotency_key(form),
        )
        await platform.settle()
        return back_to(PROPOSALS, "approved")

    @router.post("/dunning/proposals/{proposal_id}/reject", response_class=HTMLResponse)
    async def reject(request: Request, proposal_id: PathId) -> Response:
        visitor = ops.visitor(request, PROPOSALS)
        form = await ops.form(request, visitor)
        body = RejectProposal(reason=form.get("reason", ""))
        principal = visitor.principal
        await reject_proposal(
            proposal_id,
            body,
            platform.dunning,
            principal,
            metadata_for(principal),
            idempotency_key=idempotency_key(form),
        )
        await platform.settle()
        return back_to(PROPOSALS, "rejected")

    @router.get("/disputes", response_class=HTMLResponse)
    async def disputes(request: Request) -> Response:
        visitor = ops.visitor(request, DISPUTES)
        claims = await disputed_claims(platform.dunning, visitor.principal)
        return ops.render(
            request, "disputes.html", visitor, title=DISPUTES.title, items=claims.items
        )

    @router.get("/payment-plans", response_class=HTMLResponse)
    async def plans(request: Request) -> Response:
        visitor = ops.visitor(request, PLANS)
        found = await list_payment_plans(platform.plans, visitor.principal, None)
        return ops.render(request, "plans.html", visitor, title=PLANS.title, items=found.items)


def _queue_pages(router: APIRouter, ops: OpsWeb) -> None:
    platform = ops.platform

    @router.get("/agency/tasks", response_class=HTMLResponse)
    async def agency_tasks(request: Request) -> Response:
        visitor = ops.visitor(request, AGENCY_TASKS)
        tasks = await list_tasks(platform.agency, platform.agency_cases, visitor.principal)
        return ops.render(
            request, "agency_tasks.html", visitor, title=AGENCY_TASKS.title, items=tasks.items
        )

    @router.get("/social-services", response_class=HTMLResponse)
    async def social_services(request: Request) -> Response:
        visitor = ops.visitor(request, SOCIAL_SERVICES)
        found = await notifications(
            platform.utility_disconnect, platform.social_services_queue, visitor.principal
        )
        return ops.render(
            request,
            "social_services.html",
            visitor,
            title=SOCIAL_SERVICES.title,
            items=found.items,
        )

    @router.post("/social-services/{notification_id}/acknowledge", response_class=HTMLResponse)
    async def acknowledge_notification(request: Request, notification_id: PathId) -> Response:
        """The board has read the message (again: the first day stands, nothing appended)."""
        visitor = ops.visitor(request, SOCIAL_SERVICES)
        await ops.form(request, visitor)
        principal = visitor.principal
        await acknowledge(
            notification_id,
            platform.utility_disconnect,
            platform.social_services_queue,
            principal,
            metadata_for(principal),
        )
        await platform.settle()
        return back_to(SOCIAL_SERVICES, "acknowledged")


def _figure_pages(router: APIRouter, ops: OpsWeb) -> None:
    platform = ops.platform

    @router.get("/sla", response_class=HTMLResponse)
    async def sla(request: Request, week: str | None = None) -> Response:
        """``GET /api/v1/sla/dashboard?week=`` as a page; the business date's week by default."""
        visitor = ops.visitor(request, SLA)
        today = platform.clock.today()
        if week is None:
            year, number, _ = today.isocalendar()
            week = f"{year}-W{number:02d}"
        monday, _sunday = iso_week(week)  # a 422 naming ``week`` for one that is none
        board = await sla_dashboard(platform.cases, visitor.principal, week)

        def week_of(day: date) -> str:
            year, number, _ = day.isocalendar()
            return f"{year}-W{number:02d}"

        chart = bar_chart(
            "Försenade ärenden per ärendetyp",
            [Bar(case_kind(k.kind), k.overdue) for k in board.kinds],
            written=str,
        )
        return ops.render(
            request,
            "sla.html",
            visitor,
            title=SLA.title,
            board=board,
            chart=chart,
            previous=week_of(monday - timedelta(days=7)),
            following=week_of(monday + timedelta(days=7))
            if monday + timedelta(7) <= today
            else None,
        )

    @router.get("/cases", response_class=HTMLResponse)
    async def cases(request: Request) -> Response:
        """The open cases of the register (``GET /api/v1/cases?status=open``), by due date: the
        deferral and plan requests, refunds to attest, objections and the rest of seed 002's
        table. The office marks one done here; a department only reads its own."""
        visitor = ops.visitor(request, CASES)
        found = await read_cases(platform.cases, visitor.principal, status="open")
        return ops.render(
            request,
            "cases.html",
            visitor,
            title=CASES.title,
            items=found.items,
            may_close=visitor.principal.role in CASE_WORKERS,
        )

    @router.post("/cases/{case_id}/done", response_class=HTMLResponse)
    async def case_done(request: Request, case_id: PathId) -> Response:
        visitor = ops.visitor(request, CASES)
        require_role(visitor.principal, *CASE_WORKERS, action="mark a case done")
        form = await ops.form(request, visitor)
        principal = visitor.principal
        await close_case(
            case_id,
            platform.cases,
            principal,
            metadata_for(principal),
            idempotency_key=idempotency_key(form),
        )
        await platform.settle()
        return back_to(CASES, "closed")

    @router.get("/kpis", response_class=HTMLResponse)
    async def kpis(request: Request) -> Response:
        """``GET /api/v1/kpis?from&to`` as a page; the business year so far by default."""
        visitor = ops.visitor(request, KPIS)
        today = platform.clock.today()
        start = _date_param(request, "from", date(today.year, 1, 1))
        end = _date_param(request, "to", today)
        figures = await read_kpis(
            platform.read_models, platform.kpis, visitor.principal, start, end
        )
        aged = figures.aged_receivables
        chart = bar_chart(
            "Obetalda fordringar efter dagar efter förfallodag",
            [
                Bar("Ej förfallet", aged.not_yet_due_ore),
                Bar("0–30 dagar", aged.days_0_30_ore),
                Bar("31–60 dagar", aged.days_31_60_ore),
                Bar("61–90 dagar", aged.days_61_90_ore),
                Bar("91 dagar eller mer", aged.days_91_plus_ore),
            ],
        )
        return ops.render(request, "kpis.html", visitor, title=KPIS.title, k=figures, chart=chart)


def _date_param(request: Request, name: str, default: date) -> date:
    """A date of the query (``from``, ``to``), a 422 naming it when it is not one."""
    given = request.query_params.get(name, "").strip()
    if not given:
        return default
    try:
        return CALENDAR_DATE.validate_python(given)
    except ValidationError:
        raise DomainRuleViolation(
            f"{name} is not a date of the calendar (YYYY-MM-DD): {given[:20]!r}",
            field=name,
            rule="date",
        ) from None


async def _unmatched_queue(platform: Platform) -> UnmatchedQueue:
    """The queue as ``GET /api/v1/payments/unmatched`` reads it (the role is the caller's to
    check: the page's row in ``NAV``, the API route's ``QUEUE_READERS``)."""
    async with platform.read_models.engine.connect() as conn:
        return await read_unmatched(
            conn,
            platform.unmatched,
            ledger_invoices=platform.ledger.invoices,
            ledger_payments=platform.ledger.payments,
            calendar=platform.calendar,
            today=platform.clock.today(),
        )


async def _work_waiting(platform: Platform, principal: Principal) -> dict[str, int]:
    """How many items wait in each queue the caller may open: the length of the list the API
    answers for it (pending proposals, plans awaiting their signature, unread messages)."""
    counts: dict[str, int] = {}
    role = principal.role
    if role in CASES.roles:
        counts[CASES.path] = len((await read_cases(platform.cases, principal, status="open")).items)
    if role in UNMATCHED.roles:
        counts[UNMATCHED.path] = len((await _unmatched_queue(platform)).items)
    if role in PROPOSALS.roles:
        pending = await proposals_with("pending", platform.dunning, principal)
        counts[PROPOSALS.path] = len(pending.items)
    if role in DISPUTES.roles:
        counts[DISPUTES.path] = len((await disputed_claims(platform.dunning, principal)).items)
    if role in PLANS.roles:
        waiting = await list_payment_plans(platform.plans, principal, "awaiting_signature")
        counts[PLANS.path] = len(waiting.items)
    if role in AGENCY_TASKS.roles:
        tasks = await list_tasks(platform.agency, platform.agency_cases, principal)
        counts[AGENCY_TASKS.path] = len(tasks.items)
    if role in SOCIAL_SERVICES.roles:
        found = await notifications(
            platform.utility_disconnect, platform.social_services_queue, principal
        )
        counts[SOCIAL_SERVICES.path] = len([n for n in found.items if n.acknowledged_on is None])
    return counts


async def _ledger_as_the_api_reads_it(
    platform: Platform, principal: Principal, customer_id: str, as_of: date | None = None
) -> CustomerLedger | CustomerLedgerAsOf:
    """The ledger as ``GET /api/v1/customers/{id}/ledger[?as_of=]`` answers it (projections.
    entrypoints.http.get_ledger): a department sees only its own invoices, a customer it neither
    registered nor invoiced is not found, and no day after the business date is read."""
    require_role(principal, *LEDGER_READERS)
    department = principal.department if principal.role is Role.DEPARTMENT else None
    today = platform.clock.today()
    if as_of is not None and as_of > today:
        raise DomainRuleViolation(
            f"as_of {as_of} is after the business date {today}: the ledger tells what stood, "
            "not what will",
            field="as_of",
            rule="as_of_not_in_the_future",
        )
    async with platform.read_models.engine.connect() as conn:
        found: CustomerLedger | CustomerLedgerAsOf | None
        if as_of is None:
            found = await read_customer_ledger(
                conn, platform.ledger, customer_id, today, department=department
            )
        else:
            found = await read_customer_ledger_as_of(
                conn, platform.ledger, customer_id, as_of, department=department
            )
        if (
            found is not None
            and department is not None
            and not await department_has_invoiced(conn, platform.ledger, customer_id, department)
            and await registered_by_department(platform.invoicing, customer_id) != department
        ):
            found = None
    if found is None:
        raise NotFound("customer", customer_id)
    return found
