"""Invoice batches (domain.md §1 "batches as files", §2 invoice content; seed 002: error lists of
imported files name their lines). A batch is accepted whole or rejected whole, with every problem.

The PEPPOL fixtures (shared/fixtures/peppol/, provenance in its SOURCES.md) are read as they are;
OpenPEPPOL's may not be modified, so the documents that show a full mapping are written here.
What the fixtures show:

- examples/: all but one are in EUR, GBP or NOK and are refused for the currency alone; the
  credit note is refused as a credit note. vat-category-O.xml, the one in SEK, maps in every
  respect (VAT category O as 0 %, totals 3200.00 add up) but its buyer is Norwegian (EndpointID
  scheme 0192, no CompanyID): it has no Swedish identity number, so it is refused for that only.
- sfti-qap/ (Swedish, SEK): Invoice-Max_content.xml maps, allowances, charges and all totals
  included; its buyer's organisationsnummer 1234512345 fails the Luhn check, which is its only
  error. The crediting scenario's invoices also carry a prepaid amount and a payable rounding
  Fordra's invoice cannot carry; Invoice-Rounded_amounts.xml has quantities and prices finer
  than Fordra's lines take (3 decimals, whole öre).
- unit-UBL-SE/: each is a validator test set wrapping an invoice, not an invoice: refused.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from fordra.invoicing.domain.batch import (
    MAX_REPORTED_ERRORS,
    UNRESOLVED_CUSTOMER_ID,
    BatchError,
    BatchItem,
    BatchRejected,
    batch_format_of,
    parse_batch,
)
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.kernel.dated import Dated
from tests.fixtures_path import shared_fixtures

VAT_RATES = Dated[tuple[int, ...]].always((25, 12, 6, 0))
JSONL = "application/x-ndjson"
CSV = "text/csv"
XML = "application/xml"


def rejection(data: bytes, content_type: str, **kwargs: Any) -> list[BatchError]:
    with pytest.raises(BatchRejected) as caught:
        parse_batch(data, content_type, **kwargs)
    return caught.value.errors


def fields(errors: list[BatchError]) -> list[tuple[int | None, str | None]]:
    return [(e.line, e.field) for e in errors]


# --- JSON Lines --------------------------------------------------------------------------------


def body(ref: str = "VA-1", **overrides: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "customer_id": "c-17",
        "department": "va",
        "service_type": "water",
        "invoice_date": "2026-05-04",
        "lines": [
            {
                "description": "Vatten, förbrukning",
                "quantity": 12.5,
                "unit_price_ore": 2140,
                "vat_rate": 25,
            },
        ],
        "source_reference": ref,
    }
    invoice.update(overrides)
    return invoice


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    return "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()


def test_a_jsonl_batch_becomes_one_command_per_line() -> None:
    # Given two invoice bodies with a blank line between them
    data = jsonl(body("VA-1"), "", body("VA-2", service_type="waste")) + b"\n"

    # When the batch is parsed
    items = parse_batch(data, JSONL, vat_rates=VAT_RATES)

    # Then each body is the command the single-invoice endpoint would take, at its file line
    assert [item.line for item in items] == [1, 3]
    assert items[0].command == IssueInvoice(
        customer_id="c-17",
        department="va",
        service_type="water",
        invoice_date=date(2026, 5, 4),
        lines=(
            InvoiceLineInput(
                description="Vatten, förbrukning",
                quantity=Decimal("12.5"),
                unit_price_ore=2140,
                vat_rate=25,
            ),
        ),
        source_reference="VA-1",
    )
    assert items[1].command.service_type == "waste"
    assert items[0].customer_id_number is None
    assert items[0].source_lines == (1,)


def test_jsonl_quantities_are_read_as_exact_decimals() -> None:
    data = jsonl(
        body(lines=[{"description": "x", "quantity": 0.1, "unit_price_ore": 3, "vat_rate": 25}])
    )
    [item] = parse_batch(data, f"{JSONL}; charset=utf-8")
    assert item.command.lines[0].quantity == Decimal("0.1")


def test_a_wrong_line_among_good_ones_rejects_the_whole_batch_naming_it() -> None:
    # Given three invoices of which the second has a zero quantity
    bad = body(
        "VA-2", lines=[{"description": "x", "quantity": 0, "unit_price_ore": 100, "vat_rate": 25}]
    )
    data = jsonl(body("VA-1"), bad, body("VA-3"))

    # When it is parsed, Then nothing is accepted and the one error names line 2 and the field
    errors = rejection(data, JSONL)
    assert fields(errors) == [(2, "lines.0.quantity")]
    assert "greater than 0" in errors[0].message


def test_every_problem_in_a_jsonl_batch_is_reported_in_line_order() -> None:
    no_customer = body("VA-1")
    del no_customer["customer_id"]
    data = jsonl(no_customer, body("VA-2"), "{not json", body("VA-4", invoice_date="2026-13-01"))

    errors = rejection(data, JSONL)

    assert fields(errors) == [(1, "customer_id"), (3, None), (4, "invoice_date")]
    assert errors[1].message.startswith("not valid JSON")


@pytest.mark.parametrize(
    "line",
    ['{"customer_id": NaN}', "[1, 2]", '"an invoice"', "{'single': 'quotes'}"],
    ids=["nan", "array", "string", "python-dict"],
)
def test_a_line_that_is_not_one_json_object_is_named(line: str) -> None:
    errors = rejection(jsonl(body("VA-1"), line), JSONL)
    assert fields(errors) == [(2, None)]


def test_bad_utf8_names_the_line() -> None:
    data = (
        jsonl(body("VA-1"))
        + b"\n"
        + json.dumps(body("VA-2")).encode("latin-1").replace(b"Vatten", b"Vatten \xe5")
    )
    errors = rejection(data, JSONL)
    assert fields(errors) == [(2, None)]
    assert "not UTF-8" in errors[0].message
    assert "0xe5" in errors[0].message


def test_a_byte_order_mark_before_the_first_line_is_ignored() -> None:
    [item] = parse_batch(b"\xef\xbb\xbf" + jsonl(body("VA-1")), JSONL)
    assert item.command.source_reference == "VA-1"


def test_a_vat_rate_not_valid_on_the_invoice_date_rejects_the_batch() -> None:
    # 20 % is no Swedish rate (domain.md §2: 25/12/6/0)
    line = {"description": "x", "quantity": 1, "unit_price_ore": 100, "vat_rate": 20}
    data = jsonl(body("VA-1"), body("VA-2", lines=[line]))

    errors = rejection(data, JSONL, vat_rates=VAT_RATES)

    assert fields(errors) == [(2, "lines.0.vat_rate")]
    assert "VAT rate 20 % is not valid on 2026-05-04" in errors[0].message


def test_a_duplicate_source_reference_is_rejected_naming_both_lines() -> None:
    data = jsonl(body("VA-1"), body("VA-2"), body("VA-1"))

    errors = rejection(data, JSONL)

    assert fields(errors) == [(3, "source_reference")]
    assert "line 1 and line 3" in errors[0].message


# --- CSV ---------------------------------------------------------------------------------------

SWEDISH_CSV = (
    "\ufeffcustomer_id;department;service_type;invoice_date;source_reference;description;"
    "quantity;unit_price_ore;vat_rate\r\n"
    "c-17;va;water;2026-05-04;VA-1;Vatten, förbrukning m³;12,5;2140;25\r\n"
    "c-17;va;water;2026-05-04;VA-1;Fast avgift;1;31250;25\r\n"
    "c-18;va;water;2026-05-04;VA-2;Fast avgift;;31250;25\r\n"
)


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


# --- PEPPOL BIS Billing 3.0 UBL ----------------------------------------------------------------

# Written for these tests (not an OpenPEPPOL file): a water invoice with a line-level allowance,
# a price per base quantity, a document-level allowance and two VAT rates. Fordra's figures:
# 25 %: 267.50 + 300.00 - 20.00 = 547.50 net, VAT 136.875 -> 136.88 (rounded once per rate);
# 12 %: 150.00 net, VAT 18.00. Net 697.50, VAT 154.88, total 852.38.
UBL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>VA-2026-0042</cbc:ID>
  <cbc:IssueDate>2026-05-04</cbc:IssueDate>
  <cbc:DueDate>2026-06-03</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Kommunen</cbc:RegistrationName>
      <cbc:CompanyID schemeID="0007">2120000142</cbc:CompanyID></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cbc:EndpointID schemeID="0088">7300010000001</cbc:EndpointID>
    <cac:PartyIdentification>
      <cbc:ID schemeID="0088">7300010000001</cbc:ID></cac:PartyIdentification>
    <cac:PartyLegalEntity><cbc:RegistrationName>Fastighets AB</cbc:RegistrationName>
      <cbc:CompanyID schemeID="0007">5560360793</cbc:CompanyID></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
    <cbc:PaymentID>1234574</cbc:PaymentID></cac:PaymentMeans>
  <cac:AllowanceCharge>
    <cbc:ChargeIndicator>false</cbc:ChargeIndicator>
    <cbc:AllowanceChargeReason>Kampanj</cbc:AllowanceChargeReason>
    <cbc:Amount currencyID="SEK">20.00</cbc:Amount>
    <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
  </cac:AllowanceCharge>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="SEK">154.88</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="SEK">547.50</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="SEK">136.88</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="SEK">150.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="SEK">18.00</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="SEK">717.50</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="SEK">697.50</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="SEK">852.38</cbc:TaxInclusiveAmount>
    <cbc:AllowanceTotalAmount currencyID="SEK">20.00</cbc:AllowanceTotalAmount>
    <cbc:PayableAmount currencyID="SEK">852.38</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="MTQ">12.5</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="SEK">267.50</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Vatten, förbrukning</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">21.40</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
  <cac:InvoiceLine>
    <cbc:ID>2</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="SEK">300.00</cbc:LineExtensionAmount>
    <cac:AllowanceCharge>
      <cbc:ChargeIndicator>false</cbc:ChargeIndicator>
      <cbc:AllowanceChargeReason>Autogiro</cbc:AllowanceChargeReason>
      <cbc:Amount currencyID="SEK">12.50</cbc:Amount>
    </cac:AllowanceCharge>
    <cac:Item><cbc:Name>Fast avgift</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">312.50</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
  <cac:InvoiceLine>
    <cbc:ID>3</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">3</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="SEK">150.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Slamtömning</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">100.00</cbc:PriceAmount>
      <cbc:BaseQuantity unitCode="EA">2</cbc:BaseQuantity></cac:Price>
  </cac:InvoiceLine>
</Invoice>
"""


