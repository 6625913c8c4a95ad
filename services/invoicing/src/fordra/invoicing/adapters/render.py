"""The invoice as HTML and as PDF (domain.md §2 "Invoice content", "Protected identity"; seed 001
"Uppgifter fakturan bör innehålla").

Both renderers lay out the same ``InvoiceDocument`` (domain/invoice_document.py), which decides
what the invoice says, including that a protected identity's name and address never appear and
that Skatteverket's forwarding sheet comes first. Nothing here adds text of its own beyond layout,
so the HTML and the PDF cannot drift apart in content.

HTML: Jinja2 with autoescaping on (descriptions come from departmental systems).
PDF: the kernel's ``DocumentPdf`` (fordra.kernel.document_pdf: the core font and its cp1252
folding, the footer, entries, the forwarding sheet), shared with dunning's letters; this module
adds the invoice's own page. The PDF's dates come from the invoice, so the same invoice always
gives the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Final

from fpdf.enums import Align, XPos, YPos

from fordra.contracts.invoicing import InvoiceIssued
from fordra.invoicing.domain.invoice_document import (
    CustomerView,
    InvoiceDocument,
    build_invoice_document,
)
from fordra.invoicing.domain.issuer import IssuerDetails
from fordra.kernel.document_html import document_environment
from fordra.kernel.document_pdf import FONT, LINE, WINDOW_X, WINDOW_Y, DocumentPdf, pdf_text

__all__ = [
    "render_document_html",
    "render_document_pdf",
    "render_invoice_html",
    "render_invoice_pdf",
]

_TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"


def render_document_html(doc: InvoiceDocument) -> str:
    return document_environment(_TEMPLATES).get_template("invoice.html").render(doc=doc)


def render_invoice_html(
    invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> str:
    """The invoice as a standalone HTML page (inline CSS, A4 print layout)."""
    return render_document_html(build_invoice_document(invoice, customer, issuer))


def render_invoice_pdf(
    invoice: InvoiceIssued, customer: CustomerView, issuer: IssuerDetails
) -> bytes:
    """The invoice as an A4 PDF; for a protected identity the forwarding sheet is page 1."""
    issued_at = datetime.combine(invoice.invoice_date, time(0, 0), tzinfo=UTC)
    return render_document_pdf(build_invoice_document(invoice, customer, issuer), issued_at)


def render_document_pdf(doc: InvoiceDocument, issued_at: datetime) -> bytes:
    return _InvoicePdf(doc).render(
        created_at=issued_at, forwarding=doc.forwarding, how_to_send="Så skickas fakturan"
    )


class _InvoicePdf(DocumentPdf):
    def __init__(self, doc: InvoiceDocument) -> None:
        # The issuer's details are the footer of every invoice page (seed 001: "Utställarens
        # organisationsnummer", "fullständiga namn och adress", "F-skattebevis").
        super().__init__(
            title=doc.title,
            number=doc.invoice_number,
            sender=doc.issuer_name,
            footer_entries=doc.issuer_entries,
        )
        self.doc = doc

    def document_page(self) -> None:
        doc = self.doc
        self.start_document_pages()
        top = self.get_y()
        self._text(doc.issuer_name, size=14, style="B", height=7)
        self._lines_at(self.l_margin, doc.issuer_address, size=9)
        self.set_xy(self.l_margin, top)
        self.set_font(FONT, style="B", size=20)
        self.cell(0, 10, pdf_text(doc.title), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

        # The recipient sits where a window envelope shows it; the details beside it.
        self.set_xy(WINDOW_X, WINDOW_Y)
        self.set_font(FONT, size=7)
        self.cell(0, 4, pdf_text(doc.recipient_heading.upper()), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._lines_at(WINDOW_X, doc.recipient, size=11)
        below_window = self.get_y()
        self.set_y(WINDOW_Y)
        self._entries((*doc.details, doc.concerns), x=112, label_width=32)
        self.set_y(max(self.get_y(), below_window) + 6)

        self._grid(
            doc.line_headers,
            [
                (ln.description, ln.service, ln.quantity, ln.unit_price, ln.vat_rate, ln.amount)
                for ln in doc.lines
            ],
            widths=(62, 30, 14, 25, 14, 29),
            numeric_from=2,
        )
        # VAT per rate on the left, the totals beside it on the right.
        if self.will_page_break(LINE * (len(doc.vat_rows) + 2) * 1.3):
            self.add_page()
        top = self.get_y()
        self._grid(
            doc.vat_headers,
            [(row.rate, row.base, row.vat, row.discount or "") for row in doc.vat_rows],
            widths=(21, 26, 23, 26),
            numeric_from=0,
            width=96,
            align=Align.L,
        )
        below_vat = self.get_y()
        self.set_y(top + 1)
        self._entries(doc.totals, x=self.w - self.r_margin - 68, label_width=36)
        self.set_y(max(self.get_y(), below_vat) + 2)

        self._payment_box(
            doc.payment_heading, doc.payment, doc.payment_notes, amount_due=doc.amount_due
        )

        self._entries(doc.terms)
        for note in doc.notes:
            self._text(note, size=9)
