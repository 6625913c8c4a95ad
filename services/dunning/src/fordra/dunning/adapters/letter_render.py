"""A dunning letter as HTML and as PDF (domain.md §4 "Reminder", §2 "Protected identity"; seed 001).

Both renderers lay out the same ``LetterDocument`` (domain/letters.py), which decides what the
letter says, including that a protected identity's name and address never appear and that
Skatteverket's forwarding sheet comes first. The layout itself is the kernel's
(``fordra.kernel.letter_layout``: the HTML template and the PDF page), shared with utility
disconnection's letters, so nothing here adds wording of its own and the HTML and the PDF cannot
drift apart in content; the named rules (the reminder's items, no empty threats) hold for both.
"""

from __future__ import annotations

from fordra.dunning.domain.letters import LetterDocument
from fordra.kernel import letter_layout

__all__ = ["render_letter_html", "render_letter_pdf"]


def render_letter_html(doc: LetterDocument) -> str:
    """The letter as a standalone HTML page (inline CSS, A4 print layout)."""
    return letter_layout.render_letter_html(doc)


def render_letter_pdf(doc: LetterDocument) -> bytes:
    """The letter as an A4 PDF; for a protected identity the forwarding sheet is page 1."""
    return letter_layout.render_letter_pdf(doc)
