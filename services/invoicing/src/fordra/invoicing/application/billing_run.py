"""The billing run: every business day the clock passes, each recurring charge's notices whose day
has come are issued, through the same use case as any invoice (the 50 kr rule, OCR, VAT, holds),
or held for a manual check (issue 14; domain.md §8 "Rent (LOIS)"; seed 002 lines 1485-1501).

Set-based: the charges still to bill and their periods are read in two queries of the register
(application/charge_register.py); the notices are booked in chunks, each one append with its
invoices (as an invoice batch is: application/batches.py), so 50,000 notices cost a hundred
appends, not 50,000. Each period's notice is claimed once (its own stream per charge and period),
and its invoice carries ``source_reference`` ``recurring:<charge>:<period start>``, booked once per
department: a run repeated, retried or run by two processes at once issues nothing twice.

A notice the use case refuses (a customer since removed, a VAT rate no longer in force) is left
out of its chunk, logged, and tried again by the next day's run; the others are booked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from fordra.invoicing.application.batches import prefetch_batch
from fordra.invoicing.application.charge_register import ChargeToBill, charge_from_stored
from fordra.invoicing.application.handlers import (
    InvoiceIssuedResponse,
    InvoicingDeps,
    SourceReferenceBooked,
    issue_invoice,
)
from fordra.invoicing.application.numbering import BatchNumbers
from fordra.invoicing.application.recurring_charges import (
    RecurringDeps,
    load_charge,
    notice_stream,
    stream_append,
)
from fordra.invoicing.domain.batch import BatchItem
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.recurring_charge import (
    BilledPeriod,
    Notice,
    NoticeFailure,
    RecurringCharge,
    RecurringChargeAmountChanged,
    RecurringNoticeHeld,
    RecurringNoticeIssued,
    RecurringNoticesFailed,
    held_reason,
    notices_due,
    period_amount,
)
from fordra.kernel.application import Decision, execute
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.ids import new_id
from fordra.kernel.staging import StagedEventStore

log = logging.getLogger(__name__)

# Who checks a held notice and lets it go: the shared service office's rent administration.
RELEASERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
RUN_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
# How far back the run reads issued periods for the differences a price change leaves (a price
# may change from at most this far back: domain.recurring_charge.create_charge's window and the
# periods of a year).
_BILLED_WINDOW = timedelta(days=800)


class HeldNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    charge_id: str
    customer_id: str
    period_start: date
    period_end: date
    amount_ore: int
    reason: str


class FailedNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    charge_id: str
    customer_id: str
    period_start: date
    reason: str


class BillingRunReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: date
    issued: int
    held: list[HeldNotice]
    # Notices the run could not issue (the invoice use case refused them), tried again daily.
    failed: list[FailedNotice] = []


@dataclass(frozen=True, slots=True)
class _Booking:
    """One notice to book: issued (``held`` None) or held for a manual check."""

    notice: Notice
    held: str | None
    issued_on: date
    release: bool = False  # lets a hold go


class _ChunkResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    issued: int
    held: list[HeldNotice]
    failed: list[NoticeFailure]
    invoice_ids: list[str]


def source_reference(charge_id: str, period_start: date) -> str:
    return f"recurring:{charge_id}:{period_start.isoformat()}"


def _period_label(period: BillingPeriod) -> str:
    return f"{period.start.isoformat()} – {period.end.isoformat()}"


def notice_command(notice: Notice, invoice_date: date) -> IssueInvoice:
    """The invoice of a notice: the period's price, then a line per earlier period whose price
    changed after it was issued (never rewriting that invoice)."""
    charge = notice.charge
    lines = [
        InvoiceLineInput(
            description=f"{charge.description}, {_period_label(notice.period)}",
            unit_price_ore=notice.amount_ore,
            vat_rate=charge.vat_rate,
        )
    ]
    lines += [
        InvoiceLineInput(
            description=f"Justering {a.period_start.isoformat()} – {a.period_end.isoformat()} "
            f"(ändrat belopp): {charge.description}",
            unit_price_ore=a.amount_ore,
            vat_rate=charge.vat_rate,
        )
        for a in notice.adjustments
    ]
    return IssueInvoice(
        customer_id=charge.customer_id,
        department=charge.department,
        service_type=charge.service_type,
        invoice_date=invoice_date,
        lines=tuple(lines),
        source_reference=source_reference(charge.charge_id, notice.period.start),
        billing_period=notice.period,
    )


def _acting_for(department: str, tenant: str) -> Principal:
    # The run issues in the department's name, as its own system would.
    return Principal(
        subject="system:billing-run", role=Role.DEPARTMENT, tenant=tenant, department=department
    )


async def run_billing(day: date, deps: RecurringDeps, meta: Metadata) -> BillingRunReport:
    """The notices of ``day``: every due period of every charge, issued or held."""
    inv = deps.invoicing
    due = [
        (row, charge)
        for row in await deps.register.charges_to_bill(day)
        if (charge := charge_from_stored(row.events)) is not None
    ]
    billed = await _billed_of(deps, day, due)
    settings = inv.settings.recurring
    bookings: list[_Booking] = []
    for row, charge in due:
        for notice in notices_due(
            charge,
            billed.get(charge.charge_id, {}),
            day=day,
            calendar=inv.calendar,
            billed_through=row.billed_through,
        ):
            bookings.append(_Booking(notice, held_reason(notice, settings, day), day))
    size = settings.run_chunk_size
    refused: set[str] = set()
    issued = 0
    held: list[HeldNotice] = []
    failed: list[FailedNotice] = []
    for first in range(0, len(bookings), size):
        chunk = [
            b for b in bookings[first : first + size] if b.notice.charge.charge_id not in refused
        ]
        if not chunk:
            continue
        result = await _book(chunk, deps, meta, series=f"{first // size}")
        issued += result.issued
        held += result.held
        failed += [FailedNotice.model_validate(f.model_dump()) for f in result.failed]
        refused |= {failure.charge_id for failure in result.failed}
        for failure in result.failed:
            log.warning(
                "billing run %s: charge %s not billed: %s",
                day.isoformat(),
                failure.charge_id,
                failure.reason,
            )
    # What this run booked, counted as it booked it (the register, which GET /billing-runs/{date}
    # reads, catches up after: it also counts an earlier run of the same day).
    return BillingRunReport(date=day, issued=issued, held=held, failed=failed)


async def _billed_of(
    deps: RecurringDeps, day: date, due: list[tuple[ChargeToBill, RecurringCharge]]
) -> dict[str, dict[date, BilledPeriod]]:
    """What the run must know of the periods already issued or held, in two reads: those after
    the earliest ``billed_through`` among the charges due (a period before a charge's own is
    billed: the run leaves no gap), and, for the few charges whose price changed, their periods of
    the window (the differences to carry)."""
    through = [row.billed_through for row, _ in due if row.billed_through is not None]
    billed = await deps.register.billed(since=min(through) + timedelta(days=1)) if through else {}
    changed = [
        charge.charge_id
        for row, charge in due
        if any(item["type"] == RecurringChargeAmountChanged.event_type for item in row.events)
    ]
    if changed:
        history = await deps.register.billed(changed, since=day - _BILLED_WINDOW)
        for charge_id, periods in history.items():
            billed.setdefault(charge_id, {}).update(periods)
    return billed


async def _report(day: date, deps: RecurringDeps) -> BillingRunReport:
    issued, held, failed = await deps.register.run_of(day)
    return BillingRunReport(
        date=day,
        issued=issued,
        held=[HeldNotice.model_validate(row) for row in held],
        failed=[FailedNotice.model_validate(row) for row in failed],
    )


async def billing_run_report(
    day: date, deps: RecurringDeps, principal: Principal
) -> BillingRunReport:
    require_role(principal, *RUN_READERS, action="read a billing run")
    return await _report(day, deps)


def run_stream(day: date) -> str:
    return f"billing-run-{day.isoformat()}"


async def _book(
    bookings: Sequence[_Booking], deps: RecurringDeps, meta: Metadata, *, series: str
) -> _ChunkResult:
    """One chunk in one append: each notice's claim, and its invoice unless held. A notice whose
    period was claimed meanwhile (another process, a retry) is skipped."""
    inv = deps.invoicing
    attempts = 0

    async def decide() -> Decision[_ChunkResult]:
        nonlocal attempts
        attempts += 1
        staged = StagedEventStore(inv.store, new_when_unread=attempts == 1)
        numbers = await BatchNumbers.at_head(inv.store, inv.registry, meta.tenant)
        claims = [notice_stream(b.notice.charge.charge_id, b.notice.period.start) for b in bookings]
        await staged.prefetch([*claims, run_stream(bookings[0].issued_on)])
        to_issue = [b for b in bookings if b.held is None]
        items = [
            BatchItem(line=i, command=notice_command(b.notice, b.issued_on), source_lines=())
            for i, b in enumerate(to_issue, start=1)
        ]
        await prefetch_batch(staged, inv, meta, items, numbers)
        staged_inv = replace(inv, store=staged, serials=lambda _meta: numbers)
        issued = 0
        held: list[HeldNotice] = []
        failed: list[NoticeFailure] = []
        invoice_ids: list[str] = []
        for booking, claim in zip(bookings, claims, strict=True):
            notice = booking.notice
            charge = notice.charge
            if any(f.charge_id == charge.charge_id for f in failed):
                continue  # no gap after a refused notice (see run_billing)
            version = await staged.stream_version(claim)
            if version and booking.held is None and not await _held_only(staged, claim):
                continue  # issued already
            if version and booking.held is not None:
                continue  # held already
            event: Event
            if booking.held is not None:
                event = RecurringNoticeHeld(
                    charge_id=charge.charge_id,
                    customer_id=charge.customer_id,
                    service_type=charge.service_type,
                    period_start=notice.period.start,
                    period_end=notice.period.end,
                    amount_ore=notice.amount_ore,
                    total_ore=notice.total_ore,
                    adjustments=notice.adjustments,
                    held_on=booking.issued_on,
                    reason=booking.held,
                )
                held.append(
                    HeldNotice(
                        charge_id=charge.charge_id,
                        customer_id=charge.customer_id,
                        period_start=notice.period.start,
                        period_end=notice.period.end,
                        amount_ore=notice.amount_ore,
                        reason=booking.held,
                    )
                )
            else:
                try:
                    invoice = await _issue(booking, staged_inv, meta)
                except SourceReferenceBooked as before:
                    if await _issued(inv, claim):
                        continue  # a parallel run or release issued it meanwhile
                    failed.append(
                        _failure(
                            notice,
                            f"its source_reference was booked by "
                            f"another invoice ({before.existing_id})",
                        )
                    )
                    continue
                except DomainRuleViolation as exc:
                    failed.append(_failure(notice, str(exc)))
                    continue
                event = RecurringNoticeIssued(
                    charge_id=charge.charge_id,
                    customer_id=charge.customer_id,
                    service_type=charge.service_type,
                    period_start=notice.period.start,
                    period_end=notice.period.end,
                    invoice_id=invoice.invoice_id if invoice else None,
                    amount_ore=notice.amount_ore,
                    total_ore=invoice.total_ore if invoice else notice.total_ore,
                    adjustments=notice.adjustments,
                    issued_on=booking.issued_on,
                    released=booking.release,
                )
                issued += 1
            await _stage(staged, inv, meta, claim, event)
        if failed:
            report = RecurringNoticesFailed(day=bookings[0].issued_on, failures=tuple(failed))
            await _stage(staged, inv, meta, run_stream(bookings[0].issued_on), report)
        reserved = numbers.reservation(
            inv.registry, meta, f"billing-run-{new_id()}-{series}", inv.clock.now()
        )
        return Decision(
            [*staged.appends(), *reserved],
            _ChunkResult(issued=issued, held=held, failed=failed, invoice_ids=invoice_ids),
        )

    return (await execute(inv.store, decide, _ChunkResult, idempotency=None)).response


async def _stage(
    staged: StagedEventStore, inv: InvoicingDeps, meta: Metadata, stream: str, event: Event
) -> None:
    """Append ``event`` at the staged stream's next version."""
    version = await staged.stream_version(stream)
    await staged.append([stream_append(inv, meta, stream, version, event)])


