"""The SIE 4i export (domain.md §10: "SIE 4i (text, codepage 437, #VER balanced to zero)"):
written, read back, checked line by line, and the reader run over real programs' files."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fordra.kernel.auth import AccessDenied, Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.projection import ReadModelDatabase
from fordra.kernel.web import RouterDeps
from fordra.projections.adapters.sie import (
    SieFormatError,
    format_amount,
    parse_sie,
    parse_sie_vouchers,
    write_sie4i,
)
from fordra.projections.application.postings import PostingsProjection
from fordra.projections.domain.chart_of_accounts import (
    AccountingSettings,
    PostingRow,
    Voucher,
    credit_note_voucher,
    invoice_voucher,
)
from fordra.projections.entrypoints.sie_http import make_router
from tests.dunning.test_interest_charges import Log
from tests.fixtures_path import shared_fixtures
from tests.projections.test_agency_postings import changed
from tests.projections.test_postings import (
    TENANT,
    WATER_AND_WASTE,
    Ledger,
    a_month_of_invoicing,
    credit_note,
    invoice,
    line,
    open_ledger,
)
from tests.projections.test_write_offs import open_books, written_down, written_off

SETTINGS = AccountingSettings()
PERIOD = {"from_date": date(2025, 1, 1), "to_date": date(2025, 2, 28)}


def numbered(voucher: Voucher, number: int) -> Voucher:
    return voucher.model_copy(update={"number": number})


def sample_vouchers() -> list[Voucher]:
    return [
        numbered(invoice_voucher(invoice(*WATER_AND_WASTE), SETTINGS), 1),
        numbered(
            credit_note_voucher(
                credit_note("inv-1", line("waste", 12, 20_000)),
                SETTINGS,
                invoice_number="00000001",
            ),
            2,
        ),
    ]


def write(vouchers: list[Voucher], **overrides: object) -> bytes:
    args: dict[str, object] = {
        "company_name": "Fördraby kommun",
        "orgnr": "212000-1355",
        "generated_at": date(2025, 3, 1),
        "accounts": SETTINGS.account_names,
        **PERIOD,
        **overrides,
    }
    return write_sie4i(vouchers, **args)  # type: ignore[arg-type]


def ver_sums(data: bytes) -> list[Decimal]:
    """Each #VER's #TRANS amounts summed, read with a regular expression rather than our reader,
    so that the writer is checked by something that does not share its assumptions."""
    sums: list[Decimal] = []
    for line_ in data.decode("cp437").split("\r\n"):
        if line_.startswith("#VER"):
            sums.append(Decimal(0))
        match = re.match(r"^\s*#TRANS \d+ \{[^}]*\} (-?\d+\.\d{2})\b", line_)
        if match:
            sums[-1] += Decimal(match.group(1))
    return sums


# -- writing ----------------------------------------------------------------------------------


def test_the_file_reads_back_as_the_same_vouchers() -> None:
    vouchers = sample_vouchers()
    read = parse_sie(write(vouchers))
    assert read.vouchers == vouchers
    assert read.sie_type == "4"
    assert read.format == "PC8"
    assert read.program == "Fordra"
    assert read.company_name == "Fördraby kommun"
    assert read.orgnr == "212000-1355"
    # Only the accounts the vouchers use, named
    assert read.accounts == {
        1512: "Kundfordringar",
        2611: "Utgående moms försäljning 25 %",
        2621: "Utgående moms försäljning 12 %",
        3011: "Vatten- och avloppsavgifter",
        3012: "Avfallsavgifter",
    }


def test_the_file_is_codepage_437_with_crlf_line_ends() -> None:
    data = write(sample_vouchers())
    # å ä ö in codepage 437, never as UTF-8
    assert "Fördraby".encode("cp437") in data  # ö is 0x94
    assert "Utgående".encode("cp437") in data  # å is 0x86
    assert b"\xc3" not in data
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.endswith(b"\r\n")
    head = data.decode("cp437").split("\r\n")[:7]
    assert head == [
        "#FLAGGA 0",
        "#FORMAT PC8",
        "#SIETYP 4",
        '#PROGRAM "Fordra" "0.1.0"',
        "#GEN 20250301",
        '#PROSA "Kundreskontra 2025-01-01 -- 2025-02-28"',
        '#FNAMN "Fördraby kommun"',
    ]


def test_every_ver_sums_to_zero_and_amounts_are_kronor_with_two_decimals() -> None:
    data = write(sample_vouchers())
    assert ver_sums(data) == [Decimal(0), Decimal(0)]
    text = data.decode("cp437")
    assert '#VER "KF" "1" 20250110 "Kundfaktura 00000001"' in text
    assert "\t#TRANS 1512 {} 1236.51\r\n" in text
    assert "\t#TRANS 3011 {} -810.01\r\n" in text


@pytest.mark.parametrize(
    ("ore", "text"),
    [(0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00"), (-123_456, "-1234.56")],
)
def test_amounts_are_written_with_a_decimal_point(ore: int, text: str) -> None:
    assert format_amount(ore) == text


def test_objects_quotes_and_letters_outside_codepage_437() -> None:
    voucher = Voucher(
        series="KF",
        number=7,
        date=date(2025, 1, 31),
        text='Faktura "brådskande"\tmed – tankstreck',
        rows=(
            PostingRow(account=1512, amount_ore=100, text="rad ett"),
            PostingRow(account=3011, amount_ore=-100, objects=((1, "va avd"),)),
        ),
    )
    data = write([voucher])
    text = data.decode("cp437")
    assert '#DIM 1 "Kostnadsställe"' in text
    assert '#OBJEKT 1 "va avd" "va avd"' in text
    assert '#TRANS 3011 {1 "va avd"} -1.00' in text
    (read,) = parse_sie_vouchers(data)
    # The tab became a blank, the dash (not in codepage 437) a "?", the quotes survived
    assert read.text == 'Faktura "brådskande" med ? tankstreck'
    assert read.rows == voucher.rows


def test_an_empty_period_is_a_valid_file_without_vouchers() -> None:
    data = write([])
    assert parse_sie_vouchers(data) == []
    assert b"#VER" not in data
    assert b"#KONTO" not in data


def test_the_writer_refuses_what_would_mislead_the_ledger() -> None:
    (voucher, _) = sample_vouchers()
    with pytest.raises(ValueError, match="outside the period"):
        write([voucher], from_date=date(2025, 2, 1))
    with pytest.raises(ValueError, match="runs backwards"):
        write([], from_date=date(2025, 3, 1))
    with pytest.raises(ValueError, match="NNNNNN-NNNN"):
        write([], orgnr="2120001355")
    # No organisation number: #ORGNR is left out (it is optional in 4i)
    assert b"#ORGNR" not in write([], orgnr="")


# -- reading real files -----------------------------------------------------------------------

SIE = shared_fixtures("sie")
BLINFO = "blinfo-Sie4j"
JSISIE = "jsisie-sie_test_files"

# Files this reader must refuse, with what it must say. Every other fixture must parse.
REFUSED: dict[str, str] = {
    # blinfo's deliberate defects in what this reader reads: vouchers, their rows, #KONTO
    "BLBLOV_SIE4_UTF_8_IMBALANCED.SI": "does not balance",
    "BLBLOV_SIE4_UTF_8_with_imbalanced_voucher.SE": "does not balance",
    "BLBLOV_SIE4_UTF_8_with_critical_voucher_date_error.SI": "'rappakalja' is not YYYYMMDD",
    "BLBLOV_SIE4_UTF_8_with_empty_voucher_date.SI": "'' is not YYYYMMDD",
    "BLBLOV_SIE4_UTF_8_with_erroneous_voucher_date.SI": "'180501' is not YYYYMMDD",
    "BLBLOV_SIE4_UTF_8_with_iso_voucher_date.SI": "'2018-05-01' is not YYYYMMDD",
    "BLBLOV_SIE4_UTF_8_with_missing_voucher_date.SI": "needs a series, a number and a date",
    # Without the series every field moves one left, so the date is a blank.
    "BLBLOV_SIE4_UTF_8_with_missing_voucher_series.SE": "' ' is not YYYYMMDD",
    "BLBLOV_SIE4_UTF_8_with_empty_voucher.SE": "has no rows",
    "BLBLOV_SIE4_UTF_8_with_faulty_transaction.SI": "#TRANS needs",
    "BLBLOV_SIE4_UTF_8_with_missing_account_numbers_in_transaction.SI": "account number ''",
    "BLBLOV_SIE4_UTF_8_with_missing_account_numbers.SE": "account number ''",
    "BLBLOV_SIE4_UTF_8_with_non_numeric_account_number.SE": "account number '11AF'",
    # SIE types 1-3 (blinfo keeps them for "reject non-SIE 4" tests)
    "BLBLOV_SIE1.SE": "not a SIE 4 file (#SIETYP 1)",
    "BLBLOV_SIE1_copy.SE": "not a SIE 4 file",
    "BLBLOV_SIE1_erroneous_leap_year.SE": "not a SIE 4 file",
    "BLBLOV_SIE1_file_is_read.SE": "not a SIE 4 file",
    "Balanserad förlust.se": "not a SIE 4 file",
    "BLBLOV_SIE2.SE": "not a SIE 4 file (#SIETYP 2)",
    "BLBLOV_SIE2_UTF_8_with_errors.SE": "not a SIE 4 file",
    "BLBLOV_SIE2_UTF_8_with_multiple_errors.SE": "not a SIE 4 file",
    "BLBLOV_SIE2_UTF_8_with_non_numeric_account_number.SE": "not a SIE 4 file",
    "BLBLOV_SIE3.SE": "not a SIE 4 file (#SIETYP 3)",
    "BLBLOV_SIE3_UTF_8_with_vouchers.SE": "not a SIE 4 file",
    # jsisie's deliberately unbalanced copy of transaktioner_ovnbolag.se
    "transaktioner_ovnbolag-bad-balance.se": "does not balance",
    # Real exports that break a rule this reader keeps (and our writer never breaks):
    "Bokslut%20Norstedts%20SIE%204E.se": "line 1149: voucher B 17",  # an emptied voucher
    "Sie4.se": "account number 'DIFF'",  # SoftOne's difference account
    "XE_SIE_4_20151125095119.SE": "line 220: a quoted field is not closed",  # a bare '"' in a name
}

# blinfo's defects outside what this reader reads (tax codes, SRU, address, organisation number,
# company name, balances, missing or long #KONTO): these files hold the same vouchers as the clean
# file they were made from, and must read as such.
SAME_VOUCHERS_AS: dict[str, str] = {
    "BLBLOV_SIE4_UTF_8_MISSING_ACCOUNTS.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_8_digit_account_number.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_erroneous_taxar.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_errors.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_missing_account_balance.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_missing_sru_code.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_with_unparseable_taxar.SE": "BLBLOV_SIE4_UTF_8_1.SE",
    "BLBLOV_SIE4_UTF_8_WITH_FAULTY_ADDRESS.SI": "BLBLOV_SIE4_UTF_8.SI",
    "BLBLOV_SIE4_UTF_8_with_12_digit_cid.SI": "BLBLOV_SIE4_UTF_8.SI",
    "BLBLOV_SIE4_UTF_8_with_8-4_digit_cid.SI": "BLBLOV_SIE4_UTF_8.SI",
    "BLBLOV_SIE4_UTF_8_with_missing_company_name.SI": "BLBLOV_SIE4_UTF_8.SI",
    # Only the voucher numbers differ (blinfo flags them as not what an import file should carry)
    "BLBLOV_SIE4_UTF_8_with_erroneous_voucher_numbers.SI": "BLBLOV_SIE4_UTF_8.SI",
}

FIXTURES = sorted(
    (p for folder in (BLINFO, JSISIE) for p in (SIE / folder).iterdir()), key=lambda p: p.name
)


def test_the_fixture_lists_name_real_files() -> None:
    names = {p.name for p in FIXTURES}
    assert len(FIXTURES) == 80
    assert set(REFUSED) <= names
    assert set(SAME_VOUCHERS_AS) | set(SAME_VOUCHERS_AS.values()) <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_reader_reads_real_sie_4_and_names_what_is_wrong(path: Path) -> None:
    data = path.read_bytes()
    if path.name in REFUSED:
        with pytest.raises(SieFormatError, match=re.escape(REFUSED[path.name])):
            parse_sie(data)
        return
    read = parse_sie(data)
    assert read.sie_type == "4"
    # A Voucher exists only balanced; checked again here independently of the model
    for v in read.vouchers:
        assert sum(r.amount_ore for r in v.rows) == 0, (v.series, v.number)
    if path.name in SAME_VOUCHERS_AS:
        clean = parse_sie_vouchers((path.parent / SAME_VOUCHERS_AS[path.name]).read_bytes())
        assert [(v.series, v.date, v.text, v.rows) for v in read.vouchers] == [
            (v.series, v.date, v.text, v.rows) for v in clean
        ]


def test_the_real_files_hold_the_vouchers_their_programs_wrote() -> None:
    # blinfo's register export (BLBLOV_SIE4.SI), in codepage 437 as SIE prescribes
    read = parse_sie((SIE / BLINFO / "BLBLOV_SIE4.SI").read_bytes())
    assert read.company_name == "Övningsbolaget AB"  # unquoted with a blank, as written
    assert read.program == "Kassasystem"
    first, second = read.vouchers
    assert (first.series, first.number, first.date) == ("K", None, date(2018, 5, 2))
    assert first.text == "Försäljning 25% (DF:157)"
    assert [(r.account, r.amount_ore) for r in second.rows] == [
        (1910, 50_000),
        (2621, -5_357),
        (3020, -44_643),
    ]
    # An escaped quote inside a quoted field
    (quoted,) = parse_sie_vouchers((SIE / BLINFO / "Quotes_test.si").read_bytes())
    assert quoted.text.endswith('"DF:157"')
    # Large real exports: every voucher, with objects where the program used them
    ovn = parse_sie_vouchers((SIE / JSISIE / "transaktioner_ovnbolag.se").read_bytes())
    assert len(ovn) == 163
    underdim = parse_sie_vouchers((SIE / JSISIE / "SIE4_Exempelfil_med_underdim.SE").read_bytes())
    assert any(r.objects for v in underdim for r in v.rows)


def test_broken_structure_is_reported_with_its_line() -> None:
    head = b"#FLAGGA 0\r\n#FORMAT PC8\r\n#SIETYP 4\r\n"
    cases = {
        b'#VER "A" 1 20250101 "x"\r\n#TRANS 1512 {} 1.00\r\n': "line 4: a #VER must be followed",
        b'#VER "A" 1 20250101 "x"\r\n{\r\n#TRANS 1512 {} 1.00\r\n': "line 4: the file ends inside",
        b"}\r\n": "line 4: '}' without an open voucher",
        b"#TRANS 1512 {} 1.00\r\n{\r\n": "line 5: '{' without a #VER",
        b'#VER "A" 1 20250101 "x"\r\n{\r\n#TRANS 1512 {} 1.005\r\n}\r\n': "not whole öre",
        b'#VER "A" 1 20250101 "x"\r\n{\r\n#TRANS 1512 {} ett\r\n}\r\n': "'ett' is not a number",
        b'#VER "A" 1 20250230 "x"\r\n{\r\n}\r\n': "'20250230' does not exist",
        b'#VER "A" X1 20250101 "x"\r\n{\r\n}\r\n': "voucher number 'X1'",
        b'#VER "A" 1 20250101 "x"\r\n{\r\n#TRANS 1512 {1} 1.00\r\n}\r\n': "pairs",
        b'#VER "A" 1 20250101 "x"\r\n{\r\n#IB 0 1512 1.00\r\n}\r\n': "#IB inside a voucher",
        b"FLAGGA 0\r\n": "must start with a #label",
    }
    for tail, message in cases.items():
        with pytest.raises(SieFormatError, match=re.escape(message)):
            parse_sie(head + tail)
    with pytest.raises(SieFormatError, match="#SIETYP missing"):
        parse_sie(b"#FLAGGA 0\r\n")


# -- over HTTP --------------------------------------------------------------------------------


def app_for(ledger: Ledger) -> FastAPI:
    return app_over(ledger.db, ledger.projection)


def app_over(db: ReadModelDatabase, projection: PostingsProjection) -> FastAPI:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
        return Principal(subject="t", role=Role(request.headers["x-role"]), tenant=TENANT)

    async def settle() -> None:
        return None

    app = FastAPI()
    app.include_router(
        make_router(
            db,
            projection,
            SETTINGS,
            company_name="Fördraby kommun",
            orgnr="212000-1355",
            web=RouterDeps(authenticate=authenticate, settle=settle),
            clock=ManualClock(date(2025, 3, 1)),
        )
    )

    @app.exception_handler(AccessDenied)
    async def denied(_r: Request, exc: AccessDenied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with open_ledger(tmp_path) as ledger:
        a_month_of_invoicing(ledger.log)
        await ledger.deliver()
        transport = httpx.ASGITransport(app=app_for(ledger))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def get(
    client: httpx.AsyncClient, query: dict[str, str], role: Role = Role.CASE_OFFICER
) -> httpx.Response:
    return await client.get("/api/v1/exports/sie", params=query, headers={"x-role": role.value})


async def test_the_export_is_a_sie_4i_file_of_the_period(client: httpx.AsyncClient) -> None:
    r = await get(client, {"from": "2025-01-01", "to": "2025-01-31"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; charset=IBM437"
    assert r.headers["content-disposition"] == 'attachment; filename="fordra-20250101-20250131.si"'
    read = parse_sie(r.content)
    assert [(v.number, v.date) for v in read.vouchers] == [
        (1, date(2025, 1, 10)),
        (2, date(2025, 1, 15)),
    ]
    assert read.company_name == "Fördraby kommun"
    assert b"#GEN 20250301\r\n" in r.content  # the business date
    assert ver_sums(r.content) == [Decimal(0), Decimal(0)]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER])
async def test_the_finance_roles_may_export(client: httpx.AsyncClient, role: Role) -> None:
    r = await get(client, {"from": "2025-02-01", "to": "2025-02-28"}, role)
    assert r.status_code == 200
    assert len(parse_sie_vouchers(r.content)) == 2


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.AGENCY, Role.BANK_INGEST])
async def test_other_roles_may_not(client: httpx.AsyncClient, role: Role) -> None:
    r = await get(client, {"from": "2025-01-01", "to": "2025-01-31"}, role)
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-02-01", "to": "2025-01-31"}, "from"),  # backwards
        ({"from": "2025-02-30", "to": "2025-03-31"}, "from"),  # no such day
        ({"from": "2025-01-01", "to": "20250131"}, "to"),  # not YYYY-MM-DD
        ({"from": "1735689600", "to": "2025-01-31"}, "from"),  # a timestamp is not a date
        ({"to": "2025-01-31"}, "from"),  # missing
        ({"from": "2025-01-01"}, "to"),
    ],
)
async def test_a_bad_period_is_422_naming_the_parameter(
    client: httpx.AsyncClient, query: dict[str, str], field: str
) -> None:
    r = await get(client, query)
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [["query", field]]


async def test_the_export_carries_the_write_down_and_agency_series(tmp_path: Path) -> None:
    """Dunning's write-downs and write-offs post in a series of their own (KN), the agency's
    costs in another (KA), with their accounts named (domain.md §4, §5 and §10)."""
    books = await open_books(tmp_path / "read_models.sqlite")
    try:
        books.logs["dunning"].add(written_down(1_000_000), date(2026, 6, 1))
        books.logs["dunning"].add(written_off(1_000_000, 1_000_000), date(2026, 9, 1))
        books.logs["agency-gateway"] = Log("agency-gateway", books.logs["dunning"].registry)
        books.logs["agency-gateway"].add(changed("recalled", 68_000), date(2026, 5, 4))
        await books.deliver(("invoicing", "dunning", "agency-gateway"))
        transport = httpx.ASGITransport(app=app_over(books.db, books.postings))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await get(client, {"from": "2026-01-01", "to": "2026-12-31"})
        assert r.status_code == 200, r.text
        read = parse_sie(r.content)
        assert [(v.series, v.number, v.date) for v in read.vouchers] == [
            ("KA", 1, date(2026, 5, 4)),
            ("KF", 1, date(2026, 1, 1)),
            ("KN", 1, date(2026, 6, 1)),
            ("KN", 2, date(2026, 9, 1)),
        ]
        assert read.accounts[6352] == "Befarade förluster på kundfordringar"
        assert read.accounts[1592] == "Värdereglering kundfordringar"
        assert read.accounts[6354] == "Inkassoutlägg vid återkallade ärenden"
        assert ver_sums(r.content) == [Decimal(0)] * 4
    finally:
        await books.db.close()
