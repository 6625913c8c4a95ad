"""Recurring charges' rules through commands and events (domain/recurring_charge.py; issue 14,
domain.md §8 "Rent (LOIS)", seed 002 lines 1460 and 1485-1501)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from fordra.invoicing.domain.billing_calendar import period_containing
from fordra.invoicing.domain.recurring_charge import (
    BilledPeriod,
    ChangeRecurringCharge,
    CreateRecurringCharge,
    RecurringCharge,
    RecurringChargeAmountChanged,
    RecurringChargeEnded,
    RecurringSettings,
    change_charge,
    create_charge,
    credits_for_end,
    held_reason,
    next_notice_on,
    notices_due,
    replay_charge,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation

CALENDAR = WorkingDayCalendar()
SETTINGS = RecurringSettings()
TODAY = date(2026, 3, 10)


def command(**overrides: object) -> CreateRecurringCharge:
    body: dict[str, object] = {
        "customer_id": "c-1",
        "department": "Housing",
        "service_type": "housing_rent",
        "description": "Hyra lgh 1001",
        "amount_ore": 900_000,
        "vat_rate": 0,
        "period": "monthly",
        "starts_on": date(2026, 1, 1),
    }
    return CreateRecurringCharge.model_validate(body | overrides)


def created(**overrides: object) -> RecurringCharge:
    event = create_charge(
        command(**overrides),
        charge_id="rc-1",
        today=TODAY,
        settings=SETTINGS,
        vat_rates=(25, 12, 6, 0),
        max_amount_ore=10**13,
    )
    charge = replay_charge([event])
    assert charge is not None
    return charge


def issued(start: date, amount: int, invoice_id: str = "inv") -> BilledPeriod:
    return BilledPeriod(
        period=period_containing("monthly", start),
        status="issued",
        amount_ore=amount,
        invoice_id=invoice_id,
    )


def issued_months(first: int, last: int, amount: int) -> dict[date, BilledPeriod]:
    return {
        date(2026, m, 1): issued(date(2026, m, 1), amount, f"m{m}") for m in range(first, last + 1)
    }


def test_each_kind_gets_its_billing_day_and_timing() -> None:
    regular = created()
    assert (regular.billing_day, regular.timing) == ("second_working_day", "advance")
    vacancy = created(kind="vacancy")
    assert (vacancy.billing_day, vacancy.timing) == ("penultimate_working_day", "closing")
    fee = created(service_type="childcare", billing_day="first_working_day")
    assert (fee.billing_day, fee.timing) == ("first_working_day", "current")
    assert regular.department == "housing"  # stored lowered, as an invoice's


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"starts_on": date(2025, 12, 7)}, "recurring_start_backdated"),  # 93 days back
        ({"vat_rate": 7}, "vat_rate_in_force"),
        ({"starts_on": date(2027, 3, 12)}, "recurring_start_too_far_ahead"),  # 367 days ahead
    ],
)
def test_a_charge_is_refused_with_the_rule_named(overrides: dict[str, object], rule: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        created(**overrides)
    assert refused.value.rule == rule


def test_ninety_two_days_back_is_still_accepted() -> None:
    assert created(starts_on=date(2025, 12, 8)).starts_on == date(2025, 12, 8)


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_ore": 0},
        {"amount_ore": -5},
        {"amount_ore": True},
        {"period": "weekly"},
        {"billing_day": "third_working_day"},
        {"ends_on": date(2025, 12, 31)},
        {"department": "ho using"},
    ],
)
def test_bad_commands_are_refused_when_read(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        command(**overrides)


def test_a_change_needs_an_amount_with_its_date_or_an_end() -> None:
    with pytest.raises(ValidationError):
        ChangeRecurringCharge(amount_ore=100_000, reason="höjning")
    with pytest.raises(ValidationError):
        ChangeRecurringCharge(reason="ingenting")


def test_a_price_from_a_date_and_an_end_are_dated_events() -> None:
    charge = created()
    events = change_charge(
        charge,
        max_amount_ore=10**13,
        cmd=ChangeRecurringCharge(
            amount_ore=930_000,
            amount_from=date(2026, 4, 1),
            ends_on=date(2026, 9, 15),
            reason="Förhandlad hyra, uppsägning",
        ),
    )
    assert [type(e) for e in events] == [RecurringChargeAmountChanged, RecurringChargeEnded]
    after = replay_charge([*_events(charge), *events])
    assert after is not None
    assert after.prices == ((date(2026, 1, 1), 900_000), (date(2026, 4, 1), 930_000))
    assert after.ends_on == date(2026, 9, 15)
    assert after.price_at(date(2026, 3, 31)) == 900_000


def _events(charge: RecurringCharge) -> list[object]:
    return [
        create_charge(
            command(), charge_id=charge.charge_id, today=TODAY, settings=SETTINGS,
            vat_rates=(0,), max_amount_ore=10**13,
        )
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_on": date(2025, 12, 31)}, "ends_on"),
        ({"amount_ore": 1, "amount_from": date(2025, 12, 1)}, "amount_from"),
    ],
)
def test_a_change_outside_the_charge_is_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        change_charge(
            created(),
            ChangeRecurringCharge.model_validate(change | {"reason": "fel"}),
            max_amount_ore=10**13,
        )
    assert refused.value.field == field


def test_a_raise_after_a_period_was_issued_goes_on_the_next_notice() -> None:
    raised = created().model_copy(
        update={"prices": ((date(2026, 1, 1), 900_000), (date(2026, 4, 1), 950_000))}
    )
    billed = issued_months(1, 4, 900_000)
    [notice] = notices_due(raised, billed, day=date(2026, 4, 2), calendar=CALENDAR)
    assert notice.period.start == date(2026, 5, 1)
    assert notice.amount_ore == 950_000
    assert [(a.period_start, a.amount_ore) for a in notice.adjustments] == [
        (date(2026, 4, 1), 50_000)
    ]
    assert notice.net_ore == 1_000_000


def test_a_cut_bigger_than_the_next_notice_waits_for_a_later_one() -> None:
    lowered = created().model_copy(
        update={"prices": ((date(2026, 1, 1), 900_000), (date(2026, 3, 1), 100_000))}
    )
    billed = issued_months(1, 4, 900_000)
    [notice] = notices_due(lowered, billed, day=date(2026, 4, 2), calendar=CALENDAR)
    # -800,000 twice would leave May's 100,000 kr notice below zero: they wait
    assert notice.adjustments == ()
    assert notice.amount_ore == 100_000


def test_an_end_inside_an_issued_period_credits_the_days_after_it() -> None:
    ended = created().model_copy(update={"ends_on": date(2026, 9, 15)})
    billed = issued_months(1, 9, 900_000)
    credits = credits_for_end(ended, billed)
    assert [(row.invoice_id, excess) for row, excess in credits] == [("m9", 450_000)]
    # and no notice is due for October, nor a difference carried for September
    assert notices_due(ended, billed, day=date(2026, 12, 31), calendar=CALENDAR) == []


def test_periods_issued_or_held_are_not_noticed_again() -> None:
    charge = created()
    billed = {
        date(2026, 1, 1): issued(date(2026, 1, 1), 900_000),
        date(2026, 2, 1): BilledPeriod(
            period=period_containing("monthly", date(2026, 2, 1)),
            status="held",
            amount_ore=900_000,
        ),
    }
    due = notices_due(charge, billed, day=date(2026, 3, 3), calendar=CALENDAR)
    assert [n.period.start for n in due] == [date(2026, 3, 1), date(2026, 4, 1)]


@pytest.mark.parametrize(
    ("amount_ore", "vat_rate", "held"),
    [
        (1_000_000, 0, False),  # exactly 10,000 kr is not over it
        (1_000_001, 0, True),
        (800_001, 25, True),  # 8,000.01 + 25 % VAT = 10,000.01
        (800_000, 25, False),
    ],
)
def test_notices_over_the_threshold_are_held(amount_ore: int, vat_rate: int, held: bool) -> None:
    charge = created(amount_ore=amount_ore, vat_rate=vat_rate, service_type="premises_rent")
    [notice] = notices_due(charge, {}, day=date(2026, 1, 5), calendar=CALENDAR)[-1:]
    assert (held_reason(notice, SETTINGS, date(2026, 1, 5)) is not None) is held


def test_the_threshold_is_a_dated_setting_per_service() -> None:
    settings = RecurringSettings(
        manual_check_over_ore={"housing_rent": Dated[int].table(("2026-01-01", 500_000))}
    )
    charge = created(amount_ore=600_000)
    [notice] = notices_due(charge, {}, day=date(2026, 1, 5), calendar=CALENDAR)[-1:]
    assert held_reason(notice, settings, date(2026, 1, 5)) is not None
    childcare = created(service_type="childcare", amount_ore=5_000_000)
    [fee] = notices_due(childcare, {}, day=date(2026, 1, 5), calendar=CALENDAR)[-1:]
    assert held_reason(fee, settings, date(2026, 1, 5)) is None  # no threshold for the service


def test_the_next_notice_day_follows_what_is_billed() -> None:
    charge = created()
    assert next_notice_on(charge, None, CALENDAR) == date(2025, 12, 2)  # January's, in advance
    assert next_notice_on(charge, date(2026, 1, 31), CALENDAR) == date(2026, 1, 5)
    assert next_notice_on(charge, date(2026, 4, 30), CALENDAR) == date(2026, 4, 2)
    ended = charge.model_copy(update={"ends_on": date(2026, 4, 15)})
    assert next_notice_on(ended, date(2026, 4, 30), CALENDAR) is None


def test_periods_up_to_billed_through_are_not_noticed_again() -> None:
    charge = created()
    due = notices_due(
        charge, {}, day=date(2026, 4, 2), calendar=CALENDAR, billed_through=date(2026, 3, 31)
    )
    assert [n.period.start for n in due] == [date(2026, 4, 1), date(2026, 5, 1)]
