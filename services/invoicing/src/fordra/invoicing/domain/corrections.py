"""Correcting an issued invoice (domain.md §2; seed 001 and seed 002 lines 587-603): credit notes,
cancellation (makulering), postponement (uppskov), deferral (anstånd) and disputes. Each is an event
with its author (the envelope's actor) and its reason.

A credit note or a cancellation is two steps (seed 002: "endast med korrekt attest"): a request,
checked when it is made, and an attest by another person with the right role, which checks the
invoice again as it is then and issues the credit note or cancels the invoice."""

from __future__ import annotations

from datetime import date, timedelta

from fordra.contracts.invoicing import (
    RENT_SERVICES,
    CancellationRequested,
    CreditNoteIssued,
    CreditNoteRequested,
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceLine,
)
from fordra.invoicing.domain.commands import (
    CancelInvoice,
    DisputeInvoice,
    GrantDeferral,
    InvoiceLineInput,
    IssueCreditNote,
    IssueInvoice,
    PostponeDueDate,
    ResolveDispute,
)
from fordra.invoicing.domain.invoice import invoice_number_for, price_lines, totals_of
from fordra.invoicing.domain.invoice_state import InvoiceState
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.invoicing.domain.vat import vat_per_rate
from fordra.kernel.auth import Principal
from fordra.kernel.delegation import DepartmentDecision, check_department_decision
from fordra.kernel.errors import DomainRuleViolation


def check_invoice_not_cancelled(state: InvoiceState) -> None:
    if state.cancelled:
        raise DomainRuleViolation(
            f"invoice {state.invoice_id} is cancelled", rule="invoice_not_cancelled"
        )


def check_credit_not_above_open(state: InvoiceState, amount_ore: int) -> None:
    """What is left to credit: the invoice less what was credited, and less what dunning wrote
    off (a loss already booked: crediting it too would take it off the ledger twice)."""
    left = state.total_ore - state.credited_ore - state.written_off_ore
    if amount_ore > left:
        written_off = (
            f", {state.written_off_ore} öre of it written off" if state.written_off_ore else ""
        )
        raise DomainRuleViolation(
            f"a credit of {amount_ore} öre exceeds what is left to credit on the invoice "
            f"({left} öre{written_off})",
            field="lines",
            rule="credit_not_above_invoice",
        )


def check_cancellation_only_while_unpaid(state: InvoiceState) -> None:
    """Seed 002: "makulering endast ... om fakturan är obetald och inte överlämnad till inkasso"."""
    if state.paid_ore > 0 or state.credited_ore > 0:
        raise DomainRuleViolation(
            "an invoice that is paid or credited in part cannot be cancelled; issue a credit note",
            rule="cancellation_only_while_unpaid",
        )
    if state.handed_to_agency:
        raise DomainRuleViolation(
            "an invoice handed to the collection agency cannot be cancelled",
            rule="cancellation_not_after_agency",
        )
    if state.written_off_ore > 0:
        raise DomainRuleViolation(
            "a written-off invoice cannot be cancelled: its loss is already booked",
            rule="cancellation_not_after_write_off",
        )


def check_credit_not_while_at_agency(state: InvoiceState) -> None:
    """Seed 002 lines 587-603: before crediting, check "om fakturan gått till inkasso". Ours: a
    claim at the agency is recalled first, so that the agency never collects what was credited."""
    if state.handed_to_agency:
        raise DomainRuleViolation(
            "the invoice is with the collection agency: recall it before crediting it",
            rule="credit_not_while_at_agency",
        )


def check_attester_is_not_the_requester(
    requested_by: str, requester_subject: str, attester: Principal
) -> None:
    """Four eyes (seed 002: "korrekt attest"): the one who attests a credit note or cancellation
    is another person than the one who asked for it, whatever role either token carries."""
    if attester.subject == requester_subject or attester.actor == requested_by:
        raise DomainRuleViolation(
            "a credit note or cancellation is attested by someone other than who asked for it",
            rule="four_eyes_attest",
        )


