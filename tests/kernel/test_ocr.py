"""Tests for Bankgiro OCR references (domain.md §2 "Payment reference")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fordra.kernel.ocr import (
    MAX_OCR_LENGTH,
    InvalidOcrReference,
    OcrProblem,
    is_valid_ocr,
    luhn_check_digit,
    make_ocr,
    validate_ocr,
)


def test_rulebook_example() -> None:
    # domain.md §2: invoice 12345 -> 1234574 (length digit 7, check digit 4).
    assert make_ocr(12345, length_digit=True) == "1234574"
    assert make_ocr("12345", length_digit=True) == "1234574"
    validate_ocr("1234574", length_digit_required=True)


def test_without_length_digit() -> None:
    assert make_ocr(12345, length_digit=False) == "123455"
    assert is_valid_ocr("123455", length_digit_required=False)
    # Valid by Luhn, but the second-to-last digit 5 is not the length 6.
    assert not is_valid_ocr("123455", length_digit_required=True)


@pytest.mark.parametrize(
    ("digits", "check"),
    [("7894", "9"), ("12345", "5"), ("123457", "4"), ("0", "0"), ("556036079", "3")],
)
def test_luhn_check_digit(digits: str, check: str) -> None:
    assert luhn_check_digit(digits) == check


@pytest.mark.parametrize("bad", ["", "12a", " 1", "１２"])
def test_luhn_check_digit_rejects_non_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit(bad)


def test_length_digit_wraps_mod_10() -> None:
    # 8 base digits + length + check = 10 digits, so the length digit is 0.
    ocr = make_ocr("12345678", length_digit=True)
    assert len(ocr) == 10
    assert ocr[-2] == "0"
    validate_ocr(ocr, length_digit_required=True)


def test_leading_zeros_are_kept() -> None:
    ocr = make_ocr("0042", length_digit=True)
    assert ocr.startswith("0042")
    assert len(ocr) == 6


def test_longest_and_too_long_base() -> None:
    assert len(make_ocr("1" * 23, length_digit=True)) == MAX_OCR_LENGTH
    assert len(make_ocr("1" * 24, length_digit=False)) == MAX_OCR_LENGTH
    with pytest.raises(InvalidOcrReference, match="at most 25") as exc:
        make_ocr("1" * 24, length_digit=True)
    assert exc.value.problem is OcrProblem.TOO_LONG


@pytest.mark.parametrize("base", ["", "12-3", "abc", -5])
def test_make_ocr_rejects_bad_base(base: str | int) -> None:
    with pytest.raises(InvalidOcrReference) as exc:
        make_ocr(base, length_digit=False)
    assert exc.value.problem is OcrProblem.NOT_DIGITS


@pytest.mark.parametrize(
    ("ocr", "required", "problem", "words"),
    [
        ("", False, OcrProblem.TOO_SHORT, "empty"),
        ("1234 574", False, OcrProblem.NOT_DIGITS, "only digits"),
        ("12345-74", False, OcrProblem.NOT_DIGITS, "only digits"),
        ("١٢٣", False, OcrProblem.NOT_DIGITS, "only digits"),  # Arabic-Indic digits
        ("0", False, OcrProblem.TOO_SHORT, "at least 2"),
        ("1" * 26, False, OcrProblem.TOO_LONG, "at most 25"),
        ("1234575", True, OcrProblem.WRONG_CHECK_DIGIT, "expected 4"),
        ("1234575", False, OcrProblem.WRONG_CHECK_DIGIT, "check digit 5"),
        # 123458 + its Luhn digit 2: the check digit is right, the length digit says 8, not 7.
        ("1234582", True, OcrProblem.WRONG_LENGTH_DIGIT, "length digit 8, expected 7"),
    ],
)
def test_validate_names_the_problem(
    ocr: str, required: bool, problem: OcrProblem, words: str
) -> None:
    with pytest.raises(InvalidOcrReference, match=words) as exc:
        validate_ocr(ocr, length_digit_required=required)
    assert exc.value.problem is problem
    assert isinstance(exc.value, ValueError)
    assert not is_valid_ocr(ocr, length_digit_required=required)


def test_wrong_length_digit_is_fine_when_not_required() -> None:
    assert is_valid_ocr("1234582", length_digit_required=False)


def test_shortest_valid_references() -> None:
    assert make_ocr("5", length_digit=False) == "59"
    assert is_valid_ocr("59", length_digit_required=False)
    assert make_ocr(0, length_digit=True) == "034"
    assert is_valid_ocr("034", length_digit_required=True)


# --- properties --------------------------------------------------------------------------

_bases_with_length = st.text(alphabet="0123456789", min_size=1, max_size=MAX_OCR_LENGTH - 2)
_bases_without_length = st.text(alphabet="0123456789", min_size=1, max_size=MAX_OCR_LENGTH - 1)


@given(_bases_with_length)
def test_make_ocr_with_length_digit_always_validates(base: str) -> None:
    ocr = make_ocr(base, length_digit=True)
    assert ocr.startswith(base)
    assert len(ocr) == len(base) + 2
    validate_ocr(ocr, length_digit_required=True)
    validate_ocr(ocr, length_digit_required=False)


@given(_bases_without_length)
def test_make_ocr_without_length_digit_always_validates(base: str) -> None:
    ocr = make_ocr(base, length_digit=False)
    assert len(ocr) == len(base) + 1
    validate_ocr(ocr, length_digit_required=False)


@given(st.integers(min_value=0, max_value=10**23 - 1))
def test_int_and_str_bases_agree(n: int) -> None:
    assert make_ocr(n, length_digit=True) == make_ocr(str(n), length_digit=True)


@given(
    _bases_with_length,
    st.booleans(),
    st.integers(min_value=0),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_detected(
    base: str, length_digit: bool, position_seed: int, delta: int
) -> None:
    # Luhn detects every single-digit substitution, wherever it is (length and check
    # digit included), so such a typo can never auto-match another invoice.
    ocr = make_ocr(base, length_digit=length_digit)
    i = position_seed % len(ocr)
    changed = ocr[:i] + str((int(ocr[i]) + delta) % 10) + ocr[i + 1 :]
    assert changed != ocr
    assert not is_valid_ocr(changed, length_digit_required=False)
    assert not is_valid_ocr(changed, length_digit_required=length_digit)
