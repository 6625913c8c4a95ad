"""Hostile input without a 500 (issue 10, item 4): every input outside its domain is a 4xx that
names the field, in FastAPI's shape ``{"detail": [{"loc", "msg", "type"}]}``, and nothing of it is
written. Each case answered 500 before (or, for the clock, held the request for hours)."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from fordra.kernel.auth import Role
from tests.utils.platform import Engine, Running, record_ownership, running_platform

TODAY = date(2026, 1, 20)
CUSTOMER = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
LINE = {"description": "Vatten", "quantity": 1, "unit_price_ore": 125000, "vat_rate": 25}
JSON = {"Content-Type": "application/json"}


def invoice(customer_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": "water",
        "service_type": "water",
        "invoice_date": "2026-01-15",
        "lines": [LINE],
        **changes,
    }


def refused(r: httpx.Response, *loc: str | int) -> dict[str, Any]:
    """The answer is a 422 with an entry whose ``loc`` is ``loc``; answers that entry."""
    assert r.status_code == 422, r.text
    for entry in r.json()["detail"]:
        if tuple(entry["loc"]) == loc:
            assert entry["msg"]
            assert entry["type"]
            return dict(entry)
    raise AssertionError(f"no problem at {loc}: {r.text}")


async def customer(fordra: Running) -> str:
    r = await fordra.client.post("/api/v1/customers", json=CUSTOMER, headers=fordra.auth())
    assert r.status_code == 201, r.text
    customer_id = str(r.json()["customer_id"])
    await record_ownership(fordra, customer_id)
    return customer_id


async def positions(fordra: Running) -> dict[str, int]:
    return {name: await s.max_position() for name, s in fordra.platform.stores.items()}


async def test_invoice_dates_outside_the_calendar_or_the_window(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        customer_id = await customer(fordra)
        water = fordra.auth(Role.DEPARTMENT, department="water")
        before = await positions(fordra)
        post = fordra.client.post
        # 9999-12-31 overflowed the due-date arithmetic (500); 0001-01-01 has no dated settings
        for day in ("9999-12-31", "0001-01-01"):
            body = invoice(customer_id, invoice_date=day)
            refused(
                await post("/api/v1/invoices", json=body, headers=water), "body", "invoice_date"
            )
        # A date within the calendar but far ahead of the business date: the terms would start
        # whenever the department likes (a dated setting, max_forward_dating_days)
        body = invoice(customer_id, invoice_date="2026-06-01")
        r = await post("/api/v1/invoices", json=body, headers=water)
        assert refused(r, "body", "invoice_date")["type"] == "invoice_not_postdated"
        # The same in a batch names the line and the field
        r = await post(
            "/api/v1/invoice-batches",
            content=json.dumps(invoice(customer_id, invoice_date="9999-12-31")).encode(),
            headers={**water, "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 422, r.text
        assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(1, "invoice_date")]
        assert await positions(fordra) == before
        # A month ahead is still fine
        body = invoice(customer_id, invoice_date="2026-02-19")
        assert (await post("/api/v1/invoices", json=body, headers=water)).status_code == 201


async def test_amounts_that_no_store_can_hold(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        customer_id = await customer(fordra)
        water = fordra.auth(Role.DEPARTMENT, department="water")
        before = await positions(fordra)
        # 10^30 failed in the event encoder (500); 2^63 was stored and then stopped every
        # projection that read it (a signed 64-bit column)
        # true was read as 1 öre and booked (found by probing over HTTP)
        for price in (10**30, 2**63, -(2**63) - 1, True, False):
            body = invoice(customer_id, lines=[{**LINE, "unit_price_ore": price}])
            r = await fordra.client.post("/api/v1/invoices", json=body, headers=water)
            refused(r, "body", "lines", 0, "unit_price_ore")
        # Each fits, their product does not: refused naming the line, before anything is written
        big = {**LINE, "quantity": "999999999", "unit_price_ore": 2**62}
        r = await fordra.client.post(
            "/api/v1/invoices", json=invoice(customer_id, lines=[big]), headers=water
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"][:3] == ["body", "lines", 0]
        # A refund of more than any store holds
        r = await fordra.client.post(
            f"/api/v1/customers/{customer_id}/credit/refunds",
            json={"amount_ore": 10**30, "reason": "Återbetalning"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        refused(r, "body", "amount_ore")
        r = await fordra.client.post(
            f"/api/v1/customers/{customer_id}/credit/refunds",
            json={"amount_ore": True, "reason": "Återbetalning"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        refused(r, "body", "amount_ore")
        assert await positions(fordra) == before
        # And the read side still answers for everyone
        r = await fordra.client.get(
            f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text


async def test_bodies_that_are_not_json(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        customer_id = await customer(fordra)
        admin = {**fordra.auth(), **JSON}
        before = await positions(fordra)
        valid = json.dumps(invoice(customer_id))
        # NaN and Infinity are Python's, not JSON's: FastAPI took them and then failed to echo
        # them back in its 422 (500)
        for constant in ("NaN", "Infinity", "-Infinity"):
            raw = valid.replace('"quantity": 1', f'"quantity": {constant}')
            r = await fordra.client.post("/api/v1/invoices", content=raw, headers=admin)
            assert r.status_code == 422, r.text
            [entry] = r.json()["detail"]
            # the place is the character where the body stops being JSON
            assert entry["loc"][0] == "body"
            assert raw.index(constant) <= entry["loc"][1] <= raw.index(constant) + 1
            assert entry["type"] == "json_invalid"
        # A lone surrogate is not text: escaped in JSON, or as the raw bytes UTF-8 forbids
        escaped = json.dumps({**CUSTOMER, "name": "Tolvan X"}).replace(" X", " \\ud800")
        raw_bytes = json.dumps({**CUSTOMER, "name": "Tolvan X"}).encode()
        raw_bytes = raw_bytes.replace(b" X", b" \xed\xa0\x80")
        for body in (escaped.encode(), raw_bytes):
            r = await fordra.client.post("/api/v1/customers", content=body, headers=admin)
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"][0] == "body"
            assert r.json()["detail"][0]["type"] == "json_invalid"
        # Bytes that are not UTF-8, sent as something else than JSON: FastAPI's handler failed
        # to echo them (500)
        r = await fordra.client.post(
            "/api/v1/customers",
            content=b"\xff\xfe",
            headers={**fordra.auth(), "Content-Type": "text/plain"},
        )
        refused(r, "body")
        # Nesting deeper than any request needs
        r = await fordra.client.post("/api/v1/customers", content=b"[" * 5000, headers=admin)
        assert r.status_code == 422, r.text
        assert await positions(fordra) == before


async def test_text_with_control_characters(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        admin = fordra.auth()
        before = await positions(fordra)
        post = fordra.client.post
        # NUL cannot be stored in PostgreSQL text; an escape sequence has no place on a letter
        for name in ("Tolvan\x00", "Tolvan \x1b[31mTolvansson", "Tol\x85van"):
            r = await post("/api/v1/customers", json={**CUSTOMER, "name": name}, headers=admin)
            assert refused(r, "body", "name")["type"] == "text_control_character"
        address = {**CUSTOMER["address"], "street": "Storgatan\x001"}  # type: ignore[dict-item]
        r = await post("/api/v1/customers", json={**CUSTOMER, "address": address}, headers=admin)
        refused(r, "body", "address", "street")
        assert await positions(fordra) == before
        # Free text keeps its line breaks
        customer_id = await customer(fordra)
        r = await fordra.client.patch(
            f"/api/v1/customers/{customer_id}",
            json={"name": "Tolvan Tolvansson", "reason": "Ny uppgift\nfrån Skatteverket"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        # A NUL smuggled into a path id is refused as the path's, not looked up
        r = await fordra.client.get("/api/v1/customers/%00abc/ledger", headers=admin)
        refused(r, "path", "customer_id")


async def test_the_clock_advances_a_bounded_step(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        admin = fordra.auth()
        advance = "/api/v1/admin/clock/advance"
        started = time.monotonic()
        # 9999-12-31 ran every day's work up to it before answering (hours)
        r = await fordra.client.post(advance, json={"to": "9999-12-31"}, headers=admin)
        refused(r, "body", "to")
        # Within the calendar but more than a step (clock_max_advance_days, 400 by default)
        r = await fordra.client.post(advance, json={"to": "2027-03-01"}, headers=admin)
        assert refused(r, "body", "to")["type"] == "clock_advance_bounded"
        assert time.monotonic() - started < 5
        assert fordra.platform.clock.today() == TODAY
        # A step within the bound runs
        r = await fordra.client.post(advance, json={"to": "2026-02-20"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["today"] == "2026-02-20"


async def test_a_committed_batch_answers_while_the_read_models_catch_up(
    engine: Engine, tmp_path: Path
) -> None:
    # Given read models that will not catch up within the batch's wait (none at all here); a
    # batch of thousands waited the whole settle timeout and then answered 503 (54 s).
    async with running_platform(engine, tmp_path, today=TODAY, file_settle_seconds=0.0) as fordra:
        customer_id = await customer(fordra)
        water = {
            **fordra.auth(Role.DEPARTMENT, department="water"),
            "Content-Type": "application/x-ndjson",
        }
        lines = [
            invoice(customer_id, service_type="other", source_reference=f"B-{n}") for n in range(3)
        ]
        data = "\n".join(json.dumps(b) for b in lines).encode()
        # When the batch is committed
        r = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=water)
        # Then it answers its result at once, saying the read models are still catching up
        assert r.status_code == 201, r.text
        assert r.headers["Read-Models-Lagging"] == "true"
        assert r.json()["invoices"] == 3
        # and the ledger shows all of it once they have
        await fordra.platform.settle()
        r = await fordra.client.get(
            f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert len(r.json()["invoices"]) == 3


async def test_a_long_idempotency_key(engine: Engine, tmp_path: Path) -> None:
    # Found by the API fuzzer on PostgreSQL: a 200-character key plus its caller's scope did not
    # fit the store's key column (500).
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        customer_id = await customer(fordra)
        water = fordra.auth(Role.DEPARTMENT, department="water")
        r = await fordra.client.post("/api/v1/invoices", json=invoice(customer_id), headers=water)
        assert r.status_code == 201, r.text
        cancel = f"/api/v1/invoices/{r.json()['invoice_id']}/cancellation"
        before = await positions(fordra)
        r = await fordra.client.post(
            cancel, json={"reason": "Fel kund"}, headers={**water, "Idempotency-Key": "k" * 101}
        )
        refused(r, "header", "Idempotency-Key")
        assert await positions(fordra) == before
        r = await fordra.client.post(
            cancel, json={"reason": "Fel kund"}, headers={**water, "Idempotency-Key": "k" * 100}
        )
        assert r.status_code == 202, r.text


async def test_a_parked_event_id_beyond_64_bits(engine: Engine, tmp_path: Path) -> None:
    # Found by the API fuzzer: an id above 2^63 reached the driver (OverflowError, a 500); the
    # row id is an INTEGER, 32 bits on PostgreSQL
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        ops = fordra.auth(Role.OPS_LEAD)
        for parked_id in (2**70, 2**63, 2**31, 0, -1):
            r = await fordra.client.post(
                f"/api/v1/admin/parked-events/{parked_id}/replay", headers=ops
            )
            refused(r, "path", "parked_id")
        r = await fordra.client.post(f"/api/v1/admin/parked-events/{2**31 - 1}/replay", headers=ops)
        assert r.status_code == 404, r.text