async def _issue(
    booking: _Booking, inv: InvoicingDeps, meta: Metadata
) -> InvoiceIssuedResponse | None:
    """The notice's invoice (None: the 50 kr rule held or dropped it, or a released notice the
    charge no longer bills anything for, which lets the hold go with nothing issued)."""
    notice = booking.notice
    if booking.release and notice.net_ore <= 0:
        return None
    charge = notice.charge
    outcome = await issue_invoice(
        notice_command(notice, booking.issued_on),
        inv,
        _acting_for(charge.department, meta.tenant),
        meta,
    )
    return outcome.response.invoice


def _failure(notice: Notice, reason: str) -> NoticeFailure:
    return NoticeFailure(
        charge_id=notice.charge.charge_id,
        customer_id=notice.charge.customer_id,
        period_start=notice.period.start,
        reason=reason[:500],
    )


async def _issued(inv: InvoicingDeps, claim: str) -> bool:
    """Whether the period's notice is issued in the store as it is now (not as staged)."""
    events = await inv.store.read_stream(claim)
    return any(e.event_type == RecurringNoticeIssued.event_type for e in events)


async def _held_only(staged: StagedEventStore, claim: str) -> bool:
    """Whether the period's claim holds a hold not yet released (a release books it)."""
    types = [e.event_type for e in await staged.read_stream(claim)]
    return RecurringNoticeIssued.event_type not in types and RecurringNoticeHeld.event_type in types


