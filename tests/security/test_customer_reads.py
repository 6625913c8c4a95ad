"""Which customers a department reads (issue 10, left-overs of items 2 and 5), on both engines.

Registration answers a department the same for a new and a known person, so reading must not
undo that: a department reads a customer it registered or has booked a claim on, and gets a 404
as for an unknown id for any other (its record, its ledger, a change's answer); a PEPPOL file
naming another's customer by identity number is refused exactly as one naming nobody."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx

from fordra.kernel.auth import Role
from tests.utils.batches import UBL
from tests.utils.platform import Engine, Running, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Hemliga vägen 7", "postal_code": "512 50", "city": "Svenljunga"},
}
# The buyer of the PEPPOL document in tests.invoicing.test_batch (an aktiebolag).
BUYER = {
    "id_number": "556036-0793",
    "name": "Fastighets AB",
    "address": {"street": "Industrivägen 2", "postal_code": "512 50", "city": "Svenljunga"},
}
NOBODY = "00000000-0000-4000-8000-000000000000"


def invoice(customer_id: str, department: str, day: str = "2026-02-20") -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "department": department,
        "service_type": "other",
        "invoice_date": day,
        "lines": [{"description": "Barnomsorg", "unit_price_ore": 50000, "vat_rate": 0}],
    }


async def register(fordra: Running, person: dict[str, object], headers: dict[str, str]) -> str:
    r = await fordra.client.post("/api/v1/customers", json=person, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def reads(fordra: Running, customer_id: str, headers: dict[str, str]) -> list[httpx.Response]:
    c = fordra.client
    return [
        await c.get(f"/api/v1/customers/{customer_id}", headers=headers),
        await c.get(f"/api/v1/customers/{customer_id}/ledger", headers=headers),
        # A change answers the record: a department may not learn it that way either.
        await c.patch(
            f"/api/v1/customers/{customer_id}",
            json={"name": "Någon Annan", "reason": "prov"},
            headers=headers,
        ),
    ]


async def test_a_department_reads_only_customers_it_registered_or_invoiced(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        c = fordra.client
        water = fordra.auth(Role.DEPARTMENT, department="water")
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        # Given a person registered by the water department
        cid = await register(fordra, PERSON, water)
        # and the childcare department "registering" them again by number: the neutral answer
        assert await register(fordra, {**PERSON, "name": "Gissat Namn"}, childcare) == cid

        # When childcare reads them, their ledger, or changes them
        unknown = await reads(fordra, NOBODY, childcare)
        stranger = await reads(fordra, cid, childcare)
        # Then it is told exactly what an unknown id tells: 404, nothing of the person
        for seen, nobody in zip(stranger, unknown, strict=True):
            assert seen.status_code == nobody.status_code == 404, seen.text
            assert seen.text.replace(cid, "X") == nobody.text.replace(NOBODY, "X")
            assert "Hemliga" not in seen.text
            assert "Tolvan" not in seen.text
        # and the register's own department still reads them
        r = await c.get(f"/api/v1/customers/{cid}", headers=water)
        assert r.status_code == 200, r.text
        assert r.json()["address"]["street"] == "Hemliga vägen 7"
        r = await c.get(f"/api/v1/customers/{cid}/ledger", headers=water)
        assert r.status_code == 200, r.text
        assert r.json()["invoices"] == []

        # When childcare invoices them with the id its registration answered
        r = await c.post("/api/v1/invoices", json=invoice(cid, "childcare"), headers=childcare)
        assert r.status_code == 201, r.text
        # Then it reads the record it prints on its own invoice, and its part of the ledger
        r = await c.get(f"/api/v1/customers/{cid}", headers=childcare)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Tolvan Tolvansson"
        r = await c.get(f"/api/v1/customers/{cid}/ledger", headers=childcare)
        assert r.status_code == 200, r.text
        assert [i["department"] for i in r.json()["invoices"]] == ["childcare"]
        # but it still changes only what the registering department changes (403 now: it knows)
        r = await c.patch(
            f"/api/v1/customers/{cid}",
            json={"name": "Någon Annan", "reason": "prov"},
            headers=childcare,
        )
        assert r.status_code == 403, r.text

        # And a third department, with nothing to do with them, still gets 404
        culture = fordra.auth(Role.DEPARTMENT, department="culture")
        for r in await reads(fordra, cid, culture):
            assert r.status_code == 404, r.text
        # while the register's officers read every customer
        r = await c.get(f"/api/v1/customers/{cid}", headers=fordra.auth(Role.CASE_OFFICER))
        assert r.status_code == 200, r.text


async def test_a_peppol_buyer_is_found_only_among_the_departments_customers(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 5, 10)) as fordra:
        c = fordra.client
        water = fordra.auth(Role.DEPARTMENT, department="water")
        waste = fordra.auth(Role.DEPARTMENT, department="waste")
        xml = {"Content-Type": "application/xml"}

        async def send(headers: dict[str, str], document: str = UBL) -> httpx.Response:
            return await c.post(
                "/api/v1/invoice-batches", content=document.encode(), headers={**headers, **xml}
            )

        # Given a buyer nobody registered: the file is refused, naming the buyer
        unknown = await send(waste)
        assert unknown.status_code == 422, unknown.text
        # Given the buyer registered by the water department
        cid = await register(fordra, BUYER, water)
        # When waste sends the same file: the same refusal, word for word
        hidden = await send(waste)
        assert hidden.status_code == 422, hidden.text
        assert hidden.json()["errors"] == unknown.json()["errors"]
        assert "customer_id" in {e["field"] for e in hidden.json()["errors"]}
        assert cid not in hidden.text

        # When waste has invoiced the buyer once by the id its registration answered
        assert await register(fordra, BUYER, waste) == cid
        r = await c.post(
            "/api/v1/invoices", json=invoice(cid, "waste", "2026-05-04"), headers=waste
        )
        assert r.status_code == 201, r.text
        # Then its PEPPOL file finds them and is booked
        booked = await send(waste)
        assert booked.status_code == 201, booked.text
        assert booked.json()["invoices"] == 1
        assert booked.json()["lines"][0]["invoice"]["customer_id"] == cid
        # And the registering department's own file finds them at once
        second = UBL.replace("VA-2026-0042", "VA-2026-0043").replace("1234574", "1234673")
        own = await send(water, second)
        assert own.status_code == 201, own.text
        assert own.json()["lines"][0]["invoice"]["customer_id"] == cid
