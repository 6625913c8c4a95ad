"""The social welfare board's queue (domain/social_services.py) over the read model below:
``GET /api/v1/social-services/notifications``, ``POST .../{id}/acknowledge`` and ``POST
.../{id}/takeover {"written_on"}``, for the role ``social_services`` of the municipality the token
names, and for no other role (issue 17: "the social-services queue for that role only").

Each message shows the customer's name and the site address, looked up when read (the copy of the
register, the supply point; both sealed per customer): a protected identity shows neither
(domain.md §2), and the board asks the protected-identity officer. The deadline is the day the 3
weeks from service end (``ServiceRecorded.pay_by``), null until the notice is served. A message of
another municipality answers 404, as one that does not exist: a board does not learn of others'."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, Column, Date, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.kernel.application import Decision, Outcome, execute
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.dated import CalendarDate
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import Projection, insert_many
from fordra.utility_disconnect.application.customers import personal_data
from fordra.utility_disconnect.application.deps import CONTEXT, UtilityDisconnectDeps
from fordra.utility_disconnect.application.disconnection_cases import (
    CaseView,
    append_to,
    case_history,
    case_view,
    load_case,
)
from fordra.utility_disconnect.application.electricity_claims import read_customer
from fordra.utility_disconnect.application.supply_points import load_supply_point
from fordra.utility_disconnect.domain.procedure import (
    DisconnectionBlocked,
    ServiceRecorded,
    SocialServicesMessageQueued,
    case_of,
    case_stream,
    decide_block,
)
from fordra.utility_disconnect.domain.social_services import (
    NotificationAcknowledged,
    notification_stream,
    same_municipality,
)

BOARD = (Role.SOCIAL_SERVICES,)


class SocialServicesQueueProjection(Projection):
    """The messages to the boards, with their deadline, acknowledgement and takeover: a row per
    message, written set-based (the messages of a batch in one insert)."""

    name: ClassVar[str] = "social_services_queue"
    upstreams: ClassVar[tuple[str, ...]] = (CONTEXT,)

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def declare(self, metadata: MetaData) -> list[Table]:
        self.messages = Table(
            "social_services_notifications",
            metadata,
            Column("notification_id", String(64), primary_key=True),
            Column("case_id", String(64), nullable=False, index=True),
            Column("supply_point_id", String(64), nullable=False),
            Column("customer_id", String(64), nullable=False),
            # Folded (casefold), as the boards' tokens are compared.
            Column("municipality", String(200), nullable=False, index=True),
            Column("debt_ore", BigInteger, nullable=False),
            Column("noticed_on", Date, nullable=False),
            Column("deadline", Date),
            Column("acknowledged_on", Date),
            Column("taken_over_on", Date),
        )
        return [self.messages]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await self.apply_batch(conn, [event])

    async def apply_batch(self, conn: AsyncConnection, events: Sequence[Envelope]) -> None:
        queued: list[dict[str, Any]] = []
        t = self.messages
        for env in events:
            kind = env.event_type
            if kind == SocialServicesMessageQueued.event_type:
                m = self.registry.load_as(env, SocialServicesMessageQueued)
                queued.append(
                    {
                        "notification_id": m.notification_id,
                        "case_id": m.case_id,
                        "supply_point_id": m.supply_point_id,
                        "customer_id": m.customer_id,
                        "municipality": m.municipality.strip().casefold(),
                        "debt_ore": m.debt_ore,
                        "noticed_on": m.noticed_on,
                        "deadline": None,
                        "acknowledged_on": None,
                        "taken_over_on": None,
                    }
                )
                continue
            # What follows a message changes its row: the ones gathered are written first.
            if kind in _CHANGES:
                await insert_many(conn, t, queued)
                queued.clear()
            if kind == ServiceRecorded.event_type:
                s = self.registry.load_as(env, ServiceRecorded)
                await conn.execute(
                    update(t).where(t.c.case_id == s.case_id).values(deadline=s.pay_by)
                )
            elif kind == NotificationAcknowledged.event_type:
                a = self.registry.load_as(env, NotificationAcknowledged)
                await conn.execute(
                    update(t)
                    .where(t.c.notification_id == a.notification_id, t.c.acknowledged_on.is_(None))
                    .values(acknowledged_on=a.acknowledged_on)
                )
            elif kind == DisconnectionBlocked.event_type:
                b = self.registry.load_as(env, DisconnectionBlocked)
                if b.reason == "board_takeover":
                    await conn.execute(
                        update(t)
                        .where(t.c.case_id == b.case_id)
                        .values(taken_over_on=b.written_on or b.on)
                    )
        await insert_many(conn, t, queued)


_CHANGES = frozenset(
    {
        ServiceRecorded.event_type,
        NotificationAcknowledged.event_type,
        DisconnectionBlocked.event_type,
    }
)


class Notification(BaseModel):
    notification_id: str
    case_id: str
    customer_id: str
    name: str | None  # None for a protected identity, or once forgotten
    site_address: str | None
    protected_identity: bool
    debt_ore: int
    noticed_on: date
    deadline: date | None
    acknowledged_on: date | None
    taken_over_on: date | None


class Notifications(BaseModel):
    items: list[Notification]


class Takeover(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    written_on: CalendarDate


def _municipality(principal: Principal) -> str:
    require_role(principal, *BOARD, action="read the social welfare board's messages")
    assert principal.municipality is not None  # a social_services token always names it
    return principal.municipality.strip().casefold()


async def notifications(
    deps: UtilityDisconnectDeps, queue: SocialServicesQueueProjection, principal: Principal
) -> Notifications:
    """The board's messages, the newest first."""
    municipality = _municipality(principal)
    t = queue.messages
    async with deps.read_models.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t)
                .where(t.c.municipality == municipality)
                .order_by(t.c.noticed_on.desc(), t.c.notification_id)
            )
        ).all()
    return Notifications(items=[await _notification(deps, r) for r in rows])


