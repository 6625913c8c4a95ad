"""Late interest end to end (domain.md §3, seed 001), on both engines: an invoice paid late by a
bank file, the interest accrued in the ledger day by day, charged once when the capital is paid,
and a line of the customer's next invoice; across a half-year rate change, at a rate an admin
added."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.platform import Engine, Running, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def customer(fordra: Running) -> str:
    r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def issue(fordra: Running, customer_id: str, invoice_date: date, net_ore: int) -> Any:
    """A premises rent invoice with 25 % VAT (no owner's liability, any period)."""
    body = {
        "customer_id": customer_id,
        "department": "premises",
        "service_type": "premises_rent",
        "invoice_date": invoice_date.isoformat(),
        "lines": [{"description": "Lokalhyra", "unit_price_ore": net_ore, "vat_rate": 25}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return r.json()


async def advance(fordra: Running, to: date) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to.isoformat()}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def pay(fordra: Running, ocr: str, ore: int, on: date, ref: str) -> None:
    data = camt054(
        Entry(
            amount=f"{ore / 100:.2f}",
            acct_svcr_ref=f"N-{ref}",
            booking_date=on.isoformat(),
            txs=(Tx(amount=f"{ore / 100:.2f}", scor=(ocr,), acct_svcr_ref=ref),),
        ),
        msg_id=f"F-{ref}",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code == 201, r.text
    await fordra.platform.settle()


async def ledger(fordra: Running, customer_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_interest_across_a_half_year_is_charged_once_on_the_next_invoice(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2025, 5, 16)) as fordra:
        # Given 10,000 kr (8,000 + 25 % VAT) due 30 days later, on 2025-06-16
        cid = await customer(fordra)
        first = await issue(fordra, cid, date(2025, 5, 16), 800_000)
        due = date.fromisoformat(first["due_date"])
        # When the clock passes the due date, the ledger shows the interest accrued so far
        await advance(fordra, date(2025, 6, 30))
        book = await ledger(fordra, cid)
        days = (date(2025, 6, 30) - due).days
        assert book["invoices"][0]["interest_ore"] == round(1_000_000 * 0.105 * days / 365)
        # and the capital is paid on 2025-08-15, across the half-year change
        await advance(fordra, date(2025, 8, 15))
        await pay(fordra, first["ocr"], 1_000_000, date(2025, 8, 15), "P-1")
        # Then the interest stops there and is charged once, one line per rate period
        book = await ledger(fordra, cid)
        assert book["invoices"][0]["open_ore"] == 0
        before = round(1_000_000 * 0.105 * (date(2025, 6, 30) - due).days / 365)
        after = round(1_000_000 * 0.10 * 46 / 365)
        assert book["invoices"][0]["interest_ore"] == before + after
        held = book["held_small_amounts"]
        assert sorted(h["total_ore"] for h in held) == sorted([before, after])
        # And the next invoice carries it, without VAT
        await advance(fordra, date(2025, 9, 1))
        second = await issue(fordra, cid, date(2025, 9, 1), 80_000)
        assert second["total_ore"] == 100_000 + before + after
        # A half-year an admin adds is used by the ledger at once
        r = await fordra.client.post(
            "/api/v1/admin/reference-rates",
            json={"valid_from": "2026-01-01", "rate_percent": "2.00"},
            headers=fordra.auth(),
        )
        assert r.status_code == 200, r.text  # shipped already: nothing new
