"""Autogiro payment specifications, with Bankgirot's official example file as it is (issue:
payments): approved debits pay the payer's invoice, a failed debit sends it back to dunning."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.fixtures_path import shared_fixtures
from tests.utils.platform import Engine, Running, running_platform

SPEC = shared_fixtures("autogiro", "ny_layout", "autogiro_exempelfil_bet-spec-o-tk_sv.txt")
MANDATES = shared_fixtures("autogiro", "ny_layout", "autogiro_exempelfil_medgivandeunderlag_sv.txt")


async def payer(fordra: Running, number: str, id_number: str) -> str:
    admin = fordra.auth()
    body = {
        "id_number": id_number,
        "name": f"Betalare {number}",
        "address": {"street": "Ridvägen 1", "postal_code": "512 50", "city": "Svenljunga"},
    }
    cid = str(
        (await fordra.client.post("/api/v1/customers", json=body, headers=admin)).json()[
            "customer_id"
        ]
    )
    prefs = {"autogiro": True, "autogiro_payer_number": number}
    r = await fordra.client.put(f"/api/v1/customers/{cid}/preferences", json=prefs, headers=admin)
    assert r.status_code == 200, r.text
    return cid


async def lesson(fordra: Running, customer_id: str) -> str:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "department": "other",
        "service_type": "other",
        "invoice_date": "2009-10-10",
        "lines": [{"description": "Ridlektion", "unit_price_ore": 300000, "vat_rate": 0}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["invoice_id"])


async def test_debits_pay_and_failures_return_to_dunning(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2009, 10, 10)) as fordra:
        # Given payer 101 (approved in the file) and 106 (insufficient funds) with a lesson each,
        # invoiced on 2009-10-10
        paid_by = await payer(fordra, "101", "196501022773")
        failed_for = await payer(fordra, "106", "196501133372")
        paid = await lesson(fordra, paid_by)
        failed = await lesson(fordra, failed_for)
        # and the payment specification comes a month later
        r = await fordra.client.post(
            "/api/v1/admin/clock/advance", json={"to": "2009-11-11"}, headers=fordra.auth()
        )
        assert r.status_code == 200, r.text

        r = await fordra.client.post(
            "/api/v1/payment-files",
            content=SPEC.read_bytes(),
            headers=fordra.auth(Role.BANK_INGEST),
        )
        assert r.status_code == 201, r.text
        result = r.json()
        assert result["format"] == "autogiro"
        assert result["failed_debits"] == 3  # insufficient funds, account closed, renewed funds
        assert result["matched"] == 1
        assert result["payments"] == 5  # the approved debits; the others wait in the queue

        reader = fordra.auth(Role.CASE_OFFICER)
        book = (
            await fordra.client.get(f"/api/v1/customers/{paid_by}/ledger", headers=reader)
        ).json()
        assert book["invoices"][0]["invoice_id"] == paid
        assert book["invoices"][0]["status"] == "paid"
        book = (
            await fordra.client.get(f"/api/v1/customers/{failed_for}/ledger", headers=reader)
        ).json()
        assert book["invoices"][0]["invoice_id"] == failed
        assert book["invoices"][0]["autogiro_failed"] is True
        assert book["invoices"][0]["open_ore"] == 300000

        # A mandate file is not a payment specification
        r = await fordra.client.post(
            "/api/v1/payment-files",
            content=MANDATES.read_bytes(),
            headers=fordra.auth(Role.BANK_INGEST),
        )
        assert r.status_code == 422
        assert "not a payment specification" in r.text or "medgivande" in r.text
