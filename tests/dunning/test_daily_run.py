"""The daily run through events (domain.md §4, seed 001 / seed 004): what it proposes, once per
date, with holds stopping the flow and timers restarting when they end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from fordra.contracts.dunning import (
    InstallmentMissed,
    PaymentPlanActivated,
    PaymentPlanCancelled,
    ReminderSent,
)
from fordra.contracts.invoicing import (
    DeferralGranted,
    DisputeResolved,
    DueDatePostponed,
    InvoiceDisputed,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.domain.daily_run import OverdueClaim, RuleProposal, ServiceRules
from fordra.dunning.domain.events import DunningRunCompleted, run_stream
from fordra.dunning.domain.policy import PolicyBook, default_policy
from fordra.dunning.domain.settings import DunningSettings
from tests.dunning.flow import DunningOnMemory

DUE = date(2026, 4, 1)


async def test_a_reminder_is_proposed_7_days_after_the_due_date_once(
    dunning: DunningOnMemory,
) -> None:
    # Given an invoice due 2026-04-01 and one paid in full
    iid = await dunning.issue("c-1", 100000, due=DUE)
    paid = await dunning.issue("c-2", 50000, due=DUE)
    await dunning.publish(
        "payments",
        "payment-1",
        PaymentAllocated(
            payment_id="p-1",
            invoice_id=paid,
            customer_id="c-2",
            component="capital",
            service_type="premises_rent",
            amount_ore=50000,
        ),
    )
    # When the runs go through 2026-04-07, then nothing is proposed
    assert await dunning.run_through(date(2026, 4, 7)) == []
    # When the run of 2026-04-08 comes, then the unpaid one is proposed, the paid one is not
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    assert (reminder.kind, reminder.invoice_id, reminder.capital_ore) == ("reminder", iid, 100000)
    assert reminder.interest_ore == 192  # 7 days at 10 % on 1,000 kr
    # And the run of the same date again proposes nothing and answers the same count
    assert (await dunning.run(date(2026, 4, 8))).proposals == 1
    assert len(await dunning.proposals()) == 1
    (done,) = await dunning.events(run_stream(date(2026, 4, 8)))
    assert isinstance(done, DunningRunCompleted)
    # And the next day's run does not propose it again
    assert await dunning.run_through(date(2026, 4, 20)) == []


async def test_a_postponement_counts_from_the_new_due_date(dunning: DunningOnMemory) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    await dunning.publish(
        "invoicing",
        f"invoice-{iid}",
        DueDatePostponed(
            invoice_id=iid,
            customer_id="c-1",
            previous_due_date=DUE,
            due_date=date(2026, 4, 21),
            reason="oklar",
        ),
    )
    assert await dunning.run_through(date(2026, 4, 27)) == []
    (reminder,) = await dunning.run_through(date(2026, 4, 28))
    assert reminder.proposed_on == date(2026, 4, 28)
    # interest runs from the new due date: 7 days
    assert reminder.interest_ore == 192


async def test_a_deferral_counts_from_its_end_but_interest_from_its_date(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    await dunning.publish(
        "invoicing",
        f"invoice-{iid}",
        DeferralGranted(
            invoice_id=iid,
            customer_id="c-1",
            requested_on=date(2026, 3, 20),
            deferred_until=date(2026, 4, 30),
            interest_from=DUE,
            reason="sjuk",
        ),
    )
    assert await dunning.run_through(date(2026, 5, 6)) == []
    (reminder,) = await dunning.run_through(date(2026, 5, 7))
    # interest from 2026-04-01 (the deferral's interest date), 36 days at 10 %
    assert reminder.interest_ore == 986


async def test_a_dispute_stops_the_flow_and_its_end_restarts_it(dunning: DunningOnMemory) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    stream = f"invoice-{iid}"
    await dunning.publish(
        "invoicing",
        stream,
        InvoiceDisputed(
            invoice_id=iid, customer_id="c-1", disputed_on=date(2026, 4, 2), reason="fel"
        ),
    )
    assert await dunning.run_through(date(2026, 5, 29)) == []
    await dunning.publish(
        "invoicing",
        stream,
        DisputeResolved(
            invoice_id=iid,
            customer_id="c-1",
            resolved_on=date(2026, 5, 29),
            outcome="claim_stands",
            reason="rätt",
        ),
    )
    # Our choice: the customer gets the full 7 days again from the resolution
    assert await dunning.run_through(date(2026, 6, 4)) == []
    (reminder,) = await dunning.run_through(date(2026, 6, 5))
    assert reminder.kind == "reminder"


async def test_a_plan_holds_the_flow_and_a_cancelled_plan_restarts_it(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    await dunning.publish(
        "dunning",
        "plan-1",
        PaymentPlanActivated(
            plan_id="plan-1", customer_id="c-1", invoice_ids=(iid,), activated_on=date(2026, 4, 2)
        ),
    )
    assert (await dunning.claim(iid)).plan_id == "plan-1"
    assert await dunning.run_through(date(2026, 5, 4)) == []
    # A missed installment is reminded (and only once)
    await dunning.publish(
        "dunning",
        "plan-1",
        InstallmentMissed(
            plan_id="plan-1",
            customer_id="c-1",
            invoice_ids=(iid,),
            due_date=date(2026, 4, 30),
            amount_ore=20000,
            missed_on=date(2026, 5, 4),
        ),
    )
    (installment,) = await dunning.run_through(date(2026, 5, 5))
    assert installment.kind == "installment_reminder"
    assert (installment.plan_id, installment.installment_due_date) == ("plan-1", date(2026, 4, 30))
    assert installment.capital_ore == 20000
    assert installment.fee_ore == 0
    assert await dunning.run_through(date(2026, 5, 8)) == []
    # When the plan is cancelled, the claim is back in the flow from that day
    await dunning.publish(
        "dunning",
        "plan-1",
        PaymentPlanCancelled(
            plan_id="plan-1",
            customer_id="c-1",
            invoice_ids=(iid,),
            cancelled_on=date(2026, 5, 8),
            reason="ej fullföljd",
        ),
    )
    assert await dunning.run_through(date(2026, 5, 14)) == []
    (reminder,) = await dunning.run_through(date(2026, 5, 15))
    assert reminder.kind == "reminder"


async def test_a_reminded_claim_is_handed_over_for_what_is_still_open(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    await dunning.publish(
        "dunning",
        f"dunning-claim-{iid}",
        ReminderSent(
            letter_id="l-1",
            invoice_id=iid,
            customer_id="c-1",
            service_type="premises_rent",
            sent_on=date(2026, 4, 8),
            pay_by=date(2026, 4, 20),
            capital_ore=100000,
            fee_ore=0,
            interest_ore=192,
            next_step="agency",
        ),
    )
    await dunning.publish(
        "payments",
        "payment-1",
        PaymentAllocated(
            payment_id="p-1",
            invoice_id=iid,
            customer_id="c-1",
            component="capital",
            service_type="premises_rent",
            amount_ore=40000,
        ),
    )
    # 10 days after the reminder is Saturday 2026-04-18; the reminder asked payment by the
    # next working day, Monday 2026-04-20, so the run of that day still waits: the next finds it
    assert await dunning.run_through(date(2026, 4, 20)) == []
    (handover,) = await dunning.run_through(date(2026, 4, 21))
    assert (handover.kind, handover.capital_ore) == ("handover", 60000)


async def test_exempt_customers_are_skipped(tmp_path: Path) -> None:
    seed = default_policy("premises_rent", DUE, DunningSettings())
    book = [seed.model_copy(update={"exempt_customer_ids": ("c-exempt",)})]
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), policies=book)
    try:
        await dunning.issue("c-exempt", 100000, due=DUE)
        iid = await dunning.issue("c-1", 100000, due=DUE)
        (reminder,) = await dunning.run_through(date(2026, 4, 8))
        assert reminder.invoice_id == iid
    finally:
        await dunning.stop()


async def test_seed_004_hands_over_unreminded_invoices_once_a_month(tmp_path: Path) -> None:
    seed = default_policy("water", DUE, DunningSettings())
    book = [seed.model_copy(update={"model": "handover_then_agency_reminder"})]
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), policies=book)
    try:
        # Due 2026-04-01: on 2026-05-04 (May's first working day) it is 33 days overdue
        iid = await dunning.issue("c-1", 100000, due=DUE, service="water")
        # Due 2026-04-20: 14 days overdue then, too young; due 2026-02-01: 59 days overdue on
        # April's run day (2026-04-01), already too old for the 4-7 weeks of seed 004
        await dunning.issue("c-2", 100000, due=date(2026, 4, 20), service="water")
        await dunning.issue("c-3", 100000, due=date(2026, 2, 1), service="water")
        # No reminder of ours in this model; the April run came before any was 4 weeks overdue
        assert await dunning.run_through(date(2026, 5, 1)) == []
        (handover,) = await dunning.run_through(date(2026, 5, 4))
        assert (handover.kind, handover.invoice_id) == ("handover", iid)
        assert handover.model == "handover_then_agency_reminder"
    finally:
        await dunning.stop()


def two_unpaid_fee_invoices(
    day: date, overdue: Sequence[OverdueClaim], book: PolicyBook
) -> list[RuleProposal]:
    """A stand-in for the childcare rule (domain/childcare.py): two unpaid -> a warning."""
    if len(overdue) < 2 or any(c.termination_warned for c in overdue):
        return []
    return [
        RuleProposal(
            kind="termination_warning",
            customer_id=overdue[0].customer_id,
            service_type="childcare",
            invoice_ids=tuple(c.invoice_id for c in overdue),
            capital_ore=sum(c.capital_ore for c in overdue),
            termination_date=date(2026, 6, 1),
        )
    ]


async def test_the_service_rules_get_the_overdue_claims_of_their_service(tmp_path: Path) -> None:
    rules = ServiceRules({"childcare": two_unpaid_fee_invoices})
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), service_rules=rules)
    try:
        first = await dunning.issue("c-1", 150000, due=DUE, service="childcare")
        second = await dunning.issue("c-1", 150000, due=date(2026, 4, 2), service="childcare")
        # 2026-04-03 and 2026-04-06 are Easter holidays: the next run is 2026-04-07
        made = await dunning.run_through(date(2026, 4, 7))
        (warning,) = [p for p in made if p.kind == "termination_warning"]
        assert warning.invoice_ids == (first, second)
        assert warning.capital_ore == 300000
        assert warning.termination_date == date(2026, 6, 1)
        # proposed once: the claims are marked as having a warning proposed
        assert [
            p for p in await dunning.run_through(date(2026, 4, 9)) if p.kind != "reminder"
        ] == []
    finally:
        await dunning.stop()


async def test_the_run_follows_the_policy_book(tmp_path: Path) -> None:
    # Given premises rent's policy from 2026-03-02: a reminder 12 days after the due date
    seed = default_policy("premises_rent", DUE, DunningSettings())
    book = [seed.model_copy(update={"valid_from": date(2026, 3, 2), "reminder_after_days": 12})]
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), policies=book)
    try:
        iid = await dunning.issue("c-1", 100000, due=DUE)
        water = await dunning.issue("c-2", 100000, due=DUE, service="water")
        # Then water keeps seed 001's 7 days and premises rent waits for its 12
        (reminder,) = await dunning.run_through(date(2026, 4, 8))
        assert reminder.invoice_id == water
        (later,) = await dunning.run_through(date(2026, 4, 13))
        assert (later.invoice_id, later.proposed_on) == (iid, date(2026, 4, 13))
    finally:
        await dunning.stop()


async def test_a_reminder_fee_agreed_after_the_debt_arose_is_not_charged(tmp_path: Path) -> None:
    # Given water's default (no fee) and, from 2026-03-03, a 60 kr reminder fee agreed
    seed = default_policy("water", date(2026, 3, 3), DunningSettings())
    agreed = seed.model_copy(
        update={
            "valid_from": date(2026, 3, 3),
            "reminder_fee_ore": 6000,
            "reminder_fee_agreed": True,
        }
    )
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), policies=[agreed])
    try:
        # And an invoice dated 2026-03-02 (the debt arose before the agreement) and one dated
        # 2026-03-04 (after it), both due 2026-04-03
        before = await dunning.issue("c-1", 100000, due=date(2026, 4, 1), service="water")
        after = await dunning.issue("c-2", 100000, due=date(2026, 4, 3), service="water")
        # When both are reminded
        made = await dunning.run_through(date(2026, 4, 13))
        fees = {p.invoice_id: p.fee_ore for p in made if p.kind == "reminder"}
        # Then the fee is charged only where it was agreed when the debt arose (domain.md §3)
        assert fees == {before: 0, after: 6000}
    finally:
        await dunning.stop()


async def test_a_run_of_the_first_days_the_settings_cover_proposes_nothing(
    tmp_path: Path,
) -> None:
    # POST /api/v1/dunning/runs accepts a date from 1900-01-01 (a past date catches up a day the
    # runs missed); the run's look-backs (last month's report, reminders' pay-by dates) reached
    # into 1899, where no setting is in force, and answered a 500
    dunning = await DunningOnMemory.start(tmp_path, date(1900, 1, 1))
    try:
        for day in (date(1900, 1, 2), date(1900, 1, 15), date(1900, 2, 1)):
            assert (await dunning.run(day)).proposals == 0
    finally:
        await dunning.stop()
