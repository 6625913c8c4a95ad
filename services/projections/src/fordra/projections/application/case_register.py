"""The case register: the office's cases with their service levels, their queues and the SLA
dashboard (domain.md §8, issue 17 "Cases and service levels").

Write side: ``open_case`` and ``close_case`` decide on the case's own stream in the register's
event store and append through the kernel's ``execute`` (idempotency keys as every POST takes
them). Cases other contexts raise enter the same register on their own: ``raised_case_reactions``
is a process manager following their public events, which opens a case for

- ``RefundRequested`` (a refund to attest: kind ``refund``), done at ``RefundAttested``;
- ``PaymentPlanProposed`` (``payment_plan``), done at ``PaymentPlanActivated`` or
  ``PaymentPlanCancelled``;
- ``CreditNoteRequested`` and ``CancellationRequested`` (``cancellation_credit``), done at
  ``CorrectionRequestAttested`` or ``CorrectionRequestRejected``;
- ``AgencyCaseChanged`` with status ``objection`` (a case from Kronofogden through the agency:
  ``kronofogden``), done at the agency case's next status.

No public event says that a deferral was asked for (only ``DeferralGranted``, the decision) or
that an e-invoice could not be sent, so those kinds are registered by hand for now.

Read side: ``CaseRegisterProjection`` keeps the cases (from the register's log) and each
invoice's department (from invoicing's, in one statement per batch), so that a department reads
its own invoices' cases only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import (
    PaymentPlanActivated,
    PaymentPlanCancelled,
    PaymentPlanProposed,
)
from fordra.contracts.invoicing import (
    CancellationRequested,
    CorrectionRequestAttested,
    CorrectionRequestRejected,
    CreditNoteRequested,
    InvoiceIssued,
)
from fordra.contracts.payments import RefundAttested, RefundRequested
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.dated import SINCE_ALWAYS, UNTIL_FURTHER
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.process import Reaction
from fordra.kernel.projection import Projection, ReadModelDatabase
from fordra.projections.domain.case_register import (
    ServiceCaseDone,
    ServiceCaseOpened,
    case_stream,
    raised_case_id,
)
from fordra.projections.domain.service_levels import (
    CaseKind,
    ServiceLevelSettings,
    day_one,
    due_by,
    handling_days,
    in_time,
    percentile,
    swedish_arrival,
)

# The register's event store (app.bootstrap): its log is what the read model follows.
CONTEXT = "cases"

# Who registers and closes cases: the office (issue 17); a department only reads its own.
CASE_WORKERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
CASE_READERS = (*CASE_WORKERS, Role.DEPARTMENT)

CaseStatus = Literal["open", "done"]


@dataclass(frozen=True, slots=True)
class CaseRegisterDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    calendar: WorkingDayCalendar
    settings: ServiceLevelSettings
    read_models: ReadModelDatabase
    projection: CaseRegisterProjection


# --- the write side -------------------------------------------------------------------------


def _within_the_settings_years(value: datetime) -> datetime:
    if not SINCE_ALWAYS.year < value.year <= UNTIL_FURTHER.year:
        raise ValueError(f"must be in the years {SINCE_ALWAYS.year + 1} to {UNTIL_FURTHER.year}")
    return value


class RegisterCase(BaseModel):
    """``POST /api/v1/cases``: a case that came to the office (issue 17)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CaseKind
    # When it came, with its offset: the 12:00 rule is read on the Swedish clock (domain.md §8).
    # Within the years the settings have values for, so that no offset carries it out of range.
    received_at: Annotated[AwareDatetime, AfterValidator(_within_the_settings_years)]
    invoice_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None
    autogiro: bool = False


class CaseRegistered(BaseModel):
    case_id: str
    kind: str
    due_by: date


class CaseClosed(BaseModel):
    case_id: str
    kind: str
    due_by: date
    done_on: date
    handling_days: int
    in_time: bool


def _load(events: Sequence[Event]) -> tuple[ServiceCaseOpened | None, ServiceCaseDone | None]:
    opened = next((e for e in events if isinstance(e, ServiceCaseOpened)), None)
    done = next((e for e in events if isinstance(e, ServiceCaseDone)), None)
    return opened, done