def ubl(document: str = UBL, **kwargs: Any) -> list[BatchItem]:
    params: dict[str, Any] = {"department": "va", "default_service_type": "water"}
    params.update(kwargs)
    return parse_batch(document.encode(), XML, **params)


def ubl_rejection(document: str, **kwargs: Any) -> list[BatchError]:
    params: dict[str, Any] = {"department": "va", "default_service_type": "water"}
    params.update(kwargs)
    return rejection(document.encode(), XML, **params)


def line_of(document: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of ``document`` that contains ``needle``."""
    hits = [n for n, text in enumerate(document.splitlines(), start=1) if needle in text]
    return hits[occurrence - 1]


def test_a_peppol_invoice_maps_to_a_command_and_the_buyers_identity_number() -> None:
    [item] = ubl(vat_rates=VAT_RATES)

    cmd = item.command
    # libxml2 gives an element the line on which its start tag ends
    assert item.line == line_of(UBL, " xmlns:cbc=")
    assert item.customer_id_number == "5560360793"
    assert cmd.customer_id == UNRESOLVED_CUSTOMER_ID
    assert (cmd.department, cmd.service_type) == ("va", "water")
    assert cmd.invoice_date == date(2026, 5, 4)
    assert cmd.source_reference == "VA-2026-0042"
    assert cmd.ocr == "1234574"
    assert [(x.description, x.quantity, x.unit_price_ore, x.vat_rate) for x in cmd.lines] == [
        ("Vatten, förbrukning", Decimal("12.5"), 2140, 25),
        ("Fast avgift", Decimal(1), 31250, 25),
        ("Rabatt: Autogiro", Decimal(1), -1250, 25),
        # 100.00 SEK per base quantity 2 is 50.00 SEK a unit
        ("Slamtömning", Decimal(3), 5000, 12),
        ("Rabatt: Kampanj", Decimal(1), -2000, 25),
    ]
    assert item.source_lines[0] == line_of(UBL, "<cbc:Name>Vatten")
    assert item.for_customer("c-17").customer_id == "c-17"


def test_a_negative_quantity_becomes_a_negative_price() -> None:
    # A returned item: Fordra lines have positive quantities; the line's amount is unchanged
    document = (
        UBL.replace('unitCode="EA">3<', 'unitCode="EA">-3<')
        .replace("150.00</cbc:LineExtensionAmount>", "-150.00</cbc:LineExtensionAmount>")
        .replace(">150.00</cbc:TaxableAmount>", ">-150.00</cbc:TaxableAmount>")
        .replace(">18.00</cbc:TaxAmount>", ">-18.00</cbc:TaxAmount>")
        .replace("717.50", "417.50")
        .replace("697.50", "397.50")
        .replace(">154.88<", ">118.88<")
        .replace("852.38", "516.38")
    )
    [item] = ubl(document)
    assert (item.command.lines[3].quantity, item.command.lines[3].unit_price_ore) == (
        Decimal(3),
        -5000,
    )


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        # VAT rounded per line instead of once per rate (66.875 -> 66.87 on the first line)
        (
            ">154.88</cbc:TaxAmount>",
            ">154.87</cbc:TaxAmount>",
            "Invoice/cac:TaxTotal[1]/cbc:TaxAmount",
        ),
        (
            '<cbc:PayableAmount currencyID="SEK">852.38',
            '<cbc:PayableAmount currencyID="SEK">852.00',
            "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
        ),
        (
            "267.50</cbc:LineExtensionAmount>",
            "267.00</cbc:LineExtensionAmount>",
            "Invoice/cac:InvoiceLine[1]/cbc:LineExtensionAmount",
        ),
        (
            '<cbc:TaxExclusiveAmount currencyID="SEK">697.50',
            '<cbc:TaxExclusiveAmount currencyID="SEK">717.50',
            "Invoice/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
        ),
        (
            ">20.00</cbc:AllowanceTotalAmount>",
            ">0.00</cbc:AllowanceTotalAmount>",
            "Invoice/cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
        ),
        (
            ">547.50</cbc:TaxableAmount>",
            ">567.50</cbc:TaxableAmount>",
            "Invoice/cac:TaxTotal[1]/cac:TaxSubtotal",
        ),
    ],
    ids=["vat", "payable", "line", "tax-exclusive", "allowances", "per-rate"],
)
def test_peppol_totals_that_do_not_add_up_are_refused_naming_the_total(
    old: str, new: str, field: str
) -> None:
    assert old in UBL
    document = UBL.replace(old, new, 1)

    errors = ubl_rejection(document)

    assert [e.field for e in errors] == [field]
    assert errors[0].line is not None
    assert "do not add up" in errors[0].message


def test_a_prepaid_amount_is_refused() -> None:
    document = UBL.replace(
        '<cbc:PayableAmount currencyID="SEK">852.38',
        '<cbc:PrepaidAmount currencyID="SEK">100</cbc:PrepaidAmount>'
        '<cbc:PayableAmount currencyID="SEK">752.38',
    )
    errors = ubl_rejection(document)
    assert [e.field for e in errors] == [
        "Invoice/cac:LegalMonetaryTotal/cbc:PrepaidAmount",
        "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "<cbc:DocumentCurrencyCode>SEK",
            "<cbc:DocumentCurrencyCode>EUR",
            "Invoice/cbc:DocumentCurrencyCode",
            "currency EUR",
        ),
        (
            '<cbc:Amount currencyID="SEK">20.00',
            '<cbc:Amount currencyID="EUR">20.00',
            "Invoice/cac:AllowanceCharge[1]/cbc:Amount",
            "amount in EUR",
        ),
        (
            '<cbc:PriceAmount currencyID="SEK">21.40',
            '<cbc:PriceAmount currencyID="SEK">21.405',
            "Invoice/cac:InvoiceLine[1]/cac:Price/cbc:PriceAmount",
            "not a whole number of öre",
        ),
        (
            "<cbc:InvoiceTypeCode>380",
            "<cbc:InvoiceTypeCode>389",
            "Invoice/cbc:InvoiceTypeCode",
            "invoice type 389",
        ),
        (
            '<cbc:CompanyID schemeID="0007">5560360793',
            '<cbc:CompanyID schemeID="0007">5560360794',
            "Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
            "check digit",
        ),
        (
            "<cbc:Name>Fast avgift</cbc:Name>",
            "",
            "Invoice/cac:InvoiceLine[2]/cac:Item/cbc:Name",
            "missing",
        ),
        (
            '<cbc:InvoicedQuantity unitCode="EA">3<',
            '<cbc:InvoicedQuantity unitCode="EA">tre<',
            "Invoice/cac:InvoiceLine[3]/cbc:InvoicedQuantity",
            "'tre' is not a number",
        ),
        (
            "</cac:PaymentMeans>",
            "</cac:PaymentMeans>\n  <cac:PaymentMeans>"
            "<cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
            "<cbc:PaymentID>999</cbc:PaymentID></cac:PaymentMeans>",
            "Invoice/cac:PaymentMeans[2]/cbc:PaymentID",
            "differs from '1234574'",
        ),
    ],
    ids=[
        "currency",
        "amount-currency",
        "fraction-of-ore",
        "type-code",
        "buyer",
        "name",
        "quantity",
        "second-payment-id",
    ],
)
def test_a_wrong_peppol_element_is_named_by_its_path(
    old: str, new: str, field: str, message: str
) -> None:
    assert old in UBL
    document = UBL.replace(old, new, 1)

    errors = ubl_rejection(document)

    assert [e.field for e in errors] == [field]
    assert message in errors[0].message


def test_an_unsupported_vat_category_is_refused() -> None:
    document = UBL.replace(
        "<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent>",
        "<cac:ClassifiedTaxCategory><cbc:ID>AE</cbc:ID><cbc:Percent>0</cbc:Percent>",
    )
    errors = ubl_rejection(document)
    assert [e.field for e in errors] == [
        "Invoice/cac:InvoiceLine[3]/cac:Item/cac:ClassifiedTaxCategory/cbc:ID"
    ]
    assert "VAT category AE is not supported" in errors[0].message


def test_a_peppol_vat_rate_20_is_refused() -> None:
    document = UBL.replace(
        "<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>12</cbc:Percent>",
        "<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>20</cbc:Percent>",
    )
    errors = ubl_rejection(document, vat_rates=VAT_RATES)

    # The rate is named on its own element; the totals disagree too (the document says 12 %)
    path = "Invoice/cac:InvoiceLine[3]/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"
    [rate] = [e for e in errors if e.field == path]
    assert rate.line == line_of(document, "<cbc:Percent>20<")
    assert "VAT rate 20 % is not valid on 2026-05-04" in rate.message
    assert "Invoice/cac:TaxTotal[1]/cbc:TaxAmount" in [e.field for e in errors]


def test_a_peppol_invoice_without_lines_is_refused() -> None:
    start, end = UBL.index("  <cac:InvoiceLine>"), UBL.index("</Invoice>")
    errors = ubl_rejection(UBL[:start] + UBL[end:])
    assert [(e.field, e.message) for e in errors] == [
        ("Invoice/cac:InvoiceLine", "the invoice has no lines")
    ]


def test_a_peppol_invoice_needs_the_department_and_service_type_passed() -> None:
    errors = ubl_rejection(UBL, department=None, default_service_type=None)
    assert fields(errors) == [(None, "department"), (None, "service_type")]


@pytest.mark.parametrize(
    "doctype",
    [
        # Entity expansion ("billion laughs")
        '<!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        # An external entity that would read a local file
        '<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        # An external DTD fetched over the network
        '<!DOCTYPE Invoice SYSTEM "http://example.invalid/invoice.dtd">',
    ],
    ids=["billion-laughs", "xxe", "external-dtd"],
)
def test_a_document_with_a_doctype_is_refused_before_parsing(doctype: str) -> None:
    document = UBL.replace("<Invoice ", f"{doctype}\n<Invoice ", 1).replace(
        "<cbc:Name>Fast avgift</cbc:Name>", "<cbc:Name>&xxe;&b;</cbc:Name>"
    )
    errors = ubl_rejection(document)
    assert fields(errors) == [(2, None)]
    assert "DOCTYPE" in errors[0].message


def test_a_document_not_in_utf8_is_refused() -> None:
    latin1 = UBL.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    assert "encoding ISO-8859-1" in rejection(latin1.encode("latin-1"), XML)[0].message
    # UTF-16 would hide a DOCTYPE from a byte scan: it is refused as not UTF-8
    utf16 = UBL.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert rejection(utf16.encode("utf-16"), XML)[0].message.startswith("not UTF-8")


def test_xml_that_is_not_well_formed_names_the_line() -> None:
    document = UBL.replace("</cbc:IssueDate>", "</cbc:IssueDat>")
    errors = ubl_rejection(document)
    assert fields(errors) == [(line_of(document, "</cbc:IssueDat>"), None)]
    assert errors[0].message.startswith("not well-formed XML")


PEPPOL_EXAMPLES = shared_fixtures("peppol", "examples")


@pytest.mark.parametrize(
    ("name", "currency"),
    [
        ("base-example.xml", "EUR"),
        ("base-negative-inv-correction.xml", "EUR"),
        ("Allowance-example.xml", "EUR"),
        ("sales-order-example.xml", "EUR"),
        ("Vat-category-S.xml", "EUR"),
        ("vat-category-E.xml", "GBP"),
        ("vat-category-Z.xml", "GBP"),
    ],
)
def test_openpeppol_examples_not_in_sek_are_refused_for_the_currency(
    name: str, currency: str
) -> None:
    errors = rejection(
        (PEPPOL_EXAMPLES / name).read_bytes(), XML, department="va", default_service_type="water"
    )
    assert [e.field for e in errors] == ["Invoice/cbc:DocumentCurrencyCode"]
    assert errors[0].message == f"currency {currency}: Fordra invoices in SEK only"


def test_the_openpeppol_example_in_sek_maps_but_for_its_norwegian_buyer() -> None:
    # VAT category O (outside the scope of VAT, no percent) maps to 0 % and its totals add up;
    # the buyer has only a Norwegian organisation number (EndpointID scheme 0192)
    errors = rejection(
        (PEPPOL_EXAMPLES / "vat-category-O.xml").read_bytes(),
        XML,
        department="va",
        default_service_type="other",
        vat_rates=VAT_RATES,
    )
    assert fields(errors) == [(33, "Invoice/cac:AccountingCustomerParty/cac:Party")]
    assert "no Swedish identity number" in errors[0].message


def test_the_openpeppol_credit_note_is_refused_as_a_credit_note() -> None:
    errors = rejection((PEPPOL_EXAMPLES / "base-creditnote-correction.xml").read_bytes(), XML)
    assert [e.field for e in errors] == ["CreditNote"]


SFTI = shared_fixtures("peppol", "sfti-qap")
_BUYER_ID = "Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"


def test_sftis_maximum_content_invoice_maps_but_for_its_buyers_check_digit() -> None:
    # Allowances and charges on the document and its line, a tax-currency TaxTotal in EUR and
    # all its totals agree with Fordra's computation: only the made-up orgnr is wrong
    errors = rejection(
        (SFTI / "Invoice-Max_content.xml").read_bytes(),
        XML,
        department="va",
        default_service_type="other",
        vat_rates=VAT_RATES,
    )
    assert fields(errors) == [(191, _BUYER_ID)]
    assert "check digit is 5, expected 9" in errors[0].message


def test_sftis_crediting_invoice_carries_a_prepaid_and_a_rounded_amount() -> None:
    errors = rejection(
        (SFTI / "Manage_crediting-The_initial_invoice.xml").read_bytes(),
        XML,
        department="va",
        default_service_type="other",
    )
    assert [e.field for e in errors] == [
        _BUYER_ID,
        "Invoice/cac:LegalMonetaryTotal/cbc:PrepaidAmount",
        "Invoice/cac:LegalMonetaryTotal/cbc:PayableRoundingAmount",
        "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ]


def test_sftis_rounding_invoice_is_finer_than_fordras_lines() -> None:
    errors = rejection(
        (SFTI / "Invoice-Rounded_amounts.xml").read_bytes(),
        XML,
        department="va",
        default_service_type="other",
    )
    assert {e.field for e in errors} >= {
        "Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity",
        "Invoice/cac:InvoiceLine[3]/cac:Price/cbc:PriceAmount",
    }


def test_a_validator_test_set_is_not_an_invoice() -> None:
    data = shared_fixtures("peppol", "unit-UBL-SE", "UBL-IN_SE-R-001.xml").read_bytes()
    errors = rejection(data, XML, department="va", default_service_type="other")
    assert [e.field for e in errors] == ["testSet"]


# --- every format ------------------------------------------------------------------------------


def test_an_unknown_content_type_is_named() -> None:
    errors = rejection(b"{}", "application/pdf")
    assert fields(errors) == [(None, "content_type")]
    assert "'application/pdf'" in errors[0].message


def test_a_charset_other_than_utf8_is_refused() -> None:
    errors = rejection(SWEDISH_CSV.encode(), "text/csv; charset=windows-1252")
    assert "charset 'windows-1252'" in errors[0].message


def test_the_format_is_chosen_by_media_type_whatever_its_case_and_parameters() -> None:
    assert batch_format_of("Application/X-NDJSON; charset=UTF-8") == "jsonl"
    assert batch_format_of("text/csv;header=present") == "csv"
    assert batch_format_of("text/xml") == "ubl"


def test_an_oversized_batch_is_refused_before_it_is_read() -> None:
    # Not even UTF-8: the size alone decides
    errors = rejection(b"\xff" * 101, JSONL, max_bytes=100)
    assert fields(errors) == [(None, None)]
    assert "101 bytes; at most 100" in errors[0].message


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (jsonl(body("1"), body("2"), body("3")), JSONL),
        (SWEDISH_CSV.encode() + b"c-18;va;water;2026-05-04;VA-3;x;1;1;25\r\n", CSV),
    ],
    ids=["jsonl", "csv"],
)
def test_a_batch_with_too_many_lines_is_refused(data: bytes, content_type: str) -> None:
    errors = rejection(data, content_type, max_lines=2)
    assert len(errors) == 1
    assert "split it" in errors[0].message


def test_a_peppol_invoice_with_too_many_lines_is_refused() -> None:
    errors = ubl_rejection(UBL, max_lines=2)
    assert [e.field for e in errors] == ["Invoice/cac:InvoiceLine"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", JSONL),
        (b"\n  \n", JSONL),
        (b"", CSV),
        (
            b"customer_id;department;service_type;invoice_date;source_reference;description;"
            b"unit_price_ore;vat_rate\n",
            CSV,
        ),
        (b"", XML),
    ],
    ids=["jsonl-empty", "jsonl-blank", "csv-empty", "csv-header-only", "xml-empty"],
)
def test_an_empty_batch_is_refused(data: bytes, content_type: str) -> None:
    errors = rejection(data, content_type, department="va", default_service_type="water")
    assert errors == [BatchError(line=None, field=None, message="the batch holds no invoices")]


def test_the_reported_problems_are_capped() -> None:
    bad = {"customer_id": ""}
    data = jsonl(*([bad] * (MAX_REPORTED_ERRORS + 5)))
    errors = rejection(data, JSONL)
    assert len(errors) == MAX_REPORTED_ERRORS
    assert errors[-1].message.startswith("... and ")


def test_batch_rejected_says_how_many_problems_and_the_first() -> None:
    with pytest.raises(BatchRejected, match=r"\d+ problem\(s\); first: line 1: customer_id: "):
        parse_batch(jsonl({"customer_id": ""}), JSONL)
