"""The register of recurring charges (read model): every charge as its events leave it, and each of
its periods issued or held. The billing run reads it in two set-based queries (the charges still
to bill, and their periods), never a stream per charge (issue 14: "the run is set-based").

Built from invoicing's own log. A run's notices (thousands of ``RecurringNoticeIssued``) are
written with one statement per table per batch; the rest one at a time in log order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.invoicing.domain.recurring_charge import (
    RECURRING_EVENTS,
    BilledPeriod,
    RecurringCharge,
    RecurringChargeAmountChanged,
    RecurringChargeCreated,
    RecurringChargeEnded,
    RecurringNoticeHeld,
    RecurringNoticeIssued,
    RecurringNoticesFailed,
    RecurringPeriodCredited,
    next_notice_on,
    replay_charge,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.projection import Projection, ReadModelDatabase, upsert_many

# How many charges one statement names (SQLite binds at most 32,766 parameters).
_CHUNK = 500
_EVENT_TYPES: dict[str, type[Event]] = {kind.event_type: kind for kind in RECURRING_EVENTS}


def charge_from_stored(stored: list[dict[str, Any]]) -> RecurringCharge | None:
    """A charge from the register's copy of its events."""
    return replay_charge(_EVENT_TYPES[item["type"]].model_validate(item["data"]) for item in stored)


@dataclass(frozen=True, slots=True)
class ChargeToBill:
    charge_id: str
    events: list[dict[str, Any]]
    billed_through: date | None


_ISSUED_COLUMNS = [
    "period_end",
    "customer_id",
    "service_type",
    "status",
    "amount_ore",
    "total_ore",
    "invoice_id",
    "issued_on",
]
_PERIOD_COLUMNS = {"held": [*_ISSUED_COLUMNS, "held_on", "reason"], "issued": _ISSUED_COLUMNS}
_PERIOD_EVENTS = frozenset({RecurringNoticeIssued.event_type, RecurringNoticeHeld.event_type})


