"""The electricity disconnection case (issue 16; domain.md §6, ellagen 11 kap., seed 003): the
steps in the law's order, the re-assessment with each step, the notice's message to the board
where the electricity is delivered, the 3 weeks from service (the rulebook's worked dates), the
blocks, the demand's content and the costs the law allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event, EventRegistry
from fordra.utility_disconnect.domain.procedure import (
    BLOCK_MESSAGES,
    PROCEDURE_EVENTS,
    CaseState,
    DemandItem,
    DisconnectionBlocked,
    DisconnectionCostCharged,
    DisconnectionNoticed,
    DisconnectionStepTaken,
    MaterialityAssessed,
    ServiceRecorded,
    SocialServicesMessageQueued,
    StepAssessment,
    case_of,
    case_stream,
    check_cost_allowed,
    check_demand_items,
    check_threat_has_open_case,
    decide_block,
    decide_cost,
    decide_execution,
    decide_letter_step,
    decide_lift,
    decide_open,
    decide_order,
    decide_reassessment,
    decide_reconnection,
    decide_service,
    earliest_disconnection_on,
    pay_by_after_service,
)
from fordra.utility_disconnect.domain.procedure_settings import ProcedureSettings

CALENDAR = WorkingDayCalendar()
SETTINGS = ProcedureSettings()
OPENED = date(2026, 2, 2)


def item(**kw: Any) -> DemandItem:
    base: dict[str, Any] = {
        "invoice_id": "i1",
        "invoice_number": "F-1",
        "supply_point_id": "sp1",
        "service_type": "electricity_grid",
        "kind": "capital",
        "what_for": "Elnät, januari–februari 2026",
        "due_date": date(2026, 1, 31),
        "amount_ore": 120_000,
    }
    base.update(kw)
    return DemandItem.model_validate(base)


# Grid and supply, 1,200 kr each: the 2,400 kr the default assessment counts.
ITEMS = (item(), item(invoice_id="i2", invoice_number="F-2", service_type="electricity_supply"))


def assessment(
    on: date,
    result: str = "material",
    capital: int = 240_000,
    **extra: Any,
) -> StepAssessment:
    return StepAssessment.model_validate(
        {
            "result": result,
            "reason": f"{result}: one grid claim of {capital} öre",
            "inputs": {"grid": [{"invoice": "F-1", "open_capital_ore": capital}]},
            "assessed_on": on,
            "overdue_capital_ore": capital,
            **extra,
        }
    )


def opened(on: date = OPENED, **kw: Any) -> list[Event]:
    args: dict[str, Any] = {
        "case_id": "c1",
        "supply_point_id": "sp1",
        "customer_id": "cu1",
        "customer_kind": "person",
        "utility": "electricity",
        # Lives in Borås, the electricity delivered in Svenljunga.
        "site_municipality": "Svenljunga",
        "assessment": assessment(on),
        "today": on,
        "opened": "by_hand",
    }
    args.update(kw)
    return decide_open(**args)


def state(events: Sequence[Event]) -> CaseState:
    s = case_of(events)
    assert s is not None
    return s


def letter(
    events: list[Event],
    on: date,
    a: StepAssessment | None = None,
    items: Sequence[DemandItem] | None = None,
) -> list[Event]:
    new = decide_letter_step(
        state(events),
        on,
        a or assessment(on),
        items=ITEMS if items is None else items,
        letter_id=f"L-{on}",
        notification_id=f"N-{on}",
        settings=SETTINGS,
        calendar=CALENDAR,
    )
    events.extend(new)
    return new


def through_notice() -> list[Event]:
    """Opened by hand on 2026-02-02: demand 02-02 (pay by 02-12), request 02-13 (remedy by 02-27),
    notice 03-02."""
    events = opened()
    letter(events, date(2026, 2, 2))
    letter(events, date(2026, 2, 13))
    letter(events, date(2026, 3, 2))
    return events


def served(on: date = date(2026, 4, 7)) -> list[Event]:
    events = through_notice()
    events.extend(decide_service(state(events), on, on, SETTINGS, CALENDAR))
    return events


# --- opening ----------------------------------------------------------------------------------


def test_a_business_customer_never_enters_the_procedure() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        opened(customer_kind="organisation")
    assert e.value.rule == "consumers_only"
    assert e.value.field == "customer_id"


def test_a_case_opens_only_on_a_material_breach() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        opened(assessment=assessment(OPENED, "not_material", 90_000))
    assert e.value.rule == "material_breach"
    assert "not material" in str(e.value)


def test_a_case_opens_on_its_own_only_after_an_unpaid_collection_demand() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        opened(opened="automatic")
    assert e.value.rule == "case_after_collection_demand"
    events = opened(opened="automatic", collection_demand_sent_on=date(2026, 1, 20))
    s = state(events)
    # The demand was dunning's: the case's next step is the request to remedy.
    assert s.next_step == "request_to_remedy"
    assert [x.kind for x in s.steps] == ["collection_demand"]


def test_water_follows_its_own_law() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        opened(utility="water")
    assert e.value.rule == "electricity_only"


def test_opening_records_the_assessment_it_was_taken_on() -> None:
    events = opened()
    recorded = [e for e in events if isinstance(e, MaterialityAssessed)]
    assert len(recorded) == 1
    assert recorded[0].step == "open"
    assert recorded[0].result == "material"
    assert recorded[0].inputs == {"grid": [{"invoice": "F-1", "open_capital_ore": 240_000}]}


# --- the letters in the law's order -----------------------------------------------------------


def test_the_steps_go_in_the_laws_order_each_with_its_reassessment() -> None:
    events = through_notice()
    s = state(events)
    assert [x.kind for x in s.steps] == ["collection_demand", "request_to_remedy", "notice"]
    steps_assessed = [e.step for e in events if isinstance(e, MaterialityAssessed)]
    assert steps_assessed == ["open", "collection_demand", "request_to_remedy", "notice"]
    assert s.status == "noticed"
    # The request's reasonable time: 14 days from 2026-02-13 is Friday 2026-02-27.
    request = s.step("request_to_remedy")
    assert request is not None
    assert request.until == date(2026, 2, 27)


def test_the_request_waits_for_the_collection_demands_time_to_pay() -> None:
    events = opened()
    letter(events, date(2026, 2, 2))  # pay by 2026-02-12 (10 days)
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 2, 12))
    assert e.value.rule == "after_collection_demand"
    assert "2026-02-13" in str(e.value)


def test_the_notice_waits_until_the_reasonable_time_has_run_out() -> None:
    events = opened()
    letter(events, date(2026, 2, 2))
    letter(events, date(2026, 2, 13))
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 2, 27))
    assert e.value.rule == "after_time_to_remedy"
    letter(events, date(2026, 2, 28))
    assert state(events).status == "noticed"


def test_a_step_not_material_on_reassessment_is_refused_with_the_reason() -> None:
    events = opened()
    letter(events, date(2026, 2, 2))
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 2, 13), assessment(date(2026, 2, 13), "not_material", 50_000))
    assert e.value.rule == "material_breach"
    assert "not_material: one grid claim of 50000 öre" in str(e.value)


def test_manual_needs_a_case_officers_decision() -> None:
    events = opened()
    on = date(2026, 2, 2)
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, assessment(on, "manual"))
    assert e.value.rule == "materiality_manual_needs_decision"
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, assessment(on, "manual", officer_decision="material"))
    assert e.value.field == "decided_by"
    with pytest.raises(DomainRuleViolation) as e:
        letter(
            events, on, assessment(on, "manual", officer_decision="not_material", decided_by="x")
        )
    assert e.value.rule == "material_breach"
    new = letter(
        events, on, assessment(on, "manual", officer_decision="material", decided_by="officer-7")
    )
    recorded = next(e for e in new if isinstance(e, MaterialityAssessed))
    assert (recorded.result, recorded.officer_decision, recorded.decided_by) == (
        "manual",
        "material",
        "officer-7",
    )


def test_a_step_takes_the_assessment_of_its_own_date() -> None:
    events = opened()
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 2, 3), assessment(date(2026, 2, 2)))
    assert e.value.rule == "reassess_every_step"


def test_the_notice_tells_the_board_where_the_electricity_is_delivered_the_same_day() -> None:
    events = opened()
    letter(events, date(2026, 2, 2))
    letter(events, date(2026, 2, 13))
    new = letter(events, date(2026, 3, 2))
    noticed = [e for e in new if isinstance(e, DisconnectionNoticed)]
    message = [e for e in new if isinstance(e, SocialServicesMessageQueued)]
    assert len(noticed) == 1
    assert len(message) == 1
    assert noticed[0].noticed_on == message[0].noticed_on == date(2026, 3, 2)
    # The supply point's municipality, not the customer's address.
    assert message[0].municipality == "Svenljunga"
    assert message[0].debt_ore == noticed[0].demand_ore == 240_000
    # Only the notice tells the board: no message before it.
    earlier = [e for e in events[: -len(new)] if isinstance(e, SocialServicesMessageQueued)]
    assert earlier == []


def test_after_the_notice_no_further_letter() -> None:
    events = through_notice()
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 3, 20))
    assert e.value.rule == "steps_in_order"


# --- service and the 3 weeks ------------------------------------------------------------------


def test_the_rulebooks_worked_date_served_april_7_earliest_april_29() -> None:
    assert pay_by_after_service(date(2026, 4, 7), SETTINGS, CALENDAR) == date(2026, 4, 28)
    assert earliest_disconnection_on(date(2026, 4, 7), SETTINGS, CALENDAR) == date(2026, 4, 29)
    s = state(served())
    assert s.served_on == date(2026, 4, 7)
    assert s.earliest_disconnection_on == date(2026, 4, 29)


def test_three_weeks_ending_on_a_holiday_run_to_the_next_working_day() -> None:
    # Served Friday 2026-05-01 (a holiday itself): 3 weeks on is Friday 2026-05-22, a working day.
    assert pay_by_after_service(date(2026, 5, 1), SETTINGS, CALENDAR) == date(2026, 5, 22)
    # Served Saturday 2026-05-30: 3 weeks on is Saturday 2026-06-20 -> Monday 2026-06-22.
    assert pay_by_after_service(date(2026, 5, 30), SETTINGS, CALENDAR) == date(2026, 6, 22)
    assert earliest_disconnection_on(date(2026, 5, 30), SETTINGS, CALENDAR) == date(2026, 6, 23)


def test_the_three_weeks_are_a_dated_setting() -> None:
    longer = ProcedureSettings(notice_pay_days_from_service=Dated[int].table(("2027-01-01", 28)))
    with pytest.raises(LookupError):
        longer.notice_pay_days_from_service.at(date(2026, 4, 7))
    assert pay_by_after_service(date(2027, 4, 6), longer, CALENDAR) == date(2027, 5, 4)


def test_service_is_of_the_notice_and_not_in_the_future() -> None:
    events = opened()
    with pytest.raises(DomainRuleViolation) as e:
        decide_service(state(events), OPENED, OPENED, SETTINGS, CALENDAR)
    assert e.value.rule == "service_after_notice"
    events = through_notice()
    with pytest.raises(DomainRuleViolation) as e:
        decide_service(state(events), date(2026, 3, 1), date(2026, 3, 5), SETTINGS, CALENDAR)
    assert e.value.field == "served_on"
    with pytest.raises(DomainRuleViolation) as e:
        decide_service(state(events), date(2026, 3, 9), date(2026, 3, 5), SETTINGS, CALENDAR)
    assert e.value.rule == "date_in_future"


# --- the order --------------------------------------------------------------------------------


def test_no_order_without_a_recorded_service_date() -> None:
    events = through_notice()
    on = date(2026, 4, 29)
    with pytest.raises(DomainRuleViolation) as e:
        decide_order(state(events), on, assessment(on), on)
    assert e.value.rule == "service_recorded"
    assert "no service date" in str(e.value)


def test_no_order_within_three_weeks_of_service() -> None:
    events = served()
    today = date(2026, 4, 20)
    with pytest.raises(DomainRuleViolation) as e:
        decide_order(state(events), date(2026, 4, 28), assessment(today), today)
    assert e.value.rule == "three_weeks_from_service"
    assert "2026-04-29" in str(e.value)
    ordered = decide_order(state(events), date(2026, 4, 29), assessment(today), today)
    step = next(e for e in ordered if isinstance(e, DisconnectionStepTaken))
    assert (step.kind, step.until) == ("order", date(2026, 4, 29))
    assert [e.step for e in ordered if isinstance(e, MaterialityAssessed)] == ["order"]


def test_the_order_reassesses_and_a_not_material_result_refuses_it() -> None:
    events = served()
    today = date(2026, 4, 29)
    with pytest.raises(DomainRuleViolation) as e:
        decide_order(state(events), today, assessment(today, "not_material", 80_000), today)
    assert e.value.rule == "material_breach"


@pytest.mark.parametrize(
    ("reason", "extra"),
    [
        ("disputed", {}),
        ("risk_of_injury", {}),
        ("board_takeover", {"written_on": date(2026, 4, 20)}),
        ("paid", {}),
        ("not_material_after_partial_payment", {}),
    ],
)
def test_each_block_stops_the_order_naming_its_reason(reason: Any, extra: dict[str, Any]) -> None:
    events = served()
    today = date(2026, 4, 29)
    block = decide_block(state(events), reason, date(2026, 4, 21), "recorded by officer-7", **extra)
    assert isinstance(block, DisconnectionBlocked)
    assert block.reason == reason
    events.append(block)
    with pytest.raises(DomainRuleViolation) as e:
        decide_order(state(events), today, assessment(today), today)
    # A block that ends the case ends it; the others hold it; each is named.
    if reason in ("disputed", "risk_of_injury"):
        assert e.value.rule == f"blocked_{reason}"
    else:
        assert e.value.rule == "case_ended"
    assert reason in str(e.value) or BLOCK_MESSAGES[reason] in str(e.value)


def test_a_dispute_lifted_lets_the_order_go() -> None:
    events = served()
    events.append(decide_block(state(events), "disputed", date(2026, 4, 21), "customer objects"))
    with pytest.raises(DomainRuleViolation):
        decide_lift(state(events), "paid", date(2026, 4, 25), "x")
    events.append(decide_lift(state(events), "disputed", date(2026, 4, 25), "dispute resolved"))
    today = date(2026, 4, 29)
    assert decide_order(state(events), today, assessment(today), today)


def test_the_boards_takeover_counts_only_in_writing_within_the_three_weeks() -> None:
    events = served()
    s = state(events)
    with pytest.raises(DomainRuleViolation) as e:
        decide_block(s, "board_takeover", date(2026, 4, 20), "phone call")
    assert e.value.rule == "board_takeover_in_writing"
    with pytest.raises(DomainRuleViolation) as e:
        decide_block(s, "board_takeover", date(2026, 5, 4), "letter", written_on=date(2026, 4, 29))
    assert e.value.rule == "board_takeover_within_three_weeks"
    ok = decide_block(
        s, "board_takeover", date(2026, 4, 29), "letter", written_on=date(2026, 4, 28)
    )
    assert ok.written_on == date(2026, 4, 28)
    events.append(ok)
    assert state(events).status == "stopped"


def test_a_partial_payment_between_request_and_notice_blocks_the_case() -> None:
    events = opened()
    letter(events, date(2026, 2, 2))
    letter(events, date(2026, 2, 13))  # demands 2,400 kr
    # A payment of 1,500 kr: 900 kr is left and the re-assessment finds it not material.
    after = decide_reassessment(
        state(events), assessment(date(2026, 2, 20), "not_material", 90_000)
    )
    assert [type(e) for e in after] == [MaterialityAssessed, DisconnectionBlocked]
    block = after[1]
    assert isinstance(block, DisconnectionBlocked)
    assert block.reason == "not_material_after_partial_payment"
    assert block.details is not None
    assert "150000 öre paid" in block.details.note
    events.extend(after)
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, date(2026, 3, 2))
    assert e.value.rule == "case_ended"


def test_paid_in_full_blocks_and_a_manual_reassessment_blocks_nothing() -> None:
    events = through_notice()
    paid = decide_reassessment(state(events), assessment(date(2026, 3, 10), "not_material", 0))
    assert isinstance(paid[-1], DisconnectionBlocked)
    assert paid[-1].reason == "paid"
    manual = decide_reassessment(state(events), assessment(date(2026, 3, 10), "manual", 150_000))
    assert [type(e) for e in manual] == [MaterialityAssessed]


# --- execution and reconnection ---------------------------------------------------------------


def test_disconnection_executed_then_reconnected_on_payment_with_the_allowed_visits() -> None:
    events = served()
    today = date(2026, 4, 29)
    events.extend(decide_order(state(events), date(2026, 5, 4), assessment(today), today))
    with pytest.raises(DomainRuleViolation) as e:
        decide_execution(state(events), date(2026, 5, 3), assessment(date(2026, 5, 3)), SETTINGS)
    assert e.value.rule == "not_before_ordered_date"
    done = decide_execution(state(events), date(2026, 5, 4), assessment(date(2026, 5, 4)), SETTINGS)
    events.extend(done)
    assert state(events).status == "disconnected"
    with pytest.raises(DomainRuleViolation) as e:
        decide_reconnection(state(events), date(2026, 5, 6), 100, SETTINGS)
    assert e.value.rule == "reconnection_on_payment"
    events.extend(decide_reconnection(state(events), date(2026, 5, 6), 0, SETTINGS))
    s = state(events)
    assert s.status == "reconnected"
    visits = [e for e in events if isinstance(e, DisconnectionCostCharged)]
    # The collection demand's statutory 180 kr and 500 kr per visit; ellagen's letter costs are
    # set to nothing by default and so not charged.
    assert [(v.kind, v.amount_ore) for v in visits] == [
        ("collection_demand", 18_000),
        ("disconnection_visit", 50_000),
        ("reconnection_visit", 50_000),
    ]
    assert s.costs_ore == 118_000


def test_a_payment_after_the_order_stops_the_execution() -> None:
    events = served()
    today = date(2026, 4, 29)
    events.extend(decide_order(state(events), today, assessment(today), today))
    events.extend(decide_reassessment(state(events), assessment(today, "not_material", 0)))
    with pytest.raises(DomainRuleViolation) as e:
        decide_execution(state(events), today, assessment(today), SETTINGS)
    assert e.value.rule == "case_ended"


# --- the demand's content and costs -----------------------------------------------------------


def test_the_demand_takes_only_that_supply_points_overdue_grid_and_supply_capital() -> None:
    on = date(2026, 2, 13)
    ok = check_demand_items([item(), item(service_type="electricity_supply")], "sp1", on)
    assert len(ok) == 2
    cases = [
        (item(service_type="water"), "electricity_claims_only"),
        (item(service_type="waste"), "electricity_claims_only"),
        (item(kind="interest"), "capital_only"),
        (item(kind="fee"), "capital_only"),
        (item(kind="cost"), "capital_only"),
        (item(kind="advance"), "capital_only"),
        (item(supply_point_id="sp2"), "same_supply_point"),
        (item(due_date=on), "overdue_only"),
    ]
    for bad, rule in cases:
        with pytest.raises(DomainRuleViolation) as e:
            check_demand_items([item(), bad], "sp1", on)
        assert (e.value.rule, e.value.field) == (rule, "items[1]"), bad


def test_only_the_costs_the_law_allows() -> None:
    for forbidden in ("disconnection_message", "oral_plan", "administration_fee"):
        with pytest.raises(DomainRuleViolation) as e:
            check_cost_allowed(forbidden)
        assert e.value.rule == "cost_without_legal_ground"
    with pytest.raises(DomainRuleViolation, match="seed 003 line 41"):
        check_cost_allowed("oral_plan")
    s = state(opened())
    charged = decide_cost(s, "written_plan", date(2026, 2, 10), SETTINGS)
    assert charged.amount_ore == 17_000


def test_costs_are_dated_settings() -> None:
    cheaper = ProcedureSettings(
        disconnection_visit_ore=Dated[int].table(("1900-01-01", 50_000), ("2027-01-01", 60_000))
    )
    assert cheaper.cost_ore("disconnection_visit", date(2026, 12, 31)) == 50_000
    assert cheaper.cost_ore("disconnection_visit", date(2027, 1, 1)) == 60_000


def test_no_threat_without_an_open_case_for_that_supply_point() -> None:
    with pytest.raises(DomainRuleViolation) as e:
        check_threat_has_open_case(None, "sp1")
    assert e.value.rule == "no_empty_threats"
    s = state(opened())
    with pytest.raises(DomainRuleViolation):
        check_threat_has_open_case(s, "sp2")
    assert check_threat_has_open_case(s, "sp1") is s


def test_every_event_round_trips_through_its_payload() -> None:
    events = served()
    events.extend(
        decide_order(
            state(events), date(2026, 4, 29), assessment(date(2026, 4, 29)), date(2026, 4, 29)
        )
    )
    kinds = {type(e) for e in events}
    assert {ServiceRecorded, DisconnectionNoticed, SocialServicesMessageQueued} <= kinds
    assert kinds <= set(PROCEDURE_EVENTS)
    for e in events:
        assert type(e).model_validate(e.model_dump(mode="json")) == e
    assert len({m.event_type for m in PROCEDURE_EVENTS}) == len(PROCEDURE_EVENTS)


def test_a_letter_step_demands_only_electricity_capital_and_no_more_than_assessed() -> None:
    events = opened()
    on = date(2026, 2, 2)
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, items=(*ITEMS, item(invoice_id="w", service_type="water")))
    assert (e.value.rule, e.value.field) == ("electricity_claims_only", "items[2]")
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, items=(*ITEMS, item(invoice_id="k", kind="fee", amount_ore=18_000)))
    assert e.value.rule == "capital_only"
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, items=(*ITEMS, item(invoice_id="i3", invoice_number="F-3")))
    assert e.value.rule == "demand_within_assessed_capital"
    new = letter(events, on, items=ITEMS[:1])
    step = next(e for e in new if isinstance(e, DisconnectionStepTaken))
    assert step.demand_ore == 120_000


def test_a_risk_found_after_the_disconnection_reconnects_unpaid() -> None:
    events = served()
    today = date(2026, 4, 29)
    events.extend(decide_order(state(events), today, assessment(today), today))
    events.extend(decide_execution(state(events), today, assessment(today), SETTINGS))
    with pytest.raises(DomainRuleViolation):
        decide_reconnection(state(events), date(2026, 4, 30), 240_000, SETTINGS)
    events.append(
        decide_block(state(events), "risk_of_injury", date(2026, 4, 30), "home oxygen concentrator")
    )
    back = decide_reconnection(state(events), date(2026, 4, 30), 240_000, SETTINGS)
    assert isinstance(back[0], DisconnectionStepTaken)
    assert back[0].kind == "reconnection"


def test_the_case_lists_as_the_issue_shows_it() -> None:
    events = served()
    events.append(decide_block(state(events), "disputed", date(2026, 4, 21), "customer objects"))
    listing = state(events).listing()
    assert listing["status"] == "noticed"
    assert listing["demand_ore"] == 240_000
    assert [s["kind"] for s in listing["steps"]] == [
        "collection_demand",
        "request_to_remedy",
        "notice",
    ]
    assert listing["steps"][2] == {
        "kind": "notice",
        "on": "2026-03-02",
        "letter_id": "L-2026-03-02",
    }
    assert listing["earliest_disconnection_on"] == "2026-04-29"
    assert listing["blocks"] == [
        {"reason": "disputed", "on": "2026-04-21", "note": "customer objects"}
    ]


def test_an_assessment_refused_for_a_business_refuses_the_step() -> None:
    events = opened()
    on = date(2026, 2, 2)
    with pytest.raises(DomainRuleViolation) as e:
        letter(events, on, assessment(on, "refused"))
    assert (e.value.rule, e.value.field) == ("consumers_only", "customer_id")


def test_a_blocks_note_is_sealed_for_the_customer_and_opens_to_nothing_once_forgotten() -> None:
    # Given a recorded risk, whose note tells of the consumer's health
    events = served()
    block = decide_block(state(events), "risk_of_injury", date(2026, 4, 21), "home dialysis")
    registry = EventRegistry()
    registry.register(*PROCEDURE_EVENTS)
    # When it is stored
    envelope = registry.envelope(
        block,
        context="utility-disconnect",
        stream_id=case_stream("c1"),
        version=9,
        metadata=Metadata(tenant="kommun-1", actor="officer-7", correlation_id="corr-1"),
        occurred_at=datetime(2026, 4, 21, 9, tzinfo=UTC),
    )
    # Then the note lies in the sealed part, tied to the customer, not in the payload
    assert envelope.personal_data == {"note": "home dialysis"}
    assert envelope.data_subject == "cu1"
    assert "dialysis" not in repr(envelope.payload)
    assert registry.load(envelope) == block
    # and a forgotten customer's block still blocks, with no note
    forgotten = registry.load(replace(envelope, personal_data=None))
    assert isinstance(forgotten, DisconnectionBlocked)
    assert forgotten.details is None
    held = state([*events, forgotten])
    assert [(b.reason, b.note) for b in held.blocks] == [("risk_of_injury", "")]
