"""The agency's cases (issue 15, "Inbound"; domain.md §5): how a case begins, how a use case loads
it, and the read model the ops web lists cases and tasks from.

A case begins when dunning hands a claim over (its public ``HandedToAgency``): the gateway copies
the handover into the case's own stream (``CaseHandedOver``), so that the webhooks decide on the
gateway's log alone. The public ``AgencyCaseChanged`` of ``queued`` and ``delivered`` are the
outbound half's (application/outbound.py), written with the claim's message; a case is
``queued`` here from its ``CaseHandedOver``.

The read model follows only the gateway's log, where each case's events come in their stream's
order after its ``CaseHandedOver``: the cases (``GET /api/v1/agency/cases?status=``) and their
tasks (``GET /api/v1/agency/tasks``). A task closes when the step it waits for comes: the court
decision after an objection when the judgment comes (or the case ends); the reinstatement window
after a judgment when its deadline has passed (it is read against the business date) or the case
ends. An overdue court decision stays listed, marked ``overdue``: it is work still to do. A case
whose claim dunning wrote down shows the day (``written_down_on``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.domain.case import (
    ENDED,
    CaseHandedOver,
    CaseState,
    CaseWrittenDown,
    InvoiceCaseBegun,
    MunicipalityShareRecorded,
    TaskKind,
    case_of,
    case_stream,
    invoice_cases_stream,
)
from fordra.agency_gateway.domain.outbound import OutboundRefused, OutboundRetried
from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyCaseStatus
from fordra.contracts.dunning import HandedToAgency
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction
from fordra.kernel.projection import Projection, upsert, upsert_many

# Who reads the cases and tasks: the ops web's users.
CASE_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


async def load_case(
    store: EventStore, registry: EventRegistry, case_id: str
) -> tuple[CaseState | None, int]:
    """The case as its stream stands, and the stream's version (for the append's check)."""
    envelopes = await store.read_stream(case_stream(case_id))
    events = [registry.load(e) for e in envelopes if registry.knows(e.event_type)]
    return case_of(events), len(envelopes)


def handover_reactions(registry: EventRegistry, default_agency: str) -> dict[str, Reaction]:
    """Dunning's ``HandedToAgency`` begins a case at the default agency (its handover id is the
    case id); a handover seen again changes nothing."""

    async def on_handed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        handed = registry.load_as(env, HandedToAgency)
        stream = case_stream(handed.handover_id)
        if await store.stream_version(stream):
            return []
        begun = CaseHandedOver(
            case_id=handed.handover_id,
            invoice_id=handed.invoice_id,
            customer_id=handed.customer_id,
            agency=default_agency,
            handed_over_on=handed.handed_on,
            capital_ore=handed.capital_ore,
            interest_ore=handed.interest_ore,
            fee_ore=handed.fee_ore,
        )
        envelopes = registry.envelopes(
            [begun],
            context=CONTEXT,
            stream_id=stream,
            after_version=0,
            metadata=env.caused_metadata(),
            occurred_at=env.occurred_at,
        )
        # The invoice's cases, for dunning's write-down and write-off, which name the invoice
        # (application/write_offs.py).
        index = invoice_cases_stream(handed.invoice_id)
        index_version = await store.stream_version(index)
        noted = registry.envelopes(
            [InvoiceCaseBegun(invoice_id=handed.invoice_id, case_id=handed.handover_id)],
            context=CONTEXT,
            stream_id=index,
            after_version=index_version,
            metadata=env.caused_metadata(),
            occurred_at=env.occurred_at,
        )
        return [StreamAppend(stream, 0, envelopes), StreamAppend(index, index_version, noted)]

    return {HandedToAgency.event_type: on_handed}


class AgencyCasesProjection(Projection):
    """Cases and tasks, from the gateway's log (module docstring)."""

    name: ClassVar[str] = "agency_cases"
    upstreams: ClassVar[tuple[str, ...]] = (CONTEXT,)

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.cases = Table(
            "agency_cases",
            metadata,
            Column("case_id", String(100), primary_key=True),
            Column("invoice_id", String(64), nullable=False, index=True),
            Column("customer_id", String(64), nullable=False),
            Column("agency", String(64), nullable=False),
            Column("status", String(30), nullable=False, index=True),
            Column("handed_over_on", Date, nullable=False),
            Column("capital_ore", BigInteger, nullable=False),
            Column("interest_ore", BigInteger, nullable=False),
            Column("fee_ore", BigInteger, nullable=False),
            Column("costs_ore", BigInteger, nullable=False),
            Column("municipality_cost_ore", BigInteger, nullable=False),
            # What the agency collected on the claim, and what of it it remits to us.
            Column("collected_ore", BigInteger, nullable=False),
            Column("municipality_share_ore", BigInteger, nullable=False),
            Column("deadline", Date),
            Column("changed_on", Date, nullable=False),
        )
        # The day dunning wrote the claim down (domain.md §4): under long-term surveillance. A
        # table of its own: the read models are made by ``create_all``, which adds a missing table
        # to an existing database but never a column to an existing table.
        self.write_downs = Table(
            "agency_case_write_downs",
            metadata,
            Column("case_id", String(100), primary_key=True),
            Column("written_down_on", Date, nullable=False),
        )
        self.tasks = Table(
            "agency_tasks",
            metadata,
            Column("task_id", String(100), primary_key=True),
            Column("case_id", String(100), nullable=False, index=True),
            Column("kind", String(30), nullable=False),
            Column("opened_on", Date, nullable=False),
            Column("deadline", Date, nullable=False),
            Column("closed_on", Date),
        )
        # Messages the agency refused, until a person has them retried (domain/outbound.py).
        self.refused = Table(
            "agency_outbound_refused",
            metadata,
            Column("message_id", String(100), primary_key=True),
            Column("case_id", String(100), nullable=False),
            Column("agency", String(64), nullable=False),
            Column("kind", String(30), nullable=False),
            Column("attempt", Integer, nullable=False),
            Column("error", String(500), nullable=False),
            Column("refused_at", DateTime(timezone=True), nullable=False),
        )
        return [self.cases, self.tasks, self.write_downs, self.refused]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """Cases begun are inserted with one statement for the batch; a change writes what is
        gathered first, then itself, so each case's steps keep their log order."""
        begun: list[dict[str, Any]] = []
        for env in events:
            if env.event_type == CaseHandedOver.event_type:
                h = self.registry.load_as(env, CaseHandedOver)
                begun.append(
                    _begun(h.case_id, h.invoice_id, h.customer_id, h.agency, h.handed_over_on)
                    | {
                        "capital_ore": h.capital_ore,
                        "interest_ore": h.interest_ore,
                        "fee_ore": h.fee_ore,
                    }
                )
            elif env.event_type == AgencyCaseChanged.event_type:
                await self._begin(conn, begun)
                begun.clear()
                await self._change(conn, env, self.registry.load_as(env, AgencyCaseChanged))
            elif env.event_type == MunicipalityShareRecorded.event_type:
                await self._begin(conn, begun)
                begun.clear()
                share = self.registry.load_as(env, MunicipalityShareRecorded)
                c = self.cases.c
                await conn.execute(
                    update(self.cases)
                    .where(c.case_id == share.case_id)
                    .values(
                        collected_ore=c.collected_ore + share.collected_ore,
                        municipality_share_ore=c.municipality_share_ore
                        + share.municipality_share_ore,
                    )
                )
            elif env.event_type == CaseWrittenDown.event_type:
                await self._begin(conn, begun)
                begun.clear()
                down = self.registry.load_as(env, CaseWrittenDown)
                await upsert(
                    conn,
                    self.write_downs,
                    {"case_id": down.case_id},
                    set_={"written_down_on": down.written_down_on},
                )
            elif env.event_type == OutboundRefused.event_type:
                r = self.registry.load_as(env, OutboundRefused)
                await upsert(
                    conn,
                    self.refused,
                    {"message_id": r.message_id},
                    set_={
                        "case_id": r.case_id,
                        "agency": r.agency,
                        "kind": r.kind,
                        "attempt": r.attempt,
                        "error": r.error,
                        "refused_at": r.refused_at,
                    },
                )
            elif env.event_type == OutboundRetried.event_type:
                retried = self.registry.load_as(env, OutboundRetried)
                await conn.execute(
                    delete(self.refused).where(self.refused.c.message_id == retried.message_id)
                )
            elif self.registry.knows(env.event_type):
                # Read as one at a time would, so that a payload that does not load fails here.
                self.registry.load(env)
        await self._begin(conn, begun)

    async def _begin(self, conn: AsyncConnection, begun: list[dict[str, Any]]) -> None:
        """Cases begun, in one statement; a row our delivery's news began already keeps its
        status and gets the case's amounts and handover date."""
        await upsert_many(
            conn,
            self.cases,
            ["case_id"],
            begun,
            set_=["invoice_id", "customer_id", "agency", "handed_over_on", "capital_ore",
                  "interest_ore", "fee_ore"],
        )  # fmt: skip

    async def _change(self, conn: AsyncConnection, env: Envelope, e: AgencyCaseChanged) -> None:
        c, t = self.cases, self.tasks
        this = c.c.case_id == e.case_id
        values: dict[str, Any] = {
            "status": e.status,
            "deadline": e.deadline,
            "changed_on": e.occurred_on,
            "costs_ore": c.c.costs_ore + e.costs_ore,
            "municipality_cost_ore": c.c.municipality_cost_ore + e.municipality_cost_ore,
        }
        if e.status in ("queued", "delivered"):
            # Our delivery's news may be recorded after the agency already reported the case
            # opened (the two are written apart): it never moves a case back.
            this = and_(this, c.c.status.in_(("queued", "delivered")))
            # Or before the case itself (another process manager appends it): the row is begun
            # here, and the case's own event fills in its amounts without moving its status.
            insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            row = _begun(e.case_id, e.invoice_id, e.customer_id, e.agency, e.occurred_on)
            await conn.execute(insert(c).values(**row).on_conflict_do_nothing())
        await conn.execute(update(c).where(this).values(**values))
        open_tasks = and_(t.c.case_id == e.case_id, t.c.closed_on.is_(None))
        if e.status in ENDED:
            await conn.execute(update(t).where(open_tasks).values(closed_on=e.occurred_on))
        elif e.status == "objection" and e.deadline is not None:
            await self._open_task(conn, env, e, "court_decision", e.deadline)
        elif e.status == "judgment":
            court = and_(open_tasks, t.c.kind == "court_decision")
            await conn.execute(update(t).where(court).values(closed_on=e.occurred_on))
            if e.deadline is not None:
                await self._open_task(conn, env, e, "reinstatement_window", e.deadline)

    async def _open_task(
        self,
        conn: AsyncConnection,
        env: Envelope,
        e: AgencyCaseChanged,
        kind: TaskKind,
        deadline: date,
    ) -> None:
        await conn.execute(
            self.tasks.insert().values(
                task_id=env.event_id,
                case_id=e.case_id,
                kind=kind,
                opened_on=e.occurred_on,
                deadline=deadline,
                closed_on=None,
            )
        )


