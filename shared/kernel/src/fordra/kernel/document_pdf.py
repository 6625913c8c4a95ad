"""The A4 PDF page every printed document of Fordra is laid out on (domain.md §2 "Invoice
content", "Protected identity"; §4 "Reminder"; seed 001).

Invoicing's invoice and dunning's letters subclass ``DocumentPdf`` and add only their own pages;
what they share is here once: the core font and its encoding, the margins and the envelope
window, the running head of a continuation page, the sender's details as the footer of every
page, labelled entries, and Skatteverket's forwarding sheet.

fpdf2 with the PDF core font Helvetica, which needs no font file. Its WinAnsi (cp1252) encoding
covers Swedish (å ä ö é ü), the no-break space of ``format_sek`` and typographic dashes and
quotes; any other character is folded (NFKC) or printed as "?" (``pdf_text``) rather than failing
the run. A document's creation date is set by the caller from the document's own date, so the
same document always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from fordra.kernel.documents import Entry, ForwardingSheet

__all__ = [
    "FONT",
    "LINE",
    "WINDOW_X",
    "WINDOW_Y",
    "DocumentPdf",
    "pdf_text",
]

# The WinAnsiEncoding fpdf2 declares for its core fonts is Windows-1252.
PDF_ENCODING: Final[str] = "windows-1252"
FONT: Final[str] = "Helvetica"
MARGIN: Final[float] = 18.0
# Roughly where a left-window envelope (C5/E65) shows the address; check against the envelopes
# the print shop uses before the first mailing.
WINDOW_X: Final[float] = 22.0
WINDOW_Y: Final[float] = 48.0
LINE: Final[float] = 5.0
FOOTER_LINE: Final[float] = 4.0


def pdf_text(text: str) -> str:
    """Text the core font can print: NFKC folds look-alikes (ligatures, full-width digits), and
    what cp1252 still lacks becomes "?" instead of aborting the whole run."""
    folded = unicodedata.normalize("NFKC", text).replace("\u202f", "\u00a0")
    return folded.encode(PDF_ENCODING, errors="replace").decode(PDF_ENCODING)


class DocumentPdf(FPDF):
    """An A4 document of the sender's, e.g. ``Faktura 2026-000123`` from Svenljunga kommun: the
    sender's details (``footer_entries``) close every page of the document proper, and a
    continuation page opens with the sender, the title and the number. A forwarding sheet before
    the document has neither: it is for the mail room. A subclass draws its own page in
    ``document_page``; ``render`` gives the bytes."""

    def __init__(
        self,
        *,
        title: str,
        number: str,
        sender: str,
        footer_entries: Sequence[Entry],
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._title = title
        self._number = number
        self._sender = sender
        self.core_fonts_encoding = PDF_ENCODING
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self._running_head = f"{sender}, {title} {number} (forts.)"
        self._footer_entries = footer_entries
        # The body stops above the footer, so a page of a long document never lacks it.
        self._footer_height = FOOTER_LINE * ((len(footer_entries) + 1) // 2) + 3
        self.set_auto_page_break(auto=True, margin=MARGIN + self._footer_height)
        self._document_pages = False
        self._first_document_page = 0
        # Metadata names the sender and the document only: never the customer (a protected
        # identity's PDF must not carry the name anywhere, domain.md §2).
        self.set_title(pdf_text(f"{title} {number}"))
        self.set_author(pdf_text(sender))
        self.set_lang("sv-SE")
        self.set_font(FONT, size=10)

    def render(
        self, *, created_at: datetime, forwarding: ForwardingSheet | None, how_to_send: str
    ) -> bytes:
        """The PDF: the forwarding sheet first when there is one, then the document. The
        creation date is the document's own, so the same document gives the same bytes."""
        self.set_creation_date(created_at)
        if forwarding is not None:
            self.forwarding_page(forwarding, how_to_send=how_to_send)
        self.document_page()
        return bytes(self.output())

    def document_page(self) -> None:
        """Draw the document proper, starting with ``start_document_pages``."""
        raise NotImplementedError

    def start_document_pages(self) -> None:
        """Open the first page of the document proper (after any forwarding sheet)."""
        self._document_pages = True
        self._first_document_page = self.page + 1
        self.add_page()

    def header(self) -> None:
        # A continuation page says whose document it belongs to, should the pages come apart.
        if self._document_pages and self.page > self._first_document_page:
            self.set_font(FONT, size=8)
            text = pdf_text(self._running_head)
            self.cell(0, 4, text, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

    def footer(self) -> None:
        if not self._document_pages:
            return  # the forwarding sheet is for the mail room, not part of the document
        self.set_y(self.h - MARGIN - self._footer_height)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self._entries_in_columns(self._footer_entries)

    # --- small helpers ---------------------------------------------------------------------

    def _text(self, text: str, *, size: float = 10, style: str = "", height: float = LINE) -> None:
        self.set_font(FONT, style=style, size=size)
        self.multi_cell(
            0, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L
        )

    def _lines_at(self, x: float, lines: Iterable[str], *, size: float = 10) -> None:
        self.set_font(FONT, size=size)
        for line in lines:
            self.set_x(x)
            self.cell(0, LINE, pdf_text(line), new_x=XPos.LEFT, new_y=YPos.NEXT)

    def _entries(
        self, entries: Sequence[Entry], *, x: float | None = None, label_width: float = 45
    ) -> None:
        left = self.l_margin if x is None else x
        width = self.w - self.r_margin - left - label_width
        for entry in entries:
            self.set_x(left)
            self.set_font(FONT, style="B", size=9)
            self.cell(label_width, LINE, pdf_text(entry.label))
            self.set_font(FONT, size=9)
            self.multi_cell(width, LINE, pdf_text(entry.value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

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
            self.set_font(FONT, style="B", size=8)
            label_width = 3 + max(
                (self.get_string_width(pdf_text(entry.label)) for entry in entries_of_column),
                default=0,
            )
            for entry in entries_of_column:
                self.set_x(left)
                self.set_font(FONT, style="B", size=8)
                self.cell(label_width, FOOTER_LINE, pdf_text(entry.label))
                self.set_font(FONT, size=8)
                self.multi_cell(
                    column - label_width - 2,
                    FOOTER_LINE,
                    pdf_text(entry.value),
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            bottom = max(bottom, self.get_y())
        self.set_y(bottom)

    def _heading(self, text: str) -> None:
        self.ln(2)
        self._text(text, size=12, style="B", height=7)

    def _grid(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[str]],
        widths: Sequence[float],
        *,
        numeric_from: int,
        width: float | None = None,
        align: Align = Align.C,
    ) -> None:
        """A table with a shaded header row and lines between rows; the columns from
        ``numeric_from`` on are amounts, set flush right."""
        self.set_font(FONT, size=9)
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
                    row.cell(pdf_text(text), align=Align.L if i < numeric_from else Align.R)
        self.ln(2)

    def _payment_box(
        self,
        heading: str,
        entries: Sequence[Entry],
        notes: Sequence[str],
        *,
        amount_due: Entry | None = None,
    ) -> None:
        """How to pay, in a box (domain.md §2 "How to pay"); ``amount_due`` in large type
        between the entries and the notes. The box is drawn around its content, so it must not
        straddle two pages: it goes on the next page unless it fits on this one."""

        def draw(pdf: DocumentPdf) -> None:
            pdf._heading(heading)
            box_top = pdf.get_y()
            pdf._entries(entries)
            if amount_due is not None:
                pdf._text(f"{amount_due.label}: {amount_due.value}", size=12, style="B")
            for note in notes:
                pdf._text(note, size=9)
            pdf.rect(pdf.l_margin - 2, box_top - 2, pdf.epw + 4, pdf.get_y() - box_top + 4)
            pdf.ln(4)

        # Measured by drawing it on a scratch document: wrapped notes make any estimate wrong.
        scratch = DocumentPdf(
            title=self._title,
            number=self._number,
            sender=self._sender,
            footer_entries=self._footer_entries,
        )
        scratch.add_page()
        top = scratch.get_y()
        draw(scratch)
        if self.will_page_break(scratch.get_y() - top):
            self.add_page()
        draw(self)

    # --- the forwarding sheet ----------------------------------------------------------------

    def forwarding_page(self, sheet: ForwardingSheet, *, how_to_send: str) -> None:
        """Skatteverket's forwarding sheet as page 1 (domain.md §2); ``how_to_send`` heads the
        steps ("Så skickas fakturan")."""
        self.add_page()
        self._text(sheet.title, size=15, style="B", height=8)
        self._heading("Ytterkuvert")
        top = self.get_y()
        self._lines_at(WINDOW_X, sheet.outer_address, size=12)
        self.rect(WINDOW_X - 3, top - 2, 90, self.get_y() - top + 4)
        self.ln(6)
        self._heading("Innerkuvert (förslutet)")
        self._entries(sheet.inner_marking)
        self._heading(how_to_send)
        for number, step in enumerate(sheet.instructions, start=1):
            self._text(f"{number}. {step}", size=10)
