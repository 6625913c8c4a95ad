"""Which payments of a bank file are matched to an invoice without a person (domain.md §9 "Bank
files"), per bank format; everything else waits in the investigation queue with the reason.

- **camt.054**: a booked credit (``CdtDbtInd=CRDT``, ``Sts=BOOK``, not a reversal) whose reference
  is of type ``SCOR`` (the parser keeps only such entries as payments and answers a ``SCOR``
  reference as ``reference_kind="ocr"``).
- **BgMax**: "Only reference code 2 (correct OCR) and 4 auto-match; the rest go to the
  investigation queue" (``BGMAX_AUTO_MATCH_REFERENCE_CODES``).
- **Autogiro**: an approved debit (status 0) moves money; its reference, when it is an OCR number
  of ours, names the invoice, else the payer number's customer's oldest open invoice of exactly
  that amount does (``claim_for_autogiro_debit``). A debit refused for insufficient funds, a closed
  account or renewed funds (status 1, 2, 9) leaves the invoice unpaid.

Whatever the format, only a positive payment in SEK with a valid OCR number is matched
automatically (the one currency receivables are booked in). The OCR number must then still name
an open invoice, which the application reads from the store.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from fordra.kernel.ocr import is_valid_ocr
from fordra.payments.domain.bank_file import AutogiroResult, AutogiroStatus, BankPayment
from fordra.payments.domain.receivable import Receivable

__all__ = [
    "AUTOGIRO_PAID_STATUSES",
    "BGMAX_AUTO_MATCH_REFERENCE_CODES",
    "BOOKING_CURRENCY",
    "OCR_LENGTH_DIGIT_REQUIRED",
    "autogiro_debit_is_paid",
    "autogiro_ocr_reference",
    "claim_for_autogiro_debit",
    "why_not_matched_automatically",
]

# Bankgirot's reference codes that carry a checked OCR number (domain.md §9: "Only reference
# code 2 (correct OCR) and 4 auto-match").
BGMAX_AUTO_MATCH_REFERENCE_CODES: Final[frozenset[int]] = frozenset({2, 4})

# The Autogiro results that paid the invoice (domain.md §9 "Autogiro": 0 approved).
AUTOGIRO_PAID_STATUSES: Final[frozenset[AutogiroStatus]] = frozenset({"approved"})

# The one currency receivables are booked in; a payment in another is only ever refunded.
BOOKING_CURRENCY: Final[str] = "SEK"

# The payers' banks check an OCR number's Luhn digit; the length digit is the payee's option
# (Bankgirot's OCR agreement), and ours does not require it.
OCR_LENGTH_DIGIT_REQUIRED: Final[bool] = False


def why_not_matched_automatically(file_format: str, payment: BankPayment) -> str | None:
    """Why ``payment`` of a file in ``file_format`` waits for a person in the investigation
    queue, or None when its OCR reference may match it to an invoice (module docstring;
    domain.md §9)."""
    if payment.kind != "payment" or payment.amount_ore <= 0:
        return f"a {payment.kind} is handled by hand"
    if payment.currency != BOOKING_CURRENCY:
        return f"paid in {payment.currency}: never booked as {BOOKING_CURRENCY}"
    if payment.reference_kind != "ocr" or not payment.reference:
        return "no OCR reference"
    if (
        file_format == "bgmax"
        and payment.bgmax_reference_code not in BGMAX_AUTO_MATCH_REFERENCE_CODES
    ):
        return f"BgMax reference code {payment.bgmax_reference_code} is not a checked OCR"
    if not is_valid_ocr(payment.reference, length_digit_required=OCR_LENGTH_DIGIT_REQUIRED):
        return "the reference is not a valid OCR number"
    return None


def autogiro_debit_is_paid(debit: AutogiroResult) -> bool:
    """An Autogiro debit that paid the invoice: approved (domain.md §9 "Autogiro")."""
    return debit.kind == "debit" and debit.status in AUTOGIRO_PAID_STATUSES


def autogiro_ocr_reference(debit: AutogiroResult) -> str | None:
    """The OCR number an Autogiro debit's reference carries, if it is one: the record pads the
    reference with zeros on the left, which an OCR number never starts with."""
    if not debit.reference:
        return None
    ocr = debit.reference.lstrip("0") or "0"
    if not is_valid_ocr(ocr, length_digit_required=OCR_LENGTH_DIGIT_REQUIRED):
        return None
    return debit.reference.lstrip("0")


def claim_for_autogiro_debit(claims: Iterable[Receivable], amount_ore: int) -> Receivable | None:
    """The claim an Autogiro debit without an OCR reference of ours pays: of the payer's
    customer's claims, the one whose open amount is exactly the debit's, the oldest due date
    first, then the order the invoices were issued (so the same facts always give the same
    claim)."""
    candidates = [c for c in claims if c.open_ore == amount_ore]
    return min(candidates, key=lambda c: (c.due_date, c.invoice_number), default=None)
