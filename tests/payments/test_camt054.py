"""camt.054 credit notifications (domain.md §9 "camt.054").

The public files (genkgo/camt, OCA) are compared with what their expected results give where the
two map; Swedish features (SCOR/OCR, batches, reversals) come from generated files
(tests/payments/camt_factory.py), since no Swedish camt.054 sample is public.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fordra.payments.adapters.camt054 import parse_camt054
from fordra.payments.domain.bank_file import BankFileRejected, ParsedBankFile
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted
from tests.payments.camt_factory import Entry, Tx, camt054

CAMT = shared_fixtures("camt054")
GENKGO = ["v2", "v2.with-account-name", "v4", "v8", "v8-with-UETR", "v8-with-financial-institution"]


def _problems(data: bytes, **kwargs: Any) -> list[tuple[str | None, str]]:
    with pytest.raises(BankFileRejected) as error:
        parse_camt054(data, **kwargs)
    return [
        (e["element"] or (f"line {e['line']}" if e["line"] else None), e["message"])
        for e in error.value.errors
    ]


def _expected(name: str) -> dict[str, Any]:
    path = CAMT / "genkgo-expected-json" / f"camt054.{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _when(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["0"])


# --- Public files -----------------------------------------------------------------------------


def test_every_public_file_is_covered() -> None:
    names = {p.name for p in CAMT.glob("*.xml")}

    assert names == {f"genkgo_camt054.{n}.xml" for n in GENKGO} | {"oca_test-camt054.xml"}


@pytest.mark.parametrize("name", GENKGO)
def test_genkgo_debit_notifications_book_nothing(name: str) -> None:
    parsed = parse_camt054((CAMT / f"genkgo_camt054.{name}.xml").read_bytes())
    expected = _expected(name)
    entry = expected["getEntries"][0]

    # Every genkgo file holds one debit entry: a valid file that books nothing.
    assert parsed.payments == ()
    assert parsed.notes == (
        "nothing to book: the file holds no booked credit entries (1 entries skipped, see skipped)",
    )
    # What maps onto genkgo's expected parse.
    assert parsed.file_reference == expected["getGroupHeader"]["getMessageId"]
    assert parsed.created_at == _when(expected["getGroupHeader"]["getCreatedOn"])
    assert parsed.accounts == (entry["getRecord"]["getAccount"]["getIdentification"],)
    (skipped,) = parsed.skipped
    assert skipped.credit_debit == entry["getCreditDebitIndicator"] == "DBIT"
    assert skipped.amount_ore == -int(entry["getAmount"]["getAmount"])  # genkgo signs debits
    assert skipped.currency == entry["getAmount"]["getCurrency"]["getCode"]
    assert skipped.bank_reference == entry["getAccountServicerReference"]
    assert skipped.reason == "a debit (DBIT): money out of the account, not a payment received"
    assert skipped.element == "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]"
    assert parsed.layout == ("camt.054.001.02" if name.startswith("v2") else
                             "camt.054.001.04" if name == "v4" else "camt.054.001.08")  # fmt: skip


def _as_credit(name: str, *, booked_on: str | None = None) -> bytes:
    """The genkgo file with its debit entry turned into a credit (and given a booking date)."""
    data = (CAMT / f"genkgo_camt054.{name}.xml").read_bytes()
    data = data.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>CRDT</CdtDbtInd>", 1)
    if booked_on is not None:
        date_element = f"</Sts><BookgDt><Dt>{booked_on}</Dt></BookgDt>".encode()
        data = data.replace(b"</Sts>", date_element, 1)
    return data


def test_genkgo_v2_as_a_credit_cannot_split_its_entry() -> None:
    # One entry amount, three TxDtls without amounts: the split is unknown, so nothing is booked.
    assert _problems(_as_credit("v2")) == [
        (
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]",
            "the entry holds 3 transactions, not all with an amount: the entry's amount cannot "
            "be split among them",
        )
    ]


def test_genkgo_v4_as_a_credit_is_inconsistent_and_every_problem_is_named() -> None:
    # Its three CHF transactions (3.10 + 3.20 + 3.20) in a 200,000 SEK entry, batch of "2".
    problems = _problems(_as_credit("v4"))
    entry = "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]"

    assert (
        f"{entry}/NtryDtls[1]/Btch/NbOfTxs",
        "the batch declares 2 transactions, the entry details hold 3 (TxDtls)",
    ) in problems
    assert (
        f"{entry}/NtryDtls[1]/Btch/TtlAmt",
        "the batch total is 630 öre, its transactions add up to 950 öre",
    ) in problems
    assert (
        f"{entry}/NtryDtls[1]/TxDtls[2]",
        "a transaction in CHF in an entry in SEK",
    ) in problems


def test_genkgo_v8_with_financial_institution_as_a_credit_needs_a_date() -> None:
    assert _problems(_as_credit("v8-with-financial-institution")) == [
        (
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]",
            "a booked entry needs a booking date (BookgDt) or value date (ValDt)",
        )
    ]


def test_genkgo_v8_with_financial_institution_as_a_credit_books_one_payment() -> None:
    parsed = parse_camt054(_as_credit("v8-with-financial-institution", booked_on="2007-10-18"))

    (payment,) = parsed.payments
    assert payment.amount_ore == 20000000  # genkgo: 20000000 minor units
    assert payment.bank_reference == "ACSR160617103200001"
    assert payment.currency == "SEK"
    assert payment.reference_kind == "none"
    assert payment.credited_account == "CH2801234000123456789"
    assert payment.received_on == date(2007, 10, 18)
    assert_every_ore_accounted(parsed)


def test_genkgo_v2_with_account_name_as_a_credit_lacks_the_banks_reference() -> None:
    assert _problems(_as_credit("v2.with-account-name", booked_on="2007-10-18")) == [
        (
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls[1]/TxDtls[1]",
            "no AcctSvcrRef on the transaction nor on its entry: the bank's unique reference is "
            "the payment's idempotency key (domain.md §9)",
        )
    ]


def test_oca_credit_notification() -> None:
    parsed = parse_camt054((CAMT / "oca_test-camt054.xml").read_bytes())

    assert parsed.layout == "camt.054.001.04"
    assert parsed.file_reference == "20220126375204763458853"
    assert parsed.accounts == ("NL77ABNA0574908765",)
    (payment,) = parsed.payments
    assert payment.kind == "payment"
    assert (payment.amount_ore, payment.currency) == (500, "EUR")
    assert payment.bank_reference == "15180015077602405"  # the transaction's AcctSvcrRef
    assert payment.received_on == date(2022, 1, 26)
    assert payment.payer_name == "Test Customer"
    assert payment.payer_address == "Test street 1, 1234 AB  Test city"
    assert payment.payer_account == "NL46ABNA0499998748"
    assert payment.end_to_end_id == "ENDTOENDID-01"
    # A Swiss QR reference is structured, but not SCOR: not an OCR number here.
    assert (payment.reference, payment.reference_type, payment.reference_kind) == (
        "000000000000000000000000003",
        "QRR",
        "free_text",
    )
    assert [(s.declared_count, s.declared_sum_ore) for s in parsed.sections] == [(1, 500)]
    assert_every_ore_accounted(parsed)


# --- Generated files: what Swedish banks send --------------------------------------------------


def _parse(*entries: Entry, **kwargs: Any) -> ParsedBankFile:
    parsed = parse_camt054(camt054(*entries, **kwargs))
    assert_every_ore_accounted(parsed)
    return parsed


def test_batch_of_ocr_payments_in_one_entry() -> None:
    parsed = _parse(
        Entry(
            amount="1780.50",
            acct_svcr_ref="NTRY-77",
            batch_count=3,
            batch_total="1780.50",
            txs=(
                Tx(amount="1245.00", scor=("1234574",), acct_svcr_ref="TX-1", debtor="Anna Berg"),
                Tx(amount="500.00", scor=("98765430",), acct_svcr_ref="TX-2"),
                Tx(amount="35.50", scor=("555558",), acct_svcr_ref="TX-3"),
            ),
        )
    )

    assert [
        (p.bank_reference, p.amount_ore, p.reference, p.reference_kind) for p in parsed.payments
    ] == [
        ("TX-1", 124500, "1234574", "ocr"),
        ("TX-2", 50000, "98765430", "ocr"),
        ("TX-3", 3550, "555558", "ocr"),
    ]
    assert parsed.payments[0].payer_name == "Anna Berg"
    assert {p.received_on for p in parsed.payments} == {date(2026, 3, 2)}
    assert {p.credited_account for p in parsed.payments} == {"SE4550000000058398257466"}
    (section,) = parsed.sections
    assert (section.declared_count, section.declared_sum_ore) == (3, 178050)


def test_transactions_without_their_own_reference_take_the_entrys() -> None:
    parsed = _parse(
        Entry(amount="300", acct_svcr_ref="NTRY-9", txs=(Tx(amount="100"), Tx(amount="200")))
    )

    assert [p.bank_reference for p in parsed.payments] == ["NTRY-9/1", "NTRY-9/2"]


def test_an_entry_without_details_is_one_payment() -> None:
    parsed = _parse(Entry(amount="99.90", acct_svcr_ref="NTRY-5"))

    (payment,) = parsed.payments
    assert (payment.bank_reference, payment.amount_ore, payment.reference_kind) == (
        "NTRY-5",
        9990,
        "none",
    )


def test_transactions_must_add_up_to_their_entry() -> None:
    data = camt054(
        Entry(
            amount="300.00",
            txs=(Tx(amount="100.00", acct_svcr_ref="A"), Tx(amount="199.99", acct_svcr_ref="B")),
        )
    )

    assert _problems(data) == [
        (
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/Amt",
            "the entry's amount is 30000 öre, its transactions add up to 29999 öre",
        )
    ]


def test_free_text_payment() -> None:
    parsed = _parse(
        Entry(amount="450", txs=(Tx(ustrd=("Faktura 2026-118", "Hyra mars"), debtor="Bo Ek"),))
    )

    (payment,) = parsed.payments
    assert payment.reference is None
    assert payment.reference_kind == "free_text"
    assert payment.free_text == ("Faktura 2026-118", "Hyra mars")


def test_several_scor_references_keep_the_first_as_the_ocr() -> None:
    parsed = _parse(Entry(amount="10", txs=(Tx(scor=("1234574", "555558")),)))

    (payment,) = parsed.payments
    assert payment.reference == "1234574"
    assert [x.reference for x in payment.extra_references] == ["555558"]


def test_non_sek_amounts_are_exact() -> None:
    parsed = _parse(
        Entry(
            amount="1234567890.1", currency="EUR", txs=(Tx(amount="1234567890.10", currency="EUR"),)
        )
    )

    (payment,) = parsed.payments
    assert (payment.amount_ore, payment.currency) == (123456789010, "EUR")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12,50", "amount must be a decimal number like 1250.00, got '12,50'"),
        ("-5.00", "amount must be a decimal number like 1250.00, got '-5.00'"),
        ("1e3", "amount must be a decimal number like 1250.00, got '1e3'"),
        ("0.001", "amount 0.001 has more than two decimals: it cannot be booked in whole öre"),
    ],
)
def test_malformed_amounts_reject_the_file(amount: str, message: str) -> None:
    assert _problems(camt054(Entry(amount=amount))) == [
        ("Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/Amt", message)
    ]


def test_trailing_zero_decimals_are_exact() -> None:
    (payment,) = _parse(Entry(amount="10.50000")).payments

    assert payment.amount_ore == 1050


def test_reversal_names_what_it_reverses() -> None:
    parsed = _parse(
        Entry(
            amount="500",
            acct_svcr_ref="NTRY-1",
            txs=(Tx(acct_svcr_ref="BG-4711", tx_id="BG-TX-1", scor=("1234574",)),),
        ),
        Entry(
            amount="500",
            credit_debit="DBIT",
            reversal=True,
            acct_svcr_ref="NTRY-2",
            txs=(Tx(acct_svcr_ref="BG-4711", tx_id="BG-TX-1", scor=("1234574",)),),
        ),
    )

    payment, reversal = parsed.payments
    assert (payment.kind, payment.amount_ore, payment.bank_reference) == (
        "payment",
        50000,
        "BG-4711",
    )
    # The reversal is its own booking (the entry's reference) and names the payment's key.
    assert (reversal.kind, reversal.amount_ore, reversal.bank_reference) == (
        "reversal",
        -50000,
        "NTRY-2",
    )
    assert reversal.reversal_of == payment.bank_reference
    assert parsed.total_ore_by_currency == {"SEK": 0}


def test_reversal_naming_only_the_transaction_id() -> None:
    parsed = _parse(
        Entry(amount="500", acct_svcr_ref="NTRY-1", txs=(Tx(tx_id="BG-TX-1"),)),
        Entry(
            amount="500",
            credit_debit="DBIT",
            reversal=True,
            acct_svcr_ref="NTRY-2",
            txs=(Tx(tx_id="BG-TX-1", end_to_end="E2E-1"),),
        ),
    )

    payment, reversal = parsed.payments
    assert reversal.reversal_of == payment.transaction_id == "BG-TX-1"


def test_reversal_without_an_entry_reference_keeps_its_own_key() -> None:
    parsed = _parse(
        Entry(
            amount="5",
            credit_debit="DBIT",
            reversal=True,
            acct_svcr_ref=None,
            txs=(Tx(acct_svcr_ref="R-OWN", end_to_end="E2E-9"),),
        )
    )

    (reversal,) = parsed.payments
    assert (reversal.bank_reference, reversal.reversal_of) == ("R-OWN", "E2E-9")


def test_reversal_without_a_name_is_booked_with_a_note() -> None:
    parsed = _parse(Entry(amount="5", credit_debit="DBIT", reversal=True, acct_svcr_ref="R-1"))

    (reversal,) = parsed.payments
    assert reversal.reversal_of is None
    assert parsed.notes == (
        "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]: a reversal that names no reference "
        "of the payment it reverses (AcctSvcrRef, TxId, EndToEndId): find it by hand",
    )


def test_entries_that_are_no_payment_are_listed_as_skipped() -> None:
    parsed = _parse(
        Entry(amount="100", acct_svcr_ref="PAID"),
        Entry(amount="200", acct_svcr_ref="PENDING", status="PDNG"),
        Entry(amount="300", acct_svcr_ref="OUT", credit_debit="DBIT"),
        Entry(amount="400", acct_svcr_ref="BACK", reversal=True),
        version="001.08",
    )

    assert [p.bank_reference for p in parsed.payments] == ["PAID"]
    assert [(s.bank_reference, s.amount_ore, s.reason) for s in parsed.skipped] == [
        ("PENDING", 20000, "status PDNG: only booked entries (BOOK) are payments"),
        ("OUT", 30000, "a debit (DBIT): money out of the account, not a payment received"),
        (
            "BACK",
            40000,
            "a credit that reverses an earlier debit (RvslInd=true): not a customer payment",
        ),
    ]


def test_version_001_08_shapes() -> None:
    parsed = _parse(
        Entry(amount="10", txs=(Tx(debtor="Cecilia Ö", debtor_iban="SE3550000000054910000003"),)),
        version="001.08",
    )

    (payment,) = parsed.payments
    assert parsed.layout == "camt.054.001.08"
    assert payment.payer_name == "Cecilia Ö"  # Dbtr/Pty/Nm
    assert payment.payer_account == "SE3550000000054910000003"


def test_duplicate_bank_reference_in_one_file_rejects_it() -> None:
    data = camt054(
        Entry(amount="100", acct_svcr_ref="SAME"),
        Entry(amount="100", acct_svcr_ref="SAME"),
    )

    assert _problems(data) == [
        (
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]",
            "AcctSvcrRef 'SAME' occurs twice (also at "
            "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]): a repeated key would drop the "
            "second payment as a duplicate",
        )
    ]


def test_a_malformed_file_lists_every_problem_and_books_nothing() -> None:
    data = camt054(
        Entry(amount="100", acct_svcr_ref="OK-1"),
        Entry(amount="abc", acct_svcr_ref="BAD-1"),
        Entry(amount="100", acct_svcr_ref=None),
        Entry(amount="5", credit_debit="XXXX"),
        Entry(amount="5", booking_date=None, acct_svcr_ref="NO-DATE"),
    )

    assert [element.rsplit("/", 2)[-2:] if element else None for element, _ in _problems(data)] == [
        ["Ntry[2]", "Amt"],
        ["Ntfctn[1]", "Ntry[3]"],
        ["Ntry[4]", "CdtDbtInd"],
        ["Ntfctn[1]", "Ntry[5]"],
    ]


def test_transaction_summary_is_checked() -> None:
    summary = (
        "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>300.00</Sum></TtlNtries>"
        "<TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>100.00</Sum></TtlCdtNtries></TxsSummry>"
    )
    good = _parse(
        Entry(amount="100", acct_svcr_ref="A"),
        Entry(amount="200", acct_svcr_ref="B", credit_debit="DBIT"),
        summary=summary,
    )
    assert [(c.what, c.declared) for c in good.controls] == [
        ("TtlNtries/NbOfNtries", 2),
        ("TtlNtries/Sum", 30000),
        ("TtlCdtNtries/NbOfNtries", 1),
        ("TtlCdtNtries/Sum", 10000),
    ]

    bad = camt054(
        Entry(amount="100.01", acct_svcr_ref="A"),
        Entry(amount="200", acct_svcr_ref="B", credit_debit="DBIT"),
        summary=summary,
    )
    assert [m for _, m in _problems(bad)] == [
        "the summary declares 30000 öre, the entries add up to 30001 öre",
        "the summary declares 10000 öre, the entries add up to 10001 öre",
    ]


def test_unsupported_version_is_refused() -> None:
    assert _problems(camt054(Entry(amount="1"), version="001.09")) == [
        ("Document", "camt.054.001.09 is not a supported version (001.02 to 001.08)")
    ]


def test_camt053_is_refused() -> None:
    data = camt054(Entry(amount="1")).replace(b"camt.054.001.02", b"camt.053.001.02")

    assert _problems(data)[0][1].startswith(
        "a camt.053 account statement is not a camt.054 credit notification"
    )


# --- Safe parsing -------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
)
EXTERNAL_ENTITY = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


@pytest.mark.parametrize("doctype", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<!DOCTYPE Document>\n"])
def test_dtds_and_entities_are_refused(doctype: str) -> None:
    data = camt054(Entry(amount="1", txs=(Tx(ustrd=("&lol3;",)),)), doctype=doctype)

    (problem,) = _problems(data)
    assert problem == (
        "line 2",
        "the file declares a DTD (<!DOCTYPE ...): bank files never do, and DTDs carry entity "
        "attacks (billion laughs, external entities); refused before parsing",
    )


def test_utf16_dtd_is_refused_by_the_parser_itself() -> None:
    text = camt054(Entry(amount="1"), doctype=EXTERNAL_ENTITY).decode().replace("UTF-8", "UTF-16")
    data = text.encode("utf-16")

    assert [m for _, m in _problems(data)] == [
        "the file declares a DTD: refused (bank files never do; DTDs carry attacks)"
    ]


def test_oversize_file_is_refused_before_parsing() -> None:
    # Malicious and too large: the size is what is reported, so nothing parsed it.
    data = camt054(Entry(amount="1"), doctype=BILLION_LAUGHS)

    assert _problems(data, max_bytes=len(data) - 1) == [
        (
            None,
            f"the file is {len(data)} bytes, over the limit of {len(data) - 1} bytes: "
            "refused before parsing",
        )
    ]


def test_not_well_formed_xml_names_the_line() -> None:
    data = camt054(Entry(amount="1")).replace(b"</Ntfctn>", b"</Ntfct>")

    ((where, message),) = _problems(data)
    assert where == "line 7"
    assert message.startswith("not well-formed XML: mismatched tag")


def test_truncated_file_is_refused() -> None:
    data = camt054(Entry(amount="1"))

    assert _problems(data[: len(data) // 2])[0][1].startswith("not well-formed XML")


def test_xml_only_lxml_refuses_is_named_with_its_line() -> None:
    # expat reads version="6.0"; libxml2 does not. Still a reason and a line, not a crash.
    data = camt054(Entry(amount="1")).replace(b'version="1.0"', b'version="6.0"', 1)

    assert _problems(data) == [
        ("line 1", "the XML cannot be read: Unsupported version '6.0', line 1, column 20")
    ]


def test_comments_and_processing_instructions_do_not_split_a_text() -> None:
    # lxml keeps them in the tree unless told not to; ElementTree never did. Either way the
    # OCR number is the element's whole text.
    data = camt054(Entry(amount="12.50", txs=(Tx(scor=("1234574",)),)))
    data = data.replace(b">1234574<", b">123<!-- checked -->45<?check ok?>74<", 1)

    assert parse_camt054(data).payments[0].reference == "1234574"


def test_fixture_file_paths_exist() -> None:
    assert isinstance(CAMT, Path)
    assert (CAMT / "genkgo-expected-json").is_dir()