async def load_case(
    store: EventStore, registry: EventRegistry, case_id: str
) -> tuple[ServiceCaseOpened | None, ServiceCaseDone | None, int]:
    """The case as its stream stands, and the stream's version (for the append's check)."""
    envelopes = await store.read_stream(case_stream(case_id))
    opened, done = _load([registry.load(e) for e in envelopes if registry.knows(e.event_type)])
    return opened, done, len(envelopes)


def opened_event(
    case_id: str,
    kind: str,
    received_at: datetime,
    *,
    invoice_id: str | None,
    autogiro: bool,
    opened_by: str,
    raised_by: str | None,
    settings: ServiceLevelSettings,
    calendar: WorkingDayCalendar,
) -> ServiceCaseOpened:
    """A case opened with its day 1 and due date (domain.md §8)."""
    arrival = swedish_arrival(received_at)
    return ServiceCaseOpened(
        case_id=case_id,
        kind=kind,
        received_at=received_at,
        day_one=day_one(arrival, calendar, settings.cutoff.at(arrival.date())),
        due_by=due_by(kind, received_at, autogiro=autogiro, settings=settings, calendar=calendar),
        invoice_id=invoice_id,
        autogiro=autogiro,
        opened_by=opened_by,
        raised_by=raised_by,
    )


def done_event(
    opened: ServiceCaseOpened,
    done_at: datetime,
    *,
    done_by: str,
    closed_by_event: str | None,
    calendar: WorkingDayCalendar,
) -> ServiceCaseDone:
    """The case done at ``done_at``: its handling time and whether it was in time (domain.md
    §8)."""
    done_on = swedish_arrival(done_at).date()
    return ServiceCaseDone(
        case_id=opened.case_id,
        done_at=done_at,
        done_on=done_on,
        handling_days=handling_days(opened.day_one, done_on, calendar),
        in_time=in_time(done_on, opened.due_by),
        done_by=done_by,
        closed_by_event=closed_by_event,
    )


async def open_case(
    cmd: RegisterCase,
    deps: CaseRegisterDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CaseRegistered]:
    """Register a case by hand: its due date from its kind's service level (domain.md §8)."""
    require_role(principal, *CASE_WORKERS, action="register a case")
    arrived = swedish_arrival(cmd.received_at).date()
    if arrived > deps.clock.today():
        raise DomainRuleViolation(
            "a case cannot have arrived after today", field="received_at", rule="case_in_future"
        )

    async def decide() -> Decision[CaseRegistered]:
        if cmd.invoice_id is not None and not await _invoice_known(deps, cmd.invoice_id):
            raise DomainRuleViolation(
                f"no invoice {cmd.invoice_id!r}", field="invoice_id", rule="invoice_unknown"
            )
        case_id = new_id()
        opened = opened_event(
            case_id,
            cmd.kind,
            cmd.received_at,
            invoice_id=cmd.invoice_id,
            autogiro=cmd.autogiro,
            opened_by=principal.actor,
            raised_by=None,
            settings=deps.settings,
            calendar=deps.calendar,
        )
        return Decision(
            [_append(deps.registry, case_id, 0, opened, meta=meta, occurred_at=deps.clock.now())],
            CaseRegistered(case_id=case_id, kind=cmd.kind, due_by=opened.due_by),
        )

    return await execute(
        deps.store,
        decide,
        CaseRegistered,
        idempotency=idempotent(
            principal, idempotency_key, "RegisterCase", cmd.model_dump(mode="json")
        ),
    )


async def close_case(
    case_id: str,
    deps: CaseRegisterDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CaseClosed]:
    """Mark a case done now; a case already done is refused (422), a repeated request with its
    key answers the first answer."""
    require_role(principal, *CASE_WORKERS, action="close a case")

    async def decide() -> Decision[CaseClosed]:
        opened, done, version = await load_case(deps.store, deps.registry, case_id)
        if opened is None:
            raise NotFound("case", case_id)
        if done is not None:
            raise DomainRuleViolation(
                f"case {case_id} was done on {done.done_on}", field="case_id", rule="case_done"
            )
        now = deps.clock.now()
        finished = done_event(
            opened, now, done_by=principal.actor, closed_by_event=None, calendar=deps.calendar
        )
        return Decision(
            [_append(deps.registry, case_id, version, finished, meta=meta, occurred_at=now)],
            CaseClosed(
                case_id=case_id,
                kind=opened.kind,
                due_by=opened.due_by,
                done_on=finished.done_on,
                handling_days=finished.handling_days,
                in_time=finished.in_time,
            ),
        )

    return await execute(
        deps.store,
        decide,
        CaseClosed,
        idempotency=idempotent(principal, idempotency_key, "CloseCase", case_id),
    )


