"""Water disconnection cases over HTTP (issue 16 "Water (LAV 43 §)", domain.md §7, seed 001, seed
003 line 363): a case for a property's water supply point, the letter to the owner about 10 days
after the reminder demanding the water charges only (never the waste fee on the same invoice),
with its collection fee and a reasonable time; the shut-off after that time and never after 45
days from the due date (due 2026-05-04 -> at the latest 2026-06-18), never when health would
suffer; the reconnection once paid, 500 kr per visit; a dispute, a payment and bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.kernel.money import format_sek
from fordra.utility_disconnect.domain.procedure import MaterialityAssessed
from fordra.utility_disconnect.domain.water import WaterBlocked, WaterLetterSent, WaterShutOff
from tests.scenarios.test_dunning_flow import advance, pay
from tests.utility_disconnect.test_supply_points import (
    customer,
    electricity_invoice,
    events_of,
    supply_point,
)
from tests.utils.platform import Engine, Running, record_ownership, running_platform

TODAY = date(2026, 4, 4)
CONTEXT = "utility-disconnect"
PROPERTY = "Svenljunga Kåhult 1:23"
REMINDER = "2026-05-11"  # 7 days after the due date 2026-05-04 (domain.md §4)
MATERIAL = {"officer_decision": "material"}


async def water_point(fordra: Running, owner: str, prop: str = PROPERTY) -> str:
    """The owner's property and its water connection (the owner is liable, seed 001)."""
    await record_ownership(fordra, owner, property_designation=prop)
    return await supply_point(
        fordra, owner, utility="water", property_designation=prop, category="house"
    )


