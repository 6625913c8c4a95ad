"""Invoicing's use cases. Each reads what it needs, lets the domain decide, and appends."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import (
    CustomerRegistered,
    DeferralGranted,
    InvoiceIssued,
    SmallAmountDeferred,
)
from fordra.invoicing.application.numbering import CONTEXT, NumberLease, SerialSource, numbered
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.invoicing.domain.commands import (
    DisputeInvoice,
    GrantDeferral,
    IssueInvoice,
    PostponeDueDate,
    RegisterCustomer,
    ResolveDispute,
)
from fordra.invoicing.domain.corrections import (
    dispute_invoice,
    grant_deferral,
    postpone_due_date,
    resolve_dispute,
)
from fordra.invoicing.domain.customer import register_customer as decide_registration
from fordra.invoicing.domain.customer import valid_identity_number
from fordra.invoicing.domain.customer_state import CustomerState, replay_customer
from fordra.invoicing.domain.events import (
    BillingPeriodBilled,
    IdNumberClaimed,
    OcrReferenceClaimed,
    SourceReferenceClaimed,
)
from fordra.invoicing.domain.invoice import (
    check_invoice_date_in_window,
    ocr_reference_candidates,
    ocr_reference_for,
    price_lines,
    totals_of,
    valid_department_ocr,
)
from fordra.invoicing.domain.invoice import issue_invoice as decide_invoice
from fordra.invoicing.domain.invoice_state import InvoiceState, replay
from fordra.invoicing.domain.invoice_state import apply as apply_event
from fordra.invoicing.domain.liability import check_property_owner_is_liable
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.invoicing.domain.small_amounts import (
    SmallAmountOutcome,
    decide_small_amount,
    dropped_small_amount,
    held_small_amount,
    replay_held,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import AlreadyExists, DomainRuleViolation, NotFound
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id

# Credit notes and cancellations need an attest: correction_requests.py.
_CorrectionCommand = PostponeDueDate | GrantDeferral | DisputeInvoice | ResolveDispute

PUBLISHERS = (Role.ADMIN, Role.CASE_OFFICER, Role.DEPARTMENT)
# Who works the whole customer register, and so is told that a person is already a customer
# (409 with the customer's id). Anyone else registering (a department) gets the answer a new
# registration gives, with the customer's id so that it can invoice them: registration is
# idempotent per identity number and never tells a department whether the person was known
# already, nor anything the register holds about them (protected identity included).
REGISTER_KEEPERS = (Role.ADMIN, Role.CASE_OFFICER)


@dataclass(frozen=True, slots=True)
class InvoicingDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    calendar: WorkingDayCalendar
    settings: InvoicingSettings
    # A keyed hash (HMAC with the instance's secret): stream names never reveal an id number.
    pseudonym: Callable[[str], str]
    # Where invoice and credit note numbers come from, per request (its tenant; application/
    # numbering.py): the process's InvoiceNumberBlocks.series, or a batch's BatchNumbers.
    serials: Callable[[Metadata], SerialSource]
    # Whether a department has booked a claim on a customer, (customer_id, department) -> bool:
    # the ledger read model answers it (app.bootstrap). With the customer's registering department
    # it decides which customers a department may read (customers.require_customer_of); None:
    # only the registering department may.
    invoiced_by: Callable[[str, str], Awaitable[bool]] | None = None


class CustomerRegisteredResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    kind: str
    id_kind: str
    protected_identity: bool


class InvoiceIssuedResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    customer_id: str
    invoice_number: str
    ocr: str
    invoice_date: date
    due_date: date
    net_ore: int
    vat_ore: int
    total_ore: int
    billing_period_start: date | None = None
    billing_period_end: date | None = None


def customer_stream(customer_id: str) -> str:
    return f"customer-{customer_id}"


def invoice_stream(invoice_id: str) -> str:
    return f"invoice-{invoice_id}"


async def register_customer(
    cmd: RegisterCustomer,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    idempotency_key: str | None = None,
) -> Outcome[CustomerRegisteredResponse]:
    require_role(principal, *PUBLISHERS)
    identity = valid_identity_number(cmd.id_number, deps.clock.today())
    claim_stream = f"customer-idnr-{deps.pseudonym(meta.tenant + ':' + identity.canonical)}"

    async def decide() -> Decision[CustomerRegisteredResponse]:
        claimed = await deps.store.read_stream(claim_stream)
        if claimed:
            existing = deps.registry.load_as(claimed[0], IdNumberClaimed).customer_id
            if principal.role in REGISTER_KEEPERS:
                raise AlreadyExists(
                    f"a customer with this id_number is already registered: {existing}",
                    field="id_number",
                    existing_id=existing,
                )
            # What a new registration would have answered, built the same way; nothing stored
            # (the register keeps its own details of the person).
            echo = decide_registration(
                cmd, customer_id=existing, identity=identity, department=principal.department
            )
            return Decision([], _registered_response(echo))
        customer_id = new_id()
        event = decide_registration(
            cmd, customer_id=customer_id, identity=identity, department=principal.department
        )
        now = deps.clock.now()
        env = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=customer_stream(customer_id),
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        claim = deps.registry.envelope(
            IdNumberClaimed(customer_id=customer_id),
            context=CONTEXT,
            stream_id=claim_stream,
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        return Decision(
            [StreamAppend(env.stream_id, 0, [env]), StreamAppend(claim_stream, 0, [claim])],
            _registered_response(event),
        )

    return await execute(
        deps.store,
        decide,
        CustomerRegisteredResponse,
        idempotency=idempotent(
            principal, idempotency_key, "RegisterCustomer", cmd.model_dump(mode="json")
        ),
    )


def _registered_response(event: CustomerRegistered) -> CustomerRegisteredResponse:
    return CustomerRegisteredResponse(
        customer_id=event.customer_id,
        kind=event.kind,
        id_kind=event.id_kind,
        protected_identity=event.protected_identity,
    )


class SmallAmountResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    deferred: bool
    dropped: bool
    held_id: str | None
    customer_id: str
    total_ore: int
    policy: str


class IssueInvoiceResult(BaseModel):
    """Either an invoice, or a small amount that was held or dropped instead (domain.md §2)."""

    model_config = ConfigDict(frozen=True)

    invoice: InvoiceIssuedResponse | None = None
    small_amount: SmallAmountResponse | None = None
    included_small_amounts: tuple[str, ...] = ()


def small_amounts_stream(customer_id: str) -> str:
    return f"small-amounts-{customer_id}"


def ocr_stream(tenant: str, ocr: str) -> str:
    return f"ocr-{tenant}-{ocr}"


def source_reference_stream(tenant: str, department: str, source_reference: str) -> str:
    """The claim of a department's own invoice id; hashed, as a reference is free text."""
    digest = hashlib.sha256(source_reference.encode()).hexdigest()[:40]
    return f"source-ref-{tenant}-{department}-{digest}"


