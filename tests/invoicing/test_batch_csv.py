"""Invoice batches as CSV (adapters/batch_csv.py; docs/invoice-batch-format.md): one row per
invoice line, consecutive rows forming an invoice, errors naming the file line and the column
(seed 002: error lists of imported files name their lines). Read through ``parse_batch`` as the
endpoint reads them."""

from __future__ import annotations

from decimal import Decimal

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.domain.batch import BatchError
from tests.utils.batches import CSV, SWEDISH_CSV, VAT_RATES, fields, rejection


def test_a_csv_batch_groups_consecutive_rows_into_invoices() -> None:
    # Given a file as a Swedish spreadsheet saves it: BOM, ';', decimal comma, CRLF
    items = parse_batch(SWEDISH_CSV.encode(), CSV, vat_rates=VAT_RATES)

    # Then two invoices, the first with two lines; lines are file lines, the header is line 1
    assert [(item.line, item.source_lines) for item in items] == [(2, (2, 3)), (4, (4,))]
    first = items[0].command
    assert first.customer_id == "c-17"
    assert first.source_reference == "VA-1"
    assert [line.quantity for line in first.lines] == [Decimal("12.5"), Decimal(1)]
    assert [line.unit_price_ore for line in first.lines] == [2140, 31250]
    # An empty quantity means 1
    assert items[1].command.lines[0].quantity == Decimal(1)


def test_csv_with_commas_an_invoice_key_and_the_optional_columns() -> None:
    data = (
        "invoice_key,customer_id,department,service_type,invoice_date,source_reference,ocr,"
        "description,quantity,unit_price_ore,vat_rate,line_service_type\n"
        'k1,c-17,va,water,2026-05-04,,1234574,"Vatten, förbrukning","1,5",2140,25,\n'
        "k1,c-17,va,water,2026-05-04,,1234574,Avfall,1,9900,25,waste\n"
        "\n"
        "k2,c-18,va,water,2026-05-04,VA-9,,Fast avgift,1,31250,25,\n"
    ).encode()

    first, second = parse_batch(data, CSV)

    assert first.command.source_reference is None
    assert first.command.ocr == "1234574"
    assert first.command.lines[0].description == "Vatten, förbrukning"
    assert first.command.lines[0].quantity == Decimal("1.5")
    assert first.command.lines[1].service_type == "waste"
    assert second.line == 5
    assert second.command.source_reference == "VA-9"


def test_missing_and_unknown_csv_columns_are_named() -> None:
    data = b"customer_id,department,service_type,invoice_date,description,price,vat_rate\n"

    errors = rejection(data, CSV)

    assert fields(errors) == [(1, "price"), (1, "source_reference"), (1, "unit_price_ore")]
    assert errors[0].message.startswith("unknown column 'price'")
    assert errors[1].message == "missing column 'source_reference'"


def test_a_wrong_csv_row_names_its_file_line_and_column() -> None:
    # Given a price written in kronor with a decimal comma instead of whole öre, on line 3
    data = SWEDISH_CSV.replace(";1;31250;25\r\nc-18", ";1;312,50;25\r\nc-18").encode()

    errors = rejection(data, CSV)

    assert fields(errors) == [(3, "unit_price_ore")]
    assert "'312,50'" in errors[0].message


def test_a_csv_vat_rate_20_is_named_on_its_row() -> None:
    data = SWEDISH_CSV.replace("Fast avgift;1;31250;25", "Fast avgift;1;31250;20").encode()
    errors = rejection(data, CSV, vat_rates=VAT_RATES)
    assert fields(errors) == [(3, "vat_rate")]


def test_every_row_of_an_invoice_repeats_its_invoice_columns() -> None:
    data = SWEDISH_CSV.replace(
        "c-17;va;water;2026-05-04;VA-1;Fast", "c-99;va;water;2026-05-04;VA-1;Fast"
    )

    errors = rejection(data.encode(), CSV)

    assert fields(errors) == [(3, "customer_id")]
    assert "differs from 'c-17' on line 2" in errors[0].message


def test_an_invoice_key_that_comes_back_later_is_a_duplicate() -> None:
    data = SWEDISH_CSV + "c-17;va;water;2026-05-04;VA-1;Extra;1;100;25\r\n"

    errors = rejection(data.encode(), CSV)

    assert fields(errors) == [(5, "source_reference")]
    assert "line 2 and again on line 5" in errors[0].message


def test_a_duplicate_source_reference_under_different_invoice_keys() -> None:
    data = (
        b"invoice_key,customer_id,department,service_type,invoice_date,source_reference,"
        b"description,unit_price_ore,vat_rate\n"
        b"k1,c-17,va,water,2026-05-04,VA-1,Fast avgift,31250,25\n"
        b"k2,c-18,va,water,2026-05-04,VA-1,Fast avgift,31250,25\n"
    )
    errors = rejection(data, CSV)
    assert fields(errors) == [(3, "source_reference")]
    assert "line 2 and line 3" in errors[0].message


def test_a_quoted_newline_counts_as_a_file_line() -> None:
    data = (
        "customer_id,department,service_type,invoice_date,source_reference,description,"
        "unit_price_ore,vat_rate\n"
        'c-17,va,water,2026-05-04,VA-1,"Vatten\nförbrukning",2140,25\n'
        "c-18,va,water,2026-05-04,VA-2,Fast avgift,31250,x\n"
    ).encode()
    errors = rejection(data, CSV)
    assert fields(errors) == [(4, "vat_rate")]


def test_a_csv_row_with_the_wrong_number_of_cells_is_named() -> None:
    data = SWEDISH_CSV.replace("Fast avgift;1;31250;25\r\nc-18", "Fast avgift;1;31250\r\nc-18")
    errors = rejection(data.encode(), CSV)
    assert fields(errors) == [(3, None)]
    assert "8 cells but the header has 9" in errors[0].message


def test_csv_bad_utf8_names_the_line() -> None:
    # Line 2 saved from a Windows-1252 editor: ö is the single byte 0xf6
    data = SWEDISH_CSV.encode().replace("förbrukning".encode(), "förbrukning".encode("cp1252"))
    errors = rejection(data, CSV)
    assert fields(errors) == [(2, None)]
    assert "not UTF-8" in errors[0].message


def test_error_at_places_a_use_case_error_on_the_line_of_its_row() -> None:
    first, _ = parse_batch(SWEDISH_CSV.encode(), CSV)
    assert first.error_at("no such customer", "customer_id") == BatchError(
        line=2, field="customer_id", message="no such customer"
    )
    assert first.error_at("minimum", "lines.1.unit_price_ore").line == 3
