"""The correction rules that HTTP cannot reach yet (no context hands invoices to the agency so
far), and the arithmetic of a deferral's interest start (domain.md §2, seed 002)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from fordra.contracts.invoicing import (
    CancellationRequested,
    CreditNoteRequested,
    DeferralGranted,
    InvoiceLine,
)
from fordra.invoicing.domain.commands import (
    CancelInvoice,
    DisputeInvoice,
    GrantDeferral,
    InvoiceLineInput,
    IssueCreditNote,
    PostponeDueDate,
    ResolveDispute,
)
from fordra.invoicing.domain.corrections import (
    add_months,
    cancel_invoice,
    check_attester_is_not_the_requester,
    check_cancellation_only_while_unpaid,
    check_credit_not_above_open,
    check_deferral_only_while_unpaid,
    check_deferral_requested_on,
    check_invoice_not_cancelled,
    check_postponement_within_max_days,
    check_protected_identity_acknowledged,
    credit_note_lines,
    deferral_interest_from,
    dispute_invoice,
    grant_deferral,
    issue_credit_note,
    postpone_due_date,
    request_cancellation,
    request_credit_note,
    resolve_dispute,
)
from fordra.invoicing.domain.invoice_state import InvoiceState
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.errors import DomainRuleViolation

LINE = InvoiceLine(
    description="Vatten",
    service_type="water",
    quantity=Decimal(1),
    unit_price_ore=80000,
    vat_rate=0,
    net_ore=80000,
)
STATE = InvoiceState(
    invoice_id="i",
    customer_id="c",
    department="water",
    invoice_date=date(2026, 2, 27),
    due_date=date(2026, 3, 30),
    lines=(LINE,),
    total_ore=80000,
    original_due_date=date(2026, 3, 30),
    version=1,
)
ASKER = Principal(subject="anna", role=Role.CASE_OFFICER, tenant="t")


def test_an_invoice_at_the_agency_is_neither_credited_nor_cancelled() -> None:
    at_agency = replace(STATE, handed_to_agency=True)
    with pytest.raises(DomainRuleViolation) as credit:
        request_credit_note(
            at_agency,
            IssueCreditNote(reason="fel"),
            request_id="r",
            today=date(2026, 3, 2),
            settings=InvoicingSettings(),
            requester=ASKER,
            customer_kind="person",
        )
    assert credit.value.rule == "credit_not_while_at_agency"
    with pytest.raises(DomainRuleViolation) as cancel:
        request_cancellation(
            at_agency,
            CancelInvoice(reason="fel"),
            request_id="r",
            today=date(2026, 3, 2),
            requester=ASKER,
            customer_kind="person",
        )
    assert cancel.value.rule == "cancellation_not_after_agency"


def test_deferral_interest_starts_30_days_after_the_invoice_but_never_before_the_due_date() -> None:
    settings = InvoicingSettings()
    # invoice date + 30 days is a Sunday; the due date moved to the Monday
    assert deferral_interest_from(STATE, settings) == date(2026, 3, 30)
    # a due date earlier than invoice date + 30 days (shorter terms): the seed's 30 days
    assert deferral_interest_from(replace(STATE, due_date=date(2026, 3, 13)), settings) == date(
        2026, 3, 29
    )


# -- every correction rule, on the invoice as it is (domain.md §2 "Credit note / cancellation /
# refund", "Deferral", "Postponement"; seed 002 lines 587-603) ------------------------------------

TODAY = date(2026, 3, 2)
ATTESTER = Principal(subject="bo", role=Role.CASE_OFFICER, tenant="t")
SETTINGS = InvoicingSettings()


@contextmanager
def refused(rule: str) -> Iterator[None]:
    with pytest.raises(DomainRuleViolation) as violation:
        yield
    assert violation.value.rule == rule


def credit_request(state: InvoiceState = STATE, **cmd: object) -> CreditNoteRequested:
    return request_credit_note(
        state,
        IssueCreditNote.model_validate({"reason": "fel pris", **cmd}),
        request_id="r1",
        today=TODAY,
        settings=SETTINGS,
        requester=ASKER,
        customer_kind="person",
    )


def cancellation_request(state: InvoiceState = STATE) -> CancellationRequested:
    return request_cancellation(
        state,
        CancelInvoice(reason="fel kund"),
        request_id="r2",
        today=TODAY,
        requester=ASKER,
        customer_kind="person",
    )


def test_a_credit_note_credits_all_that_is_left_at_the_invoices_vat() -> None:
    state = replace(STATE, lines=(replace_line(LINE, vat_rate=25),), total_ore=100000)
    request = credit_request(state)
    assert request.total_ore == 100000
    assert request.lines is None
    note = issue_credit_note(
        state, request, credit_note_id="k1", serial_number=42, today=TODAY, attester=ATTESTER
    )
    assert (note.net_ore, note.vat_ore, note.total_ore) == (80000, 20000, 100000)
    assert note.credit_note_number == "00000042"
    assert (note.requested_by, note.attested_by) == (ASKER.actor, ATTESTER.actor)


def test_a_credit_note_for_some_lines_is_priced_with_the_rules_of_the_invoice_date() -> None:
    # water carries 25 % (settings.vat_rates_by_service): 300 kr net is 375 kr to credit
    request = credit_request(
        lines=[InvoiceLineInput(description="Vatten", unit_price_ore=30000, vat_rate=25)]
    )
    assert request.total_ore == 37500
    assert request.lines is not None
    assert request.lines[0].service_type == "water"


def test_a_credit_is_never_more_than_what_is_left_to_credit() -> None:
    with refused("credit_not_above_invoice"):
        check_credit_not_above_open(replace(STATE, credited_ore=50000), 30001)
    check_credit_not_above_open(replace(STATE, credited_ore=50000), 30000)
    with refused("credit_not_above_invoice"):
        credit_request(
            lines=[InvoiceLineInput(description="Vatten", unit_price_ore=64001, vat_rate=25)]
        )


def test_after_a_partial_credit_the_lines_to_credit_are_named() -> None:
    with refused("credit_lines_needed_after_partial_credit"):
        credit_note_lines(replace(STATE, credited_ore=100), None)


def test_a_credit_note_credits_more_than_nothing() -> None:
    with refused("credit_positive"):
        credit_note_lines(STATE, (replace_line(LINE, net_ore=0),))


def test_a_cancelled_invoice_is_not_corrected_any_further() -> None:
    cancelled = replace(STATE, cancelled=True)
    with refused("invoice_not_cancelled"):
        check_invoice_not_cancelled(cancelled)
    with refused("invoice_not_cancelled"):
        credit_request(cancelled)
    with refused("invoice_not_cancelled"):
        cancellation_request(cancelled)
    with refused("invoice_not_cancelled"):
        postpone_due_date(
            cancelled,
            PostponeDueDate(due_date=date(2026, 4, 15), reason="oklar"),
            today=TODAY,
            settings=SETTINGS,
        )
    with refused("invoice_not_cancelled"):
        dispute_invoice(cancelled, DisputeInvoice(reason="fel"), today=TODAY)


@pytest.mark.parametrize("change", [{"paid_ore": 1}, {"credited_ore": 1}])
def test_a_cancellation_only_while_nothing_is_paid_or_credited(change: dict[str, int]) -> None:
    with refused("cancellation_only_while_unpaid"):
        check_cancellation_only_while_unpaid(replace(STATE, **change))  # type: ignore[arg-type]


def test_a_cancellation_is_attested_by_someone_else_on_the_invoice_as_it_is_then() -> None:
    request = cancellation_request()
    assert request.total_ore == 80000
    done = cancel_invoice(STATE, request, today=TODAY, attester=ATTESTER)
    assert (done.requested_by, done.attested_by) == (ASKER.actor, ATTESTER.actor)
    with refused("four_eyes_attest"):
        cancel_invoice(STATE, request, today=TODAY, attester=ASKER)
    with refused("cancellation_only_while_unpaid"):  # paid in the meantime
        cancel_invoice(replace(STATE, paid_ore=100), request, today=TODAY, attester=ATTESTER)


def test_four_eyes_whatever_role_or_token_the_requester_carries() -> None:
    # the same person with another token (same actor), or the same subject in another role
    with refused("four_eyes_attest"):
        check_attester_is_not_the_requester("anna", "anna", ASKER)
    same_subject = Principal(subject="anna", role=Role.ADMIN, tenant="t")
    with refused("four_eyes_attest"):
        check_attester_is_not_the_requester("someone-else", "anna", same_subject)
    with refused("four_eyes_attest"):
        issue_credit_note(
            STATE,
            credit_request(),
            credit_note_id="k",
            serial_number=1,
            today=TODAY,
            attester=ASKER,
        )
    check_attester_is_not_the_requester(ASKER.actor, ASKER.subject, ATTESTER)


def test_a_postponement_moves_the_due_date_later_by_at_most_90_days_from_the_first() -> None:
    moved = postpone_due_date(
        STATE,
        PostponeDueDate(due_date=date(2026, 6, 28), reason="oklar"),
        today=TODAY,
        settings=SETTINGS,
    )
    assert (moved.previous_due_date, moved.due_date) == (date(2026, 3, 30), date(2026, 6, 28))
    with refused("postponement_within_max_days"):
        check_postponement_within_max_days(
            replace(STATE, due_date=date(2026, 6, 28)),
            date(2026, 6, 29),
            today=TODAY,
            settings=SETTINGS,
        )
    with refused("postponement_moves_later"):
        postpone_due_date(
            STATE,
            PostponeDueDate(due_date=date(2026, 3, 30), reason="oklar"),
            today=TODAY,
            settings=SETTINGS,
        )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 3, 30), 3, date(2026, 6, 30)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def deferral(
    state: InvoiceState = STATE,
    *,
    until: date = date(2026, 6, 30),
    requested_on: date = TODAY,
    acknowledged: bool = False,
    autogiro: bool = False,
    protected: bool = False,
) -> DeferralGranted:
    return grant_deferral(
        state,
        GrantDeferral(
            deferred_until=until,
            requested_on=requested_on,
            reason="sjukdom",
            protected_identity_acknowledged=acknowledged,
        ),
        today=TODAY,
        settings=SETTINGS,
        registered_by="anna",
        pays_by_autogiro=autogiro,
        protected_identity=protected,
    )


def test_a_deferral_of_at_most_three_months_stops_an_autogiro_debit_but_not_interest() -> None:
    granted = deferral(autogiro=True)
    assert granted.deferred_until == date(2026, 6, 30)
    assert granted.autogiro_debit_stopped
    assert granted.interest_from == date(2026, 3, 30)
    with refused("deferral_at_most_three_months"):
        deferral(until=date(2026, 7, 1))
    with refused("deferral_ends_after_due_date"):
        deferral(until=date(2026, 3, 30))


def test_a_deferral_is_asked_for_between_the_invoice_date_and_the_due_date() -> None:
    with refused("deferral_asked_before_due_date"):
        check_deferral_requested_on(STATE, date(2026, 3, 31), today=date(2026, 4, 2))
    with refused("deferral_requested_not_before_invoice_date"):
        check_deferral_requested_on(STATE, date(2026, 2, 26), today=TODAY)
    with refused("deferral_requested_not_in_future"):
        deferral(requested_on=date(2026, 3, 3))
    check_deferral_requested_on(STATE, date(2026, 3, 30), today=date(2026, 4, 2))


def test_a_paid_or_credited_invoice_has_nothing_to_defer() -> None:
    with refused("deferral_only_while_unpaid"):
        check_deferral_only_while_unpaid(replace(STATE, paid_ore=80000))
    with refused("deferral_only_while_unpaid"):
        deferral(replace(STATE, credited_ore=80000))


def test_a_protected_identitys_deferral_is_granted_only_once_acknowledged() -> None:
    with refused("protected_identity_acknowledged"):
        deferral(protected=True)
    assert deferral(protected=True, acknowledged=True).protected_identity
    check_protected_identity_acknowledged(False, False)


def test_an_invoice_is_disputed_once_and_only_a_disputed_one_resolved() -> None:
    disputed = dispute_invoice(STATE, DisputeInvoice(reason="fel mätarställning"), today=TODAY)
    assert disputed.disputed_on == TODAY
    with refused("dispute_once"):
        dispute_invoice(replace(STATE, disputed=True), DisputeInvoice(reason="igen"), today=TODAY)
    with refused("resolve_only_disputed"):
        resolve_dispute(STATE, ResolveDispute(outcome="claim_stands", reason="rätt"), today=TODAY)
    resolved = resolve_dispute(
        replace(STATE, disputed=True),
        ResolveDispute(outcome="customer_right", reason="avläst fel"),
        today=TODAY,
    )
    assert resolved.outcome == "customer_right"


def replace_line(line: InvoiceLine, **change: object) -> InvoiceLine:
    return line.model_copy(update=change)


def test_what_was_written_off_is_never_credited_or_cancelled_again() -> None:
    # Found by the money-conservation property: a credit note after a write-off took the same
    # öre off the ledger twice (domain.md §4: the write-off is the loss).
    written_off = replace(STATE, written_off_ore=STATE.total_ore)
    assert written_off.open_ore == 0
    with refused("credit_not_above_invoice"):
        credit_request(written_off)
    with refused("cancellation_not_after_write_off"):
        check_cancellation_only_while_unpaid(written_off)
    # A part written off leaves the rest to credit.
    part = replace(STATE, written_off_ore=STATE.total_ore - 100)
    check_credit_not_above_open(part, 100)
    with refused("credit_not_above_invoice"):
        check_credit_not_above_open(part, 101)
