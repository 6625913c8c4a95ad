"""The first vertical slice over HTTP: a customer, an invoice, the ledger (issue: foundation)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from tests.utils.platform import Engine, record_ownership, running_platform

CUSTOMER = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
INVOICE = {
    "department": "water",
    "service_type": "water",
    "invoice_date": "2026-01-15",
    "lines": [{"description": "Vatten", "quantity": 1, "unit_price_ore": 125000, "vat_rate": 25}],
}


async def test_invoice_reaches_the_customer_ledger(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 1, 20)) as fordra:
        water = fordra.auth(Role.DEPARTMENT, department="water")
        # Given a registered customer
        r = await fordra.client.post("/api/v1/customers", json=CUSTOMER, headers=water)
        assert r.status_code == 201, r.text
        customer_id = r.json()["customer_id"]
        assert r.json()["kind"] == "person"
        # who owns the property (the owner is liable for water, seed 001)
        await record_ownership(fordra, customer_id, headers=water)

        # When the water department publishes an invoice
        body = {**INVOICE, "customer_id": customer_id}
        r = await fordra.client.post(
            "/api/v1/invoices", json=body, headers={**water, "Idempotency-Key": "inv-1"}
        )
        assert r.status_code == 201, r.text
        invoice = r.json()
        # Then 1,250 kr + 25 % VAT is 1,562.50 kr, due in 30 days (a Saturday: next Monday)
        assert invoice["total_ore"] == 156250
        assert invoice["vat_ore"] == 31250
        assert invoice["due_date"] == "2026-02-16"
        # VA: two months in arrears and the current month (seed 001)
        assert invoice["billing_period_start"] == "2025-11-01"
        assert invoice["billing_period_end"] == "2026-01-31"
        assert invoice["ocr"] == "133"  # serial 1, length digit 3, Luhn check digit 3

        # And the ledger shows it at once (the command answered after the projection caught up)
        r = await fordra.client.get(
            f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        ledger = r.json()
        assert ledger["balance_ore"] == 156250
        assert ledger["invoices"] == [
            {
                "invoice_id": invoice["invoice_id"],
                "invoice_number": "00000001",
                "ocr": invoice["ocr"],
                "department": "water",
                "service_type": "water",
                "invoice_date": "2026-01-15",
                "due_date": "2026-02-16",
                "total_ore": 156250,
                "open_ore": 156250,
                "status": "open",
                "credited_ore": 0,
                "paid_ore": 0,
                "interest_and_fees_paid_ore": 0,
                "original_due_date": "2026-02-16",
                "deferred_until": None,
                "disputed": False,
                "autogiro_failed": False,
                "interest_ore": 0,
                # never handed to the agency (issue 15)
                "agency_status": None,
                "agency_deadline": None,
                "written_down_ore": 0,
                "written_down_on": None,
                "written_off_ore": 0,
                "written_off_on": None,
                "write_off_reason": None,
                "write_off_decision_reference": None,
                # under no disconnection case (issue 16)
                "disconnection_case_id": None,
                "disconnection_status": None,
            }
        ]
        assert ledger["held_small_amounts"] == []
        assert ledger["disconnection_cases"] == []

        # When the business clock passes the due date, the invoice shows as overdue
        r = await fordra.client.post(
            "/api/v1/admin/clock/advance", json={"to": "2026-02-17"}, headers=fordra.auth()
        )
        assert r.status_code == 200, r.text
        assert r.json()["today"] == "2026-02-17"
        r = await fordra.client.get(
            f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.json()["invoices"][0]["status"] == "overdue"
        assert r.json()["overdue_ore"] == 156250
        # and a day's late interest (domain.md §3): 156,250 öre * 10 % / 365 = 42.81 öre
        assert r.json()["invoices"][0]["interest_ore"] == 43


async def test_the_same_idempotency_key_answers_the_first_result(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 1, 20)) as fordra:
        admin = fordra.auth()
        customer_id = (
            await fordra.client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
        ).json()["customer_id"]
        await record_ownership(fordra, customer_id)
        store = fordra.platform.stores["invoicing"]
        body = {**INVOICE, "customer_id": customer_id}
        headers = {**admin, "Idempotency-Key": "batch-7-line-1"}
        first = await fordra.client.post("/api/v1/invoices", json=body, headers=headers)
        events_after_first = await store.max_position()
        # When the same request comes twice more, once concurrently with itself
        again = await fordra.client.post("/api/v1/invoices", json=body, headers=headers)
        both = await asyncio.gather(
            fordra.client.post("/api/v1/invoices", json=body, headers=headers),
            fordra.client.post("/api/v1/invoices", json=body, headers=headers),
        )
        # Then every answer is the first one and nothing more was appended
        assert first.status_code == 201
        for r in (again, *both):
            assert r.status_code == 201
            assert r.json() == first.json()
            assert r.headers["Idempotent-Replayed"] == "true"
        assert await store.max_position() == events_after_first
        # And the same key with another body is refused, naming the header
        other = {**body, "invoice_date": "2026-01-16"}
        r = await fordra.client.post("/api/v1/invoices", json=other, headers=headers)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_bad_input_names_the_field_and_appends_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 1, 20)) as fordra:
        admin = fordra.auth()
        store = fordra.platform.stores["invoicing"]
        # A wrong check digit in the personnummer
        r = await fordra.client.post(
            "/api/v1/customers", json={**CUSTOMER, "id_number": "19121212-1213"}, headers=admin
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "id_number"]
        customer_id = (
            await fordra.client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
        ).json()["customer_id"]
        await record_ownership(fordra, customer_id)
        before = await store.max_position()
        cases = [
            ({"vat_rate": 20}, ["body", "lines", 0, "vat_rate"]),
            ({"unit_price_ore": "12.50"}, ["body", "lines", 0, "unit_price_ore"]),
        ]
        for change, loc in cases:
            line = {**INVOICE["lines"][0], **change}  # type: ignore[dict-item]
            body = {**INVOICE, "customer_id": customer_id, "lines": [line]}
            r = await fordra.client.post("/api/v1/invoices", json=body, headers=admin)
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"] == loc
        r = await fordra.client.post(
            "/api/v1/invoices",
            json={**INVOICE, "customer_id": customer_id, "invoice_date": "2026-02-30"},
            headers=admin,
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "invoice_date"]
        r = await fordra.client.post(
            "/api/v1/invoices", json={**INVOICE, "customer_id": "no-such-customer"}, headers=admin
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "customer_id"]
        assert await store.max_position() == before


async def test_tokens_roles_and_scopes(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 1, 20)) as fordra:
        c = fordra.client
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/openapi.json")).status_code == 200
        assert (await c.post("/api/v1/customers", json=CUSTOMER)).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert (await c.post("/api/v1/customers", json=CUSTOMER, headers=bad)).status_code == 401
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers=fordra.auth(Role.OPS_LEAD))).status_code == 200
        # A bank-ingest token may not register customers
        r = await c.post("/api/v1/customers", json=CUSTOMER, headers=fordra.auth(Role.BANK_INGEST))
        assert r.status_code == 403
        # A department token publishes only for its own department
        waste = fordra.auth(Role.DEPARTMENT, department="waste")
        customer_id = (await c.post("/api/v1/customers", json=CUSTOMER, headers=waste)).json()[
            "customer_id"
        ]
        await record_ownership(fordra, customer_id, headers=waste)
        r = await c.post(
            "/api/v1/invoices", json={**INVOICE, "customer_id": customer_id}, headers=waste
        )
        assert r.status_code == 403
        assert "water" in r.json()["detail"]
        # A department reads only its own invoices on a customer's ledger
        water = fordra.auth(Role.DEPARTMENT, department="water")
        r = await c.post(
            "/api/v1/invoices", json={**INVOICE, "customer_id": customer_id}, headers=water
        )
        assert r.status_code == 201
        ledger = f"/api/v1/customers/{customer_id}/ledger"
        assert len((await c.get(ledger, headers=water)).json()["invoices"]) == 1
        assert (await c.get(ledger, headers=waste)).json()["invoices"] == []
        assert (await c.get(ledger, headers=fordra.auth(Role.AGENCY))).status_code == 403
