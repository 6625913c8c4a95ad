"""Invoicing's HTTP routes: customers and invoices (issue: foundation, first vertical slice)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from fordra.invoicing.application.handlers import (
    CustomerRegisteredResponse,
    InvoiceIssuedResponse,
    InvoicingDeps,
    issue_invoice,
    register_customer,
)
from fordra.invoicing.domain.commands import IssueInvoice, RegisterCustomer
from fordra.kernel.auth import Principal
from fordra.kernel.web import RouterDeps, metadata_for

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The same key with the same body answers the first result and appends nothing",
    ),
]


def make_router(deps: InvoicingDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["invoicing"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerRegisteredResponse
    )
    async def post_customer(
        body: RegisterCustomer, principal: Caller, response: Response, key: IdempotencyKey = None
    ) -> CustomerRegisteredResponse:
        outcome = await register_customer(body, deps, principal, metadata_for(principal), key)
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    @router.post(
        "/invoices", status_code=status.HTTP_201_CREATED, response_model=InvoiceIssuedResponse
    )
    async def post_invoice(
        body: IssueInvoice, principal: Caller, response: Response, key: IdempotencyKey = None
    ) -> InvoiceIssuedResponse:
        outcome = await issue_invoice(body, deps, principal, metadata_for(principal), key)
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    return router
