"""The materiality assessment as a story on both engines (issue 16, domain.md §6, seed 003): a
claim under the floor never passes, three close unpaid invoices of small amounts pass whatever the
amount, and a business customer is refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.scenarios.test_dunning_flow import advance
from tests.utility_disconnect.test_supply_points import (
    ORGANISATION,
    assessment,
    customer,
    electricity_invoice,
    supply_point,
)
from tests.utils.platform import Engine, running_platform

TODAY = date(2026, 1, 2)


async def test_the_assessment_on_both_engines(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a consumer in a small flat (annual cost 1,800 kr) with one unpaid supply invoice
        # of 900 kr, due 2026-02-01
        person = await customer(fordra)
        flat = await supply_point(fordra, person)
        await electricity_invoice(
            fordra, person, flat, ("electricity_supply", 90_000), invoice_date="2026-01-02"
        )
        # And the business with an unpaid invoice of 5,000 kr
        business = await customer(fordra, ORGANISATION)
        office = await supply_point(fordra, business, category="house")
        await electricity_invoice(
            fordra, business, office, ("electricity_grid", 500_000), invoice_date="2026-01-02"
        )
        # And another flat of the consumer with three monthly supply invoices of 50 kr each
        small = await supply_point(fordra, person)
        due_dates = []
        for day in ("2026-01-02", "2026-02-02", "2026-03-02"):
            await advance(fordra, day)
            invoice = await electricity_invoice(
                fordra, person, small, ("electricity_supply", 5_000), invoice_date=day
            )
            due_dates.append(invoice["due_date"])

        # When all of them have fallen due and stay unpaid
        await advance(fordra, "2026-04-02")

        # Then the claim under the floor is not material: no threat may follow
        under = await assessment(fordra, flat)
        assert under["result"] == "not_material", under
        assert under["inputs"]["parts"]["electricity_supply"]["overdue_capital_ore"] == 90_000
        assert "floor" in under["reason"]

        # And the three close small invoices are material whatever the amount
        three = await assessment(fordra, small)
        assert three["result"] == "material", three
        supply = three["inputs"]["parts"]["electricity_supply"]
        assert supply["close_together_count"] == 3
        assert supply["overdue_capital_ore"] == 15_000
        assert [i["due_date"] for i in supply["overdue_invoices"]] == due_dates

        # And the business is refused: not this procedure at all
        refused = await assessment(fordra, office)
        assert refused["result"] == "refused", refused
        assert "consumers only" in refused["reason"]
