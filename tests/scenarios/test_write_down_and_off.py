"""Write-down and write-off over HTTP on both engines (issue 15, domain.md §4, seed 001 / 002 /
004): a claim handed over goes to a payment order, is recalled, and is written off by the ops
lead; another is written down after the checks against the ledger, paid in part (the recovery
reverses that much of the write-down), and written off with what of the write-down stood."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fordra.agency_gateway.reference_agency.server import ReferenceAgencyServer
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteDownRecovered
from fordra.kernel.auth import Role
from tests.scenarios.test_agency_outbound import (
    SECRET,
    TODAY,
    agency_settings,
    eventually,
    free_port,
    hand_over,
)
from tests.scenarios.test_agency_round_trip import report
from tests.scenarios.test_dunning_cases import draw_up_plan
from tests.scenarios.test_dunning_flow import advance, collection, customer, issue, pay
from tests.utils.agency import list_cases
from tests.utils.platform import Engine, Running, running_platform


async def write_down(
    fordra: Running, invoice_id: str, body: dict[str, Any], role: Role = Role.OPS_LEAD
) -> Any:
    return await fordra.client.post(
        f"/api/v1/invoices/{invoice_id}/write-down", json=body, headers=fordra.auth(role)
    )


async def write_off(
    fordra: Running, invoice_id: str, body: dict[str, Any], role: Role = Role.OPS_LEAD
) -> Any:
    return await fordra.client.post(
        f"/api/v1/invoices/{invoice_id}/write-off", json=body, headers=fordra.auth(role)
    )


def refused(r: Any) -> tuple[str, str, str]:
    """A 422's field (the last part of its location), rule and message."""
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    return str(problem["loc"][-1]), str(problem["type"]), str(problem["msg"])


async def dunning_events(fordra: Running, kind: type[Any]) -> list[Any]:
    store = fordra.platform.stores["dunning"]
    return [
        fordra.platform.registry.load(e)
        for e in await store.read_log(0, limit=100_000)
        if e.event_type == kind.event_type
    ]


