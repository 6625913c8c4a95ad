"""camt.054 credit notifications end to end, on both engines: batches, partial payments,
free text, duplicates, overpayment with set-off, reversals and a malformed file (issue: payments).
The files are generated (no Swedish camt.054 sample is public): tests/payments/camt_factory.py."""

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


async def issue(fordra: Running, customer_id: str, price_ore: int) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "department": "other",
        "service_type": "other",
        "invoice_date": "2026-02-27",
        "lines": [{"description": "Hyra av lokal", "unit_price_ore": price_ore, "vat_rate": 0}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def post(fordra: Running, data: bytes) -> Any:
    return await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )


async def ledger(fordra: Running, customer_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    invoices = {i["invoice_id"]: i for i in r.json()["invoices"]}
    return {"invoices": invoices, "credit_ore": r.json()["credit_ore"]}


async def test_camt054_payments_end_to_end(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        cid = r.json()["customer_id"]
        a = await issue(fordra, cid, 100000)
        b = await issue(fordra, cid, 60000)
        c = await issue(fordra, cid, 20000)
        payments = fordra.platform.stores["payments"]

        # A batch entry of three payments: A in full, B in part, one with only free text
        first = camt054(
            Entry(
                amount="1400.00",
                acct_svcr_ref="NTRY-1",
                txs=(
                    Tx(amount="1000.00", acct_svcr_ref="TX-1", scor=(a["ocr"],), debtor="T T"),
                    Tx(amount="200.00", acct_svcr_ref="TX-2", scor=(b["ocr"],)),
                    Tx(amount="200.00", acct_svcr_ref="TX-3", ustrd=(f"faktura {c['ocr']}",)),
                ),
            ),
            msg_id="FILE-1",
        )
        r = await post(fordra, first)
        assert r.status_code == 201, r.text
        assert (r.json()["payments"], r.json()["matched"], r.json()["unmatched"]) == (3, 2, 1)
        assert r.json()["total_ore"] == 140000
        book = await ledger(fordra, cid)
        assert book["invoices"][a["invoice_id"]]["status"] == "paid"
        assert book["invoices"][b["invoice_id"]]["open_ore"] == 40000
        queue = await fordra.client.get(
            "/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD)
        )
        (waiting,) = queue.json()["items"]
        assert [s["invoice_id"] for s in waiting["suggestions"]] == [c["invoice_id"]]

        # Another file repeating TX-1 and overpaying C by 500 kr: TX-1 is booked once; the
        # overpayment pays B's rest (set-off) and 100 kr stays as the customer's credit
        second = camt054(
            Entry(
                amount="1700.00",
                acct_svcr_ref="NTRY-2",
                txs=(
                    Tx(amount="1000.00", acct_svcr_ref="TX-1", scor=(a["ocr"],)),
                    Tx(amount="700.00", acct_svcr_ref="TX-4", scor=(c["ocr"],)),
                ),
            ),
            msg_id="FILE-2",
        )
        r = await post(fordra, second)
        assert r.status_code == 201, r.text
        assert r.json()["duplicates"] == 1
        assert r.json()["payments"] == 1
        book = await ledger(fordra, cid)
        assert book["invoices"][b["invoice_id"]]["status"] == "paid"
        assert book["invoices"][c["invoice_id"]]["status"] == "paid"
        assert book["credit_ore"] == 70000 - 20000 - 40000

        # The bank reverses TX-1: A is open again
        reversal = camt054(
            Entry(
                amount="1000.00",
                credit_debit="DBIT",
                reversal=True,
                acct_svcr_ref="REV-1",
                txs=(Tx(amount="1000.00", acct_svcr_ref="TX-1", scor=(a["ocr"],)),),
            ),
            msg_id="FILE-3",
        )
        r = await post(fordra, reversal)
        assert r.status_code == 201, r.text
        book = await ledger(fordra, cid)
        assert book["invoices"][a["invoice_id"]]["open_ore"] == 100000

        # A file whose entry does not add up is refused whole and books nothing
        before = await payments.max_position()
        broken = camt054(
            Entry(
                amount="300.00",
                acct_svcr_ref="NTRY-9",
                txs=(
                    Tx(amount="100.00", acct_svcr_ref="TX-9", scor=(b["ocr"],)),
                    Tx(amount="100.00", acct_svcr_ref="TX-10", scor=(c["ocr"],)),
                ),
            ),
            msg_id="FILE-9",
        )
        r = await post(fordra, broken)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["element"]
        assert await payments.max_position() == before

        # A notification of debits only books nothing
        debits = camt054(Entry(amount="50.00", credit_debit="DBIT", acct_svcr_ref="D-1"))
        r = await post(fordra, debits)
        assert r.status_code == 201, r.text
        assert r.json()["payments"] == 0
