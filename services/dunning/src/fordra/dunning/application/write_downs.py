"""Write-down and write-off use cases (domain.md §4, rules in domain/write_down.py), and the
departments' credit-stop list.

- ``POST /api/v1/invoices/{id}/write-down {"amount_ore", "invoice_number", "reason"}`` by an
  attesting role (admin, ops lead: as a correction is attested), checked against the ledger.
- ``POST /api/v1/invoices/{id}/write-off {"reason", "decision_reference"}`` by the ops lead only:
  the delegation the issue names.
- ``GET /api/v1/credit-stops``: the claims written down or off, so that "berörda medarbetare och
  enhetschefer" (seed 001) know whom not to give new service on credit. A department sees its own
  invoices' only; the finance office all.

The event is appended to the invoice's stream of dunning's own (``plan-invoice-{id}``) at the
version the decision read, so a payment plan signed meanwhile, or a second decision, makes it run
again on fresh state (kernel ``execute``). The amount is checked against the claims read model, as
the ledger shows it; a payment booked after the write-down reverses its share as a recovery.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select

from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteOffReason
from fordra.dunning.application.claims import read_claim
from fordra.dunning.application.daily_run import DunningDeps
from fordra.dunning.application.payment_plans import (
    Appends,
    plan_invoice_stream,
    read_plan_invoices,
)
from fordra.dunning.domain.claim import Claim
from fordra.dunning.domain.payment_plan import PlanInvoice
from fordra.dunning.domain.write_down import (
    WriteDown,
    WriteOff,
    decide_write_down,
    decide_write_off,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound

# "By an attesting role" (issue 15): those who attest a correction (invoicing's ATTESTERS).
WRITE_DOWN_ROLES = (Role.ADMIN, Role.OPS_LEAD)
# "Only by ops_lead" (issue 15): the delegation of write-offs (seed 001).
WRITE_OFF_ROLES = (Role.OPS_LEAD,)
CREDIT_STOP_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.DEPARTMENT)


class WrittenDown(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    invoice_number: str
    written_down_on: date
    amount_ore: int
    reason: str


class WrittenOff(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    invoice_number: str
    written_off_on: date
    amount_ore: int
    value_adjustment_ore: int  # what of a write-down still stood, reversed from 1592
    reason: WriteOffReason
    decision_reference: str


class CreditStop(BaseModel):
    """One claim written down or off: the customer is not to get new service on credit."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    invoice_id: str
    invoice_number: str
    department: str | None
    kind: Literal["written_down", "written_off"]
    on: date
    amount_ore: int
    reason: str


class CreditStops(BaseModel):
    items: list[CreditStop]


async def _claim_as_decided(
    deps: DunningDeps, invoice_id: str, out: Appends
) -> tuple[Claim, PlanInvoice | None, str | None]:
    """What both decisions read: the claim as the ledger shows it and its department (one read
    of the read models), and the invoice's own stream, at the version ``out`` appends after."""
    invoice = (await read_plan_invoices(deps.store, deps.registry, [invoice_id], out))[invoice_id]
    periods = deps.claims.periods
    async with deps.read_models.engine.connect() as conn:
        claim = await read_claim(conn, deps.claims, invoice_id)
        department = (
            await conn.execute(
                select(periods.c.department).where(periods.c.invoice_id == invoice_id)
            )
        ).scalar_one_or_none()
    if claim is None:
        raise NotFound("invoice", invoice_id)
    return claim, invoice, department


async def write_down_claim(
    invoice_id: str,
    cmd: WriteDown,
    deps: DunningDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[WrittenDown]:
    """Write the claim down (module docstring); refused with the rule it breaks."""
    require_role(principal, *WRITE_DOWN_ROLES, action="write a claim down")

    async def decide() -> Decision[WrittenDown]:
        out = Appends(deps.registry, meta, deps.clock)
        claim, invoice, department = await _claim_as_decided(deps, invoice_id, out)
        event = decide_write_down(claim, invoice, cmd, deps.clock.today(), department)
        out.add(plan_invoice_stream(invoice_id), event)
        return Decision(out.appends(), _written_down(event))

    return await execute(
        deps.store,
        decide,
        WrittenDown,
        idempotency=idempotent(
            principal, idempotency_key, "WriteDown", invoice_id, cmd.model_dump(mode="json")
        ),
    )


async def write_off_claim(
    invoice_id: str,
    cmd: WriteOff,
    deps: DunningDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[WrittenOff]:
    """Write the claim off (module docstring); refused with the rule it breaks."""
    require_role(principal, *WRITE_OFF_ROLES, action="write a claim off")

    async def decide() -> Decision[WrittenOff]:
        out = Appends(deps.registry, meta, deps.clock)
        claim, invoice, department = await _claim_as_decided(deps, invoice_id, out)
        event = decide_write_off(claim, invoice, cmd, deps.clock.today(), department)
        out.add(plan_invoice_stream(invoice_id), event)
        return Decision(out.appends(), _written_off(event))

    return await execute(
        deps.store,
        decide,
        WrittenOff,
        idempotency=idempotent(
            principal, idempotency_key, "WriteOff", invoice_id, cmd.model_dump(mode="json")
        ),
    )


def _written_down(e: ClaimWrittenDown) -> WrittenDown:
    return WrittenDown(
        invoice_id=e.invoice_id,
        invoice_number=e.invoice_number,
        written_down_on=e.written_down_on,
        amount_ore=e.amount_ore,
        reason=e.reason,
    )


def _written_off(e: ClaimWrittenOff) -> WrittenOff:
    return WrittenOff(
        invoice_id=e.invoice_id,
        invoice_number=e.invoice_number,
        written_off_on=e.written_off_on,
        amount_ore=e.amount_ore,
        value_adjustment_ore=e.value_adjustment_ore,
        reason=e.reason,
        decision_reference=e.decision_reference,
    )


async def credit_stops(
    deps: DunningDeps, principal: Principal, customer_id: str | None = None
) -> CreditStops:
    """Every claim written down or off, the latest first; a write-off and a write-down of one
    claim are two lines. A department sees its own invoices' (seed 001: the staff concerned)."""
    require_role(principal, *CREDIT_STOP_READERS, action="read the credit-stop list")
    w = deps.claims.write_downs
    query = select(w).where(or_(w.c.written_down_on.is_not(None), w.c.written_off_on.is_not(None)))
    if principal.role == Role.DEPARTMENT:
        query = query.where(w.c.department == principal.department)
    if customer_id is not None:
        query = query.where(w.c.customer_id == customer_id)
    async with deps.read_models.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    items: list[CreditStop] = []
    for r in rows:
        common = {
            "customer_id": r.customer_id,
            "invoice_id": r.invoice_id,
            "invoice_number": r.invoice_number,
            "department": r.department,
        }
        if r.written_off_on is not None:
            items.append(
                CreditStop(
                    **common,
                    kind="written_off",
                    on=r.written_off_on,
                    amount_ore=int(r.written_off_ore),
                    reason=r.write_off_reason,
                )
            )
        if r.written_down_on is not None:
            items.append(
                CreditStop(
                    **common,
                    kind="written_down",
                    on=r.written_down_on,
                    amount_ore=int(r.written_down_ore),
                    reason=r.written_down_reason,
                )
            )
    items.sort(key=lambda i: (i.on, i.invoice_id, i.kind), reverse=True)
    return CreditStops(items=items)
