"""Invoice-batch files for the tests, one of each format (docs/invoice-batch-format.md), and the
helpers that read a rejection: used by the format readers' tests, the fuzzer and the scenarios."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.domain.batch import BatchError, BatchRejected
from fordra.kernel.dated import Dated

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


# --- CSV ---------------------------------------------------------------------------------------

SWEDISH_CSV = (
    "\ufeffcustomer_id;department;service_type;invoice_date;source_reference;description;"
    "quantity;unit_price_ore;vat_rate\r\n"
    "c-17;va;water;2026-05-04;VA-1;Vatten, förbrukning m³;12,5;2140;25\r\n"
    "c-17;va;water;2026-05-04;VA-1;Fast avgift;1;31250;25\r\n"
    "c-18;va;water;2026-05-04;VA-2;Fast avgift;;31250;25\r\n"
)


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
