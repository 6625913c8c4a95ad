"""The unpaid-rent report (domain.md §8 "Rent (LOIS)": "the unpaid-rent report around the 10th";
seed 002: "Ta ut rapporter över obetalda hyror och skicka till förvaltningen", "Uppföljningsrapport
obetalda hyresavier: runt den 10:e varje månad").

It lists the rent notices whose billing period begins in the month asked for and that are still
open on the business date: a regular notice goes out on the 2nd working day of the month before
(rent in advance), a vacancy or internal contract's on the second-to-last working day of the month
itself, so by the 10th both have fallen due. It is computed when read, from dunning's claims read
model, so that it is always as of the business date and the department may read it any day; the
daily run keeps no copy of it.

No name or address: only ids, numbers and amounts (domain.md §2, protected identity).
"""

from __future__ import annotations

import calendar
from datetime import date

from pydantic import BaseModel, ConfigDict

from fordra.dunning.application.claims import read_rent_notices
from fordra.dunning.application.daily_run import DunningDeps
from fordra.kernel.auth import Principal, Role, require_role

# Who reads the report: the staff, and a department for its own notices (the claims read model
# knows each invoice's department).
RENT_REPORT_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.DEPARTMENT)


class UnpaidRentNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    invoice_number: str
    customer_id: str
    service_type: str
    billing_period_start: date
    billing_period_end: date | None
    due_date: date
    total_ore: int
    open_ore: int


class UnpaidRentReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    month: str
    as_of: date
    count: int
    open_ore: int
    notices: list[UnpaidRentNotice]


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``month`` ("YYYY-MM", validated by the route)."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


async def unpaid_rent_report(
    month: str, deps: DunningDeps, principal: Principal
) -> UnpaidRentReport:
    """The rent notices of ``month`` still open on the business date, by customer then invoice
    number; a department token sees its own department's notices only."""
    require_role(principal, *RENT_REPORT_READERS, action="read the unpaid-rent report")
    first_day, last_day = month_bounds(month)
    # A department token without a department sees nothing rather than everything.
    department = (principal.department or "") if principal.role is Role.DEPARTMENT else None
    async with deps.read_models.engine.connect() as conn:
        rows = await read_rent_notices(conn, deps.claims, first_day, last_day, department)
    notices = [
        UnpaidRentNotice(
            invoice_id=claim.invoice_id,
            invoice_number=claim.invoice_number,
            customer_id=claim.customer_id,
            service_type=claim.service_type,
            billing_period_start=row.billing_period_start,
            billing_period_end=row.billing_period_end,
            due_date=claim.due_date,
            total_ore=claim.total_ore,
            open_ore=claim.open_ore,
        )
        for claim, row in rows
        if claim.open_ore > 0
    ]
    return UnpaidRentReport(
        month=month,
        as_of=deps.clock.today(),
        count=len(notices),
        open_ore=sum(n.open_ore for n in notices),
        notices=notices,
    )
