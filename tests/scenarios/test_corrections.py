"""Corrections and late interest, not one öre lost or invented (issue 9), over HTTP on both
engines: credit notes and cancellations attested by a second person (seed 002 lines 587-603),
deferral and postponement bounds (seed 001), late interest invoiced as interest (domain.md §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fordra.contracts.dunning import LateInterestCharged
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.auth import Role
from fordra.kernel.envelope import Metadata
from fordra.kernel.eventstore import StreamAppend
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 3, 2)
PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


def invoice(customer_id: str, price_ore: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "department": "water",
        "service_type": "water",
        "invoice_date": "2026-03-02",
        "lines": [{"description": "Vatten", "unit_price_ore": price_ore, "vat_rate": 25}],
    }
    body.update(extra)
    return body


async def customer(fordra: Running, **extra: Any) -> str:
    r = await fordra.client.post(
        "/api/v1/customers", json={**PERSON, **extra}, headers=fordra.auth()
    )
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def issue(fordra: Running, customer_id: str, price_ore: int, **extra: Any) -> dict[str, Any]:
    r = await fordra.client.post(
        "/api/v1/invoices", json=invoice(customer_id, price_ore, **extra), headers=fordra.auth()
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def ledger_invoices(fordra: Running, customer_id: str) -> dict[str, dict[str, Any]]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    return {i["invoice_id"]: i for i in r.json()["invoices"]}


async def pay(fordra: Running, ocr: str, amount: str, ref: str) -> None:
    data = camt054(
        Entry(
            amount=amount,
            acct_svcr_ref=f"N-{ref}",
            txs=(Tx(amount=amount, acct_svcr_ref=ref, scor=(ocr,)),),
        ),
        msg_id=f"FILE-{ref}",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code == 201, r.text
    assert r.json()["matched"] == 1, r.text


async def charge_late_interest(fordra: Running, customer_id: str, invoice_id: str) -> None:
    """What dunning will publish: domain.md §3's example, 10,000 kr 30 days at 10 % = 82.19 kr."""
    charged = LateInterestCharged(
        interest_id="interest-1",
        customer_id=customer_id,
        invoice_id=invoice_id,
        service_type="water",
        from_date=date(2026, 1, 31),
        to_date=date(2026, 3, 2),
        rate_percent="10.00",
        amount_ore=8219,
    )
    env = fordra.platform.registry.envelope(
        charged,
        context="dunning",
        stream_id="interest-1",
        version=1,
        metadata=Metadata("svenljunga", "dunning", "c-1"),
        occurred_at=datetime.now(UTC),
    )
    await fordra.platform.stores["dunning"].append([StreamAppend("interest-1", 0, [env])])
    await fordra.platform.settle()


async def allocations(fordra: Running, invoice_id: str) -> list[tuple[str, int]]:
    store = fordra.platform.stores["payments"]
    found = []
    for env in await store.read_stream(f"receivable-{invoice_id}"):
        event = fordra.platform.registry.load(env)
        if isinstance(event, PaymentAllocated):
            found.append((event.component, event.amount_ore))
    return found


async def test_late_interest_on_the_next_invoice_is_paid_as_interest(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given late interest of 82.19 kr charged on a customer's earlier invoice
        cid = await customer(fordra)
        first = await issue(fordra, cid, 800000)
        await charge_late_interest(fordra, cid, first["invoice_id"])
        # and the next invoice, 1,000 kr of water, carrying it as a line of its own
        nxt = await issue(fordra, cid, 80000)
        assert nxt["total_ore"] == 100000 + 8219

        # When the customer pays exactly the capital, 1,000 kr
        await pay(fordra, nxt["ocr"], "1000.00", "TX-1")
        # Then it all goes to the capital, never first to the interest (domain.md §3)
        assert await allocations(fordra, nxt["invoice_id"]) == [("capital", 100000)]
        row = (await ledger_invoices(fordra, cid))[nxt["invoice_id"]]
        assert (row["paid_ore"], row["interest_and_fees_paid_ore"]) == (100000, 0)
        assert row["open_ore"] == 8219

        # When the customer then pays the 82.19 kr
        await pay(fordra, nxt["ocr"], "82.19", "TX-2")
        # Then it is allocated as interest and shows under interest and fees; nothing is open
        assert await allocations(fordra, nxt["invoice_id"]) == [
            ("capital", 100000),
            ("interest", 8219),
        ]
        row = (await ledger_invoices(fordra, cid))[nxt["invoice_id"]]
        assert (row["paid_ore"], row["interest_and_fees_paid_ore"]) == (100000, 8219)
        assert row["open_ore"] == 0
        assert row["status"] == "paid"
