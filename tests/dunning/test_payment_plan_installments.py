"""The payment plans' daily job walked day by day with the business clock (domain.md §4
"Installment plan"; seed 002): a plan kept is completed, a plan broken has its installment missed
once and is cancelled, listed for the department, and its invoice is free again. Dunning's real
stores (``MemoryEventStore``, ``SqliteEventStore``), the ``DailyScheduler``, a ``ManualClock``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from fordra.contracts.dunning import (
    InstallmentMissed,
    PaymentPlanCancelled,
    PaymentPlanCompleted,
)
from fordra.dunning.application.installments import installments_job
from fordra.dunning.application.payment_plans import (
    ProposePaymentPlan,
    get_payment_plan,
    list_payment_plans,
    propose_payment_plan,
    sign_payment_plan,
)
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.scheduler import DailyScheduler
from tests.dunning.plan_support import TENANT, PlansOnMemory

TODAY = date(2026, 5, 10)


async def no_bus() -> None:
    return None


@pytest.fixture(params=["memory", "sqlite"])
async def plans(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PlansOnMemory]:
    sqlite = tmp_path / "dunning.sqlite" if request.param == "sqlite" else None
    started = await PlansOnMemory.start(TODAY, sqlite)
    yield started
    await started.store.close()


def scheduler_for(plans: PlansOnMemory) -> DailyScheduler:
    scheduler = DailyScheduler(no_bus)
    scheduler.register("payment-plan installments", installments_job(plans.deps, TENANT))
    return scheduler


async def a_signed_plan(plans: PlansOnMemory, invoice_id: str) -> str:
    """3 monthly installments of 1,000 kr from 2026-05-31, written, no fee."""
    cmd = ProposePaymentPlan(
        customer_id="c-1",
        invoice_ids=(invoice_id,),
        installments=3,
        first_due_date=date(2026, 5, 31),
        written=True,
        fee_ore=0,
    )
    officer = plans.principal()
    proposed = await propose_payment_plan(cmd, plans.deps, officer, plans.meta())
    plan_id = proposed.response.plan_id
    await sign_payment_plan(plan_id, plans.deps, officer, plans.meta())
    return plan_id


async def test_a_plan_kept_is_completed(plans: PlansOnMemory) -> None:
    # Given an active plan of 3 x 1,000 kr for a 3,000 kr invoice
    invoice_id = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    plan_id = await a_signed_plan(plans, invoice_id)
    scheduler = scheduler_for(plans)
    # When the debtor pays each installment a couple of days before it falls due
    for paid_on in (date(2026, 5, 29), date(2026, 6, 28), date(2026, 7, 29)):
        await scheduler.advance(plans.clock, paid_on)
        await plans.pay(invoice_id, "c-1", 100_000)
    await scheduler.advance(plans.clock, date(2026, 8, 31))
    # Then nothing was missed, and the plan was completed once, the day after the last payment
    assert await plans.events(InstallmentMissed) == []
    [completed] = await plans.events(PaymentPlanCompleted)
    assert (completed.plan_id, completed.completed_on) == (plan_id, date(2026, 7, 30))
    view = await get_payment_plan(plan_id, plans.deps, plans.principal())
    assert (view.status, view.closed_on) == ("completed", date(2026, 7, 30))


async def test_a_late_payment_within_the_grace_days_is_not_a_missed_installment(
    plans: PlansOnMemory,
) -> None:
    invoice_id = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    await a_signed_plan(plans, invoice_id)
    scheduler = scheduler_for(plans)
    # paid on the due date, booked with the bank file three days later
    await scheduler.advance(plans.clock, date(2026, 6, 3))
    await plans.pay(invoice_id, "c-1", 100_000)
    await scheduler.advance(plans.clock, date(2026, 6, 20))
    assert await plans.events(InstallmentMissed) == []


async def test_a_plan_broken_is_missed_once_then_cancelled_and_listed(
    plans: PlansOnMemory,
) -> None:
    # Given an active plan of 3 x 1,000 kr and the first installment paid
    invoice_id = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    plan_id = await a_signed_plan(plans, invoice_id)
    scheduler = scheduler_for(plans)
    await scheduler.advance(plans.clock, date(2026, 5, 30))
    await plans.pay(invoice_id, "c-1", 100_000)
    # When the second (2026-06-30) is never paid, walked day by day to the end of August
    await scheduler.advance(plans.clock, date(2026, 8, 31))
    # Then it was missed once, 3 days after its due date
    [missed] = await plans.events(InstallmentMissed)
    assert (missed.due_date, missed.amount_ore, missed.missed_on) == (
        date(2026, 6, 30),
        100_000,
        date(2026, 7, 4),
    )
    # And the plan was cancelled 14 days later, the third installment never assessed
    [cancelled] = await plans.events(PaymentPlanCancelled)
    assert (cancelled.plan_id, cancelled.cancelled_on) == (plan_id, date(2026, 7, 18))
    assert "2026-06-30" in cancelled.reason
    assert await plans.events(PaymentPlanCompleted) == []
    # And the department's queue lists it with the reason
    queue = await list_payment_plans(plans.deps, plans.principal(), "cancelled")
    assert [(p.plan_id, p.reason) for p in queue.items] == [(plan_id, cancelled.reason)]
    assert (await list_payment_plans(plans.deps, plans.principal(), "active")).items == []
    # And the invoice, out of the plan, may go into a new one
    cmd = ProposePaymentPlan(
        customer_id="c-1",
        invoice_ids=(invoice_id,),
        installments=2,
        first_due_date=date(2026, 9, 30),
        written=False,
        fee_ore=0,
    )
    again = await propose_payment_plan(cmd, plans.deps, plans.principal(), plans.meta())
    assert again.response.capital_ore == 200_000


async def test_a_day_run_twice_decides_nothing_new(plans: PlansOnMemory) -> None:
    invoice_id = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    await a_signed_plan(plans, invoice_id)
    scheduler = scheduler_for(plans)
    await scheduler.advance(plans.clock, date(2026, 6, 4))
    before = len(await plans.log())
    await scheduler.run_day(date(2026, 6, 4))
    assert len(await plans.log()) == before
    assert len(await plans.events(InstallmentMissed)) == 1


async def test_a_cancelled_plan_is_not_signed(plans: PlansOnMemory) -> None:
    invoice_id = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    plan_id = await a_signed_plan(plans, invoice_id)
    await scheduler_for(plans).advance(plans.clock, date(2026, 6, 20))
    with pytest.raises(DomainRuleViolation) as refused:
        await sign_payment_plan(plan_id, plans.deps, plans.principal(), plans.meta())
    assert refused.value.rule == "check_plan_awaiting_signature"
