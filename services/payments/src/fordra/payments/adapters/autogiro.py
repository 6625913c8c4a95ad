"""Autogiro payment specifications (*betalningsspecifikation*, domain.md §9 "Autogiro").

Bankgirot reports the outcome of Autogiro debits (TK82) and refunds (TK32) in 80-character
ISO-8859-1 records, in a new and an old layout ("Bg Autogiro teknisk manual"; the official example
files in ``shared/fixtures/autogiro`` are the truth). Positions are 1-based and inclusive.

New layout (opening ``01AUTOGIRO`` ... ``BET. SPEC & STOPP TK``):

====  =====================================================================================
01    opening: write date and time 25-44, layout name 45-64, BGC customer number 65-70,
      payee bankgiro 71-80
15    deposit of approved debits / 16 withdrawal of approved refunds / 17 withdrawal of
      returned debits: account 3-37, date 38-45, serial 46-50, amount 51-68, count 72-79
82/32 debit / refund: payment date 3-10, period code 11, renewals 12-14, payer number 16-31,
      amount in öre 32-43, payee bankgiro 44-53, reference 54-69, status 80
77    returned debit: as 82, then the date it was returned 70-77 and Bankgirot's code 78-79
09    closing: date 3-10, ``9900`` 11-14, then (sections, records) for 15/82 (15-20, 21-32),
      16/32 (33-38, 39-50) and 17/77 (51-56, 57-68)
====  =====================================================================================

The example shows that a section's amount and count, and the closing counts, cover only the
*approved* records (status 0): its TK15 declares 5 debits of 3,000.00 while 8 TK82 follow, three
of them refused (status 1, 2, 9).

Old layout (opening ``01`` date ``AUTOGIRO9900``, blank name, payee bankgiro 69-78): TK82/TK32 as
above with the status at 80 (blank = approved), no sections, and a closing record with the total
amount and number of refunds (29-40, 41-46), the number of debits (47-52) and their total amount
(53-68); here the example shows the totals cover *every* record, whatever its status.

Status codes: 0 approved, 1 insufficient funds (*täckning saknas*), 2 account closed or no
Autogiro link (*koppling saknas*), 9 renewed funds (*förnyad täckning*: tried again later).

Bankgirot's other Autogiro files (mandate advice, mandates via the internet bank, rejected payment
orders, cancellations, register extracts, and every file *to* Bankgirot) are recognised and refused
with the reason. Bankgirot's example files open with explanatory or ruler lines ("Exempelfil ...",
``[---+----1``): up to ``MAX_PREAMBLE_LINES`` such lines before the opening record are skipped
(each is blank or does not begin with a two-digit record type) and named in the notes; after the
opening record every line must be a record.

An adapter with no I/O: bytes in, a ``ParsedBankFile`` or ``BankFileRejected`` (domain/bank_file.py)
out. Tested (``tests/payments/test_autogiro.py``) on every file of ``shared/fixtures/autogiro``:
the payment specifications ``ny_layout/autogiro_exempelfil_bet-spec-o-tk_sv.txt`` and
``gammal_layout/autogiro_gl_betalningsspec-stoppadebetalningar-tackningskontroll_fran-bankgirot-
medgivanden-bankgironummer_exempelfil_sv.txt`` are parsed, every other example file is refused
with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice
from typing import Final, Literal

from fordra.kernel.calendar import SWEDISH_TIME
from fordra.payments.adapters.bank_file_reading import (
    DEFAULT_MAX_BYTES,
    FixedRecord,
    FlatLine,
    check_size,
    fixed_width_text,
    is_ascii_digits,
    record_lines,
    split_lines,
)
from fordra.payments.domain.bank_file import (
    AutogiroKind,
    AutogiroResult,
    AutogiroStatus,
    BankFileRejected,
    ControlTotal,
    ParsedBankFile,
    Problems,
    SectionTotals,
)

__all__ = [
    "MAX_PREAMBLE_LINES",
    "AutogiroFileKind",
    "classify_autogiro",
    "parse_autogiro",
    "refusal_reason",
    "refuse_unless_payment_specification",
]

# Enough records to tell which request file to Bankgirot this is, without reading all of it.
_REQUEST_LINES_READ: Final[int] = 1000
# Bankgirot's example files carry at most four heading lines; a few more is still a heading,
# dozens is not a bank file.
MAX_PREAMBLE_LINES: Final[int] = 10
_FORMAT: Final[str] = "autogiro"
_SPEC_NAME: Final[str] = "BET. SPEC & STOPP TK"

AutogiroFileKind = Literal[
    "payment_specification_new",
    "payment_specification_old",
    "mandate_advice",
    "internet_bank_mandates",
    "rejected_payment_orders",
    "cancellations_report",
    "payment_register_extract",
    "payment_orders_to_bankgirot",
    "mandate_requests_to_bankgirot",
    "cancellation_requests_to_bankgirot",
    "request_to_bankgirot",
    "unknown_report",
]

_REASONS: Final[dict[AutogiroFileKind, str]] = {
    "mandate_advice": (
        "an Autogiro mandate file (medgivandeavisering, AG-MEDAVI) is not a payment "
        "specification: it reports mandates, not payments"
    ),
    "internet_bank_mandates": (
        "an Autogiro mandate file (new mandates via the internet bank, AG-EMEDGIV) is not a "
        "payment specification: it reports mandates, not payments"
    ),
    "rejected_payment_orders": (
        "an Autogiro list of rejected payment orders (avvisade betalningsuppdrag) is not a "
        "payment specification: nothing in it was paid"
    ),
    "cancellations_report": (
        "an Autogiro report of cancelled or changed payment orders (makuleringar/ändringar) is "
        "not a payment specification: nothing in it was paid"
    ),
    "payment_register_extract": (
        "an extract from the Autogiro payment register (bevakningsregistret) lists payment "
        "orders still to come, not payments made"
    ),
    "payment_orders_to_bankgirot": (
        "a payment-order file TO Bankgirot (betalningsunderlag) is not a payment "
        "specification: it asks for payments and reports none"
    ),
    "mandate_requests_to_bankgirot": (
        "an Autogiro mandate file TO Bankgirot (medgivandeunderlag) is not a payment "
        "specification: it asks for mandates and reports no payments"
    ),
    "cancellation_requests_to_bankgirot": (
        "a cancellation/amendment file TO Bankgirot (makulerings-/ändringsunderlag) is not a "
        "payment specification: it reports no payments"
    ),
    "request_to_bankgirot": (
        "an Autogiro file TO Bankgirot is not a payment specification: it reports no payments"
    ),
    "unknown_report": "an Autogiro report of a kind that is not a payment specification",
}

_NEW_REPORTS: Final[dict[str, AutogiroFileKind]] = {
    _SPEC_NAME: "payment_specification_new",
    "AG-MEDAVI": "mandate_advice",
    "AVVISADE BET UPPDR": "rejected_payment_orders",
    "MAKULERING/ÄNDRING": "cancellations_report",
}
_OLD_REPORTS: Final[dict[str, AutogiroFileKind]] = {
    "": "payment_specification_old",
    "FELLISTA REG.KONTRL": "rejected_payment_orders",
    "MAK/ÄNDRINGSLISTA": "cancellations_report",
    "BEVAKNINGSREG": "payment_register_extract",
}
_STATUS_CODES: Final[dict[str, AutogiroStatus]] = {
    "0": "approved",
    "1": "insufficient_funds",
    "2": "account_closed",
    "9": "renewed_funds",
}


def _is_record_start(raw: bytes) -> bool:
    return len(raw) >= 2 and raw[:2].isdigit()


def _records(data: bytes) -> tuple[list[FlatLine], Iterator[FlatLine]]:
    """Split into (skipped heading lines, the lines from the opening record on)."""
    lines = split_lines(data)
    preamble: list[FlatLine] = []
    for line in lines:
        if len(preamble) < MAX_PREAMBLE_LINES and not _is_record_start(line.raw):
            preamble.append(line)
            continue
        return preamble, chain([line], lines)
    return preamble, iter(())


def classify_autogiro(data: bytes) -> AutogiroFileKind | None:
    """Which Autogiro file this is, from its opening record; None if it is no Autogiro file."""
    _, lines = _records(data)
    first = next(lines, None)
    opening = first.text.ljust(80) if first is not None else ""
    kind: AutogiroFileKind | None = None
    if opening.startswith("01AUTOGIRO") and not opening[10:24].strip():
        kind = _NEW_REPORTS.get(opening[44:64].strip(), "unknown_report")
    elif opening[:2] == "01" and is_ascii_digits(opening[2:10]) and opening[10:18] == "AUTOGIRO":
        # Files from Bankgirot carry 9900 after AUTOGIRO; files to Bankgirot leave it blank.
        if opening[18:22] == "9900":
            kind = _OLD_REPORTS.get(opening[22:42].strip(), "unknown_report")
        else:
            kind = _request_kind(islice(lines, _REQUEST_LINES_READ))
    elif opening[:2] == "01" and opening[10:14] == "9900" and opening[24:33] == "AG-MEDAVI":
        kind = "mandate_advice"
    elif opening[:2] == "51" and opening[10:14] == "9900" and opening[24:34] == "AG-EMEDGIV":
        kind = "internet_bank_mandates"
    return kind


def _request_kind(lines: Iterable[FlatLine]) -> AutogiroFileKind:
    """A file TO Bankgirot: its records say which (82/32 payments, 03-05 mandates, 23-29)."""
    codes = {line.raw[:2].decode("latin-1") for line in lines if not line.is_blank}
    if codes & {"82", "32"}:
        return "payment_orders_to_bankgirot"
    if codes & {"03", "04", "05"}:
        return "mandate_requests_to_bankgirot"
    if codes & {str(n) for n in range(23, 30)}:
        return "cancellation_requests_to_bankgirot"
    return "request_to_bankgirot"


def refusal_reason(kind: AutogiroFileKind) -> str | None:
    """Why a file of this kind is refused, or None for a payment specification."""
    return _REASONS.get(kind)


def refuse_unless_payment_specification(data: bytes) -> AutogiroFileKind:
    """The layout of an Autogiro payment specification, or ``BankFileRejected`` with the reason,
    naming the line of the opening record.
    """
    kind = classify_autogiro(data)
    preamble, _ = _records(data)
    if kind is None:
        raise BankFileRejected.single(
            "not an Autogiro file: no opening record (01 ... AUTOGIRO) within the first "
            f"{MAX_PREAMBLE_LINES} lines",
            line=len(preamble) + 1,
            file_format=_FORMAT,
        )
    reason = refusal_reason(kind)
    if reason is not None:
        raise BankFileRejected.single(reason, line=len(preamble) + 1, file_format=_FORMAT)
    return kind


@dataclass
class _Section:
    """A TK15 (approved debits), TK16 (approved refunds) or TK17 (returned debits) section."""

    code: str
    line: int
    key: str
    account: str | None
    booked_on: date | None
    declared_sum: int | None
    declared_count: int | None
    results: list[AutogiroResult] = field(default_factory=list)

    def totals(self) -> SectionTotals:
        moved = [r for r in self.results if r.moved_money]
        return SectionTotals(
            key=self.key,
            account=self.account,
            currency="SEK",  # Autogiro moves Swedish kronor only
            booked_on=self.booked_on,
            declared_count=self.declared_count,
            declared_sum_ore=self.declared_sum,
            computed_count=len(moved),
            computed_sum_ore=sum(r.amount_ore for r in moved),
            line=self.line,
        )


@dataclass
class _State:
    problems: Problems
    new_layout: bool
    bankgiro: str = ""
    file_reference: str = ""
    created_at: datetime | None = None
    section: _Section | None = None
    sections: list[_Section] = field(default_factory=list)
    results: list[AutogiroResult] = field(default_factory=list)
    controls: list[ControlTotal] = field(default_factory=list)
    closed_at: int | None = None


def _opening(state: _State, rec: FixedRecord) -> None:
    # The new layout ends in the payee bankgiro (71-80); the old one leaves 79-80 blank.
    start, end = (71, 80) if state.new_layout else (69, 78)
    bankgiro = rec.field(start, end)
    if not is_ascii_digits(bankgiro):
        rec.problem(f"payee bankgiro (positions {start}-{end}) must be digits, got {bankgiro!r}")
    state.bankgiro = bankgiro.lstrip("0")
    if state.new_layout:
        state.file_reference = rec.field(25, 44)
        # Bankgirot writes Swedish local time.
        state.created_at = rec.timestamp(25, "write date and time", SWEDISH_TIME)
    else:
        # The old layout gives only the write date: no time is made up for it.
        state.file_reference = rec.field(3, 10)
        rec.date(3, "write date")


_SECTION_OF: Final[dict[str, str]] = {"82": "15", "32": "16", "77": "17"}
_KIND_OF: Final[dict[str, AutogiroKind]] = {"82": "debit", "32": "refund", "77": "returned_debit"}


def _open_section(state: _State, rec: FixedRecord) -> None:
    booked_on = rec.date(38, "date")
    serial = rec.field(46, 50)
    if not is_ascii_digits(serial):
        rec.problem(f"serial (positions 46-50) must be digits, got {serial!r}")
    account = rec.field(3, 37)
    if not is_ascii_digits(account):
        rec.problem(f"account (positions 3-37) must be digits, got {account!r}")
    state.section = _Section(
        code=rec.code,
        line=rec.line,
        key=f"TK{rec.code} {booked_on or '?'} {serial} line {rec.line}",
        account=account.lstrip("0") or None,
        booked_on=booked_on,
        declared_sum=rec.number(51, 68, "amount"),
        declared_count=rec.number(72, 79, "number of payments"),
    )
    state.sections.append(state.section)


def _status(state: _State, rec: FixedRecord) -> tuple[AutogiroStatus | None, str, date | None]:
    """(status, code as sent, date returned) of a TK82/TK32/TK77."""
    if rec.code == "77":
        code = rec.field(78, 79)
        if not is_ascii_digits(code):
            rec.problem(f"code (positions 78-79) must be digits, got {code!r}")
        return "returned", code, rec.date(70, "date returned")
    code = rec.field(80, 80)
    # The old layout leaves an approved record's status blank (its example file).
    status = _STATUS_CODES.get("0" if code == " " and not state.new_layout else code)
    if status is None:
        rec.problem(
            f"status (position 80) {code!r} is not one of 0 approved, 1 insufficient funds, "
            "2 account closed, 9 renewed funds"
        )
    return status, code, None


def _result(state: _State, rec: FixedRecord) -> None:
    section = state.section
    if state.new_layout and (section is None or section.code != _SECTION_OF[rec.code]):
        rec.problem(
            f"a {rec.code} record must stand in a section opened by a "
            f"{_SECTION_OF[rec.code]} record"
        )
        section = None
    payment_date = rec.date(3, "payment date")
    renewals = rec.number(12, 14, "renewals", blank_ok=True)
    payer = rec.number(16, 31, "payer number")
    amount = rec.number(32, 43, "amount")
    if amount == 0:
        rec.problem("amount is zero")
    payee = rec.field(44, 53)
    if payee.lstrip("0") != state.bankgiro:
        rec.problem(
            f"payee bankgiro {payee!r} (positions 44-53) differs from {state.bankgiro!r} of the "
            "opening record"
        )
    status, code, returned_on = _status(state, rec)
    if payment_date is None or payer is None or not amount or status is None:
        return
    if rec.code == "77" and returned_on is None:
        return
    result = AutogiroResult(
        kind=_KIND_OF[rec.code],
        status=status,
        status_code=code,
        payer_number=str(payer),
        amount_ore=amount,
        payment_date=payment_date,
        returned_on=returned_on,
        return_code=code if rec.code == "77" else None,
        reference=rec.field(54, 69).strip() or None,
        payee_bankgiro=state.bankgiro,
        period_code=rec.field(11, 11).strip() or None,
        renewals=renewals,
        section=section.key if section else None,
        line=rec.line,
    )
    state.results.append(result)
    if section is not None:
        section.results.append(result)


def _control(
    state: _State, rec: FixedRecord, what: str, span: tuple[int, int], computed: int
) -> None:
    declared = rec.number(*span, what)
    if declared is None:
        return
    state.controls.append(
        ControlTotal(what=what, declared=declared, computed=computed, line=rec.line)
    )
    if declared != computed:
        rec.problem(f"closing record declares {declared} {what}, the file holds {computed}")


def _closing(state: _State, rec: FixedRecord) -> None:
    state.closed_at = rec.line
    rec.date(3, "date")
    if rec.field(11, 14) != "9900":
        rec.problem(f"positions 11-14 must be '9900', got {rec.field(11, 14)!r}")
    if state.new_layout:
        for tk, rec_code, sections_span, records_span in (
            ("15", "82", (15, 20), (21, 32)),
            ("16", "32", (33, 38), (39, 50)),
            ("17", "77", (51, 56), (57, 68)),
        ):
            sections = [s for s in state.sections if s.code == tk]
            moved = [r for s in sections for r in s.results if r.moved_money]
            _control(state, rec, f"{tk} sections", sections_span, len(sections))
            _control(state, rec, f"approved {rec_code} records", records_span, len(moved))
        return
    debits = [r for r in state.results if r.kind == "debit"]
    refunds = [r for r in state.results if r.kind == "refund"]
    _control(state, rec, "öre of refunds (32)", (29, 40), sum(r.amount_ore for r in refunds))
    _control(state, rec, "refund records (32)", (41, 46), len(refunds))
    _control(state, rec, "debit records (82)", (47, 52), len(debits))
    # 53-68 rather than the 57-68 the example's zeros suggest: a wider field reads the same.
    _control(state, rec, "öre of debits (82)", (53, 68), sum(r.amount_ore for r in debits))


def _check_section(section: SectionTotals, problems: Problems) -> None:
    if (
        section.declared_sum_ore is not None
        and section.declared_sum_ore != section.computed_sum_ore
    ):
        problems.add(
            f"section amount {section.declared_sum_ore} öre, but its approved records add up to "
            f"{section.computed_sum_ore} öre",
            line=section.line,
        )
    if section.declared_count is not None and section.declared_count != section.computed_count:
        problems.add(
            f"section declares {section.declared_count} payments, but {section.computed_count} "
            "approved records follow it",
            line=section.line,
        )


def _dispatch(state: _State, rec: FixedRecord) -> None:
    if state.closed_at is not None:
        rec.problem(f"a record after the closing record on line {state.closed_at}")
    elif rec.code in ("15", "16", "17") and state.new_layout:
        _open_section(state, rec)
    elif rec.code in ("82", "32") or (rec.code == "77" and state.new_layout):
        _result(state, rec)
    elif rec.code == "09":
        _closing(state, rec)
    else:
        rec.problem(f"record type {rec.code!r} does not belong in a payment specification")


def parse_autogiro(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedBankFile:
    """Parse an Autogiro payment specification (new or old layout) or raise ``BankFileRejected``.

    Any other Autogiro file is refused with the reason (``refusal_reason``).
    """
    check_size(data, max_bytes, file_format=_FORMAT)
    kind = refuse_unless_payment_specification(data)
    preamble, lines = _records(data)
    state = _State(Problems(_FORMAT), new_layout=kind == "payment_specification_new")
    for index, line in enumerate(record_lines(lines, state.problems)):
        text = fixed_width_text(line, state.problems)
        if text is None:
            continue
        rec = FixedRecord(text, line.number, state.problems)
        if index == 0:
            _opening(state, rec)
        else:
            _dispatch(state, rec)
    if state.closed_at is None:
        state.problems.add("the file has no closing record (09): it is incomplete")
    sections = tuple(s.totals() for s in state.sections)
    for section in sections:
        _check_section(section, state.problems)
    state.problems.raise_if_any()
    notes = (
        (f"lines 1-{len(preamble)} are not records (a heading or column ruler) and were skipped",)
        if preamble
        else ()
    )
    return ParsedBankFile(
        format="autogiro",
        layout=f"Autogiro {'new' if state.new_layout else 'old'} layout payment specification",
        file_reference=state.file_reference,
        created_at=state.created_at,
        accounts=(state.bankgiro,) if state.bankgiro else (),
        autogiro_results=tuple(state.results),
        sections=sections,
        controls=tuple(state.controls),
        notes=notes,
    )
