"""The demo municipality loads under every rule, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.app.demo import demo_history_start, load_demo
from fordra.kernel.auth import Role
from tests.utils.platform import running_platform


async def test_the_demo_loads_once_under_every_rule(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=date(2026, 1, 20)) as fordra:
        # When the demo is loaded twice
        ids = await load_demo(fordra.platform)
        head = await fordra.platform.stores["invoicing"].max_position()
        assert await load_demo(fordra.platform) == ids
        # Then the second load appended nothing, and the first issued all six invoices
        assert await fordra.platform.stores["invoicing"].max_position() == head
        invoices = 0
        for cid in ids:
            r = await fordra.client.get(
                f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
            )
            invoices += len(r.json()["invoices"])
        assert invoices == 6


async def test_the_demo_lives_four_months_that_every_page_can_show(tmp_path: Path) -> None:
    # fordra run --demo: a manual clock from 120 days back, walked to today
    today = date(2026, 6, 1)
    start = demo_history_start(today)
    async with running_platform("embedded", tmp_path, today=start) as fordra:
        ids = await load_demo(fordra.platform, history_until=today)
        assert fordra.platform.clock.today() == today
        officer = fordra.auth(Role.CASE_OFFICER)
        # Anna's childcare billed each fourth week, one of them paid by its OCR number
        r = await fordra.client.get(f"/api/v1/customers/{ids[0]}/ledger", headers=officer)
        anna = r.json()["invoices"]
        childcare = [i for i in anna if i["service_type"] == "childcare"]
        assert len(childcare) >= 4
        assert any(i["status"] == "paid" for i in childcare)
        # The daily runs reminded what stayed unpaid, and handed it over to the agency
        stages = set()
        for cid in ids:
            r = await fordra.client.get(f"/api/v1/customers/{cid}/ledger", headers=officer)
            for invoice in r.json()["invoices"]:
                c = await fordra.client.get(
                    f"/api/v1/invoices/{invoice['invoice_id']}/collection", headers=officer
                )
                stages.add(c.json()["stage"])
        assert {"reminded", "handed_over"} <= stages, stages
        # The KPIs of the four months count what happened
        r = await fordra.client.get(
            f"/api/v1/kpis?from={start}&to={today}", headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code == 200, r.text
        kpis = r.json()
        assert kpis["invoices_issued"] >= 4  # the monthly childcare; the first six predate it
        assert kpis["handed_to_agency"] >= 1
        # And walking again changes nothing
        head = await fordra.platform.stores["invoicing"].max_position()
        await load_demo(fordra.platform, history_until=today)
        assert await fordra.platform.stores["invoicing"].max_position() == head
