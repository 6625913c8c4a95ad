"""``GET /api/v1/letters/{letter_id}?format=html|pdf`` (issue 13 "Letters"; domain.md §4, §2
"Protected identity"): the router in a small app built as the platform builds it (the app's error
handlers), over real stores: customers registered through invoicing's use cases and copied by
dunning's reaction, the letter's ``LetterIssued`` appended as the approval appends it."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from fastapi import FastAPI, Request
from pypdf import PdfReader

from fordra.app.http import install_error_handlers
from fordra.dunning.adapters.letter_render import render_letter_html
from fordra.dunning.application.letters import (
    LetterDeps,
    letter_document,
    protected_access_stream,
)
from fordra.dunning.application.recipients import CONTEXT
from fordra.dunning.domain.letters import LetterFacts, LetterIssued, letter_stream
from fordra.dunning.entrypoints.letters_http import make_router
from fordra.invoicing.application.customers import change_customer
from fordra.invoicing.domain.commands import MarkProtectedIdentity
from fordra.kernel.auth import AccessDenied, Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.envelope import Metadata
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.web import RouterDeps
from tests.dunning.test_letters import CREDITOR, WATER_BILL, plan_letter, plan_terms, reminder
from tests.dunning.test_recipients import PROTECTOR, Contexts, contexts, personnummer
from tests.invoicing.test_render import flat, html_text, pdf_text
from tests.utils.invoicing import TENANT, meta

__all__ = ["contexts"]  # the fixture, used here under its own name

NAME = "Tolvan Tolvansson"
READERS = (Role.CASE_OFFICER, Role.OPS_LEAD, Role.ADMIN)


@dataclass
class Letters:
    contexts: Contexts
    client: httpx.AsyncClient

    async def issue(self, customer_id: str, **changes: object) -> str:
        """Append a letter's ``LetterIssued`` as the approval of its proposal does."""
        letter_id = str(uuid.uuid4())
        facts: LetterFacts = reminder(letter_id=letter_id, customer_id=customer_id, **changes)
        store, registry = self.contexts.dunning, self.contexts.registry
        env = registry.envelope(
            LetterIssued(facts=facts),
            context=CONTEXT,
            stream_id=letter_stream(letter_id),
            version=1,
            metadata=Metadata(TENANT, "case_officer:handlaggare", str(uuid.uuid4())),
            occurred_at=ManualClock(facts.sent_on).now(),
        )
        await store.append([StreamAppend(letter_stream(letter_id), 0, [env])])
        return letter_id

    async def get(
        self, letter_id: str, role: Role = Role.CASE_OFFICER, **params: str
    ) -> httpx.Response:
        await self.contexts.deliver()
        return await self.client.get(
            f"/api/v1/letters/{letter_id}", params=params, headers={"x-role": role.value}
        )


def app_for(deps: LetterDeps) -> FastAPI:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
        return Principal(subject="t", role=Role(request.headers["x-role"]), tenant=TENANT)

    async def settle() -> None:
        return None

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(make_router(deps, RouterDeps(authenticate=authenticate, settle=settle)))
    return app


@pytest.fixture
async def letters(contexts: Contexts) -> AsyncIterator[Letters]:
    deps = LetterDeps(
        store=contexts.dunning,
        registry=contexts.registry,
        clock=ManualClock(date(2026, 3, 10)),
        creditor=CREDITOR,
    )
    transport = httpx.ASGITransport(app=app_for(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield Letters(contexts, client)


@pytest.mark.parametrize("role", READERS)
async def test_a_reminder_as_html(letters: Letters, role: Role) -> None:
    cid = await letters.contexts.register(NAME, 11)
    letter_id = await letters.issue(cid)
    r = await letters.get(letter_id, role)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    text = flat(html_text(r.text))
    assert "Betalningspåminnelse" in text
    assert f"{NAME} Storgatan 1 512 50 Svenljunga" in text
    assert WATER_BILL.invoice_number in text
    assert "Betala senast 24 mars 2026" in text
    assert "OCR-nummer 1234574" in text


async def test_a_reminder_as_pdf(letters: Letters) -> None:
    cid = await letters.contexts.register(NAME, 12)
    letter_id = await letters.issue(cid)
    r = await letters.get(letter_id, format="pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        f'inline; filename="betalningspaminnelse-{letter_id}.pdf"'
    )
    text = flat(pdf_text(r.content))
    assert "Betalningspåminnelse" in text
    assert NAME in text
    assert "Bankgiro 5050-1055" in text
    # Asked again: the same bytes
    assert (await letters.get(letter_id, format="pdf")).content == r.content


async def test_an_unknown_letter_is_404(letters: Letters) -> None:
    r = await letters.get("no-such-letter")
    assert r.status_code == 404
    assert "no-such-letter" in r.json()["detail"]


async def test_another_format_is_422_naming_it(letters: Letters) -> None:
    cid = await letters.contexts.register(NAME, 13)
    letter_id = await letters.issue(cid)
    r = await letters.get(letter_id, format="docx")
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["query", "format"]


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.BANK_INGEST, Role.AGENCY])
async def test_other_roles_may_not_read_letters(letters: Letters, role: Role) -> None:
    cid = await letters.contexts.register(NAME, 14)
    letter_id = await letters.issue(cid)
    r = await letters.get(letter_id, role)
    assert r.status_code == 403
    assert "read a dunning letter" in r.json()["detail"]


