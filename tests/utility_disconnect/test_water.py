"""Water disconnection (issue 16; domain.md §7, LAV 43 §, seed 001, seed 003 line 363): only water
claims count, the owner is addressed, the letter about 10 days after the reminder with its
collection fee, the reasonable time, at most 45 days from the due date (the rulebook's worked
dates), no shut-off when health would suffer, 500 kr per visit, no threat without an open case."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.utility_disconnect.domain.procedure import (
    DemandItem,
    DisconnectionCostCharged,
    MaterialityAssessed,
    StepAssessment,
)
from fordra.utility_disconnect.domain.procedure_settings import ProcedureSettings
from fordra.utility_disconnect.domain.water import (
    WATER_EVENTS,
    WaterCase,
    WaterLetterSent,
    check_water_items,
    check_water_threat_has_open_case,
    decide_water_block,
    decide_water_letter,
    decide_water_open,
    decide_water_reconnection,
    decide_water_shut_off,
    earliest_water_letter_on,
    latest_water_disconnection_on,
    water_case_of,
    water_remedy_by,
)

CALENDAR = WorkingDayCalendar()
SETTINGS = ProcedureSettings()
DUE = date(2026, 5, 4)
REMINDER = date(2026, 5, 11)  # 7 days after the due date (domain.md §4)
LETTER_ON = date(2026, 5, 21)  # 10 days after the reminder (seed 001)


def water_item(**kw: Any) -> DemandItem:
    base: dict[str, Any] = {
        "invoice_id": "w1",
        "invoice_number": "F-100",
        "supply_point_id": "wp1",
        "service_type": "water",
        "kind": "capital",
        "what_for": "Vatten och avlopp, mars–april 2026",
        "due_date": DUE,
        "amount_ore": 310_000,
    }
    base.update(kw)
    return DemandItem.model_validate(base)


def material(on: date, capital: int = 310_000, result: str = "material") -> StepAssessment:
    return StepAssessment.model_validate(
        {
            "result": result,
            "reason": f"{result}: the owner's water charges",
            "inputs": {"water": capital},
            "assessed_on": on,
            "overdue_capital_ore": capital,
        }
    )


def case(events: list[Event]) -> WaterCase:
    c = water_case_of(events)
    assert c is not None
    return c


def opened() -> list[Event]:
    return [
        decide_water_open(
            case_id="wc1",
            supply_point_id="wp1",
            utility="water",
            property_designation="Svenljunga Kåhult 1:23",
            owner_customer_id="owner1",
            today=date(2026, 5, 20),
        )
    ]


def lettered(on: date = LETTER_ON, **kw: Any) -> list[Event]:
    events = opened()
    args: dict[str, Any] = {
        "customer_id": "owner1",
        "reminder_sent_on": REMINDER,
        "assessment": material(on),
        "letter_id": "WL1",
        "settings": SETTINGS,
        "calendar": CALENDAR,
    }
    args.update(kw)
    items = args.pop("items", [water_item()])
    events.extend(decide_water_letter(case(events), on, items, **args))
    return events


def test_the_rulebooks_worked_date_due_may_4_at_the_latest_june_18() -> None:
    assert latest_water_disconnection_on(DUE, SETTINGS) == date(2026, 6, 18)


def test_the_45_days_are_a_dated_setting() -> None:
    stricter = ProcedureSettings(
        water_max_days_from_due_date=Dated[int].table(("1900-01-01", 45), ("2026-06-01", 30))
    )
    assert latest_water_disconnection_on(DUE, stricter) == date(2026, 6, 18)
    assert latest_water_disconnection_on(date(2026, 6, 1), stricter) == date(2026, 7, 1)


def test_the_letter_goes_about_ten_days_after_the_reminder_with_the_collection_fee() -> None:
    assert earliest_water_letter_on(REMINDER, SETTINGS) == LETTER_ON
    with pytest.raises(DomainRuleViolation) as e:
        lettered(date(2026, 5, 20), assessment=material(date(2026, 5, 20)))
    assert e.value.rule == "water_letter_after_reminder"
    events = lettered()
    sent = next(e for e in events if isinstance(e, WaterLetterSent))
    # 14 days from Thursday 2026-05-21 is Thursday 2026-06-04, a working day.
    assert sent.remedy_by == date(2026, 6, 4)
    assert sent.latest_disconnection_on == date(2026, 6, 18)
    assert sent.demand_ore == 310_000
    fees = [(e.kind, e.amount_ore) for e in events if isinstance(e, DisconnectionCostCharged)]
    assert fees == [("collection_demand", 18_000)]
    assert [e.step for e in events if isinstance(e, MaterialityAssessed)] == ["collection_demand"]


def test_the_reasonable_time_ends_on_a_working_day() -> None:
    # 14 days from 2026-06-05 is Friday 2026-06-19, Midsummer Eve: not a working day -> 06-22.
    assert water_remedy_by(date(2026, 6, 5), SETTINGS, CALENDAR) == date(2026, 6, 22)


def test_a_demand_including_a_waste_fee_is_refused() -> None:
    on = LETTER_ON
    waste = water_item(invoice_id="w1", service_type="waste", amount_ore=45_000)
    with pytest.raises(DomainRuleViolation) as e:
        check_water_items([water_item(), waste], "wp1", on)
    assert (e.value.rule, e.value.field) == ("water_claims_only", "items[1]")
    assert "seed 003 line 363" in str(e.value)
    # Only the water line of the same invoice is demanded: that passes.
    assert check_water_items([water_item()], "wp1", on)[0].amount_ore == 310_000
    for bad, rule in [
        (water_item(kind="interest"), "capital_only"),
        (water_item(kind="fee"), "capital_only"),
        (water_item(supply_point_id="wp2"), "same_supply_point"),
        (water_item(due_date=on), "overdue_only"),
        (water_item(service_type="electricity_grid"), "water_claims_only"),
    ]:
        with pytest.raises(DomainRuleViolation) as e:
            check_water_items([bad], "wp1", on)
        assert e.value.rule == rule


def test_the_letter_is_addressed_to_the_property_owner() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        lettered(customer_id="tenant7")
    assert e.value.rule == "property_owner_addressed"


def test_a_letter_that_could_not_be_followed_within_45_days_is_refused() -> None:
    # Reminder late: a letter on 2026-06-10 gives time to 2026-06-24, past 2026-06-18.
    on = date(2026, 6, 10)
    with pytest.raises(DomainRuleViolation) as e:
        lettered(on, assessment=material(on))
    assert e.value.rule == "water_45_days"


def test_the_neglect_must_be_material() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        lettered(assessment=material(LETTER_ON, 20_000, "not_material"))
    assert e.value.rule == "material_breach"


def test_shut_off_after_the_time_to_remedy_and_at_the_latest_45_days_from_due() -> None:
    events = lettered()
    c = case(events)
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_shut_off(c, date(2026, 6, 4), material(date(2026, 6, 4)), SETTINGS)
    assert e.value.rule == "after_time_to_remedy"
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_shut_off(c, date(2026, 6, 19), material(date(2026, 6, 19)), SETTINGS)
    assert e.value.rule == "water_45_days"
    assert "2026-06-18" in str(e.value)
    done = decide_water_shut_off(c, date(2026, 6, 18), material(date(2026, 6, 18)), SETTINGS)
    events.extend(done)
    assert case(events).status == "disconnected"
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_reconnection(case(events), date(2026, 6, 22), 1, SETTINGS)
    assert e.value.rule == "reconnection_on_payment"
    events.extend(decide_water_reconnection(case(events), date(2026, 6, 22), 0, SETTINGS))
    assert case(events).status == "reconnected"
    visits = [
        (e.kind, e.amount_ore)
        for e in events
        if isinstance(e, DisconnectionCostCharged) and e.kind != "collection_demand"
    ]
    assert visits == [("disconnection_visit", 50_000), ("reconnection_visit", 50_000)]
    assert case(events).costs_ore == 118_000


def test_no_shut_off_without_the_written_request_first() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_shut_off(
            case(opened()), date(2026, 6, 10), material(date(2026, 6, 10)), SETTINGS
        )
    assert e.value.rule == "written_request_first"


@pytest.mark.parametrize("reason", ["health_risk", "disputed", "paid"])
def test_no_shut_off_when_health_would_suffer_or_the_claim_is_disputed_or_paid(
    reason: Any,
) -> None:
    events = lettered()
    events.append(decide_water_block(case(events), reason, date(2026, 6, 1), "recorded"))
    on = date(2026, 6, 10)
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_shut_off(case(events), on, material(on), SETTINGS)
    if reason == "paid":
        assert e.value.rule == "written_request_first"  # the case ended
        assert case(events).status == "stopped"
    else:
        assert e.value.rule == f"blocked_{reason}"


def test_no_letter_threatens_disconnection_unless_a_case_is_open_for_that_property() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        check_water_threat_has_open_case(None, "Svenljunga Kåhult 1:23")
    assert e.value.rule == "no_empty_threats"
    c = case(opened())
    with pytest.raises(DomainRuleViolation):
        check_water_threat_has_open_case(c, "Svenljunga Kåhult 1:24")
    assert check_water_threat_has_open_case(c, "Svenljunga Kåhult 1:23") is c


def test_a_water_case_is_for_a_water_supply_point_and_names_the_property() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_open(
            case_id="x",
            supply_point_id="sp",
            utility="electricity",
            property_designation="A 1:1",
            owner_customer_id="o",
            today=DUE,
        )
    assert e.value.rule == "water_only"
    with pytest.raises(DomainRuleViolation) as e:
        decide_water_open(
            case_id="x",
            supply_point_id="sp",
            utility="water",
            property_designation=" ",
            owner_customer_id="o",
            today=DUE,
        )
    assert e.value.field == "property_designation"


def test_water_events_round_trip() -> None:
    events = lettered()
    for e in events:
        assert type(e).model_validate(e.model_dump(mode="json")) == e
    assert len({m.event_type for m in WATER_EVENTS}) == len(WATER_EVENTS)
