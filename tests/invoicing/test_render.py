"""The invoice as HTML and PDF (domain.md §2 "Invoice content", "Protected identity", "How to pay";
seed 001 "Uppgifter fakturan bör innehålla")."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from pydantic import BaseModel, ValidationError
from pypdf import PdfReader

from fordra.contracts.invoicing import (
    SERVICE_LABELS,
    SERVICE_TYPES,
    CustomerPersonalData,
    CustomerRegistered,
    InvoiceIssued,
    PostalAddress,
)
from fordra.invoicing.adapters.render import render_invoice_html, render_invoice_pdf
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.customer_state import CustomerState
from fordra.invoicing.domain.invoice import issue_invoice
from fordra.invoicing.domain.invoice_document import (
    CustomerView,
    InvoiceDocument,
    build_invoice_document,
)
from fordra.invoicing.domain.issuer import IssuerDetails, demo_issuer
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import format_sek

# --- builders (test_peppol.py uses them too) -------------------------------------------------

ISSUER = demo_issuer()

# Skatteverket's test person "Tolvan Tolvansson".
PERSON = CustomerView(
    customer_id="cust-person",
    kind="person",
    id_number="19121212-1212",
    name="Tolvan Tolvansson",
    address=PostalAddress(
        street="Tolvansvägen 12", postal_code="512 50", city="Svenljunga", care_of="Anna Andersson"
    ),
    reference="Tolvan själv",
)
ORGANISATION = CustomerView(
    customer_id="cust-org",
    kind="organisation",
    id_number="556036-0793",
    name="Svenljunga Bygg AB",
    address=PostalAddress(street="Industrigatan 4", postal_code="512 53", city="Svenljunga"),
    e_invoice=True,
    reference="Inköp 4711",
)
# Name and address given on purpose: the renderer must not print them even when it has them.
PROTECTED = PERSON.model_copy(update={"customer_id": "cust-protected", "protected_identity": True})
PROTECTED_SECRETS = (
    "Tolvan Tolvansson",
    "Tolvansvägen",
    "512 50",
    "Anna Andersson",
    "Tolvan själv",
)


def make_invoice(
    customer_id: str, *lines: InvoiceLineInput, invoice_date: date = date(2026, 3, 2)
) -> InvoiceIssued:
    """An invoice issued by the real domain code (VAT per rate, OCR, due date)."""
    command = IssueInvoice(
        customer_id=customer_id,
        department="va",
        service_type="water",
        invoice_date=invoice_date,
        lines=lines or STANDARD_LINES,
    )
    return issue_invoice(
        command,
        invoice_id=f"inv-{customer_id}",
        serial_number=4711,
        settings=InvoicingSettings(),
        calendar=WorkingDayCalendar(),
    )


# Co-billing at four VAT rates, a discount line and a rounding öre (seed 001's VAT items).
STANDARD_LINES = (
    InvoiceLineInput(description="Vatten, fast avgift", unit_price_ore=125_000, vat_rate=25),
    InvoiceLineInput(
        description="Vatten, förbrukning (m3)",
        quantity=Decimal("12.5"),
        unit_price_ore=2_500,
        vat_rate=25,
    ),
    InvoiceLineInput(description="Rabatt, autogiro", unit_price_ore=-5_000, vat_rate=25),
    InvoiceLineInput(
        description="Lunch, dagverksamhet",
        quantity=Decimal(20),
        unit_price_ore=6_500,
        vat_rate=12,
        service_type="elderly_care",
    ),
    InvoiceLineInput(
        description="Böcker, musikskolan",
        quantity=Decimal(2),
        unit_price_ore=10_000,
        vat_rate=6,
        service_type="music_school",
    ),
    InvoiceLineInput(
        description="Hyra, förråd",
        unit_price_ore=400_000,
        vat_rate=0,
        service_type="premises_rent",
    ),
)
# 25 %: 1 250,00 + 312,50 - 50,00 = 1 512,50 kr, VAT 378,125 -> 378,13 kr (rounded per rate).
# 12 %: 1 300,00 kr, VAT 156,00 kr. 6 %: 200,00 kr, VAT 12,00 kr. 0 %: 4 000,00 kr.
EXPECTED_NET_ORE = 151_250 + 130_000 + 20_000 + 400_000
EXPECTED_VAT_ORE = 37_813 + 15_600 + 1_200
EXPECTED_TOTAL_ORE = EXPECTED_NET_ORE + EXPECTED_VAT_ORE


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """What a reader of the page sees: the text, without tags, styles or the window title."""
    parser = _TextOnly()
    parser.feed(html)
    return " ".join(parser.parts)


def flat(text: str) -> str:
    """One space for any run of whitespace (the no-break space of amounts included), folded the
    way the PDF folds what its font lacks, so HTML, PDF and expectations compare as text."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def document_texts(doc: InvoiceDocument) -> list[str]:
    """Every text the document model holds: the renderers must print each of them."""
    texts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))

    walk(doc)
    return [text for text in texts if text]


