"""Recurring charges' use cases: register, change (a price from a date, an end) and read (issue 14;
rules in domain/recurring_charge.py and domain/billing_calendar.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict

from fordra.invoicing.application.charge_register import ChargeRegister, charge_from_stored
from fordra.invoicing.application.correction_requests import correction_request_stream
from fordra.invoicing.application.handlers import (
    InvoicingDeps,
    load_customer_state,
    load_invoice,
)
from fordra.invoicing.application.numbering import CONTEXT
from fordra.invoicing.domain.billing_calendar import billing_date, periods_due
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueCreditNote
from fordra.invoicing.domain.corrections import request_credit_note
from fordra.invoicing.domain.recurring_charge import (
    ChangeRecurringCharge,
    CreateRecurringCharge,
    RecurringCharge,
    RecurringPeriodCredited,
    change_charge,
    create_charge,
    credits_for_end,
    replay_charge,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id

# A department registers and changes its own charges; officers and admins any.
CHARGE_KEEPERS = (Role.ADMIN, Role.CASE_OFFICER, Role.DEPARTMENT)
CHARGE_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.DEPARTMENT)


@dataclass(frozen=True, slots=True)
class RecurringDeps:
    invoicing: InvoicingDeps
    register: ChargeRegister


class PriceView(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount_from: date
    amount_ore: int


class ChargeView(BaseModel):
    model_config = ConfigDict(frozen=True)

    charge_id: str
    customer_id: str
    department: str
    service_type: str
    description: str
    kind: str
    period: str
    billing_day: str
    timing: str
    vat_rate: int
    starts_on: date
    ends_on: date | None
    amount_ore: int  # the price in force on the business date (or the last one)
    prices: list[PriceView]
    next_notice_on: date | None


class ChargeChangedResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    charge: ChargeView
    # The credit notes asked for because the end cut issued periods short (attested as any).
    credit_requests: list[str]


def stream_append(
    inv: InvoicingDeps, meta: Metadata, stream: str, after_version: int, *events: Event
) -> StreamAppend:
    """``events`` appended to ``stream`` after ``after_version``, by this request."""
    envelopes = inv.registry.envelopes(
        events,
        context=CONTEXT,
        stream_id=stream,
        after_version=after_version,
        metadata=meta,
        occurred_at=inv.clock.now(),
    )
    return StreamAppend(stream, after_version, envelopes)


def charge_stream(charge_id: str) -> str:
    return f"recurring-charge-{charge_id}"


def notice_stream(charge_id: str, period_start: date) -> str:
    """A period's notice is issued or held once: its own stream per charge and period."""
    return f"recurring-notice-{charge_id}-{period_start.isoformat()}"


def view_of(charge: RecurringCharge, deps: InvoicingDeps) -> ChargeView:
    today = deps.clock.today()
    upcoming = periods_due(
        cadence=charge.cadence,
        timing=charge.timing,
        billing_day=charge.billing_day,
        calendar=deps.calendar,
        starts_on=charge.starts_on,
        ends_on=charge.ends_on,
        through=date(today.year + 2, 12, 31),
    )
    dates = [billing_date(p, charge.timing, charge.billing_day, deps.calendar) for p in upcoming]
    return ChargeView(
        charge_id=charge.charge_id,
        customer_id=charge.customer_id,
        department=charge.department,
        service_type=charge.service_type,
        description=charge.description,
        kind=charge.kind,
        period=charge.cadence,
        billing_day=charge.billing_day,
        timing=charge.timing,
        vat_rate=charge.vat_rate,
        starts_on=charge.starts_on,
        ends_on=charge.ends_on,
        amount_ore=charge.price_at(today),
        prices=[PriceView(amount_from=d, amount_ore=a) for d, a in charge.prices],
        next_notice_on=next((d for d in dates if d > today), None),
    )


async def load_charge(deps: InvoicingDeps, charge_id: str) -> tuple[RecurringCharge, list[Event]]:
    """The charge and the events it was replayed from."""
    events = [deps.registry.load(e) for e in await deps.store.read_stream(charge_stream(charge_id))]
    charge = replay_charge(events)
    if charge is None:
        raise NotFound("recurring charge", charge_id)
    return charge, events


