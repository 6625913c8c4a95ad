"""A case at the agency (issue 15; domain.md §5): the deadlines of the rulebook's examples, the
order of Kronofogden's steps, the outlays as dated settings, the recall's cost."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.agency_gateway.domain.case import (
    ALLOWED_AFTER,
    CaseHandedOver,
    CaseState,
    add_months,
    case_of,
    check_report_date,
    decide_recall,
    decide_step,
    objection_deadline,
    reinstatement_deadline,
)
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation

CALENDAR = WorkingDayCalendar()
SETTINGS = AgencySettings()
HANDED = CaseHandedOver(
    case_id="c1",
    invoice_id="i1",
    customer_id="k1",
    agency="reference",
    handed_over_on=date(2026, 4, 21),
    capital_ore=100_000,
    interest_ore=500,
    fee_ore=0,
)


def walk(*steps: tuple[str, date], notice: date | None = None) -> CaseState:
    """The case after ``steps``, each decided as the webhook decides it."""
    state = case_of([HANDED])
    assert state is not None
    events: list[object] = [HANDED]
    for kind, on in steps:
        change = decide_step(state, kind, on, SETTINGS, CALENDAR, notice_sent_on=notice)  # type: ignore[arg-type]
        events.append(change)
        state = case_of(events)  # type: ignore[arg-type]
        assert state is not None
    return state


def test_the_objection_deadline_is_3_weeks_from_the_notice_2026_05_05_to_2026_05_26() -> None:
    assert objection_deadline(date(2026, 5, 5), SETTINGS, CALENDAR) == date(2026, 5, 26)


def test_the_reinstatement_window_is_1_month_from_the_judgment_2026_05_05_to_2026_06_05() -> None:
    assert reinstatement_deadline(date(2026, 5, 5), SETTINGS, CALENDAR) == date(2026, 6, 5)


def test_a_month_without_the_day_ends_on_its_last_and_a_holiday_moves_to_the_next_working_day() -> (
    None
):
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    # 2026-05-30 + 1 month is Tuesday 2026-06-30; 2026-05-23 + 1 month is Tuesday 2026-06-23,
    # but 2026-05-20 + 1 month is Saturday 2026-06-20 (after Midsummer Eve): Monday the 22nd
    assert reinstatement_deadline(date(2026, 5, 20), SETTINGS, CALENDAR) == date(2026, 6, 22)
    # A notice sent 2026-12-03: 3 weeks is Thursday Christmas Eve, then Christmas and Boxing
    # Day, then the weekend: Monday 2026-12-28
    assert objection_deadline(date(2026, 12, 3), SETTINGS, CALENDAR) == date(2026, 12, 28)


def test_the_windows_are_dated_settings() -> None:
    longer = AgencySettings(
        objection_window_days=Dated[int].table(("1900-01-01", 21), ("2027-01-01", 28)),
    )
    assert objection_deadline(date(2026, 5, 5), longer, CALENDAR) == date(2026, 5, 26)
    assert objection_deadline(date(2027, 5, 5), longer, CALENDAR) == date(2027, 6, 2)


def test_kronofogdens_outlays_are_the_costs_of_their_steps() -> None:
    state = walk(
        ("opened", date(2026, 4, 22)),
        ("payment_order_filed", date(2026, 4, 28)),
        ("judgment", date(2026, 5, 20)),
        ("enforcement", date(2026, 6, 1)),
    )
    # 300 + 380 kr for the payment order, 600 kr for enforcement (domain.md §3)
    assert state.costs_ore == 68_000 + 60_000
    # and a fee changed from a date is the one in force on the step's day
    dearer = AgencySettings(
        enforcement_fee_ore=Dated[int].table(("1900-01-01", 60_000), ("2026-06-01", 70_000))
    )
    before = case_of([HANDED])
    assert before is not None
    on_judgment = walk(
        ("opened", date(2026, 4, 22)),
        ("payment_order_filed", date(2026, 4, 28)),
        ("judgment", date(2026, 5, 20)),
    )
    assert decide_step(
        on_judgment, "enforcement", date(2026, 6, 1), dearer, CALENDAR
    ).costs_ore == (70_000)
    assert decide_step(
        on_judgment, "enforcement", date(2026, 5, 29), dearer, CALENDAR
    ).costs_ore == (60_000)


def test_steps_come_in_the_process_order() -> None:
    opened = walk(("opened", date(2026, 4, 22)))
    # A judgment before a payment order, an objection before it, enforcement before a judgment
    for kind in ("judgment", "objection", "enforcement", "opened"):
        with pytest.raises(DomainRuleViolation) as refused:
            decide_step(opened, kind, date(2026, 4, 23), SETTINGS, CALENDAR)
        assert refused.value.rule == "agency_step_out_of_order"
    # Nothing after closed
    closed = walk(("opened", date(2026, 4, 22)), ("closed", date(2026, 4, 23)))
    for kind in ALLOWED_AFTER:
        with pytest.raises(DomainRuleViolation) as refused:
            decide_step(closed, kind, date(2026, 4, 24), SETTINGS, CALENDAR)
        assert refused.value.rule == "agency_case_ended"
    # A judgment may follow the payment order itself (Kronofogden's, when nobody objected)
    ordered = walk(("opened", date(2026, 4, 22)), ("payment_order_filed", date(2026, 4, 28)))
    assert decide_step(ordered, "judgment", date(2026, 5, 5), SETTINGS, CALENDAR).deadline == (
        date(2026, 6, 5)
    )


def test_the_court_task_waits_for_the_judgment_and_the_window_for_its_deadline() -> None:
    state = walk(
        ("opened", date(2026, 4, 22)),
        ("payment_order_filed", date(2026, 4, 28)),
        ("objection", date(2026, 5, 6)),
        notice=date(2026, 5, 5),
    )
    (task,) = state.tasks
    assert (task.kind, task.deadline) == ("court_decision", date(2026, 5, 26))
    # overdue, it is still the case's deadline: the decision is still to be made
    assert state.deadline_on(date(2026, 6, 1)) == date(2026, 5, 26)
    judged = case_of(
        [
            HANDED,
            *(
                AgencyCaseChanged(
                    case_id="c1",
                    invoice_id="i1",
                    customer_id="k1",
                    agency="reference",
                    status=s,
                    occurred_on=date(2026, 5, 6),
                    deadline=d,
                )
                for s, d in (
                    ("objection", date(2026, 5, 26)),
                    ("judgment", date(2026, 6, 5)),
                )
            ),
        ]
    )
    assert judged is not None
    (window,) = judged.tasks
    assert window.kind == "reinstatement_window"
    assert judged.deadline_on(date(2026, 6, 5)) == date(2026, 6, 5)
    assert judged.deadline_on(date(2026, 6, 6)) is None


def test_a_recall_after_a_payment_order_costs_the_municipality_its_outlays() -> None:
    opened = walk(("opened", date(2026, 4, 22)))
    assert decide_recall(opened, date(2026, 4, 23)).municipality_cost_ore == 0
    ordered = walk(("opened", date(2026, 4, 22)), ("payment_order_filed", date(2026, 4, 28)))
    recalled = decide_recall(ordered, date(2026, 5, 2))
    assert (recalled.status, recalled.municipality_cost_ore) == ("recalled", 68_000)
    closed = walk(("opened", date(2026, 4, 22)), ("closed", date(2026, 4, 23)))
    with pytest.raises(DomainRuleViolation):
        decide_recall(closed, date(2026, 4, 24))


def test_a_report_tells_of_a_day_that_has_been_since_the_handover() -> None:
    state = walk()
    check_report_date(state, date(2026, 4, 21), date(2026, 4, 21))
    with pytest.raises(DomainRuleViolation) as refused:
        check_report_date(state, date(2026, 4, 22), date(2026, 4, 21))
    assert refused.value.field == "occurred_on"
    with pytest.raises(DomainRuleViolation):
        check_report_date(state, date(2026, 4, 20), date(2026, 4, 21))


def test_news_of_our_delivery_never_moves_an_opened_case_back() -> None:
    opened = walk(("opened", date(2026, 4, 22)))
    delivered = AgencyCaseChanged(
        case_id="c1",
        invoice_id="i1",
        customer_id="k1",
        agency="reference",
        status="delivered",
        occurred_on=date(2026, 4, 22),
    )
    opened_change = decide_step(walk(), "opened", date(2026, 4, 22), SETTINGS, CALENDAR)
    late = case_of([HANDED, opened_change, delivered])
    assert late is not None
    assert late.status == opened.status == "opened"
    early = case_of([HANDED, delivered])
    assert early is not None
    assert early.status == "delivered"
