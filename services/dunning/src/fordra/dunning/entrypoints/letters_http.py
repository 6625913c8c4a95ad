"""Dunning's letters over HTTP: ``GET /api/v1/letters/{letter_id}?format=html|pdf`` (issue 13,
"Letters"; domain.md §4 "Reminder", §2 "Protected identity").

The one route of every letter: an id dunning does not know is asked of ``other_letters``, the
app's port to the other contexts' letters (``fordra.kernel.letter_layout.LetterSource``; utility
disconnection's, issue 16), before it is a 404."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse

from fordra.dunning.adapters.letter_render import render_letter_html, render_letter_pdf
from fordra.dunning.application.letters import LetterDeps, read_letter
from fordra.kernel.auth import Principal
from fordra.kernel.errors import NotFound
from fordra.kernel.letter_layout import LetterSource
from fordra.kernel.web import PathId, RouterDeps, metadata_for

# The file name a letter is saved under, per kind (Swedish, as the letter).
_FILE_NAMES = {
    "reminder": "betalningspaminnelse",
    "termination_warning": "risk-for-uppsagning",
    "installment_reminder": "paminnelse-delbetalning",
    "payment_plan": "avbetalningsplan",
}


def make_router(
    deps: LetterDeps, web: RouterDeps, *, other_letters: LetterSource | None = None
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["dunning"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/letters/{letter_id}",
        response_class=Response,
        summary="A letter as its recipient gets it (dunning's, or another context's through "
        "the app's port): format=html (default) or pdf",
        responses={404: {"description": "No such letter"}},
    )
    async def get_letter(
        letter_id: PathId, principal: Caller, format: Literal["html", "pdf"] = "html"
    ) -> Response:
        try:
            doc = await read_letter(letter_id, deps, principal, metadata_for(principal))
        except NotFound:
            other = None
            if other_letters is not None:
                other = await other_letters(letter_id, format, principal, metadata_for(principal))
            if other is None:
                raise
            headers = {}
            if other.filename is not None:
                safe = re.sub(r"[^A-Za-z0-9_.-]", "_", other.filename)
                headers["Content-Disposition"] = f'inline; filename="{safe}"'
            return Response(other.content, media_type=other.media_type, headers=headers)
        if format == "pdf":
            # Only safe characters of the id go into the header (an id is any path segment).
            safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", doc.letter_id)
            name = f"{_FILE_NAMES[doc.kind]}-{safe_id}"
            return Response(
                render_letter_pdf(doc),
                media_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
            )
        return HTMLResponse(render_letter_html(doc))

    return router
