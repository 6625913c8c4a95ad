"""A disconnection case over HTTP on both engines (issue 16, domain.md §6, ellagen 11 kap.): opened
by hand for a consumer's material electricity claim, the collection demand, the request to remedy
and the notice each after the time of the one before and each re-assessed, the board told where
the electricity is delivered, the order refused without service and within 3 weeks of it, the
disconnection executed and reconnected only once the claim is paid, each visit charged; a
partial payment that leaves the breach no longer material, a recorded risk and a dispute each
stop it with a block of their own."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.utility_disconnect.domain.procedure import (
    DisconnectionBlocked,
    DisconnectionCostCharged,
    DisconnectionNoticed,
    MaterialityAssessed,
    SocialServicesMessageQueued,
)
from tests.scenarios.test_dunning_flow import advance, pay
from tests.utility_disconnect.test_supply_points import (
    ORGANISATION,
    customer,
    electricity_invoice,
    events_of,
    supply_point,
)
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 1, 2)
CONTEXT = "utility-disconnect"


async def open_case(fordra: Running, supply_point_id: str, code: int = 201) -> dict[str, Any]:
    r = await fordra.client.post(
        "/api/v1/disconnection/cases",
        json={"supply_point_id": supply_point_id},
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def step(fordra: Running, case_id: str, code: int = 201, **body: Any) -> dict[str, Any]:
    r = await fordra.client.post(
        f"/api/v1/disconnection/cases/{case_id}/steps",
        json=body,
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == code, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def act(fordra: Running, case_id: str, what: str, body: dict[str, Any]) -> Any:
    return await fordra.client.post(
        f"/api/v1/disconnection/cases/{case_id}/{what}",
        json=body,
        headers=fordra.auth(Role.CASE_OFFICER),
    )


def rule_of(r: Any) -> str:
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    return str(problem["type"])


async def cases_of(fordra: Running, customer_id: str) -> list[dict[str, Any]]:
    r = await fordra.client.get(
        "/api/v1/disconnection/cases",
        params={"customer_id": customer_id},
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def a_material_claim(fordra: Running) -> tuple[str, str, dict[str, Any]]:
    """A consumer in Svenljunga whose flat in Tranemo (annual cost 1,800 kr) has an unpaid supply
    invoice of 1,200 kr, due 2026-02-02: above the 1,000 kr floor and a third of the cost."""
    person = await customer(fordra)
    flat = await supply_point(fordra, person, site_municipality="Tranemo")
    invoice = await electricity_invoice(
        fordra, person, flat, ("electricity_supply", 120_000), invoice_date="2026-01-02"
    )
    assert invoice["due_date"] == "2026-02-02"  # 1 February is a Sunday
    return person, flat, invoice


async def test_a_case_goes_from_demand_to_order_by_the_law(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        person, flat, invoice = await a_material_claim(fordra)
        # A business is never in this procedure; a claim under the floor is not material
        business = await customer(fordra, ORGANISATION)
        office = await supply_point(fordra, business, category="house")
        await electricity_invoice(
            fordra, business, office, ("electricity_grid", 500_000), invoice_date="2026-01-02"
        )
        small = await supply_point(fordra, person)
        await electricity_invoice(
            fordra, person, small, ("electricity_supply", 90_000), invoice_date="2026-01-02"
        )
        await advance(fordra, "2026-02-16")
        assert rule_of(await _open(fordra, office)) == "consumers_only"
        assert rule_of(await _open(fordra, small)) == "material_breach"

        # When a case officer opens a case for the flat and sends the collection demand
        case_id = (await open_case(fordra, flat))["case_id"]
        assert rule_of(await _open(fordra, flat)) == "one_case_per_supply_point"
        demand = await step(fordra, case_id)
        assert (demand["kind"], demand["demand_ore"], demand["until"]) == (
            "collection_demand",
            120_000,
            "2026-02-26",
        )
        # Then the request to remedy waits for the demand's time to pay
        await advance(fordra, "2026-02-20")
        assert rule_of(await act(fordra, case_id, "steps", {})) == "after_collection_demand"
        await advance(fordra, "2026-02-27")
        request = await step(fordra, case_id)
        assert (request["kind"], request["until"]) == ("request_to_remedy", "2026-03-13")
        # And the notice its reasonable time; the board told is Tranemo's, where the electricity
        # is delivered, not Svenljunga's, where the customer lives (ellagen 11:4)
        await advance(fordra, "2026-03-16")
        notice = await step(fordra, case_id)
        assert notice["kind"] == "notice"
        (noticed,) = await events_of(fordra, CONTEXT, DisconnectionNoticed)
        assert (noticed.noticed_on, noticed.demand_ore) == (date(2026, 3, 16), 120_000)
        (message,) = await events_of(fordra, CONTEXT, SocialServicesMessageQueued)
        assert (message.municipality, message.noticed_on) == ("Tranemo", date(2026, 3, 16))
        # And every step was re-assessed and the assessment recorded with it
        assessed = await events_of(fordra, CONTEXT, MaterialityAssessed)
        assert [a.step for a in assessed] == [
            "open",
            "collection_demand",
            "request_to_remedy",
            "notice",
        ]
        assert {a.result for a in assessed} == {"material"}
        # When an order is asked before service is recorded, or within 3 weeks of it: refused
        r = await act(fordra, case_id, "order", {"date": "2026-04-30"})
        assert rule_of(r) == "service_recorded"
        await advance(fordra, "2026-04-07")
        r = await act(fordra, case_id, "service", {"served_on": "2026-04-07"})
        assert r.status_code == 200, r.text
        assert r.json()["earliest_disconnection_on"] == "2026-04-29"
        r = await act(fordra, case_id, "order", {"date": "2026-04-28"})
        assert rule_of(r) == "three_weeks_from_service"
        # Then on the earliest day it is ordered, and the case shows the whole process
        await advance(fordra, "2026-04-29")
        r = await act(fordra, case_id, "order", {"date": "2026-04-29"})
        assert r.status_code == 201, r.text
        (case,) = await cases_of(fordra, person)
        assert case["status"] == "ordered"
        assert [s["kind"] for s in case["steps"]] == [
            "collection_demand",
            "request_to_remedy",
            "notice",
            "order",
        ]
        assert case["blocks"] == []
        # When it is executed the same day: disconnected, the visit charged
        r = await act(fordra, case_id, "disconnection", {})
        assert r.status_code == 201, r.text
        # Then it is reconnected only once the electricity claim is paid
        await advance(fordra, "2026-05-04")
        assert rule_of(await act(fordra, case_id, "reconnection", {})) == "reconnection_on_payment"
        await pay(fordra, invoice["ocr"], "1200.00", "PAID-IN-FULL")
        r = await act(fordra, case_id, "reconnection", {})
        assert r.status_code == 201, r.text
        (case,) = await cases_of(fordra, person)
        assert case["status"] == "reconnected"
        assert [s["kind"] for s in case["steps"]][-2:] == ["disconnection", "reconnection"]
        visits = [
            c.kind
            for c in await events_of(fordra, CONTEXT, DisconnectionCostCharged)
            if c.case_id == case_id
        ]
        assert visits.count("disconnection_visit") == visits.count("reconnection_visit") == 1


async def _open(fordra: Running, supply_point_id: str) -> Any:
    return await fordra.client.post(
        "/api/v1/disconnection/cases",
        json={"supply_point_id": supply_point_id},
        headers=fordra.auth(Role.CASE_OFFICER),
    )


async def test_a_partial_payment_a_risk_or_a_dispute_stops_the_case(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a case past its request to remedy
        person, flat, invoice = await a_material_claim(fordra)
        await advance(fordra, "2026-02-16")
        case_id = (await open_case(fordra, flat))["case_id"]
        await step(fordra, case_id)
        await advance(fordra, "2026-02-27")
        await step(fordra, case_id)
        # When 500 kr is paid before the notice: 700 kr is under the floor
        await pay(fordra, invoice["ocr"], "500.00", "PART-1")
        await advance(fordra, "2026-03-16")
        # Then the notice is refused and the block recorded with its reason
        r = await act(fordra, case_id, "steps", {})
        assert rule_of(r) == "case_ended"
        (block,) = await events_of(fordra, CONTEXT, DisconnectionBlocked)
        assert block.reason == "not_material_after_partial_payment"
        (case,) = await cases_of(fordra, person)
        assert case["status"] == "stopped"
        assert [b["reason"] for b in case["blocks"]] == ["not_material_after_partial_payment"]

        # Given another flat of the customer's, a material claim noticed and served
        other = await supply_point(fordra, person)
        second = await electricity_invoice(
            fordra, person, other, ("electricity_grid", 150_000), invoice_date="2026-03-16"
        )
        await advance(fordra, "2026-04-20")
        other_case = (await open_case(fordra, other))["case_id"]
        await step(fordra, other_case)
        # When a risk is recorded for it (medical equipment): the next step is refused
        r = await fordra.client.post(
            f"/api/v1/supply-points/{other}/risks",
            json={"kind": "medical_equipment", "note": "syrgasapparat i hemmet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        await advance(fordra, "2026-05-04")
        assert rule_of(await act(fordra, other_case, "steps", {})) == "blocked_risk_of_injury"
        # And when its invoice is disputed too, that is a block of its own
        r = await fordra.client.post(
            f"/api/v1/invoices/{second['invoice_id']}/dispute",
            json={"reason": "bestrider mätarställningen"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        assert rule_of(await act(fordra, other_case, "steps", {})).startswith("blocked_")
        reasons = [
            b.reason
            for b in await events_of(fordra, CONTEXT, DisconnectionBlocked)
            if b.case_id == other_case
        ]
        assert reasons == ["risk_of_injury", "disputed"]


async def test_two_close_invoices_open_a_case_only_on_a_case_officer_s_weighing(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a villa with two close unpaid 400 kr supply invoices (domain.md §6: a case officer
        # weighs the total, never automatic)
        person = await customer(fordra)
        villa = await supply_point(fordra, person, category="house")
        for _ in range(2):
            await electricity_invoice(
                fordra, person, villa, ("electricity_supply", 40_000), invoice_date="2026-01-02"
            )
        await advance(fordra, "2026-02-16")
        # When a case is opened without a weighing, it is refused naming the rule
        assert rule_of(await _open(fordra, villa)) == "materiality_manual_needs_decision"
        # And with the case officer's weighing it opens, the weighing and its maker recorded
        r = await fordra.client.post(
            "/api/v1/disconnection/cases",
            json={"supply_point_id": villa, "officer_decision": "material"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        (assessed,) = await events_of(fordra, CONTEXT, MaterialityAssessed)
        assert (assessed.step, assessed.result, assessed.officer_decision) == (
            "open",
            "manual",
            "material",
        )
        assert assessed.decided_by is not None