async def water_invoice(
    fordra: Running,
    owner: str,
    point: str,
    *,
    water_ore: int = 310_000,
    waste_ore: int = 45_000,
    invoice_date: str = "2026-04-04",
    prop: str = PROPERTY,
) -> dict[str, Any]:
    """A co-billed invoice of the property: water, then a waste fee (amounts incl. 25 % VAT)."""
    lines = [
        {"description": "Vatten och avlopp", "unit_price_ore": water_ore * 4 // 5},
        {"description": "Renhållning", "unit_price_ore": waste_ore * 4 // 5},
    ]
    services = ["water", "waste"]
    body: dict[str, Any] = {
        "customer_id": owner,
        "department": "samhallsbyggnad",
        "service_type": "water" if water_ore else "waste",
        "invoice_date": invoice_date,
        "supply_point_id": point,
        "property_designation": prop,
        "lines": [
            {**line, "vat_rate": 25, "service_type": service}
            for line, service in zip(lines, services, strict=True)
            if line["unit_price_ore"] > 0
        ],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def post(fordra: Running, path: str, body: dict[str, Any], **headers: str) -> Any:
    return await fordra.client.post(
        f"/api/v1/disconnection/water-cases{path}",
        json=body,
        headers={**fordra.auth(Role.CASE_OFFICER), **headers},
    )


async def open_case(fordra: Running, point: str, reminder: str = REMINDER) -> str:
    r = await post(fordra, "", {"supply_point_id": point, "reminder_sent_on": reminder})
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def rule_of(r: Any) -> str:
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    return str(problem["type"])


async def cases_of(fordra: Running, owner: str) -> list[dict[str, Any]]:
    r = await fordra.client.get(
        "/api/v1/disconnection/water-cases",
        params={"customer_id": owner},
        headers=fordra.auth(Role.OPS_LEAD),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def a_water_debt(fordra: Running) -> tuple[str, str, dict[str, Any]]:
    """An owner whose property has 3,100 kr of water and a 450 kr waste fee unpaid on one
    invoice, due Monday 2026-05-04."""
    owner = await customer(fordra)
    point = await water_point(fordra, owner)
    invoice = await water_invoice(fordra, owner, point)
    assert invoice["due_date"] == "2026-05-04"
    return owner, point, invoice


async def test_only_water_is_demanded_and_no_shut_off_after_45_days(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given water and a waste fee unpaid on the same invoice, reminded on 2026-05-11
        owner, point, invoice = await a_water_debt(fordra)
        await advance(fordra, REMINDER)
        case_id = await open_case(fordra, point)
        # When the letter is asked for before about 10 days from the reminder: refused
        await advance(fordra, "2026-05-20")
        assert rule_of(await post(fordra, f"/{case_id}/letter", MATERIAL)) == (
            "water_letter_after_reminder"
        )
        # Then on 2026-05-21 it goes to the owner, demanding the water alone
        await advance(fordra, "2026-05-21")
        r = await post(fordra, f"/{case_id}/letter", MATERIAL)
        assert r.status_code == 201, r.text
        letter = r.json()
        assert letter["demand_ore"] == 310_000
        assert [(i["invoice_id"], i["service_type"], i["amount_ore"]) for i in letter["items"]] == [
            (invoice["invoice_id"], "water", 310_000)
        ]
        assert [(c["kind"], c["amount_ore"]) for c in letter["costs"]] == [
            ("collection_demand", 18_000)
        ]
        # with a reasonable time (14 days) and the last day a shut-off may follow
        assert (letter["remedy_by"], letter["latest_disconnection_on"]) == (
            "2026-06-04",
            "2026-06-18",
        )
        facts = letter["letter"]
        assert facts["customer_id"] == owner
        assert facts["recipient_heading"] == "Till fastighetsägaren"
        assert PROPERTY in facts["heading"]
        assert [i["service_type"] for i in facts["items"]] == ["water"]
        text = " ".join(facts["paragraphs"] + facts["next_step"])
        assert f"betala {format_sek(310_000)} senast 4 juni 2026" in text
        assert "social" not in text.lower()
        (sent,) = await events_of(fordra, CONTEXT, WaterLetterSent)
        assert (sent.demand_ore, sent.reminder_sent_on) == (310_000, date(2026, 5, 11))
        # And the materiality weighed is the water's, with the case officer's decision
        (assessed,) = await events_of(fordra, CONTEXT, MaterialityAssessed)
        assert (assessed.result, assessed.officer_decision) == ("manual", "material")
        assert assessed.inputs["overdue_water_capital_ore"] == 310_000
        # When a shut-off is asked within the time to remedy: refused
        await advance(fordra, "2026-06-04")
        assert rule_of(await post(fordra, f"/{case_id}/shut-off", MATERIAL)) == (
            "after_time_to_remedy"
        )
        # Then after 45 days from the due date it is refused, naming the rule and the last day
        await advance(fordra, "2026-06-19")
        r = await post(fordra, f"/{case_id}/shut-off", MATERIAL)
        assert rule_of(r) == "water_45_days"
        assert "2026-06-18" in r.text
        assert await events_of(fordra, CONTEXT, WaterShutOff) == []
        (case,) = await cases_of(fordra, owner)
        assert case["status"] == "lettered"
        assert case["property_designation"] == PROPERTY
        assert [s["kind"] for s in case["steps"]] == ["water_letter"]
        assert case["costs_ore"] == 18_000


async def test_shut_off_then_reconnected_once_the_water_is_paid(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a letter sent on 2026-05-21, its time to remedy run out
        owner, point, invoice = await a_water_debt(fordra)
        await advance(fordra, REMINDER)
        case_id = await open_case(fordra, point)
        await advance(fordra, "2026-05-21")
        r = await post(fordra, f"/{case_id}/letter", MATERIAL)
        assert r.status_code == 201, r.text
        await advance(fordra, "2026-06-05")
        # When the neglect is not weighed, or weighed as not material: refused
        r = await post(fordra, f"/{case_id}/shut-off", {})
        assert rule_of(r) == "materiality_manual_needs_decision"
        r = await post(fordra, f"/{case_id}/shut-off", {"officer_decision": "not_material"})
        assert rule_of(r) == "material_breach"
        # Then it is shut off, the visit charged 500 kr
        r = await post(fordra, f"/{case_id}/shut-off", MATERIAL)
        assert r.status_code == 201, r.text
        shut = r.json()
        assert (shut["kind"], shut["on"], shut["demand_ore"]) == ("shut_off", "2026-06-05", 310_000)
        assert [(c["kind"], c["amount_ore"]) for c in shut["costs"]] == [
            ("disconnection_visit", 50_000)
        ]
        # When the owner asks to be reconnected unpaid: refused
        await advance(fordra, "2026-06-08")
        assert rule_of(await post(fordra, f"/{case_id}/reconnection", {})) == (
            "reconnection_on_payment"
        )
        # Then once the water is paid (the waste fee still open), the water is turned on again
        await pay(fordra, invoice["ocr"], "3100.00", "WATER-1")
        r = await post(fordra, f"/{case_id}/reconnection", {})
        assert r.status_code == 201, r.text
        assert [(c["kind"], c["amount_ore"]) for c in r.json()["costs"]] == [
            ("reconnection_visit", 50_000)
        ]
        (case,) = await cases_of(fordra, owner)
        assert case["status"] == "reconnected"
        assert [(s["kind"], s["on"]) for s in case["steps"]] == [
            ("water_letter", "2026-05-21"),
            ("shut_off", "2026-06-05"),
            ("reconnection", "2026-06-08"),
        ]
        assert [b["reason"] for b in case["blocks"]] == ["paid"]
        # The ledger of the case: the collection fee and 500 kr per visit
        assert [(c["kind"], c["amount_ore"]) for c in case["costs"]] == [
            ("collection_demand", 18_000),
            ("disconnection_visit", 50_000),
            ("reconnection_visit", 50_000),
        ]
        assert case["costs_ore"] == 118_000
        # A repeated reconnection changes nothing: refused, nothing charged
        assert rule_of(await post(fordra, f"/{case_id}/reconnection", {})) == "steps_in_order"
        (again,) = await cases_of(fordra, owner)
        assert again["costs_ore"] == 118_000


async def test_a_recorded_risk_a_dispute_or_a_payment_stops_the_letter(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given three properties of one owner, each with water unpaid
        owner = await customer(fordra)
        props = ("Svenljunga Kåhult 1:23", "Svenljunga Kåhult 1:24", "Svenljunga Kåhult 1:25")
        risky, disputed, paid = [await water_point(fordra, owner, p) for p in props]
        await water_invoice(fordra, owner, risky, prop=props[0])
        second = await water_invoice(fordra, owner, disputed, prop=props[1])
        third = await water_invoice(fordra, owner, paid, prop=props[2])
        await advance(fordra, REMINDER)
        cases = {p: await open_case(fordra, p) for p in (risky, disputed, paid)}
        # When a risk to health is recorded, an invoice disputed, another paid
        r = await fordra.client.post(
            f"/api/v1/supply-points/{risky}/risks",
            json={"kind": "other_personal_injury", "note": "dialys i hemmet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        r = await fordra.client.post(
            f"/api/v1/invoices/{second['invoice_id']}/dispute",
            json={"reason": "bestrider mätarställningen"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        await pay(fordra, third["ocr"], "3100.00", "WATER-3")
        await advance(fordra, "2026-05-21")
        # Then no letter threatens a shut-off, each refusal naming its rule
        r = await post(fordra, f"/{cases[risky]}/letter", MATERIAL)
        assert rule_of(r) == "blocked_health_risk"
        r = await post(fordra, f"/{cases[disputed]}/letter", MATERIAL)
        assert rule_of(r) == "blocked_disputed"
        r = await post(fordra, f"/{cases[paid]}/letter", MATERIAL)
        assert rule_of(r) == "no_empty_threats"
        # And each block is recorded with its reason; no letter went
        blocks = {b.case_id: b.reason for b in await events_of(fordra, CONTEXT, WaterBlocked)}
        assert blocks == {
            cases[risky]: "health_risk",
            cases[disputed]: "disputed",
            cases[paid]: "paid",
        }
        assert await events_of(fordra, CONTEXT, WaterLetterSent) == []
        listed = {c["case_id"]: c for c in await cases_of(fordra, owner)}
        assert listed[cases[paid]]["status"] == "stopped"
        assert [b["reason"] for b in listed[cases[risky]]["blocks"]] == ["health_risk"]
        # And a shut-off without the written request first is refused too
        r = await post(fordra, f"/{cases[risky]}/shut-off", MATERIAL)
        assert rule_of(r) == "written_request_first"


async def test_bad_input_is_refused_naming_what_is_wrong(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        owner = await customer(fordra)
        point = await water_point(fordra, owner)
        electricity = await supply_point(fordra, owner)
        await electricity_invoice(
            fordra, owner, electricity, ("electricity_supply", 300_000), invoice_date="2026-04-04"
        )
        waste_only = "Svenljunga Kåhult 1:26"
        only_waste = await water_point(fordra, owner, waste_only)
        await water_invoice(fordra, owner, only_waste, water_ore=0, prop=waste_only)
        await water_invoice(fordra, owner, point)
        # Before the due date nothing is overdue: no case
        r = await post(fordra, "", {"supply_point_id": point, "reminder_sent_on": "2026-04-04"})
        assert rule_of(r) == "material_breach"
        await advance(fordra, REMINDER)
        for body, rule in [
            ({"supply_point_id": electricity, "reminder_sent_on": REMINDER}, "water_only"),
            # A waste fee alone is no water claim (seed 003 line 363)
            ({"supply_point_id": only_waste, "reminder_sent_on": REMINDER}, "material_breach"),
            ({"supply_point_id": point, "reminder_sent_on": "2026-05-12"}, "reminder_sent_first"),
        ]:
            assert rule_of(await post(fordra, "", body)) == rule, body
        for body, field in [
            ({"supply_point_id": point}, "reminder_sent_on"),
            ({"supply_point_id": point, "reminder_sent_on": "11 maj"}, "reminder_sent_on"),
            ({"supply_point_id": point, "reminder_sent_on": REMINDER, "x": 1}, "x"),
        ]:
            r = await post(fordra, "", body)
            assert r.status_code == 422, r.text
            assert field in r.text
        r = await post(fordra, "", {"supply_point_id": "nope", "reminder_sent_on": REMINDER})
        assert r.status_code == 404, r.text
        r = await post(fordra, "/nope/letter", MATERIAL)
        assert r.status_code == 404, r.text
        r = await post(fordra, "/nope/letter", {"officer_decision": "maybe"})
        assert r.status_code == 422, r.text
        # Nothing was opened by any of these
        assert await cases_of(fordra, owner) == []
        # A repeated opening with its key answers the same case; a second one is refused
        key = {"Idempotency-Key": "open-water-1"}
        body = {"supply_point_id": point, "reminder_sent_on": REMINDER}
        first = await post(fordra, "", body, **key)
        assert first.status_code == 201, first.text
        again = await post(fordra, "", body, **key)
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
        assert rule_of(await post(fordra, "", body)) == "one_case_per_supply_point"
        assert len(await cases_of(fordra, owner)) == 1


async def test_a_letter_too_late_to_be_followed_within_45_days_is_refused(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a reminder sent late, on 2026-05-31
        _, point, _ = await a_water_debt(fordra)
        await advance(fordra, "2026-05-31")
        case_id = await open_case(fordra, point, reminder="2026-05-31")
        # When the letter would go on 2026-06-10: its time to remedy runs to 2026-06-24, past
        # the last day a shut-off may follow (2026-06-18)
        await advance(fordra, "2026-06-10")
        r = await post(fordra, f"/{case_id}/letter", MATERIAL)
        # Then it is refused: it would threaten what cannot be done
        assert rule_of(r) == "water_45_days"
        assert "2026-06-18" in r.text
        assert await events_of(fordra, CONTEXT, WaterLetterSent) == []


async def test_a_risk_to_health_found_after_the_shut_off_turns_the_water_on_unpaid(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given the water shut off on 2026-06-05
        owner, point, _ = await a_water_debt(fordra)
        await advance(fordra, REMINDER)
        case_id = await open_case(fordra, point)
        await advance(fordra, "2026-05-21")
        assert (await post(fordra, f"/{case_id}/letter", MATERIAL)).status_code == 201
        await advance(fordra, "2026-06-05")
        assert (await post(fordra, f"/{case_id}/shut-off", MATERIAL)).status_code == 201
        # When a risk to health is recorded on the point (LAV 43 §)
        r = await fordra.client.post(
            f"/api/v1/supply-points/{point}/risks",
            json={"kind": "other_personal_injury", "note": "spädbarn i hushållet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        # Then the water is turned on again though the claim is unpaid, the block on record
        r = await post(fordra, f"/{case_id}/reconnection", {})
        assert r.status_code == 201, r.text
        assert r.json()["demand_ore"] == 310_000
        (case,) = await cases_of(fordra, owner)
        assert case["status"] == "reconnected"
        assert [b["reason"] for b in case["blocks"]] == ["health_risk"]
