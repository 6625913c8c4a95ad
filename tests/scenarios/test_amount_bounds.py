"""Every amount and quantity is bounded where it enters (issue 10, item 1): a dated setting far
above any real invoice (10^13 öre = 100 000 000 000 kr by default). A request beyond it answers
422 naming the field, and nothing is written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.kernel.money import DEFAULT_MAX_AMOUNT_ORE
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.money import customer, issue, queue
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 2, 20)
MAX = DEFAULT_MAX_AMOUNT_ORE


def invoice(customer_id: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": "childcare",
        "service_type": "childcare",
        "invoice_date": "2026-02-20",
        "lines": list(lines),
    }


def line(price_ore: int, quantity: str = "1") -> dict[str, Any]:
    return {
        "description": "Barnomsorg",
        "quantity": quantity,
        "unit_price_ore": price_ore,
        "vat_rate": 0,
    }


async def written(fordra: Running) -> dict[str, int]:
    return {name: await s.max_position() for name, s in fordra.platform.stores.items()}


async def refused(fordra: Running, body: dict[str, Any]) -> list[Any]:
    """Post the invoice; assert 422 and nothing written; answer the ``loc`` of each problem."""
    before = await written(fordra)
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 422, r.text
    assert await written(fordra) == before
    return [problem["loc"] for problem in r.json()["detail"]]


async def test_an_invoice_amount_beyond_the_bound_is_refused_naming_the_field(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # A unit price above the bound, of either sign, and far above it (above 2^63: one beyond
        # 64 bits altogether is refused before the domain, where JSON is read: issue 10 item 4)
        for price in (MAX + 1, -(MAX + 1), 2**63 + 1):
            loc = await refused(fordra, invoice(cid, line(100), line(price)))
            assert loc == [["body", "lines", 1, "unit_price_ore"]], price
        # A line within the bound per unit but not in all
        loc = await refused(fordra, invoice(cid, line(MAX, quantity="2")))
        assert loc == [["body", "lines", 0]]
        # A quantity above its own bound (100 million)
        loc = await refused(fordra, invoice(cid, line(1, quantity="100000000.001")))
        assert loc == [["body", "lines", 0, "quantity"]]
        # Lines within the bound whose total is not
        loc = await refused(fordra, invoice(cid, line(MAX // 2 + 1), line(MAX // 2 + 1)))
        assert loc == [["body", "lines"]]
        # The bound itself is accepted
        r = await fordra.client.post(
            "/api/v1/invoices", json=invoice(cid, line(MAX)), headers=fordra.auth()
        )
        assert r.status_code == 201, r.text
        assert r.json()["total_ore"] == MAX


async def test_the_bound_is_a_dated_setting(engine: Engine, tmp_path: Path) -> None:
    # A municipality that lowers the bound from 1 March (a setting with an effective date)
    bound = {"max_amount_ore": [["1900-01-01", MAX], ["2026-03-01", 1_000_000]]}
    async with running_platform(
        engine, tmp_path, today=date(2026, 3, 2), invoicing=bound
    ) as fordra:
        cid = await customer(fordra)
        # An invoice dated before it is held to the old bound, one dated after to the new
        earlier = {**invoice(cid, line(2_000_000)), "invoice_date": "2026-02-27"}
        r = await fordra.client.post("/api/v1/invoices", json=earlier, headers=fordra.auth())
        assert r.status_code == 201, r.text
        later = {**invoice(cid, line(2_000_000)), "invoice_date": "2026-03-02"}
        assert await refused(fordra, later) == [["body", "lines", 0, "unit_price_ore"]]


async def test_a_credit_note_line_beyond_the_bound_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        issued = await issue(fordra, cid, 10_000)
        before = await written(fordra)
        r = await fordra.client.post(
            f"/api/v1/invoices/{issued['invoice_id']}/credit-notes",
            json={"reason": "fel belopp", "lines": [line(2**63 + 1)]},
            headers=fordra.auth(),
        )
        assert r.status_code == 422, r.text
        # (``lines`` is optional: pydantic also says why the body's lines are not ``None``)
        locs = [p["loc"] for p in r.json()["detail"]]
        assert locs[0] == ["body", "lines", 0, "unit_price_ore"], locs
        assert all(loc[:2] == ["body", "lines"] for loc in locs), locs
        assert await written(fordra) == before


async def test_an_invoice_batch_with_an_amount_beyond_the_bound_is_refused_whole(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        before = await written(fordra)
        good = invoice(cid, line(10_000))
        bad = invoice(cid, line(10_000), line(MAX + 1))
        data = "\n".join(json.dumps(b) for b in (good, bad)).encode()
        r = await fordra.client.post(
            "/api/v1/invoice-batches",
            content=data,
            headers={**fordra.auth(), "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 422, r.text
        (error,) = r.json()["errors"]
        assert (error["line"], error["field"]) == (2, "lines.1.unit_price_ore")
        assert await written(fordra) == before


async def test_a_bank_file_with_an_amount_beyond_the_bound_books_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a camt.054 file whose second payment is above the bound
        big = f"{(MAX + 100) / 100:.2f}"
        data = camt054(
            Entry(
                amount=f"{(MAX + 100 + 10_000) / 100:.2f}",
                txs=(
                    Tx(amount="100.00", acct_svcr_ref="TX-1", ustrd=("inbetalning",)),
                    Tx(amount=big, acct_svcr_ref="TX-2", ustrd=("inbetalning",)),
                ),
            )
        )
        before = await written(fordra)
        # When it comes in
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        # Then it is refused whole, naming the amounts' elements, and nothing is booked or kept
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert errors, r.text
        assert all("above the largest amount accepted" in e["message"] for e in errors)
        assert any(e["element"] and "TxDtls[2]" in e["element"] for e in errors), errors
        assert await written(fordra) == before
        assert await queue(fordra) == []
        archive = fordra.platform.settings.data_dir / "payment-files"
        assert not archive.exists() or not any(p.is_file() for p in archive.rglob("*"))
