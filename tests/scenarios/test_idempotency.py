"""Idempotency that means "the same request" (issue 10, item 3, and the idempotency table of item
2), on both engines: what the idempotency table keeps, keys scoped per caller, a batch booked once
by its content and a line once by its source_reference, and parallel requests with one key."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from fordra.kernel.auth import Role
from fordra.kernel.eventstore import EventStore
from fordra.kernel.postgres_eventstore import PostgresEventStore, asyncpg_dsn
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from tests.utils.money import customer, ledger, pay, queue
from tests.utils.platform import PROPERTY, Engine, Running, record_ownership, running_platform

TODAY = date(2026, 3, 2)
PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
SECRET_ADDRESS = {"street": "Hemliga vägen 7", "postal_code": "512 99", "city": "Mjöbäck"}
JSONL = {"Content-Type": "application/x-ndjson"}


async def idempotency_rows(store: EventStore) -> list[tuple[str, str, bytes]]:
    """The idempotency table as it lies on disk (SQLite file) or in the database."""
    if isinstance(store, SqliteEventStore):
        with sqlite3.connect(store.path) as conn:
            rows = conn.execute("SELECT key, fingerprint, response FROM idempotency").fetchall()
        return [(k, f, bytes(r)) for k, f, r in rows]
    assert isinstance(store, PostgresEventStore)
    conn = await asyncpg.connect(asyncpg_dsn(store.url))
    try:
        found = await conn.fetch(
            f"SELECT key, fingerprint, response FROM {store.schema}.idempotency"
        )
    finally:
        await conn.close()
    return [(r[0], r[1], bytes(r[2])) for r in found]


async def table_bytes(fordra: Running) -> bytes:
    rows = []
    for store in fordra.platform.stores.values():
        rows.extend(await idempotency_rows(store))
    assert rows, "the requests left idempotency records"
    return b"\n".join(k.encode() + f.encode() + r for k, f, r in rows)


async def count_events(fordra: Running, context: str, event_type: str, prefix: str = "") -> int:
    store = fordra.platform.stores[context]
    log = await store.read_log(0, 1_000_000)
    return sum(1 for e in log if e.event_type == event_type and e.stream_id.startswith(prefix))


# -- what the table keeps ------------------------------------------------------------------------


async def test_the_idempotency_table_keeps_no_personal_data(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        c = fordra.client
        admin = fordra.auth()
        # Given a person registered, and moved to a new address, each with a key
        r = await c.post(
            "/api/v1/customers", json=PERSON, headers={**admin, "Idempotency-Key": "reg-tolvan"}
        )
        assert r.status_code == 201, r.text
        cid = r.json()["customer_id"]
        base = f"/api/v1/customers/{cid}"
        move = {"address": SECRET_ADDRESS, "reason": "flyttat"}
        moved = {**admin, "Idempotency-Key": "move-tolvan"}
        r = await c.patch(base, json=move, headers=moved)
        assert r.status_code == 200, r.text
        assert r.json()["address"]["street"] == "Hemliga vägen 7"

        # Then the idempotency table holds none of it: no name, number, address, nor the keys
        stored = await table_bytes(fordra)
        for secret in (
            "Tolvan",
            "19121212",
            "121212-1212",
            "191212121212",
            "Storgatan",
            "Hemliga",
            "Mjöbäck",
            "512 99",
            "reg-tolvan",
            "move-tolvan",
        ):
            assert secret.encode() not in stored, secret

        # When the person gets a protected identity
        protect = {"protected": True, "kind": "skyddad_folkbokforing", "reason": "beslut från SKV"}
        r = await c.put(
            f"{base}/protected-identity",
            json=protect,
            headers=fordra.auth(Role.PROTECTED_IDENTITY_OFFICER),
        )
        assert r.status_code == 200, r.text
        # Then the move, asked again with its key, is a replay that no longer shows the secret
        # address or the name
        r = await c.patch(base, json=move, headers=moved)
        assert r.status_code == 200, r.text
        assert r.headers["Idempotent-Replayed"] == "true"
        assert r.json()["customer_id"] == cid
        assert r.json()["protected_identity"] is True
        assert (r.json()["name"], r.json()["address"], r.json()["id_number"]) == (None,) * 3
        assert "Hemliga" not in r.text
        assert "Tolvan" not in r.text
        # and the registration's replay answers the same customer
        r = await c.post(
            "/api/v1/customers", json=PERSON, headers={**admin, "Idempotency-Key": "reg-tolvan"}
        )
        assert r.status_code == 201, r.text
        assert r.headers["Idempotent-Replayed"] == "true"
        assert r.json()["customer_id"] == cid

        # Given another person, moved with a key (not protected: the answer shows the address)
        other = {**PERSON, "id_number": "196501022773", "name": "Sven Svensson"}
        oid = await customer(fordra, other)
        headers = {**admin, "Idempotency-Key": "move-sven"}
        r = await c.patch(f"/api/v1/customers/{oid}", json=move, headers=headers)
        assert r.json()["name"] == "Sven Svensson"
        # When the person is forgotten (their key deleted)
        fordra.platform.keyring.forget(oid)
        # Then the replay shows nothing personal
        r = await c.patch(f"/api/v1/customers/{oid}", json=move, headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["Idempotent-Replayed"] == "true"
        assert (r.json()["name"], r.json()["address"], r.json()["id_number"]) == (None,) * 3
        assert "Sven" not in r.text


# -- keys per caller -----------------------------------------------------------------------------


def childcare(customer_id: str, department: str, ore: int, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": department,
        "service_type": "childcare",
        "invoice_date": "2026-03-02",
        "lines": [{"description": "Avgift", "unit_price_ore": ore, "vat_rate": 0}],
        **extra,
    }


async def test_keys_are_scoped_per_caller(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        c = fordra.client
        cid = await customer(fordra)
        # Given two departments whose systems both number their requests from 1
        school = {**fordra.auth(Role.DEPARTMENT, department="school"), "Idempotency-Key": "1"}
        culture = {**fordra.auth(Role.DEPARTMENT, department="culture"), "Idempotency-Key": "1"}
        # When each sends its own invoice with the same key
        a = await c.post("/api/v1/invoices", json=childcare(cid, "school", 10000), headers=school)
        b = await c.post("/api/v1/invoices", json=childcare(cid, "culture", 20000), headers=culture)
        # Then each gets its own invoice, neither a replay nor a refusal
        assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
        assert a.json()["invoice_id"] != b.json()["invoice_id"]
        assert (a.json()["total_ore"], b.json()["total_ore"]) == (10000, 20000)
        assert "Idempotent-Replayed" not in b.headers
        # And each disputing its own invoice with the same key is each one's own: the second is
        # done, not answered with (or refused for) the first department's stored answer
        dispute = {"reason": "kunden bestrider"}
        school["Idempotency-Key"] = culture["Idempotency-Key"] = "2"
        aid, bid = a.json()["invoice_id"], b.json()["invoice_id"]
        r1 = await c.post(f"/api/v1/invoices/{aid}/dispute", json=dispute, headers=school)
        r2 = await c.post(f"/api/v1/invoices/{bid}/dispute", json=dispute, headers=culture)
        assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
        assert "Idempotent-Replayed" not in r2.headers
        assert await count_events(fordra, "invoicing", "InvoiceDisputed") == 2
        # And two officers of one role are two callers; the same officer again is a replay
        one = {**fordra.auth(Role.CASE_OFFICER, subject="anna"), "Idempotency-Key": "x"}
        two = {**fordra.auth(Role.CASE_OFFICER, subject="bo"), "Idempotency-Key": "x"}
        r1 = await c.post("/api/v1/invoices", json=childcare(cid, "school", 30000), headers=one)
        r2 = await c.post("/api/v1/invoices", json=childcare(cid, "school", 40000), headers=two)
        assert (r1.status_code, r2.status_code) == (201, 201), (r1.text, r2.text)
        r3 = await c.post("/api/v1/invoices", json=childcare(cid, "school", 30000), headers=one)
        assert r3.headers["Idempotent-Replayed"] == "true"
        assert r3.json() == r1.json()
        # but the same officer's key with another body is refused, naming the header
        r4 = await c.post("/api/v1/invoices", json=childcare(cid, "school", 99900), headers=one)
        assert r4.status_code == 422, r4.text
        assert r4.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 4


# -- a batch once by its content, a line once by its source_reference -----------------------------


def waste_line(customer_id: str, n: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": "waste",
        "service_type": "waste",
        "invoice_date": "2026-03-02",
        "source_reference": f"REN-{n}",
        "property_designation": f"{PROPERTY[:-1]}{n}",
        "lines": [{"description": f"Tömning {n}", "unit_price_ore": 40000, "vat_rate": 25}],
    }


def ndjson(*bodies: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(b) for b in bodies).encode()


async def owner(fordra: Running, id_number: str = PERSON["id_number"]) -> str:
    cid = await customer(fordra, {**PERSON, "id_number": id_number})
    for n in range(1, 10):
        await record_ownership(fordra, cid, property_designation=f"{PROPERTY[:-1]}{n}")
    return cid


async def test_a_batch_is_booked_once_by_its_content(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await owner(fordra)
        data = ndjson(waste_line(cid, 1), waste_line(cid, 2), waste_line(cid, 3))
        # When the same 3-invoice file comes 5 times, under other keys and from other roles
        senders = [
            {**fordra.auth(Role.DEPARTMENT, department="waste"), "Idempotency-Key": "a"},
            {**fordra.auth(Role.DEPARTMENT, department="waste"), "Idempotency-Key": "b"},
            {**fordra.auth(Role.DEPARTMENT, department="waste", subject="system-2")},
            {**fordra.auth(Role.CASE_OFFICER), "Idempotency-Key": "a"},
            {**fordra.auth(Role.ADMIN), "Idempotency-Key": "c"},
        ]
        answers = [
            await fordra.client.post(
                "/api/v1/invoice-batches", content=data, headers={**h, **JSONL}
            )
            for h in senders
        ]
        # Then it is booked once: 3 invoices, and every later answer is the first result
        assert [r.status_code for r in answers] == [201] * 5, [r.text for r in answers]
        assert answers[0].json()["invoices"] == 3
        assert all(r.json() == answers[0].json() for r in answers)
        assert [r.headers.get("Idempotent-Replayed") for r in answers] == [None] + ["true"] * 4
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 3
        assert (await ledger(fordra, cid))["balance_ore"] == 3 * 50000

        # When another file comes 5 times at once
        data = ndjson(waste_line(cid, 4), waste_line(cid, 5), waste_line(cid, 6))
        waste = fordra.auth(Role.DEPARTMENT, department="waste")

        async def send(n: int) -> httpx.Response:
            await asyncio.sleep(0.004 * (n % 3))  # some together, some while one commits
            return await fordra.client.post(
                "/api/v1/invoice-batches",
                content=data,
                headers={**waste, **JSONL, "Idempotency-Key": f"p{n}"},
            )

        answers = await asyncio.gather(*(send(n) for n in range(5)))
        # Then it too is booked once
        assert [r.status_code for r in answers] == [201] * 5, [r.text for r in answers]
        assert all(r.json() == answers[0].json() for r in answers)
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 6

        # When a file with other bytes carries a line booked before, and a new one
        first = next(x for x in answers[0].json()["lines"] if x["line"] == 1)["invoice"]
        again = waste_line(cid, 4)
        again["lines"][0]["description"] = "Tömning 4 (skickad igen)"
        r = await fordra.client.post(
            "/api/v1/invoice-batches",
            content=ndjson(again, waste_line(cid, 7)),
            headers={**waste, **JSONL},
        )
        # Then the new line is booked, and the old one reported as booked, naming its invoice
        assert r.status_code == 201, r.text
        assert (r.json()["invoices"], r.json()["already_booked"]) == (1, 1)
        old, new = r.json()["lines"]
        assert old["already_booked"] is True
        assert old["existing_id"] == first["invoice_id"]
        assert old["invoice"] is None
        assert new["invoice"]["invoice_id"] not in {first["invoice_id"]}
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 7

        # And an invoice sent alone with a source_reference booked in a batch is refused (409)
        r = await fordra.client.post("/api/v1/invoices", json=waste_line(cid, 5), headers=waste)
        assert r.status_code == 409, r.text
        assert r.json()["field"] == "source_reference"
        assert r.json()["existing_id"] in {
            x["invoice"]["invoice_id"] for x in answers[0].json()["lines"]
        }
        # while another department's same reference is its own
        school = fordra.auth(Role.DEPARTMENT, department="school")
        r = await fordra.client.post(
            "/api/v1/invoices",
            json=childcare(cid, "school", 10000, source_reference="REN-5"),
            headers=school,
        )
        assert r.status_code == 201, r.text
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 8


# -- parallel requests with one key --------------------------------------------------------------


async def same_request_8_times(
    fordra: Running, method: str, url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    async def send(n: int) -> httpx.Response:
        # A few milliseconds apart, so that some decide while the first is being committed and
        # some after it committed, besides those that come together.
        await asyncio.sleep(0.004 * (n % 4))
        return await fordra.client.request(method, url, json=body, headers=headers)

    answers = await asyncio.gather(*(send(n) for n in range(8)))
    codes = {r.status_code for r in answers}
    assert len(codes) == 1, [(r.status_code, r.text) for r in answers]
    assert all(r.json() == answers[0].json() for r in answers), [r.text for r in answers]
    return list(answers)


async def test_parallel_requests_with_one_key_do_it_once(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        admin = fordra.auth()
        # A customer's registration, 8 at once with one key: one customer, 8 equal answers
        answers = await same_request_8_times(
            fordra, "POST", "/api/v1/customers", PERSON, {**admin, "Idempotency-Key": "reg"}
        )
        assert answers[0].status_code == 201
        assert await count_events(fordra, "invoicing", "CustomerRegistered") == 1
        cid = answers[0].json()["customer_id"]

        # An invoice, 8 at once with one key: one invoice
        answers = await same_request_8_times(
            fordra,
            "POST",
            "/api/v1/invoices",
            childcare(cid, "childcare", 20000, source_reference="BO-1"),
            {**admin, "Idempotency-Key": "inv"},
        )
        assert answers[0].status_code == 201
        assert await count_events(fordra, "invoicing", "InvoiceIssued") == 1

        # Given 500 kr paid on the 200 kr invoice (300 kr credit) and 400 kr nobody claims
        await pay(fordra, (answers[0].json()["ocr"], 50000), (None, 40000))
        assert (await ledger(fordra, cid))["credit_ore"] == 30000
        (waiting,) = await queue(fordra)
        officer = fordra.auth(Role.CASE_OFFICER, subject="anna")

        # A refund of the credit, 8 at once with one key: one refund
        answers = await same_request_8_times(
            fordra,
            "POST",
            f"/api/v1/customers/{cid}/credit/refunds",
            {"reason": "återbetalning"},
            {**officer, "Idempotency-Key": "refund"},
        )
        assert answers[0].status_code == 201
        assert answers[0].json()["amount_ore"] == 30000
        # A refund of the unclaimed payment, 8 at once with one key: one refund
        answers = await same_request_8_times(
            fordra,
            "POST",
            f"/api/v1/payments/{waiting['payment_id']}/resolution",
            {"action": "refund", "reason": "okänd betalare"},
            {**officer, "Idempotency-Key": "resolve"},
        )
        assert answers[0].status_code == 200
        assert answers[0].json()["refund_id"]
        assert await count_events(fordra, "payments", "RefundRequested", "refund-") == 2
