"""Splitting a BgMax payment between its extra references (domain.md §9 "BgMax"), on Bankgirot's
public sample BgMaxfil4 as it is; the variants change one field of a real payment."""

from __future__ import annotations

import pytest

from fordra.payments.adapters.bgmax import OCR_REFERENCE_CODES, parse_bgmax
from fordra.payments.domain.bank_file import BankPayment, ExtraReference
from fordra.payments.domain.extra_references import (
    ExtraReferenceSplit,
    part_reference,
    split_by_extra_references,
)
from tests.fixtures_path import shared_fixtures

BGMAXFIL4 = shared_fixtures("bgmax", "BgMaxfil4.txt")


def _payments() -> dict[int | None, BankPayment]:
    return {p.line: p for p in parse_bgmax(BGMAXFIL4.read_bytes()).payments}


def _split(payment: BankPayment) -> ExtraReferenceSplit:
    return split_by_extra_references(
        payment, ocr_codes=OCR_REFERENCE_CODES, length_digit_required=False
    )


def _with_extras(payment: BankPayment, *extras: ExtraReference) -> BankPayment:
    return payment.model_copy(update={"extra_references": extras})


def test_the_samples_payment_for_two_invoices_is_split_in_two_parts() -> None:
    # Line 21: 2,000.00 kr, reference code 0, no reference of its own; TK22 573964 1,700.00 and
    # TK22 573865 300.00, both code 2.
    payment = _payments()[21]

    split = _split(payment)

    assert split.held_because is None
    assert [
        (p.bank_reference, p.reference, p.reference_kind, p.bgmax_reference_code, p.amount_ore)
        for p in split.parts
    ] == [
        (f"{payment.bank_reference}/x1", "573964", "ocr", 2, 170000),
        (f"{payment.bank_reference}/x2", "573865", "ocr", 2, 30000),
    ]
    assert sum(p.amount_ore for p in split.parts) == payment.amount_ore
    for part, line in zip(split.parts, (22, 23), strict=True):
        assert part.split_of == payment.bank_reference
        assert part.line == line
        assert part.extra_references == ()
        assert (part.currency, part.received_on, part.section) == (
            payment.currency,
            payment.received_on,
            payment.section,
        )
        assert (part.payer_name, part.payer_orgnr) == (payment.payer_name, payment.payer_orgnr)


def test_the_parts_are_the_same_every_time_the_file_is_read() -> None:
    assert _split(_payments()[21]) == _split(_payments()[21])
    assert part_reference(_payments()[21], 2).endswith("/0001/000000000020/x2")


def test_an_incorrect_and_a_negative_extra_reference_hold_the_whole_payment() -> None:
    # Line 41: 1,400.00 kr = 7495575 +1,000 + 695668 +500 + 8988777 +400 (code 5, incorrect)
    # + 74450 -500 (TK23).
    split = _split(_payments()[41])

    assert split.parts == ()
    assert split.held_because == (
        "extra reference 8988777 (line 44): BgMax reference code 5, not a checked OCR; "
        "extra reference 74450 (line 45): negative, BgMax TK23 (a deduction against a reference "
        "is handled by hand)"
    )


def test_extra_references_without_amounts_hold_the_whole_payment() -> None:
    # Line 3: 1,800.00 kr naming four references, none with an amount.
    split = _split(_payments()[3])

    assert split.parts == ()
    assert split.held_because == (
        "extra references 665760 (line 4), 665869 (line 5), 665661 (line 6), 657775 (line 7): "
        "no amount (the split of the payment is for a person)"
    )


@pytest.mark.parametrize("line", [14, 30, 35, 40, 52, 61])
def test_payments_without_extra_references_or_in_euro_are_not_split(line: int) -> None:
    # 52 is in EUR with extra references: never booked as SEK, queued for its currency.
    assert _split(_payments()[line]) == ExtraReferenceSplit()


def test_what_the_extra_references_leave_goes_to_the_payments_own_checked_ocr() -> None:
    # The 2,000 kr payment with 1,700 kr named, and 524967 (code 2) as its own reference
    sample = _payments()[21]
    payment = _with_extras(sample, sample.extra_references[0]).model_copy(
        update={"reference": "524967", "reference_kind": "ocr", "bgmax_reference_code": 2}
    )

    split = _split(payment)

    assert [(p.bank_reference, p.reference, p.amount_ore) for p in split.parts] == [
        (f"{payment.bank_reference}/x0", "524967", 30000),
        (f"{payment.bank_reference}/x1", "573964", 170000),
    ]
    assert split.parts[0].line == payment.line


def test_a_remainder_without_a_checked_ocr_of_its_own_holds_the_payment() -> None:
    sample = _payments()[21]  # reference code 0, no reference of its own

    split = _split(_with_extras(sample, sample.extra_references[0]))

    assert split.parts == ()
    assert split.held_because == (
        "the extra references leave 30000 öre to the payment's own reference, "
        "which is not a checked OCR"
    )


def test_extra_references_splitting_more_than_the_payment_hold_it() -> None:
    sample = _payments()[21]
    more = sample.extra_references[1].model_copy(update={"amount_ore": 40000})

    split = _split(_with_extras(sample, sample.extra_references[0], more))

    assert split.parts == ()
    assert split.held_because == "the extra references split 210000 öre of a 200000 öre payment"


def test_a_reference_named_twice_or_failing_the_ocr_check_holds_the_payment() -> None:
    sample = _payments()[21]
    first, second = sample.extra_references
    twice = second.model_copy(update={"reference": first.reference})
    misprinted = second.model_copy(update={"reference": "573866"})  # check digit off by one

    assert _split(_with_extras(sample, first, twice)).held_because == (
        "the reference 573964 is named twice in one payment"
    )
    assert _split(_with_extras(sample, first, misprinted)).held_because == (
        "extra reference 573866 (line 23): not a valid OCR number"
    )


def test_every_split_of_the_sample_adds_up_to_its_payment() -> None:
    for payment in _payments().values():
        split = _split(payment)
        assert not (split.parts and split.held_because)
        if split.parts:
            assert sum(p.amount_ore for p in split.parts) == payment.amount_ore
            assert len({p.bank_reference for p in split.parts}) == len(split.parts)
