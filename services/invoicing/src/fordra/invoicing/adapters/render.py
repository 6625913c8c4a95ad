"""The invoice as HTML and as PDF (domain.md §2 "Invoice content", "Protected identity"; seed 001
"Uppgifter fakturan bör innehålla").

Both renderers lay out the same ``InvoiceDocument`` (domain/invoice_document.py), which decides
what the invoice says, including that a protected identity's name and address never appear and
that Skatteverket's forwarding sheet comes first. Nothing here adds text of its own beyond layout,
so the HTML and the PDF cannot drift apart in content.

HTML: Jinja2 with autoescaping on (descriptions come from departmental systems).
PDF: fpdf2 with the PDF core font Helvetica, which needs no font file. Its WinAnsi (cp1252)
encoding covers Swedish (å ä ö é ü), the no-break space of ``format_sek`` and typographic dashes
and quotes; any other character is folded (NFKC) or printed as "?" rather than failing the run.
The PDF's dates come from the invoice, so the same invoice always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path
from typing import Final

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fordra.contracts.invoicing import InvoiceIssued
from fordra.invoicing.domain.invoice_document import (
    CustomerView,
    Entry,
    ForwardingSheet,
    InvoiceDocument,
    build_invoice_document,
)
from fordra.invoicing.domain.issuer import IssuerDetails

__all__ = [
    "render_document_html",
    "render_document_pdf",
    "render_invoice_html",
    "render_invoice_pdf",
]

_TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"

# The WinAnsiEncoding fpdf2 declares for its core fonts is Windows-1252.
_PDF_ENCODING: Final[str] = "windows-1252"
_FONT: Final[str] = "Helvetica"
_MARGIN: Final[float] = 18.0
# Roughly where a left-window envelope (C5/E65) shows the address; check against the envelopes
# the print shop uses before the first mailing.
_WINDOW_X: Final[float] = 22.0
_WINDOW_Y: Final[float] = 48.0
_LINE: Final[float] = 5.0
_FOOTER_LINE: Final[float] = 4.0


@cache
def _environment() -> Environment:
    # Built on first use, not at import (style.md: nothing happens at import time).
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_document_html(doc: InvoiceDocument) -> str:
    return _environment().get_template("invoice.html").render(doc=doc)


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
    pdf = _InvoicePdf(doc)
    pdf.set_creation_date(issued_at)
    if doc.forwarding is not None:
        pdf.forwarding_page(doc.forwarding)
    pdf.invoice_page()
    return bytes(pdf.output())


def _pdf_text(text: str) -> str:
    """Text the core font can print: NFKC folds look-alikes (ligatures, full-width digits), and
    what cp1252 still lacks becomes "?" instead of aborting the whole invoice run."""
    folded = unicodedata.normalize("NFKC", text).replace("\u202f", "\u00a0")
    return folded.encode(_PDF_ENCODING, errors="replace").decode(_PDF_ENCODING)


class _InvoicePdf(FPDF):
    def __init__(self, doc: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.core_fonts_encoding = _PDF_ENCODING
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        # The issuer's details are the footer of every invoice page (seed 001: "Utställarens
        # organisationsnummer", "fullständiga namn och adress", "F-skattebevis"), so a page of a
        # long invoice never lacks them; the body stops above it.
        self._footer_height = _FOOTER_LINE * ((len(doc.issuer_entries) + 1) // 2) + 3
        self.set_auto_page_break(auto=True, margin=_MARGIN + self._footer_height)
        self._invoice_pages = False
        self._first_invoice_page = 0
        # Metadata names the issuer and the invoice only: never the customer (a protected
        # identity's PDF must not carry the name anywhere, domain.md §2).
        self.set_title(_pdf_text(f"{doc.title} {doc.invoice_number}"))
        self.set_author(_pdf_text(doc.issuer_name))
        self.set_lang("sv-SE")
        self.set_font(_FONT, size=10)

    def header(self) -> None:
        # A continuation page says whose invoice it belongs to, should the pages come apart.
        if self._invoice_pages and self.page > self._first_invoice_page:
            self.set_font(_FONT, size=8)
            text = f"{self.doc.issuer_name}, {self.doc.title} {self.doc.invoice_number} (forts.)"
            self.cell(0, 4, _pdf_text(text), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

    def footer(self) -> None:
        if not self._invoice_pages:
            return  # the forwarding sheet is for the mail room, not part of the invoice
        self.set_y(self.h - _MARGIN - self._footer_height)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self._entries_in_columns(self.doc.issuer_entries)

    # --- small helpers ---------------------------------------------------------------------

    def _text(self, text: str, *, size: float = 10, style: str = "", height: float = _LINE) -> None:
        self.set_font(_FONT, style=style, size=size)
        self.multi_cell(
            0, height, _pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L
        )

    def _lines_at(self, x: float, lines: Iterable[str], *, size: float = 10) -> None:
        self.set_font(_FONT, size=size)
        for line in lines:
            self.set_x(x)
            self.cell(0, _LINE, _pdf_text(line), new_x=XPos.LEFT, new_y=YPos.NEXT)

    def _entries(
        self, entries: Sequence[Entry], *, x: float | None = None, label_width: float = 45
    ) -> None:
        left = self.l_margin if x is None else x
        width = self.w - self.r_margin - left - label_width
        for entry in entries:
            self.set_x(left)
            self.set_font(_FONT, style="B", size=9)
            self.cell(label_width, _LINE, _pdf_text(entry.label))
            self.set_font(_FONT, size=9)
            self.multi_cell(
                width, _LINE, _pdf_text(entry.value), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )

    def _entries_in_columns(self, entries: Sequence[Entry]) -> None:
        """Two columns side by side (the footer), filled top to bottom, left first; each column's
        labels as wide as its widest, so the values (e-mail addresses) get the rest."""
        half = (len(entries) + 1) // 2
        column = self.epw / 2
        top = self.get_y()
        bottom = top
        for index, entries_of_column in enumerate((entries[:half], entries[half:])):
            self.set_y(top)
            left = self.l_margin + index * column
            self.set_font(_FONT, style="B", size=8)
            label_width = 3 + max(
                (self.get_string_width(_pdf_text(entry.label)) for entry in entries_of_column),
                default=0,
            )
            for entry in entries_of_column:
                self.set_x(left)
                self.set_font(_FONT, style="B", size=8)
                self.cell(label_width, _FOOTER_LINE, _pdf_text(entry.label))
                self.set_font(_FONT, size=8)
                self.multi_cell(
                    column - label_width - 2,
                    _FOOTER_LINE,
                    _pdf_text(entry.value),
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            bottom = max(bottom, self.get_y())
        self.set_y(bottom)

    def _heading(self, text: str) -> None:
        self.ln(2)
        self._text(text, size=12, style="B", height=7)

    def _table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        left_columns: int,
        width: float | None = None,
        align: Align = Align.C,
    ) -> None:
        self.set_font(_FONT, size=9)
        with self.table(
            col_widths=tuple(widths),
            width=width or self.epw,
            align=align,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            line_height=4.5,
            padding=(0.8, 1),
        ) as table:
            for cells in (headers, *rows):
                row = table.row()
                for i, text in enumerate(cells):
                    row.cell(_pdf_text(text), align=Align.L if i < left_columns else Align.R)
        self.ln(2)

    # --- pages -------------------------------------------------------------------------------

    def forwarding_page(self, sheet: ForwardingSheet) -> None:
        self.add_page()
        self._text(sheet.title, size=15, style="B", height=8)
        self._heading("Ytterkuvert")
        top = self.get_y()
        self._lines_at(_WINDOW_X, sheet.outer_address, size=12)
        self.rect(_WINDOW_X - 3, top - 2, 90, self.get_y() - top + 4)
        self.ln(6)
        self._heading("Innerkuvert (förslutet)")
        self._entries(sheet.inner_marking)
        self._heading("Så skickas fakturan")
        for number, step in enumerate(sheet.instructions, start=1):
            self._text(f"{number}. {step}", size=10)

    def _payment_box(self) -> None:
        doc = self.doc
        self._heading(doc.payment_heading)
        box_top = self.get_y()
        self._entries(doc.payment)
        self._text(f"{doc.amount_due.label}: {doc.amount_due.value}", size=12, style="B")
        for note in doc.payment_notes:
            self._text(note, size=9)
        self.rect(self.l_margin - 2, box_top - 2, self.epw + 4, self.get_y() - box_top + 4)
        self.ln(4)

    def _payment_box_height(self) -> float:
        # Measured by drawing it on a scratch document: wrapped notes make any estimate wrong.
        scratch = _InvoicePdf(self.doc)
        scratch.add_page()
        top = scratch.get_y()
        scratch._payment_box()
        return scratch.get_y() - top

    def invoice_page(self) -> None:
        doc = self.doc
        self._invoice_pages = True
        self._first_invoice_page = self.page + 1
        self.add_page()
        top = self.get_y()
        self._text(doc.issuer_name, size=14, style="B", height=7)
        self._lines_at(self.l_margin, doc.issuer_address, size=9)
        self.set_xy(self.l_margin, top)
        self.set_font(_FONT, style="B", size=20)
        self.cell(0, 10, _pdf_text(doc.title), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

        # The recipient sits where a window envelope shows it; the details beside it.
        self.set_xy(_WINDOW_X, _WINDOW_Y)
        self.set_font(_FONT, size=7)
        self.cell(0, 4, _pdf_text(doc.recipient_heading.upper()), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._lines_at(_WINDOW_X, doc.recipient, size=11)
        below_window = self.get_y()
        self.set_y(_WINDOW_Y)
        self._entries((*doc.details, doc.concerns), x=112, label_width=32)
        self.set_y(max(self.get_y(), below_window) + 6)

        self._table(
            doc.line_headers,
            [
                (ln.description, ln.service, ln.quantity, ln.unit_price, ln.vat_rate, ln.amount)
                for ln in doc.lines
            ],
            widths=(62, 30, 14, 25, 14, 29),
            left_columns=2,
        )
        # VAT per rate on the left, the totals beside it on the right.
        if self.will_page_break(_LINE * (len(doc.vat_rows) + 2) * 1.3):
            self.add_page()
        top = self.get_y()
        self._table(
            doc.vat_headers,
            [(row.rate, row.base, row.vat, row.discount or "") for row in doc.vat_rows],
            widths=(18, 27, 24, 27),
            left_columns=0,
            width=96,
            align=Align.L,
        )
        below_vat = self.get_y()
        self.set_y(top + 1)
        self._entries(doc.totals, x=self.w - self.r_margin - 68, label_width=36)
        self.set_y(max(self.get_y(), below_vat) + 2)

        # The payment box is drawn around its content, so it must not straddle two pages.
        if self.will_page_break(self._payment_box_height()):
            self.add_page()
        self._payment_box()

        self._entries(doc.terms)
        for note in doc.notes:
            self._text(note, size=9)
