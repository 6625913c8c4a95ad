"""Invoice batches from departmental systems (issue: invoicing): a file of invoices is accepted or
rejected whole. Each invoice runs through the same use case as a single one, against a staged view
of the store, and the whole batch is then one append: a bad line anywhere books nothing.

A batch is booked once by its content, like a bank file (issue 10, item 3): the SHA-256 of its
bytes (with the tenant) is claimed as the batch's idempotency record (``content_claim``), unique
and committed in the same append as its invoices, with the result (which holds no personal data)
as its answer. The same file again, under another Idempotency-Key (which a batch does not use),
by another role, or sent five times at once, answers the first result and books nothing. The
result is kept there rather than in an event: a 10,000-line result is megabytes, more than a
Kafka message may carry. A file with other bytes that
carries a line booked before (the same ``source_reference`` of the same department, alone or in
a batch) books its other lines and reports that line as already booked, naming what it became."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.application.customers import department_may_read, load_customer
from fordra.invoicing.application.handlers import (
    PUBLISHERS,
    InvoiceIssuedResponse,
    InvoicingDeps,
    SmallAmountResponse,
    SourceReferenceBooked,
    issue_invoice,
    source_reference_stream,
)
from fordra.invoicing.application.numbering import BatchNumbers
from fordra.invoicing.domain.batch import BatchError, BatchRejected
from fordra.invoicing.domain.events import IdNumberClaimed
from fordra.invoicing.domain.small_amounts import small_amounts_first
from fordra.kernel.application import Decision, Outcome, content_claim, execute
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation
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


async def issue_invoice_batch(
    data: bytes,
    content_type: str,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
) -> Outcome[BatchResult]:
    """Book a file of invoices once. No ``Idempotency-Key``: the file's content is the request's
    identity, whoever sends it (see the module docstring)."""
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

    async def decide() -> Decision[BatchResult]:
        staged = StagedEventStore(deps.store)
        # The batch's invoices are numbered after the counter's head, and the numbers they used
        # are reserved in the batch's own append: a series of their own, none reserved when the
        # batch is rejected (application/numbering.py).
        numbers = await BatchNumbers.at_head(deps.store, deps.registry, meta.tenant)
        # Every line's source_reference claim in one round trip, not one read per line.
        await staged.prefetch(
            [
                source_reference_stream(meta.tenant, i.command.department, ref)
                for i in items
                if (ref := i.command.source_reference) is not None
            ]
        )
        staged_deps = replace(deps, store=staged, serials=lambda _meta: numbers)
        errors: list[BatchError] = []
        lines: list[BatchLineResult] = []
        for index in small_amounts_first([item.command for item in items], deps.settings):
            item = items[index]
            cmd = item.command
            try:
                if item.customer_id_number is not None:
                    cmd = item.for_customer(
                        await _customer_for(deps, meta, principal, item.customer_id_number)
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
        reserved = numbers.reservation(
            deps.registry, meta, f"batch-{result.batch_id}", deps.clock.now()
        )
        return Decision([*staged.appends(), *reserved], result)

    return await execute(
        deps.store,
        decide,
        BatchResult,
        idempotency=content_claim(meta.tenant, "InvoiceBatch", digest),
    )


async def _customer_for(
    deps: InvoicingDeps, meta: Metadata, principal: Principal, id_number: str
) -> str:
    """A PEPPOL buyer is named by identity number: find the registered customer.

    A department finds only a customer it may read (registered or invoiced by it, customers.
    department_may_read), and is told the same whether the number is unknown or another's
    customer: else a file would tell it whether a person is registered, which registration is
    careful not to (handlers.REGISTER_KEEPERS). Its way to invoice another department's customer
    is the id its own registration of the buyer answers, named in a JSON or CSV line; once it
    has invoiced them, its PEPPOL files find them too. Officers find every customer."""
    stream = f"customer-idnr-{deps.pseudonym(meta.tenant + ':' + id_number)}"
    for env in await deps.store.read_stream(stream):
        customer_id = deps.registry.load_as(env, IdNumberClaimed).customer_id
        if principal.role is not Role.DEPARTMENT or await department_may_read(
            deps, await load_customer(deps, customer_id), principal.department or ""
        ):
            return customer_id
    if principal.role is Role.DEPARTMENT:
        raise DomainRuleViolation(
            f"the buyer's identity number names no customer that department "
            f"{principal.department!r} registered or has invoiced: register the buyer "
            "(POST /api/v1/customers) and invoice them by the customer_id it answers",
            field="customer_id",
            rule="customer_of_department",
        )
    raise DomainRuleViolation(
        "the buyer's identity number names no registered customer",
        field="customer_id",
        rule="customer_registered",
    )