class SourceReferenceBooked(AlreadyExists):
    """The department booked this ``source_reference`` before (HTTP 409 naming what it became)."""

    def __init__(self, source_reference: str, claimed: SourceReferenceClaimed) -> None:
        existing = claimed.invoice_id or claimed.held_id
        became = (
            f"invoice {claimed.invoice_id}"
            if claimed.invoice_id
            else f"held small amount {claimed.held_id}"
            if claimed.held_id
            else "a small amount that was dropped"
        )
        super().__init__(
            f"source_reference {source_reference!r} of department {claimed.department!r} "
            f"is already booked, as {became}: it is booked once",
            field="source_reference",
            existing_id=existing,
        )
        self.claimed = claimed


async def check_source_reference_free(
    deps: InvoicingDeps, tenant: str, cmd: IssueInvoice
) -> str | None:
    """The claim stream of the invoice's ``source_reference`` (None without one), once checked
    free. Appended at version 0 with the booking: a booking of the same reference that commits
    after this read makes the append a conflict, decided again, never a second booking."""
    if cmd.source_reference is None:
        return None
    stream = source_reference_stream(tenant, cmd.department, cmd.source_reference)
    for env in await deps.store.read_stream(stream):
        raise SourceReferenceBooked(
            cmd.source_reference, deps.registry.load_as(env, SourceReferenceClaimed)
        )
    return stream


async def _booked_once(
    deps: InvoicingDeps,
    meta: Metadata,
    cmd: IssueInvoice,
    decide: Callable[[], Awaitable[Decision[IssueInvoiceResult]]],
) -> Decision[IssueInvoiceResult]:
    """The booking with the claim of its source_reference (when it has one), in the same
    append; refused when the department booked the reference before."""
    stream = await check_source_reference_free(deps, meta.tenant, cmd)
    decision = await decide()
    if stream is None:
        return decision
    booked = decision.response
    claimed = SourceReferenceClaimed(
        department=cmd.department,
        invoice_id=booked.invoice.invoice_id if booked.invoice else None,
        held_id=booked.small_amount.held_id if booked.small_amount else None,
    )
    env = deps.registry.envelope(
        claimed,
        context=CONTEXT,
        stream_id=stream,
        version=1,
        metadata=meta,
        occurred_at=deps.clock.now(),
    )
    return Decision([*decision.appends, StreamAppend(stream, 0, [env])], decision.response)


