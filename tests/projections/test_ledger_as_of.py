"""The customer ledger as of any date (issue 17, domain.md §10) over HTTP on both engines: the
business clock walks a claim through months (issued, partly paid, reminded with a fee, late
interest accruing, handed over) and the ledger is read as of several dates, each claim as it
stood then, its totals reconciling to the general ledger's account 1512; without ``as_of`` the
answer is today's ledger, unchanged; a date after the business date or not a date is a 422."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.kernel.projection import ProjectionRunner
from fordra.projections.application.customer_ledger import CustomerLedgerProjection
from fordra.projections.application.postings import PostingsProjection, read_vouchers
from tests.scenarios.test_agency_outbound import hand_over
from tests.scenarios.test_dunning_flow import (
    TODAY,
    advance,
    approve,
    customer,
    issue,
    pay,
    proposals_for,
)
from tests.scenarios.test_write_down_and_off import write_down
from tests.utils.money import ledger
from tests.utils.platform import Engine, Running, running_platform

RECEIVABLES = 1512


async def as_of(fordra: Running, customer_id: str, day: str, code: int = 200) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger",
        params={"as_of": day},
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def account_balance(fordra: Running, account: int, day: str) -> int:
    """What the general ledger (the postings) holds on ``account`` at the end of ``day``."""
    platform = fordra.platform
    (postings,) = [
        sub.consumer.projection
        for sub in platform.subscriptions
        if isinstance(sub.consumer, ProjectionRunner)
        and isinstance(sub.consumer.projection, PostingsProjection)
    ]
    assert isinstance(postings, PostingsProjection)
    async with platform.read_models.engine.connect() as conn:
        vouchers = await read_vouchers(conn, postings, date(2000, 1, 1), date.fromisoformat(day))
    return sum(r.amount_ore for v in vouchers for r in v.rows if r.account == account)


async def a_claim_walked_through_months(fordra: Running) -> tuple[str, dict[str, Any], int]:
    """1,000 kr of premises rent dated 2026-03-02, due 2026-04-01, with a 60 kr reminder fee
    agreed; 400 kr paid on 2026-04-03, reminded on 2026-04-08, handed over on 2026-04-21; the
    clock at 2026-05-20. Answers the customer, the invoice and the handover's fee."""
    r = await fordra.client.put(
        "/api/v1/dunning/policies/premises_rent",
        json={
            "valid_from": TODAY.isoformat(),
            "model": "reminder_then_handover",
            "reminder_after_days": 7,
            "reminder_fee_ore": 6000,
            "reminder_fee_agreed": True,
            "handover_after_reminder_days": 10,
            "next_step": "agency",
        },
        headers=fordra.auth(Role.OPS_LEAD),
    )
    assert r.status_code == 200, r.text
    cid = await customer(fordra)
    inv = await issue(fordra, cid)
    await advance(fordra, "2026-04-03")
    await pay(fordra, inv["ocr"], "400.00", "PART-1")
    await advance(fordra, "2026-04-08")
    (reminder,) = await proposals_for(fordra, inv["invoice_id"])
    assert reminder["fee_ore"] == 6000
    await approve(fordra, reminder["proposal_id"])
    await advance(fordra, "2026-04-21")
    (handover,) = await proposals_for(fordra, inv["invoice_id"])
    await approve(fordra, handover["proposal_id"])
    await advance(fordra, "2026-05-20")
    return cid, inv, int(handover["fee_ore"])