def credit_lines(
    state: InvoiceState, lines: tuple[InvoiceLineInput, ...] | None, settings: InvoicingSettings
) -> tuple[InvoiceLine, ...] | None:
    """The lines a credit note asks for, priced at the VAT rates of the invoice being credited;
    None credits all that is left."""
    if lines is None:
        return None
    priced = IssueInvoice(
        customer_id=state.customer_id,
        department=state.department,
        service_type=state.lines[0].service_type,
        invoice_date=state.invoice_date,
        lines=lines,
    )
    return price_lines(priced, settings)


def credit_note_lines(
    state: InvoiceState, lines: tuple[InvoiceLine, ...] | None
) -> tuple[InvoiceLine, ...]:
    """What a credit note credits, checked against what is left to credit on the invoice now."""
    check_invoice_not_cancelled(state)
    check_credit_not_while_at_agency(state)
    if lines is None:
        if state.credited_ore:
            raise DomainRuleViolation(
                "the invoice is already credited in part: name the lines to credit",
                field="lines",
                rule="credit_lines_needed_after_partial_credit",
            )
        lines = state.lines
    _net, _vat, total = totals_of(lines)
    check_credit_not_above_open(state, total)
    if total <= 0:
        raise DomainRuleViolation(
            "a credit note must credit more than 0 kr", field="lines", rule="credit_positive"
        )
    return lines


def request_credit_note(
    state: InvoiceState,
    cmd: IssueCreditNote,
    *,
    request_id: str,
    today: date,
    settings: InvoicingSettings,
    requester: Principal,
    customer_kind: str | None,
) -> CreditNoteRequested:
    """A credit note is asked for, and checked now; it is issued only on attest (seed 002)."""
    lines = credit_lines(state, cmd.lines, settings)
    credited = credit_note_lines(state, lines)
    return CreditNoteRequested(
        request_id=request_id,
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        department=state.department,
        customer_kind=customer_kind,
        requested_on=today,
        requested_by=requester.actor,
        requester_subject=requester.subject,
        reason=cmd.reason,
        lines=lines,
        total_ore=totals_of(credited)[2],
    )


def issue_credit_note(
    state: InvoiceState,
    request: CreditNoteRequested,
    *,
    credit_note_id: str,
    serial_number: int,
    today: date,
    attester: Principal,
) -> CreditNoteIssued:
    """The attest of a credit note request: four eyes, and every check made again on the
    invoice as it is now (it may have been paid, credited or cancelled meanwhile)."""
    check_attester_is_not_the_requester(request.requested_by, request.requester_subject, attester)
    lines = credit_note_lines(state, request.lines)
    vat = vat_per_rate(lines)
    net = sum(b.net_ore for b in vat)
    vat_total = sum(b.vat_ore for b in vat)
    return CreditNoteIssued(
        credit_note_id=credit_note_id,
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        serial_number=serial_number,
        credit_note_number=invoice_number_for(serial_number),
        issued_on=today,
        lines=lines,
        vat=vat,
        net_ore=net,
        vat_ore=vat_total,
        total_ore=net + vat_total,
        reason=request.reason,
        request_id=request.request_id,
        requested_by=request.requested_by,
        attested_by=attester.actor,
    )


def request_cancellation(
    state: InvoiceState,
    cmd: CancelInvoice,
    *,
    request_id: str,
    today: date,
    requester: Principal,
    customer_kind: str | None,
) -> CancellationRequested:
    """A cancellation is asked for, and checked now; it is done only on attest (seed 002)."""
    check_invoice_not_cancelled(state)
    check_cancellation_only_while_unpaid(state)
    return CancellationRequested(
        request_id=request_id,
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        department=state.department,
        customer_kind=customer_kind,
        requested_on=today,
        requested_by=requester.actor,
        requester_subject=requester.subject,
        reason=cmd.reason,
        total_ore=state.open_ore,
    )


def cancel_invoice(
    state: InvoiceState, request: CancellationRequested, *, today: date, attester: Principal
) -> InvoiceCancelled:
    """The attest of a cancellation request: four eyes, and still unpaid and not at the agency."""
    check_attester_is_not_the_requester(request.requested_by, request.requester_subject, attester)
    check_invoice_not_cancelled(state)
    check_cancellation_only_while_unpaid(state)
    return InvoiceCancelled(
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        cancelled_on=today,
        reason=request.reason,
        request_id=request.request_id,
        requested_by=request.requested_by,
        attested_by=attester.actor,
    )


