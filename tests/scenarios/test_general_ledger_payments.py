"""Payments reach the general ledger (issue 9, domain.md §10), on both engines: a bank file with a
matched, an overpaid (set off, then credit) and an unmatched payment, then a reversal, and the SIE
export's accounts agree with the customer ledger, the customer's credit and the work queue."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from fordra.projections.adapters.sie import parse_sie
from fordra.projections.domain.chart_of_accounts import Voucher
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.scenarios.test_camt054_payments import PERSON, issue, post
from tests.utils.money import ledger, queue
from tests.utils.platform import Engine, Running, running_platform

BANK, RECEIVABLES, OVERPAYMENTS, UNIDENTIFIED = 1951, 1512, 2482, 9181


async def sie_export(fordra: Running) -> bytes:
    r = await fordra.client.get(
        "/api/v1/exports/sie",
        params={"from": "2026-01-01", "to": "2026-12-31"},
        headers=fordra.auth(Role.OPS_LEAD),
    )
    assert r.status_code == 200, r.text
    return r.content


def balances(vouchers: list[Voucher]) -> dict[int, int]:
    sums: dict[int, int] = {}
    for v in vouchers:
        for row in v.rows:
            sums[row.account] = sums.get(row.account, 0) + row.amount_ore
    return sums


async def queue_total(fordra: Running) -> int:
    return sum(i["amount_ore"] for i in await queue(fordra) if i["currency"] == "SEK")


async def check_reconciles(fordra: Running, customer_id: str) -> dict[int, int]:
    """Every #VER balances (the reader refuses one that does not) and 1512, 2482 and 9181 agree
    with the ledger's balance, its credit and the unmatched queue."""
    data = await sie_export(fordra)
    data.decode("cp437")  # the whole file is codepage 437
    sie = parse_sie(data)
    assert sie.format == "PC8"
    assert all(sum(r.amount_ore for r in v.rows) == 0 for v in sie.vouchers)
    held = balances(sie.vouchers)
    book = await ledger(fordra, customer_id)
    assert held.get(RECEIVABLES, 0) == book["balance_ore"]
    assert -held.get(OVERPAYMENTS, 0) == book["credit_ore"]
    assert -held.get(UNIDENTIFIED, 0) == await queue_total(fordra)
    assert set(held) <= set(sie.accounts)  # every account used is named (#KONTO)
    return held


async def test_the_ledger_accounts_follow_a_bank_file(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given a customer with three invoices: 1,000 kr, 600 kr and 200 kr
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        cid = r.json()["customer_id"]
        a = await issue(fordra, cid, 100_000)
        b = await issue(fordra, cid, 60_000)
        c = await issue(fordra, cid, 20_000)
        held = await check_reconciles(fordra, cid)
        assert held[RECEIVABLES] == 180_000

        # When a bank file pays A exactly, overpays B (the rest pays C, 300 kr is credit) and
        # brings 700 kr that names no invoice
        r = await post(
            fordra,
            camt054(
                Entry(
                    amount="2800.00",
                    acct_svcr_ref="NTRY-1",
                    txs=(
                        Tx(amount="1000.00", acct_svcr_ref="TX-1", scor=(a["ocr"],)),
                        Tx(amount="1100.00", acct_svcr_ref="TX-2", scor=(b["ocr"],)),
                        Tx(amount="700.00", acct_svcr_ref="TX-3", ustrd=("hyra mars",)),
                    ),
                ),
                msg_id="FILE-1",
            ),
        )
        assert r.status_code == 201, r.text
        assert (r.json()["matched"], r.json()["unmatched"]) == (2, 1)

        # Then the money is in the bank, nothing is open, 300 kr is credit, 700 kr unidentified
        held = await check_reconciles(fordra, cid)
        assert held[BANK] == 280_000
        assert held.get(RECEIVABLES, 0) == 0
        assert (held[OVERPAYMENTS], held[UNIDENTIFIED]) == (-30_000, -70_000)
        book = await ledger(fordra, cid)
        assert {i["invoice_id"]: i["status"] for i in book["invoices"]}[c["invoice_id"]] == "paid"

        # When the bank reverses the payment of A and the unidentified one
        r = await post(
            fordra,
            camt054(
                Entry(
                    amount="1000.00",
                    credit_debit="DBIT",
                    reversal=True,
                    acct_svcr_ref="REV-1",
                    txs=(Tx(amount="1000.00", acct_svcr_ref="TX-1", scor=(a["ocr"],)),),
                ),
                Entry(
                    amount="700.00",
                    credit_debit="DBIT",
                    reversal=True,
                    acct_svcr_ref="REV-3",
                    txs=(Tx(amount="700.00", acct_svcr_ref="TX-3", ustrd=("hyra mars",)),),
                ),
                msg_id="FILE-2",
            ),
        )
        assert r.status_code == 201, r.text

        # Then the money is out of the bank again, A is open in the ledger and on 1512, and
        # nothing waits in the queue or on 9181
        held = await check_reconciles(fordra, cid)
        assert held[BANK] == 110_000
        assert held[RECEIVABLES] == 100_000
        assert held.get(UNIDENTIFIED, 0) == 0
        assert held[OVERPAYMENTS] == -30_000
        queue = await fordra.client.get(
            "/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD)
        )
        assert queue.json()["items"] == []
