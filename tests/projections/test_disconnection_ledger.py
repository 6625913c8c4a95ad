"""The customer ledger shows the whole disconnection process (issue 16): each case of the
customer's with its steps and their days, the service and the earliest disconnection, the blocks
in force, what the demand asks and the claims it covers, and on each covered claim the case's
status; electricity and water, on both engines, and the same after a rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.kernel.projection import ProjectionRunner
from fordra.projections.application.customer_ledger import CustomerLedgerProjection
from tests.scenarios.test_dunning_flow import advance, pay
from tests.utility_disconnect.test_disconnection_cases import (
    TODAY,
    a_material_claim,
    act,
    open_case,
    rule_of,
    step,
)
from tests.utility_disconnect.test_water_cases import (
    MATERIAL,
    REMINDER,
    a_water_debt,
    post,
)
from tests.utility_disconnect.test_water_cases import TODAY as WATER_TODAY
from tests.utility_disconnect.test_water_cases import open_case as open_water_case
from tests.utils.money import correct, ledger
from tests.utils.platform import Engine, Running, running_platform


async def case_on_ledger(
    fordra: Running, customer_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer's one case and the ledger the case is on (once the ledger caught up: a
    refused act's block is appended without the wait a command answers after)."""
    await fordra.platform.settle()
    book = await ledger(fordra, customer_id)
    (case,) = book["disconnection_cases"]
    return case, book


def steps_of(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["kind"], s["on"]) for s in case["steps"]]


