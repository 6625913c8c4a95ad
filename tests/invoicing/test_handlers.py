"""Invoicing's use cases on a ``MemoryEventStore``: commands in, events and answers out, no HTTP.

Each reads as a story (Given / When / Then) of domain.md §2: customers identified once, an
invoice's serial and OCR reference, small amounts held, accumulated or dropped, a departmental
system's invoice booked once, corrections without attest."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.invoicing.application.correction_requests import (
    attest_correction,
    request_correction,
)
from fordra.invoicing.application.handlers import (
    InvoicingDeps,
    SourceReferenceBooked,
    correct_invoice,
    invoice_appends,
    invoice_stream,
    issue_invoice,
    ocr_stream,
    register_customer,
    small_amounts_stream,
)
from fordra.invoicing.application.numbering import serial_stream
from fordra.invoicing.domain.commands import (
    CancelInvoice,
    DisputeInvoice,
    GrantDeferral,
    PostponeDueDate,
)
from fordra.invoicing.domain.invoice import generated_ocr_references
from fordra.invoicing.domain.invoice import issue_invoice as decide_invoice
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import AccessDenied, Role
from fordra.kernel.errors import AlreadyExists, DomainRuleViolation
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import make_ocr
from tests.utils.invoicing import (
    TENANT,
    department,
    invoice_for,
    invoicing_deps,
    meta,
    person,
    personnummer,
    registration,
)

DEPT = department()
ADMIN = person(Role.ADMIN, "ada")
CASE_OFFICER = person(Role.CASE_OFFICER, "anna")
OPS_LEAD = person(Role.OPS_LEAD, "bo")
SETTINGS = InvoicingSettings(
    small_amount_policy={"music_school": "accumulate", "hall_rental": "drop"}
)


@pytest.fixture
def deps(store: MemoryEventStore) -> InvoicingDeps:
    return invoicing_deps(store, settings=SETTINGS)


async def a_customer(deps: InvoicingDeps, serial: int = 1) -> str:
    outcome = await register_customer(
        registration(personnummer("19800101", serial)), deps, DEPT, meta(DEPT)
    )
    return outcome.response.customer_id


async def types_on(store: MemoryEventStore, stream: str) -> list[str]:
    return [env.event_type for env in await store.read_stream(stream)]


# -- customers ------------------------------------------------------------------------------------


async def test_a_customer_is_registered_once_per_identity_number(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    # Given a customer registered by a department
    first = await register_customer(
        registration("19121212-1212"), deps, DEPT, meta(DEPT), idempotency_key="k1"
    )
    customer_id = first.response.customer_id
    assert first.response.kind == "person"
    assert await types_on(store, f"customer-{customer_id}") == ["CustomerRegistered"]
    # When another department registers the same person: the same customer, nothing stored
    other = department("school")
    again = await register_customer(registration("191212121212"), deps, other, meta(other))
    assert again.response.customer_id == customer_id
    assert again.position == 0
    # When a case officer does, who keeps the register: told who it is
    with pytest.raises(AlreadyExists) as known:
        await register_customer(
            registration("19121212-1212"), deps, CASE_OFFICER, meta(CASE_OFFICER)
        )
    assert known.value.existing_id == customer_id
    # And the first request sent again is answered as before
    replayed = await register_customer(
        registration("19121212-1212"), deps, DEPT, meta(DEPT), idempotency_key="k1"
    )
    assert replayed.replayed
    assert replayed.response == first.response


async def test_an_invalid_identity_number_is_refused(deps: InvoicingDeps) -> None:
    with pytest.raises(DomainRuleViolation) as invalid:
        await register_customer(registration("19121212-1213"), deps, DEPT, meta(DEPT))
    assert invalid.value.rule == "valid_identity_number"


# -- issuing an invoice ---------------------------------------------------------------------------


async def test_an_invoice_reserves_its_serial_and_claims_its_ocr_reference(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    # When two invoices are issued
    first = (await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))).response
    second = (await issue_invoice(invoice_for(customer, 20000), deps, DEPT, meta(DEPT))).response
    # Then their serials follow each other, each with the OCR reference it derives
    assert first.invoice is not None
    assert second.invoice is not None
    assert (first.invoice.invoice_number, second.invoice.invoice_number) == ("00000001", "00000002")
    assert first.invoice.ocr == make_ocr(1, length_digit=True)
    assert second.invoice.ocr == make_ocr(2, length_digit=True)
    assert first.invoice.total_ore == 120000
    assert first.invoice.due_date == date(2026, 4, 1)
    # from one block of numbers that this process reserved on the tenant's counter
    assert await types_on(store, serial_stream(TENANT)) == ["InvoiceNumberBlockReserved"]
    assert await types_on(store, invoice_stream(first.invoice.invoice_id)) == ["InvoiceIssued"]
    assert await types_on(store, ocr_stream(TENANT, first.invoice.ocr)) == ["OcrReferenceClaimed"]


async def test_an_invoice_for_an_unknown_customer_is_refused(deps: InvoicingDeps) -> None:
    with pytest.raises(DomainRuleViolation) as unknown:
        await issue_invoice(invoice_for("nobody", 96000), deps, DEPT, meta(DEPT))
    assert unknown.value.rule == "customer_registered"


async def test_a_department_issues_only_its_own_invoices(deps: InvoicingDeps) -> None:
    customer = await a_customer(deps)
    with pytest.raises(AccessDenied):
        await issue_invoice(invoice_for(customer, 96000, dept="school"), deps, DEPT, meta(DEPT))


async def test_a_departments_own_ocr_reference_is_never_reused(deps: InvoicingDeps) -> None:
    customer = await a_customer(deps)
    own = make_ocr("99001", length_digit=True)
    issued = await issue_invoice(invoice_for(customer, 96000, ocr=own), deps, DEPT, meta(DEPT))
    assert issued.response.invoice is not None
    assert issued.response.invoice.ocr == own
    with pytest.raises(DomainRuleViolation) as reused:
        await issue_invoice(invoice_for(customer, 5000, ocr=own), deps, DEPT, meta(DEPT))
    assert reused.value.rule == "ocr_reference_unique"


async def test_a_serial_whose_ocr_a_department_took_gets_the_next_candidate(
    deps: InvoicingDeps,
) -> None:
    customer = await a_customer(deps)
    # Given a department printed the reference serial 2 would derive, on invoice 1
    derived_for_2, next_for_2 = list(generated_ocr_references(2, SETTINGS))[:2]
    await issue_invoice(invoice_for(customer, 96000, ocr=derived_for_2), deps, DEPT, meta(DEPT))
    # When invoice 2 comes without one of its own
    second = await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    # Then it gets the serial behind a zero
    assert second.response.invoice is not None
    assert second.response.invoice.ocr == next_for_2


async def test_a_departments_invoice_id_is_booked_once(deps: InvoicingDeps) -> None:
    customer = await a_customer(deps)
    cmd = invoice_for(customer, 96000, source_reference="VA-2026-0001")
    booked = await issue_invoice(cmd, deps, DEPT, meta(DEPT))
    assert booked.response.invoice is not None
    # sent again without an idempotency key, or by another system of the department
    with pytest.raises(SourceReferenceBooked) as before:
        await issue_invoice(cmd, deps, department(subject="other"), meta(DEPT))
    assert before.value.existing_id == booked.response.invoice.invoice_id


async def test_an_invoice_sent_again_with_its_key_is_answered_as_before(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    cmd = invoice_for(customer, 96000)
    first = await issue_invoice(cmd, deps, DEPT, meta(DEPT), idempotency_key="run-1")
    again = await issue_invoice(cmd, deps, DEPT, meta(DEPT), idempotency_key="run-1")
    assert again.replayed
    assert again.response == first.response
    # and the repeat took no number: the next invoice has the one after
    assert first.response.invoice is not None
    assert first.response.invoice.invoice_number == "00000001"
    after = await issue_invoice(invoice_for(customer, 20000), deps, DEPT, meta(DEPT))
    assert after.response.invoice is not None
    assert after.response.invoice.invoice_number == "00000002"


# -- small amounts (domain.md §2 "Minimum amount") ------------------------------------------------


async def test_45_kr_is_held_and_added_to_the_customers_1200_kr_invoice(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    # Given 45 kr of childcare (0 % VAT): held for the next invoice, not invoiced
    small = await issue_invoice(
        invoice_for(customer, 4500, service="childcare", vat=0), deps, DEPT, meta(DEPT)
    )
    assert small.response.invoice is None
    assert small.response.small_amount is not None
    assert small.response.small_amount.deferred
    assert small.response.small_amount.policy == "hold_for_next_invoice"
    held_id = small.response.small_amount.held_id
    # When a 1,200 kr invoice comes for the same customer
    big = await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    # Then it is one invoice of 1,245 kr, and nothing is held any more
    assert big.response.invoice is not None
    assert big.response.invoice.total_ore == 124500
    assert big.response.included_small_amounts == (held_id,)
    assert await types_on(store, small_amounts_stream(customer)) == [
        "SmallAmountDeferred",
        "SmallAmountsInvoiced",
    ]
    # and the held amount used no serial
    assert big.response.invoice.invoice_number == "00000001"


async def test_accumulated_small_amounts_are_invoiced_once_worth_it(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    # music school accumulates: 24 kr + 25 % VAT (an instrument's rent) = 30 kr is held ...
    first = await issue_invoice(
        invoice_for(customer, 2400, service="music_school"), deps, DEPT, meta(DEPT)
    )
    assert first.response.small_amount is not None
    assert first.response.small_amount.policy == "accumulate"
    # ... and 20 kr more makes 50 kr: an invoice of both
    second = await issue_invoice(
        invoice_for(customer, 1600, service="music_school"), deps, DEPT, meta(DEPT)
    )
    assert second.response.invoice is not None
    assert second.response.invoice.total_ore == 5000
    assert len(second.response.included_small_amounts) == 2
    assert await types_on(store, small_amounts_stream(customer)) == [
        "SmallAmountDeferred",
        "SmallAmountDeferred",
        "SmallAmountsInvoiced",
    ]


async def test_a_service_that_drops_small_amounts_charges_nothing(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    dropped = await issue_invoice(
        invoice_for(customer, 3000, service="hall_rental"), deps, DEPT, meta(DEPT)
    )
    assert dropped.response.invoice is None
    assert dropped.response.small_amount is not None
    assert dropped.response.small_amount.dropped
    assert await types_on(store, small_amounts_stream(customer)) == ["SmallAmountDropped"]
    assert await store.stream_version(serial_stream(TENANT)) == 0


# -- the invoice appends, shared with the payments benchmark --------------------------------------


async def test_invoices_appended_through_invoice_appends_are_seen_as_the_use_cases_own(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    # Given invoice 1 decided by the domain and appended with the use case's helper (as the
    # payments benchmark seeds its invoices)
    issued = decide_invoice(
        invoice_for(customer, 96000),
        invoice_id="seeded",
        serial_number=await deps.serials(meta(DEPT)).take(),
        settings=deps.settings,
        calendar=deps.calendar,
    )
    await store.append(
        invoice_appends(
            issued, registry=deps.registry, meta=meta(DEPT), occurred_at=deps.clock.now()
        )
    )
    # When the use case issues the next: the serial goes on, and the seeded OCR is taken
    after = await issue_invoice(invoice_for(customer, 20000), deps, DEPT, meta(DEPT))
    assert after.response.invoice is not None
    assert after.response.invoice.invoice_number == "00000002"
    with pytest.raises(DomainRuleViolation) as reused:
        await issue_invoice(invoice_for(customer, 5000, ocr=issued.ocr), deps, DEPT, meta(DEPT))
    assert reused.value.rule == "ocr_reference_unique"


async def test_a_water_period_is_billed_once_while_its_invoice_stands(
    store: MemoryEventStore,
) -> None:
    # water's periods may not overlap (domain.md §2 "Billing periods"; ownership not checked here)
    deps = invoicing_deps(store, settings=replace_settings(owner_liable_services=()))
    customer = await a_customer(deps)
    water = invoice_for(customer, 96000, service="water")
    first = await issue_invoice(water, deps, DEPT, meta(DEPT))
    assert first.response.invoice is not None
    assert (
        first.response.invoice.billing_period_start,
        first.response.invoice.billing_period_end,
    ) == (date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(DomainRuleViolation) as again:
        await issue_invoice(water, deps, DEPT, meta(DEPT))
    assert again.value.rule == "billing_periods_do_not_overlap"
    # When the first invoice is cancelled (asked for, and attested by someone else)
    request = await request_correction(
        first.response.invoice.invoice_id,
        CancelInvoice(reason="fel kund"),
        deps,
        CASE_OFFICER,
        meta(CASE_OFFICER),
    )
    await attest_correction(request.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    # Then the period can be billed again
    rebilled = await issue_invoice(water, deps, DEPT, meta(DEPT))
    assert rebilled.response.invoice is not None
    assert rebilled.response.invoice.billing_period_start == date(2026, 1, 1)


def replace_settings(**change: object) -> InvoicingSettings:
    return SETTINGS.model_copy(update=change)


# -- corrections without attest -------------------------------------------------------------------


async def test_a_postponement_then_a_deferral_then_a_dispute(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    customer = await a_customer(deps)
    issued = await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    assert issued.response.invoice is not None
    invoice_id = issued.response.invoice.invoice_id
    # the due date 2026-04-01 moves to 2026-04-15 ...
    moved = await correct_invoice(
        invoice_id,
        PostponeDueDate(due_date=date(2026, 4, 15), reason="oklar faktura"),
        deps,
        CASE_OFFICER,
        meta(CASE_OFFICER),
    )
    assert moved.response.due_date == date(2026, 4, 15)
    # ... a deferral to the end of May, interest still from invoice date + 30 days ...
    deferred = await correct_invoice(
        invoice_id,
        GrantDeferral(
            deferred_until=date(2026, 5, 31), requested_on=date(2026, 3, 2), reason="sjukdom"
        ),
        deps,
        CASE_OFFICER,
        meta(CASE_OFFICER),
    )
    assert deferred.response.deferred_until == date(2026, 5, 31)
    assert deferred.response.interest_from == date(2026, 4, 15)
    # ... and a dispute, once
    disputed = await correct_invoice(
        invoice_id, DisputeInvoice(reason="fel mätare"), deps, DEPT, meta(DEPT)
    )
    assert disputed.response.disputed
    with pytest.raises(DomainRuleViolation) as twice:
        await correct_invoice(invoice_id, DisputeInvoice(reason="igen"), deps, DEPT, meta(DEPT))
    assert twice.value.rule == "dispute_once"
    assert await types_on(store, invoice_stream(invoice_id)) == [
        "InvoiceIssued",
        "DueDatePostponed",
        "DeferralGranted",
        "InvoiceDisputed",
    ]


async def test_a_department_corrects_only_its_own_invoices(deps: InvoicingDeps) -> None:
    customer = await a_customer(deps)
    issued = await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    assert issued.response.invoice is not None
    school = department("school")
    with pytest.raises(AccessDenied):
        await correct_invoice(
            issued.response.invoice.invoice_id,
            DisputeInvoice(reason="inte vår"),
            deps,
            school,
            meta(school),
        )
