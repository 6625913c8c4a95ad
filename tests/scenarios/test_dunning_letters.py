"""A reminder over HTTP on both engines (issue 13, seed 001 "Påminnelsen skall innehålla"):
approved, read as its letter in HTML and PDF with every item the rulebook asks for, and addressed
no more once the customer's identity is protected (domain.md §2)."""

from __future__ import annotations

from pathlib import Path

from fordra.kernel.auth import Role
from tests.invoicing.test_render import flat, html_text, pdf_text
from tests.scenarios.test_dunning_flow import (
    TODAY,
    advance,
    approve,
    customer,
    issue,
    proposals_for,
)
from tests.utils.platform import Engine, running_platform


async def test_a_reminder_with_every_required_item(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        inv = await issue(fordra, cid)
        await advance(fordra, "2026-04-08")
        (reminder,) = await proposals_for(fordra, inv["invoice_id"])
        letter_id = (await approve(fordra, reminder["proposal_id"]))["letter_id"]
        r = await fordra.client.get(
            f"/api/v1/letters/{letter_id}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        html = flat(html_text(r.text))
        assert "Tolvan Tolvansson Storgatan 1 512 50 Svenljunga" in html
        assert inv["invoice_number"] in html
        assert "Lokalhyra mars" in html
        assert "1 000,00 kr" in html
        assert "2026-04-01" in html
        assert "Enligt vår kontroll den 8 april 2026" in html
        # 10 days on is Saturday 2026-04-18: payment is asked by the next working day
        assert "Betala senast 20 april 2026" in html
        assert f"OCR-nummer {inv['ocr']}" in html
        assert "inkasso" in html
        r = await fordra.client.get(
            f"/api/v1/letters/{letter_id}",
            params={"format": "pdf"},
            headers=fordra.auth(Role.OPS_LEAD),
        )
        assert r.status_code == 200
        assert "Betalningspåminnelse" in flat(pdf_text(r.content))
        # Protected since: no name
        r = await fordra.client.put(
            f"/api/v1/customers/{cid}/protected-identity",
            json={"protected": True, "reason": "skyddad folkbokföring"},
            headers=fordra.auth(Role.PROTECTED_IDENTITY_OFFICER),
        )
        assert r.status_code == 200, r.text
        await fordra.platform.settle()
        r = await fordra.client.get(
            f"/api/v1/letters/{letter_id}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert "Tolvan" not in r.text
        assert "Skatteverket" in r.text