async def protect(letters: Letters, customer_id: str) -> None:
    await change_customer(
        customer_id,
        MarkProtectedIdentity(protected=True, reason="skyddad folkbokföring"),
        letters.contexts.deps,
        PROTECTOR,
        meta(PROTECTOR),
    )


async def test_a_protected_identitys_letter_goes_through_skatteverket(letters: Letters) -> None:
    # Given a letter sent before the customer's identity was protected
    cid = await letters.contexts.register(NAME, 15)
    letter_id = await letters.issue(cid)
    await protect(letters, cid)
    number = personnummer("19800101", 15)
    formatted = f"{number[:8]}-{number[8:]}"
    # When a case officer reads it, in both formats
    html = await letters.get(letter_id, format="html")
    pdf = await letters.get(letter_id, format="pdf")
    reader = PdfReader(io.BytesIO(pdf.content))
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    pdf_pages = [flat(page.extract_text()) for page in reader.pages]
    # Then no name or address is anywhere, and the personnummer is masked for them
    for text in (html.text, " ".join(pdf_pages), metadata):
        for secret in (NAME, "Storgatan", "512 50", formatted):
            assert secret not in text
    assert "Ytterkuvert Skatteverket Box 2820 403 20 Göteborg" in pdf_pages[0]
    assert "Personnummer XXXXXXXX-XXXX" in pdf_pages[0]
    assert "Vidarebefordras av Skatteverket" in " ".join(pdf_pages[1:])
    # And nothing is recorded: nobody saw the number
    assert await letters.contexts.dunning.read_stream(protected_access_stream(cid)) == []


async def test_the_protected_identity_officer_sees_the_number_and_is_recorded(
    letters: Letters,
) -> None:
    cid = await letters.contexts.register(NAME, 16, protected=True)
    letter_id = await letters.issue(cid)
    number = personnummer("19800101", 16)
    r = await letters.get(letter_id, Role.PROTECTED_IDENTITY_OFFICER, format="pdf")
    assert r.status_code == 200
    text = flat(pdf_text(r.content))
    assert f"Innerkuvert (förslutet) Personnummer {number[:8]}-{number[8:]}" in text
    assert NAME not in text
    (access,) = await letters.contexts.dunning.read_stream(protected_access_stream(cid))
    assert access.event_type == "DunningProtectedRecipientAccessed"
    assert access.payload["letter_id"] == letter_id
    assert access.metadata.actor == "protected_identity_officer:t"


async def test_a_forgotten_customers_letter_renders_without_personal_data(
    letters: Letters,
) -> None:
    cid = await letters.contexts.register(NAME, 17)
    letter_id = await letters.issue(cid)
    letters.contexts.keys.forget(cid)
    for fmt in ("html", "pdf"):
        r = await letters.get(letter_id, format=fmt)
        assert r.status_code == 200
        text = flat(html_text(r.text)) if fmt == "html" else flat(pdf_text(r.content))
        assert NAME not in text
        assert "Storgatan" not in text
        assert "Brevet kan inte skickas" in text
        assert WATER_BILL.invoice_number in text


async def test_a_letter_whose_facts_break_a_rule_is_422_naming_it(letters: Letters) -> None:
    cid = await letters.contexts.register(NAME, 18)
    letter_id = await letters.issue(
        cid, kind="termination_warning", service_type="childcare", next_step="none"
    )
    r = await letters.get(letter_id)
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["type"] == "termination_warning_names_invoices_and_date"
    assert problem["loc"] == ["body", "termination_date"]


async def test_a_payment_plans_document_follows_the_same_recipient_rules(
    letters: Letters, contexts: Contexts
) -> None:
    # A plan's document is rendered through the same use case (the plans' document route)
    cid = await contexts.register(NAME, 19, protected=True)
    await contexts.deliver()
    deps = LetterDeps(
        store=contexts.dunning,
        registry=contexts.registry,
        clock=ManualClock(date(2026, 5, 4)),
        creditor=CREDITOR,
    )
    facts = plan_letter(plan_terms()).model_copy(update={"customer_id": cid})
    officer = Principal(subject="t", role=Role.CASE_OFFICER, tenant=TENANT)
    doc = await letter_document(facts, deps, officer, meta(officer))
    assert doc.recipient == (
        "Mottagare med skyddade personuppgifter",
        "Vidarebefordras av Skatteverket",
    )
    assert doc.forwarding is not None
    assert NAME not in render_letter_html(doc)
    department = Principal(subject="t", role=Role.DEPARTMENT, tenant=TENANT, department="va")
    with pytest.raises(AccessDenied):
        await letter_document(facts, deps, department, meta(department))
