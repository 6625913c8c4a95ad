"""The invoice as a PEPPOL BIS Billing 3.0 e-invoice (UBL 2.1), valid against OpenPEPPOL's rules,
the EN 16931 rules and the Swedish national rules SE-R-001 ... SE-R-013.

What goes where (domain.md §2 "Invoice content", "How to pay"; seed 001):
  - seller: name, address, orgnr as legal registration and electronic address (scheme 0007), VAT
    number, and the F-tax statement as a second tax scheme "TAX" with the text "Godkänd för
    F-skatt" (SE-R-005);
  - buyer: an organisation only (``check_e_invoice_recipient_is_organisation``): name, address,
    orgnr; "Er referens" as BuyerReference (BT-10), the customer number when there is none,
    because PEPPOL-EN16931-R003 wants a buyer or an order reference;
  - how to pay: one PaymentMeans per account, code 30 (credit transfer) with the OCR number as
    PaymentID: bankgiro and plusgiro marked SE:BANKGIRO / SE:PLUSGIRO (SE-R-007 ... SE-R-011), the
    IBAN with its BIC for payers abroad; payment and late-interest terms as PaymentTerms (BT-20);
  - lines keep their service (AdditionalItemProperty "Verksamhet") so co-billed electricity
    stays separable from water and waste (seed 003);
  - VAT per rate: category S for 6/12/25 %, E (exempt, with the reason text) for 0 %.
Autogiro (direct debit) is not a payment means here: it needs a mandate the customer has not
necessarily given; the offer is printed on the paper and PDF invoice.

Validation against the official Schematron lives in the tests (tests/invoicing/test_peppol.py,
rules fetched by deploy/peppol/fetch-rules.sh).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from lxml import etree

from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine, PostalAddress
from fordra.invoicing.domain.invoice_document import (
    SERVICE_LABELS,
    CustomerView,
    check_e_invoice_recipient_is_organisation,
)
from fordra.invoicing.domain.issuer import IssuerDetails

__all__ = ["CUSTOMIZATION_ID", "PROFILE_ID", "render_peppol_ubl"]

CUSTOMIZATION_ID: Final[str] = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
)
PROFILE_ID: Final[str] = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

_INV: Final[str] = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CAC: Final[str] = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC: Final[str] = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NSMAP: Final[dict[str | None, str]] = {None: _INV, "cac": _CAC, "cbc": _CBC}

# ISO 6523 scheme of a Swedish organisationsnummer as a PEPPOL electronic address.
_SCHEME_SE_ORGNR: Final[str] = "0007"
# UN/ECE Recommendation 20 "one": a count of units, whatever the unit is.
_UNIT_CODE: Final[str] = "C62"
# UNCL 4461 "credit transfer"; SE-R-012 asks for it between Swedish parties.
_CREDIT_TRANSFER: Final[str] = "30"
# UNCL 1001 "commercial invoice".
_COMMERCIAL_INVOICE: Final[str] = "380"


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{_CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{_CBC}}}{name}", attributes)
    element.text = text
    return element


def _amount(parent: etree._Element, name: str, ore: int) -> etree._Element:
    """An amount in kronor with two decimals, from integer öre (no float ever)."""
    sign = "-" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), 100)
    return _cbc(parent, name, f"{sign}{kronor}.{rest:02d}", currencyID="SEK")


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _address(parent: etree._Element, address: PostalAddress) -> None:
    postal = _cac(parent, "PostalAddress")
    _cbc(postal, "StreetName", address.street)
    if address.care_of:
        _cbc(postal, "AdditionalStreetName", f"c/o {address.care_of}")
    _cbc(postal, "CityName", address.city)
    # Swedish postal codes go without the space in e-invoices ("51280"), as in SFTI's examples.
    zone = address.postal_code.replace(" ", "") if address.country == "SE" else address.postal_code
    _cbc(postal, "PostalZone", zone)
    _cbc(_cac(postal, "Country"), "IdentificationCode", address.country.upper())


def _tax_scheme(parent: etree._Element, scheme: str) -> None:
    _cbc(_cac(parent, "TaxScheme"), "ID", scheme)


def _category(rate: int) -> str:
    # 0 % on a municipal invoice means an exempt supply (rent, care): category E. The standard
    # rates 6, 12 and 25 are category S (SE-R-006 allows no others for a Swedish seller).
    return "S" if rate > 0 else "E"


def _supplier(root: etree._Element, issuer: IssuerDetails) -> None:
    party = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    orgnr = issuer.organisation_number_digits
    _cbc(party, "EndpointID", orgnr, schemeID=_SCHEME_SE_ORGNR)
    _cbc(_cac(party, "PartyName"), "Name", issuer.name)
    _address(party, issuer.postal_address)
    vat = _cac(party, "PartyTaxScheme")
    _cbc(vat, "CompanyID", issuer.vat_number)
    _tax_scheme(vat, "VAT")
    # SE-R-005: the F-tax approval as the seller's tax registration (BT-32), scheme "TAX".
    f_tax = _cac(party, "PartyTaxScheme")
    _cbc(f_tax, "CompanyID", issuer.f_tax_statement)
    _tax_scheme(f_tax, "TAX")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", issuer.name)
    _cbc(legal, "CompanyID", orgnr, schemeID=_SCHEME_SE_ORGNR)
    contact = _cac(party, "Contact")
    _cbc(contact, "Name", issuer.contact.unit)
    _cbc(contact, "Telephone", issuer.contact.phone)
    _cbc(contact, "ElectronicMail", issuer.contact.email)


def _customer(root: etree._Element, customer: CustomerView) -> None:
    # check_e_invoice_recipient_is_organisation has run: an organisation has name and address.
    if customer.name is None or customer.address is None:
        raise ValueError("an e-invoice needs the buyer's name and address")
    party = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    orgnr = _digits(customer.id_number)
    # The buyer's PEPPOL participant id when the register has one (a GLN, say), else the orgnr.
    scheme, endpoint = (customer.peppol_id or f"{_SCHEME_SE_ORGNR}:{orgnr}").split(":", 1)
    _cbc(party, "EndpointID", endpoint, schemeID=scheme)
    # The customer number, so the buyer can quote it back (BT-46).
    _cbc(_cac(party, "PartyIdentification"), "ID", customer.customer_id)
    _address(party, customer.address)
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", customer.name)
    _cbc(legal, "CompanyID", orgnr, schemeID=_SCHEME_SE_ORGNR)


def _payment_means(root: etree._Element, invoice: InvoiceIssued, account: str, branch: str) -> None:
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", _CREDIT_TRANSFER)
    _cbc(means, "PaymentID", invoice.ocr)
    payee = _cac(means, "PayeeFinancialAccount")
    _cbc(payee, "ID", account)
    _cbc(_cac(payee, "FinancialInstitutionBranch"), "ID", branch)


def _payment(
    root: etree._Element, invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> None:
    _payment_means(root, invoice, issuer.bankgiro_digits, "SE:BANKGIRO")
    if issuer.plusgiro_digits is not None:
        _payment_means(root, invoice, issuer.plusgiro_digits, "SE:PLUSGIRO")
    # Seed 001: a SWIFT address for payers abroad.
    _payment_means(root, invoice, issuer.iban, issuer.bic)
    terms = _cac(root, "PaymentTerms")
    # Autogiro stays a note: as a payment means (code 49) PEPPOL wants the mandate reference,
    # which the register does not hold.
    autogiro = " Betalas via autogiro på förfallodagen." if customer.autogiro else ""
    _cbc(
        terms,
        "Note",
        f"{invoice.payment_terms_days} dagar netto. {issuer.late_interest_terms}.{autogiro}",
    )


def _tax_total(root: etree._Element, invoice: InvoiceIssued, issuer: IssuerDetails) -> None:
    total = _cac(root, "TaxTotal")
    _amount(total, "TaxAmount", invoice.vat_ore)
    for breakdown in invoice.vat:
        subtotal = _cac(total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", breakdown.net_ore)
        _amount(subtotal, "TaxAmount", breakdown.vat_ore)
        category = _cac(subtotal, "TaxCategory")
        _cbc(category, "ID", _category(breakdown.vat_rate))
        _cbc(category, "Percent", str(breakdown.vat_rate))
        if _category(breakdown.vat_rate) == "E":
            # BR-E-10: an exempt breakdown states why.
            _cbc(category, "TaxExemptionReason", issuer.vat_exemption_reason)
        _tax_scheme(category, "VAT")


def _monetary_total(root: etree._Element, invoice: InvoiceIssued) -> None:
    monetary = _cac(root, "LegalMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", invoice.net_ore)
    _amount(monetary, "TaxExclusiveAmount", invoice.net_ore)
    _amount(monetary, "TaxInclusiveAmount", invoice.total_ore)
    _amount(monetary, "PayableAmount", invoice.total_ore)


def _line(root: etree._Element, number: int, line: InvoiceLine) -> None:
    element = _cac(root, "InvoiceLine")
    _cbc(element, "ID", str(number))
    # BR-27: a price is never negative, so a discount line is a negative quantity at a positive
    # price; the line amount keeps its sign either way.
    quantity = -line.quantity if line.unit_price_ore < 0 else line.quantity
    _cbc(element, "InvoicedQuantity", _decimal(quantity), unitCode=_UNIT_CODE)
    _amount(element, "LineExtensionAmount", line.net_ore)
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description)
    tax = _cac(item, "ClassifiedTaxCategory")
    _cbc(tax, "ID", _category(line.vat_rate))
    _cbc(tax, "Percent", str(line.vat_rate))
    _tax_scheme(tax, "VAT")
    service = _cac(item, "AdditionalItemProperty")
    _cbc(service, "Name", "Verksamhet")
    _cbc(service, "Value", SERVICE_LABELS[line.service_type])
    _amount(_cac(element, "Price"), "PriceAmount", abs(line.unit_price_ore))


def render_peppol_ubl(
    invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> bytes:
    """The invoice as a PEPPOL BIS Billing 3.0 UBL Invoice, UTF-8 with an XML declaration."""
    check_e_invoice_recipient_is_organisation(customer)
    root = etree.Element(f"{{{_INV}}}Invoice", nsmap=_NSMAP)
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", invoice.invoice_number)
    _cbc(root, "IssueDate", invoice.invoice_date.isoformat())
    _cbc(root, "DueDate", invoice.due_date.isoformat())
    _cbc(root, "InvoiceTypeCode", _COMMERCIAL_INVOICE)
    # BT-22, at most one: what the invoice is for (seed 001 "Uppgift om vad fakturan avser").
    _cbc(root, "Note", f"Avser: {SERVICE_LABELS[invoice.service_type]}")
    _cbc(root, "DocumentCurrencyCode", invoice.currency)
    _cbc(root, "BuyerReference", customer.reference or customer.customer_id)
    if invoice.billing_period_start is not None and invoice.billing_period_end is not None:
        # BG-14: the period billed (seed 001's billing periods per service).
        period = _cac(root, "InvoicePeriod")
        _cbc(period, "StartDate", invoice.billing_period_start.isoformat())
        _cbc(period, "EndDate", invoice.billing_period_end.isoformat())
    _supplier(root, issuer)
    _customer(root, customer)
    _payment(root, invoice, customer, issuer)
    _tax_total(root, invoice, issuer)
    _monetary_total(root, invoice)
    for number, line in enumerate(invoice.lines, start=1):
        _line(root, number, line)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