async def _notification(deps: UtilityDisconnectDeps, row: Any) -> Notification:
    async with deps.read_models.engine.connect() as conn:
        customer = await read_customer(conn, deps.claims, row.customer_id)
    protected = customer is not None and customer.protected_identity
    name = site = None
    if not protected:
        personal = await personal_data(deps.store, deps.registry, row.customer_id)
        name = personal.name if personal is not None else None
        site = (await load_supply_point(deps, row.supply_point_id)).site_address
    return Notification(
        notification_id=row.notification_id,
        case_id=row.case_id,
        customer_id=row.customer_id,
        name=name,
        site_address=site,
        protected_identity=protected,
        debt_ore=row.debt_ore,
        noticed_on=row.noticed_on,
        deadline=row.deadline,
        acknowledged_on=row.acknowledged_on,
        taken_over_on=row.taken_over_on,
    )


async def _message(
    deps: UtilityDisconnectDeps,
    queue: SocialServicesQueueProjection,
    principal: Principal,
    notification_id: str,
) -> SocialServicesMessageQueued:
    """The message from its case's stream, if it is the board's own (else: not found)."""
    municipality = _municipality(principal)
    # The case is found through the queue; the message itself is read from the case's stream.
    async with deps.read_models.engine.connect() as conn:
        row = (
            await conn.execute(
                select(queue.messages.c.case_id).where(
                    queue.messages.c.notification_id == notification_id
                )
            )
        ).one_or_none()
    if row is not None:
        events = [
            deps.registry.load(e) for e in await deps.store.read_stream(case_stream(row.case_id))
        ]
        for e in events:
            if (
                isinstance(e, SocialServicesMessageQueued)
                and e.notification_id == notification_id
                and same_municipality(municipality, e.municipality)
            ):
                return e
    raise NotFound("notification", notification_id)


class Acknowledged(BaseModel):
    notification_id: str
    case_id: str
    acknowledged_on: date


async def acknowledge(
    notification_id: str,
    deps: UtilityDisconnectDeps,
    queue: SocialServicesQueueProjection,
    principal: Principal,
    meta: Metadata,
) -> Outcome[Acknowledged]:
    """The board has read the message; again: the first day stands, nothing appended."""
    message = await _message(deps, queue, principal, notification_id)

    async def decide() -> Decision[Acknowledged]:
        stream = notification_stream(notification_id)
        envelopes = await deps.store.read_stream(stream)
        for env in envelopes:
            first = deps.registry.load(env)
            if isinstance(first, NotificationAcknowledged):
                return Decision([], Acknowledged.model_validate(first.model_dump()))
        ack = NotificationAcknowledged(
            notification_id=notification_id,
            case_id=message.case_id,
            acknowledged_on=deps.clock.today(),
        )
        return Decision(
            [append_to(deps, meta, stream, 0, [ack])],
            Acknowledged.model_validate(ack.model_dump()),
        )

    return await execute(deps.store, decide, Acknowledged)


async def take_over(
    notification_id: str,
    cmd: Takeover,
    deps: UtilityDisconnectDeps,
    queue: SocialServicesQueueProjection,
    *,
    principal: Principal,
    meta: Metadata,
) -> Outcome[CaseView]:
    """The board takes over the debt in writing (ellagen 11:4): the disconnection is stopped,
    a block on the case with the date it was written (refused, naming the rule, outside the 3
    weeks)."""
    message = await _message(deps, queue, principal, notification_id)

    async def decide() -> Decision[CaseView]:
        case, version = await load_case(deps, message.case_id)
        block = decide_block(
            case,
            "board_takeover",
            deps.clock.today(),
            f"the social welfare board of {message.municipality} takes over the debt "
            f"(written {cmd.written_on})",
            written_on=cmd.written_on,
        )
        stream = case_stream(case.case_id)
        earlier = await case_history(deps, stream, version)
        after = case_of([*earlier, block])
        assert after is not None
        return Decision(
            [append_to(deps, meta, stream, version, [block], before=earlier)], case_view(after)
        )

    return await execute(deps.store, decide, CaseView)