# --- the document: seed 001's items ----------------------------------------------------------


def test_the_invoice_carries_every_item_seed_001_asks_for() -> None:
    # Given an invoice to a person, co-billed at four VAT rates
    invoice = make_invoice(PERSON.customer_id)
    assert invoice.total_ore == EXPECTED_TOTAL_ORE

    # When it is rendered
    html = flat(html_text(render_invoice_html(invoice, PERSON, ISSUER)))
    pdf = flat(pdf_text(render_invoice_pdf(invoice, PERSON, ISSUER)))

    # Then both say, in Swedish, every item of "Uppgifter fakturan bör innehålla"
    expected = [
        "Faktura",
        f"Fakturanummer {invoice.invoice_number}",  # ett unikt löpnummer
        "Fakturadatum 2026-03-02",
        f"Förfallodatum {invoice.due_date.isoformat()}",
        f"OCR-nummer {invoice.ocr}",
        # kundens namn, fakturamottagare och referens, fullständig adress
        "Tolvan Tolvansson",
        "c/o Anna Andersson",
        "Tolvansvägen 12",
        "512 50 Svenljunga",
        "Er referens Tolvan själv",
        # only as much of the personnummer as the reader needs (issue 18)
        "Personnummer 19121212-XXXX",
        # vad fakturan avser, mängd, art, pris per enhet och skattesats, belopp
        "Avser Vatten och avlopp",
        "Beskrivning",
        "Antal",
        "À-pris",
        "Moms",
        "Belopp",
        "Vatten, förbrukning (m3)",
        "12,5",
        "25,00 kr",
        "Lunch, dagverksamhet",
        "Vård och omsorg",  # each line keeps its service (co-billing)
        # moms i % och kr per momssats, rabatt per momssats
        "25 % 1 512,50 kr 378,13 kr -50,00 kr",
        "12 % 1 300,00 kr 156,00 kr",
        "6 % 200,00 kr 12,00 kr",
        "0 % 4 000,00 kr 0,00 kr",
        "Summa exkl. moms 7 012,50 kr",
        "Summa moms 546,13 kr",
        f"Att betala {flat(format_sek(EXPECTED_TOTAL_ORE))}",
        # betalningsvillkor, dröjsmålsränta
        "Betalningsvillkor 30 dagar netto",
        "Dröjsmålsränta debiteras enligt räntelagen (referensränta + 8 procentenheter)",
        # hur fakturan kan betalas: bankgiro, plusgiro, autogiro, SWIFT
        "Bankgiro 5050-1055",
        "Plusgiro 12 34 56-6",
        "IBAN SE45 5000 0000 0583 9825 7466",
        "BIC/SWIFT ESSESESS",
        "Autogiro",
        # F-skatt, utställarens organisationsnummer, fullständiga namn och adress
        "Godkänd för F-skatt",
        "Organisationsnummer 212000-1561",
        "Momsregistreringsnummer SE212000156101",
        "Svenljunga kommun",
        "Torget 1",
        "512 80 Svenljunga",
    ]
    assert [item for item in expected if item not in html] == []
    assert [item for item in expected if item not in pdf] == []


