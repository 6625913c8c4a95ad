"""Autogiro payment specifications against Bankgirot's official example files (domain.md §9).

Every file in shared/fixtures/autogiro is either parsed as the payment specification it is
(new and old layout) or refused with the reason a case officer can act on.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from fordra.kernel.calendar import SWEDISH_TIME
from fordra.payments.adapters.autogiro import MAX_PREAMBLE_LINES, parse_autogiro
from fordra.payments.domain.bank_file import BankFileRejected
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted

NEW = shared_fixtures("autogiro", "ny_layout")
OLD = shared_fixtures("autogiro", "gammal_layout")
NEW_SPEC = NEW / "autogiro_exempelfil_bet-spec-o-tk_sv.txt"
OLD_SPEC = (
    OLD / "autogiro_gl_betalningsspec-stoppadebetalningar-tackningskontroll_fran-bankgirot-"
    "medgivanden-bankgironummer_exempelfil_sv.txt"
)

MANDATE = "an Autogiro mandate file (medgivandeavisering, AG-MEDAVI) is not a payment specification"
INTERNET = "an Autogiro mandate file (new mandates via the internet bank, AG-EMEDGIV)"
REJECTED = "an Autogiro list of rejected payment orders (avvisade betalningsuppdrag)"
CANCELLED = "an Autogiro report of cancelled or changed payment orders (makuleringar/ändringar)"
EXTRACT = "an extract from the Autogiro payment register (bevakningsregistret)"
ORDERS = "a payment-order file TO Bankgirot (betalningsunderlag) is not a payment specification"
MANDATE_REQUESTS = "an Autogiro mandate file TO Bankgirot (medgivandeunderlag)"
CANCEL_REQUESTS = "a cancellation/amendment file TO Bankgirot (makulerings-/ändringsunderlag)"
NOT_AUTOGIRO = "not an Autogiro file: no opening record (01 ... AUTOGIRO)"

# Every other file of the example folders: (folder, name pattern, line of the opening record,
# reason). A pattern may match more than one file ("(1)" is a byte-identical copy).
REFUSED_PATTERNS = [
    (NEW, "*-betalningsunderlag_sv.txt", 5, ORDERS),
    (NEW, "*_medgivandeunderlag_sv.txt", 5, MANDATE_REQUESTS),
    (NEW, "*nya_medgivanden_via_internetbank*", 5, INTERNET),
    (NEW, "*avvisade_betalningsuppdrag*", 5, REJECTED),
    (NEW, "*medgivandeavisering*", 5, MANDATE),
    (NEW, "*makuleringar_andringar-av-betalningar*", 5, CANCELLED),
    (NEW, "*makulerings-andringsunderlag*", 5, CANCEL_REQUESTS),
    (NEW, "*bevakningsregistret*", 3, EXTRACT),
    # No opening record at all ("Obs! Filen innehåller ingen start eller slutpost").
    (NEW, "*medgivanderegistret*", 4, NOT_AUTOGIRO),
    # Autogiro payments in BgMax form: a BgMax file (test_bgmax, test_detect).
    (NEW, "*bg-max-forma*", 1, NOT_AUTOGIRO),
    (OLD, "*makulerings-andringsunderlag_till-bankgirot*", 1, CANCEL_REQUESTS),
    (OLD, "*makulering-datumandring_till-bankgirot*", 1, CANCEL_REQUESTS),
    (OLD, "*avvisadebetaln*", 1, REJECTED),
    (OLD, "*betalningsunderlag_till-bankgirot*", 1, ORDERS),
    (OLD, "*makulering-andring_fran-bankgirot*", 1, CANCELLED),
    (OLD, "*medgivandeavisering*", 1, MANDATE),
    (OLD, "*medgivanden_via_internetbanken*", 1, INTERNET),
    (OLD, "*medgivandeunderlag_till-bankgirot*", 1, MANDATE_REQUESTS),
]
REFUSED = [
    (path, line, reason)
    for folder, pattern, line, reason in REFUSED_PATTERNS
    for path in sorted(folder.glob(pattern))
]


def test_every_example_file_is_covered_once() -> None:
    files = {p for folder in (NEW, OLD) for p in folder.iterdir() if p.is_file()}
    refused = [path for path, _, _ in REFUSED]

    assert all(any(f.glob(p)) for f, p, _, _ in REFUSED_PATTERNS)
    assert len(refused) == len(set(refused))
    assert files == {NEW_SPEC, OLD_SPEC, *refused}


# --- New layout ---------------------------------------------------------------------------------


def test_new_layout_payment_specification() -> None:
    parsed = parse_autogiro(NEW_SPEC.read_bytes())

    assert parsed.format == "autogiro"
    assert parsed.layout == "Autogiro new layout payment specification"
    assert parsed.file_reference == "20091110193055123456"
    assert parsed.created_at == datetime(2009, 11, 10, 19, 30, 55, 123456, tzinfo=SWEDISH_TIME)
    assert parsed.accounts == ("9912346",)
    assert parsed.payments == ()
    # The ruler line "[---+----1----+..." is no record.
    assert parsed.notes == (
        "lines 1-1 are not records (a heading or column ruler) and were skipped",
    )
    assert_every_ore_accounted(parsed)


def test_new_layout_debits_with_their_statuses() -> None:
    results = parse_autogiro(NEW_SPEC.read_bytes()).autogiro_results
    debits = [r for r in results if r.kind == "debit"]

    assert [(r.line, r.payer_number, r.status) for r in debits] == [
        (4, "101", "approved"),
        (5, "102", "approved"),
        (6, "103", "approved"),
        (7, "7771014", "approved"),
        (8, "105", "approved"),
        (9, "106", "insufficient_funds"),
        (10, "107", "account_closed"),
        (11, "2222101", "renewed_funds"),
    ]
    assert {r.amount_ore for r in debits} == {300000}
    assert {r.payment_date for r in debits} == {date(2009, 11, 10)}
    assert debits[1].reference == "0000000FAKTNR156"
    assert (debits[1].period_code, debits[1].renewals) == ("5", 6)
    assert [r.moved_money for r in debits] == [True] * 5 + [False] * 3


def test_new_layout_sections_count_only_approved_records() -> None:
    parsed = parse_autogiro(NEW_SPEC.read_bytes())

    # TK15 declares 5 debits of 3,000.00 while 8 TK82 follow: three were refused.
    assert [(s.line, s.declared_count, s.declared_sum_ore) for s in parsed.sections] == [
        (3, 5, 1500000),
        (12, 3, 300000),
        (17, 1, 20000),
        (19, 1, 50000),
    ]
    assert [(c.what, c.declared) for c in parsed.controls] == [
        ("15 sections", 1),
        ("approved 82 records", 5),
        ("16 sections", 1),
        ("approved 32 records", 3),
        ("17 sections", 2),
        ("approved 77 records", 2),
    ]


def test_new_layout_refunds_and_returned_debits() -> None:
    results = parse_autogiro(NEW_SPEC.read_bytes()).autogiro_results
    refunds = [r for r in results if r.kind == "refund"]
    returned = [r for r in results if r.kind == "returned_debit"]

    assert [(r.payer_number, r.amount_ore, r.status) for r in refunds] == [
        ("109", 100000, "approved"),
        ("110", 100000, "approved"),
        ("111", 100000, "approved"),
        ("33331022", 100000, "insufficient_funds"),
    ]
    assert [r.signed_amount_ore for r in refunds] == [-100000] * 4
    assert [
        (r.payer_number, r.amount_ore, r.payment_date, r.returned_on, r.return_code)
        for r in returned
    ] == [
        ("114", 20000, date(2009, 11, 3), date(2009, 11, 10), "02"),
        ("115", 50000, date(2009, 11, 5), date(2009, 11, 10), "01"),
    ]


# --- Old layout ---------------------------------------------------------------------------------


def test_old_layout_payment_specification() -> None:
    parsed = parse_autogiro(OLD_SPEC.read_bytes())
    debits = [r for r in parsed.autogiro_results if r.kind == "debit"]
    refunds = [r for r in parsed.autogiro_results if r.kind == "refund"]

    assert parsed.layout == "Autogiro old layout payment specification"
    assert parsed.file_reference == "20041027"
    assert parsed.created_at is None  # the old layout gives a date only
    assert parsed.accounts == ("9912346",)
    assert len(debits) == 14
    assert sum(r.amount_ore for r in debits) == 547500
    # An approved record leaves its status blank in the old layout.
    assert [r.status for r in debits].count("approved") == 11
    assert [(r.line, r.status) for r in debits if r.status != "approved"] == [
        (14, "insufficient_funds"),
        (15, "account_closed"),
        (16, "renewed_funds"),
    ]
    assert [(r.payer_number, r.amount_ore, r.status, r.reference) for r in refunds] == [
        ("1014", 1687400, "insufficient_funds", "0809745")
    ]
    # Here the closing record counts every record, whatever its status.
    assert [(c.what, c.declared) for c in parsed.controls] == [
        ("öre of refunds (32)", 1687400),
        ("refund records (32)", 1),
        ("debit records (82)", 14),
        ("öre of debits (82)", 547500),
    ]
    assert_every_ore_accounted(parsed)


# --- Other Autogiro files are refused with the reason ------------------------------------------


@pytest.mark.parametrize(
    ("path", "line", "reason"), REFUSED, ids=[p.name[:60] for p, _, _ in REFUSED]
)
def test_other_autogiro_files_are_refused(path: Path, line: int, reason: str) -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_autogiro(path.read_bytes())

    assert len(error.value.errors) == 1
    assert error.value.errors[0]["line"] == line
    assert error.value.errors[0]["message"].startswith(reason)


# --- Damaged specifications --------------------------------------------------------------------


def _new_lines() -> list[bytes]:
    return NEW_SPEC.read_bytes().split(b"\r\n")


def _problems(data: bytes) -> list[tuple[int | None, str]]:
    with pytest.raises(BankFileRejected) as error:
        parse_autogiro(data)
    return [(e["line"], e["message"]) for e in error.value.errors]


def test_a_changed_amount_breaks_the_section_and_names_it() -> None:
    lines = _new_lines()
    lines[3] = lines[3].replace(b"000000300000", b"000000300100")

    assert _problems(b"\r\n".join(lines)) == [
        (3, "section amount 1500000 öre, but its approved records add up to 1500100 öre")
    ]


def test_a_damaged_record_after_the_opening_is_refused() -> None:
    lines = _new_lines()
    lines[5] = b"Exempelfil" + lines[5][10:]  # text where a record belongs

    problems = _problems(b"\r\n".join(lines))

    assert problems[0] == (6, "record type 'Ex' does not belong in a payment specification")


def test_an_unknown_status_is_refused() -> None:
    lines = _new_lines()
    lines[3] = lines[3][:79] + b"7"

    assert (4, "status (position 80) '7' is not one of 0 approved, 1 insufficient funds, "
            "2 account closed, 9 renewed funds") in _problems(b"\r\n".join(lines))  # fmt: skip


def test_a_debit_outside_its_section_is_refused() -> None:
    lines = _new_lines()
    lines.insert(13, lines[4])  # a TK82 inside the TK16 section

    assert (14, "a 82 record must stand in a section opened by a 15 record") in _problems(
        b"\r\n".join(lines)
    )


def test_a_missing_closing_record_is_refused() -> None:
    lines = _new_lines()[:-1]

    assert (None, "the file has no closing record (09): it is incomplete") in _problems(
        b"\r\n".join(lines)
    )


def test_too_many_heading_lines_are_not_a_heading() -> None:
    data = b"heading\r\n" * MAX_PREAMBLE_LINES + NEW_SPEC.read_bytes()

    assert _problems(data) == [
        (MAX_PREAMBLE_LINES + 1, f"{NOT_AUTOGIRO} within the first {MAX_PREAMBLE_LINES} lines")
    ]


def test_a_wrong_payee_bankgiro_is_refused() -> None:
    lines = _new_lines()
    lines[3] = lines[3].replace(b"0009912346", b"0009912347")

    assert any(
        line == 4 and "payee bankgiro '0009912347'" in message
        for line, message in _problems(b"\r\n".join(lines))
    )