async def release_held_notice(
    day: date,
    charge_id: str,
    deps: RecurringDeps,
    principal: Principal,
    meta: Metadata,
) -> bool:
    """A held notice checked by hand goes out (seed 002 line 1491): issued today, at the charge's
    price as it now is (a price corrected during the check is the one invoiced), with the
    differences it was held with. Releasing one already released changes nothing (False). The
    run's report shows it once the register has caught up (GET /billing-runs/{date})."""
    require_role(principal, *RELEASERS, action="release a held notice")
    inv = deps.invoicing
    held = await _held_of(deps, day, charge_id)
    if held is None:  # released before: nothing changes
        return False
    charge, _events = await load_charge(inv, charge_id)
    period = BillingPeriod(start=held.period_start, end=held.period_end)
    notice = Notice(charge, period, period_amount(charge, period), held.adjustments)
    today = inv.clock.today()
    result = await _book(
        [_Booking(notice, None, today, release=True)], deps, meta, series="release"
    )
    if result.failed:
        raise DomainRuleViolation(result.failed[0].reason, rule="recurring_release")
    return True


async def _held_of(deps: RecurringDeps, day: date, charge_id: str) -> RecurringNoticeHeld | None:
    """The notice of ``charge_id`` held by the run of ``day`` and not yet released (from its
    claim streams); None when every one it held was released; 404 when it held none."""
    inv = deps.invoicing
    periods = await deps.register.held_periods(charge_id, day)
    for period_start in await deps.register.held_periods(charge_id, day):
        events = [
            inv.registry.load(e)
            for e in await inv.store.read_stream(notice_stream(charge_id, period_start))
        ]
        hold = next((e for e in events if isinstance(e, RecurringNoticeHeld)), None)
        if hold is not None and not any(isinstance(e, RecurringNoticeIssued) for e in events):
            return hold
    if periods:
        return None
    raise NotFound("held notice", f"{day.isoformat()}/{charge_id}")