async def create_recurring_charge(
    cmd: CreateRecurringCharge,
    deps: RecurringDeps,
    principal: Principal,
    meta: Metadata,
    idempotency_key: str | None = None,
) -> Outcome[ChargeView]:
    require_role(principal, *CHARGE_KEEPERS, action="register a recurring charge")
    require_department(principal, cmd.department)
    inv = deps.invoicing

    async def decide() -> Decision[ChargeView]:
        if await load_customer_state(inv, cmd.customer_id) is None:
            raise DomainRuleViolation(
                f"customer {cmd.customer_id!r} is not registered",
                field="customer_id",
                rule="customer_registered",
            )
        today = inv.clock.today()
        event = create_charge(
            cmd,
            charge_id=new_id(),
            today=today,
            settings=inv.settings.recurring,
            vat_rates=inv.settings.vat_rates.at(today),
            max_amount_ore=inv.settings.max_amount_ore.at(today),
        )
        append = stream_append(inv, meta, charge_stream(event.charge_id), 0, event)
        charge = replay_charge([event])
        assert charge is not None
        return Decision([append], view_of(charge, inv))

    return await execute(
        inv.store,
        decide,
        ChargeView,
        idempotency=idempotent(
            principal, idempotency_key, "CreateRecurringCharge", cmd.model_dump(mode="json")
        ),
    )


async def change_recurring_charge(
    charge_id: str,
    cmd: ChangeRecurringCharge,
    deps: RecurringDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[ChargeChangedResponse]:
    """A new price from a date, an end, or both (issue 14). An end inside a period already issued
    asks, in the same append, for a credit note of the days after it (seed 002 line 1460)."""
    require_role(principal, *CHARGE_KEEPERS, action="change a recurring charge")
    inv = deps.invoicing

    async def decide() -> Decision[ChargeChangedResponse]:
        charge, before = await load_charge(inv, charge_id)
        require_department(principal, charge.department)
        events = change_charge(
            charge, cmd, max_amount_ore=inv.settings.max_amount_ore.at(inv.clock.today())
        )
        appends = [stream_append(inv, meta, charge_stream(charge_id), charge.version, *events)]
        after = replay_charge([*before, *events])
        assert after is not None
        requests: list[str] = []
        if cmd.ends_on is not None:
            billed = (await deps.register.billed([charge_id])).get(charge_id, {})
            for row, excess in credits_for_end(after, billed):
                assert row.invoice_id is not None
                request_id = new_id()
                requests.append(request_id)
                appends += await _credit_request(
                    deps,
                    principal=principal,
                    meta=meta,
                    charge=after,
                    period_start=row.period.start,
                    invoice_id=row.invoice_id,
                    excess_ore=excess,
                    request_id=request_id,
                    reason=cmd.reason,
                )
        return Decision(
            appends, ChargeChangedResponse(charge=view_of(after, inv), credit_requests=requests)
        )

    return await execute(
        inv.store,
        decide,
        ChargeChangedResponse,
        idempotency=idempotent(
            principal,
            idempotency_key,
            "ChangeRecurringCharge",
            charge_id,
            cmd.model_dump(mode="json"),
        ),
    )


async def _credit_request(
    deps: RecurringDeps,
    *,
    principal: Principal,
    meta: Metadata,
    charge: RecurringCharge,
    period_start: date,
    invoice_id: str,
    excess_ore: int,
    request_id: str,
    reason: str,
) -> list[StreamAppend]:
    """The credit note request for the days after the end, and the period's note of it."""
    inv = deps.invoicing
    state = await load_invoice(inv, invoice_id)
    customer = await load_customer_state(inv, state.customer_id)
    assert charge.ends_on is not None
    request = request_credit_note(
        state,
        IssueCreditNote(
            reason=f"Avtalet upphör {charge.ends_on.isoformat()}: {reason}",
            lines=(
                InvoiceLineInput(
                    description=f"Slutkreditering efter {charge.ends_on.isoformat()}: "
                    f"{charge.description}",
                    unit_price_ore=excess_ore,
                    vat_rate=charge.vat_rate,
                    service_type=charge.service_type,
                ),
            ),
        ),
        request_id=request_id,
        today=inv.clock.today(),
        settings=inv.settings,
        requester=principal,
        customer_kind=customer.kind if customer else None,
    )
    period_stream = notice_stream(charge.charge_id, period_start)
    credited = RecurringPeriodCredited(
        charge_id=charge.charge_id,
        period_start=period_start,
        invoice_id=invoice_id,
        amount_ore=excess_ore,
        request_id=request_id,
    )
    return [
        stream_append(inv, meta, correction_request_stream(request_id), 0, request),
        stream_append(
            inv, meta, period_stream, len(await inv.store.read_stream(period_stream)), credited
        ),
    ]


async def read_charges(
    customer_id: str, deps: RecurringDeps, principal: Principal
) -> list[ChargeView]:
    """A customer's charges; a department sees its own only."""
    require_role(principal, *CHARGE_READERS, action="read recurring charges")
    views = []
    for _charge_id, stored in await deps.register.charges_of(customer_id):
        charge = charge_from_stored(stored)
        if charge is None:
            continue
        if principal.role is Role.DEPARTMENT and charge.department != principal.department:
            continue
        views.append(view_of(charge, deps.invoicing))
    return views
