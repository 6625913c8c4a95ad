"""Bankgiro OCR payment references (domain.md §2 "Payment reference", §9 BgMax/camt.054).

An OCR reference is 2-25 digits whose last digit is a Luhn (mod 10) check digit. With
Bankgirot's optional length control the second-to-last digit is a length digit: the total
length (check and length digit included) mod 10. The length digit is part of the number
the check digit is computed over. Example (domain.md §2): invoice 12345 -> "1234574"
(7 digits, so the length digit is 7; the Luhn check digit of "123457" is 4).

Payments whose reference fails these checks are not auto-matched (domain.md §9: only
reference code 2, "correct OCR", auto-matches), so the errors say exactly what is wrong
for the investigation queue.

Pure: no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from stdnum import luhn

__all__ = [
    "MAX_OCR_LENGTH",
    "MIN_OCR_LENGTH",
    "InvalidOcrReference",
    "OcrProblem",
    "is_valid_ocr",
    "luhn_check_digit",
    "make_ocr",
    "validate_ocr",
]

# domain.md §2: "digits, 2-25 long".
MIN_OCR_LENGTH: Final[int] = 2
MAX_OCR_LENGTH: Final[int] = 25

# ASCII digits only: str.isdigit() also accepts e.g. "²" and Arabic-Indic digits, which no
# bank file can carry.
_DIGITS: Final[re.Pattern[str]] = re.compile(r"[0-9]+")


class OcrProblem(StrEnum):
    """Why a reference is not a valid OCR number (machine-readable, for queues)."""

    NOT_DIGITS = "not_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    WRONG_CHECK_DIGIT = "wrong_check_digit"
    WRONG_LENGTH_DIGIT = "wrong_length_digit"


class InvalidOcrReference(ValueError):
    """An OCR reference that breaks domain.md §2; `problem` says which rule."""

    def __init__(self, problem: OcrProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _is_digits(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None


def luhn_check_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit to append to `digits` (domain.md §2).

    Raises ValueError unless `digits` is one or more ASCII digits.
    """
    if not _is_digits(digits):
        raise ValueError(f"Luhn input must be one or more digits 0-9, got {digits!r}")
    return luhn.calc_check_digit(digits)


def make_ocr(base: str | int, *, length_digit: bool) -> str:
    """Build an OCR reference from `base` (e.g. an invoice number) (domain.md §2).

    Appends the length digit (when `length_digit`) and then the Luhn check digit, which
    covers the length digit too: make_ocr(12345, length_digit=True) == "1234574".
    A str base keeps its leading zeros; an int base must not be negative.
    Raises InvalidOcrReference when the base is not digits or the result would fall
    outside 2-25 digits.
    """
    if isinstance(base, int):
        if base < 0:
            raise InvalidOcrReference(
                OcrProblem.NOT_DIGITS, f"OCR base must not be negative, got {base}"
            )
        base = str(base)
    if not _is_digits(base):
        raise InvalidOcrReference(
            OcrProblem.NOT_DIGITS, f"OCR base must be one or more digits 0-9, got {base!r}"
        )
    # A non-empty base plus the check digit is always at least MIN_OCR_LENGTH long.
    total = len(base) + 1 + (1 if length_digit else 0)
    if total > MAX_OCR_LENGTH:
        raise InvalidOcrReference(
            OcrProblem.TOO_LONG,
            f"OCR reference would be {total} digits; at most {MAX_OCR_LENGTH} allowed "
            f"(base {base!r} is too long)",
        )
    body = base + (str(total % 10) if length_digit else "")
    return body + luhn_check_digit(body)


def validate_ocr(ocr: str, *, length_digit_required: bool) -> None:
    """Raise InvalidOcrReference unless `ocr` is a valid OCR reference (domain.md §2).

    Checks, in this order: only digits 0-9 (no spaces: callers strip bank-file padding),
    length 2-25, the Luhn check digit, then, when `length_digit_required`, that the
    second-to-last digit equals the total length mod 10. The check digit is checked
    before the length digit because a typing error is the likelier cause and the check
    digit covers the length digit anyway.
    """
    if not _is_digits(ocr):
        if ocr == "":
            raise InvalidOcrReference(OcrProblem.TOO_SHORT, "OCR reference is empty")
        raise InvalidOcrReference(
            OcrProblem.NOT_DIGITS, f"OCR reference must contain only digits 0-9: {ocr!r}"
        )
    if len(ocr) < MIN_OCR_LENGTH:
        raise InvalidOcrReference(
            OcrProblem.TOO_SHORT,
            f"OCR reference {ocr!r} has {len(ocr)} digit(s); at least {MIN_OCR_LENGTH} needed",
        )
    if len(ocr) > MAX_OCR_LENGTH:
        raise InvalidOcrReference(
            OcrProblem.TOO_LONG,
            f"OCR reference has {len(ocr)} digits; at most {MAX_OCR_LENGTH} allowed",
        )
    expected_check = luhn_check_digit(ocr[:-1])
    if ocr[-1] != expected_check:
        raise InvalidOcrReference(
            OcrProblem.WRONG_CHECK_DIGIT,
            f"OCR reference {ocr!r} has check digit {ocr[-1]}, expected {expected_check}",
        )
    if length_digit_required:
        expected_length = str(len(ocr) % 10)
        if ocr[-2] != expected_length:
            raise InvalidOcrReference(
                OcrProblem.WRONG_LENGTH_DIGIT,
                f"OCR reference {ocr!r} has length digit {ocr[-2]}, expected "
                f"{expected_length} ({len(ocr)} digits)",
            )


def is_valid_ocr(ocr: str, *, length_digit_required: bool) -> bool:
    """True when validate_ocr(ocr, ...) would not raise."""
    try:
        validate_ocr(ocr, length_digit_required=length_digit_required)
    except InvalidOcrReference:
        return False
    return True