@pytest.mark.parametrize("customer", [PERSON, ORGANISATION, PROTECTED], ids=lambda c: c.kind)
def test_html_and_pdf_print_the_same_items(customer: CustomerView) -> None:
    # Given any invoice
    invoice = make_invoice(customer.customer_id)
    doc = build_invoice_document(invoice, customer, ISSUER)

    # When it is rendered both ways
    html = flat(html_text(render_invoice_html(invoice, customer, ISSUER))).casefold()
    pdf = flat(pdf_text(render_invoice_pdf(invoice, customer, ISSUER))).casefold()

    # Then each prints every text of the document model
    texts = [flat(text).casefold() for text in document_texts(doc)]
    assert [text for text in texts if text not in html] == []
    assert [text for text in texts if text not in pdf] == []


def test_an_organisation_shows_its_organisationsnummer_and_e_invoice_note() -> None:
    invoice = make_invoice(ORGANISATION.customer_id)
    html = flat(html_text(render_invoice_html(invoice, ORGANISATION, ISSUER)))
    assert "Organisationsnummer 556036-0793" in html
    assert "Svenljunga Bygg AB" in html
    assert "Fakturan skickas även som e-faktura." in html


def test_a_customer_on_autogiro_is_told_the_amount_and_date_of_the_debit() -> None:
    # Given a customer who pays by autogiro
    customer = PERSON.model_copy(update={"autogiro": True})
    invoice = make_invoice(customer.customer_id)

    # When the invoice is rendered
    html = flat(html_text(render_invoice_html(invoice, customer, ISSUER)))

    # Then it is the notice of the debit (domain.md §9), and autogiro is not offered again
    total = flat(format_sek(EXPECTED_TOTAL_ORE))
    assert f"Autogiro: {total} dras från ditt konto på förfallodagen 2026-04-01." in html
    assert ISSUER.autogiro_offer not in html
    assert "Bankgiro 5050-1055" in html


# --- protected identity ----------------------------------------------------------------------


def test_a_protected_identity_never_appears_and_skatteverket_forwards_the_invoice() -> None:
    # Given a customer with skyddad folkbokföring (whose name and address we happen to hold)
    invoice = make_invoice(PROTECTED.customer_id)

    # When the invoice is rendered
    html = flat(html_text(render_invoice_html(invoice, PROTECTED, ISSUER)))
    pdf = render_invoice_pdf(invoice, PROTECTED, ISSUER)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [flat(page.extract_text()) for page in reader.pages]
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())

    # Then neither the name, the address nor the reference is anywhere, metadata included
    for text in (html, " ".join(pages), metadata):
        assert [secret for secret in PROTECTED_SECRETS if secret in text] == []
    # And the PDF opens with Skatteverket's forwarding sheet: outer envelope to Skatteverket,
    # the sealed inner envelope marked with the personnummer
    forwarding = pages[0]
    assert "Försändelse till person med skyddade personuppgifter" in forwarding
    assert "Ytterkuvert Skatteverket Box 2820 403 20 Göteborg" in forwarding
    assert "Innerkuvert (förslutet) Personnummer 19121212-1212" in forwarding
    assert "Faktura" not in forwarding.replace("fakturan", "")
    # And the invoice itself says only that Skatteverket forwards it, without the personnummer
    invoice_pages = " ".join(pages[1:])
    assert "Mottagare med skyddade personuppgifter Vidarebefordras av Skatteverket" in invoice_pages
    assert "19121212-1212" not in invoice_pages
    assert f"Att betala {flat(format_sek(EXPECTED_TOTAL_ORE))}" in invoice_pages
    # And the HTML has the same forwarding sheet
    assert "Ytterkuvert Skatteverket Box 2820 403 20 Göteborg" in html
    assert "Personnummer 19121212-1212" in html


