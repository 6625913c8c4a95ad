"""Invoice batches from departmental systems (issue: invoicing): a file of invoices is accepted or
rejected whole. Each invoice runs through the same use case as a single one, against a staged view
of the store, and the whole batch is then one append: a bad line anywhere books nothing.

A batch is booked once by its content, like a bank file (issue 10, item 3): the SHA-256 of its
bytes is claimed (``InvoiceBatchBooked`` on a stream of its own, created once) in the same append
as its invoices, so the same file again, under another Idempotency-Key, by another role, or sent
five times at once, answers the first result and books nothing. A file with other bytes that
carries a line booked before (the same ``source_reference`` of the same department, alone or in
a batch) books its other lines and reports that line as already booked, naming what it became."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from fordra.invoicing.application.handlers import (
    CONTEXT,
    PUBLISHERS,
    InvoiceIssuedResponse,
    InvoicingDeps,
    SmallAmountResponse,
    SourceReferenceBooked,
    issue_invoice,
    source_reference_stream,
)
from fordra.invoicing.domain.batch import BatchError, BatchRejected, parse_batch
from fordra.invoicing.domain.events import IdNumberClaimed, InvoiceBatchBooked
from fordra.invoicing.domain.small_amounts import small_amounts_first
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, require_department, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, FordraError
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.staging import StagedEventStore


class BatchLineResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    invoice: InvoiceIssuedResponse | None = None
    small_amount: SmallAmountResponse | None = None
    # The line's source_reference was booked before (alone or in another batch): this line booked
    # nothing; ``existing_id`` is the invoice (or held small amount) it was booked as.
    already_booked: bool = False
    existing_id: str | None = None


class BatchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_id: str
    invoices: int
    deferred: int
    total_ore: int
    lines: list[BatchLineResult]
    already_booked: int = 0


def batch_stream(tenant: str, digest: str) -> str:
    return f"invoice-batch-{tenant}-{digest}"


class _BatchBookedBefore(FordraError):
    """The batch's content was booked before: ``result`` is the first answer."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(f"batch {result.batch_id} was booked before")
        self.result = result


async def issue_invoice_batch(
    data: bytes,
    content_type: str,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[BatchResult]:
    require_role(principal, *PUBLISHERS)
    digest = hashlib.sha256(data).hexdigest()
    items = parse_batch(
        data,
        content_type,
        department=principal.department,
        default_service_type="other",
        vat_rates=deps.settings.vat_rates,
    )
    for item in items:
        require_department(principal, item.command.department)

    claim = batch_stream(meta.tenant, digest)

    async def booked_before() -> None:
        for env in await deps.store.read_stream(claim):
            first = deps.registry.load_as(env, InvoiceBatchBooked)
            raise _BatchBookedBefore(BatchResult.model_validate(first.result))

    async def decide() -> Decision[BatchResult]:
        await booked_before()
        try:
            return await decide_batch()
        except (BatchRejected, FordraError):
            # The same file sent at the same time may have been booked while this one was
            # decided, and its invoices then break this one's rules (a period billed twice): the
            # claim commits with them, so it is visible now if they were.
            await booked_before()
            raise

    async def decide_batch() -> Decision[BatchResult]:
        staged = StagedEventStore(deps.store)
        # Every line's source_reference claim in one round trip, not one read per line.
        await staged.prefetch(
            [
                source_reference_stream(meta.tenant, i.command.department, ref)
                for i in items
                if (ref := i.command.source_reference) is not None
            ]
        )
        staged_deps = replace(deps, store=staged)
        errors: list[BatchError] = []
        lines: list[BatchLineResult] = []
        for index in small_amounts_first([item.command for item in items], deps.settings):
            item = items[index]
            cmd = item.command
            try:
                if item.customer_id_number is not None:
                    cmd = item.for_customer(
                        await _customer_for(deps, meta, item.customer_id_number)
                    )
                outcome = await issue_invoice(cmd, staged_deps, principal, meta)
            except SourceReferenceBooked as before:
                lines.append(
                    BatchLineResult(
                        line=item.line, already_booked=True, existing_id=before.existing_id
                    )
                )
                continue
            except DomainRuleViolation as exc:
                errors.append(item.error_at(str(exc), exc.field))
                continue
            lines.append(
                BatchLineResult(
                    line=item.line,
                    invoice=outcome.response.invoice,
                    small_amount=outcome.response.small_amount,
                )
            )
        if errors:
            raise BatchRejected(sorted(errors, key=lambda e: e.line or 0))
        lines.sort(key=lambda r: r.line)
        invoices = [r.invoice for r in lines if r.invoice is not None]
        result = BatchResult(
            batch_id=digest[:32],
            invoices=len(invoices),
            deferred=sum(1 for r in lines if r.small_amount is not None),
            total_ore=sum(i.total_ore for i in invoices),
            lines=lines,
            already_booked=sum(1 for r in lines if r.already_booked),
        )
        booked = deps.registry.envelope(
            InvoiceBatchBooked(batch_id=result.batch_id, result=result.model_dump(mode="json")),
            context=CONTEXT,
            stream_id=claim,
            version=1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        return Decision([*staged.appends(), StreamAppend(claim, 0, [booked])], result)

    try:
        return await execute(
            deps.store,
            decide,
            BatchResult,
            idempotency=idempotent(principal, idempotency_key, "InvoiceBatch", digest),
        )
    except _BatchBookedBefore as before:
        return Outcome(before.result, True, 0)


async def _customer_for(deps: InvoicingDeps, meta: Metadata, id_number: str) -> str:
    """A PEPPOL buyer is named by identity number: find the registered customer."""
    stream = f"customer-idnr-{deps.pseudonym(meta.tenant + ':' + id_number)}"
    for env in await deps.store.read_stream(stream):
        return deps.registry.load_as(env, IdNumberClaimed).customer_id
    raise DomainRuleViolation(
        "the buyer's identity number names no registered customer",
        field="customer_id",
        rule="customer_registered",
    )
