"""Late interest (räntelagen 6 §, domain.md §3, seed 001): the rulebook's example, a half-year
rate change, leap years, partial payments (the day convention), the edges, and properties of the
rounding per rate period; then the charge when a claim's capital is paid (domain.md §2: the
deferral's and the postponement's start)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from fordra.contracts.dunning import LateInterestCharged
from fordra.dunning.domain.interest import (
    InterestSettings,
    StatutoryInterest,
    capital_paid_on,
    charge_when_paid,
    interest_on_claim,
    late_interest_for,
    replay_claim,
)
from fordra.dunning.domain.payment_plan import InterestCalculator
from fordra.dunning.domain.rate_events import (
    InterestCapitalChanged,
    InterestClaimCancelled,
    InterestClaimOpened,
    InterestSettled,
    InterestStartMoved,
)
from fordra.kernel.dated import Dated
from fordra.kernel.events import Event
from fordra.kernel.late_interest import (
    CapitalChange,
    InterestPeriod,
    interest_start,
    late_interest,
    reference_rate_table,
    total_ore,
)

RATES = reference_rate_table()
SETTINGS = InterestSettings()
TEN_THOUSAND_KR = 1_000_000


def interest(
    capital: int, start: date, until: date, *changes: CapitalChange
) -> tuple[InterestPeriod, ...]:
    return late_interest(capital, changes, start=start, until=until, reference_rates=RATES)


# -- the arithmetic ------------------------------------------------------------------------------


def test_the_rulebooks_example_10000_kr_30_days_at_10_percent_is_82_19_kr() -> None:
    periods = interest(TEN_THOUSAND_KR, date(2026, 1, 31), date(2026, 3, 2))
    assert periods == (InterestPeriod(date(2026, 2, 1), date(2026, 3, 2), Decimal("10.00"), 8_219),)
    assert periods[0].days == 30


def test_across_a_half_year_each_rate_period_is_rounded_on_its_own() -> None:
    # Due 2025-06-15, paid 2025-08-15: 15 days at 2.50 + 8, then 46 days at 2.00 + 8.
    periods = interest(TEN_THOUSAND_KR, date(2025, 6, 15), date(2025, 8, 15))
    assert periods == (
        # 1,000,000 * 10.5 % * 15 / 365 = 4,315.07
        InterestPeriod(date(2025, 6, 16), date(2025, 6, 30), Decimal("10.50"), 4_315),
        # 1,000,000 * 10 % * 46 / 365 = 12,602.74
        InterestPeriod(date(2025, 7, 1), date(2025, 8, 15), Decimal("10.00"), 12_603),
    )
    assert total_ore(periods) == 16_918


def test_half_years_of_the_same_rate_are_one_period() -> None:
    # 2025-07-01 and 2026-01-01 are both 2.00: one line, one rounding.
    periods = interest(TEN_THOUSAND_KR, date(2025, 12, 1), date(2026, 1, 31))
    assert [(p.first_day, p.last_day, p.rate_percent) for p in periods] == [
        (date(2025, 12, 2), date(2026, 1, 31), Decimal("10.00"))
    ]


def test_a_leap_day_is_a_day_of_interest_and_the_year_still_counts_365() -> None:
    # 2024-02-29 and 2024-03-01 at 4.00 + 8: 1,000,000 * 12 % * 2 / 365 = 657.53.
    assert total_ore(interest(TEN_THOUSAND_KR, date(2024, 2, 28), date(2024, 3, 1))) == 658
    # The whole of 2024 is 366 days of 1/365 each: 1,000,000 * 12 % * 366 / 365 = 120,328.77.
    whole_year = interest(TEN_THOUSAND_KR, date(2023, 12, 31), date(2024, 12, 31))
    assert [p.days for p in whole_year] == [366]
    assert total_ore(whole_year) == 120_329


def test_a_partial_payment_lowers_the_base_from_the_day_after() -> None:
    # 5,000 kr paid on 2026-02-10: the 10 days to and with the 10th bear the whole capital, the
    # 20 after it half: 1,000,000 * 10 % * 10/365 + 500,000 * 10 % * 20/365 = 5,479.45.
    paid = CapitalChange(date(2026, 2, 10), -500_000)
    periods = interest(TEN_THOUSAND_KR, date(2026, 1, 31), date(2026, 3, 2), paid)
    assert total_ore(periods) == 5_479
    # Summed exactly within the period, rounded once: not 2,740 + 2,740.
    assert len(periods) == 1


def test_a_payment_on_the_due_date_leaves_no_interest_on_what_it_paid() -> None:
    due = date(2026, 1, 31)
    whole = CapitalChange(due, -TEN_THOUSAND_KR)
    assert interest(TEN_THOUSAND_KR, due, date(2026, 3, 2), whole) == ()
    part = CapitalChange(due, -400_000)
    # 600,000 * 10 % * 30 / 365 = 4,931.51
    assert total_ore(interest(TEN_THOUSAND_KR, due, date(2026, 3, 2), part)) == 4_932


def test_a_payment_before_the_due_date_counts_from_the_start() -> None:
    early = CapitalChange(date(2026, 1, 10), -400_000)
    assert total_ore(interest(TEN_THOUSAND_KR, date(2026, 1, 31), date(2026, 3, 2), early)) == 4_932


def test_zero_and_negative_edges_bear_nothing() -> None:
    due = date(2026, 1, 31)
    assert interest(0, due, date(2026, 3, 2)) == ()
    assert interest(-5_000, due, date(2026, 3, 2)) == ()
    assert interest(TEN_THOUSAND_KR, due, due) == ()
    assert interest(TEN_THOUSAND_KR, due, due - timedelta(days=10)) == ()
    # Overpaid: the capital is below zero from the day after, and bears nothing then.
    over = CapitalChange(date(2026, 2, 5), -1_200_000)
    periods = interest(TEN_THOUSAND_KR, due, date(2026, 3, 2), over)
    assert [(p.first_day, p.last_day) for p in periods] == [(date(2026, 2, 1), date(2026, 3, 2))]
    # 1,000,000 * 10 % * 5 / 365 = 1,369.86: the days after bear nothing.
    assert total_ore(periods) == 1_370
    # One öre for one day is a fraction of an öre: rounded away, no line of 0 öre.
    assert interest(1, due, date(2026, 2, 1)) == ()


def test_the_margin_is_a_dated_setting() -> None:
    nine = InterestSettings(margin_points=Dated[Decimal].table(("2020-01-01", Decimal("9"))))
    periods = late_interest_for(
        TEN_THOUSAND_KR,
        (),
        start=date(2026, 1, 31),
        until=date(2026, 3, 2),
        reference_rates=RATES,
        settings=nine,
    )
    assert periods[0].rate_percent == Decimal("11.00")
    # And a margin that changes within the time splits it into two rate periods.
    changing = InterestSettings(
        margin_points=Dated[Decimal].table(
            ("2020-01-01", Decimal("8")), ("2026-02-15", Decimal("9"))
        )
    )
    periods = late_interest_for(
        TEN_THOUSAND_KR,
        (),
        start=date(2026, 1, 31),
        until=date(2026, 3, 2),
        reference_rates=RATES,
        settings=changing,
    )
    assert [(p.first_day, p.rate_percent) for p in periods] == [
        (date(2026, 2, 1), Decimal("10.00")),
        (date(2026, 2, 15), Decimal("11.00")),
    ]


def test_an_added_half_year_is_used_from_its_first_day() -> None:
    rates = reference_rate_table([(date(2026, 7, 1), Decimal("1.50"))])
    periods = late_interest(
        TEN_THOUSAND_KR, (), start=date(2026, 6, 29), until=date(2026, 7, 2), reference_rates=rates
    )
    assert [(p.days, p.rate_percent) for p in periods] == [
        (1, Decimal("10.00")),
        (2, Decimal("9.50")),
    ]


def test_the_official_table_reaches_back_to_2002() -> None:
    assert RATES.at(date(2002, 7, 1)) == Decimal("4.50")
    assert RATES.at(date(2020, 1, 1)) == Decimal("0.00")
    assert RATES.at(date(2022, 7, 1)) == Decimal("0.50")
    assert RATES.at(date(2023, 1, 1)) == Decimal("2.50")
    assert RATES.at(date(2023, 12, 31)) == Decimal("3.50")
    assert RATES.at(date(2025, 3, 1)) == Decimal("2.50")


def test_interest_starts_at_the_due_date_or_the_deferrals_day_whichever_is_later() -> None:
    assert interest_start(date(2026, 1, 31)) == date(2026, 1, 31)
    assert interest_start(date(2026, 1, 31), date(2026, 2, 14)) == date(2026, 2, 14)
    # A postponement after a deferral moves the start on.
    assert interest_start(date(2026, 3, 1), date(2026, 2, 14)) == date(2026, 3, 1)


# -- properties of the rounding ------------------------------------------------------------------

DAYS = st.dates(min_value=date(2002, 7, 1), max_value=date(2027, 12, 31))
CAPITAL = st.integers(min_value=0, max_value=100_000_000)


def _exact(capital: int, start: date, until: date, changes: tuple[CapitalChange, ...]) -> Fraction:
    """The interest day by day, unrounded: what the periods are rounded from."""
    total = Fraction(0)
    day = start + timedelta(days=1)
    while day <= until:
        base = capital + sum(c.amount_ore for c in changes if c.on < day)
        rate = RATES.at(day) + Decimal(8)
        total += Fraction(max(base, 0)) * Fraction(rate) / 36_500
        day += timedelta(days=1)
    return total


@given(
    capital=CAPITAL,
    start=DAYS,
    length=st.integers(min_value=0, max_value=400),
    paid=st.lists(st.tuples(st.integers(0, 400), st.integers(-50_000_000, 1_000_000)), max_size=4),
)
def test_each_period_is_the_exact_interest_rounded_once(
    capital: int, start: date, length: int, paid: list[tuple[int, int]]
) -> None:
    until = start + timedelta(days=length)
    changes = tuple(CapitalChange(start + timedelta(days=d), a) for d, a in paid)
    periods = interest(capital, start, until, *changes)
    exact = _exact(capital, start, until, changes)
    # Each rate period is within half an öre of its exact part (a period rounded to 0 öre is
    # left out, and was below half an öre); there is at most one more period than rate changes.
    rate_periods = 1 + sum(1 for d, _ in RATES.rows if start < d <= until)
    assert abs(total_ore(periods) - exact) <= Fraction(rate_periods, 2)
    assert all(p.amount_ore > 0 and p.first_day <= p.last_day for p in periods)
    assert all(a.last_day < b.first_day for a, b in pairwise(periods))


@given(capital=CAPITAL, start=DAYS, first=st.integers(0, 300), second=st.integers(0, 300))
def test_splitting_a_time_never_changes_the_sum_by_more_than_the_rounding_of_the_parts(
    capital: int, start: date, first: int, second: int
) -> None:
    middle = start + timedelta(days=first)
    until = middle + timedelta(days=second)
    whole = interest(capital, start, until)
    parts = (*interest(capital, start, middle), *interest(capital, middle, until))
    # Every rounding is at most half an öre off the exact sum, which both share; a period of
    # less than half an öre is dropped (rounded to 0), which the same bound covers.
    rate_changes = sum(1 for d, _ in RATES.rows if start < d <= until)
    roundings = (rate_changes + 1) + (rate_changes + 2)  # the whole's periods, then the parts'
    assert abs(total_ore(whole) - total_ore(parts)) <= Fraction(roundings, 2)


@given(capital=CAPITAL, start=DAYS, length=st.integers(0, 400), more=st.integers(1, 60))
def test_more_days_never_give_less_interest(
    capital: int, start: date, length: int, more: int
) -> None:
    until = start + timedelta(days=length)
    shorter = total_ore(interest(capital, start, until))
    longer = total_ore(interest(capital, start, until + timedelta(days=more)))
    assert longer >= shorter


@given(capital=CAPITAL, start=DAYS, length=st.integers(1, 400))
def test_more_capital_never_gives_less_interest(capital: int, start: date, length: int) -> None:
    until = start + timedelta(days=length)
    assert total_ore(interest(capital + 1, start, until)) >= total_ore(
        interest(capital, start, until)
    )


# -- the claim and its charge --------------------------------------------------------------------


def opened(due: date = date(2026, 1, 31), capital: int = TEN_THOUSAND_KR) -> InterestClaimOpened:
    return InterestClaimOpened(
        invoice_id="inv-1",
        customer_id="cust-1",
        service_type="water",
        due_date=due,
        capital_ore=capital,
    )


def payment(on: date, amount: int) -> InterestCapitalChanged:
    return InterestCapitalChanged(invoice_id="inv-1", on=on, amount_ore=-amount, cause="payment")


def charged(events: list[Event]) -> list[LateInterestCharged]:
    return [e for e in events if isinstance(e, LateInterestCharged)]


def test_the_capital_paid_in_full_charges_the_interest_per_rate_period_once() -> None:
    claim = replay_claim(
        "inv-1",
        [
            opened(date(2025, 6, 15)),
            payment(date(2025, 8, 1), 300_000),
            payment(date(2025, 8, 15), 700_000),
        ],
    )
    assert capital_paid_on(claim) == date(2025, 8, 15)
    events = charge_when_paid(claim, RATES, SETTINGS)
    lines = charged(events)
    assert [(c.from_date, c.to_date, c.rate_percent) for c in lines] == [
        (date(2025, 6, 16), date(2025, 6, 30), "10.50"),
        (date(2025, 7, 1), date(2025, 8, 15), "10.00"),
    ]
    assert all(c.invoice_id == "inv-1" and c.service_type == "water" for c in lines)
    settled = events[-1]
    assert isinstance(settled, InterestSettled)
    assert settled.amount_ore == sum(c.amount_ore for c in lines)
    assert settled.paid_on == date(2025, 8, 15)
    # Once settled, nothing more: a later payment event or a redelivery charges nothing.
    again = replay_claim(
        "inv-1", [opened(date(2025, 6, 15)), payment(date(2025, 8, 15), TEN_THOUSAND_KR), settled]
    )
    assert charge_when_paid(again, RATES, SETTINGS) == []


def test_nothing_is_charged_while_unpaid_paid_on_time_or_cancelled() -> None:
    unpaid = replay_claim("inv-1", [opened(), payment(date(2026, 3, 2), 999_999)])
    assert capital_paid_on(unpaid) is None
    assert charge_when_paid(unpaid, RATES, SETTINGS) == []
    on_time = replay_claim("inv-1", [opened(), payment(date(2026, 1, 31), TEN_THOUSAND_KR)])
    assert capital_paid_on(on_time) == date(2026, 1, 31)
    assert charge_when_paid(on_time, RATES, SETTINGS) == []
    cancelled = replay_claim(
        "inv-1",
        [
            opened(),
            InterestClaimCancelled(invoice_id="inv-1"),
            payment(date(2026, 3, 2), TEN_THOUSAND_KR),
        ],
    )
    assert charge_when_paid(cancelled, RATES, SETTINGS) == []


def test_payments_heard_before_the_invoice_are_charged_once_it_is_known() -> None:
    early = replay_claim("inv-1", [payment(date(2026, 3, 2), TEN_THOUSAND_KR)])
    assert charge_when_paid(early, RATES, SETTINGS) == []
    known = replay_claim("inv-1", [payment(date(2026, 3, 2), TEN_THOUSAND_KR), opened()])
    assert [c.amount_ore for c in charged(charge_when_paid(known, RATES, SETTINGS))] == [8_219]


def test_a_reversal_unpays_the_capital_until_it_is_paid_again() -> None:
    reversed_ = InterestCapitalChanged(
        invoice_id="inv-1", on=date(2026, 2, 20), amount_ore=TEN_THOUSAND_KR, cause="payment"
    )
    claim = replay_claim(
        "inv-1", [opened(), payment(date(2026, 2, 10), TEN_THOUSAND_KR), reversed_]
    )
    assert capital_paid_on(claim) is None
    paid_again = replay_claim(
        "inv-1",
        [
            opened(),
            payment(date(2026, 2, 10), TEN_THOUSAND_KR),
            reversed_,
            payment(date(2026, 3, 2), TEN_THOUSAND_KR),
        ],
    )
    assert capital_paid_on(paid_again) == date(2026, 3, 2)
    # Feb 1-10 on the whole capital, Feb 11-20 on nothing (paid), Feb 21 - Mar 2 on the whole
    # again (the reversal counts from the day after): 20 days at 10 % = 5,479.45.
    assert total_ore(interest_on_claim(paid_again, date(2026, 3, 2), RATES, SETTINGS)) == 5_479


def test_a_credit_note_lowers_the_capital_from_the_start() -> None:
    credit = InterestCapitalChanged(
        invoice_id="inv-1", on=date(2026, 2, 20), amount_ore=400_000, cause="credit_note"
    )
    claim = replay_claim("inv-1", [opened(), credit, payment(date(2026, 3, 2), 600_000)])
    assert capital_paid_on(claim) == date(2026, 3, 2)
    # 600,000 * 10 % * 30 / 365 = 4,931.51
    assert [c.amount_ore for c in charged(charge_when_paid(claim, RATES, SETTINGS))] == [4_932]


def test_a_deferral_runs_interest_from_its_day_and_a_postponement_from_the_new_due_date() -> None:
    deferred = replay_claim(
        "inv-1",
        [
            opened(),
            InterestStartMoved(invoice_id="inv-1", interest_from=date(2026, 2, 10)),
            payment(date(2026, 3, 2), TEN_THOUSAND_KR),
        ],
    )
    # 20 days (Feb 11 - Mar 2) at 10 %: 5,479.45
    assert [c.from_date for c in charged(charge_when_paid(deferred, RATES, SETTINGS))] == [
        date(2026, 2, 11)
    ]
    assert total_ore(interest_on_claim(deferred, date(2026, 3, 2), RATES, SETTINGS)) == 5_479
    postponed = replay_claim(
        "inv-1",
        [
            opened(),
            InterestStartMoved(invoice_id="inv-1", due_date=date(2026, 2, 28)),
            payment(date(2026, 3, 2), TEN_THOUSAND_KR),
        ],
    )
    # 2 days (Mar 1 - Mar 2) at 10 %: 547.95
    assert total_ore(interest_on_claim(postponed, date(2026, 3, 2), RATES, SETTINGS)) == 548


def test_a_negative_reference_rate_lowers_the_rate_below_the_margin() -> None:
    # 2017: the reference rate was -0.50, so late interest 7.50 %: 1,000,000 * 7.5 % * 30 / 365.
    periods = interest(TEN_THOUSAND_KR, date(2017, 3, 1), date(2017, 3, 31))
    assert [(p.rate_percent, p.amount_ore) for p in periods] == [(Decimal("7.50"), 6_164)]


# -- the payment plans' calculator ---------------------------------------------------------------


def test_the_plans_calculator_is_the_same_rule() -> None:
    calculator: InterestCalculator = StatutoryInterest(RATES)
    assert calculator.interest_ore(TEN_THOUSAND_KR, date(2026, 1, 31), date(2026, 3, 2)) == 8_219
    assert calculator.interest_ore(TEN_THOUSAND_KR, date(2026, 3, 2), date(2026, 1, 31)) == 0
    assert calculator.rate_percent(date(2025, 6, 30)) == "10.50"
    assert calculator.rate_percent(date(2025, 7, 1)) == "10.00"


@given(capital=CAPITAL, start=DAYS, length=st.integers(0, 400))
def test_the_plans_calculator_agrees_with_a_day_by_day_sum_within_the_rounding(
    capital: int, start: date, length: int
) -> None:
    until = start + timedelta(days=length)
    rate_periods = 1 + sum(1 for d, _ in RATES.rows if start < d <= until)
    ours = StatutoryInterest(RATES).interest_ore(capital, start, until)
    assert abs(ours - _exact(capital, start, until, ())) <= Fraction(rate_periods, 2)
