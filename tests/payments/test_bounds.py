"""The amount bound of bank files (payments/domain/bounds.py) on real parses: every amount above
it is named by its line or element, and the file is refused whole."""

from __future__ import annotations

import pytest

from fordra.kernel.money import DEFAULT_MAX_AMOUNT_ORE
from fordra.payments.adapters.autogiro import parse_autogiro
from fordra.payments.adapters.bgmax import parse_bgmax
from fordra.payments.domain.bank_file import BankFileRejected
from fordra.payments.domain.bounds import check_bank_file_amounts
from tests.payments.test_autogiro import NEW_SPEC
from tests.payments.test_bgmax import _bgmaxfil4


def test_a_bgmax_file_within_the_bound_passes() -> None:
    check_bank_file_amounts(parse_bgmax(_bgmaxfil4()), DEFAULT_MAX_AMOUNT_ORE)


def test_a_bgmax_amount_above_the_bound_is_named_by_its_line() -> None:
    parsed = parse_bgmax(_bgmaxfil4())
    # Given a bound just under the largest payment of the file (the bound is a setting)
    largest = max(parsed.payments, key=lambda p: abs(p.amount_ore))
    with pytest.raises(BankFileRejected) as refused:
        check_bank_file_amounts(parsed, abs(largest.amount_ore) - 1)
    # Then that payment's TK20 line is named, with its amount
    lines = {e["line"] for e in refused.value.errors}
    assert largest.line in lines
    assert all("above the largest amount accepted" in e["message"] for e in refused.value.errors)
    assert refused.value.file_format == "bgmax"


def test_an_autogiro_amount_above_the_bound_is_named_by_its_line() -> None:
    parsed = parse_autogiro(NEW_SPEC.read_bytes())
    check_bank_file_amounts(parsed, DEFAULT_MAX_AMOUNT_ORE)
    largest = max(parsed.autogiro_results, key=lambda r: r.amount_ore)
    with pytest.raises(BankFileRejected) as refused:
        check_bank_file_amounts(parsed, largest.amount_ore - 1)
    assert largest.line in {e["line"] for e in refused.value.errors}
