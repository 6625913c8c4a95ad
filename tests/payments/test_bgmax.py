"""BgMax parsing against Bankgirot's public example files (domain.md §9 "BgMax").

The files in shared/fixtures/bgmax are read as they are. BgMaxfil4 parses; the other public
copies are damaged (a TAB where spaces belong, a UTF-8 re-encoding) and are refused naming the
line. Repaired in memory, the same copies parse and exercise deductions (TK21) and Autogiro
payments in BgMax form.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from fordra.kernel.calendar import SWEDISH_TIME
from fordra.kernel.ocr import is_valid_ocr
from fordra.payments.adapters.bgmax import parse_bgmax
from fordra.payments.domain.bank_file import BankFileRejected, BankPayment, ParsedBankFile
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted

BGMAX = shared_fixtures("bgmax")
MORE = BGMAX / "more"
OCR_EXAMPLE = "bankgiroinbetalningar_exempelfil_avtal-om-ocr-kontroll_checksiffra_langd_sv.txt"


def _fixture(name: str) -> bytes:
    return (MORE / name).read_bytes()


def _bgmaxfil4() -> bytes:
    return (BGMAX / "BgMaxfil4.txt").read_bytes()


def _messages(error: pytest.ExceptionInfo[BankFileRejected]) -> list[tuple[int | None, str]]:
    return [(e["line"], e["message"]) for e in error.value.errors]


def _repaired_tab_copy(name: str) -> bytes:
    # Line 17 holds "220003783511<TAB><TAB>       657965...": its siblings show 19 spaces
    # before the reference, so the two TABs stand for 12 spaces.
    return _fixture(name).replace(b"\t\t", b" " * 12)


def _by_line(parsed: ParsedBankFile) -> dict[int | None, BankPayment]:
    return {p.line: p for p in parsed.payments}


# --- BgMaxfil4: Bankgirot's example -----------------------------------------------------------


def test_bgmaxfil4_header_and_control_totals() -> None:
    parsed = parse_bgmax(_bgmaxfil4())

    assert parsed.format == "bgmax"
    assert parsed.layout == "BGMAX 01"
    assert parsed.file_reference == "20040525173035010331"
    assert parsed.created_at == datetime(2004, 5, 25, 17, 30, 35, 10331, tzinfo=SWEDISH_TIME)
    assert parsed.test_file is False
    assert parsed.accounts == ("9912346",)
    # README: 4 deposit sections, 9 payment records, 13 extra-reference records.
    assert [(c.what, c.declared) for c in parsed.controls] == [
        ("end record: payment records (20)", 9),
        ("end record: deduction records (21)", 0),
        ("end record: extra reference records (22, 23)", 13),
        ("end record: deposit records (15)", 4),
    ]
    assert len(parsed.payments) == 9
    assert sum(len(p.extra_references) for p in parsed.payments) == 13
    assert_every_ore_accounted(parsed)


def test_bgmaxfil4_deposits_add_up() -> None:
    parsed = parse_bgmax(_bgmaxfil4())

    assert [
        (s.key, s.currency, s.booked_on, s.declared_count, s.declared_sum_ore, s.line)
        for s in parsed.sections
    ] == [
        ("9912346/20040525/00056", "SEK", date(2004, 5, 25), 2, 370000, 19),
        ("9912346/20040525/00057", "SEK", date(2004, 5, 25), 1, 200000, 28),
        ("9912346/20040525/00058", "SEK", date(2004, 5, 25), 4, 290000, 50),
        ("9912346/20040525/00059", "EUR", date(2004, 5, 25), 2, 400000, 66),
    ]
    assert parsed.total_ore_by_currency == {"SEK": 860000, "EUR": 400000}


def test_bgmaxfil4_payments_as_sent() -> None:
    payments = _by_line(parse_bgmax(_bgmaxfil4()))

    first = payments[3]
    assert (first.amount_ore, first.currency, first.received_on) == (
        180000,
        "SEK",
        date(2004, 5, 25),
    )
    assert first.reference is None
    assert first.bgmax_reference_code == 0
    # No reference of its own, but the payer wrote something (TK25): for the investigation queue.
    assert first.reference_kind == "free_text"
    assert first.free_text == ("Betalning med extra refnr 665869 657775 665661", "665760")
    assert first.payer_name == "Kalles Plåt AB"  # ISO-8859-1 decoded
    assert first.payer_address == "Storgatan 2, 12345 Storåker"
    assert first.payer_orgnr == "005500001234"
    assert first.payer_account == "3783511"
    assert first.credited_account == "9912346"
    assert first.bgmax_channel_code == 2
    assert first.bank_reference == "9912346/20040525/00056/0001/000120000018"

    ocr = payments[14]
    assert (ocr.reference, ocr.reference_kind, ocr.bgmax_reference_code) == ("524967", "ocr", 2)
    assert ocr.payer_name == "Olles färg AB"

    # A payment from bankgiro 0000000000: no sender account is known.
    assert payments[40].payer_account is None
    assert payments[40].reference == "535765"

    eur = payments[52]
    assert (eur.currency, eur.amount_ore, eur.bgmax_reference_code) == ("EUR", 300000, 3)
    # Code 3, "one or more references": not checked by Bankgirot, so never auto-matched.
    assert (eur.reference, eur.reference_kind) == ("8012577,8013575", "free_text")


def test_only_reference_codes_2_and_4_are_ocr() -> None:
    parsed = parse_bgmax(_bgmaxfil4())

    assert {p.bgmax_reference_code for p in parsed.payments} == {0, 2, 3}
    for payment in parsed.payments:
        assert (payment.reference_kind == "ocr") == (payment.bgmax_reference_code in (2, 4))


def test_extra_references_split_the_payment_they_follow() -> None:
    payments = _by_line(parse_bgmax(_bgmaxfil4()))

    # Deposit 00058 is 2,900.00: its four TK20 (500 + 500 + 500 + 1,400). The 1,400.00 payment
    # names four references with amounts: +1,000 +500 +400 (code 5, incorrect) and -500 (TK23).
    split = payments[41]
    assert split.amount_ore == 140000
    assert [
        (x.reference, x.reference_code, x.amount_ore, x.negative, x.line)
        for x in split.extra_references
    ] == [
        ("7495575", 2, 100000, False, 42),
        ("695668", 2, 50000, False, 43),
        ("8988777", 5, 40000, False, 44),
        ("74450", 2, -50000, True, 45),
    ]
    assert split.unallocated_ore == 0

    # Extra references without amounts leave the whole payment to be matched.
    named_only = payments[3]
    assert [x.reference for x in named_only.extra_references] == [
        "665760",
        "665869",
        "665661",
        "657775",
    ]
    assert all(x.amount_ore is None for x in named_only.extra_references)
    assert named_only.unallocated_ore == 180000


def test_extra_references_with_amounts_name_two_invoices() -> None:
    # Deposit 00057 is one payment of 2,000.00 (reference code 0, no reference of its own) whose
    # two TK22 records name code-2 OCR references with 1,700.00 and 300.00: all of it.
    payment = _by_line(parse_bgmax(_bgmaxfil4()))[21]

    assert (payment.amount_ore, payment.reference, payment.bgmax_reference_code) == (
        200000,
        None,
        0,
    )
    assert [
        (x.reference, x.reference_code, x.amount_ore, x.negative, x.line)
        for x in payment.extra_references
    ] == [("573964", 2, 170000, False, 22), ("573865", 2, 30000, False, 23)]
    assert payment.unallocated_ore == 0
    assert payment.split_of is None  # the parser reports the payment as sent, unsplit


def test_crlf_line_endings_parse_the_same() -> None:
    lf = parse_bgmax(_bgmaxfil4())
    crlf = parse_bgmax(_bgmaxfil4().replace(b"\n", b"\r\n"))

    assert crlf == lf


def test_bank_references_are_unique_even_where_bgc_serials_repeat() -> None:
    # The repaired OCR-check example repeats BGC serial 000000000016 within deposit 00075.
    parsed = parse_bgmax(_repaired_tab_copy(f"rickardlindgren_{OCR_EXAMPLE}"))
    serials = [p.bank_reference.rsplit("/", 1)[1] for p in parsed.payments]

    assert serials.count("000000000016") == 2
    assert len({p.bank_reference for p in parsed.payments}) == len(parsed.payments)


# --- Damaged copies are refused, naming the line ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "line", "fragment"),
    [
        (f"rickardlindgren_{OCR_EXAMPLE}", 17, "TAB character at position 13"),
        (f"fabhed_{OCR_EXAMPLE}", 17, "TAB character at position 13"),
        (f"treesitter_utf8_{OCR_EXAMPLE}", 4, "UTF-8 encoded ('å' takes 2 bytes)"),
        ("pybgmax_multipayment.txt", 4, "UTF-8 encoded ('Â' takes 2 bytes)"),
        ("byrokrat_autogiro_exempelfil_bg-max-forma_sv.txt", 1, "TAB character at position 46"),
    ],
)
def test_damaged_public_copies_are_refused_naming_the_line(
    name: str, line: int, fragment: str
) -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_fixture(name))

    first_line, first_message = _messages(error)[0]
    assert first_line == line
    assert fragment in first_message
    assert error.value.file_format == "bgmax"


def test_utf8_copy_names_every_re_encoded_line() -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_fixture(f"treesitter_utf8_{OCR_EXAMPLE}"))

    lines = [line for line, message in _messages(error) if "UTF-8" in message]
    # Every line with å or ä (names and towns of the three payers).
    assert lines == [4, 6, 9, 11, 19, 21, 26, 28, 33, 38, 45, 47]


def test_unreadable_line_is_named_before_the_totals_it_throws_off() -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_fixture(f"rickardlindgren_{OCR_EXAMPLE}"))

    assert _messages(error)[1] == (
        66,
        "end record declares 9 extra reference records (22, 23), the file holds 8",
    )


# --- Repaired copies exercise deductions and Autogiro payments -------------------------------


def test_repaired_ocr_example_with_a_deduction() -> None:
    parsed = parse_bgmax(_repaired_tab_copy(f"rickardlindgren_{OCR_EXAMPLE}"))

    assert [(s.currency, s.declared_count, s.declared_sum_ore) for s in parsed.sections] == [
        ("SEK", 3, 190000),
        ("SEK", 4, 800000),
        ("EUR", 2, 400000),
    ]
    deduction = _by_line(parsed)[8]
    assert deduction.kind == "deduction"
    assert deduction.amount_ore == -50000  # 1,000.00 + 1,400.00 - 500.00 = the 1,900.00 deposit
    assert (deduction.reference, deduction.bgmax_reference_code) == ("89853", 3)
    assert deduction.bgmax_deduction_code == 0
    assert not is_valid_ocr("89853", length_digit_required=False)
    assert sum(p.kind == "deduction" for p in parsed.payments) == 1
    assert sum(p.kind == "payment" for p in parsed.payments) == 8
    assert_every_ore_accounted(parsed)


def test_the_ocr_numbers_of_the_example_pass_the_ocr_check() -> None:
    # SOURCES.md: every reference with code 2 passes Luhn and the length digit.
    parsed = parse_bgmax(_repaired_tab_copy(f"rickardlindgren_{OCR_EXAMPLE}"))
    ocr = {p.reference for p in parsed.payments if p.reference_kind == "ocr" and p.reference}
    ocr |= {
        x.reference for p in parsed.payments for x in p.extra_references if x.reference_code == 2
    }

    assert ocr == {
        "655969", "650861", "659763", "658260", "657866", "658765", "657767",
        "658369", "658468", "801266", "801365", "801464", "657965",
    }  # fmt: skip
    assert all(is_valid_ocr(r, length_digit_required=True) for r in ocr)


def test_fabhed_and_treesitter_copies_are_the_same_file_once_repaired() -> None:
    fabhed = parse_bgmax(_repaired_tab_copy(f"fabhed_{OCR_EXAMPLE}"))
    utf8 = _fixture(f"treesitter_utf8_{OCR_EXAMPLE}").decode("utf-8").encode("latin-1")
    treesitter = parse_bgmax(utf8)

    assert fabhed.payments == treesitter.payments
    assert [(s.declared_count, s.declared_sum_ore) for s in fabhed.sections] == [
        (3, 190000),
        (4, 800000),
    ]


def test_autogiro_payments_in_bgmax_form() -> None:
    data = _fixture("byrokrat_autogiro_exempelfil_bg-max-forma_sv.txt").replace(b"\t", b" ")
    parsed = parse_bgmax(data)

    assert parsed.total_ore_by_currency == {"SEK": 70000}
    assert [s.booked_on for s in parsed.sections] == [date(2009, 6, 3)]
    assert {p.bgmax_channel_code for p in parsed.payments} == {4}
    assert [p.reference for p in parsed.payments] == ["65598", "84629", "39857", "644591"]
    # No BGC serial in Autogiro payments: the key falls back on the line.
    assert [p.bank_reference for p in parsed.payments] == [
        "9912346/20090603/00036/0001/L3",
        "9912346/20090603/00036/0002/L8",
        "9912346/20090603/00036/0003/L9",
        "9912346/20090603/00036/0004/L10",
    ]
    # Code 2 on an Autogiro payer number: the bank's word says "OCR", the number does not pass;
    # matching must check (fordra.kernel.ocr) before it auto-matches.
    assert all(p.reference_kind == "ocr" for p in parsed.payments)
    assert not is_valid_ocr("65598", length_digit_required=False)
    assert_every_ore_accounted(parsed)


# --- Checks that reject the file whole ---------------------------------------------------------


def _lines() -> list[bytes]:
    return _bgmaxfil4().split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def test_a_wrong_deposit_amount_names_the_deposit_record() -> None:
    lines = _lines()
    lines[18] = lines[18].replace(b"000000000000370000SEK", b"000000000000370001SEK")

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_join(lines))

    assert _messages(error) == [
        (
            19,
            "deposit amount 370001 öre, but the payments less deductions since line 2 add up "
            "to 370000 öre",
        )
    ]


def test_a_missing_extra_reference_breaks_the_end_record() -> None:
    lines = _lines()
    del lines[3]  # a TK22

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_join(lines))

    assert _messages(error) == [
        (66, "end record declares 13 extra reference records (22, 23), the file holds 12")
    ]


def test_every_problem_is_listed_not_only_the_first() -> None:
    lines = _lines()
    lines[2] = lines[2][:40] + b"x" + lines[2][41:]  # amount of the first payment
    lines[50] = b"99" + lines[50][2:]  # unknown record type
    del lines[-2]  # the end record

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_join(lines))

    messages = _messages(error)
    assert (3, "amount (positions 38-55) must be digits, got '000x00000000180000'") in messages
    assert (51, "unknown record type '99'") in messages
    assert (None, "the file has no end record (70): it is incomplete") in messages


def test_records_out_of_place() -> None:
    lines = _lines()
    orphan = lines[2]
    data = _join([lines[0], orphan, *lines[1:]])  # a TK20 before any 05

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(data)

    assert (2, "a 20 record outside a deposit section (no 05 before it)") in _messages(error)


def test_record_after_the_end_record() -> None:
    data = _bgmaxfil4() + _lines()[1] + b"\n"

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(data)

    assert _messages(error) == [(68, "a record after the end record on line 67")]


def test_a_line_too_long_is_refused() -> None:
    lines = _lines()
    lines[5] = lines[5] + b"X"

    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(_join(lines))

    assert (6, "81 characters: records are 80 characters wide") in _messages(error)


def test_short_lines_and_trailing_blank_lines_are_harmless() -> None:
    stripped = b"\n".join(line.rstrip(b" ") for line in _lines()) + b"\n\n  \n"

    assert parse_bgmax(stripped) == parse_bgmax(_bgmaxfil4())


def test_test_flag_is_reported() -> None:
    data = _bgmaxfil4().replace(b"010331P", b"010331T", 1)

    assert parse_bgmax(data).test_file is True


def test_oversize_file_is_refused_before_parsing() -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bgmax(b"garbage " * 200, max_bytes=1000)

    assert "over the limit of 1000 bytes" in _messages(error)[0][1]
