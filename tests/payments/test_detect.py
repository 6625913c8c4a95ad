"""Format detection and the one entry point, ``parse_bank_file`` (domain.md §9).

Every file in shared/fixtures/{bgmax,camt054,autogiro} is either parsed as the format it is or
refused with a reason, through the same door the application uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fordra.payments.adapters.detect import detect_format, parse_bank_file
from fordra.payments.domain.bank_file import BankFileRejected
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted
from tests.payments.camt_factory import Entry, Tx, camt054

FIXTURES = shared_fixtures()
UNKNOWN = "not a recognised bank file"

ORDERS = "a payment-order file TO Bankgirot (betalningsunderlag)"
MANDATE_REQUESTS = "an Autogiro mandate file TO Bankgirot (medgivandeunderlag)"
CANCEL_REQUESTS = "a cancellation/amendment file TO Bankgirot"
INTERNET = "an Autogiro mandate file (new mandates via the internet bank"
MANDATE = "an Autogiro mandate file (medgivandeavisering"
REJECTED = "an Autogiro list of rejected payment orders"
CANCELLED = "an Autogiro report of cancelled or changed payment orders"
EXTRACT = "an extract from the Autogiro payment register"
TAB_46 = "TAB character at position 46"
TAB_13 = "TAB character at position 13"
UTF8 = "the line is UTF-8 encoded"

# A fragment of the file name -> what parse_bank_file answers: ("parsed", format, payments,
# Autogiro results) or ("refused", line, reason, None). Every bank file matches one fragment.
OUTCOMES: dict[str, tuple[str, object, object, object]] = {
    "BgMaxfil4": ("parsed", "bgmax", 9, 0),
    "more/byrokrat_autogiro": ("refused", 1, TAB_46, None),
    "more/fabhed_": ("refused", 17, TAB_13, None),
    "more/rickardlindgren_": ("refused", 17, TAB_13, None),
    "more/pybgmax_multipayment": ("refused", 4, UTF8, None),
    "more/treesitter_utf8_": ("refused", 4, UTF8, None),
    "genkgo_camt054.v2.xml": ("parsed", "camt054", 0, 0),
    "genkgo_camt054.v2.with-account-name.xml": ("parsed", "camt054", 0, 0),
    "genkgo_camt054.v4.xml": ("parsed", "camt054", 0, 0),
    "genkgo_camt054.v8.xml": ("parsed", "camt054", 0, 0),
    "genkgo_camt054.v8-with-UETR.xml": ("parsed", "camt054", 0, 0),
    "genkgo_camt054.v8-with-financial-institution.xml": ("parsed", "camt054", 0, 0),
    "oca_test-camt054.xml": ("parsed", "camt054", 1, 0),
    "ny_layout/autogiro_exempelfil_bet-spec-o-tk": ("parsed", "autogiro", 0, 14),
    "gammal_layout/autogiro_gl_betalningsspec": ("parsed", "autogiro", 0, 15),
    "ny_layout/autogiro_exempelfil_bg-max-forma": ("refused", 1, TAB_46, None),
    "ny_layout/autogiro_exempelfil-utdrag-ur-medgivanderegistret": ("refused", 1, UNKNOWN, None),
    "ny_layout/autogiro_exempelfil-betalningsunderlag": ("refused", 5, ORDERS, None),
    "ny_layout/autogiro_exempelfil_medgivandeunderlag": ("refused", 5, MANDATE_REQUESTS, None),
    "ny_layout/autogiro_exempelfil_nya_medgivanden": ("refused", 5, INTERNET, None),
    "ny_layout/autogiro_exempelfilavvisade": ("refused", 5, REJECTED, None),
    "ny_layout/autogiro_exempelfiler_medgivandeavisering": ("refused", 5, MANDATE, None),
    "ny_layout/autogiro_exempelfilermakuleringar_andringar": ("refused", 5, CANCELLED, None),
    "ny_layout/autogiro_exempelfilermakulerings-andringsunderlag": (
        "refused",
        5,
        CANCEL_REQUESTS,
        None,
    ),
    "ny_layout/autogiro_exempelfilutdrag-ur-bevakningsregistret": ("refused", 3, EXTRACT, None),
    "gammal_layout/autogiro-gl_makulerings-andringsunderlag": ("refused", 1, CANCEL_REQUESTS, None),
    "gammal_layout/autogiro_gl_avvisadebetaln_": ("refused", 1, REJECTED, None),
    "gammal_layout/autogiro_gl_betalningsunderlag_till-bankgirot": ("refused", 1, ORDERS, None),
    "gammal_layout/autogiro_gl_exempelfil_avvisadebetalningar": ("refused", 1, REJECTED, None),
    "gammal_layout/autogiro_gl_exempelfil_makulering-andring": ("refused", 1, CANCELLED, None),
    "gammal_layout/autogiro_gl_exempelfil_medgivandeavisering": ("refused", 1, MANDATE, None),
    "gammal_layout/autogiro_gl_makulering-datumandring": ("refused", 1, CANCEL_REQUESTS, None),
    "gammal_layout/autogiro_gl_medgivandeavisering": ("refused", 1, MANDATE, None),
    "gammal_layout/autogiro_gl_medgivanden_via_internetbanken": ("refused", 1, INTERNET, None),
    "gammal_layout/autogiro_gl_medgivandeunderlag": ("refused", 1, MANDATE_REQUESTS, None),
}


def _bank_files() -> list[str]:
    """Every file of the three folders that is not the folders' own documentation."""
    found = []
    for folder in ("bgmax", "camt054", "autogiro"):
        for path in sorted((FIXTURES / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".md", ".json"):
                found.append(path.relative_to(FIXTURES).as_posix())
    return found


def _fragment(name: str) -> str:
    (fragment,) = [f for f in OUTCOMES if f in name]
    return fragment


def test_every_bank_file_of_the_fixtures_has_one_expected_outcome() -> None:
    fragments = [_fragment(name) for name in _bank_files()]

    assert sorted(set(fragments)) == sorted(OUTCOMES)


@pytest.mark.parametrize("name", _bank_files())
def test_each_fixture_is_parsed_or_refused_with_its_reason(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    outcome, first, second, third = OUTCOMES[_fragment(name)]

    if outcome == "parsed":
        assert detect_format(data) == first
        parsed = parse_bank_file(data)
        assert (parsed.format, len(parsed.payments), len(parsed.autogiro_results)) == (
            first,
            second,
            third,
        )
        assert_every_ore_accounted(parsed)
    else:
        with pytest.raises(BankFileRejected) as error:
            parse_bank_file(data)
        assert error.value.errors[0]["line"] == first
        assert str(second) in error.value.errors[0]["message"]


@pytest.mark.parametrize(
    "path",
    sorted(p for f in ("bgmax", "camt054", "autogiro") for p in (FIXTURES / f).rglob("*.md"))
    + sorted((FIXTURES / "camt054" / "genkgo-expected-json").glob("*.json")),
    ids=lambda p: Path(p).name,
)
def test_documentation_beside_the_files_is_no_bank_file(path: Path) -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bank_file(path.read_bytes())

    assert error.value.errors[0]["message"].startswith(UNKNOWN)


# --- Other documents ---------------------------------------------------------------------------


def _iso(message: str) -> bytes:
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}">'
        "<X/></Document>"
    ).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_iso("camt.053.001.02"), "a camt.053 account statement is not a camt.054"),
        (_iso("camt.052.001.02"), "a camt.052 account report is not a camt.054"),
        (_iso("pain.001.001.03"), "a pain.001 payment order TO the bank is not a notification"),
        (_iso("pain.002.001.03"), "a pain.002 payment status report is not a notification"),
        (_iso("camt.056.001.01"), "ISO 20022 message camt.056 is not a camt.054"),
        (b"<html><body>Betalningar</body></html>", "an XML document with root 'html' is not"),
        (
            b"<?xml version='1.0'?>"
            b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>",
            "an XML document with root",
        ),
        (b'{"payments": []}', UNKNOWN),
        (b"", "the file is empty"),
        (b"  \r\n\r\n", "the file is empty"),
        (bytes(range(256)), UNKNOWN),
        (b"<Document", "not well-formed XML"),
        (b"<?xml version='1.0' encoding='UTF-9'?><a/>", "the XML declaration names an encoding"),
    ],
)
def test_other_documents_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BankFileRejected) as error:
        detect_format(data)

    assert error.value.errors[0]["message"].startswith(reason)


