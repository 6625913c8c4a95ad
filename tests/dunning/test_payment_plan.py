"""The payment plan's pure rules (domain.md §3 fees, §4 "Installment plan"; seed 001, seed 003
§5.3): its installments, interest to the last installment, costs and total; what it refuses; and
how an active plan is kept or broken."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fordra.contracts.dunning import Installment, PaymentPlanProposed
from fordra.dunning.domain.payment_plan import (
    PaymentPlan,
    PaymentPlanDrawnUp,
    PlanClaim,
    PlanInvoice,
    PlanTerms,
    assess_plan,
    draw_up_plan,
    installment_dates,
    split_capital,
)
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from tests.dunning.plan_support import ReferenceInterest

SETTINGS = DunningSettings()
INTEREST = ReferenceInterest()
TODAY = date(2026, 5, 10)


def invoice(
    invoice_id: str = "inv-1",
    *,
    customer_id: str = "c-1",
    capital_ore: int = 600_000,
    due: date = date(2026, 4, 30),
    **update: object,
) -> PlanInvoice:
    return PlanInvoice(
        invoice_id=invoice_id,
        customer_id=customer_id,
        invoice_number=f"F{invoice_id}",
        service_type="water",
        what_for="Vatten och avlopp, mars–april 2026",
        invoice_date=due.replace(day=1),
        due_date=due,
        interest_from=due,
        capital_ore=capital_ore,
        open_capital_ore=capital_ore,
    ).model_copy(update=update)


def draw(*invoices: PlanInvoice, **kw: object) -> PlanTerms:
    args: dict[str, object] = {
        "customer_id": "c-1",
        "invoices": [(i.invoice_id, i) for i in invoices],
        "installments": 6,
        "first_due_date": date(2026, 5, 31),
        "written": True,
        "fee_ore": 17_000,
        "today": TODAY,
        "settings": SETTINGS,
        "interest": INTEREST,
    }
    args.update(kw)
    return draw_up_plan(**args)  # type: ignore[arg-type]


def test_the_rulebooks_example_6000_kr_in_6_monthly_installments_with_the_170_kr_fee() -> None:
    # Given 6,000 kr due 2026-04-30, at 2.00 % + 8 = 10 % (domain.md §3)
    # When a written plan of 6 monthly installments from 2026-05-31 with the 170 kr fee is drawn up
    terms = draw(invoice())
    # Then 6 installments of 1,000 kr on the last day of May to October
    assert [(i.due_date, i.amount_ore) for i in terms.installments] == [
        (date(2026, 5, 31), 100_000),
        (date(2026, 6, 30), 100_000),
        (date(2026, 7, 31), 100_000),
        (date(2026, 8, 31), 100_000),
        (date(2026, 9, 30), 100_000),
        (date(2026, 10, 31), 100_000),
    ]
    # And interest on the declining balance: each 1,000 kr from the due date to its installment
    days = [31, 61, 92, 123, 153, 184]
    expected = sum(round(100_000 * 10 * d / 36_500 + 1e-9) for d in days)
    assert expected == 17_644
    assert terms.interest_ore == expected
    assert terms.costs_ore == 17_000
    assert terms.capital_ore == 600_000
    assert terms.total_ore == 600_000 + 17_644 + 17_000
    assert terms.rate_percent == "10.00"


def test_monthly_dates_keep_the_day_or_take_a_shorter_months_last() -> None:
    assert installment_dates(date(2026, 1, 31), 4) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert installment_dates(date(2026, 11, 15), 3) == [
        date(2026, 11, 15),
        date(2026, 12, 15),
        date(2027, 1, 15),
    ]


def test_the_remainder_ore_go_on_the_last_installment() -> None:
    assert split_capital(100_001, 3) == [33_333, 33_333, 33_335]
    assert sum(split_capital(987_654, 7)) == 987_654


def test_interest_pays_the_oldest_invoice_first_and_follows_a_deferrals_interest_date() -> None:
    # Given two invoices: the older one deferred, its interest running from 2026-05-05
    old = invoice("a", capital_ore=100_000, due=date(2026, 4, 1), interest_from=date(2026, 5, 5))
    new = invoice("b", capital_ore=100_000, due=date(2026, 4, 30))
    terms = draw(new, old, installments=2, fee_ore=0)
    # Then the installments pay "b" (interest from 04-30) before "a" (from 05-05)
    first, second = date(2026, 5, 31), date(2026, 6, 30)
    expected = INTEREST.interest_ore(100_000, date(2026, 4, 30), first) + INTEREST.interest_ore(
        100_000, date(2026, 5, 5), second
    )
    assert terms.interest_ore == expected


def test_a_rate_change_during_the_plan_is_followed() -> None:
    # Given a rate table where the reference rate rises on 2026-07-01
    rates = Dated.table(("2026-01-01", INTEREST.rates.at(TODAY)), ("2026-07-01", 4))
    interest = ReferenceInterest(rates)  # type: ignore[arg-type]
    terms = draw(invoice(), interest=interest)
    assert terms.interest_ore > draw(invoice()).interest_ore


@pytest.mark.parametrize(
    ("kw", "rule", "field"),
    [
        ({"written": False, "fee_ore": 100}, "check_no_fee_for_oral_plan", "fee_ore"),
        ({"fee_ore": 17_001}, "check_written_plan_fee_within_cap", "fee_ore"),
        ({"installments": 0}, "check_installments_at_least_one", "installments"),
        (
            {"first_due_date": date(2026, 5, 9)},
            "check_first_due_date_not_past",
            "first_due_date",
        ),
        ({"invoices": []}, "check_plan_has_invoices", "invoice_ids"),
        # A first installment more than 92 days ahead is a deferral in disguise (2099: 73 years)
        (
            {"first_due_date": date(2099, 1, 1)},
            "check_first_due_date_within_bound",
            "first_due_date",
        ),
    ],
)
def test_refused_terms_name_the_rule_and_the_field(
    kw: dict[str, object], rule: str, field: str
) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        draw(invoice(), **kw)
    assert (refused.value.rule, refused.value.field) == (rule, field)


def test_an_oral_plan_without_a_fee_is_drawn_up() -> None:
    terms = draw(invoice(), written=False, fee_ore=0)
    assert terms.costs_ore == 0


@pytest.mark.parametrize(
    ("state", "rule"),
    [
        (None, "check_invoice_known"),
        (invoice("x", customer_id="c-2"), "check_invoice_is_the_customers"),
        (invoice("x", open_capital_ore=0), "check_invoice_not_paid"),
        (invoice("x", status="handed_over"), "check_invoice_not_handed_over"),
        (invoice("x", status="cancelled"), "check_invoice_open"),
        (invoice("x", active_plan_id="p-0"), "check_invoice_not_in_active_plan"),
    ],
)
def test_an_invoice_that_cannot_be_planned_is_named(state: PlanInvoice | None, rule: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        draw(invoices=[("ok", invoice("ok")), ("x", state)])
    assert refused.value.rule == rule
    assert refused.value.field == "invoice_ids.1"
    assert "'x'" in str(refused.value)


def test_an_invoice_named_twice_is_refused() -> None:
    one = invoice()
    with pytest.raises(DomainRuleViolation, match="named twice"):
        draw(invoices=[("inv-1", one), ("inv-1", one)])


# -- keeping and breaking a plan ------------------------------------------------------------------


def active_plan(*missed: object) -> PaymentPlan:
    installments = tuple(
        Installment(due_date=d, amount_ore=100_000) for d in (date(2026, 5, 31), date(2026, 6, 30))
    )
    claim = PlanClaim(
        invoice_id="inv-1",
        invoice_number="F1",
        service_type="water",
        what_for="Vatten",
        due_date=date(2026, 4, 30),
        interest_from=date(2026, 4, 30),
        open_capital_ore=200_000,
    )
    proposed = PaymentPlanProposed(
        plan_id="p-1",
        customer_id="c-1",
        invoice_ids=("inv-1",),
        proposed_on=TODAY,
        written=True,
        installments=installments,
        capital_ore=200_000,
        interest_ore=0,
        costs_ore=0,
        total_ore=200_000,
        rate_percent="10.00",
    )
    drawn = PaymentPlanDrawnUp(
        plan_id="p-1", claims=(claim,), fee_ore=0, first_due_date=date(2026, 5, 31)
    )
    return PaymentPlan(
        plan_id="p-1",
        customer_id="c-1",
        status="active",
        proposed=proposed,
        drawn_up=drawn,
        activated_on=TODAY,
        missed=missed,  # type: ignore[arg-type]
    )


def open_left(ore: int) -> dict[str, PlanInvoice | None]:
    return {"inv-1": invoice(capital_ore=200_000, open_capital_ore=ore)}


def test_an_installment_is_missed_only_after_the_grace_days_and_once() -> None:
    plan = active_plan()
    # 3 days after the due date a payment may still be on its way
    assert assess_plan(plan, open_left(200_000), date(2026, 6, 3), SETTINGS) == []
    [missed] = assess_plan(plan, open_left(200_000), date(2026, 6, 4), SETTINGS)
    assert (missed.due_date, missed.amount_ore, missed.missed_on) == (  # type: ignore[attr-defined]
        date(2026, 5, 31),
        100_000,
        date(2026, 6, 4),
    )
    again = active_plan(missed)
    assert assess_plan(again, open_left(200_000), date(2026, 6, 5), SETTINGS) == []


def test_a_plan_with_a_missed_installment_unpaid_14_days_later_is_cancelled() -> None:
    [missed] = assess_plan(active_plan(), open_left(200_000), date(2026, 6, 4), SETTINGS)
    plan = active_plan(missed)
    assert assess_plan(plan, open_left(200_000), date(2026, 6, 17), SETTINGS) == []
    [cancelled] = assess_plan(plan, open_left(200_000), date(2026, 6, 18), SETTINGS)
    assert cancelled.event_type == "PaymentPlanCancelled"
    assert "2026-05-31" in cancelled.reason  # type: ignore[attr-defined]
    # a late payment of the missed installment keeps the plan
    assert assess_plan(plan, open_left(100_000), date(2026, 6, 18), SETTINGS) == []


def test_every_installment_paid_completes_the_plan() -> None:
    [done] = assess_plan(active_plan(), open_left(0), date(2026, 6, 1), SETTINGS)
    assert done.event_type == "PaymentPlanCompleted"


def test_the_first_installment_may_fall_up_to_92_days_ahead() -> None:
    # The bound is a dated setting (domain.md §2: a deferral is normally at most 3 months)
    assert draw(invoice(), first_due_date=TODAY + timedelta(days=92)).installments
    with pytest.raises(DomainRuleViolation, match="more than 92 days ahead"):
        draw(invoice(), first_due_date=TODAY + timedelta(days=93))
