"""Invoice batches from departmental systems, accepted or rejected whole (issue: invoicing)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.utils.platform import Engine, Running, record_ownership, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
JSONL = {"Content-Type": "application/x-ndjson"}


def line(customer_id: str, n: int, vat_rate: int = 25) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": "waste",
        "service_type": "waste",
        "invoice_date": "2026-03-02",
        "source_reference": f"REN-{n}",
        # each emptying for a property of its own: the owner is liable, one invoice per period
        "property_designation": f"Svenljunga Kyrkan 1:{n}",
        "lines": [{"description": f"Tömning {n}", "unit_price_ore": 40000, "vat_rate": vat_rate}],
    }


def ndjson(*bodies: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(b) for b in bodies).encode()


async def setup(fordra: Running, person: dict[str, Any] = PERSON) -> str:
    """A customer who owns properties 1:1 to 1:3 (line(cid, n) bills property 1:n)."""
    r = await fordra.client.post("/api/v1/customers", json=person, headers=fordra.auth())
    cid = str(r.json()["customer_id"])
    for n in (1, 2, 3):
        await record_ownership(fordra, cid, property_designation=f"Svenljunga Kyrkan 1:{n}")
    return cid


async def test_a_batch_is_booked_whole_and_once(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        cid = await setup(fordra)
        waste = {**fordra.auth(Role.DEPARTMENT, department="waste"), **JSONL}
        store = fordra.platform.stores["invoicing"]
        data = ndjson(line(cid, 1), line(cid, 2), line(cid, 3))
        r = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=waste)
        assert r.status_code == 201, r.text
        assert r.json()["invoices"] == 3
        assert r.json()["total_ore"] == 3 * 50000
        numbers = [x["invoice"]["invoice_number"] for x in r.json()["lines"]]
        assert numbers == ["00000001", "00000002", "00000003"]
        after = await store.max_position()
        # The same batch again changes nothing
        again = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=waste)
        assert again.status_code == 201
        assert again.json() == r.json()
        assert await store.max_position() == after
        book = await fordra.client.get(
            f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert book.json()["balance_ore"] == 150000


async def test_one_bad_line_rejects_the_batch(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        cid = await setup(fordra)
        admin = {**fordra.auth(), **JSONL}
        store = fordra.platform.stores["invoicing"]
        before = await store.max_position()
        # A VAT rate that is not valid on the date, on line 2
        data = ndjson(line(cid, 1), line(cid, 2, vat_rate=20), line(cid, 3))
        r = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["line"] == 2
        assert r.json()["errors"][0]["field"] == "lines.0.vat_rate"
        # A customer that does not exist, on line 3 (found when issuing, not when parsing)
        unknown = {**line(cid, 3), "customer_id": "no-such-customer"}
        data = ndjson(line(cid, 1), line(cid, 2), unknown)
        r = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"line": 3, "field": "customer_id", "message": r.json()["errors"][0]["message"]}
        ]
        assert await store.max_position() == before
        # A department publishes only for itself
        water = {**fordra.auth(Role.DEPARTMENT, department="water"), **JSONL}
        r = await fordra.client.post(
            "/api/v1/invoice-batches", content=ndjson(line(cid, 1)), headers=water
        )
        assert r.status_code == 403
        assert await store.max_position() == before


async def test_a_csv_batch(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        cid = await setup(fordra)
        csv = (
            "customer_id;department;service_type;invoice_date;source_reference;description;"
            "quantity;unit_price_ore;vat_rate\n"
            f"{cid};water;water;2026-03-02;VA-1;Vatten m³;12,5;2890;25\n"
            f"{cid};water;water;2026-03-02;VA-1;Fast avgift;1;45000;25\n"
        ).encode()
        r = await fordra.client.post(
            "/api/v1/invoice-batches",
            content=csv,
            headers={**fordra.auth(), "Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        # 12.5 x 28.90 = 361.25 kr + 450 kr = 811.25 kr, + 25 % VAT = 1,014.06 kr
        assert r.json()["total_ore"] == 101406


async def test_small_amounts_in_a_batch_do_not_depend_on_line_order(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        admin = {**fordra.auth(), **JSONL}
        for order in ("small last", "small first"):
            # Given a customer with a 1,200 kr and a 45 kr invoice in one batch (domain.md §2)
            number = "196501022773" if order == "small last" else "196501133372"
            cid = await setup(fordra, {**PERSON, "id_number": number})
            big, small = line(cid, 1), line(cid, 2)
            # each round's own invoices: a department books a source_reference once
            big["source_reference"] += f" {order}"
            small["source_reference"] += f" {order}"
            big["lines"][0]["unit_price_ore"] = 96000  # 960 kr + 25 % = 1,200 kr
            small["lines"][0]["unit_price_ore"] = 3600  # 36 kr + 25 % = 45 kr
            batch = [big, small] if order == "small last" else [small, big]
            # When the batch comes
            r = await fordra.client.post(
                "/api/v1/invoice-batches", content=ndjson(*batch), headers=admin
            )
            # Then it makes one invoice of 1,245 kr, whichever line came first
            assert r.status_code == 201, r.text
            assert (r.json()["invoices"], r.json()["total_ore"]) == (1, 124500), order
            assert [x["line"] for x in r.json()["lines"]] == [1, 2]
            book = await fordra.client.get(
                f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
            )
            assert book.json()["held_small_amounts"] == [], order
            assert book.json()["balance_ore"] == 124500, order
