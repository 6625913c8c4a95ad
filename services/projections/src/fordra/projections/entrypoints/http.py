"""Read-side HTTP routes: the customer ledger, the payment queue, correction requests."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.projection import ReadModelDatabase
from fordra.kernel.web import PathId, RouterDeps
from fordra.projections.application.correction_requests import (
    CorrectionRequestQueue,
    CorrectionRequestsProjection,
    RequestStatus,
    read_correction_requests,
)
from fordra.projections.application.customer_ledger import (
    CustomerLedger,
    CustomerLedgerAsOf,
    CustomerLedgerProjection,
    department_has_invoiced,
    read_customer_ledger,
    read_customer_ledger_as_of,
)
from fordra.projections.application.unmatched_payments import (
    UnmatchedPaymentsProjection,
    UnmatchedQueue,
    read_unmatched,
)

LEDGER_READERS = (
    Role.ADMIN,
    Role.OPS_LEAD,
    Role.CASE_OFFICER,
    Role.DEPARTMENT,
    Role.PROTECTED_IDENTITY_OFFICER,
)


QUEUE_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
# Who asks for a correction may follow it; a department sees its own requests only.
CORRECTION_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.DEPARTMENT)


def make_router(
    db: ReadModelDatabase,
    *,
    ledger: CustomerLedgerProjection,
    unmatched: UnmatchedPaymentsProjection,
    corrections: CorrectionRequestsProjection,
    clock: BusinessClock,
    calendar: WorkingDayCalendar,
    web: RouterDeps,
    registered_by: Callable[[str], Awaitable[str | None]] | None = None,
) -> APIRouter:
    """``registered_by`` answers the department that registered a customer (invoicing's
    register, given by the app): with the ledger's own claims it scopes a department's reads."""
    router = APIRouter(prefix="/api/v1", tags=["ledger"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/customers/{customer_id}/ledger",
        response_model=CustomerLedger | CustomerLedgerAsOf,
        summary="The customer ledger; with as_of, as it stood at the end of that day",
    )
    async def get_ledger(
        customer_id: PathId,
        principal: Caller,
        as_of: Annotated[date | None, Query(examples=["2026-03-31"])] = None,
    ) -> CustomerLedger | CustomerLedgerAsOf:
        require_role(principal, *LEDGER_READERS)
        # A department sees only its own invoices on a customer's ledger.
        department = principal.department if principal.role is Role.DEPARTMENT else None
        today = clock.today()
        if as_of is not None and as_of > today:
            raise DomainRuleViolation(
                f"as_of {as_of} is after the business date {today}: the ledger tells what stood, "
                "not what will",
                field="as_of",
                rule="as_of_not_in_the_future",
            )
        async with db.engine.connect() as conn:
            found: CustomerLedger | CustomerLedgerAsOf | None
            if as_of is None:
                found = await read_customer_ledger(
                    conn, ledger, customer_id, today, department=department
                )
            else:
                found = await read_customer_ledger_as_of(
                    conn, ledger, customer_id, as_of, department=department
                )
            # A customer the department neither registered nor has a claim on is a 404 as for
            # an unknown id (a 403 would tell that they exist): the ledger shows their kind and
            # credit (customers.department_may_read).
            if (
                found is not None
                and department is not None
                and not await department_has_invoiced(conn, ledger, customer_id, department)
                and (registered_by is None or await registered_by(customer_id) != department)
            ):
                found = None
        if found is None:
            raise NotFound("customer", customer_id)
        return found

    @router.get("/payments/unmatched", response_model=UnmatchedQueue)
    async def get_unmatched(principal: Caller) -> UnmatchedQueue:
        require_role(principal, *QUEUE_READERS)
        async with db.engine.connect() as conn:
            return await read_unmatched(
                conn,
                unmatched,
                ledger_invoices=ledger.invoices,
                ledger_payments=ledger.payments,
                calendar=calendar,
                today=clock.today(),
            )

    @router.get(
        "/correction-requests",
        response_model=CorrectionRequestQueue,
        summary="Credit note and cancellation requests; by default those waiting for attest",
    )
    async def get_correction_requests(
        principal: Caller, status: RequestStatus = "pending"
    ) -> CorrectionRequestQueue:
        require_role(principal, *CORRECTION_READERS)
        department = principal.department if principal.role is Role.DEPARTMENT else None
        async with db.engine.connect() as conn:
            return await read_correction_requests(
                conn, corrections, status=status, department=department
            )

    return router
