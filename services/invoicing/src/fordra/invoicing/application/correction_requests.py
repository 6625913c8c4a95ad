"""Credit notes and cancellations need an attest by a second person with the right role (seed 002
lines 587-603: "kreditering ... makulering ... endast med korrekt attest").

Anyone who may correct an invoice (a case officer, admin, or a department for its own invoices)
asks; the request is an event of its own (``CreditNoteRequested``, ``CancellationRequested``) on
the request's stream, checked when made. An ops lead or admin who is not the one who asked
attests it: the rules are decided again on the invoice as it is then, and the attest appends the
``CreditNoteIssued`` or ``InvoiceCancelled`` to the invoice together with
``CorrectionRequestAttested``, in one append. Or they reject it (``CorrectionRequestRejected``).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import (
    CancellationRequested,
    CorrectionRequestAttested,
    CorrectionRequestRejected,
    CreditNoteIssued,
    CreditNoteRequested,
)
from fordra.invoicing.application.handlers import (
    CORRECTORS,
    CorrectionResponse,
    InvoicingDeps,
    correction_response,
    invoice_stream,
    load_customer_state,
    load_invoice,
)
from fordra.invoicing.application.numbering import CONTEXT, NumberLease, numbered
from fordra.invoicing.domain.commands import CancelInvoice, IssueCreditNote, RejectCorrection
from fordra.invoicing.domain.corrections import (
    cancel_invoice,
    issue_credit_note,
    request_cancellation,
    request_credit_note,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id

# Who may attest (or reject) a credit note or cancellation: the roles that attest refunds. A
# department or a case officer may only ask.
ATTESTERS = (Role.ADMIN, Role.OPS_LEAD)

CorrectionRequest = CreditNoteRequested | CancellationRequested


class CorrectionRequestResponse(BaseModel):
    """A credit note or cancellation request and where it stands."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    kind: Literal["credit_note", "cancellation"]
    status: Literal["pending", "attested", "rejected"]
    invoice_id: str
    customer_id: str
    customer_kind: str | None
    requested_on: date
    requested_by: str
    reason: str
    total_ore: int
    decided_by: str | None = None


def correction_request_stream(request_id: str) -> str:
    return f"correction-request-{request_id}"


def kind_of(request: CorrectionRequest) -> Literal["credit_note", "cancellation"]:
    return "credit_note" if isinstance(request, CreditNoteRequested) else "cancellation"


def _view(
    request: CorrectionRequest,
    status: Literal["pending", "attested", "rejected"] = "pending",
    decided_by: str | None = None,
) -> CorrectionRequestResponse:
    return CorrectionRequestResponse(
        request_id=request.request_id,
        kind=kind_of(request),
        status=status,
        invoice_id=request.invoice_id,
        customer_id=request.customer_id,
        customer_kind=request.customer_kind,
        requested_on=request.requested_on,
        requested_by=request.requested_by,
        reason=request.reason,
        total_ore=request.total_ore,
        decided_by=decided_by,
    )


