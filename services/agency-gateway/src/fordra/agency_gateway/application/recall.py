"""The municipality recalls a case from the agency (issue 15, "Inbound"; domain.md §5, seed 004):
``POST /api/v1/agency/cases/{case_id}/recall {"reason"}`` by a case officer, an ops lead or an
admin.

A closed or recalled case is refused (422). After a payment order the agency's outlays, which
nobody can now recover from the debtor, are booked as the municipality's cost
(``AgencyCaseChanged(status="recalled", municipality_cost_ore=...)``). In the same append a recall
message is queued for the agency (``OutboundQueued(kind="recall")`` on a stream of its own), which
the gateway's delivery takes to the agency like any other message.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from fordra.agency_gateway.application.cases import load_case
from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.domain.case import case_stream, decide_recall, recall_message
from fordra.agency_gateway.domain.outbound import outbound_stream
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id

RECALLERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


class RecallCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Why, for the agency and the record: blanks say nothing, so they are refused.
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CaseRecalled(BaseModel):
    case_id: str
    status: Literal["recalled"]
    recalled_on: date
    municipality_cost_ore: int
    message_id: str  # the recall message queued for the agency


async def recall_case(
    case_id: str,
    cmd: RecallCase,
    deps: AgencyDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CaseRecalled]:
    """Recall ``case_id`` (module docstring)."""
    require_role(principal, *RECALLERS, action="recall a case from the agency")

    async def decide() -> Decision[CaseRecalled]:
        state, version = await load_case(deps.store, deps.registry, case_id)
        if state is None:
            raise NotFound("agency case", case_id)
        today = deps.clock.today()
        recalled = decide_recall(state, today)
        message_id = new_id()
        queued = recall_message(state, message_id, today, cmd.reason)
        now = deps.clock.now()
        out = outbound_stream(message_id)
        appends = [
            StreamAppend(
                case_stream(case_id),
                version,
                [
                    deps.registry.envelope(
                        recalled,
                        context=CONTEXT,
                        stream_id=case_stream(case_id),
                        version=version + 1,
                        metadata=meta,
                        occurred_at=now,
                    )
                ],
            ),
            StreamAppend(
                out,
                0,
                [
                    deps.registry.envelope(
                        queued,
                        context=CONTEXT,
                        stream_id=out,
                        version=1,
                        metadata=meta,
                        occurred_at=now,
                    )
                ],
            ),
        ]
        return Decision(
            appends,
            CaseRecalled(
                case_id=case_id,
                status="recalled",
                recalled_on=today,
                municipality_cost_ore=recalled.municipality_cost_ore,
                message_id=message_id,
            ),
        )

    return await execute(
        deps.store,
        decide,
        CaseRecalled,
        idempotency=idempotent(
            principal, idempotency_key, "RecallCase", case_id, cmd.model_dump(mode="json")
        ),
    )