async def credit_stops(fordra: Running, role: Role, **params: str) -> list[dict[str, Any]]:
    department = "fastighet" if role == Role.DEPARTMENT else None
    r = await fordra.client.get(
        "/api/v1/credit-stops", params=params, headers=fordra.auth(role, department=department)
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_claim_recalled_after_a_payment_order_is_written_off(
    engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    async with running_platform(
        engine, tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
    ) as fordra:
        agency = ReferenceAgencyServer(
            tmp_path / "agency.sqlite",
            secret=SECRET,
            fordra_url="http://fordra.test",
            port=port,
            webhook_client=fordra.client,
        )
        await agency.start()
        try:
            # Given a claim of 1,000 kr handed over on 2026-04-21, a payment order filed
            cid = await customer(fordra)
            invoice = await hand_over(fordra, cid)
            iid = invoice["invoice_id"]
            (message,) = await eventually(lambda: agency.store.messages("claim"))
            case_id = message["case_id"]
            await report(agency, fordra, case_id, kind="opened", occurred_on="2026-04-21")
            await advance(fordra, "2026-04-22")
            await report(
                agency, fordra, case_id, kind="payment_order_filed", occurred_on="2026-04-22"
            )
            # When the debtor dies and the municipality recalls the case
            await advance(fordra, "2026-05-04")
            r = await fordra.client.post(
                f"/api/v1/agency/cases/{case_id}/recall",
                json={"reason": "gäldenären har avlidit"},
                headers=fordra.auth(Role.CASE_OFFICER),
            )
            assert r.status_code == 200, r.text
            assert r.json()["municipality_cost_ore"] == 68_000  # the agency's outlays
            # Then only the ops lead may write it off: a case officer and an admin are refused
            decision = {"reason": "death", "decision_reference": "EK 2026/114"}
            for role in (Role.CASE_OFFICER, Role.ADMIN):
                r = await write_off(fordra, iid, decision, role)
                assert r.status_code == 403, r.text
            r = await write_off(fordra, iid, decision)
            assert r.status_code == 201, r.text
            assert r.json() == {
                "invoice_id": iid,
                "invoice_number": invoice["invoice_number"],
                "written_off_on": "2026-05-04",
                "amount_ore": 100_000,
                "value_adjustment_ore": 0,
                "reason": "death",
                "decision_reference": "EK 2026/114",
            }
            # And it is gone for good: its stage, no second write-off, no plan, no dunning
            assert (await collection(fordra, iid))["stage"] == "written_off"
            again = await write_off(fordra, iid, decision)
            assert refused(again)[1] == "check_claim_not_written_off"
            (off,) = await dunning_events(fordra, ClaimWrittenOff)
            assert (off.amount_ore, off.department) == (100_000, "fastighet")
            # And the staff concerned are told: the department that billed it, the office
            (stop,) = await credit_stops(fordra, Role.DEPARTMENT)
            assert (stop["customer_id"], stop["kind"], stop["reason"]) == (
                cid,
                "written_off",
                "death",
            )
            assert await credit_stops(fordra, Role.CASE_OFFICER, customer_id=cid) == [stop]
            # And the agency's case stays recalled, its outlay the municipality's cost
            (case,) = await list_cases(fordra)
            assert case["status"] == "recalled"
        finally:
            await agency.stop()


async def test_a_write_down_is_checked_against_the_ledger_and_recovered_by_payments(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a claim of 1,000 kr handed over on 2026-04-21 and 100 kr paid since
        cid = await customer(fordra)
        invoice = await hand_over(fordra, cid)
        iid, number = invoice["invoice_id"], invoice["invoice_number"]
        await pay(fordra, invoice["ocr"], "100.00", "PART-1")
        await advance(fordra, "2026-06-01")
        # When the decision's amount or invoice number does not match the ledger: refused,
        # naming the field (seed 002: "belopp/fakturanummer i underlaget stämmer med reskontran")
        basis = {"amount_ore": 90_000, "invoice_number": number, "reason": "insolvent"}
        r = await write_down(fordra, iid, {**basis, "amount_ore": 100_000})
        field, rule, message = refused(r)
        assert (field, rule) == ("amount_ore", "check_amount_matches_ledger")
        assert "90000 öre" in message
        r = await write_down(fordra, iid, {**basis, "invoice_number": "999"})
        assert refused(r)[:2] == ("invoice_number", "check_invoice_number_matches_ledger")
        r = await write_down(fordra, iid, basis, Role.CASE_OFFICER)
        assert r.status_code == 403, r.text
        # And when it matches, it is written down, once
        r = await write_down(fordra, iid, basis)
        assert r.status_code == 201, r.text
        assert r.json()["amount_ore"] == 90_000
        assert (await collection(fordra, iid))["stage"] == "written_down"
        r = await write_down(fordra, iid, basis)
        assert refused(r)[1] == "check_claim_not_written_down"
        # Then capital paid later reverses that much of the write-down (a recovered loss)
        await pay(fordra, invoice["ocr"], "300.00", "PART-2")
        (recovered,) = await dunning_events(fordra, WriteDownRecovered)
        assert recovered.amount_ore == 30_000
        # And a write-off ends it: 600 kr open, all of it still written down
        r = await write_off(fordra, iid, {"reason": "bankruptcy", "decision_reference": "K 12"})
        assert r.status_code == 201, r.text
        assert (r.json()["amount_ore"], r.json()["value_adjustment_ore"]) == (60_000, 60_000)
        (down,) = await dunning_events(fordra, ClaimWrittenDown)
        assert down.amount_ore == 90_000
        kinds = {s["kind"] for s in await credit_stops(fordra, Role.OPS_LEAD)}
        assert kinds == {"written_down", "written_off"}


async def test_a_claim_in_an_active_plan_is_not_written_down(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        invoice = await issue(fordra, cid)
        await advance(fordra, "2026-04-03")
        plan = await draw_up_plan(fordra, cid, invoice["invoice_id"])
        basis = {
            "amount_ore": 100_000,
            "invoice_number": invoice["invoice_number"],
            "reason": "insolvent",
        }
        r = await write_down(fordra, invoice["invoice_id"], basis)
        _, rule, message = refused(r)
        assert rule == "check_no_active_plan"
        assert plan["plan_id"] in message
        assert await dunning_events(fordra, ClaimWrittenDown) == []
