"""A dunning letter as HTML and PDF (domain.md §4 "Reminder", §2 "Protected identity"; seed 001):
both lay out one document, so they carry the same text, and a protected identity's name and
address are nowhere, the PDF's metadata included."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from fordra.contracts.dunning import Installment
from fordra.contracts.invoicing import PostalAddress
from fordra.dunning.adapters.letter_render import render_letter_html, render_letter_pdf
from fordra.dunning.domain.letters import (
    LetterDocument,
    build_letter_document,
    letter_texts,
)
from fordra.dunning.domain.recipients import MASKED_ID_NUMBER, RecipientLetterView
from tests.dunning.test_letters import (
    CREDITOR,
    FEE_FEBRUARY,
    FEE_JANUARY,
    TOLVAN,
    plan_letter,
    plan_terms,
    reminder,
)
from tests.invoicing.test_render import flat, html_text, pdf_text

PROTECTED = RecipientLetterView(
    customer_id="cust-1",
    route="protected",
    id_label="Personnummer",
    id_number="19121212-1212",
)
SECRETS = ("Tolvan Tolvansson", "Tolvansvägen", "512 50")


def both(doc: LetterDocument) -> tuple[str, str]:
    return flat(html_text(render_letter_html(doc))), flat(pdf_text(render_letter_pdf(doc)))


def test_the_reminder_says_the_same_in_html_and_pdf() -> None:
    doc = build_letter_document(reminder(fee_ore=6_000, interest_ore=8_219), TOLVAN, CREDITOR)
    html, pdf = both(doc)
    for text in letter_texts(doc):
        assert flat(text) in html, text
        assert flat(text) in pdf, text


def test_a_reminder_reads_as_a_swedish_reminder() -> None:
    html, pdf = both(build_letter_document(reminder(), TOLVAN, CREDITOR))
    for text in (html, pdf):
        assert "Betalningspåminnelse" in text
        assert "Tolvan Tolvansson Tolvansvägen 12 512 50 Svenljunga" in text
        assert "Obetalda fakturor" in text
        assert "2026-000123" in text
        assert "Vatten och avlopp, jan–feb 2026" in text
        assert "1 234,50 kr" in text  # kronor with öre, a space between thousands
        assert "Förfallodatum" in text
        assert "2026-03-02" in text
        assert "Enligt vår kontroll den 10 mars 2026" in text
        assert "Betala senast 24 mars 2026" in text
        assert "Bankgiro 5050-1055" in text
        assert "OCR-nummer 1234574" in text
        assert "lämnas fordringen över till inkassoföretag för inkassoåtgärder" in text
        assert "Svenljunga kommun" in text
        assert "212000-1561" in text


def test_a_letter_of_several_pages_keeps_its_creditor_on_every_page() -> None:
    many = tuple(
        FEE_JANUARY.model_copy(update={"invoice_id": f"inv-{n}", "invoice_number": f"2026-{n:06d}"})
        for n in range(1, 60)
    )
    doc = build_letter_document(reminder(service_type="childcare", items=many), TOLVAN, CREDITOR)
    reader = PdfReader(io.BytesIO(render_letter_pdf(doc)))
    assert len(reader.pages) > 1
    for page in reader.pages:
        assert "Organisationsnummer 212000-1561" in flat(page.extract_text())
    text = flat(pdf_text(render_letter_pdf(doc)))
    assert all(f"2026-{n:06d}" in text for n in range(1, 60))


def test_the_same_letter_gives_the_same_pdf_bytes() -> None:
    doc = build_letter_document(reminder(), TOLVAN, CREDITOR)
    assert render_letter_pdf(doc) == render_letter_pdf(doc)
    assert render_letter_html(doc) == render_letter_html(doc)


def test_a_protected_identity_never_appears_and_skatteverket_forwards_the_letter() -> None:
    doc = build_letter_document(reminder(), PROTECTED, CREDITOR)
    html = flat(html_text(render_letter_html(doc)))
    raw_html = render_letter_html(doc)
    reader = PdfReader(io.BytesIO(render_letter_pdf(doc)))
    pages = [flat(page.extract_text()) for page in reader.pages]
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())
    # The name and address are nowhere: not in the page, the markup, the PDF or its metadata
    for text in (html, raw_html, " ".join(pages), metadata):
        assert [secret for secret in SECRETS if secret in text] == []
    # The PDF opens with the forwarding sheet: outer envelope to Skatteverket (a setting), the
    # sealed inner envelope marked with the personnummer
    forwarding = pages[0]
    assert "Försändelse till person med skyddade personuppgifter" in forwarding
    assert "Ytterkuvert Skatteverket Box 2820 403 20 Göteborg" in forwarding
    assert "Innerkuvert (förslutet) Personnummer 19121212-1212" in forwarding
    # The letter says only that Skatteverket forwards it, and not the personnummer
    letter = " ".join(pages[1:])
    assert "Mottagare med skyddade personuppgifter Vidarebefordras av Skatteverket" in letter
    assert "19121212-1212" not in letter
    assert "Betalningspåminnelse" in letter
    assert "Ytterkuvert Skatteverket Box 2820 403 20 Göteborg" in html


def test_the_forwarding_address_is_a_setting() -> None:
    elsewhere = CREDITOR.model_copy(
        update={"forwarding_address": ("Skatteverket", "Box 99", "100 00 Stockholm")}
    )
    html, pdf = both(build_letter_document(reminder(), PROTECTED, elsewhere))
    assert "Ytterkuvert Skatteverket Box 99 100 00 Stockholm" in pdf
    assert "Box 2820" not in html


def test_a_masked_personnummer_is_masked_on_the_sheet() -> None:
    masked = PROTECTED.model_copy(update={"id_number": MASKED_ID_NUMBER, "id_number_hidden": True})
    html, pdf = both(build_letter_document(reminder(), masked, CREDITOR))
    for text in (html, pdf):
        assert "19121212-1212" not in text
        assert f"Personnummer {MASKED_ID_NUMBER}" in text
        assert "visas bara för den som handlägger skyddade personuppgifter" in text


def test_a_forgotten_customer_gets_a_letter_without_personal_data_that_is_not_for_the_post() -> (
    None
):
    unknown = RecipientLetterView(customer_id="cust-1", route="unknown")
    doc = build_letter_document(reminder(), unknown, CREDITOR)
    assert not doc.sendable
    html, pdf = both(doc)
    for text in (html, pdf):
        assert "Brevet kan inte skickas" in text
        assert "Kund cust-1 Adressuppgifter saknas" in text
        assert "2026-000123" in text  # what was decided is still shown


def test_markup_in_what_a_claim_is_for_is_text_not_markup() -> None:
    item = FEE_FEBRUARY.model_copy(update={"what_for": "<script>alert(1)</script> avgift"})
    doc = build_letter_document(reminder(items=(item,), next_step="none"), TOLVAN, CREDITOR)
    raw = render_letter_html(doc)
    assert "<script>" not in raw
    assert "&lt;script&gt;" in raw


@pytest.mark.parametrize(
    "what_for",
    ["Avgift ✓ för ﬁske", "Avgift 😀 för fiske"],
)
def test_characters_the_pdf_font_lacks_do_not_fail_the_letter(what_for: str) -> None:
    item = FEE_FEBRUARY.model_copy(update={"what_for": what_for})
    doc = build_letter_document(reminder(items=(item,)), TOLVAN, CREDITOR)
    assert "Avgift" in flat(pdf_text(render_letter_pdf(doc)))


def test_the_other_kinds_render_in_both_formats() -> None:
    warning = reminder(
        kind="termination_warning",
        service_type="childcare",
        items=(FEE_JANUARY, FEE_FEBRUARY),
        termination_date=date(2026, 3, 31),
        next_step="none",
    )
    doc = build_letter_document(warning, TOLVAN, CREDITOR)
    html, pdf = both(doc)
    for text in (html, pdf):
        assert "Risk för uppsägning av platsen i barnomsorgen" in text
        assert "Uppsägningsdatum 31 mars 2026" in text
        assert "2026-000201" in text
        assert "2026-000202" in text


def test_an_address_abroad_names_its_country() -> None:
    abroad = TOLVAN.model_copy(
        update={
            "address": PostalAddress(
                street="Storgata 1", postal_code="0155", city="Oslo", country="NO"
            )
        }
    )
    html, pdf = both(build_letter_document(reminder(), abroad, CREDITOR))
    assert "Storgata 1 0155 Oslo NO" in html
    assert "Storgata 1 0155 Oslo NO" in pdf


def test_an_installment_reminder_and_a_written_plan_in_both_formats() -> None:
    missed = Installment(due_date=date(2026, 6, 30), amount_ore=104_891)
    installment = reminder(
        kind="installment_reminder",
        plan_id="plan-7",
        missed_installment=missed,
        sent_on=date(2026, 7, 8),
        checked_on=date(2026, 7, 8),
        pay_by=date(2026, 7, 22),
        next_step="none",
    )
    html, pdf = both(build_letter_document(installment, TOLVAN, CREDITOR))
    for text in (html, pdf):
        assert "Påminnelse om delbetalning" in text
        assert "plan-7 2026-06-30 1 048,91 kr" in text
    plan = build_letter_document(plan_letter(plan_terms()), TOLVAN, CREDITOR)
    html, pdf = both(plan)
    for text in letter_texts(plan):
        assert flat(text) in html, text
        assert flat(text) in pdf, text
    assert "Gäldenärens underskrift" in pdf
    assert "Total skuld till sista betalningen 6 293,45 kr" in pdf