async def test_a_claim_read_as_of_several_dates(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a claim walked through three months
        cid, inv, handover_fee = await a_claim_walked_through_months(fordra)
        iid = inv["invoice_id"]

        # Then before it was invoiced, the customer had no claim
        before = await as_of(fordra, cid, "2026-03-01")
        assert (before["claims"], before["balance_ore"]) == ([], 0)

        # And as issued: its capital open, not yet due, nothing else
        (issued,) = (await as_of(fordra, cid, "2026-03-15"))["claims"]
        assert issued["invoice_id"] == iid
        assert (issued["status"], issued["capital_ore"], issued["open_ore"]) == (
            "open",
            100_000,
            100_000,
        )
        assert (issued["interest_ore"], issued["fees"], issued["payments"]) == (0, [], [])
        assert (issued["dunning_stage"], issued["holds"], issued["agency_status"]) == (
            "none",
            [],
            None,
        )

        # And partly paid two days after the due date: 600 kr open, overdue, interest accrued
        partly = await as_of(fordra, cid, "2026-04-05")
        (claim,) = partly["claims"]
        assert (claim["status"], claim["open_ore"], claim["paid_ore"]) == (
            "overdue",
            60_000,
            40_000,
        )
        assert claim["payments"] == [
            {"paid_on": "2026-04-03", "component": "capital", "amount_ore": 40_000}
        ]
        # 2 days on 1,000 kr and 2 on 600 kr at 2 % + 8 points (domain.md §3): 0.55 + 0.33 kr
        assert claim["interest_ore"] == 88
        assert claim["dunning_stage"] == "none"

        # And reminded, with the 60 kr fee charged on the day of the reminder
        (reminded,) = (await as_of(fordra, cid, "2026-04-10"))["claims"]
        assert reminded["dunning_stage"] == "reminded"
        assert reminded["fees"] == [
            {"kind": "reminder_fee", "on": "2026-04-08", "amount_ore": 6000}
        ]
        assert reminded["interest_ore"] > claim["interest_ore"]

        # And handed over since 2026-04-21, the interest still running
        today = await as_of(fordra, cid, "2026-05-20")
        (handed,) = today["claims"]
        assert handed["dunning_stage"] == "handed_over"
        collection_fee = {"kind": "collection_fee", "on": "2026-04-21", "amount_ore": handover_fee}
        assert handed["fees"] == [reminded["fees"][0], *([collection_fee] if handover_fee else [])]
        assert handed["interest_ore"] > reminded["interest_ore"]

        # And as of today, the claim is what today's ledger says
        book = await ledger(fordra, cid)
        (now,) = book["invoices"]
        for key in ("open_ore", "interest_ore", "status", "paid_ore", "agency_status"):
            assert handed[key] == now[key], key
        assert today["balance_ore"] == book["balance_ore"]

        # And each date's totals reconcile to the general ledger's 1512
        for day in ("2026-03-15", "2026-04-05", "2026-04-10", "2026-05-20"):
            answer = await as_of(fordra, cid, day)
            totals = answer["totals"]
            assert totals["receivables_1512_ore"] == answer["balance_ore"]
            assert totals["receivables_1512_ore"] == await account_balance(fordra, RECEIVABLES, day)
            assert (totals["value_adjustment_1592_ore"], totals["overpayments_2482_ore"]) == (0, 0)
            assert totals["unidentified_9181_ore"] == 0


async def test_without_as_of_the_ledger_is_unchanged_and_bad_dates_are_refused(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        await issue(fordra, cid)
        # Without as_of: today's ledger, its promised shape
        book = await ledger(fordra, cid)
        assert {"invoices", "balance_ore", "overdue_ore", "credit_ore"} <= set(book)
        assert "claims" not in book
        # A date after the business date: a 422 naming it
        r = await fordra.client.get(
            f"/api/v1/customers/{cid}/ledger",
            params={"as_of": "2026-03-03"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 422, r.text
        (problem,) = r.json()["detail"]
        assert problem["type"] == "as_of_not_in_the_future"
        # Not a date: a 422 naming the parameter
        r = await fordra.client.get(
            f"/api/v1/customers/{cid}/ledger",
            params={"as_of": "2026-13-01"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", "as_of"]
        # An unknown customer as of a date: 404, as without
        r = await fordra.client.get(
            "/api/v1/customers/nobody/ledger",
            params={"as_of": "2026-03-02"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 404, r.text


async def test_the_ledger_as_of_a_date_rebuilds_identical(tmp_path: Path) -> None:
    # Embedded only: it replays through the runner directly (as tests/scenarios/test_rebuild.py)
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid, _, _ = await a_claim_walked_through_months(fordra)
        days = ("2026-03-15", "2026-04-05", "2026-04-10", "2026-05-20")
        before = [await as_of(fordra, cid, day) for day in days]

        # When the ledger is reset and replayed, dunning's log first
        platform = fordra.platform
        assert platform.bus is not None
        await platform.bus.stop()
        (runner,) = [
            sub.consumer
            for sub in platform.subscriptions
            if isinstance(sub.consumer, ProjectionRunner)
            and isinstance(sub.consumer.projection, CustomerLedgerProjection)
        ]
        await runner.reset()
        for upstream in (
            "dunning",
            "payments",
            "invoicing",
            "agency-gateway",
            "utility-disconnect",
        ):
            events = await platform.stores[upstream].read_log(0, 100_000)
            await runner.handle(upstream, events)
        await platform.bus.start()

        # Then every date reads the same
        assert [await as_of(fordra, cid, day) for day in days] == before


async def test_a_write_down_and_an_overpayment_reconcile_to_1592_and_2482(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a claim of 1,000 kr handed over, 100 kr paid, 900 kr written down on 1 June
        cid = await customer(fordra)
        invoice = await hand_over(fordra, cid)
        iid, number = invoice["invoice_id"], invoice["invoice_number"]
        await pay(fordra, invoice["ocr"], "100.00", "PART-1")
        await advance(fordra, "2026-06-01")
        basis = {"amount_ore": 90_000, "invoice_number": number, "reason": "insolvent"}
        r = await write_down(fordra, iid, basis)
        assert r.status_code == 201, r.text
        # When on 3 June 1,000 kr is paid to its OCR: 900 kr pays it, 100 kr is the customer's
        await advance(fordra, "2026-06-03")
        await pay(fordra, invoice["ocr"], "1000.00", "PART-2")

        # Then as of 2 June the claim stood written down, held under long-term surveillance
        (down,) = (await as_of(fordra, cid, "2026-06-02"))["claims"]
        assert (down["status"], down["open_ore"], down["written_down_ore"]) == (
            "written_down",
            90_000,
            90_000,
        )
        assert "written_down" in down["holds"]
        # And as of 3 June it was paid, the write-down recovered and the customer in credit
        paid = await as_of(fordra, cid, "2026-06-03")
        (claim,) = paid["claims"]
        assert (claim["status"], claim["open_ore"], claim["written_down_ore"]) == ("paid", 0, 0)
        assert paid["credit_ore"] == 10_000
        # And each day's totals are what the general ledger holds on 1512, 1592 and 2482
        for day, expected in (
            ("2026-06-02", {1512: 90_000, 1592: -90_000, 2482: 0}),
            ("2026-06-03", {1512: 0, 1592: 0, 2482: -10_000}),
        ):
            totals = (await as_of(fordra, cid, day))["totals"]
            found = {
                1512: totals["receivables_1512_ore"],
                1592: totals["value_adjustment_1592_ore"],
                2482: totals["overpayments_2482_ore"],
            }
            assert found == expected, day
            for account, amount in expected.items():
                assert await account_balance(fordra, account, day) == amount, (day, account)


async def test_a_department_reads_its_own_claims_as_of_a_date(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a customer with premises rent (department fastighet) and a school meal invoice
        cid = await customer(fordra)
        rent = await issue(fordra, cid)
        meals = await issue(
            fordra,
            cid,
            "other",
            department="skola",
            lines=[{"description": "Skolmåltider", "unit_price_ore": 40000, "vat_rate": 0}],
        )
        await advance(fordra, "2026-03-10")

        async def read(department: str) -> Any:
            return await fordra.client.get(
                f"/api/v1/customers/{cid}/ledger",
                params={"as_of": "2026-03-05"},
                headers=fordra.auth(Role.DEPARTMENT, department=department),
            )

        # Then each department sees its own claim and its own totals only
        r = await read("skola")
        assert r.status_code == 200, r.text
        assert [c["invoice_id"] for c in r.json()["claims"]] == [meals["invoice_id"]]
        assert r.json()["totals"]["receivables_1512_ore"] == 40_000
        r = await read("fastighet")
        assert [c["invoice_id"] for c in r.json()["claims"]] == [rent["invoice_id"]]
        # And a department with nothing on the customer gets a 404, as for an unknown id
        assert (await read("kultur")).status_code == 404
