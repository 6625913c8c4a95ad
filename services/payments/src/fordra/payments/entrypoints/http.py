"""Payments' HTTP routes: bank files in (issue: payments)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from fordra.kernel.auth import Principal
from fordra.kernel.web import (
    READ_MODELS_LAGGING,
    IdempotencyKey,
    PathId,
    RouterDeps,
    metadata_for,
)
from fordra.payments.application.booking import PaymentsDeps
from fordra.payments.application.import_file import ImportResult, import_payment_file
from fordra.payments.application.work_queue import (
    PaymentResolution,
    RefundCredit,
    RefundState,
    ResolvePayment,
    attest_refund,
    refund_customer_credit,
    resolve_payment,
)

# A bound on what we read before parsing (a setting of the app; XML parsers get their own).
MAX_FILE_BYTES = 64 * 1024 * 1024


def make_router(deps: PaymentsDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["payments"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/payment-files",
        status_code=status.HTTP_201_CREATED,
        response_model=ImportResult,
        responses={
            200: {"model": ImportResult, "description": "The same file again: nothing booked"},
            422: {"description": "Refused whole: {errors: [{line|element, message}]}"},
        },
        summary="Import a camt.054, BgMax or Autogiro file (the raw file as the body)",
    )
    async def post_payment_file(request: Request, principal: Caller) -> JSONResponse:
        data = await request.body()
        if len(data) > MAX_FILE_BYTES:
            return JSONResponse(
                {"errors": [{"line": None, "message": f"file over {MAX_FILE_BYTES} bytes"}]},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        outcome = await import_payment_file(data, deps, principal, metadata_for(principal))
        # The answer is the import's own count; it does not wait long for the ledger to show it.
        lagging = {} if await web.settled_briefly() else {READ_MODELS_LAGGING: "true"}
        code = status.HTTP_200_OK if outcome.response.duplicate else status.HTTP_201_CREATED
        return JSONResponse(
            outcome.response.model_dump(mode="json"), status_code=code, headers=lagging
        )

    @router.post(
        "/payments/{payment_id}/resolution",
        response_model=PaymentResolution,
        summary="An unmatched payment: match it, keep it as credit, or refund it (after attest)",
    )
    async def post_resolution(
        payment_id: PathId,
        body: ResolvePayment,
        principal: Caller,
        key: IdempotencyKey = None,
    ) -> PaymentResolution:
        outcome = await resolve_payment(
            payment_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/customers/{customer_id}/credit/refunds",
        status_code=status.HTTP_201_CREATED,
        response_model=RefundState,
        summary="Refund the customer's credit (only when nothing is unpaid; attest follows)",
    )
    async def post_credit_refund(
        customer_id: PathId,
        body: RefundCredit,
        principal: Caller,
        key: IdempotencyKey = None,
    ) -> RefundState:
        outcome = await refund_customer_credit(
            customer_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post("/refunds/{refund_id}/attest", response_model=RefundState)
    async def post_attest(refund_id: PathId, principal: Caller) -> RefundState:
        outcome = await attest_refund(refund_id, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    return router
