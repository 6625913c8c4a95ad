"""What a request or a bank file carries fits the read models' columns on both engines (issue 10,
item 1: a request must not create an event a projection cannot apply).

SQLite ignores a VARCHAR's length, PostgreSQL refuses a longer value: an event that the embedded
engine projected was parked on the distributed one. Found by probing over HTTP: a department
token of 64 dotted capitals ("İ") lowers to 128 characters, and a camt.054 reference is not
bounded by the parser."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.money import customer, queue
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 2, 20)


async def parked(fordra: Running) -> list[object]:
    r = await fordra.client.get("/api/v1/admin/parked-events", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    events: list[object] = r.json()["events"]
    return events


async def test_a_department_that_lowers_beyond_its_length_is_refused_naming_it(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        before = {name: await s.max_position() for name, s in fordra.platform.stores.items()}
        body = {
            "customer_id": cid,
            # 64 characters as sent, 128 once lowered ("İ".lower() is "i" and a combining dot)
            "department": "İ" * 64,
            "service_type": "childcare",
            "invoice_date": "2026-02-20",
            "lines": [{"description": "Barnomsorg", "unit_price_ore": 10000, "vat_rate": 0}],
        }
        r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "department"]
        after = {name: await s.max_position() for name, s in fordra.platform.stores.items()}
        assert after == before
        # A department of Swedish letters is still one
        body["department"] = "Vård"
        r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
        assert r.status_code == 201, r.text
        assert await parked(fordra) == []


async def test_a_payment_with_a_long_reference_waits_in_the_queue_and_nothing_is_parked(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        await customer(fordra)
        reference = "RF" + "A" * 148  # ISO 20022 says at most 35; a bank file may say more
        data = camt054(
            Entry(
                amount="10.00",
                acct_svcr_ref="N-LONG",
                txs=(Tx(amount="10.00", acct_svcr_ref="T-LONG", scor=(reference,)),),
            ),
            msg_id="F-LONG",
        )
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code == 201, r.text
        assert r.json()["unmatched"] == 1
        # The payment waits in the queue, its reference shown as far as the column holds it
        [item] = await queue(fordra)
        assert item["amount_ore"] == 1000
        assert item["reference"].startswith("RF" + "A" * 90)
        assert len(item["reference"]) <= 100
        assert await parked(fordra) == []
        r = await fordra.client.get("/healthz")
        assert r.json()["status"] == "ok", r.text
