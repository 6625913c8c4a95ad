"""The bank-file import use case (``import_payment_file``) on a ``MemoryEventStore``: match,
allocate, set off, credit or queue each payment, the whole file in one append and only once
(domain.md §2, §3, §9)."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.payments import (
    AutogiroDebitFailed,
    CustomerCreditRecorded,
    PaymentAllocated,
    PaymentMatched,
    PaymentReceived,
    PaymentUnmatched,
)
from fordra.kernel.auth import AccessDenied, Role
from fordra.payments.application.import_file import ImportResult, import_payment_file
from fordra.payments.application.streams import (
    autogiro_payer_stream,
    credit_stream,
    receivable_stream,
)
from fordra.payments.domain.bank_file import AutogiroResult, BankFileRejected, ParsedBankFile
from fordra.payments.domain.events import AutogiroPayerRegistered
from tests.utils.payments import PaymentsOnMemory, bank_payment

TODAY = date(2026, 3, 2)


@pytest.fixture
async def payments() -> PaymentsOnMemory:
    return await PaymentsOnMemory.start(TODAY)


async def imported(payments: PaymentsOnMemory, data: bytes) -> ImportResult:
    ingest = payments.principal(Role.BANK_INGEST, "bank")
    return (await import_payment_file(data, payments.deps, ingest, payments.meta())).response


async def test_a_payment_of_an_invoice_by_its_ocr_pays_it(payments: PaymentsOnMemory) -> None:
    # Given an open invoice of 1,250 kr
    invoice = await payments.invoice("c-1", {"water": 125_000}, due=date(2026, 3, 31))
    # When a camt.054 pays it by its OCR number
    result = await imported(
        payments, payments.bank_file("camt054", bank_payment(invoice.ocr, 125_000))
    )
    # Then it is matched and allocated, and the invoice is paid
    assert result.model_dump(include={"payments", "matched", "unmatched", "total_ore"}) == {
        "payments": 1,
        "matched": 1,
        "unmatched": 0,
        "total_ore": 125_000,
    }
    paid = await payments.receivable(invoice.invoice_id)
    assert paid is not None
    assert paid.open_ore == 0
    log = await payments.log()
    assert [e.method for e in log if isinstance(e, PaymentMatched)] == ["ocr"]


async def test_an_overpayment_is_set_off_against_the_oldest_open_claim_and_the_rest_credited(
    payments: PaymentsOnMemory,
) -> None:
    # Given three open invoices of one customer, one of them disputed
    paid = await payments.invoice("c-1", {"water": 100_000}, due=date(2026, 3, 31))
    later = await payments.invoice("c-1", {"waste": 20_000}, due=date(2026, 4, 30))
    earlier = await payments.invoice("c-1", {"waste": 10_000}, due=date(2026, 2, 28))
    # When the first is paid 1,500 kr by its OCR number
    data = payments.bank_file("bgmax", bank_payment(paid.ocr, 150_000, bgmax_reference_code=2))
    await imported(payments, data)
    # Then 1,000 kr pays it, 100 kr the earlier due and 200 kr the later invoice by set-off, and
    # the 200 kr left is the customer's credit (domain.md §2: "first set off")
    log = await payments.log()
    allocations = [(e.invoice_id, e.amount_ore) for e in log if isinstance(e, PaymentAllocated)]
    assert allocations == [
        (paid.invoice_id, 100_000),
        (earlier.invoice_id, 10_000),
        (later.invoice_id, 20_000),
    ]
    assert [e.method for e in log if isinstance(e, PaymentMatched)] == [
        "ocr",
        "set_off",
        "set_off",
    ]
    credit = await payments.events_of(credit_stream("c-1"), CustomerCreditRecorded)
    assert [(c.amount_ore, c.reason) for c in credit] == [(20_000, "overpayment")]


async def test_a_bgmax_reference_that_is_not_a_checked_ocr_waits_in_the_queue(
    payments: PaymentsOnMemory,
) -> None:
    invoice = await payments.invoice("c-1", {"water": 125_000}, due=date(2026, 3, 31))
    # BgMax reference code 3: "one or more references", unchecked (domain.md §9)
    data = payments.bank_file("bgmax", bank_payment(invoice.ocr, 125_000, bgmax_reference_code=3))

    result = await imported(payments, data)

    assert result.unmatched == 1
    unmatched = [e for e in await payments.log() if isinstance(e, PaymentUnmatched)]
    assert [e.reason for e in unmatched] == ["BgMax reference code 3 is not a checked OCR"]
    still = await payments.receivable(invoice.invoice_id)
    assert still is not None
    assert still.open_ore == 125_000


async def test_a_payment_naming_no_open_invoice_waits_in_the_queue(
    payments: PaymentsOnMemory,
) -> None:
    invoice = await payments.invoice("c-1", {"water": 125_000}, due=date(2026, 3, 31))
    await imported(payments, payments.bank_file("camt054", bank_payment(invoice.ocr, 125_000)))

    await imported(payments, payments.bank_file("camt054", bank_payment(invoice.ocr, 125_000)))

    reasons = [e.reason for e in await payments.log() if isinstance(e, PaymentUnmatched)]
    assert reasons == ["the invoice the OCR reference names is not open"]


async def test_the_same_file_again_books_nothing(payments: PaymentsOnMemory) -> None:
    invoice = await payments.invoice("c-1", {"water": 125_000}, due=date(2026, 3, 31))
    data = payments.bank_file("camt054", bank_payment(invoice.ocr, 125_000))
    first = await imported(payments, data)
    head = await payments.store.max_position()

    again = await imported(payments, data)

    assert again.duplicate
    assert again.file_id == first.file_id
    assert await payments.store.max_position() == head


async def test_a_payment_already_booked_from_another_file_is_a_duplicate(
    payments: PaymentsOnMemory,
) -> None:
    invoice = await payments.invoice("c-1", {"water": 125_000}, due=date(2026, 3, 31))
    payment = bank_payment(invoice.ocr, 50_000, bank_reference="SAME-REF")
    await imported(payments, payments.bank_file("camt054", payment))

    result = await imported(payments, payments.bank_file("camt054", payment))

    assert (result.payments, result.duplicates) == (0, 1)
    received = [e for e in await payments.log() if isinstance(e, PaymentReceived)]
    assert len(received) == 1


async def test_a_rejected_file_books_nothing(payments: PaymentsOnMemory) -> None:
    head = await payments.store.max_position()
    ingest = payments.principal(Role.BANK_INGEST, "bank")
    data = payments.bank_file("camt054", bank_payment("1234574", 10**15))

    with pytest.raises(BankFileRejected):
        await import_payment_file(data, payments.deps, ingest, payments.meta())

    assert await payments.store.max_position() == head


async def test_only_the_bank_ingest_and_admins_import(payments: PaymentsOnMemory) -> None:
    data = payments.bank_file("camt054", bank_payment("1234574", 100))
    officer = payments.principal(Role.CASE_OFFICER)

    with pytest.raises(AccessDenied):
        await import_payment_file(data, payments.deps, officer, payments.meta())


def autogiro_file(*results: AutogiroResult) -> ParsedBankFile:
    return ParsedBankFile(
        format="autogiro",
        layout="autogiro",
        file_reference="AG-1",
        created_at=None,
        autogiro_results=results,
    )


def debit(
    amount_ore: int, status: str = "approved", reference: str | None = None
) -> AutogiroResult:
    return AutogiroResult.model_validate(
        {
            "kind": "debit",
            "status": status,
            "status_code": {"approved": "0", "insufficient_funds": "1"}[status],
            "payer_number": "4711",
            "amount_ore": amount_ore,
            "payment_date": TODAY,
            "reference": reference,
            "payee_bankgiro": "9912346",
            "line": 3,
        }
    )


async def test_an_approved_autogiro_debit_pays_the_payers_invoice_of_its_amount(
    payments: PaymentsOnMemory,
) -> None:
    # Given a customer paying by Autogiro (payer number 4711) with two open invoices
    await payments.given(autogiro_payer_stream("4711"), AutogiroPayerRegistered(customer_id="c-1"))
    other = await payments.invoice("c-1", {"water": 45_000}, due=date(2026, 2, 28))
    invoice = await payments.invoice("c-1", {"water": 30_000}, due=date(2026, 3, 31))
    # When the payment specification reports an approved debit of 300 kr and a refused one
    data = b"autogiro-1"
    payments.files[data] = autogiro_file(debit(30_000), debit(45_000, "insufficient_funds"))
    result = await imported(payments, data)
    # Then the invoice of exactly that amount is paid; the refused debit leaves the other unpaid
    assert (result.matched, result.failed_debits) == (1, 1)
    paid = await payments.receivable(invoice.invoice_id)
    unpaid = await payments.receivable(other.invoice_id)
    assert paid is not None
    assert paid.open_ore == 0
    assert unpaid is not None
    assert unpaid.open_ore == 45_000
    failed = [e for e in await payments.log() if isinstance(e, AutogiroDebitFailed)]
    assert [(f.status, f.invoice_id) for f in failed] == [("insufficient_funds", other.invoice_id)]


async def test_money_in_equals_money_out_over_a_mixed_file(payments: PaymentsOnMemory) -> None:
    # Given open invoices of two customers
    a1 = await payments.invoice("c-1", {"water": 40_000, "electricity_grid": 10_000}, due=TODAY)
    a2 = await payments.invoice("c-1", {"waste": 7_000}, due=date(2026, 1, 31))
    b1 = await payments.invoice("c-2", {"water": 12_000}, due=TODAY)
    # When one file overpays one, part-pays another, pays a third and names nothing
    data = payments.bank_file(
        "camt054",
        bank_payment(a1.ocr, 60_000),
        bank_payment(b1.ocr, 5_000),
        bank_payment(a2.ocr, 1_000),
        bank_payment("Faktura mars", 3_000, reference_kind="free_text"),
    )
    await imported(payments, data)
    # Then every öre received is allocated, credited or waiting in the queue
    log = await payments.log()
    received = sum(e.amount_ore for e in log if isinstance(e, PaymentReceived))
    allocated = sum(e.amount_ore for e in log if isinstance(e, PaymentAllocated))
    credited = sum(e.amount_ore for e in log if isinstance(e, CustomerCreditRecorded))
    queued = sum(e.amount_ore for e in log if isinstance(e, PaymentUnmatched))
    assert received == 69_000
    assert allocated + credited + queued == received
    # a1's 600 kr pays it, sets 70 kr off against a2 and leaves 30 kr credit; a2's own 10 kr
    # then finds it paid and waits in the queue with the 30 kr that named no invoice
    assert (allocated, credited, queued) == (50_000 + 7_000 + 5_000, 3_000, 1_000 + 3_000)
    # The electricity is paid before the water on the co-billed invoice (domain.md §3)
    first = [
        (e.service_type, e.amount_ore)
        for e in await payments.events_of(receivable_stream(a1.invoice_id), PaymentAllocated)
    ]
    assert first == [("electricity_grid", 10_000), ("water", 40_000)]