class ChargeRegisterProjection(Projection):
    name: ClassVar[str] = "recurring_charges"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing",)

    def __init__(self, registry: EventRegistry, calendar: WorkingDayCalendar) -> None:
        self.registry = registry
        self.calendar = calendar

    def declare(self, metadata: MetaData) -> list[Table]:
        self.charges = Table(
            "recurring_charges",
            metadata,
            Column("charge_id", String(64), primary_key=True),
            Column("customer_id", String(64), nullable=False, index=True),
            Column("department", String(64), nullable=False),
            Column("service_type", String(40), nullable=False),
            Column("ends_on", Date),
            # The end of the last period issued or held: a charge billed through its end is
            # not read by the run again.
            Column("billed_through", Date),
            # The day the next notice is due (domain.recurring_charge.next_notice_on): the run
            # reads only the charges whose day has come. None: billed through its end.
            Column("next_notice_on", Date, index=True),
            # The charge's events in order (JSON): the run replays them, as the use cases do.
            Column("events", Text, nullable=False),
        )
        self.periods = Table(
            "recurring_periods",
            metadata,
            Column("charge_id", String(64), primary_key=True),
            Column("period_start", Date, primary_key=True),
            Column("period_end", Date, nullable=False),
            Column("customer_id", String(64), nullable=False),
            Column("service_type", String(40), nullable=False),
            Column("status", String(10), nullable=False),  # issued | held
            Column("amount_ore", BigInteger, nullable=False),  # the period's own, as billed
            Column("total_ore", BigInteger, nullable=False),  # the notice's, VAT included
            Column("invoice_id", String(64)),
            Column("held_on", Date, index=True),
            Column("issued_on", Date, index=True),
            Column("reason", String(200)),
        )
        self.failures = Table(
            "recurring_failures",
            metadata,
            Column("day", Date, primary_key=True),
            Column("charge_id", String(64), primary_key=True),
            Column("period_start", Date, primary_key=True),
            Column("customer_id", String(64), nullable=False),
            Column("reason", String(500), nullable=False),
        )
        return [self.charges, self.periods, self.failures]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        """A run's notices are gathered and written with one statement per table; a charge's own
        events (rare) one at a time, after what was gathered, so the log's order holds."""
        periods: dict[tuple[str, date], dict[str, Any]] = {}
        adjusted: dict[tuple[str, date], int] = {}
        through: dict[str, date] = {}

        async def flush() -> None:
            # A hold sets every column; an issue keeps what the hold before it said (when, why).
            for status, columns in _PERIOD_COLUMNS.items():
                await upsert_many(
                    conn,
                    self.periods,
                    ["charge_id", "period_start"],
                    [row for row in periods.values() if row["status"] == status],
                    set_=columns,
                )
            if adjusted:
                t = self.periods
                await conn.execute(
                    t.update()
                    .where(
                        t.c.charge_id == bindparam("b_charge"),
                        t.c.period_start == bindparam("b_start"),
                    )
                    .values(amount_ore=t.c.amount_ore + bindparam("b_amount")),
                    [
                        {"b_charge": charge_id, "b_start": start, "b_amount": amount}
                        for (charge_id, start), amount in adjusted.items()
                    ],
                )
            await self._advance(conn, through)
            periods.clear()
            adjusted.clear()
            through.clear()

        for env in events:
            kind = env.event_type
            if kind in _PERIOD_EVENTS:
                event = self.registry.load(env)
                assert isinstance(event, RecurringNoticeIssued | RecurringNoticeHeld)
                key = (event.charge_id, event.period_start)
                periods[key] = _period_row(event, periods.get(key))
                if isinstance(event, RecurringNoticeIssued) and event.released:
                    continue  # its differences were counted when it was held
                for line in event.adjustments:
                    adjusted_key = (event.charge_id, line.period_start)
                    adjusted[adjusted_key] = adjusted.get(adjusted_key, 0) + line.amount_ore
                through[event.charge_id] = max(
                    event.period_end, through.get(event.charge_id, event.period_end)
                )
            elif kind == RecurringNoticesFailed.event_type:
                failed = self.registry.load_as(env, RecurringNoticesFailed)
                await flush()
                await upsert_many(
                    conn,
                    self.failures,
                    ["day", "charge_id", "period_start"],
                    [
                        {
                            "day": failed.day,
                            "charge_id": f.charge_id,
                            "period_start": f.period_start,
                            "customer_id": f.customer_id,
                            "reason": f.reason[:500],
                        }
                        for f in {
                            (f.charge_id, f.period_start): f for f in failed.failures
                        }.values()
                    ],
                    set_=["customer_id", "reason"],
                )
            elif kind == RecurringPeriodCredited.event_type:
                credited = self.registry.load_as(env, RecurringPeriodCredited)
                adjusted_key = (credited.charge_id, credited.period_start)
                adjusted[adjusted_key] = adjusted.get(adjusted_key, 0) - credited.amount_ore
            elif kind in (
                RecurringChargeCreated.event_type,
                RecurringChargeAmountChanged.event_type,
                RecurringChargeEnded.event_type,
            ):
                await flush()
                await self._apply_charge_event(conn, env)
        await flush()

    async def _advance(self, conn: AsyncConnection, through: dict[str, date]) -> None:
        """Each charge's ``billed_through`` (never back) and its next notice's day, for the
        charges a batch billed: one read and one write per 500 charges."""
        t = self.charges
        ids = list(through)
        for first in range(0, len(ids), _CHUNK):
            chunk = ids[first : first + _CHUNK]
            rows = await conn.execute(
                select(t.c.charge_id, t.c.events, t.c.billed_through).where(
                    t.c.charge_id.in_(chunk)
                )
            )
            changes = []
            for row in rows:
                end = through[row.charge_id]
                if row.billed_through is not None and row.billed_through >= end:
                    end = row.billed_through
                changes.append(
                    {
                        "b_charge": row.charge_id,
                        "b_through": end,
                        "b_next": self._next_notice(json.loads(row.events), end),
                    }
                )
            if changes:
                await conn.execute(
                    t.update()
                    .where(t.c.charge_id == bindparam("b_charge"))
                    .values(
                        billed_through=bindparam("b_through"), next_notice_on=bindparam("b_next")
                    ),
                    changes,
                )

    def _next_notice(
        self, stored: list[dict[str, Any]], billed_through: date | None
    ) -> date | None:
        charge = charge_from_stored(stored)
        return None if charge is None else next_notice_on(charge, billed_through, self.calendar)

    async def _apply_charge_event(self, conn: AsyncConnection, env: Envelope) -> None:
        event = self.registry.load(env)
        stored = {"type": env.event_type, "data": event.model_dump(mode="json")}
        t = self.charges
        if isinstance(event, RecurringChargeCreated):
            await upsert_many(
                conn,
                t,
                ["charge_id"],
                [
                    {
                        "charge_id": event.charge_id,
                        "customer_id": event.customer_id,
                        "department": event.department,
                        "service_type": event.service_type,
                        "ends_on": event.ends_on,
                        "billed_through": None,
                        "events": json.dumps([stored]),
                        "next_notice_on": self._next_notice([stored], None),
                    }
                ],
                set_=["ends_on", "events", "next_notice_on"],
            )
            return
        assert isinstance(event, RecurringChargeAmountChanged | RecurringChargeEnded)
        row = (
            await conn.execute(
                select(t.c.events, t.c.billed_through).where(t.c.charge_id == event.charge_id)
            )
        ).first()
        if row is None:
            return
        events = [*json.loads(row.events), stored]
        values: dict[str, Any] = {
            "events": json.dumps(events),
            # An end may leave nothing more to bill; a price change moves no day.
            "next_notice_on": self._next_notice(events, row.billed_through),
        }
        if isinstance(event, RecurringChargeEnded):
            values["ends_on"] = event.ends_on
        await conn.execute(t.update().where(t.c.charge_id == event.charge_id).values(**values))


