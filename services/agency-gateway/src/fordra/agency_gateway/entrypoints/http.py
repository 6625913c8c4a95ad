"""The agency gateway's HTTP routes, inbound (issue 15): the agencies' webhooks, the cases and
their tasks, and the recall.

The webhook route authenticates by the agency's signature of the body, not by a bearer token (an
agency holds a shared secret, not a Fordra token): it takes no ``Caller`` and answers 401 itself
for a signature that is missing or wrong. Every other route takes the caller's token as the rest
of the API does.
"""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from fordra.agency_gateway.application.cases import (
    AgencyCaseList,
    AgencyCasesProjection,
    AgencyTaskList,
    list_cases,
    list_tasks,
)
from fordra.agency_gateway.application.deps import AgencyDeps
from fordra.agency_gateway.application.recall import CaseRecalled, RecallCase, recall_case
from fordra.agency_gateway.application.refused import (
    MessageRetried,
    RefusedMessages,
    refused_messages,
    retry_message,
)
from fordra.agency_gateway.application.webhooks import (
    SignatureRefused,
    WebhookReceipt,
    receive_webhook,
)
from fordra.agency_gateway.domain.webhook import REPORT_KINDS, SIGNATURE_HEADER
from fordra.contracts.agency_gateway import AgencyCaseStatus
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, json_safe, metadata_for, problem

# A report is a few hundred bytes; a bound on what is read before the signature is checked.
MAX_WEBHOOK_BYTES = 64 * 1024

# An agency's name as the settings give it.
AgencyName = Annotated[str, Path(min_length=1, max_length=64, pattern="^[a-z0-9_-]+$")]


def _field_of(loc: tuple[str | int, ...]) -> list[str | int]:
    """A field's place in the body: pydantic puts the report's kind first (the union's tag),
    which is not a field of the body."""
    if len(loc) > 1 and loc[0] in REPORT_KINDS:
        return list(loc[1:])
    return list(loc)


def make_router(deps: AgencyDeps, cases: AgencyCasesProjection, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/agency", tags=["agency"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/webhooks/{agency}",
        response_model=WebhookReceipt,
        responses={
            401: {"description": "The signature is missing or not the agency's: nothing recorded"},
            404: {"description": "No such agency, or no such case at it"},
            409: {"description": "The event id was reported before with other content"},
            422: {"description": "A malformed report, or one the case's state does not allow"},
        },
        summary="An agency reports on a case (signed: X-Fordra-Signature: sha256=<hex HMAC>)",
    )
    async def post_webhook(
        agency: AgencyName,
        request: Request,
        signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)] = None,
    ) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse(
                {"detail": f"a report is at most {MAX_WEBHOOK_BYTES} bytes"},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        try:
            outcome = await receive_webhook(deps, agency, body, signature)
        except SignatureRefused as refused:
            return JSONResponse(
                {"detail": str(refused)},
                status_code=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "HMAC-SHA256"},
            )
        except ValidationError as invalid:
            detail = [
                problem(["body", *_field_of(e["loc"])], e["msg"], e["type"])
                for e in invalid.errors(include_url=False)
            ]
            return JSONResponse(
                {"detail": json_safe(detail)},
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            )
        await web.settle()
        return JSONResponse(outcome.response.model_dump(mode="json"))

    @router.get(
        "/cases",
        response_model=AgencyCaseList,
        summary="The cases at the agency, with status, deadline and Kronofogden's outlays",
    )
    async def get_cases(
        principal: Caller,
        status_filter: Annotated[AgencyCaseStatus | None, Query(alias="status")] = None,
    ) -> AgencyCaseList:
        return await list_cases(deps, cases, principal, status_filter)

    @router.get(
        "/tasks",
        response_model=AgencyTaskList,
        summary="Open tasks: the court decision after an objection, the reinstatement window",
    )
    async def get_tasks(principal: Caller) -> AgencyTaskList:
        return await list_tasks(deps, cases, principal)

    @router.post(
        "/cases/{case_id}/recall",
        response_model=CaseRecalled,
        responses={
            404: {"description": "No such case"},
            422: {"description": "The case is closed or recalled already"},
        },
        summary="Recall a case from the agency (after a payment order its outlays are ours)",
    )
    async def post_recall(
        case_id: PathId,
        body: RecallCase,
        principal: Caller,
        key: IdempotencyKey = None,
    ) -> CaseRecalled:
        outcome = await recall_case(
            case_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get(
        "/outbound/refused",
        response_model=RefusedMessages,
        summary="Messages the agency refused (a 4xx answer): set aside until retried",
    )
    async def get_refused(principal: Caller) -> RefusedMessages:
        return await refused_messages(deps, cases, principal)

    @router.post(
        "/outbound/{message_id}/retry",
        response_model=MessageRetried,
        responses={
            404: {"description": "No such message"},
            422: {"description": "The message was not refused"},
        },
        summary="Try a refused message again, once its cause is put right",
    )
    async def post_retry(message_id: PathId, principal: Caller) -> MessageRetried:
        outcome = await retry_message(message_id, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    return router
