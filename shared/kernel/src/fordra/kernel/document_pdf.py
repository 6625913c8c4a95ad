"""The A4 PDF page every printed document of Fordra is laid out on (domain.md §2 "Invoice
content", "Protected identity"; §4 "Reminder"; seed 001).

Invoicing's invoice and dunning's letters subclass ``DocumentPdf`` and add only their own pages;
what they share is here once: the core font and its encoding, the margins and the envelope
window, the running head of a continuation page, the sender's details as the footer of every
page, labelled entries, and Skatteverket's forwarding sheet.

fpdf2 with DejaVu Sans embedded (``fonts/``: DejaVu Sans cut with fontTools' ``pyftsubset`` to
Latin with every extension, Greek, Cyrillic, punctuation, currency, arrows and common symbols,
which the Bitstream Vera licence beside it allows; docs/performance.md): a name such
as "Łukasz Wójcik-Čapek" prints as written (issue 18; the PDF core font Helvetica printed
"?ukasz Wójcik-?apek"). Text is NFKC-folded (ligatures, full-width digits), and a character the
font has no glyph for prints as "?" (``pdf_text``) rather than an empty box or a failed run.

Every document is PDF/A-3b (ISO 19005-3; archiving, and the level an e-invoice's attachment
needs): fpdf2's compliance mode writes the XMP metadata that PDF/A requires, the fonts are
embedded, and the output intent is sRGB with its ICC profile (made by Pillow's littleCMS, which
fpdf2 already depends on). The conformance is declared, not validated by veraPDF here.

A document's creation date is set by the caller from the document's own date, so the same
document always gives the same bytes.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Final

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import (
    Align,
    DocumentCompliance,
    MethodReturnValue,
    OutputIntentSubType,
    TableBordersLayout,
    XPos,
    YPos,
)
from fpdf.fonts import FontFace
from fpdf.output import PDFICCProfile
from PIL import ImageCms

from fordra.kernel.documents import Entry, ForwardingSheet

__all__ = [
    "FONT",
    "LINE",
    "WINDOW_X",
    "WINDOW_Y",
    "DocumentPdf",
    "pdf_text",
]

FONT: Final[str] = "DejaVuSans"
_FONT_FILES: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
COMPLIANCE: Final = DocumentCompliance.PDFA_3B
PRODUCER: Final = "Fordra (fpdf2)"
MARGIN: Final[float] = 18.0
# Roughly where a left-window envelope (C5/E65) shows the address; check against the envelopes
# the print shop uses before the first mailing.
WINDOW_X: Final[float] = 22.0
WINDOW_Y: Final[float] = 48.0
LINE: Final[float] = 5.0
FOOTER_LINE: Final[float] = 4.0


def _font_path(style: str) -> Path:
    return Path(str(files("fordra.kernel").joinpath("fonts", _FONT_FILES[style])))


@functools.cache
def _covered() -> frozenset[int]:
    """The code points both embedded faces have a glyph for."""
    faces = [TTFont(_font_path(style), lazy=True) for style in _FONT_FILES]
    maps = [set(face.getBestCmap()) for face in faces]
    for face in faces:
        face.close()
    return frozenset(set.intersection(*maps))


@functools.cache
def _srgb_profile() -> bytes:
    """An sRGB ICC profile (the PDF/A output intent's), made by littleCMS."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def pdfa_xmp(*, title: str, author: str, created_at: datetime, producer: str) -> str:
    """The XMP metadata of a PDF/A-3b document, every date the document's own."""
    when = (created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)).isoformat(
        timespec="seconds"
    )
    part, conformance = COMPLIANCE.part, COMPLIANCE.conformance
    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
            '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
            '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"',
            '    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
            '    <rdf:Description rdf:about=""',
            f'        xmp:CreateDate="{when}" xmp:ModifyDate="{when}" xmp:MetadataDate="{when}"',
            f'        pdf:Producer="{escape(producer)}">',
            f"      <pdfaid:part>{part}</pdfaid:part>",
            f"      <pdfaid:conformance>{conformance}</pdfaid:conformance>",
            "      <dc:format>application/pdf</dc:format>",
            f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>'
            "</rdf:Alt></dc:title>",
            f"      <dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>",
            "    </rdf:Description>",
            "  </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )


def pdf_text(text: str) -> str:
    """Text the embedded font can print: NFKC folds look-alikes (ligatures, full-width digits),
    and a character it has no glyph for becomes "?" instead of an empty box."""
    folded = unicodedata.normalize("NFKC", text)
    covered = _covered()
    if all(ord(c) in covered or c == "\n" for c in folded):
        return folded
    return "".join(c if ord(c) in covered or c == "\n" else "?" for c in folded)


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
        super().__init__(
            orientation="portrait", unit="mm", format="A4", enforce_compliance=COMPLIANCE
        )
        self._title = title
        self._number = number
        self._sender = sender
        for style in _FONT_FILES:
            self.add_font(FONT, style=style, fname=_font_path(style))
        self.add_output_intent(
            OutputIntentSubType.PDFA,
            output_condition_identifier="sRGB",
            output_condition="sRGB IEC61966-2.1",
            registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(contents=_srgb_profile(), n=3, alternate="DeviceRGB"),
            info="sRGB IEC61966-2.1",
        )
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
        self.set_producer(PRODUCER)
        self.set_font(FONT, size=10)

    def render(
        self, *, created_at: datetime, forwarding: ForwardingSheet | None, how_to_send: str
    ) -> bytes:
        """The PDF: the forwarding sheet first when there is one, then the document. The
        creation date is the document's own, so the same document gives the same bytes."""
        self.set_creation_date(created_at)
        # Our own XMP, not fpdf2's: its modify date is the time of the run, and the same document
        # must give the same bytes.
        self.set_xmp_metadata(
            pdfa_xmp(
                title=pdf_text(f"{self._title} {self._number}"),
                author=pdf_text(self._sender),
                created_at=created_at,
                producer=PRODUCER,
            )
        )
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

        # Measured line by line as fpdf2 will wrap it (a dry run of each multi_cell), not
        # estimated: wrapped notes make any estimate wrong. A scratch document would do too, at
        # the cost of loading the embedded fonts a second time.
        value_width = self.epw - 45
        height = 2 + self._text_height(heading, width=self.epw, size=12, style="B", height=7)
        height += sum(
            self._text_height(entry.value, width=value_width, size=9) for entry in entries
        )
        if amount_due is not None:
            text = f"{amount_due.label}: {amount_due.value}"
            height += self._text_height(text, width=self.epw, size=12, style="B")
        height += sum(self._text_height(note, width=self.epw, size=9) for note in notes)
        if self.will_page_break(height + 4):
            self.add_page()
        draw(self)

    def _text_height(
        self, text: str, *, width: float, size: float, style: str = "", height: float = LINE
    ) -> float:
        """How tall ``multi_cell`` would print ``text`` in ``width`` (nothing is drawn)."""
        self.set_font(FONT, style=style, size=size)
        lines = self.multi_cell(
            width, height, pdf_text(text), dry_run=True, output=MethodReturnValue.LINES
        )
        assert isinstance(lines, list)  # what output=LINES answers
        return height * max(1, len(lines))

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
