"""Splitting a BgMax payment between its extra references (domain.md §9 "BgMax").

A payer may pay several invoices with one bankgiro payment: the TK20 carries the whole amount and
each extra reference (TK22, or TK23 for a negative one) names a further reference, with or without
an amount of its own. Bankgirot's example BgMaxfil4 has one: 2,000.00 kr for 573964 (1,700.00) and
573865 (300.00), both with reference code 2 (correct OCR).

domain.md §9: "Only reference code 2 (correct OCR) and 4 auto-match; the rest go to the
investigation queue". A payment is therefore split, and its parts matched automatically, only when
the payer's split is complete and every part is such a reference; otherwise the *whole* payment
waits in the queue, with the reason, as one item. The rules, in the order they are checked:

1. A payment without extra references, a deduction (TK21) or a payment in another currency than
   SEK is not split: it is booked as before (and the last two are queued for their own reasons).
2. Every extra reference must carry an amount: one without ("zero-amount", the payer only named
   it) leaves the split to a person.
3. No extra reference may be negative (TK23): a deduction the payer makes against a reference (a
   credit note, say) is handled by hand.
4. Every extra reference must have reference code 2 or 4 and pass the OCR check.
5. The extra references may not add up to more than the payment (that would invent money). What
   they leave (the *remainder*) belongs to the payment's own reference (TK20), which must then be
   a correct OCR reference; a remainder of 0 gives the payment's own reference nothing.
6. No reference may be named twice.

The reason given names every rule that fails, each with its line. So one invalid extra reference
queues the whole payment, not only its part: the payer's split is one instruction, and matching
part of it would leave ops a half-booked payment to reconcile. The application adds one more check
that needs the store: every part's OCR reference must name an open invoice, or again the whole
payment waits.

The parts add up to the payment, öre for öre, and each has its own stable bank reference (the
payment's, plus ``/x<n>``: the n-th extra reference, ``/x0`` for the remainder), so the same file
again books nothing and every part is traceable to the payment it came from (``split_of``).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fordra.kernel.ocr import is_valid_ocr
from fordra.payments.domain.bank_file import BankPayment, ExtraReference

__all__ = ["ExtraReferenceSplit", "part_reference", "split_by_extra_references"]

_SPLIT_CURRENCY = "SEK"  # domain.md §9 matching: only SEK is ever booked automatically


@dataclass(frozen=True, slots=True)
class ExtraReferenceSplit:
    """What to do with a payment that names extra references.

    ``parts``: the payments to book instead of it, each through the ordinary match path; empty
    when it is not split. ``held_because``: why the whole payment waits in the investigation
    queue; None when it is split or booked as it is.
    """

    parts: tuple[BankPayment, ...] = ()
    held_because: str | None = None


def part_reference(payment: BankPayment, index: int) -> str:
    """The stable bank reference of a part: the payment's, plus the extra reference's position
    (1-based), 0 for the remainder left to the payment's own reference."""
    return f"{payment.bank_reference}/x{index}"


def _where(extra: ExtraReference) -> str:
    line = f" (line {extra.line})" if extra.line is not None else ""
    return f"{extra.reference or '(blank)'}{line}"


def _extra_problem(
    extra: ExtraReference, ocr_codes: Collection[int], *, length_digit_required: bool
) -> str | None:
    """Rules 2-4 for one extra reference: why it cannot be a part, or None."""
    if extra.amount_ore is None:
        return "no amount (the split of the payment is for a person)"
    if extra.negative or extra.amount_ore < 0:
        return "negative, BgMax TK23 (a deduction against a reference is handled by hand)"
    if extra.reference_code not in ocr_codes:
        return f"BgMax reference code {extra.reference_code}, not a checked OCR"
    if not is_valid_ocr(extra.reference, length_digit_required=length_digit_required):
        return "not a valid OCR number"
    return None


