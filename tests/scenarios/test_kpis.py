"""The key figures through the whole platform on both engines (issue 17 "KPIs", seed 004):
invoices issued, paid, reminded and handed to the agency across three months, the agency's
collection and close, and each figure of ``GET /api/v1/kpis`` checked against what was done."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.contracts.dunning import LateInterestCharged, ReminderSent
from fordra.kernel.auth import Role
from tests.utils.agency import AGENCY_SETTINGS, advance, handed_over, report
from tests.utils.invoicing import personnummer
from tests.utils.money import customer, issue, pay
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 3, 2)
KARIN = {
    "id_number": personnummer("19650505", 3),
    "name": "Karin Lund",
    "address": {"street": "Torget 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def kpis(fordra: Running, start: str, end: str) -> dict[str, Any]:
    r = await fordra.client.get(
        "/api/v1/kpis", params={"from": start, "to": end}, headers=fordra.auth(Role.OPS_LEAD)
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def dunning_events(fordra: Running, kind: type[Any]) -> list[Any]:
    store = fordra.platform.stores["dunning"]
    registry = fordra.platform.registry
    return [
        registry.load(env)
        for env in await store.read_log(0, 100_000)
        if env.event_type == kind.event_type
    ]


async def test_the_key_figures_of_three_months(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY, agency=AGENCY_SETTINGS) as fordra:
        # Given two childcare invoices to Karin on 2 March, one of them paid the same day
        karin = await customer(fordra, KARIN)
        paid = await issue(fordra, karin, 50_000, invoice_date="2026-03-02")
        unpaid = await issue(fordra, karin, 30_000, invoice_date="2026-03-02")
        await pay(fordra, (paid["ocr"], 50_000))
        # And a premises rent of 1,000 kr to Tolvan, reminded on 8 April and handed to the
        # agency on 21 April (tests/utils/agency.handed_over)
        handed = await handed_over(fordra)
        # And on 21 April a third childcare invoice to Karin, left unpaid
        late = await issue(fordra, karin, 20_000, invoice_date="2026-04-21")
        assert (unpaid["due_date"], handed["due_date"], late["due_date"]) == (
            "2026-04-01",
            "2026-04-01",
            "2026-05-21",
        )
        # When the agency collects the whole capital with interest and its fee, and closes
        await advance(fordra, "2026-05-05")
        base = {"case_id": handed["case_id"]}
        await report(
            fordra, {**base, "event_id": "e1", "kind": "opened", "occurred_on": "2026-04-22"}
        )
        await report(
            fordra,
            {
                **base,
                "event_id": "e2",
                "kind": "payment_collected",
                "occurred_on": "2026-05-04",
                "capital_ore": handed["total_ore"],
                "interest_ore": 1500,
                "reminder_fee_ore": 0,
                "collection_fee_ore": 18000,
                "municipality_share_ore": handed["total_ore"] + 19500,
            },
        )
        await report(
            fordra, {**base, "event_id": "e3", "kind": "closed", "occurred_on": "2026-05-05"}
        )
        await advance(fordra, "2026-05-31")
        reminders = await dunning_events(fordra, ReminderSent)
        charged = await dunning_events(fordra, LateInterestCharged)

        # Then March: three invoices for 1,800 kr, none yet handed over; on 31 March the unpaid
        # childcare fee and the rent are open and not yet due (both due 1 April)
        march = await kpis(fordra, "2026-03-01", "2026-03-31")
        assert (march["invoices_issued"], march["invoiced_ore"]) == (3, 180_000)
        assert (march["handed_to_agency"], march["handed_to_agency_percent"]) == (0, 0.0)
        assert march["agency_success_rate_percent"] is None
        assert march["receivables_open_ore"] == 30_000 + 100_000
        assert march["aged_receivables"]["not_yet_due_ore"] == 130_000
        # DSO: 1,300 kr open of 1,800 kr invoiced in 31 days
        assert march["days_sales_outstanding"] == round(130_000 / 180_000 * 31, 1)
        assert (march["fee_income_ore"], march["interest_income_ore"]) == (0, 0)

        # And April: one invoice issued, one claim handed over; on 30 April the childcare fee
        # and the rent are 29 days past due, the April invoice not yet due
        april = await kpis(fordra, "2026-04-01", "2026-04-30")
        assert (april["invoices_issued"], april["handed_to_agency"]) == (1, 1)
        assert april["handed_to_agency_percent"] == 100.0
        aged = april["aged_receivables"]
        assert (aged["days_0_30_ore"], aged["not_yet_due_ore"]) == (130_000, 20_000)
        assert april["agency_cases_ended"] == 0
        # The reminder of 8 April charged what dunning's letter charged
        assert april["fee_income_ore"] == sum(r.fee_ore for r in reminders)

        # And the three months: 4 invoices, 1 handed over (25.0 %), the agency's one case ended
        # with the whole capital collected (100.0 %); on 31 May the April invoice is 10 days past
        # due and March's childcare fee 60
        whole = await kpis(fordra, "2026-03-01", "2026-05-31")
        assert (whole["invoices_issued"], whole["invoiced_ore"]) == (4, 200_000)
        assert (whole["handed_to_agency"], whole["handed_to_agency_percent"]) == (1, 25.0)
        assert (whole["agency_cases_ended"], whole["agency_successes"]) == (1, 1)
        assert whole["agency_success_rate_percent"] == 100.0
        assert whole["aged_receivables"] == {
            "not_yet_due_ore": 0,
            "days_0_30_ore": 20_000,
            "days_31_60_ore": 30_000,
            "days_61_90_ore": 0,
            "days_91_plus_ore": 0,
            "total_ore": 50_000,
        }
        assert whole["receivables_open_ore"] == 50_000
        assert whole["days_sales_outstanding"] == round(50_000 / 200_000 * 92, 1)
        # Fees: the reminders' and the agency's 180 kr collection fee; interest: the late
        # interest charged on the rent once paid and what the agency collected
        assert whole["fee_income_ore"] == sum(r.fee_ore for r in reminders) + 18_000
        assert charged, "the rent was paid late: late interest is charged"
        assert whole["interest_income_ore"] == sum(c.amount_ore for c in charged) + 1_500

        # And a period that ends before it begins is refused, naming `to`
        r = await fordra.client.get(
            "/api/v1/kpis",
            params={"from": "2026-05-01", "to": "2026-04-01"},
            headers=fordra.auth(Role.OPS_LEAD),
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"][-1] == "to"
        # And a department does not read the municipality's figures
        r = await fordra.client.get(
            "/api/v1/kpis",
            params={"from": "2026-03-01", "to": "2026-05-31"},
            headers=fordra.auth(Role.DEPARTMENT, department="childcare"),
        )
        assert r.status_code == 403, r.text


async def test_the_figures_and_the_register_rebuilt_from_zero_are_the_same(tmp_path: Path) -> None:
    # Embedded only: it replays through the runners directly, each context's log in turn and
    # the last first (a rebuild has no order between contexts), as tests/scenarios/test_rebuild.py.
    async with running_platform(
        "embedded", tmp_path, today=TODAY, agency=AGENCY_SETTINGS
    ) as fordra:
        # Given a few months as in the scenario above, and a case raised and one by hand
        karin = await customer(fordra, KARIN)
        paid = await issue(fordra, karin, 50_000, invoice_date="2026-03-02")
        await issue(fordra, karin, 30_000, invoice_date="2026-03-02")
        await pay(fordra, (paid["ocr"], 50_000))
        r = await fordra.client.post(
            "/api/v1/cases",
            json={"kind": "reconciliation", "received_at": "2026-03-02T08:00:00Z"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        await handed_over(fordra)
        await advance(fordra, "2026-05-31")

        async def read() -> list[Any]:
            officer = fordra.auth(Role.OPS_LEAD)
            answers = [
                await fordra.client.get(
                    "/api/v1/kpis",
                    params={"from": "2026-03-01", "to": "2026-05-31"},
                    headers=officer,
                ),
                await fordra.client.get("/api/v1/cases", headers=officer),
                await fordra.client.get(
                    "/api/v1/sla/dashboard", params={"week": "2026-W10"}, headers=officer
                ),
            ]
            assert all(a.status_code == 200 for a in answers)
            return [a.json() for a in answers]

        before = await read()
        assert before[0]["invoices_issued"] == 3
        assert len(before[1]["items"]) == 1

        # When the register's and the figures' read models are reset and replayed
        platform = fordra.platform
        assert platform.bus is not None
        await platform.bus.stop()
        for runner in platform.runners:
            if runner.projection.name not in ("kpis", "case_register"):
                continue
            await runner.reset()
            for upstream in sorted(runner.projection.upstreams, reverse=True):
                events = await platform.stores[upstream].read_log(0, 100_000)
                await runner.handle(upstream, events)
        await platform.bus.start()

        # Then every figure and every case is what it was
        assert await read() == before