def _period_row(
    event: RecurringNoticeIssued | RecurringNoticeHeld, before: dict[str, Any] | None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "charge_id": event.charge_id,
        "period_start": event.period_start,
        "period_end": event.period_end,
        "customer_id": event.customer_id,
        "service_type": event.service_type,
        "amount_ore": event.amount_ore,
        "total_ore": event.total_ore,
    }
    if isinstance(event, RecurringNoticeHeld):
        return row | {
            "status": "held",
            "invoice_id": None,
            "held_on": event.held_on,
            "issued_on": None,
            "reason": event.reason[:200],
        }
    # Released after a hold: in the same batch the hold's columns are kept here; in a later one
    # the upsert leaves them as stored (_PERIOD_COLUMNS).
    held = before or {}
    return row | {
        "status": "issued",
        "invoice_id": event.invoice_id,
        "held_on": held.get("held_on"),
        "issued_on": event.issued_on,
        "reason": held.get("reason"),
    }


class ChargeRegister:
    """What the use cases ask the register."""

    def __init__(self, projection: ChargeRegisterProjection, db: ReadModelDatabase) -> None:
        self.projection = projection
        self.db = db

    async def charges_to_bill(self, day: date) -> list[ChargeToBill]:
        """Every charge whose next notice is due on or before ``day``."""
        t = self.projection.charges
        query = select(t.c.charge_id, t.c.events, t.c.billed_through).where(
            t.c.next_notice_on <= day
        )
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ChargeToBill(row.charge_id, json.loads(row.events), row.billed_through) for row in rows
        ]

    async def billed(
        self, charge_ids: Sequence[str] | None = None, *, since: date | None = None
    ) -> dict[str, dict[date, BilledPeriod]]:
        """The periods issued or held, per charge (of ``charge_ids``, or all; ending on or after
        ``since``, or all)."""
        t = self.projection.periods
        query = select(
            t.c.charge_id,
            t.c.period_start,
            t.c.period_end,
            t.c.status,
            t.c.amount_ore,
            t.c.invoice_id,
        )
        if since is not None:
            query = query.where(t.c.period_end >= since)
        ids = None if charge_ids is None else list(charge_ids)
        queries = (
            [query]
            if ids is None
            else [
                query.where(t.c.charge_id.in_(ids[first : first + _CHUNK]))
                for first in range(0, len(ids), _CHUNK)
            ]
        )
        billed: dict[str, dict[date, BilledPeriod]] = {}
        async with self.db.engine.connect() as conn:
            rows = [row for q in queries for row in await conn.execute(q)]
            for row in rows:
                billed.setdefault(row.charge_id, {})[row.period_start] = BilledPeriod(
                    period=BillingPeriod(start=row.period_start, end=row.period_end),
                    status=row.status,
                    amount_ore=row.amount_ore,
                    invoice_id=row.invoice_id,
                )
        return billed

    async def charges_of(self, customer_id: str) -> list[tuple[str, list[dict[str, Any]]]]:
        t = self.projection.charges
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.charge_id, t.c.events)
                    .where(t.c.customer_id == customer_id)
                    .order_by(t.c.charge_id)
                )
            ).all()
        return [(row.charge_id, json.loads(row.events)) for row in rows]

    async def held_periods(self, charge_id: str, day: date) -> list[date]:
        """The periods of ``charge_id`` that the run of ``day`` held (released or not)."""
        t = self.projection.periods
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(t.c.period_start)
                .where(t.c.charge_id == charge_id, t.c.held_on == day)
                .order_by(t.c.period_start)
            )
            return [row.period_start for row in rows]

    async def run_of(self, day: date) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """The run of ``day``: how many notices it issued, those it held still held, and those
        it could not issue and that are not issued since."""
        t = self.projection.periods
        async with self.db.engine.connect() as conn:
            issued = (
                await conn.execute(
                    select(t.c.charge_id).where(
                        and_(t.c.issued_on == day, or_(t.c.held_on.is_(None), t.c.held_on == day))
                    )
                )
            ).all()
            held = (
                await conn.execute(
                    select(t)
                    .where(t.c.held_on == day, t.c.status == "held")
                    .order_by(t.c.customer_id, t.c.charge_id, t.c.period_start)
                )
            ).all()
            f = self.projection.failures
            failed = (
                await conn.execute(
                    select(f.c.charge_id, f.c.customer_id, f.c.period_start, f.c.reason)
                    .outerjoin(
                        t,
                        and_(t.c.charge_id == f.c.charge_id, t.c.period_start == f.c.period_start),
                    )
                    .where(f.c.day == day, t.c.charge_id.is_(None))
                    .order_by(f.c.customer_id, f.c.charge_id, f.c.period_start)
                )
            ).all()
        return (
            len(issued),
            [dict(row._mapping) for row in held],
            [dict(row._mapping) for row in failed],
        )
