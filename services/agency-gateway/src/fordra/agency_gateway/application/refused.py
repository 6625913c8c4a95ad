"""Messages the agency refused (domain/outbound.py): the list a case officer works, and the retry
once the cause is put right (the agency's address or secret in the settings, or the agency's own
fix). ``GET /api/v1/agency/outbound/refused`` and ``POST
/api/v1/agency/outbound/{message_id}/retry``: the message is tried at once, its back-off counted
afresh; a message not refused is a 422, an unknown one a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select

from fordra.agency_gateway.application.cases import CASE_READERS, AgencyCasesProjection
from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.domain.delivery import fold_pending
from fordra.agency_gateway.domain.outbound import OutboundKind, OutboundRetried, outbound_stream
from fordra.kernel.application import Decision, Outcome, execute
from fordra.kernel.auth import Principal, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.eventstore import StreamAppend


class RefusedMessage(BaseModel):
    message_id: str
    case_id: str
    agency: str
    kind: OutboundKind
    attempt: int
    error: str
    refused_at: datetime


class RefusedMessages(BaseModel):
    items: list[RefusedMessage]


class MessageRetried(BaseModel):
    message_id: str
    status: Literal["queued"]


async def refused_messages(
    deps: AgencyDeps, projection: AgencyCasesProjection, principal: Principal
) -> RefusedMessages:
    """The refused messages, the oldest refusal first."""
    require_role(principal, *CASE_READERS, action="read the messages the agency refused")
    t = projection.refused
    async with deps.read_models.engine.connect() as conn:
        rows = (await conn.execute(select(t).order_by(t.c.refused_at, t.c.message_id))).all()
    return RefusedMessages(items=[RefusedMessage.model_validate(r._mapping) for r in rows])


async def retry_message(
    message_id: str, deps: AgencyDeps, principal: Principal, meta: Metadata
) -> Outcome[MessageRetried]:
    """Have a refused message tried again (module docstring)."""
    require_role(principal, *CASE_READERS, action="retry a message the agency refused")

    async def decide() -> Decision[MessageRetried]:
        stream = outbound_stream(message_id)
        envelopes = await deps.store.read_stream(stream)
        if not envelopes:
            raise NotFound("agency message", message_id)
        state = fold_pending({}, [(deps.registry.load(e), e.version) for e in envelopes])
        pending = state.get(message_id)
        if pending is None or not pending.refused:
            raise DomainRuleViolation(
                f"message {message_id!r} was not refused by the agency: "
                + ("it is delivered" if pending is None else "it is waiting to be delivered"),
                rule="check_message_refused",
            )
        version = envelopes[-1].version
        retried = deps.registry.envelopes(
            [OutboundRetried(message_id=message_id, case_id=pending.queued.case_id)],
            context=CONTEXT,
            stream_id=stream,
            after_version=version,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        return Decision(
            [StreamAppend(stream, version, retried)],
            MessageRetried(message_id=message_id, status="queued"),
        )

    return await execute(deps.store, decide, MessageRetried)
