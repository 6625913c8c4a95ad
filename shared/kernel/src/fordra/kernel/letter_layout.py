"""The layout of every letter of Fordra, as HTML and as PDF (domain.md §2 "Protected identity";
§4 "Reminder"; §6-7; seed 001).

Dunning's letters (``fordra.dunning.domain.letters.LetterDocument``) and utility disconnection's
(``fordra.utility_disconnect.domain.letter_document``) each decide *what* a letter says, as
labelled Swedish text; how a letter is laid out is the same for both and lives here once: the
sender's head, the recipient in the envelope's window with the details beside it, the heading,
paragraphs and tables, the amounts, how to pay, what happens next, conditions, a signature, the
closing, and Skatteverket's forwarding sheet first for a protected identity. Nothing here adds
wording of its own beyond layout, so the HTML and the PDF carry the same content.

HTML: ``templates/letter.html`` over the kernel's ``document_base.html``, autoescaping on. PDF:
``DocumentPdf`` (document_pdf.py). The PDF's creation date is the letter's date, so the same
letter always gives the same bytes. A letter document is anything with the attributes of
``LetterLayout`` (a frozen pydantic model in each context).

One route reads every letter, ``GET /api/v1/letters/{letter_id}`` (dunning's router). A context
whose letters dunning does not know offers them through the port ``LetterSource``: asked for a
letter id and a format, it answers the rendered letter, or None for an id it does not know. The
app passes it to dunning's router (``fordra.app.http``); services never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Final, Literal, Protocol

from fpdf.enums import Align, XPos, YPos

from fordra.kernel.auth import Principal
from fordra.kernel.document_html import document_environment
from fordra.kernel.document_pdf import FONT, WINDOW_X, WINDOW_Y, DocumentPdf, pdf_text
from fordra.kernel.documents import Entry, ForwardingSheet
from fordra.kernel.envelope import Metadata

__all__ = [
    "LetterFormat",
    "LetterLayout",
    "LetterSource",
    "LetterTableLayout",
    "RenderedLetter",
    "render_letter_html",
    "render_letter_pdf",
]

_TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"


class LetterTableLayout(Protocol):
    """A table of a letter: a heading, the column headers and the rows; the columns from
    ``numeric_from`` on are amounts, set flush right."""

    @property
    def heading(self) -> str: ...
    @property
    def headers(self) -> tuple[str, ...]: ...
    @property
    def rows(self) -> tuple[tuple[str, ...], ...]: ...
    @property
    def numeric_from(self) -> int: ...


class LetterLayout(Protocol):
    """What a letter document gives the layout (read only)."""

    @property
    def letter_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def sent_on(self) -> date: ...
    @property
    def creditor_name(self) -> str: ...
    @property
    def creditor_address(self) -> tuple[str, ...]: ...
    @property
    def recipient_heading(self) -> str: ...
    @property
    def recipient(self) -> tuple[str, ...]: ...
    @property
    def details(self) -> tuple[Entry, ...]: ...
    @property
    def heading(self) -> str: ...
    @property
    def paragraphs(self) -> tuple[str, ...]: ...
    @property
    def tables(self) -> Sequence[LetterTableLayout]: ...
    @property
    def summary(self) -> tuple[Entry, ...]: ...
    @property
    def payment_heading(self) -> str: ...
    @property
    def payment(self) -> tuple[Entry, ...]: ...
    @property
    def payment_notes(self) -> tuple[str, ...]: ...
    @property
    def next_step(self) -> tuple[str, ...]: ...
    @property
    def conditions_heading(self) -> str: ...
    @property
    def conditions(self) -> tuple[str, ...]: ...
    @property
    def signature(self) -> tuple[str, ...]: ...
    @property
    def closing(self) -> tuple[str, ...]: ...
    @property
    def creditor_entries(self) -> tuple[Entry, ...]: ...
    @property
    def forwarding(self) -> ForwardingSheet | None: ...
    @property
    def mail_room_note(self) -> str | None: ...


LetterFormat = Literal["html", "pdf"]


@dataclass(frozen=True, slots=True)
class RenderedLetter:
    """A letter as the route answers it: the HTML text or the PDF bytes, and for a PDF the file
    name it is saved under (Swedish, as the letter)."""

    content: str | bytes
    media_type: str
    filename: str | None = None


class LetterSource(Protocol):
    """The port through which a context offers its letters to the one letters route: the
    rendered letter in ``format`` as ``principal`` may see it, or None for an unknown id. Raises
    the kernel's errors (``Forbidden``) like any use case."""

    async def __call__(
        self, letter_id: str, format: LetterFormat, principal: Principal, meta: Metadata
    ) -> RenderedLetter | None: ...


def render_letter_html(doc: LetterLayout) -> str:
    """The letter as a standalone HTML page (inline CSS, A4 print layout)."""
    return document_environment(_TEMPLATES).get_template("letter.html").render(doc=doc)


def render_letter_pdf(doc: LetterLayout) -> bytes:
    """The letter as an A4 PDF; for a protected identity the forwarding sheet is page 1."""
    return _LetterPdf(doc).render(
        created_at=datetime.combine(doc.sent_on, time(0, 0), tzinfo=UTC),
        forwarding=doc.forwarding,
        how_to_send="Så skickas brevet",
    )


class _LetterPdf(DocumentPdf):
    def __init__(self, doc: LetterLayout) -> None:
        # The creditor's details are the footer of every page of the letter.
        super().__init__(
            title=doc.title,
            number=doc.letter_id,
            sender=doc.creditor_name,
            footer_entries=doc.creditor_entries,
        )
        self.doc = doc

    def _table(self, table: LetterTableLayout) -> None:
        self._heading(table.heading)
        # Every column as wide as its widest text (headers in bold), so that no word is broken;
        # the second ("Avser" in a list of invoices) takes what is left and wraps.
        self.set_font(FONT, style="B", size=9)
        widths = [self.get_string_width(pdf_text(h)) + 3 for h in table.headers]
        self.set_font(FONT, size=9)
        for row in table.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], self.get_string_width(pdf_text(cell)) + 3)
        if len(widths) > 1:
            others = sum(widths) - widths[1]
            widths[1] = max(self.epw - others, 30.0)
        self._grid(table.headers, table.rows, widths, numeric_from=table.numeric_from)

    def document_page(self) -> None:
        doc = self.doc
        self.start_document_pages()
        if doc.mail_room_note:
            self.set_text_color(176, 0, 0)
            self._text(doc.mail_room_note, size=9, style="B")
            self.set_text_color(0, 0, 0)
        top = self.get_y()
        self._text(doc.creditor_name, size=14, style="B", height=7)
        self._lines_at(self.l_margin, doc.creditor_address, size=9)
        self.set_xy(self.l_margin, top)
        self.set_font(FONT, style="B", size=16)
        self.multi_cell(
            0, 8, pdf_text(doc.title), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

        # The recipient sits where a window envelope shows it; the details beside it.
        self.set_xy(WINDOW_X, max(WINDOW_Y, self.get_y() + 4))
        window_top = self.get_y()
        self.set_font(FONT, size=7)
        self.cell(0, 4, pdf_text(doc.recipient_heading), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._lines_at(WINDOW_X, doc.recipient, size=11)
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

        self._payment_box(doc.payment_heading, doc.payment, doc.payment_notes)
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