def test_a_protected_customer_view_built_from_the_event_holds_no_name_or_address() -> None:
    event = CustomerRegistered(
        customer_id="cust-protected",
        kind="person",
        id_kind="personnummer",
        protected_identity=True,
        personal=CustomerPersonalData(
            name="Tolvan Tolvansson",
            id_number="191212121212",
            address=PostalAddress(street="Tolvansvägen 12", postal_code="512 50", city="X"),
        ),
    )
    view = CustomerView.from_registered(
        event, reference="Tolvan själv", reveal_protected_id_number=True
    )
    assert view.name is None
    assert view.address is None
    assert view.reference is None
    assert view.id_number == "19121212-1212"
    # and for a reader who may not see the number, not even its birth date
    hidden = CustomerView.from_registered(event)
    assert (hidden.id_number, hidden.id_number_hidden) == ("XXXXXXXX-XXXX", True)


def test_a_customer_view_from_the_register_keeps_preferences() -> None:
    state = CustomerState(
        customer_id="cust-org",
        kind="organisation",
        id_kind="organisationsnummer",
        personal=CustomerPersonalData(
            name="Svenljunga Bygg AB",
            id_number="5560360793",
            address=PostalAddress(street="Industrigatan 4", postal_code="512 53", city="S"),
        ),
        e_invoice=True,
        peppol_id="0088:7300010000001",
        autogiro=True,
    )
    view = CustomerView.from_state(state, reference="Inköp 4711")
    assert view.id_number == "556036-0793"
    assert view.id_label == "Organisationsnummer"
    assert view.name == "Svenljunga Bygg AB"
    assert (view.e_invoice, view.peppol_id, view.autogiro) == (True, "0088:7300010000001", True)
    assert view.reference == "Inköp 4711"


def test_a_forgotten_customer_cannot_be_invoiced() -> None:
    event = CustomerRegistered(
        customer_id="c", kind="person", id_kind="personnummer", personal=None
    )
    with pytest.raises(DomainRuleViolation, match="erased"):
        CustomerView.from_registered(event)


def test_an_unprotected_customer_needs_a_name_and_an_address() -> None:
    with pytest.raises(ValidationError, match="needs a name and an address"):
        CustomerView(customer_id="c", kind="person", id_number="19121212-1212")


def test_an_invoice_is_rendered_only_for_its_own_customer() -> None:
    invoice = make_invoice(PERSON.customer_id)
    with pytest.raises(DomainRuleViolation, match="belongs to customer"):
        render_invoice_html(invoice, ORGANISATION, ISSUER)


# --- rendering details -----------------------------------------------------------------------


def test_html_escapes_what_departmental_systems_send() -> None:
    invoice = make_invoice(
        PERSON.customer_id,
        InvoiceLineInput(
            description="<script>alert('x')</script>", unit_price_ore=10_000, vat_rate=25
        ),
    )
    html = render_invoice_html(invoice, PERSON, ISSUER)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_pdf_prints_text_its_font_lacks_instead_of_failing() -> None:
    # The embedded font has Greek but no emoji: the emoji becomes "?", the invoice still goes out.
    invoice = make_invoice(
        PERSON.customer_id,
        InvoiceLineInput(description="Avgift Ω – “extra” 🚰", unit_price_ore=10_000, vat_rate=25),
    )
    text = flat(pdf_text(render_invoice_pdf(invoice, PERSON, ISSUER)))
    assert "Avgift Ω – “extra” ?" in text


def test_a_unicode_name_prints_as_written() -> None:
    # Issue 18: the core font printed "?ukasz Wójcik-?apek".
    name = "Łukasz Wójcik-Čapek"
    customer = PERSON.model_copy(update={"name": name})
    invoice = make_invoice(customer.customer_id)
    text = flat(pdf_text(render_invoice_pdf(invoice, customer, ISSUER)))
    assert name in text
    assert "?" not in text


