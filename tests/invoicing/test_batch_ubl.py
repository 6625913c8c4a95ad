"""Invoice batches as PEPPOL BIS Billing 3.0 UBL (adapters/batch_ubl.py;
docs/invoice-batch-format.md; domain.md §2 invoice content; seed 002: error lists of imported
files name their lines). Read through ``parse_batch`` as the endpoint reads them.

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

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.domain.batch import UNRESOLVED_CUSTOMER_ID, BatchError, BatchItem
from tests.fixtures_path import shared_fixtures
from tests.utils.batches import UBL, VAT_RATES, XML, fields, rejection


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


def test_a_peppol_invoice_with_too_many_lines_is_refused() -> None:
    errors = ubl_rejection(UBL, max_lines=2)
    assert [e.field for e in errors] == ["Invoice/cac:InvoiceLine"]
