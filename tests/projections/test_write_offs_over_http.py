"""The customer ledger and the SIE export over the real app on both engines (issue 15, domain.md
§4 "Write-down and write-off" and §10): a claim handed over, paid in part, written down by the
ops lead, paid again (the recovery) and written off shows in the ledger's JSON and posts its
series KN, wired as the app wires the projections (the general ledger following dunning's log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.projections.adapters.sie import parse_sie
from tests.scenarios.test_agency_outbound import TODAY, hand_over
from tests.scenarios.test_dunning_flow import advance, customer, pay
from tests.scenarios.test_write_down_and_off import write_down, write_off
from tests.utils.platform import Engine, Running, running_platform


async def ledger_of(fordra: Running, cid: str, role: Role = Role.CASE_OFFICER) -> Any:
    r = await fordra.client.get(f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(role))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_claim_written_down_recovered_and_written_off_in_the_books(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a claim of 1,000 kr handed over, 100 kr of it paid, written down on 1 June
        cid = await customer(fordra)
        invoice = await hand_over(fordra, cid)
        iid, number = invoice["invoice_id"], invoice["invoice_number"]
        await pay(fordra, invoice["ocr"], "100.00", "PART-1")
        await advance(fordra, "2026-06-01")
        basis = {"amount_ore": 90_000, "invoice_number": number, "reason": "insolvent"}
        r = await write_down(fordra, iid, basis)
        assert r.status_code == 201, r.text
        # Then the ledger shows it written down and still owed, the customer on a credit stop
        ledger = await ledger_of(fordra, cid)
        [row] = ledger["invoices"]
        assert (row["status"], row["open_ore"]) == ("written_down", 90_000)
        assert (row["written_down_ore"], row["written_down_on"]) == (90_000, "2026-06-01")
        assert (row["written_off_on"], row["write_off_reason"]) == (None, None)
        assert ledger["credit_stop"] == {"since": "2026-06-01", "reason": "written_down"}

        # When 300 kr is paid and the 600 kr left is written off
        await pay(fordra, invoice["ocr"], "300.00", "PART-2")
        assert (await ledger_of(fordra, cid))["invoices"][0]["written_down_ore"] == 60_000
        r = await write_off(fordra, iid, {"reason": "bankruptcy", "decision_reference": "K 12"})
        assert r.status_code == 201, r.text
        # Then the claim is closed in the ledger, the totals reconcile
        ledger = await ledger_of(fordra, cid)
        [row] = ledger["invoices"]
        assert row["status"] == "written_off"
        assert (row["open_ore"], row["paid_ore"], row["written_off_ore"]) == (0, 40_000, 60_000)
        assert (row["written_off_on"], row["write_off_reason"]) == ("2026-06-01", "bankruptcy")
        assert row["write_off_decision_reference"] == "K 12"
        assert (
            row["total_ore"] - row["credited_ore"] - row["paid_ore"] - row["written_off_ore"] == 0
        )
        assert ledger["balance_ore"] == 0
        assert ledger["credit_stop"] == {"since": "2026-06-01", "reason": "written_off"}

        # And the general ledger carries series KN: the write-down, the recovery, the write-off
        r = await fordra.client.get(
            "/api/v1/exports/sie",
            params={"from": "2026-01-01", "to": "2026-12-31"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        kn = [v for v in parse_sie(r.content).vouchers if v.series == "KN"]
        assert [(v.number, v.text, {t.account: t.amount_ore for t in v.rows}) for v in kn] == [
            (1, f"Nedskrivning faktura {number}", {6352: 90_000, 1592: -90_000}),
            (2, f"Återvunnen kundförlust faktura {number}", {1592: 30_000, 6352: -30_000}),
            (
                3,
                f"Avskrivning faktura {number}, konkurs, beslut K 12",
                {1592: 60_000, 1512: -60_000},
            ),
        ]