def check_postponement_within_max_days(
    state: InvoiceState, due_date: date, *, today: date, settings: InvoicingSettings
) -> None:
    """Uppskov (domain.md §2, seed 001) moves the due date; how far is a dated setting, counted
    from the invoice's first due date so that postponements one after another stay bounded."""
    days = settings.postponement_max_days.at(today)
    latest = state.original_due_date + timedelta(days=days)
    if due_date > latest:
        raise DomainRuleViolation(
            f"a postponement moves the due date at most {days} days past the first due date "
            f"{state.original_due_date.isoformat()}, to {latest.isoformat()}",
            field="due_date",
            rule="postponement_within_max_days",
        )


def postpone_due_date(
    state: InvoiceState, cmd: PostponeDueDate, *, today: date, settings: InvoicingSettings
) -> DueDatePostponed:
    check_invoice_not_cancelled(state)
    if cmd.due_date <= state.due_date:
        raise DomainRuleViolation(
            f"a postponement moves the due date later than {state.due_date.isoformat()}",
            field="due_date",
            rule="postponement_moves_later",
        )
    check_postponement_within_max_days(state, cmd.due_date, today=today, settings=settings)
    return DueDatePostponed(
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        previous_due_date=state.due_date,
        due_date=cmd.due_date,
        reason=cmd.reason,
    )


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def check_deferral_requested_on(state: InvoiceState, requested_on: date, *, today: date) -> None:
    """Seed 001: "Anstånd skall begäras innan fakturan förfallit till betalning" (domain.md §2).
    The customer asked on a day that has been: not after the business date, not before the
    invoice existed, and by the due date."""
    if requested_on > today:
        raise DomainRuleViolation(
            f"a deferral is registered once asked for: requested_on is after today "
            f"{today.isoformat()}",
            field="requested_on",
            rule="deferral_requested_not_in_future",
        )
    if requested_on < state.invoice_date:
        raise DomainRuleViolation(
            f"a deferral cannot be asked for before the invoice date "
            f"{state.invoice_date.isoformat()}",
            field="requested_on",
            rule="deferral_requested_not_before_invoice_date",
        )
    if requested_on > state.due_date:
        raise DomainRuleViolation(
            f"a deferral must be asked for by the due date {state.due_date.isoformat()}",
            field="requested_on",
            rule="deferral_asked_before_due_date",
        )


def check_deferral_only_while_unpaid(state: InvoiceState) -> None:
    """A deferral postpones payment of what is open (domain.md §2): a paid (or fully credited)
    invoice has nothing to defer."""
    if state.open_ore <= 0:
        raise DomainRuleViolation(
            "nothing is open on the invoice (paid or credited): there is nothing to defer",
            rule="deferral_only_while_unpaid",
        )


def check_protected_identity_acknowledged(protected_identity: bool, acknowledged: bool) -> None:
    """A protected identity (domain.md §2): whoever grants a deferral or a plan must know it
    before it is created, since the written confirmation (seed 000 §9) may only go through
    Skatteverket's forwarding. The request says so explicitly, or it is refused."""
    if protected_identity and not acknowledged:
        raise DomainRuleViolation(
            "the customer has a protected identity: confirm with "
            "protected_identity_acknowledged=true that letters go through Skatteverket",
            field="protected_identity_acknowledged",
            rule="protected_identity_acknowledged",
        )


