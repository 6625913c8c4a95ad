"""A dunning letter as HTML and as PDF (domain.md §4 "Reminder", §2 "Protected identity"; seed 001).

Both renderers lay out the same ``LetterDocument`` (domain/letters.py), which decides what the
letter says, including that a protected identity's name and address never appear and that
Skatteverket's forwarding sheet comes first. Nothing here adds wording of its own beyond layout,
so the HTML and the PDF cannot drift apart in content, and the named rules (the reminder's items,
no empty threats) hold for both.

HTML: Jinja2 with autoescaping on, as invoicing's invoice. PDF: fpdf2 with the core font
Helvetica in its WinAnsi (cp1252) encoding, which covers Swedish and the no-break space of
``format_sek``; any other character is folded (NFKC) or printed as "?" rather than failing. The
PDF's creation date is the letter's date, so the same letter always gives the same bytes.
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

from fordra.dunning.domain.letters import LetterDocument, LetterTable
from fordra.kernel.documents import Entry, ForwardingSheet

__all__ = ["render_letter_html", "render_letter_pdf"]

_TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"

_PDF_ENCODING: Final[str] = "windows-1252"
_FONT: Final[str] = "Helvetica"
_MARGIN: Final[float] = 18.0
# Where a left-window envelope (C5/E65) shows the address, as on the invoice.
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


def render_letter_html(doc: LetterDocument) -> str:
    """The letter as a standalone HTML page (inline CSS, A4 print layout)."""
    return _environment().get_template("letter.html").render(doc=doc)


def render_letter_pdf(doc: LetterDocument) -> bytes:
    """The letter as an A4 PDF; for a protected identity the forwarding sheet is page 1."""
    pdf = _LetterPdf(doc)
    pdf.set_creation_date(datetime.combine(doc.sent_on, time(0, 0), tzinfo=UTC))
    if doc.forwarding is not None:
        pdf.forwarding_page(doc.forwarding)
    pdf.letter_page()
    return bytes(pdf.output())


def _pdf_text(text: str) -> str:
    """Text the core font can print: NFKC folds look-alikes, and what cp1252 still lacks becomes
    "?" instead of failing the letter."""
    folded = unicodedata.normalize("NFKC", text).replace("\u202f", "\u00a0")
    return folded.encode(_PDF_ENCODING, errors="replace").decode(_PDF_ENCODING)


class _LetterPdf(FPDF):
    def __init__(self, doc: LetterDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.core_fonts_encoding = _PDF_ENCODING
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        # The creditor's details are the footer of every page of the letter.
        self._footer_height = _FOOTER_LINE * ((len(doc.creditor_entries) + 1) // 2) + 3
        self.set_auto_page_break(auto=True, margin=_MARGIN + self._footer_height)
        self._letter_pages = False
        self._first_letter_page = 0
        # Metadata names the creditor and the letter only: never the customer (a protected
        # identity's PDF must not carry the name anywhere, domain.md §2).
        self.set_title(_pdf_text(f"{doc.title} {doc.letter_id}"))
        self.set_author(_pdf_text(doc.creditor_name))
        self.set_lang("sv-SE")
        self.set_font(_FONT, size=10)

    def header(self) -> None:
        # A continuation page says whose letter it belongs to, should the pages come apart.
        if self._letter_pages and self.page > self._first_letter_page:
            self.set_font(_FONT, size=8)
            text = f"{self.doc.creditor_name}, {self.doc.title} {self.doc.letter_id} (forts.)"
            self.cell(0, 4, _pdf_text(text), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

    def footer(self) -> None:
        if not self._letter_pages:
            return  # the forwarding sheet is for the mail room, not part of the letter
        self.set_y(self.h - _MARGIN - self._footer_height)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self._entries_in_columns(self.doc.creditor_entries)

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
        """Two columns side by side (the footer), filled top to bottom, left first."""
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

    def _table(self, table: LetterTable) -> None:
        self._heading(table.heading)
        # Every column as wide as its widest text (headers in bold), so that no word is broken;
        # the second ("Avser" in a list of invoices) takes what is left and wraps.
        self.set_font(_FONT, style="B", size=9)
        widths = [self.get_string_width(_pdf_text(h)) + 3 for h in table.headers]
        self.set_font(_FONT, size=9)
        for row in table.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], self.get_string_width(_pdf_text(cell)) + 3)
        if len(widths) > 1:
            others = sum(widths) - widths[1]
            widths[1] = max(self.epw - others, 30.0)
        with self.table(
            col_widths=tuple(widths),
            width=self.epw,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            line_height=4.5,
            padding=(0.8, 1),
        ) as pdf_table:
            for cells in (table.headers, *table.rows):
                pdf_row = pdf_table.row()
                for i, text in enumerate(cells):
                    align = Align.R if i >= table.numeric_from else Align.L
                    pdf_row.cell(_pdf_text(text), align=align)
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
        self._heading("Så skickas brevet")
        for number, step in enumerate(sheet.instructions, start=1):
            self._text(f"{number}. {step}", size=10)

    def _payment_box(self) -> None:
        doc = self.doc
        self._heading(doc.payment_heading)
        box_top = self.get_y()
        self._entries(doc.payment)
        for note in doc.payment_notes:
            self._text(note, size=9)
        self.rect(self.l_margin - 2, box_top - 2, self.epw + 4, self.get_y() - box_top + 4)
        self.ln(4)

    def _payment_box_height(self) -> float:
        # Measured by drawing it on a scratch document: wrapped notes make any estimate wrong.
        scratch = _LetterPdf(self.doc)
        scratch.add_page()
        top = scratch.get_y()
        scratch._payment_box()
        return scratch.get_y() - top

    def letter_page(self) -> None:
        doc = self.doc
        self._letter_pages = True
        self._first_letter_page = self.page + 1
        self.add_page()
        if doc.mail_room_note:
            self.set_text_color(176, 0, 0)
            self._text(doc.mail_room_note, size=9, style="B")
            self.set_text_color(0, 0, 0)
        top = self.get_y()
        self._text(doc.creditor_name, size=14, style="B", height=7)
        self._lines_at(self.l_margin, doc.creditor_address, size=9)
        self.set_xy(self.l_margin, top)
        self.set_font(_FONT, style="B", size=16)
        self.multi_cell(
            0, 8, _pdf_text(doc.title), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

        # The recipient sits where a window envelope shows it; the details beside it.
        self.set_xy(_WINDOW_X, max(_WINDOW_Y, self.get_y() + 4))
        window_top = self.get_y()
        self.set_font(_FONT, size=7)
        self.cell(0, 4, _pdf_text(doc.recipient_heading), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._lines_at(_WINDOW_X, doc.recipient, size=11)
        below_window = self.get_y()
        self.set_y(window_top)
        self._entries(doc.details, x=112, label_width=30)
        self.set_y(max(self.get_y(), below_window) + 6)

        self._heading(doc.heading)
        for paragraph in doc.paragraphs:
            self._text(paragraph)
            self.ln(1)
        for table in doc.tables:
            self._table(table)
        self._entries(doc.summary, x=self.w - self.r_margin - 100, label_width=68)

        # The payment box is drawn around its content, so it must not straddle two pages.
        if self.will_page_break(self._payment_box_height()):
            self.add_page()
        self._payment_box()
        for line in doc.next_step:
            self._text(line, style="B")
        if doc.conditions:
            self._heading(doc.conditions_heading)
            for number, condition in enumerate(doc.conditions, start=1):
                self._text(f"{number}. {condition}", size=9)
        if doc.signature:
            self.ln(2)
            for line in doc.signature:
                self._text(line)
                self.ln(3)
        self.ln(2)
        for line in doc.closing:
            self._text(line, size=9)
            self.ln(1)
