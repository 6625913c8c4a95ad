"""Utility disconnection's letters for the one letters route, ``GET /api/v1/letters/{letter_id}
?format=html|pdf`` (issue 16). Dunning's router serves that route; this context offers its letters
through the kernel's port ``LetterSource``, which the app passes to it (``fordra.app.http``), so
neither service imports the other. Laid out by the kernel's letter layout, as dunning's."""

from __future__ import annotations

import re

from fordra.kernel.auth import Principal
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.letter_layout import (
    LetterFormat,
    LetterSource,
    RenderedLetter,
    render_letter_html,
    render_letter_pdf,
)
from fordra.utility_disconnect.application.letters import DisconnectionLetterDeps, read_letter

# The file name a letter is saved under, per kind (Swedish, as the letter).
FILE_NAMES = {
    "collection_demand": "inkassokrav-el",
    "request_to_remedy": "uppmaning-el",
    "notice": "underrattelse-el",
    "social_services_message": "meddelande-socialnamnden",
    "water_disconnection": "inkassokrav-vatten",
}


def letter_source(deps: DisconnectionLetterDeps) -> LetterSource:
    """The port answering a disconnection letter, or None for an id this context does not know."""

    async def source(
        letter_id: str, format: LetterFormat, principal: Principal, meta: Metadata
    ) -> RenderedLetter | None:
        try:
            doc = await read_letter(letter_id, deps, principal, meta)
        except NotFound:
            return None
        if format == "pdf":
            safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", doc.letter_id)
            return RenderedLetter(
                render_letter_pdf(doc),
                "application/pdf",
                f"{FILE_NAMES[doc.kind]}-{safe_id}.pdf",
            )
        return RenderedLetter(render_letter_html(doc), "text/html; charset=utf-8")

    return source