async def request_correction(
    invoice_id: str,
    cmd: IssueCreditNote | CancelInvoice,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CorrectionRequestResponse]:
    """Ask for a credit note or a cancellation; a department asks only for its own invoices."""
    require_role(principal, *CORRECTORS)

    async def decide() -> Decision[CorrectionRequestResponse]:
        state = await load_invoice(deps, invoice_id)
        require_department(principal, state.department)
        customer = await load_customer_state(deps, state.customer_id)
        kind = customer.kind if customer else None
        request_id = new_id()
        today = deps.clock.today()
        request: CorrectionRequest
        if isinstance(cmd, IssueCreditNote):
            request = request_credit_note(
                state,
                cmd,
                request_id=request_id,
                today=today,
                settings=deps.settings,
                requester=principal,
                customer_kind=kind,
            )
        else:
            request = request_cancellation(
                state,
                cmd,
                request_id=request_id,
                today=today,
                requester=principal,
                customer_kind=kind,
            )
        stream = correction_request_stream(request_id)
        env = deps.registry.envelope(
            request,
            context=CONTEXT,
            stream_id=stream,
            version=1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        return Decision([StreamAppend(stream, 0, [env])], _view(request))

    return await execute(
        deps.store,
        decide,
        CorrectionRequestResponse,
        idempotency=idempotent(
            principal,
            idempotency_key,
            f"Request{type(cmd).__name__}",
            invoice_id,
            cmd.model_dump(mode="json"),
        ),
    )


async def _load_request(deps: InvoicingDeps, request_id: str) -> tuple[CorrectionRequest, int]:
    """The pending request and its stream's version; a decided one is refused."""
    events = [
        deps.registry.load(e)
        for e in await deps.store.read_stream(correction_request_stream(request_id))
    ]
    request = next(
        (e for e in events if isinstance(e, CreditNoteRequested | CancellationRequested)), None
    )
    if request is None:
        raise NotFound("correction request", request_id)
    if any(isinstance(e, CorrectionRequestAttested | CorrectionRequestRejected) for e in events):
        raise DomainRuleViolation(
            "the request is already attested or rejected", rule="correction_decided_once"
        )
    return request, len(events)


async def attest_correction(
    request_id: str,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CorrectionResponse]:
    """Attest a request (four eyes): the credit note is issued, or the invoice cancelled, if the
    invoice still allows it."""
    require_role(principal, *ATTESTERS)
    # A credit note's number comes from the invoices' series (domain.md §2 "Invoice content");
    # given back when the attest is not booked (application/numbering.py).
    numbers = NumberLease(deps.serials(meta))

    async def decide() -> Decision[CorrectionResponse]:
        numbers.restart()
        request, version = await _load_request(deps, request_id)
        state = await load_invoice(deps, request.invoice_id)
        today = deps.clock.today()
        now = deps.clock.now()
        appends: list[StreamAppend] = []
        event: Event
        credit_note: CreditNoteIssued | None = None
        if isinstance(request, CreditNoteRequested):
            credit_note = issue_credit_note(
                state,
                request,
                credit_note_id=new_id(),
                serial_number=await numbers.take(),
                today=today,
                attester=principal,
            )
            event = credit_note
        else:
            event = cancel_invoice(state, request, today=today, attester=principal)
        stream = invoice_stream(state.invoice_id)
        corrected = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=stream,
            version=state.version + 1,
            metadata=meta,
            occurred_at=now,
        )
        appends.append(StreamAppend(stream, state.version, [corrected]))
        request_stream = correction_request_stream(request_id)
        attested = deps.registry.envelope(
            CorrectionRequestAttested(
                request_id=request_id,
                invoice_id=state.invoice_id,
                attested_by=principal.actor,
                attested_on=today,
            ),
            context=CONTEXT,
            stream_id=request_stream,
            version=version + 1,
            metadata=meta,
            occurred_at=now,
        )
        appends.append(StreamAppend(request_stream, version, [attested]))
        return Decision(
            appends,
            correction_response(
                state,
                event,
                credit_note_id=credit_note.credit_note_id if credit_note else None,
                credit_note_number=credit_note.credit_note_number if credit_note else None,
                request_id=request_id,
                attested_by=principal.actor,
            ),
        )

    return await numbered(
        numbers,
        execute(
            deps.store,
            decide,
            CorrectionResponse,
            idempotency=idempotent(principal, idempotency_key, "AttestCorrection", request_id),
        ),
    )


async def reject_correction(
    request_id: str,
    cmd: RejectCorrection,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CorrectionRequestResponse]:
    """Say no to a request (one that no longer holds, or should never have been asked)."""
    require_role(principal, *ATTESTERS)

    async def decide() -> Decision[CorrectionRequestResponse]:
        request, version = await _load_request(deps, request_id)
        stream = correction_request_stream(request_id)
        env = deps.registry.envelope(
            CorrectionRequestRejected(
                request_id=request_id,
                invoice_id=request.invoice_id,
                rejected_by=principal.actor,
                rejected_on=deps.clock.today(),
                reason=cmd.reason,
            ),
            context=CONTEXT,
            stream_id=stream,
            version=version + 1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        return Decision(
            [StreamAppend(stream, version, [env])],
            _view(request, "rejected", principal.actor),
        )

    return await execute(
        deps.store,
        decide,
        CorrectionRequestResponse,
        idempotency=idempotent(
            principal, idempotency_key, "RejectCorrection", request_id, cmd.model_dump()
        ),
    )
