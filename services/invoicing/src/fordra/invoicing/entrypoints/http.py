"""Invoicing's HTTP routes: customers and invoices (issue: foundation, first vertical slice)."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from fordra.invoicing.adapters.peppol import render_peppol_ubl
from fordra.invoicing.adapters.render import render_invoice_html, render_invoice_pdf
from fordra.invoicing.application.batches import BatchResult, issue_invoice_batch
from fordra.invoicing.application.correction_requests import (
    CorrectionRequestResponse,
    attest_correction,
    reject_correction,
    request_correction,
)
from fordra.invoicing.application.customers import CustomerView, change_customer, read_customer
from fordra.invoicing.application.documents import invoice_and_customer
from fordra.invoicing.application.handlers import (
    CorrectionResponse,
    CustomerRegisteredResponse,
    InvoiceIssuedResponse,
    InvoicingDeps,
    SmallAmountResponse,
    correct_invoice,
    issue_invoice,
    register_customer,
)
from fordra.invoicing.domain.commands import (
    CancelInvoice,
    ChangeCustomerDetails,
    ChangeCustomerPreferences,
    DisputeInvoice,
    GrantDeferral,
    IssueCreditNote,
    IssueInvoice,
    MarkProtectedIdentity,
    PostponeDueDate,
    RecordPropertyOwnership,
    RegisterCustomer,
    RejectCorrection,
    ResolveDispute,
)
from fordra.kernel.auth import Principal
from fordra.kernel.web import (
    READ_MODELS_LAGGING,
    IdempotencyKey,
    PathId,
    RouterDeps,
    metadata_for,
)


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
        "/invoices",
        status_code=status.HTTP_201_CREATED,
        response_model=InvoiceIssuedResponse,
        responses={
            202: {
                "model": SmallAmountResponse,
                "description": "Under the minimum amount: held for the next invoice, or dropped",
            }
        },
    )
    async def post_invoice(
        body: IssueInvoice, principal: Caller, key: IdempotencyKey = None
    ) -> Any:
        outcome = await issue_invoice(body, deps, principal, metadata_for(principal), key)
        await web.settle()
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        result = outcome.response
        if result.invoice is None:
            assert result.small_amount is not None
            return JSONResponse(
                result.small_amount.model_dump(mode="json"),
                status_code=status.HTTP_202_ACCEPTED,
                headers=headers,
            )
        body_out = result.invoice.model_dump(mode="json")
        body_out["included_small_amounts"] = list(result.included_small_amounts)
        return JSONResponse(body_out, status_code=status.HTTP_201_CREATED, headers=headers)

    @router.get("/customers/{customer_id}", response_model=CustomerView)
    async def get_customer(customer_id: PathId, principal: Caller) -> CustomerView:
        """Name and address of a protected identity only to its officers, and audited."""
        return await read_customer(customer_id, deps, principal, metadata_for(principal))

    @router.post(
        "/invoice-batches",
        status_code=status.HTTP_201_CREATED,
        response_model=BatchResult,
        responses={422: {"description": "Rejected whole: {errors: [{line, field, message}]}"}},
        summary="A file of invoices: JSON Lines, CSV or PEPPOL BIS Billing 3.0 UBL",
        description="Booked once by its content: the same file again, from anyone and under any "
        "Idempotency-Key (not used here), answers the first result with Idempotent-Replayed. A "
        "line whose source_reference the department booked before is reported already_booked.",
    )
    async def post_invoice_batch(
        request: Request, principal: Caller, response: Response
    ) -> BatchResult:
        data = await request.body()
        outcome = await issue_invoice_batch(
            data,
            request.headers.get("content-type", ""),
            deps,
            principal,
            metadata_for(principal),
        )
        # The answer lists what was booked; it does not wait long for the ledger to show it.
        if not await web.settled_briefly():
            response.headers[READ_MODELS_LAGGING] = "true"
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    @router.get(
        "/invoices/{invoice_id}/document",
        response_class=Response,
        summary="The invoice as the customer gets it: format=html (default), pdf or peppol",
    )
    async def get_invoice_document(
        invoice_id: PathId, principal: Caller, format: Literal["html", "pdf", "peppol"] = "html"
    ) -> Response:
        issued, customer = await invoice_and_customer(
            invoice_id, deps, principal, metadata_for(principal)
        )
        issuer = deps.settings.issuer
        name = f"faktura-{issued.invoice_number}"
        if format == "pdf":
            return Response(
                render_invoice_pdf(issued, customer, issuer),
                media_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
            )
        if format == "peppol":
            return Response(
                render_peppol_ubl(issued, customer, issuer),
                media_type="application/xml",
                headers={"Content-Disposition": f'attachment; filename="{name}.xml"'},
            )
        return HTMLResponse(render_invoice_html(issued, customer, issuer))

    def customer_change(method: str, path: str, model: type[BaseModel], summary: str) -> None:
        async def change(
            customer_id: PathId, body: Any, principal: Caller, response: Response,
            key: IdempotencyKey = None,
        ) -> CustomerView:  # fmt: skip
            outcome = await change_customer(
                customer_id, body, deps, principal, metadata_for(principal), idempotency_key=key
            )
            await web.settle()
            if outcome.replayed:
                response.headers["Idempotent-Replayed"] = "true"
            return outcome.response

        change.__annotations__["body"] = model
        router.add_api_route(
            f"/customers/{{customer_id}}{path}",
            change,
            methods=[method],
            response_model=CustomerView,
            summary=summary,
            name=f"customer_{method.lower()}_{path.strip('/').replace('-', '_') or 'details'}",
        )

    customer_change("PATCH", "", ChangeCustomerDetails, "Change name or address")
    customer_change("PUT", "/preferences", ChangeCustomerPreferences, "E-invoice and autogiro")
    customer_change("POST", "/properties", RecordPropertyOwnership, "Record a property owned")
    customer_change(
        "PUT", "/protected-identity", MarkProtectedIdentity, "Set or lift a protected identity"
    )

    def correction(path: str, model: type[BaseModel], summary: str) -> None:
        async def post_correction(
            invoice_id: PathId, body: Any, principal: Caller, response: Response,
            key: IdempotencyKey = None,
        ) -> CorrectionResponse:  # fmt: skip
            outcome = await correct_invoice(
                invoice_id, body, deps, principal, metadata_for(principal), idempotency_key=key
            )
            await web.settle()
            if outcome.replayed:
                response.headers["Idempotent-Replayed"] = "true"
            return outcome.response

        post_correction.__annotations__["body"] = model
        router.add_api_route(
            f"/invoices/{{invoice_id}}/{path}",
            post_correction,
            methods=["POST"],
            response_model=CorrectionResponse,
            summary=summary,
            name=f"invoice_{path.replace('-', '_').replace('/', '_')}",
        )

    def correction_request(path: str, model: type[BaseModel], summary: str) -> None:
        async def post_request(
            invoice_id: PathId, body: Any, principal: Caller, key: IdempotencyKey = None
        ) -> JSONResponse:
            outcome = await request_correction(
                invoice_id, body, deps, principal, metadata_for(principal), idempotency_key=key
            )
            await web.settle()
            headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
            return JSONResponse(
                outcome.response.model_dump(mode="json"),
                status_code=status.HTTP_202_ACCEPTED,
                headers=headers,
            )

        post_request.__annotations__["body"] = model
        router.add_api_route(
            f"/invoices/{{invoice_id}}/{path}",
            post_request,
            methods=["POST"],
            status_code=status.HTTP_202_ACCEPTED,
            response_model=CorrectionRequestResponse,
            summary=summary,
            description="Asked for here; done once an ops lead or admin other than the asker "
            "attests it: POST /api/v1/correction-requests/{request_id}/attest (seed 002).",
            name=f"invoice_{path.replace('-', '_')}_request",
        )

    correction_request(
        "credit-notes", IssueCreditNote, "Ask for a credit note: all that is left, or the lines"
    )
    correction_request("cancellation", CancelInvoice, "Ask to cancel (makulera) an unpaid invoice")
    correction("postponement", PostponeDueDate, "Postpone the due date (uppskov)")
    correction("deferral", GrantDeferral, "Grant a deferral (anstånd), asked before the due date")
    correction("dispute", DisputeInvoice, "The customer disputes the invoice")
    correction("dispute-resolution", ResolveDispute, "Resolve a dispute")

    @router.post(
        "/correction-requests/{request_id}/attest",
        response_model=CorrectionResponse,
        summary="Attest a credit note or cancellation request (ops_lead or admin, not the asker)",
    )
    async def post_attest(
        request_id: PathId, principal: Caller, response: Response, key: IdempotencyKey = None
    ) -> CorrectionResponse:
        outcome = await attest_correction(
            request_id, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    @router.post(
        "/correction-requests/{request_id}/rejection",
        response_model=CorrectionRequestResponse,
        summary="Reject a credit note or cancellation request (ops_lead or admin)",
    )
    async def post_rejection(
        request_id: PathId,
        body: RejectCorrection,
        principal: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> CorrectionRequestResponse:
        outcome = await reject_correction(
            request_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.response

    return router