async def issue_invoice(
    cmd: IssueInvoice,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    idempotency_key: str | None = None,
) -> Outcome[IssueInvoiceResult]:
    require_role(principal, *PUBLISHERS)
    require_department(principal, cmd.department)
    settings = deps.settings
    own_ocr = valid_department_ocr(cmd.ocr, settings) if cmd.ocr else None
    check_invoice_date_in_window(cmd.invoice_date, deps.clock.today(), settings)
    numbers = NumberLease(deps.serials(meta))

    async def decide() -> Decision[IssueInvoiceResult]:
        numbers.restart()
        customer = await load_customer_state(deps, cmd.customer_id)
        if customer is None:
            raise DomainRuleViolation(
                f"customer {cmd.customer_id!r} is not registered",
                field="customer_id",
                rule="customer_registered",
            )
        lines = price_lines(cmd, settings)
        _net, _vat, total = totals_of(lines)
        liable_property = check_property_owner_is_liable(cmd, customer.properties, settings)
        held_stream = small_amounts_stream(cmd.customer_id)
        held = replay_held(deps.registry.load(e) for e in await deps.store.read_stream(held_stream))
        now = deps.clock.now()

        def envelope(event: Event, stream: str, version: int) -> Envelope:
            return deps.registry.envelope(
                event,
                context=CONTEXT,
                stream_id=stream,
                version=version,
                metadata=meta,
                occurred_at=now,
            )

        just_held: SmallAmountDeferred | None = None
        small = decide_small_amount(
            total, cmd.invoice_date, cmd.service_type, held.total_ore, settings
        )
        if small.outcome is SmallAmountOutcome.DROP:
            env = envelope(dropped_small_amount(cmd, total), held_stream, held.version + 1)
            return Decision(
                [StreamAppend(held_stream, held.version, [env])],
                IssueInvoiceResult(
                    small_amount=SmallAmountResponse(
                        deferred=False,
                        dropped=True,
                        held_id=None,
                        customer_id=cmd.customer_id,
                        total_ore=total,
                        policy=small.policy,
                    )
                ),
            )
        if small.outcome is not SmallAmountOutcome.INVOICE:
            deferred = held_small_amount(cmd, lines, held_id=new_id(), policy=small.policy)
            if small.outcome is SmallAmountOutcome.HOLD:
                env = envelope(deferred, held_stream, held.version + 1)
                return Decision(
                    [StreamAppend(held_stream, held.version, [env])],
                    IssueInvoiceResult(
                        small_amount=SmallAmountResponse(
                            deferred=True,
                            dropped=False,
                            held_id=deferred.held_id,
                            customer_id=cmd.customer_id,
                            total_ore=total,
                            policy=small.policy,
                        )
                    ),
                )
            # INVOICE_ACCUMULATED: every held amount, this one included, on an invoice of
            # their own (this one is held first, so that every invoiced amount was held).
            just_held = deferred
            held = held.with_held(deferred)
            lines = ()

        invoice_id = new_id()
        held_lines = held.lines
        base = cmd if lines else cmd.model_copy(update={"lines": ()})
        periods = periods_stream(cmd, settings, liable_property)
        billed, periods_version = await _billed_periods(deps, periods)
        # The number last, after every read: a decision refused or decided again gives it back.
        serial = await numbers.take()
        ocr = await _free_ocr(deps, meta.tenant, own_ocr, serial)
        event = decide_invoice(
            base,
            invoice_id=invoice_id,
            serial_number=serial,
            settings=settings,
            calendar=deps.calendar,
            held_lines=held_lines,
            ocr=ocr,
            billed=billed,
            property_designation=liable_property,
            owner_override_by=meta.actor if cmd.owner_override_reason else None,
        )
        appends = invoice_appends(
            event,
            registry=deps.registry,
            meta=meta,
            occurred_at=now,
            periods=periods,
            periods_version=periods_version,
        )
        included = tuple(held.pending)
        if included:
            held_events: list[Event] = [just_held] if just_held is not None else []
            held_events.append(held.invoiced_on(invoice_id, cmd.customer_id))
            appends.append(
                StreamAppend(
                    held_stream,
                    held.version,
                    [
                        envelope(e, held_stream, held.version + i)
                        for i, e in enumerate(held_events, start=1)
                    ],
                )
            )
        return Decision(
            appends,
            IssueInvoiceResult(
                invoice=InvoiceIssuedResponse(
                    invoice_id=invoice_id,
                    customer_id=event.customer_id,
                    invoice_number=event.invoice_number,
                    ocr=event.ocr,
                    invoice_date=event.invoice_date,
                    due_date=event.due_date,
                    net_ore=event.net_ore,
                    vat_ore=event.vat_ore,
                    total_ore=event.total_ore,
                    billing_period_start=event.billing_period_start,
                    billing_period_end=event.billing_period_end,
                ),
                included_small_amounts=included,
            ),
        )

    return await numbered(
        numbers,
        execute(
            deps.store,
            functools.partial(_booked_once, deps, meta, cmd, decide),
            IssueInvoiceResult,
            idempotency=idempotent(
                principal, idempotency_key, "IssueInvoice", cmd.model_dump(mode="json")
            ),
        ),
    )


