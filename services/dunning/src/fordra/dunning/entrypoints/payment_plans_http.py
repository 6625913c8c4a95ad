"""Payment plans' HTTP routes (issue 13, domain.md §4 "Installment plan")."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import HTMLResponse, Response

from fordra.dunning.adapters.letter_render import render_letter_html, render_letter_pdf
from fordra.dunning.application.letters import LetterDeps
from fordra.dunning.application.payment_plans import (
    PaymentPlanDeps,
    PlanList,
    PlanView,
    ProposePaymentPlan,
    get_payment_plan,
    list_payment_plans,
    payment_plan_document,
    payment_plan_letter,
    propose_payment_plan,
    sign_payment_plan,
)
from fordra.dunning.domain.payment_plan import PlanStatus
from fordra.dunning.domain.plan_document import PlanDocument
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for


def make_router(deps: PaymentPlanDeps, letters: LetterDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["payment plans"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/payment-plans",
        status_code=status.HTTP_201_CREATED,
        response_model=PlanView,
        responses={422: {"description": "A rule of the plan refused it, named with its field"}},
        summary="Draw up a payment plan for a customer's invoices (awaiting the signature)",
    )
    async def post_plan(
        body: ProposePaymentPlan, principal: Caller, key: IdempotencyKey = None
    ) -> PlanView:
        outcome = await propose_payment_plan(
            body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/payment-plans/{plan_id}/signed",
        response_model=PlanView,
        summary="The debtor signed and returned the plan: it becomes active (again: no change)",
    )
    async def post_signed(plan_id: PathId, principal: Caller) -> PlanView:
        outcome = await sign_payment_plan(plan_id, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.get("/payment-plans", response_model=PlanList, summary="Plans, by status")
    async def get_plans(
        principal: Caller, plan_status: Annotated[PlanStatus | None, Query(alias="status")] = None
    ) -> PlanList:
        return await list_payment_plans(deps, principal, plan_status)

    @router.get("/payment-plans/{plan_id}", response_model=PlanView)
    async def get_plan(plan_id: PathId, principal: Caller) -> PlanView:
        return await get_payment_plan(plan_id, deps, principal)

    @router.get(
        "/payment-plans/{plan_id}/document",
        response_model=PlanDocument,
        responses={
            200: {
                "content": {"text/html": {}, "application/pdf": {}},
                "description": "format=json: the content; html or pdf: the letter of the plan",
            }
        },
        summary="The written plan: its content (format=json) or its letter (html, pdf)",
    )
    async def get_document(
        plan_id: PathId,
        principal: Caller,
        document_format: Annotated[Literal["html", "pdf", "json"], Query(alias="format")] = "json",
    ) -> PlanDocument | Response:
        if document_format == "json":
            return await payment_plan_document(plan_id, deps, principal)
        # The letter the debtor gets, rendered as every dunning letter is (letters' renderer).
        doc = await payment_plan_letter(plan_id, deps, letters, principal, metadata_for(principal))
        if document_format == "pdf":
            safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", plan_id)
            return Response(
                render_letter_pdf(doc),
                media_type="application/pdf",
                headers={
                    "Content-Disposition": f'inline; filename="avbetalningsplan-{safe_id}.pdf"'
                },
            )
        return HTMLResponse(render_letter_html(doc))

    return router
