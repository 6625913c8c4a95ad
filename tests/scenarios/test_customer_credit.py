"""Not one öre lost or invented (issue 9, items 2-6), on both engines: a credit note on a paid
invoice leaves the money as the customer's credit, credit kept by hand is counted once, a reversal
undoes everything its payment did, set-off leaves claims under a hold alone, and credit is set
off against later invoices or refunded after attest (domain.md §2, seed 002 lines 587-603)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.utils.money import correct as _correct
from tests.utils.money import customer, issue, ledger, pay, queue, reverse
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 3, 2)


async def correct(fordra: Running, invoice_id: str, what: str, **body: Any) -> None:
    r = await _correct(fordra, invoice_id, what, **body)
    assert r.status_code in {200, 201}, r.text


async def test_crediting_a_paid_invoice_leaves_the_money_as_credit(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given a 1,000 kr invoice paid in full and a 600 kr invoice paid in part (400 kr)
        paid = await issue(fordra, cid, 100000)
        part = await issue(fordra, cid, 60000)
        await pay(fordra, (paid["ocr"], 100000), (part["ocr"], 40000))
        # When both are credited in full
        await correct(fordra, paid["invoice_id"], "credit-notes")
        book = await ledger(fordra, cid)
        # Then the first 1,000 kr pays what is left of the second (200 kr) and 800 kr stays
        # as the customer's credit; nothing is open, nothing vanished
        assert book["by_id"][paid["invoice_id"]]["credited_ore"] == 100000
        assert book["by_id"][paid["invoice_id"]]["open_ore"] == 0
        assert book["by_id"][part["invoice_id"]]["open_ore"] == 0
        assert book["credit_ore"] == 80000
        await correct(fordra, part["invoice_id"], "credit-notes")
        book = await ledger(fordra, cid)
        # Crediting the second (now paid 400 + 200 kr) releases its 600 kr too
        assert book["credit_ore"] == 140000
        assert book["balance_ore"] == 0
        assert sum(i["paid_ore"] for i in book["invoices"]) == 0


async def test_credit_kept_by_hand_is_counted_once(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given 400 kr with no reference waiting in the queue
        await pay(fordra, (None, 40000))
        (waiting,) = await queue(fordra)
        # When a case officer keeps it as the customer's advance
        r = await fordra.client.post(
            f"/api/v1/payments/{waiting['payment_id']}/resolution",
            json={"action": "keep_as_credit", "customer_id": cid, "reason": "förskott"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        # Then the ledger shows 400 kr of credit, not 800, and the queue is empty
        assert (await ledger(fordra, cid))["credit_ore"] == 40000
        assert await queue(fordra) == []


async def test_a_reversal_undoes_everything_its_payment_did(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given 1,500 kr on a 1,000 kr invoice: 300 kr set off on another, 200 kr credit
        first = await issue(fordra, cid, 100000)
        other = await issue(fordra, cid, 30000)
        (ref,) = await pay(fordra, (first["ocr"], 150000))
        book = await ledger(fordra, cid)
        assert book["credit_ore"] == 20000
        assert book["balance_ore"] == 0
        # and the credit has paid part of a later invoice
        later = await issue(fordra, cid, 50000)
        book = await ledger(fordra, cid)
        assert book["by_id"][later["invoice_id"]]["paid_ore"] == 20000
        assert book["credit_ore"] == 0
        # When the bank reverses the payment
        await reverse(fordra, ref, 150000)
        # Then every invoice it paid is open again, in full, and no credit is left of it
        book = await ledger(fordra, cid)
        assert book["by_id"][first["invoice_id"]]["open_ore"] == 100000
        assert book["by_id"][other["invoice_id"]]["open_ore"] == 30000
        assert book["by_id"][later["invoice_id"]]["open_ore"] == 50000
        assert book["credit_ore"] == 0
        # And the same file again, or another notice reversing the same payment, changes nothing
        assert (await reverse(fordra, ref, 150000))["duplicate"] is True
        second = await reverse(fordra, ref, 150000, notice="2")
        assert (second["matched"], second["unmatched"]) == (0, 1)
        book = await ledger(fordra, cid)
        assert book["balance_ore"] == 180000
        assert book["credit_ore"] == 0


async def test_set_off_leaves_claims_under_a_hold_alone(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given a disputed claim, a deferred claim and an ordinary open claim
        disputed = await issue(fordra, cid, 10000)
        deferred = await issue(fordra, cid, 10000)
        ordinary = await issue(fordra, cid, 10000)
        await correct(fordra, disputed["invoice_id"], "dispute")
        await correct(
            fordra,
            deferred["invoice_id"],
            "deferral",
            deferred_until="2026-05-31",
            requested_on="2026-03-02",
        )
        # When a payment overpays a fourth invoice by 250 kr
        fourth = await issue(fordra, cid, 10000)
        await pay(fordra, (fourth["ocr"], 35000))
        # Then only the ordinary claim is set off; the rest stays as credit
        book = await ledger(fordra, cid)
        assert book["by_id"][ordinary["invoice_id"]]["open_ore"] == 0
        assert book["by_id"][disputed["invoice_id"]]["open_ore"] == 10000
        assert book["by_id"][deferred["invoice_id"]]["open_ore"] == 10000
        assert book["credit_ore"] == 15000
        # And when the dispute is resolved in the claim's favour, the credit pays it
        await correct(fordra, disputed["invoice_id"], "dispute-resolution", outcome="claim_stands")
        book = await ledger(fordra, cid)
        assert book["by_id"][disputed["invoice_id"]]["open_ore"] == 0
        assert book["credit_ore"] == 5000


async def test_credit_is_refunded_only_when_nothing_is_unpaid_and_after_attest(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given 500 kr paid on a 200 kr invoice while a disputed 300 kr claim is open
        open_claim = await issue(fordra, cid, 30000)
        await correct(fordra, open_claim["invoice_id"], "dispute")
        paid = await issue(fordra, cid, 20000)
        await pay(fordra, (paid["ocr"], 50000))
        assert (await ledger(fordra, cid))["credit_ore"] == 30000
        refunds = f"/api/v1/customers/{cid}/credit/refunds"
        officer = fordra.auth(Role.OPS_LEAD, subject="lead-1")
        # When a refund is asked for while a claim is unpaid: refused, naming the rule
        r = await fordra.client.post(refunds, json={"reason": "återbetalning"}, headers=officer)
        assert r.status_code == 422, r.text
        assert "refund_only_when_nothing_unpaid" in r.text
        # Once the claim is credited nothing is unpaid: the refund is asked for ...
        await correct(fordra, open_claim["invoice_id"], "credit-notes")
        r = await fordra.client.post(
            refunds, json={"reason": "återbetalning"}, headers={**officer, "Idempotency-Key": "r1"}
        )
        assert r.status_code == 201, r.text
        refund = r.json()
        assert refund["amount_ore"] == 30000
        # ... asking twice with the same key changes nothing, a second refund finds no credit
        again = await fordra.client.post(
            refunds, json={"reason": "återbetalning"}, headers={**officer, "Idempotency-Key": "r1"}
        )
        assert again.json()["refund_id"] == refund["refund_id"]
        r = await fordra.client.post(refunds, json={"reason": "igen"}, headers=officer)
        assert r.status_code == 422, r.text
        assert "refund_within_credit" in r.text
        # ... the credit stays on the ledger until it goes out, and the same person cannot attest
        assert (await ledger(fordra, cid))["credit_ore"] == 30000
        attest = f"/api/v1/refunds/{refund['refund_id']}/attest"
        r = await fordra.client.post(attest, headers=officer)
        assert r.status_code == 422, r.text
        assert "four_eyes_attest" in r.text
        r = await fordra.client.post(attest, headers=fordra.auth(Role.OPS_LEAD, subject="lead-2"))
        assert r.status_code == 200, r.text
        # Then the credit is gone: paid back
        assert (await ledger(fordra, cid))["credit_ore"] == 0
