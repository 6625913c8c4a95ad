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
from collections.abc import Sequence
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
    customer_stream,
    invoice_stream,
    issue_invoice,
    load_customer_state,
    ocr_stream,
    periods_stream,
    small_amounts_stream,
    source_reference_stream,
)
from fordra.invoicing.application.numbering import BatchNumbers
from fordra.invoicing.domain.batch import BatchError, BatchItem, BatchRejected
from fordra.invoicing.domain.events import BillingPeriodBilled, IdNumberClaimed
from fordra.invoicing.domain.invoice import ocr_reference_candidates, valid_department_ocr
from fordra.invoicing.domain.liability import check_property_owner_is_liable
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

    attempts = 0

    async def decide() -> Decision[BatchResult]:
        nonlocal attempts
        attempts += 1
        # The streams the batch creates (each invoice's own, under a new id) are not read on the
        # first attempt; the final append checks them, and a conflict reads them the next time.
        staged = StagedEventStore(deps.store, new_when_unread=attempts == 1)
        # The batch's invoices are numbered after the counter's head, and the numbers they used
        # are reserved in the batch's own append: a series of their own, none reserved when the
        # batch is rejected (application/numbering.py).
        numbers = await BatchNumbers.at_head(deps.store, deps.registry, meta.tenant)
        await prefetch_batch(staged, deps, meta, items, numbers)
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


async def prefetch_batch(
    staged: StagedEventStore,
    deps: InvoicingDeps,
    meta: Metadata,
    items: Sequence[BatchItem],
    numbers: BatchNumbers,
) -> None:
    """Read in three round trips what the lines' decisions will read, rather than several reads
    per line: a read ahead only, so a stream named here that a line does not read costs nothing
    but memory, and one a line reads that is not named here is read then, as before.

    First every line's source_reference claim, customer, held small amounts and OCR claim (the
    department's own, else the first one its number derives); then the billing periods of each
    customer's liable property, known from the customer; then the invoices those name."""
    settings = deps.settings
    first: list[str] = []
    for item, serial in zip(items, numbers.ahead(len(items)), strict=True):
        cmd = item.command
        if cmd.source_reference is not None:
            first.append(source_reference_stream(meta.tenant, cmd.department, cmd.source_reference))
        if item.customer_id_number is None:
            first += [customer_stream(cmd.customer_id), small_amounts_stream(cmd.customer_id)]
        try:
            own = valid_department_ocr(cmd.ocr, settings) if cmd.ocr else None
        except DomainRuleViolation:
            continue  # the line is refused for it: nothing to read
        for candidate in ocr_reference_candidates(serial, settings, own=own):
            first.append(ocr_stream(meta.tenant, candidate))
            break
    await staged.prefetch(first)
    periods: list[str] = []
    reading = replace(deps, store=staged)
    for item in items:
        if item.customer_id_number is not None:
            continue
        cmd = item.command
        customer = await load_customer_state(reading, cmd.customer_id)
        if customer is None:
            continue
        try:
            liable = check_property_owner_is_liable(cmd, customer.properties, settings)
        except DomainRuleViolation:
            continue
        if (stream := periods_stream(cmd, settings, liable)) is not None:
            periods.append(stream)
    await staged.prefetch(periods)
    billed = await staged.read_streams(list(dict.fromkeys(periods)))
    await staged.prefetch(
        [
            invoice_stream(deps.registry.load_as(env, BillingPeriodBilled).invoice_id)
            for events in billed.values()
            for env in events
        ]
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