def _hold_reasons(
    payment: BankPayment, ocr_codes: Collection[int], *, length_digit_required: bool
) -> list[str]:
    """Rules 2-6 of the module docstring: every one that fails, the extra references that fail
    the same way named together, in the order of the records."""
    failing: dict[str, list[str]] = {}
    for extra in payment.extra_references:
        problem = _extra_problem(extra, ocr_codes, length_digit_required=length_digit_required)
        if problem is not None:
            failing.setdefault(problem, []).append(_where(extra))
    reasons = [
        f"extra reference{'s' if len(named) > 1 else ''} {', '.join(named)}: {problem}"
        for problem, named in failing.items()
    ]
    if any(x.amount_ore is None for x in payment.extra_references):
        return reasons  # without every amount there is no remainder to speak of
    remainder = payment.unallocated_ore
    if remainder < 0:
        reasons.append(
            f"the extra references split {payment.amount_ore - remainder} öre of a "
            f"{payment.amount_ore} öre payment"
        )
    elif remainder > 0 and not _own_reference_is_ocr(
        payment, ocr_codes, length_digit_required=length_digit_required
    ):
        reasons.append(
            f"the extra references leave {remainder} öre to the payment's own reference, "
            "which is not a checked OCR"
        )
    named = [x.reference for x in payment.extra_references]
    named += [payment.reference or ""] if remainder > 0 else []
    twice = next((ref for ref in named if named.count(ref) > 1), None)
    if twice is not None:
        reasons.append(f"the reference {twice} is named twice in one payment")
    return reasons


def _own_reference_is_ocr(
    payment: BankPayment, ocr_codes: Collection[int], *, length_digit_required: bool
) -> bool:
    return (
        payment.reference_kind == "ocr"
        and payment.reference is not None
        and payment.bgmax_reference_code in ocr_codes
        and is_valid_ocr(payment.reference, length_digit_required=length_digit_required)
    )


def split_by_extra_references(
    payment: BankPayment, *, ocr_codes: Collection[int], length_digit_required: bool
) -> ExtraReferenceSplit:
    """Split a BgMax payment between the OCR references its extra references name, each with its
    amount, or say why the whole payment waits in the queue (domain.md §9 "BgMax": 22/23 extra
    reference; "Only reference code 2 (correct OCR) and 4 auto-match; the rest go to the
    investigation queue"). The rules are in the module docstring.

    The parts add up to the payment exactly: nothing is lost or invented.
    """
    if (
        not payment.extra_references
        or payment.kind != "payment"
        or payment.currency != _SPLIT_CURRENCY
    ):
        return ExtraReferenceSplit()
    reasons = _hold_reasons(payment, ocr_codes, length_digit_required=length_digit_required)
    if reasons:
        return ExtraReferenceSplit(held_because="; ".join(reasons))
    parts: list[BankPayment] = []
    remainder = payment.unallocated_ore
    if remainder > 0:
        parts.append(_part(payment, 0, payment.reference or "", remainder, None))
    for index, extra in enumerate(payment.extra_references, start=1):
        assert extra.amount_ore is not None  # rule 2
        parts.append(_part(payment, index, extra.reference, extra.amount_ore, extra))
    if sum(p.amount_ore for p in parts) != payment.amount_ore:  # pragma: no cover - rule 5
        raise AssertionError("the parts of a split payment must add up to it")
    return ExtraReferenceSplit(parts=tuple(parts))


def _part(
    payment: BankPayment,
    index: int,
    reference: str,
    amount_ore: int,
    extra: ExtraReference | None,
) -> BankPayment:
    update: dict[str, object] = {
        "bank_reference": part_reference(payment, index),
        "amount_ore": amount_ore,
        "reference": reference,
        "reference_kind": "ocr",
        "extra_references": (),
        "split_of": payment.bank_reference,
    }
    if extra is not None:
        update["bgmax_reference_code"] = extra.reference_code
        update["line"] = extra.line
    # model_validate, not model_copy: the part is checked like any payment (positive, SEK).
    return BankPayment.model_validate({**payment.model_dump(), **update})