def _append(
    registry: EventRegistry,
    case_id: str,
    version: int,
    event: Event,
    *,
    meta: Metadata,
    occurred_at: datetime,
) -> StreamAppend:
    stream = case_stream(case_id)
    envelope = registry.envelope(
        event,
        context=CONTEXT,
        stream_id=stream,
        version=version + 1,
        metadata=meta,
        occurred_at=occurred_at,
    )
    return StreamAppend(stream, version, [envelope])


async def _invoice_known(deps: CaseRegisterDeps, invoice_id: str) -> bool:
    t = deps.projection.invoices
    async with deps.read_models.engine.connect() as conn:
        found = await conn.scalar(select(t.c.invoice_id).where(t.c.invoice_id == invoice_id))
    return found is not None


# --- cases other contexts raise -------------------------------------------------------------


def raised_case_reactions(
    registry: EventRegistry, settings: ServiceLevelSettings, calendar: WorkingDayCalendar
) -> dict[str, Reaction]:
    """Open a case for each public event that asks the office for a decision, and mark it done
    at the event of that decision (module docstring). A raising event seen again, or a decision
    for a case the register never opened (it was raised before the register existed) or already
    done by hand, changes nothing."""

    def opener(
        kind: str, source: type[Event], source_id: str, invoice: str | None = None
    ) -> Reaction:
        async def react(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
            event = registry.load_as(env, source)
            case_id = raised_case_id(kind, getattr(event, source_id))
            if await store.stream_version(case_stream(case_id)):
                return []
            opened = opened_event(
                case_id,
                kind,
                env.occurred_at,
                invoice_id=_invoice_of(event, invoice),
                autogiro=False,
                opened_by=env.metadata.actor,
                raised_by=env.event_type,
                settings=settings,
                calendar=calendar,
            )
            return [
                _append(
                    registry,
                    case_id,
                    0,
                    opened,
                    meta=env.caused_metadata(),
                    occurred_at=env.occurred_at,
                )
            ]

        return react

    def closer(kind: str, source: type[Event], source_id: str) -> Reaction:
        async def react(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
            event = registry.load_as(env, source)
            case_id = raised_case_id(kind, getattr(event, source_id))
            opened, done, version = await load_case(store, registry, case_id)
            if opened is None or done is not None:
                return []
            finished = done_event(
                opened,
                env.occurred_at,
                done_by=env.metadata.actor,
                closed_by_event=env.event_type,
                calendar=calendar,
            )
            return [
                _append(
                    registry,
                    case_id,
                    version,
                    finished,
                    meta=env.caused_metadata(),
                    occurred_at=env.occurred_at,
                )
            ]

        return react

    open_objection = opener("kronofogden", AgencyCaseChanged, "case_id", "invoice_id")
    close_objection = closer("kronofogden", AgencyCaseChanged, "case_id")

    async def on_agency_case(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        # An objection opens the task; the case's next step (a judgment, a recall, ...) ends it.
        changed = registry.load_as(env, AgencyCaseChanged)
        if changed.status == "objection":
            return await open_objection(env, store)
        return await close_objection(env, store)

    return {
        RefundRequested.event_type: opener("refund", RefundRequested, "refund_id"),
        RefundAttested.event_type: closer("refund", RefundAttested, "refund_id"),
        PaymentPlanProposed.event_type: opener(
            "payment_plan", PaymentPlanProposed, "plan_id", "invoice_ids"
        ),
        PaymentPlanActivated.event_type: closer("payment_plan", PaymentPlanActivated, "plan_id"),
        PaymentPlanCancelled.event_type: closer("payment_plan", PaymentPlanCancelled, "plan_id"),
        CreditNoteRequested.event_type: opener(
            "cancellation_credit", CreditNoteRequested, "request_id", "invoice_id"
        ),
        CancellationRequested.event_type: opener(
            "cancellation_credit", CancellationRequested, "request_id", "invoice_id"
        ),
        CorrectionRequestAttested.event_type: closer(
            "cancellation_credit", CorrectionRequestAttested, "request_id"
        ),
        CorrectionRequestRejected.event_type: closer(
            "cancellation_credit", CorrectionRequestRejected, "request_id"
        ),
        AgencyCaseChanged.event_type: on_agency_case,
    }


def _invoice_of(event: Event, field: str | None) -> str | None:
    """The invoice a raised case is about: the field named, or a plan's first invoice."""
    if field is None:
        return None
    value = getattr(event, field)
    if isinstance(value, tuple):
        return str(value[0]) if value else None
    return str(value)


# --- the read model -------------------------------------------------------------------------


_FOLLOWED = frozenset(m.event_type for m in (InvoiceIssued, ServiceCaseOpened, ServiceCaseDone))


class CaseRegisterProjection(Projection):
    """The cases and their service levels, and each invoice's department (issue 17)."""

    name: ClassVar[str] = "case_register"
    upstreams: ClassVar[tuple[str, ...]] = (CONTEXT, "invoicing")

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.cases = Table(
            "sla_cases",
            metadata,
            Column("case_id", String(100), primary_key=True),
            Column("kind", String(40), nullable=False, index=True),
            Column("status", String(10), nullable=False, index=True),
            Column("received_at", DateTime(timezone=True), nullable=False),
            Column("received_on", Date, nullable=False),  # on the Swedish clock
            Column("day_one", Date, nullable=False),
            Column("due_by", Date, nullable=False, index=True),
            Column("invoice_id", String(64), index=True),
            Column("autogiro", Boolean, nullable=False),
            Column("raised_by", String(64)),
            Column("done_on", Date, index=True),
            Column("handling_days", Integer),
            Column("in_time", Boolean),
        )
        self.invoices = Table(
            "sla_case_invoices",
            metadata,
            Column("invoice_id", String(64), primary_key=True),
            Column("department", String(64), nullable=False),
        )
        return [self.cases, self.invoices]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """Invoices in one statement per batch (a billing run issues thousands); the cases, which
        come by the dozen, one statement each, in log order."""
        invoices = []
        for env in events:
            # Of invoicing's log only the invoices: the rest is not even loaded.
            if env.event_type not in _FOLLOWED or not self.registry.knows(env.event_type):
                continue
            e = self.registry.load(env)
            if isinstance(e, InvoiceIssued):
                invoices.append({"invoice_id": e.invoice_id, "department": e.department})
            elif isinstance(e, ServiceCaseOpened):
                await conn.execute(
                    self.cases.insert().values(
                        case_id=e.case_id,
                        kind=e.kind,
                        status="open",
                        # In UTC: SQLite keeps no offset, and the queue orders by it.
                        received_at=e.received_at.astimezone(UTC),
                        received_on=swedish_arrival(e.received_at).date(),
                        day_one=e.day_one,
                        due_by=e.due_by,
                        invoice_id=e.invoice_id,
                        autogiro=e.autogiro,
                        raised_by=e.raised_by,
                    )
                )
            elif isinstance(e, ServiceCaseDone):
                await conn.execute(
                    update(self.cases)
                    .where(self.cases.c.case_id == e.case_id)
                    .values(
                        status="done",
                        done_on=e.done_on,
                        handling_days=e.handling_days,
                        in_time=e.in_time,
                    )
                )
        if invoices:
            await conn.execute(self.invoices.insert(), invoices)


class CaseItem(BaseModel):
    case_id: str
    kind: str
    status: CaseStatus
    received_at: datetime
    day_one: date
    due_by: date
    invoice_id: str | None
    department: str | None
    autogiro: bool
    raised_by: str | None
    done_on: date | None
    handling_days: int | None
    in_time: bool | None
    overdue: bool


class CaseQueue(BaseModel):
    items: list[CaseItem]


def _in_utc(stored: datetime) -> datetime:
    """A time as the read model gives it back: aware from PostgreSQL, naive (and UTC, as it was
    written) from SQLite."""
    return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


def _department_of(principal: Principal) -> str | None:
    return principal.department if principal.role is Role.DEPARTMENT else None


async def read_cases(
    deps: CaseRegisterDeps,
    principal: Principal,
    *,
    kind: str | None = None,
    status: CaseStatus | None = None,
) -> CaseQueue:
    """The queue: cases by due date then arrival; a department sees its own invoices' cases."""
    require_role(principal, *CASE_READERS, action="read the case register")
    c, i = deps.projection.cases, deps.projection.invoices
    query = select(c, i.c.department).select_from(c.outerjoin(i, i.c.invoice_id == c.c.invoice_id))
    if kind is not None:
        query = query.where(c.c.kind == kind)
    if status is not None:
        query = query.where(c.c.status == status)
    department = _department_of(principal)
    if department is not None:
        query = query.where(i.c.department == department)
    today = deps.clock.today()
    async with deps.read_models.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(c.c.due_by, c.c.received_at, c.c.case_id))).all()
    return CaseQueue(
        items=[
            CaseItem(
                case_id=r.case_id,
                kind=r.kind,
                status=r.status,
                received_at=_in_utc(r.received_at),
                day_one=r.day_one,
                due_by=r.due_by,
                invoice_id=r.invoice_id,
                department=r.department,
                autogiro=r.autogiro,
                raised_by=r.raised_by,
                done_on=r.done_on,
                handling_days=r.handling_days,
                in_time=r.in_time,
                overdue=r.status == "open" and r.due_by < today,
            )
            for r in rows
        ]
    )


# --- the SLA dashboard ----------------------------------------------------------------------


class KindFigures(BaseModel):
    kind: str
    open: int
    due_today: int
    overdue: int
    handled: int
    handled_in_time: int
    handled_in_time_percent: float | None
    p50_handling_days: int | None
    p95_handling_days: int | None


class SlaDashboard(BaseModel):
    week: str
    week_start: date
    week_end: date
    as_of: date
    kinds: list[KindFigures]


def iso_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of ``YYYY-Www`` (ISO 8601); a 422 naming ``week`` otherwise."""
    try:
        year, number = week.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise DomainRuleViolation(
            f"week {week!r} is not an ISO week YYYY-Www", field="week", rule="iso_week"
        ) from exc
    return monday, monday + timedelta(days=6)


async def sla_dashboard(deps: CaseRegisterDeps, principal: Principal, week: str) -> SlaDashboard:
    """Per kind, for the ISO week ``week`` (issue 17): as of the week's last day (today, for the
    week under way) the cases open, due that day and overdue; of the cases done in the week how
    many were in time, and the median and 95th percentile of their handling time in working
    days. Every kind of the settings has a row, with zeros when it had no case.

    The counts are one grouped SELECT; the percentiles come from a second, which reads the
    handling times of the week's done cases (nearest rank, ``percentile``)."""
    require_role(principal, *CASE_READERS, action="read the SLA dashboard")
    monday, sunday = iso_week(week)
    as_of = min(sunday, deps.clock.today())
    c, i = deps.projection.cases, deps.projection.invoices
    source = c.outerjoin(i, i.c.invoice_id == c.c.invoice_id)
    department = _department_of(principal)
    scope = [i.c.department == department] if department is not None else []
    open_then = and_(c.c.received_on <= as_of, or_(c.c.done_on.is_(None), c.c.done_on > as_of))
    done_in_week = and_(c.c.done_on >= monday, c.c.done_on <= as_of)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    counts = (
        select(
            c.c.kind,
            count(open_then).label("open"),
            count(open_then, c.c.due_by == as_of).label("due_today"),
            count(open_then, c.c.due_by < as_of).label("overdue"),
            count(done_in_week).label("handled"),
            count(done_in_week, c.c.in_time.is_(True)).label("in_time"),
        )
        .select_from(source)
        .where(*scope)
        .group_by(c.c.kind)
    )
    times = select(c.c.kind, c.c.handling_days).select_from(source).where(done_in_week, *scope)
    async with deps.read_models.engine.connect() as conn:
        by_kind = {r.kind: r for r in (await conn.execute(counts)).all()}
        handled: dict[str, list[int]] = {}
        for r in (await conn.execute(times)).all():
            handled.setdefault(r.kind, []).append(int(r.handling_days))
    kinds = []
    for kind in sorted(set(deps.settings.levels) | set(by_kind)):
        row = by_kind.get(kind)
        n_done = int(row.handled) if row else 0
        n_in_time = int(row.in_time) if row else 0
        values = handled.get(kind, [])
        kinds.append(
            KindFigures(
                kind=kind,
                open=int(row.open) if row else 0,
                due_today=int(row.due_today) if row else 0,
                overdue=int(row.overdue) if row else 0,
                handled=n_done,
                handled_in_time=n_in_time,
                handled_in_time_percent=round(100 * n_in_time / n_done, 1) if n_done else None,
                p50_handling_days=percentile(values, 50),
                p95_handling_days=percentile(values, 95),
            )
        )
    return SlaDashboard(week=week, week_start=monday, week_end=sunday, as_of=as_of, kinds=kinds)