class AgencyCase(BaseModel):
    case_id: str
    invoice_id: str
    customer_id: str
    agency: str
    status: AgencyCaseStatus
    handed_over_on: date
    capital_ore: int
    interest_ore: int
    fee_ore: int
    # Kronofogden's outlays recorded on the case (domain.md §3).
    costs_ore: int
    municipality_cost_ore: int
    collected_ore: int
    municipality_share_ore: int
    deadline: date | None
    # When dunning wrote the claim down (the case is then under long-term surveillance).
    written_down_on: date | None


class AgencyCaseList(BaseModel):
    items: list[AgencyCase]


class AgencyTask(BaseModel):
    task_id: str
    case_id: str
    invoice_id: str
    kind: Literal["court_decision", "reinstatement_window"]
    opened_on: date
    deadline: date
    overdue: bool


class AgencyTaskList(BaseModel):
    items: list[AgencyTask]


async def list_cases(
    deps: AgencyDeps,
    projection: AgencyCasesProjection,
    principal: Principal,
    status: AgencyCaseStatus | None = None,
) -> AgencyCaseList:
    """The cases, oldest handover first; ``status`` filters."""
    require_role(principal, *CASE_READERS, action="read the agency cases")
    c, w = projection.cases, projection.write_downs
    query = (
        select(c, w.c.written_down_on)
        .select_from(c.outerjoin(w, w.c.case_id == c.c.case_id))
        .order_by(c.c.handed_over_on, c.c.case_id)
    )
    if status is not None:
        query = query.where(c.c.status == status)
    async with deps.read_models.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return AgencyCaseList(
        items=[
            AgencyCase(
                case_id=r.case_id,
                invoice_id=r.invoice_id,
                customer_id=r.customer_id,
                agency=r.agency,
                status=r.status,
                handed_over_on=r.handed_over_on,
                capital_ore=r.capital_ore,
                interest_ore=r.interest_ore,
                fee_ore=r.fee_ore,
                costs_ore=r.costs_ore,
                municipality_cost_ore=r.municipality_cost_ore,
                collected_ore=r.collected_ore,
                municipality_share_ore=r.municipality_share_ore,
                deadline=r.deadline,
                written_down_on=r.written_down_on,
            )
            for r in rows
        ]
    )