def invoice_appends(
    event: InvoiceIssued,
    *,
    registry: EventRegistry,
    meta: Metadata,
    occurred_at: datetime,
    periods: str | None = None,
    periods_version: int = 0,
) -> list[StreamAppend]:
    """What issuing ``event`` appends, each stream at the version it was decided on: the
    invoice's own stream, the claim of its OCR reference (at version 0: never reused, domain.md
    §2 "Payment reference"), and, for a service whose billing periods may not overlap, the period
    billed on ``periods`` (at ``periods_version``). Its serial number was taken from a block the
    process reserved before (application/numbering.py), so the tenant's counter is not appended
    to. ``issue_invoice`` adds the held amounts it includes; the payments benchmark appends
    invoices through this too."""

    def envelope(event: Event, stream: str, version: int) -> Envelope:
        return registry.envelope(
            event,
            context=CONTEXT,
            stream_id=stream,
            version=version,
            metadata=meta,
            occurred_at=occurred_at,
        )

    invoice_id = event.invoice_id
    stream = invoice_stream(invoice_id)
    ocr_claim = ocr_stream(meta.tenant, event.ocr)
    appends = [
        StreamAppend(stream, 0, [envelope(event, stream, 1)]),
        StreamAppend(
            ocr_claim, 0, [envelope(OcrReferenceClaimed(invoice_id=invoice_id), ocr_claim, 1)]
        ),
    ]
    if periods is not None:
        billed = BillingPeriodBilled(
            invoice_id=invoice_id,
            start=event.billing_period_start or event.invoice_date,
            end=event.billing_period_end or event.invoice_date,
        )
        env = envelope(billed, periods, periods_version + 1)
        appends.append(StreamAppend(periods, periods_version, [env]))
    return appends


def periods_stream(
    cmd: IssueInvoice, settings: InvoicingSettings, property_designation: str | None
) -> str | None:
    """The periods billed to a customer for a service whose periods may not overlap, per property
    when one is known (an owner of two houses gets an invoice for each); None for the other
    services. Hashed: a designation has spaces and colons."""
    if cmd.service_type not in settings.non_overlapping_period_services:
        return None
    where = hashlib.sha256((property_designation or "").encode()).hexdigest()[:16]
    return f"billing-periods-{cmd.customer_id}-{cmd.service_type}-{where}"


async def _billed_periods(
    deps: InvoicingDeps, stream: str | None
) -> tuple[tuple[BillingPeriod, ...], int]:
    """The periods of the standing invoices on ``stream`` and its version: a cancelled or fully
    credited invoice no longer bills its period, so it can be invoiced again."""
    if stream is None:
        return (), 0
    stored = await deps.store.read_stream(stream)
    entries = [deps.registry.load_as(env, BillingPeriodBilled) for env in stored]
    invoices = await deps.store.read_streams([invoice_stream(e.invoice_id) for e in entries])
    billed = []
    for entry in entries:
        state = replay(deps.registry.load(e) for e in invoices[invoice_stream(entry.invoice_id)])
        if state is not None and not state.cancelled and state.credited_ore < state.total_ore:
            billed.append(BillingPeriod(start=entry.start, end=entry.end))
    return tuple(billed), len(stored)


async def _free_ocr(deps: InvoicingDeps, tenant: str, own: str | None, serial: int) -> str:
    """The invoice's OCR reference, decided by ``ocr_reference_for`` (unique per invoice, never
    reused). Reads the claims of the candidates in turn, up to the first unclaimed one: one read
    for nearly every invoice.

    Only a department's own reference that is claimed is refused (422): it is theirs to choose
    again. A generated candidate found claimed is skipped, never refused; and one claimed by a
    concurrent invoice after this read makes the append's claim at version 0 a conflict, decided
    again (``execute``), which reads that claim and takes the next candidate."""
    claimed: set[str] = set()
    for candidate in ocr_reference_candidates(serial, deps.settings, own=own):
        if not await deps.store.stream_version(ocr_stream(tenant, candidate)):
            break
        claimed.add(candidate)
    return ocr_reference_for(serial, deps.settings, claimed=claimed, own=own)


