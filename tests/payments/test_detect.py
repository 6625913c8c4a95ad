"""Format detection and the one entry point, ``parse_bank_file`` (domain.md §9).

Every file in shared/fixtures/{bgmax,camt054,autogiro} is either parsed as the format it is or
refused with a reason, through the same door the application uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fordra.payments.domain.bank_file import BankFileRejected
from fordra.payments.domain.detect import detect_format, parse_bank_file
from tests.fixtures_path import shared_fixtures
from tests.payments import assert_every_ore_accounted
from tests.payments.camt_factory import Entry, Tx, camt054

FIXTURES = shared_fixtures()
UNKNOWN = "not a recognised bank file"

# file -> ("parsed", format, payments, autogiro results) or ("refused", line, reason fragment)
OUTCOMES: dict[str, tuple[str, object, object, object]] = {
    "bgmax/BgMaxfil4.txt": ("parsed", "bgmax", 9, 0),
    "bgmax/more/byrokrat_autogiro_exempelfil_bg-max-forma_sv.txt": ("refused", 1, "TAB character at position 46", None),
    "bgmax/more/fabhed_bankgiroinbetalningar_exempelfil_avtal-om-ocr-kontroll_checksiffra_langd_sv.txt": ("refused", 17, "TAB character at position 13", None),
    "bgmax/more/pybgmax_multipayment.txt": ("refused", 4, "the line is UTF-8 encoded", None),
    "bgmax/more/rickardlindgren_bankgiroinbetalningar_exempelfil_avtal-om-ocr-kontroll_checksiffra_langd_sv.txt": ("refused", 17, "TAB character at position 13", None),
    "bgmax/more/treesitter_utf8_bankgiroinbetalningar_exempelfil_avtal-om-ocr-kontroll_checksiffra_langd_sv.txt": ("refused", 4, "the line is UTF-8 encoded", None),
    "camt054/genkgo_camt054.v2.xml": ("parsed", "camt054", 0, 0),
    "camt054/genkgo_camt054.v2.with-account-name.xml": ("parsed", "camt054", 0, 0),
    "camt054/genkgo_camt054.v4.xml": ("parsed", "camt054", 0, 0),
    "camt054/genkgo_camt054.v8.xml": ("parsed", "camt054", 0, 0),
    "camt054/genkgo_camt054.v8-with-UETR.xml": ("parsed", "camt054", 0, 0),
    "camt054/genkgo_camt054.v8-with-financial-institution.xml": ("parsed", "camt054", 0, 0),
    "camt054/oca_test-camt054.xml": ("parsed", "camt054", 1, 0),
    "autogiro/ny_layout/autogiro_exempelfil_bet-spec-o-tk_sv.txt": ("parsed", "autogiro", 0, 14),
    "autogiro/gammal_layout/autogiro_gl_betalningsspec-stoppadebetalningar-tackningskontroll_fran-bankgirot-medgivanden-bankgironummer_exempelfil_sv.txt": ("parsed", "autogiro", 0, 15),
    "autogiro/ny_layout/autogiro_exempelfil_bg-max-forma_sv.txt": ("refused", 1, "TAB character at position 46", None),
    "autogiro/ny_layout/autogiro_exempelfil-utdrag-ur-medgivanderegistret_sv.txt": ("refused", 1, UNKNOWN, None),
    "autogiro/ny_layout/autogiro_exempelfil-betalningsunderlag_sv.txt": ("refused", 5, "a payment-order file TO Bankgirot (betalningsunderlag)", None),
    "autogiro/ny_layout/autogiro_exempelfil_medgivandeunderlag_sv.txt": ("refused", 5, "an Autogiro mandate file TO Bankgirot (medgivandeunderlag)", None),
    "autogiro/ny_layout/autogiro_exempelfil_nya_medgivanden_via_internetbank_sv.txt": ("refused", 5, "an Autogiro mandate file (new mandates via the internet bank", None),
    "autogiro/ny_layout/autogiro_exempelfilavvisade_betalningsuppdrag_sv.txt": ("refused", 5, "an Autogiro list of rejected payment orders", None),
    "autogiro/ny_layout/autogiro_exempelfiler_medgivandeavisering_sv.txt": ("refused", 5, "an Autogiro mandate file (medgivandeavisering", None),
    "autogiro/ny_layout/autogiro_exempelfilermakuleringar_andringar-av-betalningar_sv.txt": ("refused", 5, "an Autogiro report of cancelled or changed payment orders", None),
    "autogiro/ny_layout/autogiro_exempelfilermakulerings-andringsunderlag_sv.txt": ("refused", 5, "a cancellation/amendment file TO Bankgirot", None),
    "autogiro/ny_layout/autogiro_exempelfilutdrag-ur-bevakningsregistret_sv.txt": ("refused", 3, "an extract from the Autogiro payment register", None),
    "autogiro/gammal_layout/autogiro-gl_makulerings-andringsunderlag_till-bankgirot_exempelfil_sv.txt": ("refused", 1, "a cancellation/amendment file TO Bankgirot", None),
    "autogiro/gammal_layout/autogiro_gl_avvisadebetaln_fran-bankgirot-medgivanden-bankgironummer_exempelfil_sv.txt": ("refused", 1, "an Autogiro list of rejected payment orders", None),
    "autogiro/gammal_layout/autogiro_gl_betalningsunderlag_till-bankgirot-medgivanden-bankgironummer_exempelfil_sv (1).txt": ("refused", 1, "a payment-order file TO Bankgirot (betalningsunderlag)", None),
    "autogiro/gammal_layout/autogiro_gl_betalningsunderlag_till-bankgirot-medgivanden-bankgironummer_exempelfil_sv.txt": ("refused", 1, "a payment-order file TO Bankgirot (betalningsunderlag)", None),
    "autogiro/gammal_layout/autogiro_gl_betalningsunderlag_till-bankgirot-medgivanden-kontonummer_exempelfil_sv.txt": ("refused", 1, "a payment-order file TO Bankgirot (betalningsunderlag)", None),
    "autogiro/gammal_layout/autogiro_gl_exempelfil_avvisadebetalningar_fran-bankgirot-medgivanden-kontonummer_exemeplfil_sv.txt": ("refused", 1, "an Autogiro list of rejected payment orders", None),
    "autogiro/gammal_layout/autogiro_gl_exempelfil_makulering-andring_fran-bankgirot-medgivanden-kontonummer_exempelfil_sv.txt": ("refused", 1, "an Autogiro report of cancelled or changed payment orders", None),
    "autogiro/gammal_layout/autogiro_gl_exempelfil_medgivandeavisering_fran-bankgirot-medgivanden-kontonummer_exemeplfil_sv.txt": ("refused", 1, "an Autogiro mandate file (medgivandeavisering", None),
    "autogiro/gammal_layout/autogiro_gl_makulering-datumandring_till-bankgirot-medgivanden-kontonummer_exempelfil_sv.txt": ("refused", 1, "a cancellation/amendment file TO Bankgirot", None),
    "autogiro/gammal_layout/autogiro_gl_medgivandeavisering_fran-bankgirot-medgivanden-bankgironummer_exempelfil_sv.txt": ("refused", 1, "an Autogiro mandate file (medgivandeavisering", None),
    "autogiro/gammal_layout/autogiro_gl_medgivanden_via_internetbanken_exempelfil_fran-bankgirot.txt": ("refused", 1, "an Autogiro mandate file (new mandates via the internet bank", None),
    "autogiro/gammal_layout/autogiro_gl_medgivandeunderlag_till-bankgirot-medgivanden-bankgironummer_exempelfil_sv.txt": ("refused", 1, "an Autogiro mandate file TO Bankgirot (medgivandeunderlag)", None),
    "autogiro/gammal_layout/autogiro_gl_medgivandeunderlag_till-bankgirot-medgivanden-kontonummer_exempelfiler_sv.txt": ("refused", 1, "an Autogiro mandate file TO Bankgirot (medgivandeunderlag)", None),
}  # fmt: skip


def _bank_files() -> list[str]:
    """Every file of the three folders that is not the folders' own documentation."""
    found = []
    for folder in ("bgmax", "camt054", "autogiro"):
        for path in sorted((FIXTURES / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".md", ".json"):
                found.append(path.relative_to(FIXTURES).as_posix())
    return found


def test_every_bank_file_of_the_fixtures_has_an_expected_outcome() -> None:
    assert sorted(OUTCOMES) == sorted(_bank_files())


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_each_fixture_is_parsed_or_refused_with_its_reason(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    outcome, first, second, third = OUTCOMES[name]

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
        (_iso("camt.053.001.02"), "a camt.053 account statement is not a camt.054 credit notification"),
        (_iso("camt.052.001.02"), "a camt.052 account report is not a camt.054 credit notification"),
        (_iso("pain.001.001.03"), "a pain.001 payment order TO the bank is not a notification of payments received"),
        (_iso("pain.002.001.03"), "a pain.002 payment status report is not a notification of payments received"),
        (_iso("camt.056.001.01"), "ISO 20022 message camt.056 is not a camt.054 credit notification"),
        (b"<html><body>Betalningar</body></html>", "an XML document with root 'html' is not an ISO 20022 camt.054 notification"),
        (b"<?xml version='1.0'?><Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>", "an XML document with root"),
        (b'{"payments": []}', UNKNOWN),
        (b"", "the file is empty"),
        (b"  \r\n\r\n", "the file is empty"),
        (bytes(range(256)), UNKNOWN),
        (b"<Document", "not well-formed XML"),
    ],
)  # fmt: skip
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