async def list_tasks(
    deps: AgencyDeps, projection: AgencyCasesProjection, principal: Principal
) -> AgencyTaskList:
    """The open tasks by deadline: every court decision not yet followed by a judgment, and
    every reinstatement window whose deadline is today or later (the business date)."""
    require_role(principal, *CASE_READERS, action="read the agency tasks")
    today = deps.clock.today()
    t, c = projection.tasks, projection.cases
    query = (
        select(t, c.c.invoice_id)
        .select_from(t.join(c, c.c.case_id == t.c.case_id))
        .where(
            t.c.closed_on.is_(None),
            or_(t.c.kind != "reinstatement_window", t.c.deadline >= today),
        )
        .order_by(t.c.deadline, t.c.task_id)
    )
    async with deps.read_models.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return AgencyTaskList(
        items=[
            AgencyTask(
                task_id=r.task_id,
                case_id=r.case_id,
                invoice_id=r.invoice_id,
                kind=r.kind,
                opened_on=r.opened_on,
                deadline=r.deadline,
                overdue=r.deadline < today,
            )
            for r in rows
        ]
    )


def _begun(
    case_id: str, invoice_id: str, customer_id: str, agency: str, on: date
) -> dict[str, Any]:
    """A case's row as it begins: queued, nothing collected, no cost."""
    return {
        "case_id": case_id,
        "invoice_id": invoice_id,
        "customer_id": customer_id,
        "agency": agency,
        "status": "queued",
        "handed_over_on": on,
        "capital_ore": 0,
        "interest_ore": 0,
        "fee_ore": 0,
        "costs_ore": 0,
        "municipality_cost_ore": 0,
        "collected_ore": 0,
        "municipality_share_ore": 0,
        "deadline": None,
        "changed_on": on,
    }
