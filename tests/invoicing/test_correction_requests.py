"""Credit notes and cancellations on a ``MemoryEventStore`` (domain.md §2 "Credit note /
cancellation / refund", seed 002 lines 587-603: "endast med korrekt attest"): asked for by one
person, attested by another, checked again on the invoice as it is then."""

from __future__ import annotations

import pytest

from fordra.invoicing.application.correction_requests import (
    attest_correction,
    correction_request_stream,
    reject_correction,
    request_correction,
)
from fordra.invoicing.application.handlers import (
    InvoicingDeps,
    invoice_stream,
    issue_invoice,
    register_customer,
)
from fordra.invoicing.application.numbering import serial_stream
from fordra.invoicing.domain.commands import (
    CancelInvoice,
    InvoiceLineInput,
    IssueCreditNote,
    RejectCorrection,
)
from fordra.kernel.auth import AccessDenied, Role
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.memory_eventstore import MemoryEventStore
from tests.utils.invoicing import (
    TENANT,
    department,
    invoice_for,
    invoicing_deps,
    meta,
    person,
    registration,
)

DEPT = department()
CASE_OFFICER = person(Role.CASE_OFFICER, "anna")
OPS_LEAD = person(Role.OPS_LEAD, "bo")


@pytest.fixture
def deps(store: MemoryEventStore) -> InvoicingDeps:
    return invoicing_deps(store)


async def an_invoice(deps: InvoicingDeps, *amounts_ore: int) -> str:
    """An invoice of 1,200 kr (960 kr + 25 % VAT) unless other net amounts are given."""
    customer = await register_customer(registration("19121212-1212"), deps, DEPT, meta(DEPT))
    issued = await issue_invoice(
        invoice_for(customer.response.customer_id, *(amounts_ore or (96000,))),
        deps,
        DEPT,
        meta(DEPT),
    )
    assert issued.response.invoice is not None
    return issued.response.invoice.invoice_id


async def types_on(store: MemoryEventStore, stream: str) -> list[str]:
    return [env.event_type for env in await store.read_stream(stream)]


async def test_a_credit_note_is_issued_on_attest_with_a_serial_of_its_own(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await an_invoice(deps)
    # Given a case officer asks to credit all that is left
    asked = await request_correction(
        invoice_id, IssueCreditNote(reason="fel pris"), deps, CASE_OFFICER, meta(CASE_OFFICER)
    )
    assert (asked.response.status, asked.response.total_ore) == ("pending", 120000)
    assert await types_on(store, invoice_stream(invoice_id)) == ["InvoiceIssued"]
    # When an ops lead attests it
    done = await attest_correction(asked.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    # Then the credit note takes the next serial, and nothing is left open
    assert done.response.credit_note_number == "00000002"
    assert (done.response.credited_ore, done.response.open_ore) == (120000, 0)
    assert done.response.attested_by == OPS_LEAD.actor
    assert await types_on(store, invoice_stream(invoice_id)) == [
        "InvoiceIssued",
        "CreditNoteIssued",
    ]
    # from the invoices' series: the block the invoice's number came from
    assert await types_on(store, serial_stream(TENANT)) == ["InvoiceNumberBlockReserved"]
    assert await types_on(store, correction_request_stream(asked.response.request_id)) == [
        "CreditNoteRequested",
        "CorrectionRequestAttested",
    ]
    # and a request is decided once
    with pytest.raises(DomainRuleViolation) as twice:
        await attest_correction(asked.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    assert twice.value.rule == "correction_decided_once"


async def test_a_partial_credit_then_the_rest_by_its_lines(deps: InvoicingDeps) -> None:
    invoice_id = await an_invoice(deps, 80000, 16000)
    part = IssueCreditNote(
        reason="en rad fel",
        lines=(InvoiceLineInput(description="Avgift", unit_price_ore=16000, vat_rate=25),),
    )
    asked = await request_correction(invoice_id, part, deps, CASE_OFFICER, meta(CASE_OFFICER))
    done = await attest_correction(asked.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    assert (done.response.credited_ore, done.response.open_ore) == (20000, 100000)
    # "all that is left" is no longer a credit note of its own: its lines are named
    with pytest.raises(DomainRuleViolation) as unnamed:
        await request_correction(
            invoice_id, IssueCreditNote(reason="resten"), deps, CASE_OFFICER, meta(CASE_OFFICER)
        )
    assert unnamed.value.rule == "credit_lines_needed_after_partial_credit"


async def test_who_asked_does_not_attest(deps: InvoicingDeps) -> None:
    invoice_id = await an_invoice(deps)
    lead = person(Role.OPS_LEAD, "anna")  # the same person with an ops lead's token
    asked = await request_correction(
        invoice_id, IssueCreditNote(reason="fel pris"), deps, CASE_OFFICER, meta(CASE_OFFICER)
    )
    with pytest.raises(DomainRuleViolation) as own:
        await attest_correction(asked.response.request_id, deps, lead, meta(lead))
    assert own.value.rule == "four_eyes_attest"
    # and a case officer may ask, never attest
    with pytest.raises(AccessDenied):
        await attest_correction(
            asked.response.request_id, deps, person(Role.CASE_OFFICER, "cissi"), meta(DEPT)
        )


async def test_the_attest_checks_the_invoice_as_it_is_then(deps: InvoicingDeps) -> None:
    invoice_id = await an_invoice(deps)
    # Given a credit note and a cancellation asked for while the invoice was open
    credit = await request_correction(
        invoice_id, IssueCreditNote(reason="fel pris"), deps, CASE_OFFICER, meta(CASE_OFFICER)
    )
    cancel = await request_correction(
        invoice_id, CancelInvoice(reason="fel kund"), deps, CASE_OFFICER, meta(CASE_OFFICER)
    )
    # When the cancellation is attested first
    cancelled = await attest_correction(cancel.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    assert cancelled.response.cancelled
    assert cancelled.response.open_ore == 0
    # Then the credit note no longer holds
    with pytest.raises(DomainRuleViolation) as gone:
        await attest_correction(credit.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    assert gone.value.rule == "invoice_not_cancelled"


async def test_a_rejected_request_changes_nothing_on_the_invoice(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await an_invoice(deps)
    asked = await request_correction(
        invoice_id, CancelInvoice(reason="fel kund"), deps, CASE_OFFICER, meta(CASE_OFFICER)
    )
    rejected = await reject_correction(
        asked.response.request_id,
        RejectCorrection(reason="kunden är rätt"),
        deps,
        OPS_LEAD,
        meta(OPS_LEAD),
    )
    assert (rejected.response.status, rejected.response.decided_by) == ("rejected", OPS_LEAD.actor)
    assert await types_on(store, invoice_stream(invoice_id)) == ["InvoiceIssued"]
    with pytest.raises(DomainRuleViolation) as decided:
        await attest_correction(asked.response.request_id, deps, OPS_LEAD, meta(OPS_LEAD))
    assert decided.value.rule == "correction_decided_once"


async def test_a_department_asks_only_about_its_own_invoices(deps: InvoicingDeps) -> None:
    invoice_id = await an_invoice(deps)
    school = department("school")
    with pytest.raises(AccessDenied):
        await request_correction(
            invoice_id, IssueCreditNote(reason="fel pris"), deps, school, meta(school)
        )
    own = await request_correction(
        invoice_id, IssueCreditNote(reason="fel pris"), deps, DEPT, meta(DEPT)
    )
    assert own.response.customer_kind == "person"