def check_rent_deferral_within_delegation(
    state: InvoiceState, cmd: GrantDeferral, *, today: date, settings: InvoicingSettings
) -> DepartmentDecision | None:
    """The rent administration's delegation (domain.md §8 "Delegation", seed 002: "ge anstånd
    på hyra en månad", "ge anstånd på första månadshyran i högst två månader vid dubbla
    boendekostnader"): a rent deferred further past its due date than the office may grant (one
    month; the first month's rent, two) needs a department decision recorded with the request.
    Both limits are dated settings; other services are not concerned. Answers the decision to
    keep in the event."""
    if state.service_type not in RENT_SERVICES:
        if cmd.first_rent:
            raise DomainRuleViolation(
                f"first_rent is for a rent notice; this invoice bills {state.service_type}",
                field="first_rent",
                rule="first_rent_only_for_rent",
            )
        return cmd.department_decision
    limits = settings.rent_delegation
    if cmd.first_rent:
        months = limits.first_rent_deferral_months.at(cmd.requested_on)
        what = f"a deferral of the first month's rent over {months} months"
    else:
        months = limits.deferral_months.at(cmd.requested_on)
        what = f"a rent deferral over {months} month{'s' if months != 1 else ''}"
    latest = add_months(state.due_date, months)
    return check_department_decision(
        cmd.department_decision,
        beyond_delegation=cmd.deferred_until > latest,
        refusal=f"{what} (past {latest.isoformat()}) needs a department decision",
        today=today,
    )


def deferral_interest_from(state: InvoiceState, settings: InvoicingSettings) -> date:
    """Seed 001's deferral paragraph: "Räntedebitering sker 30 dagar från fakturadatum" (the days
    a dated setting); late interest never starts before the due date (räntelagen 6 §, domain.md
    §3), so the later of the two."""
    days = settings.deferral_interest_from_days.at(state.invoice_date)
    return max(state.invoice_date + timedelta(days=days), state.due_date)


def grant_deferral(
    state: InvoiceState,
    cmd: GrantDeferral,
    *,
    today: date,
    settings: InvoicingSettings,
    registered_by: str,
    pays_by_autogiro: bool,
    protected_identity: bool,
) -> DeferralGranted:
    """Seed 001: "Anstånd skall begäras innan fakturan förfallit till betalning" and "bör inte
    lämnas för mer än tre månader" (both settings); an autogiro debit of the invoice is stopped
    (domain.md §2)."""
    check_invoice_not_cancelled(state)
    check_deferral_only_while_unpaid(state)
    check_deferral_requested_on(state, cmd.requested_on, today=today)
    check_protected_identity_acknowledged(protected_identity, cmd.protected_identity_acknowledged)
    months = settings.deferral_max_months.at(cmd.requested_on)
    latest = add_months(state.due_date, months)
    if cmd.deferred_until > latest:
        raise DomainRuleViolation(
            f"a deferral may last at most {months} months, to {latest.isoformat()}",
            field="deferred_until",
            rule="deferral_at_most_three_months",
        )
    if cmd.deferred_until <= state.due_date:
        raise DomainRuleViolation(
            "a deferral ends after the due date",
            field="deferred_until",
            rule="deferral_ends_after_due_date",
        )
    # After the general bounds: a deferral no decision could allow is refused for that.
    decision = check_rent_deferral_within_delegation(state, cmd, today=today, settings=settings)
    return DeferralGranted(
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        requested_on=cmd.requested_on,
        deferred_until=cmd.deferred_until,
        interest_from=deferral_interest_from(state, settings),
        reason=cmd.reason,
        registered_by=registered_by,
        autogiro_debit_stopped=pays_by_autogiro,
        protected_identity=protected_identity,
        first_rent=cmd.first_rent,
        department_decision=decision,
    )


def dispute_invoice(state: InvoiceState, cmd: DisputeInvoice, *, today: date) -> InvoiceDisputed:
    check_invoice_not_cancelled(state)
    if state.disputed:
        raise DomainRuleViolation("the invoice is already disputed", rule="dispute_once")
    return InvoiceDisputed(
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        disputed_on=today,
        reason=cmd.reason,
    )


def resolve_dispute(state: InvoiceState, cmd: ResolveDispute, *, today: date) -> DisputeResolved:
    if not state.disputed:
        raise DomainRuleViolation("the invoice is not disputed", rule="resolve_only_disputed")
    return DisputeResolved(
        invoice_id=state.invoice_id,
        customer_id=state.customer_id,
        resolved_on=today,
        outcome=cmd.outcome,
        reason=cmd.reason,
    )
