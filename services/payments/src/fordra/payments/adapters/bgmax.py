"""BgMax, Bankgirot's file of incoming bankgiro payments (domain.md §9 "BgMax").

Record layout (Bankgirot, "Bankgiro Inbetalningar, teknisk manual"; positions 1-based, inclusive),
checked against the public example files in ``shared/fixtures/bgmax`` (the files are the truth):

====  =====================================================================================
01    start: layout name ``BGMAX`` 3-22, version ``01`` 23-24, timestamp 25-44
      (YYYYMMDDHHMMSS + microseconds), test flag 45 (``T`` test / ``P`` production)
05    opens a deposit section: receiving bankgiro 3-12, plusgiro 13-22, currency 23-25
20    payment / 21 deduction (*avdrag*): sender bankgiro 3-12, reference 13-37, amount in öre
      38-55, reference code 56, payment channel 57, BGC serial 58-69, image flag 70;
      TK21 adds the deduction code 71
22/23 extra reference (TK23: negative), same positions as TK20
25    information text 3-52; 26 name 3-37 (+ extra name 38-72); 27 address 3-37, postcode
      38-46; 28 city 3-37, country 38-72, country code 73-74; 29 orgnr/personnummer 3-14
15    closes the deposit: bank account 3-37, payment date 38-45, deposit serial 46-50,
      amount 51-68, currency 69-71, number of payments 72-79
70    end: number of records 20 (3-10), 21 (11-18), 22+23 (19-26), 15 (27-34)
====  =====================================================================================

Checks: every record well-formed; every deposit amount = its payments less its deductions and its
count = payments + deductions (BgMaxfil4 and the OCR-check example agree on both); the end record's
counts. A file that fails any check is rejected whole, each problem naming its line.

Reference codes (*referenskod*): 0 and 1 no reference, 2 correct OCR, 3 one or more references
(unchecked), 4 correct reference (checked under the payee's agreement), 5 incorrect reference.
domain.md §9: "Only reference code 2 (correct OCR) and 4 auto-match": those become
``reference_kind="ocr"``; 3 and 5 are free text for the investigation queue.

Extra references (TK22/TK23) split the payment they follow and are not added to the deposit: in
BgMaxfil4 the third deposit (2,900.00) is its four TK20 records, and the extras of the 1,400.00
payment carry +1,000 +500 +400 -500.

An adapter with no I/O: bytes in, a ``ParsedBankFile`` or ``BankFileRejected`` (domain/bank_file.py)
out. Tested (``tests/payments/test_bgmax.py``, ``test_extra_references.py``) on
``shared/fixtures/bgmax/BgMaxfil4.txt`` and on the copies in ``shared/fixtures/bgmax/more/`` (the
OCR-check example repaired and as published with TABs or re-encoded in UTF-8,
``pybgmax_multipayment.txt``, ``byrokrat_autogiro_exempelfil_bg-max-forma_sv.txt``), each damaged
copy refused naming its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from fordra.kernel.calendar import SWEDISH_TIME
from fordra.payments.adapters.bank_file_reading import (
    DEFAULT_MAX_BYTES,
    FixedRecord,
    check_size,
    fixed_width_text,
    is_ascii_digits,
    record_lines,
    split_lines,
)
from fordra.payments.domain.bank_file import (
    BankPayment,
    ControlTotal,
    ExtraReference,
    ParsedBankFile,
    PaymentKind,
    Problems,
    ReferenceKind,
    SectionTotals,
)
from fordra.payments.domain.matching import BGMAX_AUTO_MATCH_REFERENCE_CODES

__all__ = ["OCR_REFERENCE_CODES", "parse_bgmax"]

# domain.md §9: only these reference codes mean "a correct reference" that may auto-match; the
# rule itself lives in the domain, the parser marks such references as OCR numbers.
OCR_REFERENCE_CODES: Final[frozenset[int]] = BGMAX_AUTO_MATCH_REFERENCE_CODES
_REFERENCE_CODES: Final[frozenset[int]] = frozenset(range(6))
# Payment channel (*betalningskanal*): 1 bank, 2 Leverantörsbetalningar, 3 paper form, 4 Autogiro.
_CHANNEL_CODES: Final[frozenset[int]] = frozenset({1, 2, 3, 4})
_FORMAT: Final[str] = "bgmax"


@dataclass
class _Payment:
    """A TK20/TK21 and the records that follow it, until its deposit closes."""

    kind: PaymentKind
    line: int
    sender_bankgiro: str | None
    reference: str
    amount_ore: int
    reference_code: int
    channel_code: int
    bgc_serial: str | None
    deduction_code: int | None
    extras: list[ExtraReference] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    name: str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    orgnr: str | None = None
    seen: set[str] = field(default_factory=set)

    @property
    def signed_ore(self) -> int:
        return self.amount_ore if self.kind == "payment" else -self.amount_ore

    @property
    def reference_kind(self) -> ReferenceKind:
        if self.reference_code in OCR_REFERENCE_CODES:
            return "ocr"
        if self.reference or self.info:
            return "free_text"
        return "none"

    @property
    def payer_address(self) -> str | None:
        """Street, postcode and city (and a country abroad) on one line, as the records give."""
        town = " ".join(part for part in (self.postcode, self.city) if part)
        parts = [part for part in (self.address, town, self.country) if part]
        return ", ".join(parts) or None


@dataclass
class _Deposit:
    """A deposit section: TK05 ... TK15."""

    line: int
    bankgiro: str
    currency: str
    payments: list[_Payment] = field(default_factory=list)


@dataclass
class _State:
    problems: Problems
    created_at: datetime | None = None
    file_reference: str = ""
    test_file: bool = False
    deposit: _Deposit | None = None
    ended_at: int | None = None
    payments: list[BankPayment] = field(default_factory=list)
    sections: list[SectionTotals] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"20": 0, "21": 0, "22+23": 0, "15": 0})
    controls: list[ControlTotal] = field(default_factory=list)


def _bankgiro(digits: str) -> str | None:
    """A bankgiro number without its zero padding, or None when the field is all zeros."""
    return digits.lstrip("0") or None


def _start(state: _State, rec: FixedRecord) -> None:
    layout = rec.field(3, 22).strip()
    if layout != "BGMAX":
        rec.problem(f"layout name must be 'BGMAX', got {layout!r}")
    version = rec.field(23, 24)
    if version != "01":
        rec.problem(f"only BgMax version 01 is known, got {version!r}")
    state.file_reference = rec.field(25, 44)
    # Bankgirot writes Swedish local time.
    state.created_at = rec.timestamp(25, "timestamp", SWEDISH_TIME)
    flag = rec.field(45, 45)
    if flag not in ("T", "P"):
        rec.problem(f"test flag (position 45) must be 'T' (test) or 'P' (production), got {flag!r}")
    state.test_file = flag == "T"


def _open_deposit(state: _State, rec: FixedRecord) -> None:
    if state.deposit is not None:
        rec.problem(
            f"a deposit opens (05) while the one opened at line {state.deposit.line} has no "
            "deposit record (15)"
        )
    bankgiro = rec.number(3, 12, "receiving bankgiro")
    currency = rec.field(23, 25)
    if not (currency.isascii() and currency.isalpha() and currency.isupper()):
        rec.problem(f"currency (positions 23-25) must be a code like SEK, got {currency!r}")
    state.deposit = _Deposit(rec.line, str(bankgiro) if bankgiro else "", currency)


def _payment(state: _State, kind: PaymentKind, rec: FixedRecord) -> None:
    if state.deposit is None:
        rec.problem(f"a {rec.code} record outside a deposit section (no 05 before it)")
        return
    state.counts[rec.code] += 1
    sender = rec.number(3, 12, "sender bankgiro")
    amount = rec.number(38, 55, "amount")
    code = rec.number(56, 56, "reference code")
    channel = rec.number(57, 57, "payment channel")
    # Autogiro payments in BgMax form carry no BGC serial nor image flag (the Autogiro example).
    serial = rec.number(58, 69, "BGC serial", blank_ok=True)
    image = rec.field(70, 70)
    deduction_code = rec.number(71, 71, "deduction code") if kind == "deduction" else None
    reference = rec.field(13, 37).strip()
    if image not in ("0", "1", " "):
        rec.problem(f"image flag (position 70) must be 0, 1 or blank, got {image!r}")
    if amount == 0:
        rec.problem("amount is zero: a payment or deduction moves money")
    if code is not None and code not in _REFERENCE_CODES:
        rec.problem(f"reference code {code} is not one of 0-5")
    if code in OCR_REFERENCE_CODES and not reference:
        rec.problem(f"reference code {code} says the reference is correct, but it is blank")
    if channel is not None and channel not in _CHANNEL_CODES:
        rec.problem(f"payment channel {channel} is not one of 1-4")
    if sender is None or amount is None or code is None or channel is None:
        return
    if kind == "deduction" and deduction_code is None:
        return
    state.deposit.payments.append(
        _Payment(
            kind=kind,
            line=rec.line,
            sender_bankgiro=_bankgiro(rec.field(3, 12)),
            reference=reference,
            amount_ore=amount,
            reference_code=code,
            channel_code=channel,
            bgc_serial=rec.field(58, 69) if serial else None,
            deduction_code=deduction_code,
        )
    )


def _current(state: _State, rec: FixedRecord) -> _Payment | None:
    """The payment a TK22-TK29 record belongs to: the last TK20/TK21 of the open deposit."""
    if state.deposit is None or not state.deposit.payments:
        rec.problem(f"a {rec.code} record must follow a payment (20) or deduction (21)")
        return None
    return state.deposit.payments[-1]


def _extra_reference(state: _State, rec: FixedRecord) -> None:
    state.counts["22+23"] += 1
    payment = _current(state, rec)
    amount = rec.number(38, 55, "amount")
    code = rec.number(56, 56, "reference code")
    if code is not None and code not in _REFERENCE_CODES:
        rec.problem(f"reference code {code} is not one of 0-5")
    if payment is None or amount is None or code is None:
        return
    negative = rec.code == "23"
    payment.extras.append(
        ExtraReference(
            reference=rec.field(13, 37).strip(),
            reference_code=code,
            # All zeros: the payer named the reference without an amount of its own.
            amount_ore=(-amount if negative else amount) if amount else None,
            negative=negative,
            line=rec.line,
        )
    )


def _payer_detail(state: _State, rec: FixedRecord) -> None:
    payment = _current(state, rec)
    if payment is None:
        return
    if rec.code == "25":  # any number of information lines
        info = rec.field(3, 52).strip()
        if info:
            payment.info.append(info)
        return
    if rec.code in payment.seen:
        rec.problem(f"a second {rec.code} record for the payment on line {payment.line}")
        return
    payment.seen.add(rec.code)
    if rec.code == "26":
        names = (rec.field(3, 37).strip(), rec.field(38, 72).strip())
        payment.name = " ".join(n for n in names if n) or None
    elif rec.code == "27":
        payment.address = rec.field(3, 37).strip() or None
        payment.postcode = rec.field(38, 46).strip() or None
    elif rec.code == "28":
        payment.city = rec.field(3, 37).strip() or None
        payment.country = rec.field(38, 72).strip() or rec.field(73, 74).strip() or None
    else:  # "29"
        orgnr = rec.field(3, 14).strip()
        if orgnr and not is_ascii_digits(orgnr):
            rec.problem(
                f"organisation/personal number (positions 3-14) must be digits, got {orgnr!r}"
            )
        payment.orgnr = orgnr or None


def _close_deposit(state: _State, rec: FixedRecord) -> None:
    deposit = state.deposit
    state.deposit = None
    state.counts["15"] += 1
    if deposit is None:
        rec.problem("a deposit record (15) without an opening record (05)")
        return
    booked_on = rec.date(38, "payment date")
    serial = rec.number(46, 50, "deposit serial")
    declared_sum = rec.number(51, 68, "deposit amount")
    currency = rec.field(69, 71)
    declared_count = rec.number(72, 79, "number of payments")
    if currency != deposit.currency:
        rec.problem(
            f"deposit currency {currency!r} differs from {deposit.currency!r} opened on line "
            f"{deposit.line}"
        )
    computed_sum = sum(p.signed_ore for p in deposit.payments)
    computed_count = len(deposit.payments)
    if declared_sum is not None and declared_sum != computed_sum:
        rec.problem(
            f"deposit amount {declared_sum} öre, but the payments less deductions since line "
            f"{deposit.line} add up to {computed_sum} öre"
        )
    if declared_count is not None and declared_count != computed_count:
        rec.problem(
            f"deposit declares {declared_count} payments, but {computed_count} payment and "
            f"deduction records (20, 21) follow line {deposit.line}"
        )
    if booked_on is None or serial is None:
        return
    key = f"{deposit.bankgiro}/{booked_on:%Y%m%d}/{rec.field(46, 50)}"
    earlier = next((s for s in state.sections if s.key == key), None)
    if earlier is not None:
        # The same deposit twice would book its payments twice.
        rec.problem(f"deposit {key} was already reported on line {earlier.line}")
        return
    state.sections.append(
        SectionTotals(
            key=key,
            account=deposit.bankgiro or None,
            currency=deposit.currency,
            booked_on=booked_on,
            declared_count=declared_count,
            declared_sum_ore=declared_sum,
            computed_count=computed_count,
            computed_sum_ore=computed_sum,
            line=rec.line,
        )
    )
    if state.problems:
        return  # the file is rejected: no need to build what will not be booked
    for position, payment in enumerate(deposit.payments, start=1):
        state.payments.append(_booked(payment, deposit, key, position, booked_on))
        split = sum(x.amount_ore or 0 for x in payment.extras)
        if abs(split) > payment.amount_ore:
            state.notes.append(
                f"line {payment.line}: the extra references split {split} öre of a "
                f"{payment.signed_ore} öre payment: matching must look at it"
            )


def _booked(
    payment: _Payment, deposit: _Deposit, key: str, position: int, booked_on: date
) -> BankPayment:
    return BankPayment(
        kind=payment.kind,
        # The BGC serial alone is not unique in Bankgirot's own examples (the OCR-check example
        # repeats 000000000016 in one deposit), so the key adds where the payment stands: stable
        # for the same file, unique within it.
        bank_reference=f"{key}/{position:04d}/{payment.bgc_serial or f'L{payment.line}'}",
        amount_ore=payment.signed_ore,
        currency=deposit.currency,
        reference=payment.reference or None,
        reference_kind=payment.reference_kind,
        bgmax_reference_code=payment.reference_code,
        bgmax_channel_code=payment.channel_code,
        bgmax_deduction_code=payment.deduction_code,
        free_text=tuple(payment.info),
        extra_references=tuple(payment.extras),
        payer_name=payment.name,
        payer_address=payment.payer_address,
        payer_orgnr=payment.orgnr,
        payer_account=payment.sender_bankgiro,
        credited_account=deposit.bankgiro or None,
        received_on=booked_on,
        section=key,
        line=payment.line,
    )


def _end(state: _State, rec: FixedRecord) -> None:
    state.ended_at = rec.line
    if state.deposit is not None:
        rec.problem(
            f"end record while the deposit opened at line {state.deposit.line} has no deposit "
            "record (15)"
        )
        state.deposit = None
    for (start, end), key, what in (
        ((3, 10), "20", "payment records (20)"),
        ((11, 18), "21", "deduction records (21)"),
        ((19, 26), "22+23", "extra reference records (22, 23)"),
        ((27, 34), "15", "deposit records (15)"),
    ):
        declared = rec.number(start, end, f"number of {what}")
        if declared is None:
            continue
        computed = state.counts[key]
        state.controls.append(
            ControlTotal(
                what=f"end record: {what}", declared=declared, computed=computed, line=rec.line
            )
        )
        if declared != computed:
            rec.problem(f"end record declares {declared} {what}, the file holds {computed}")


_HANDLERS: Final = {
    "05": _open_deposit,
    "22": _extra_reference,
    "23": _extra_reference,
    "25": _payer_detail,
    "26": _payer_detail,
    "27": _payer_detail,
    "28": _payer_detail,
    "29": _payer_detail,
    "15": _close_deposit,
    "70": _end,
}


def _dispatch(state: _State, rec: FixedRecord) -> None:
    if state.ended_at is not None:
        rec.problem(f"a record after the end record on line {state.ended_at}")
    elif rec.code == "20":
        _payment(state, "payment", rec)
    elif rec.code == "21":
        _payment(state, "deduction", rec)
    elif rec.code in _HANDLERS:
        _HANDLERS[rec.code](state, rec)
    elif rec.code == "01":
        rec.problem("a second start record (01)")
    else:
        rec.problem(f"unknown record type {rec.code!r}")


def parse_bgmax(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedBankFile:
    """Parse a BgMax file (domain.md §9) or raise ``BankFileRejected`` listing every problem."""
    check_size(data, max_bytes, file_format=_FORMAT)
    state = _State(Problems(_FORMAT))
    problems = state.problems
    unreadable = 0
    for index, line in enumerate(record_lines(split_lines(data), problems)):
        text = fixed_width_text(line, problems)
        if text is None:
            unreadable += 1
            continue
        rec = FixedRecord(text, line.number, problems)
        if index > 0:
            _dispatch(state, rec)
        elif rec.code == "01":
            _start(state, rec)
        else:
            rec.problem(f"a BgMax file starts with a start record (01), not {rec.code!r}")
    if state.ended_at is None:
        problems.add("the file has no end record (70): it is incomplete")
    if unreadable:
        problems.add(
            f"{unreadable} line(s) could not be read: a count or sum that disagrees may disagree "
            "for that reason alone"
        )
    problems.raise_if_any()
    return ParsedBankFile(
        format="bgmax",
        layout="BGMAX 01",
        file_reference=state.file_reference,
        created_at=state.created_at,
        test_file=state.test_file,
        accounts=tuple(dict.fromkeys(s.account for s in state.sections if s.account)),
        payments=tuple(state.payments),
        sections=tuple(state.sections),
        controls=tuple(state.controls),
        notes=tuple(state.notes),
    )
