"""The case that opens on its own, on both engines (issue 16, domain.md §4 and §6): an electricity
policy whose next step is disconnection; a consumer's material claim goes reminder -> (its
handover day) case opened automatically with dunning's letter as its collection demand, then the
request to remedy by a case officer, another claim of the same supply point referred with it
covered by that one case; a claim under the floor, a business customer's and one that
names no supply point are declined, naming the rule, and handed to the agency as they would have
been. A redelivered referral changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.contracts.dunning import HandedToAgency, ReferredForDisconnection
from fordra.contracts.utility_disconnect import DisconnectionDeclined
from fordra.kernel.auth import Role
from fordra.kernel.process import ProcessManagerRunner
from fordra.utility_disconnect.domain.procedure import DisconnectionCaseOpened
from tests.invoicing.test_render import flat, html_text
from tests.scenarios.test_dunning_flow import advance, approve, collection, proposals_for
from tests.utility_disconnect.test_disconnection_cases import cases_of, step
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


async def opt_in_to_disconnection(fordra: Running) -> None:
    """The municipality's electricity policies: seed 001's timeline, then disconnection."""
    for service_type in ("electricity_grid", "electricity_supply"):
        r = await fordra.client.put(
            f"/api/v1/dunning/policies/{service_type}",
            json={
                "valid_from": TODAY.isoformat(),
                "model": "reminder_then_handover",
                "reminder_after_days": 7,
                "reminder_fee_ore": 0,
                "reminder_fee_agreed": False,
                "handover_after_reminder_days": 10,
                "next_step": "disconnection",
                "exempt_customer_ids": [],
            },
            headers=fordra.auth(Role.OPS_LEAD),
        )
        assert r.status_code == 200, r.text


async def remind(fordra: Running, invoice_id: str) -> str:
    (reminder,) = await proposals_for(fordra, invoice_id)
    assert reminder["kind"] == "reminder"
    letter_id = (await approve(fordra, reminder["proposal_id"]))["letter_id"]
    assert isinstance(letter_id, str)
    return letter_id


async def stage(fordra: Running, invoice_id: str) -> str:
    return str((await collection(fordra, invoice_id))["stage"])


async def test_a_material_claim_opens_its_case_and_the_others_go_to_the_agency(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a municipality whose electricity policy ends in disconnection
        await opt_in_to_disconnection(fordra)
        # and a consumer's flat in Tranemo (annual cost 1,800 kr) with an unpaid 1,200 kr supply
        # invoice: above the 1,000 kr floor and a third of the cost, material
        person = await customer(fordra)
        home = await supply_point(fordra, person, site_municipality="Tranemo")
        material = await electricity_invoice(
            fordra, person, home, ("electricity_supply", 120_000), invoice_date="2026-01-02"
        )
        # and its 300 kr grid invoice, referred the same day: covered by the same case
        grid = await electricity_invoice(
            fordra, person, home, ("electricity_grid", 30_000), invoice_date="2026-01-02"
        )
        # and the same consumer's summer cottage with 900 kr unpaid: under the floor
        cottage = await supply_point(fordra, person)
        small = await electricity_invoice(
            fordra, person, cottage, ("electricity_supply", 90_000), invoice_date="2026-01-02"
        )
        # and the consumer's villa with two close unpaid 400 kr invoices: a case officer weighs
        # them (manual), so no case opens on its own
        villa = await supply_point(fordra, person, category="house")
        weighed = [
            await electricity_invoice(
                fordra, person, villa, ("electricity_supply", 40_000), invoice_date="2026-01-02"
            )
            for _ in range(2)
        ]
        # and a business's office with 5,000 kr unpaid, and an invoice naming no supply point
        business = await customer(fordra, ORGANISATION)
        office = await supply_point(fordra, business, category="house")
        business_bill = await electricity_invoice(
            fordra, business, office, ("electricity_grid", 500_000), invoice_date="2026-01-02"
        )
        pointless = await electricity_invoice(
            fordra, person, None, ("electricity_grid", 150_000), invoice_date="2026-01-02"
        )
        invoices = [material, grid, small, *weighed, business_bill, pointless]
        ids = [i["invoice_id"] for i in invoices]

        # When each is reminded 7 days after its due date (2026-02-02)
        await advance(fordra, "2026-02-09")
        letters = [await remind(fordra, i) for i in ids]
        # Then the reminder threatens neither disconnection nor the agency (the breach is not
        # yet assessed, domain.md §6) and never mentions the social services
        r = await fordra.client.get(
            f"/api/v1/letters/{letters[0]}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        text = flat(html_text(r.text))
        assert "fortsätter vi att driva in fordringen" in text
        for word in ("stängas av", "avstängning", "inkasso", "socialnämnd"):
            assert word not in text.lower()

        # When the reminder's pay-by date (2026-02-19) passes unpaid: nothing before it
        await advance(fordra, "2026-02-19")
        assert await events_of(fordra, "dunning", ReferredForDisconnection) == []
        await advance(fordra, "2026-02-20")
        # Then on its handover day each claim is referred instead of handed over
        referred = await events_of(fordra, "dunning", ReferredForDisconnection)
        assert {(e.invoice_id, e.supply_point_id, e.demand_sent_on) for e in referred} == {
            (material["invoice_id"], home, date(2026, 2, 9)),
            (grid["invoice_id"], home, date(2026, 2, 9)),
            (small["invoice_id"], cottage, date(2026, 2, 9)),
            *((w["invoice_id"], villa, date(2026, 2, 9)) for w in weighed),
            (business_bill["invoice_id"], office, date(2026, 2, 9)),
            (pointless["invoice_id"], None, date(2026, 2, 9)),
        }
        assert await proposals_for(fordra, material["invoice_id"]) == []
        # and the run of the day asked for again refers nothing more
        r = await fordra.client.post(
            "/api/v1/dunning/runs", json={"date": "2026-02-20"}, headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code == 200, r.text
        assert len(await events_of(fordra, "dunning", ReferredForDisconnection)) == len(ids)

        # And the consumer's material claim opened its case on its own, its collection demand
        # (dunning's letter) done
        (opened,) = await events_of(fordra, CONTEXT, DisconnectionCaseOpened)
        assert (opened.supply_point_id, opened.opened, opened.opened_on) == (
            home,
            "automatic",
            date(2026, 2, 20),
        )
        assert opened.collection_demand_sent_on == date(2026, 2, 9)
        (case,) = await cases_of(fordra, person)
        assert (case["case_id"], case["supply_point_id"]) == (opened.case_id, home)
        assert [(s["kind"], s["on"]) for s in case["steps"]] == [
            ("collection_demand", "2026-02-09")
        ]
        # (one case for the supply point: the grid claim referred with it is covered by it)
        for invoice_id in (material["invoice_id"], grid["invoice_id"]):
            assert await stage(fordra, invoice_id) == "referred_for_disconnection"
        # And the others were declined, each naming its rule
        declined = {
            e.invoice_id: e.rule for e in await events_of(fordra, CONTEXT, DisconnectionDeclined)
        }
        assert declined == {
            small["invoice_id"]: "material_breach",
            **{w["invoice_id"]: "materiality_manual_needs_decision" for w in weighed},
            business_bill["invoice_id"]: "consumers_only",
            pointless["invoice_id"]: "no_supply_point",
        }
        assert await cases_of(fordra, business) == []

        # When the next business day's run comes, the declined claims are proposed for handover
        # as they would have been, and the case's claim is not
        await advance(fordra, "2026-02-23")
        assert await proposals_for(fordra, material["invoice_id"]) == []
        assert await proposals_for(fordra, grid["invoice_id"]) == []
        for invoice_id in declined:
            (handover,) = await proposals_for(fordra, invoice_id)
            assert handover["kind"] == "handover"
            assert await approve(fordra, handover["proposal_id"]) == {"letter_id": None}
            assert await stage(fordra, invoice_id) == "handed_over"
        handed = await events_of(fordra, "dunning", HandedToAgency)
        assert {e.invoice_id for e in handed} == set(declined)

        # And a case officer takes the case's request to remedy: the first letter that may
        # speak of disconnection, re-assessed today
        # (it demands the point's overdue grid and supply capital: both referred claims)
        request = await step(fordra, opened.case_id)
        assert (request["kind"], request["on"], request["demand_ore"]) == (
            "request_to_remedy",
            "2026-02-23",
            150_000,
        )
        (case,) = await cases_of(fordra, person)
        assert [s["kind"] for s in case["steps"]] == ["collection_demand", "request_to_remedy"]

        # And a referral delivered again changes nothing
        await redeliver_referrals(fordra)
        assert len(await events_of(fordra, CONTEXT, DisconnectionCaseOpened)) == 1
        assert len(await events_of(fordra, CONTEXT, DisconnectionDeclined)) == 5


async def redeliver_referrals(fordra: Running) -> None:
    """Hand the automatic opening's consumer dunning's referrals again, as a bus redelivers."""
    (runner,) = [
        sub.consumer
        for sub in fordra.platform.subscriptions
        if sub.consumer.name == "process:disconnect-automatic-opening"
    ]
    assert isinstance(runner, ProcessManagerRunner)
    log = await fordra.platform.stores["dunning"].read_log(0, limit=100_000)
    referrals = [e for e in log if e.event_type == ReferredForDisconnection.event_type]
    before = await fordra.platform.stores[CONTEXT].read_log(0, limit=100_000)
    await runner.handle("dunning", referrals)
    after = await fordra.platform.stores[CONTEXT].read_log(0, limit=100_000)
    assert len(after) == len(before)