def _deferral_facts(event: Event) -> dict[str, Any]:
    if not isinstance(event, DeferralGranted):
        return {}
    return {
        "interest_from": event.interest_from,
        "autogiro_debit_stopped": event.autogiro_debit_stopped,
        "protected_identity": event.protected_identity,
        "first_rent": event.first_rent,
        "department_decision": event.department_decision,
    }


class CorrectionResponse(BaseModel):
    """The invoice after a correction, as the ledger will show it."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    event: str
    due_date: date
    open_ore: int
    credited_ore: int
    cancelled: bool
    disputed: bool
    deferred_until: date | None
    credit_note_id: str | None = None
    credit_note_number: str | None = None
    # A credit note or cancellation: the request it completes and who attested it.
    request_id: str | None = None
    attested_by: str | None = None
    # A deferral: when late interest starts, whether an autogiro debit is stopped, and whether
    # the customer's letters must go through Skatteverket (a protected identity).
    interest_from: date | None = None
    autogiro_debit_stopped: bool = False
    protected_identity: bool = False
    # A rent deferral (domain.md §8 "Delegation"): the first month's rent, and the department
    # decision recorded for one beyond the office's delegation.
    first_rent: bool = False
    department_decision: DepartmentDecision | None = None


def correction_response(before: InvoiceState, event: Event, **extra: Any) -> CorrectionResponse:
    """The invoice as the ledger will show it once ``event`` is applied."""
    after = apply_event(before, event)
    assert after is not None
    return CorrectionResponse(
        invoice_id=after.invoice_id,
        event=event.event_type,
        due_date=after.due_date,
        open_ore=after.open_ore,
        credited_ore=after.credited_ore,
        cancelled=after.cancelled,
        disputed=after.disputed,
        deferred_until=after.deferred_until,
        **extra,
    )


CORRECTORS = (Role.ADMIN, Role.CASE_OFFICER, Role.DEPARTMENT)


async def load_customer_state(deps: InvoicingDeps, customer_id: str) -> CustomerState | None:
    events = await deps.store.read_stream(customer_stream(customer_id))
    return replay_customer(deps.registry.load(e) for e in events)


async def load_invoice(deps: InvoicingDeps, invoice_id: str) -> InvoiceState:
    events = await deps.store.read_stream(invoice_stream(invoice_id))
    state = replay(deps.registry.load(e) for e in events)
    if state is None:
        raise NotFound("invoice", invoice_id)
    return state


async def correct_invoice(
    invoice_id: str,
    cmd: _CorrectionCommand,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CorrectionResponse]:
    """Postpone, defer, dispute or resolve: one use case for the corrections that need no
    attest, each rule in ``domain/corrections.py``. A department corrects only its own
    invoices."""
    require_role(principal, *CORRECTORS)

    async def decide() -> Decision[CorrectionResponse]:
        state = await load_invoice(deps, invoice_id)
        require_department(principal, state.department)
        today = deps.clock.today()
        now = deps.clock.now()
        event: Event
        if isinstance(cmd, PostponeDueDate):
            event = postpone_due_date(state, cmd, today=today, settings=deps.settings)
        elif isinstance(cmd, GrantDeferral):
            customer = await load_customer_state(deps, state.customer_id)
            event = grant_deferral(
                state,
                cmd,
                today=today,
                settings=deps.settings,
                registered_by=principal.actor,
                pays_by_autogiro=customer.autogiro if customer else False,
                protected_identity=customer.protected_identity if customer else False,
            )
        elif isinstance(cmd, DisputeInvoice):
            event = dispute_invoice(state, cmd, today=today)
        else:
            event = resolve_dispute(state, cmd, today=today)
        env = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=invoice_stream(invoice_id),
            version=state.version + 1,
            metadata=meta,
            occurred_at=now,
        )
        return Decision(
            [StreamAppend(env.stream_id, state.version, [env])],
            correction_response(state, event, **_deferral_facts(event)),
        )

    return await execute(
        deps.store,
        decide,
        CorrectionResponse,
        idempotency=idempotent(
            principal, idempotency_key, type(cmd).__name__, invoice_id, cmd.model_dump(mode="json")
        ),
    )