async def test_an_electricity_case_step_by_step_on_the_ledger(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a consumer's material supply claim and a case opened for it
        person, flat, invoice = await a_material_claim(fordra)
        await advance(fordra, "2026-02-16")
        case_id = (await open_case(fordra, flat))["case_id"]
        case, book = await case_on_ledger(fordra, person)
        assert (case["case_id"], case["supply_point_id"], case["utility"]) == (
            case_id,
            flat,
            "electricity",
        )
        assert (case["status"], case["steps"], case["opened_on"]) == ("open", [], "2026-02-16")
        assert case["invoice_ids"] == [invoice["invoice_id"]]
        assert book["by_id"][invoice["invoice_id"]]["disconnection_status"] == "open"
        # When the collection demand and the request to remedy go out
        await step(fordra, case_id)
        await advance(fordra, "2026-02-27")
        await step(fordra, case_id)
        case, _ = await case_on_ledger(fordra, person)
        assert steps_of(case) == [
            ("collection_demand", "2026-02-16"),
            ("request_to_remedy", "2026-02-27"),
        ]
        assert case["demand_ore"] == 120_000
        # And the claim is disputed before the notice: the notice is refused, the block shown
        await correct(fordra, invoice["invoice_id"], "dispute")
        await advance(fordra, "2026-03-16")
        assert rule_of(await act(fordra, case_id, "steps", {})) == "blocked_disputed"
        case, _ = await case_on_ledger(fordra, person)
        assert case["blocks"] == [{"reason": "disputed", "on": "2026-03-16"}]
        assert case["status"] == "open"
        # Then the dispute resolved, the block is lifted and the notice goes out
        r = await correct(
            fordra, invoice["invoice_id"], "dispute-resolution", outcome="claim_stands"
        )
        assert r.status_code in {200, 201}, r.text
        notice = await step(fordra, case_id)
        assert notice["kind"] == "notice"
        case, book = await case_on_ledger(fordra, person)
        assert (case["status"], case["blocks"]) == ("noticed", [])
        assert book["by_id"][invoice["invoice_id"]]["disconnection_status"] == "noticed"
        # And the service gives the earliest disconnection (domain.md §6: 04-07 -> 04-29)
        await advance(fordra, "2026-04-07")
        r = await act(fordra, case_id, "service", {"served_on": "2026-04-07"})
        assert r.status_code == 200, r.text
        case, _ = await case_on_ledger(fordra, person)
        assert (case["served_on"], case["earliest_disconnection_on"]) == (
            "2026-04-07",
            "2026-04-29",
        )
        # When it is ordered and executed, then paid and reconnected
        await advance(fordra, "2026-04-29")
        for what in ("order", "disconnection"):
            body = {"date": "2026-04-29"} if what == "order" else {}
            r = await act(fordra, case_id, what, body)
            assert r.status_code == 201, r.text
        case, book = await case_on_ledger(fordra, person)
        assert book["by_id"][invoice["invoice_id"]]["disconnection_status"] == "disconnected"
        await advance(fordra, "2026-05-04")
        await pay(fordra, invoice["ocr"], "1200.00", "PAID-IN-FULL")
        r = await act(fordra, case_id, "reconnection", {})
        assert r.status_code == 201, r.text
        # Then the ledger shows the whole process, each step on its day, the visits charged
        case, book = await case_on_ledger(fordra, person)
        assert steps_of(case) == [
            ("collection_demand", "2026-02-16"),
            ("request_to_remedy", "2026-02-27"),
            ("notice", "2026-03-16"),
            ("order", "2026-04-29"),
            ("disconnection", "2026-04-29"),
            ("reconnection", "2026-05-04"),
        ]
        assert case["status"] == "reconnected"
        assert case["costs_ore"] > 0
        row = book["by_id"][invoice["invoice_id"]]
        assert (row["disconnection_case_id"], row["disconnection_status"]) == (
            case_id,
            "reconnected",
        )
        assert (row["status"], row["open_ore"]) == ("paid", 0)
        # And no note of a block, no name nor address is on it (domain.md §2)
        assert "note" not in str(book["disconnection_cases"])

        # And as of a past day the case and the claim read as they stood (issue 17)
        stood = {}
        for day in ("2026-02-15", "2026-02-27", "2026-03-16", "2026-04-29"):
            r = await fordra.client.get(
                f"/api/v1/customers/{person}/ledger",
                params={"as_of": day},
                headers=fordra.auth(Role.CASE_OFFICER),
            )
            assert r.status_code == 200, r.text
            (claim,) = r.json()["claims"]
            cases = r.json()["disconnection_cases"]
            stood[day] = (
                claim["disconnection_status"],
                [len(c["steps"]) for c in cases],
                [b["reason"] for c in cases for b in c["blocks"]],
            )
        assert stood == {
            "2026-02-15": (None, [], []),
            "2026-02-27": ("open", [2], []),
            "2026-03-16": ("noticed", [3], []),
            "2026-04-29": ("disconnected", [5], []),
        }


async def test_a_water_case_on_the_ledger(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=WATER_TODAY) as fordra:
        # Given an owner's water debt, a case opened and the letter sent
        owner, point, invoice = await a_water_debt(fordra)
        await advance(fordra, REMINDER)
        case_id = await open_water_case(fordra, point)
        case, book = await case_on_ledger(fordra, owner)
        assert (case["case_id"], case["utility"], case["status"]) == (case_id, "water", "open")
        await advance(fordra, "2026-05-21")
        r = await post(fordra, f"/{case_id}/letter", MATERIAL)
        assert r.status_code == 201, r.text
        case, book = await case_on_ledger(fordra, owner)
        assert case["status"] == "lettered"
        # Only the water is demanded, at the latest 45 days from the due date (domain.md §7)
        assert (case["demand_ore"], case["latest_disconnection_on"]) == (310_000, "2026-06-18")
        assert case["invoice_ids"] == [invoice["invoice_id"]]
        assert book["by_id"][invoice["invoice_id"]]["disconnection_status"] == "lettered"
        # When it is shut off, then paid and turned on again
        await advance(fordra, "2026-06-05")
        r = await post(fordra, f"/{case_id}/shut-off", MATERIAL)
        assert r.status_code == 201, r.text
        case, _ = await case_on_ledger(fordra, owner)
        assert case["status"] == "disconnected"
        await advance(fordra, "2026-06-08")
        await pay(fordra, invoice["ocr"], "3100.00", "WATER-1")
        r = await post(fordra, f"/{case_id}/reconnection", {})
        assert r.status_code == 201, r.text
        # Then every step is on the ledger, no block in force, the visits and the fee charged
        case, book = await case_on_ledger(fordra, owner)
        assert steps_of(case) == [
            ("water_letter", "2026-05-21"),
            ("shut_off", "2026-06-05"),
            ("reconnection", "2026-06-08"),
        ]
        assert (case["status"], case["blocks"], case["costs_ore"]) == ("reconnected", [], 118_000)
        assert book["by_id"][invoice["invoice_id"]]["disconnection_status"] == "reconnected"
        # And no property designation is on it: it tells where the owner lives (domain.md §2)
        assert "Kåhult" not in str(book)


async def test_the_cases_on_the_ledger_rebuild_identical(tmp_path: Path) -> None:
    # Embedded only: it replays through the runner directly (as tests/scenarios/test_rebuild.py)
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a case noticed, with a block recorded and lifted on the way
        person, flat, invoice = await a_material_claim(fordra)
        await advance(fordra, "2026-02-16")
        case_id = (await open_case(fordra, flat))["case_id"]
        await step(fordra, case_id)
        await advance(fordra, "2026-02-27")
        await step(fordra, case_id)
        await correct(fordra, invoice["invoice_id"], "dispute")
        await advance(fordra, "2026-03-16")
        assert rule_of(await act(fordra, case_id, "steps", {})) == "blocked_disputed"
        await fordra.platform.settle()
        before = await ledger(fordra, person)
        assert before["disconnection_cases"][0]["blocks"] != []

        # When the ledger is reset and replayed, the disconnection log first
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
        for upstream in sorted(runner.projection.upstreams, reverse=True):
            events = await platform.stores[upstream].read_log(0, 100_000)
            await runner.handle(upstream, events)
        await platform.bus.start()

        # Then it is what it was
        assert await ledger(fordra, person) == before