def test_detection_reads_content_not_names() -> None:
    bgmax = (FIXTURES / "bgmax" / "BgMaxfil4.txt").read_bytes()

    assert detect_format(bgmax) == "bgmax"
    assert detect_format(b"\r\n" + bgmax) == "bgmax"
    assert detect_format(camt054(Entry(amount="1"))) == "camt054"
    assert detect_format(b"\xef\xbb\xbf" + camt054(Entry(amount="1"))) == "camt054"


def test_utf16_camt054_is_detected_and_parsed() -> None:
    text = camt054(Entry(amount="12.50", txs=(Tx(scor=("1234574",)),))).decode()
    data = text.replace("UTF-8", "UTF-16").encode("utf-16")

    parsed = parse_bank_file(data)
    assert (parsed.format, parsed.payments[0].amount_ore) == ("camt054", 1250)


def test_a_bom_before_a_bgmax_file_is_named() -> None:
    data = b"\xef\xbb\xbf" + (FIXTURES / "bgmax" / "BgMaxfil4.txt").read_bytes()

    assert detect_format(data) == "bgmax"
    with pytest.raises(BankFileRejected) as error:
        parse_bank_file(data)
    assert error.value.errors[0]["line"] == 1
    assert "UTF-8" in error.value.errors[0]["message"]


def test_size_is_checked_before_detection() -> None:
    with pytest.raises(BankFileRejected) as error:
        parse_bank_file(b"<!DOCTYPE x [<!ENTITY a 'b'>]>" + b" " * 100, max_bytes=64)

    assert "over the limit of 64 bytes" in error.value.errors[0]["message"]


def test_parse_bank_file_passes_the_size_limit_on() -> None:
    data = camt054(Entry(amount="1"))

    assert parse_bank_file(data, max_bytes=len(data)).payments[0].amount_ore == 100