def test_the_pdf_is_declared_pdf_a_3b_with_its_font_embedded() -> None:
    invoice = make_invoice(PERSON.customer_id)
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice, PERSON, ISSUER)))
    metadata = reader.xmp_metadata
    assert metadata is not None
    xmp = metadata.rdf_root.toxml()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    # The document's own date everywhere (the same invoice gives the same bytes).
    for stamp in ("CreateDate", "ModifyDate", "MetadataDate"):
        assert f'xmp:{stamp}="2026-03-02T00:00:00+00:00"' in xmp
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert [str(i.get_object()["/S"]) for i in intents] == ["/GTS_PDFA1"]
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts
    assert all("DejaVuSans" in font for font in fonts), fonts


def test_the_same_invoice_gives_the_same_pdf() -> None:
    invoice = make_invoice(PERSON.customer_id)
    first = render_invoice_pdf(invoice, PERSON, ISSUER)
    assert first.startswith(b"%PDF-")
    assert render_invoice_pdf(invoice, PERSON, ISSUER) == first


def test_a_long_invoice_runs_over_several_pages() -> None:
    lines = tuple(
        InvoiceLineInput(description=f"Tömning {n}", unit_price_ore=10_000, vat_rate=25)
        for n in range(1, 61)
    )
    invoice = make_invoice(PERSON.customer_id, *lines)
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice, PERSON, ISSUER)))
    assert len(reader.pages) >= 2
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    assert "Tömning 60" in text
    assert f"Att betala {flat(format_sek(invoice.total_ore))}" in text


def test_every_service_has_the_one_label_invoices_and_letters_print() -> None:
    # The labels live in the contracts so that dunning's letters name a claim as the invoice did.
    assert set(SERVICE_LABELS) == set(SERVICE_TYPES)
    assert all(label.strip() for label in SERVICE_LABELS.values())
    assert SERVICE_LABELS["water"] == "Vatten och avlopp"


# --- the issuer's details --------------------------------------------------------------------


def test_the_demo_issuer_is_svenljunga() -> None:
    assert ISSUER.name == "Svenljunga kommun"
    assert ISSUER.organisation_number == "212000-1561"
    assert ISSUER.vat_number == "SE212000156101"
    assert ISSUER.bankgiro_digits == "50501055"
    assert ISSUER.f_tax_statement == "Godkänd för F-skatt"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("organisation_number", "212000-1562", "not a valid organisationsnummer"),
        ("organisation_number", "191212-1212", "not a valid organisationsnummer"),  # a person
        ("bankgiro", "5050-1056", "not a valid bankgiro number"),
        ("plusgiro", "12 34 56-7", "not a valid plusgiro number"),
        ("iban", "SE45 5000 0000 0583 9825 7467", "not a valid IBAN"),
        ("bic", "ESSE", "not a BIC"),
        ("vat_number", "SE556036079301", "should be 'SE212000156101'"),
    ],
)
def test_issuer_details_refuse_numbers_that_cannot_be_right(
    field: str, value: str, message: str
) -> None:
    data = ISSUER.model_dump()
    data[field] = value
    with pytest.raises(ValidationError, match=message):
        IssuerDetails.model_validate(data)


def test_a_person_s_invoice_prints_the_birth_date_not_the_whole_personnummer() -> None:
    invoice = make_invoice(PERSON.customer_id)
    html = flat(html_text(render_invoice_html(invoice, PERSON, ISSUER)))
    pdf = flat(pdf_text(render_invoice_pdf(invoice, PERSON, ISSUER)))
    for text in (html, pdf):
        assert "Personnummer 19121212-XXXX" in text
        assert "1212-1212" not in text
    # An organisationsnummer is public: it prints whole.
    company = flat(
        html_text(render_invoice_html(make_invoice(ORGANISATION.customer_id), ORGANISATION, ISSUER))
    )
    assert "Organisationsnummer 556036-0793" in company
