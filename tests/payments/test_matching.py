"""Which payments match an invoice without a person, per bank format (domain/matching.py;
domain.md §9 "Bank files")."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.kernel.ocr import make_ocr
from fordra.payments.domain.bank_file import AutogiroResult, AutogiroStatus, BankPayment
from fordra.payments.domain.matching import (
    autogiro_debit_is_paid,
    autogiro_ocr_reference,
    claim_for_autogiro_debit,
    why_not_matched_automatically,
)
from fordra.payments.domain.receivable import Receivable

OCR = make_ocr(12345, length_digit=True)  # "1234574", domain.md §2


def payment(**changes: Any) -> BankPayment:
    fields: dict[str, Any] = {
        "bank_reference": "REF-1",
        "amount_ore": 125_000,
        "currency": "SEK",
        "reference": OCR,
        "reference_kind": "ocr",
        "received_on": date(2026, 3, 2),
        "section": "1",
    }
    return BankPayment.model_validate({**fields, **changes})


@pytest.mark.parametrize("code", [2, 4])
def test_bgmax_reference_codes_2_and_4_match_automatically(code: int) -> None:
    # domain.md §9: "Only reference code 2 (correct OCR) and 4 auto-match"
    assert why_not_matched_automatically("bgmax", payment(bgmax_reference_code=code)) is None


@pytest.mark.parametrize("code", [0, 1, 3, 5])
def test_every_other_bgmax_reference_code_goes_to_the_investigation_queue(code: int) -> None:
    reason = why_not_matched_automatically("bgmax", payment(bgmax_reference_code=code))
    assert reason == f"BgMax reference code {code} is not a checked OCR"


def test_a_camt054_credit_with_an_scor_reference_matches_automatically() -> None:
    # The parser answers a SCOR reference as "ocr"; a camt.054 has no reference code to check
    assert why_not_matched_automatically("camt054", payment(reference_type="SCOR")) is None


def test_a_reference_without_an_ocr_number_waits_for_a_person() -> None:
    free_text = payment(reference="Faktura 12345", reference_kind="free_text")
    assert why_not_matched_automatically("camt054", free_text) == "no OCR reference"
    no_reference = payment(reference=None, reference_kind="none")
    assert why_not_matched_automatically("camt054", no_reference) == "no OCR reference"


def test_an_ocr_number_failing_its_check_digit_waits_for_a_person() -> None:
    broken = payment(reference=OCR[:-1] + str((int(OCR[-1]) + 1) % 10), bgmax_reference_code=2)
    for file_format in ("camt054", "bgmax"):
        reason = why_not_matched_automatically(file_format, broken)
        assert reason == "the reference is not a valid OCR number"


def test_the_length_digit_is_not_required() -> None:
    assert (
        why_not_matched_automatically(
            "camt054", payment(reference=make_ocr(12345, length_digit=False))
        )
        is None
    )


def test_a_payment_in_another_currency_is_never_booked_as_sek() -> None:
    reason = why_not_matched_automatically("camt054", payment(currency="EUR"))
    assert reason == "paid in EUR: never booked as SEK"


@pytest.mark.parametrize("kind", ["deduction", "reversal"])
def test_deductions_and_reversals_are_handled_by_hand(kind: str) -> None:
    reason = why_not_matched_automatically("bgmax", payment(kind=kind, amount_ore=-100))
    assert reason == f"a {kind} is handled by hand"


def debit(status: AutogiroStatus = "approved", **changes: Any) -> AutogiroResult:
    fields: dict[str, Any] = {
        "kind": "debit",
        "status": status,
        "status_code": "0",
        "payer_number": "4711",
        "amount_ore": 30_000,
        "payment_date": date(2026, 3, 2),
        "payee_bankgiro": "9912346",
        "line": 3,
    }
    return AutogiroResult.model_validate({**fields, **changes})


def test_only_an_approved_autogiro_debit_pays_the_invoice() -> None:
    # domain.md §9 "Autogiro": 0 approved, 1 insufficient funds, 2 account closed, 9 renewed funds
    assert autogiro_debit_is_paid(debit("approved"))
    for status in ("insufficient_funds", "account_closed", "renewed_funds"):
        assert not autogiro_debit_is_paid(debit(status))  # type: ignore[arg-type]
    assert not autogiro_debit_is_paid(debit("approved", kind="refund"))


def test_an_autogiro_reference_is_an_ocr_number_without_its_leading_zeros() -> None:
    assert autogiro_ocr_reference(debit(reference=f"000000000{OCR}")) == OCR
    assert autogiro_ocr_reference(debit(reference="000000012346")) is None  # fails the check
    assert autogiro_ocr_reference(debit(reference=None)) is None


def receivable(invoice: str, open_ore: int, due: date) -> Receivable:
    return Receivable(invoice, invoice, "c-1", "133", due, {"water": open_ore})


def test_without_an_ocr_reference_a_debit_pays_the_oldest_claim_of_exactly_its_amount() -> None:
    claims = [
        receivable("00000003", 30_000, date(2026, 3, 31)),
        receivable("00000002", 30_000, date(2026, 2, 28)),
        receivable("00000001", 45_000, date(2026, 1, 31)),
        receivable("00000004", 30_000, date(2026, 2, 28)),
    ]
    found = claim_for_autogiro_debit(claims, 30_000)
    assert found is not None
    assert found.invoice_id == "00000002"
    assert claim_for_autogiro_debit(claims, 29_999) is None
