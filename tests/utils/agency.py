"""Factories for the agency gateway's tests: a claim handed over through dunning's flow over HTTP,
and webhooks signed as the agency signs them (issue 15)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from fordra.agency_gateway.domain.webhook import SIGNATURE_HEADER, signature_of
from fordra.kernel.auth import Role
from tests.utils.platform import Running

# The reference agency's webhook secret in these tests (FORDRA_AGENCY_REFERENCE_SECRET in life).
SECRET = "the-reference-agencys-test-secret-0123456789"
AGENCY_SETTINGS: dict[str, Any] = {"secrets": {"reference": SECRET}}

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def advance(fordra: Running, to: str) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def _pending(fordra: Running, invoice_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        "/api/v1/dunning/proposals",
        params={"status": "pending"},
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text
    (proposal,) = [p for p in r.json()["items"] if p["invoice_id"] == invoice_id]
    return dict(proposal)


async def _approve(fordra: Running, proposal_id: str) -> None:
    r = await fordra.client.post(
        f"/api/v1/dunning/proposals/{proposal_id}/approve",
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text


async def handed_over(fordra: Running) -> dict[str, Any]:
    """An invoice of 1,000 kr dated 2026-03-02 (the clock must stand there), due 2026-04-01,
    reminded on 2026-04-08 and handed to the agency on 2026-04-21 (seed 001's model, as in
    tests/scenarios/test_dunning_flow.py). Answers the invoice with its ``case_id``."""
    r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    body = {
        "customer_id": customer_id,
        "department": "fastighet",
        "service_type": "premises_rent",
        "invoice_date": "2026-03-02",
        "lines": [{"description": "Lokalhyra mars", "unit_price_ore": 80000, "vat_rate": 25}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    invoice: dict[str, Any] = r.json()
    await advance(fordra, "2026-04-08")
    await _approve(fordra, (await _pending(fordra, invoice["invoice_id"]))["proposal_id"])
    await advance(fordra, "2026-04-21")
    handover = await _pending(fordra, invoice["invoice_id"])
    assert handover["kind"] == "handover"
    await _approve(fordra, handover["proposal_id"])
    await fordra.platform.settle()
    cases = await list_cases(fordra)
    (case,) = [c for c in cases if c["invoice_id"] == invoice["invoice_id"]]
    return {**invoice, "case_id": case["case_id"]}


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    return raw, {SIGNATURE_HEADER: signature_of(raw, secret), "Content-Type": "application/json"}


async def webhook(
    fordra: Running,
    body: dict[str, Any],
    *,
    secret: str = SECRET,
    agency: str = "reference",
) -> httpx.Response:
    raw, headers = signed(body, secret)
    return await fordra.client.post(
        f"/api/v1/agency/webhooks/{agency}", content=raw, headers=headers
    )


async def report(fordra: Running, body: dict[str, Any]) -> dict[str, Any]:
    r = await webhook(fordra, body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def list_cases(fordra: Running, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    r = await fordra.client.get(
        "/api/v1/agency/cases", params=params, headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def list_tasks(fordra: Running) -> list[dict[str, Any]]:
    r = await fordra.client.get("/api/v1/agency/tasks", headers=fordra.auth(Role.CASE_OFFICER))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def ledger_row(fordra: Running, customer_id: str, invoice_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    (row,) = [i for i in r.json()["invoices"] if i["invoice_id"] == invoice_id]
    return dict(row)
