"""The materiality assessment, pure (domain.md §6, seed 003 lines 23-25): the worked examples of
the rulebook, grid and supply apart, the close-together count, and a business customer."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from fordra.contracts.invoicing import InvoiceLine, VatBreakdown
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.utility_disconnect.domain.materiality import (
    PartClaim,
    assess,
    capital_by_service,
    most_close_together,
)
from fordra.utility_disconnect.domain.settings import DisconnectionSettings
from fordra.utility_disconnect.domain.supply_point import SupplyPoint

TODAY = date(2026, 5, 4)
SETTINGS = DisconnectionSettings()


def point(annual_cost_ore: int = 180_000, category: str = "apartment") -> SupplyPoint:
    return SupplyPoint(
        supply_point_id="sp-1",
        customer_id="c-1",
        utility="electricity",
        site_address="Storgatan 1",
        site_municipality="Svenljunga",
        annual_cost_ore=annual_cost_ore,
        category=category,  # type: ignore[arg-type]
        property_designation="Svenljunga Kyrkan 1:23",
        registered_by="case_officer:anna",
    )


def claim(
    ore: int,
    *,
    part: str = "electricity_supply",
    due: date = date(2026, 4, 1),
    number: str = "1",
    disputed: bool = False,
) -> PartClaim:
    return PartClaim(
        invoice_id=f"inv-{number}-{part}",
        invoice_number=number,
        part=part,
        due_date=due,
        open_capital_ore=ore,
        disputed=disputed,
    )


# -- the rulebook's worked examples (domain.md §6) -----------------------------------------------


def test_a_small_flat_with_900_kr_unpaid_is_not_material() -> None:
    # Annual supply cost 1,800 kr: 900 kr is above 1/3 (600 kr) but not above the floor.
    result = assess(point(), "person", [claim(90_000)], TODAY, SETTINGS)
    assert result.result == "not_material"
    assert "floor of 1\u00a0000,00 kr" in result.reason
    assert result.inputs.thresholds.share_of_annual_cost_ore == 60_000
    assert result.inputs.thresholds.floor_ore == 100_000


def test_1001_kr_unpaid_is_material_the_floor_deciding() -> None:
    result = assess(point(), "person", [claim(100_100)], TODAY, SETTINGS)
    assert result.result == "material"
    assert "invoice 1" in result.reason
    assert "single claim" in result.reason


def test_exactly_the_floor_is_not_above_it() -> None:
    assert assess(point(), "person", [claim(100_000)], TODAY, SETTINGS).result == "not_material"


def test_the_share_decides_when_the_annual_cost_is_high() -> None:
    # Annual cost 6,000 kr: 1/3 = 2,000 kr. 1,500 kr is above the floor but not above the share.
    assert (
        assess(point(600_000), "person", [claim(150_000)], TODAY, SETTINGS).result == "not_material"
    )
    assert assess(point(600_000), "person", [claim(200_001)], TODAY, SETTINGS).result == "material"
    # Exactly a third is not above it.
    assert (
        assess(point(600_000), "person", [claim(200_000)], TODAY, SETTINGS).result == "not_material"
    )


def test_an_electrically_heated_house_has_the_lower_share() -> None:
    # Annual cost 6,000 kr: 1/4 = 1,500 kr; 1,600 kr passes for the heated house only.
    heated = point(600_000, "house_electric_heating")
    assert assess(heated, "person", [claim(160_000)], TODAY, SETTINGS).result == "material"
    assert assess(point(600_000, "house"), "person", [claim(160_000)], TODAY, SETTINGS).result == (
        "not_material"
    )
    assert assess(heated, "person", [], TODAY, SETTINGS).inputs.thresholds.share == "1/4"


# -- counting invoices ------------------------------------------------------------------------


def monthly(n: int, ore: int, part: str = "electricity_supply") -> list[PartClaim]:
    return [
        claim(ore, part=part, due=date(2026, 1, 31) + timedelta(days=30 * i), number=str(i + 1))
        for i in range(n)
    ]


def test_three_close_unpaid_invoices_are_material_whatever_the_amount() -> None:
    result = assess(point(), "person", monthly(3, 5_000), TODAY, SETTINGS)
    assert result.result == "material"
    assert "3 unpaid invoices" in result.reason
    assert result.inputs.parts["electricity_supply"].close_together_count == 3


def test_two_close_unpaid_invoices_are_weighed_by_a_case_officer() -> None:
    result = assess(point(), "person", monthly(2, 5_000), TODAY, SETTINGS)
    assert result.result == "manual"
    assert "weighs the total" in result.reason


def test_three_invoices_far_apart_are_not_close_together() -> None:
    far = [
        claim(5_000, due=date(2025, 6, 30), number="1"),
        claim(5_000, due=date(2025, 10, 31), number="2"),
        claim(5_000, due=date(2026, 3, 31), number="3"),
    ]
    result = assess(point(), "person", far, TODAY, SETTINGS)
    assert result.result == "not_material"
    assert result.inputs.parts["electricity_supply"].close_together_count == 1


def test_the_window_is_a_dated_setting() -> None:
    wide = DisconnectionSettings(close_together_days=Dated[int].always(400))
    far = [
        claim(5_000, due=date(2025, 6, 30), number="1"),
        claim(5_000, due=date(2025, 10, 31), number="2"),
        claim(5_000, due=date(2026, 3, 31), number="3"),
    ]
    assert assess(point(), "person", far, TODAY, wide).result == "material"


def test_most_close_together_slides_over_the_dates() -> None:
    d = date(2026, 1, 1)
    days = [d, d + timedelta(days=200), d + timedelta(days=230), d + timedelta(days=260)]
    assert most_close_together(days, 92) == 3
    assert most_close_together([], 92) == 0
    # The window is inclusive: exactly 92 days apart still counts.
    assert most_close_together([d, d + timedelta(days=92)], 92) == 2
    assert most_close_together([d, d + timedelta(days=93)], 92) == 1


# -- what counts --------------------------------------------------------------------------------


def test_grid_and_supply_are_assessed_each_on_its_own() -> None:
    # Two grid and one supply invoice close together: neither part has three.
    claims = [
        *monthly(2, 5_000, "electricity_grid"),
        claim(5_000, part="electricity_supply", due=date(2026, 2, 15), number="9"),
    ]
    result = assess(point(), "person", claims, TODAY, SETTINGS)
    assert result.result == "manual"
    assert result.inputs.parts["electricity_grid"].result == "manual"
    assert result.inputs.parts["electricity_supply"].result == "not_material"
    # 700 kr grid + 700 kr supply on one invoice is no single claim over 1,000 kr.
    one_invoice = [
        claim(70_000, part="electricity_grid"),
        claim(70_000, part="electricity_supply"),
    ]
    assert assess(point(), "person", one_invoice, TODAY, SETTINGS).result == "not_material"


def test_other_services_never_count() -> None:
    claims = [claim(500_000, part="water"), claim(500_000, part="waste"), *monthly(2, 1, "water")]
    result = assess(point(), "person", claims, TODAY, SETTINGS)
    assert result.result == "not_material"
    assert set(result.inputs.parts) == {"electricity_grid", "electricity_supply"}


def test_an_invoice_not_yet_overdue_or_paid_does_not_count() -> None:
    not_due = claim(500_000, due=TODAY)  # payable today: not yet overdue
    paid = claim(0, due=date(2026, 3, 1), number="2")
    result = assess(point(), "person", [not_due, paid], TODAY, SETTINGS)
    assert result.result == "not_material"
    assert result.inputs.parts["electricity_supply"].overdue_invoices == []


def test_a_partial_payment_is_seen_by_the_next_assessment() -> None:
    before = assess(point(), "person", [claim(150_000)], TODAY, SETTINGS)
    after = assess(point(), "person", [claim(50_000)], TODAY, SETTINGS)
    assert (before.result, after.result) == ("material", "not_material")


def test_a_disputed_claim_is_counted_and_named() -> None:
    result = assess(point(), "person", [claim(150_000, disputed=True)], TODAY, SETTINGS)
    assert result.result == "material"
    assert result.disputed_invoice_ids == ["inv-1-electricity_supply"]


def test_a_business_customer_is_refused() -> None:
    result = assess(point(), "organisation", [claim(500_000)], TODAY, SETTINGS)
    assert result.result == "refused"
    assert "consumers only" in result.reason
    assert "11:1" in result.reason


def test_water_is_not_assessed_under_ellagen() -> None:
    with pytest.raises(DomainRuleViolation, match="electricity only"):
        assess(replace(point(), utility="water"), "person", [], TODAY, SETTINGS)


def test_the_inputs_name_invoices_due_dates_and_open_capital() -> None:
    result = assess(point(), "person", monthly(2, 5_000), TODAY, SETTINGS)
    supply = result.inputs.parts["electricity_supply"]
    assert [
        (i.invoice_number, i.due_date, i.open_capital_ore) for i in supply.overdue_invoices
    ] == [
        ("1", date(2026, 1, 31), 5_000),
        ("2", date(2026, 3, 2), 5_000),
    ]
    assert supply.overdue_capital_ore == 10_000
    assert result.inputs.on == TODAY
    assert result.inputs.category == "apartment"


# -- the capital of each part, as payments splits it ---------------------------------------------


def line(service: str, net: int, vat_rate: int = 25, kind: str = "capital") -> InvoiceLine:
    return InvoiceLine(
        description=service,
        service_type=service,  # type: ignore[arg-type]
        quantity=Decimal(1),
        unit_price_ore=net,
        vat_rate=vat_rate,
        net_ore=net,
        kind=kind,  # type: ignore[arg-type]
    )


def test_capital_by_service_shares_the_vat_and_leaves_out_interest_and_fees() -> None:
    lines = [
        line("electricity_grid", 333),
        line("electricity_supply", 333),
        line("water", 334),
        line("electricity_supply", 6_000, 0, kind="interest"),
    ]
    vat = [VatBreakdown(vat_rate=25, net_ore=1_000, vat_ore=250)]
    capital = capital_by_service(lines, vat)
    assert set(capital) == {"electricity_grid", "electricity_supply", "water"}
    assert sum(capital.values()) == 1_250
    assert capital["water"] == 334 + 84


def test_the_settings_are_read_from_json_and_checked() -> None:
    # A municipality's settings file: the shares as fractions, a new window from a date on
    settings = DisconnectionSettings.model_validate(
        {
            "annual_cost_share": {
                "apartment": [1, 2],
                "house": [1, 3],
                "house_electric_heating": [1, 4],
            },
            "close_together_days": [["1900-01-01", 92], ["2027-01-01", 120]],
        }
    )
    assert settings.annual_cost_share.at(TODAY)["apartment"] == (1, 2)
    assert settings.close_together_days.at(date(2027, 1, 1)) == 120
    for wrong in (
        {
            "annual_cost_share": {
                "apartment": [1, 0],
                "house": [1, 3],
                "house_electric_heating": [1, 4],
            }
        },
        {"annual_cost_share": {"apartment": [1, 3]}},
        {"material_invoice_count": 0},
    ):
        with pytest.raises(ValueError, match=r"annual_cost_share|material_invoice_count"):
            DisconnectionSettings.model_validate(wrong)
