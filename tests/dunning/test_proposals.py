"""Deciding on proposals through the use cases (domain.md §4, seed 002: proposals before
letters), and the claims read model built set-based equal to one event at a time."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fordra.contracts.dunning import (
    HandedToAgency,
    Installment,
    InstallmentMissed,
    PaymentPlanActivated,
    ReminderSent,
    TerminationWarningSent,
)
from fordra.contracts.invoicing import DisputeResolved, InvoiceDisputed, LateInterestHeld
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.collection import proposals_with
from fordra.dunning.application.proposals import (
    RejectProposal,
    approve_proposal,
    reject_proposal,
)
from fordra.dunning.domain.daily_run import ServiceRules
from fordra.dunning.domain.events import (
    InstallmentReminded,
    ProposalApproved,
    claim_stream,
    installment_stream,
    proposal_stream,
)
from fordra.dunning.domain.letters import LetterIssued, letter_stream
from fordra.dunning.domain.policy import default_policy
from fordra.dunning.domain.proposals import ProposalConflict
from fordra.dunning.domain.settings import DunningSettings
from fordra.invoicing.application.reactions import payment_reactions
from fordra.kernel.auth import AccessDenied, Principal, Role
from fordra.kernel.errors import NotFound
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.projection import ProjectionRunner
from tests.dunning.flow import OFFICER, TENANT, DunningOnMemory, meta
from tests.dunning.test_daily_run import two_unpaid_fee_invoices

DUE = date(2026, 4, 1)


async def approve(dunning: DunningOnMemory, proposal_id: str) -> str | None:
    outcome = await approve_proposal(proposal_id, dunning.deps, OFFICER, meta())
    await dunning.project()
    return outcome.response.letter_id


async def test_approving_a_reminder_sends_it_and_its_letter_in_one_decision(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    letter_id = await approve(dunning, reminder.proposal_id)
    assert letter_id is not None
    (sent,) = await dunning.events(claim_stream(iid))
    assert isinstance(sent, ReminderSent)
    assert (sent.capital_ore, sent.fee_ore, sent.interest_ore) == (100000, 0, 192)
    # 10 days on is Saturday 2026-04-18: payment is asked by the next working day
    assert sent.pay_by == date(2026, 4, 20)
    (issued,) = await dunning.events(letter_stream(letter_id))
    assert isinstance(issued, LetterIssued)
    facts = issued.facts
    assert (facts.kind, facts.checked_on, facts.next_step) == (
        "reminder",
        date(2026, 4, 8),
        "agency",
    )
    assert facts.items[0].invoice_id == iid
    assert facts.items[0].due_date == DUE
    # Twice: the same answer, nothing new
    assert await approve(dunning, reminder.proposal_id) == letter_id
    assert len(await dunning.events(claim_stream(iid))) == 1
    (_proposed, approved) = await dunning.events(proposal_stream(reminder.proposal_id))
    assert isinstance(approved, ProposalApproved)
    assert approved.approved_by == OFFICER.actor
    assert (await dunning.claim(iid)).reminded_on == date(2026, 4, 8)


async def test_approvals_in_parallel_all_answer_the_one_letter(dunning: DunningOnMemory) -> None:
    # Given a reminder proposed
    iid = await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))

    async def one() -> str | None:
        outcome = await approve_proposal(reminder.proposal_id, dunning.deps, OFFICER, meta())
        return outcome.response.letter_id

    # When 10 case officers approve it at once (the read model brought up to date meanwhile,
    # as the bus does)
    async def project_meanwhile() -> None:
        for _ in range(20):
            await dunning.project()
            await asyncio.sleep(0)

    *letters, _ = await asyncio.gather(*(one() for _ in range(10)), project_meanwhile())
    # Then every one answers the one letter sent (a repeated request changes nothing), and the
    # claim is reminded once
    assert len(set(letters)) == 1
    assert letters[0] is not None
    assert len(await dunning.events(claim_stream(iid))) == 1


async def test_approving_a_handover_hands_the_claim_over_without_a_letter(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    await approve(dunning, reminder.proposal_id)
    # The day after the pay-by date (Monday 2026-04-20)
    (handover,) = await dunning.run_through(date(2026, 4, 21))
    assert await approve(dunning, handover.proposal_id) is None
    (_, handed) = await dunning.events(claim_stream(iid))
    assert isinstance(handed, HandedToAgency)
    assert (handed.capital_ore, handed.handed_on) == (100000, date(2026, 4, 21))
    assert (await dunning.claim(iid)).handed_over_on == date(2026, 4, 21)


async def test_a_partial_payment_since_the_proposal_lowers_what_the_letter_states(
    dunning: DunningOnMemory,
) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    await dunning.publish(
        "payments",
        "payment-1",
        PaymentAllocated(
            payment_id="p-1",
            invoice_id=iid,
            customer_id="c-1",
            component="capital",
            service_type="premises_rent",
            amount_ore=30000,
        ),
    )
    # approved ten days later (2026-04-18)
    dunning.clock.set_today(date(2026, 4, 18))
    await approve(dunning, reminder.proposal_id)
    (sent,) = await dunning.events(claim_stream(iid))
    assert isinstance(sent, ReminderSent)
    assert sent.capital_ore == 70000
    # The interest is exact, the payment's day splitting it (fordra.kernel.late_interest): 1,000
    # kr for the 7 days to the payment (2026-04-02..08), 700 kr for the 10 days after it, at 10 %
    # (2.00 + 8 points), actual/365, one rate period rounded once: 191.78 + 191.78 = 384 öre
    assert sent.interest_ore == 384


async def test_a_proposal_made_before_a_hold_ended_stays_stale_and_the_run_proposes_anew(
    dunning: DunningOnMemory,
) -> None:
    # Given a reminded claim whose handover was proposed on 2026-04-21, then disputed that day
    iid = await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    await approve(dunning, reminder.proposal_id)
    (old,) = await dunning.run_through(date(2026, 4, 21))
    assert old.kind == "handover"
    stream = f"invoice-{iid}"
    await dunning.publish(
        "invoicing",
        stream,
        InvoiceDisputed(
            invoice_id=iid, customer_id="c-1", disputed_on=date(2026, 4, 21), reason="fel"
        ),
    )
    # And the dispute resolved on 2026-08-10, the claim standing
    assert await dunning.run_through(date(2026, 8, 10)) == []
    await dunning.publish(
        "invoicing",
        stream,
        DisputeResolved(
            invoice_id=iid,
            customer_id="c-1",
            resolved_on=date(2026, 8, 10),
            outcome="claim_stands",
            reason="rätt",
        ),
    )
    # When the April proposal is approved after the resolution
    with pytest.raises(ProposalConflict, match="on hold until 2026-08-10") as stale:
        await approve(dunning, old.proposal_id)
    # Then it is refused as stale: nothing is handed over (the timer restarts, domain.md §4)
    assert stale.value.reason == "stale"
    assert (await dunning.claim(iid)).handed_over_on is None
    # And the run proposes the handover anew once the days from the resolution have passed,
    # the old proposal no longer blocking it
    made = await dunning.run_through(date(2026, 8, 31))
    assert [(p.kind, p.invoice_id) for p in made] == [("handover", iid)]
    assert made[0].proposed_on > date(2026, 8, 10)
    # And the case officer's queue lists only the new one; the old one is listed as stale, with
    # the reason the approval gives
    pending = await proposals_with("pending", dunning.deps, OFFICER)
    assert [p.proposal_id for p in pending.items] == [made[0].proposal_id]
    (stale_one,) = (await proposals_with("stale", dunning.deps, OFFICER)).items
    assert stale_one.proposal_id == old.proposal_id
    assert "on hold until 2026-08-10" in str(stale_one.stale_reason)
    assert await approve(dunning, made[0].proposal_id) is None
    assert (await dunning.claim(iid)).handed_over_on == date(2026, 8, 31)  # approved today


async def test_a_stale_or_rejected_proposal_is_refused_naming_why(
    dunning: DunningOnMemory,
) -> None:
    disputed = await dunning.issue("c-1", 100000, due=DUE)
    rejected = await dunning.issue("c-2", 100000, due=DUE)
    proposals = {p.invoice_id: p for p in await dunning.run_through(date(2026, 4, 8))}
    await dunning.publish(
        "invoicing",
        f"invoice-{disputed}",
        InvoiceDisputed(
            invoice_id=disputed, customer_id="c-1", disputed_on=date(2026, 4, 8), reason="fel"
        ),
    )
    with pytest.raises(ProposalConflict, match="disputed since 2026-04-08") as stale:
        await approve(dunning, proposals[disputed].proposal_id)
    assert stale.value.reason == "stale"
    assert await dunning.events(claim_stream(disputed)) == []

    proposal_id = proposals[rejected].proposal_id
    body = RejectProposal(reason="kunden har ringt")
    await reject_proposal(proposal_id, body, dunning.deps, OFFICER, meta())
    # Twice: the same answer, nothing new
    await reject_proposal(proposal_id, body, dunning.deps, OFFICER, meta())
    assert len(await dunning.events(proposal_stream(proposal_id))) == 2
    with pytest.raises(ProposalConflict, match="kunden har ringt") as refused:
        await approve(dunning, proposal_id)
    assert refused.value.reason == "rejected"
    # A rejected proposal is not made again for the same step
    await dunning.project()
    assert await dunning.run_through(date(2026, 4, 17)) == []


async def test_an_approved_proposal_is_not_rejected(dunning: DunningOnMemory) -> None:
    await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    await approve(dunning, reminder.proposal_id)
    with pytest.raises(ProposalConflict) as refused:
        await reject_proposal(
            reminder.proposal_id, RejectProposal(reason="x"), dunning.deps, OFFICER, meta()
        )
    assert refused.value.reason == "approved"


async def test_only_case_officers_and_ops_decide(dunning: DunningOnMemory) -> None:
    await dunning.issue("c-1", 100000, due=DUE)
    (reminder,) = await dunning.run_through(date(2026, 4, 8))
    department = Principal(subject="d", role=Role.DEPARTMENT, tenant=TENANT, department="dept")
    with pytest.raises(AccessDenied):
        await approve_proposal(reminder.proposal_id, dunning.deps, department, meta())
    with pytest.raises(NotFound):
        await approve_proposal("nope", dunning.deps, OFFICER, meta())


async def test_a_missed_installment_is_reminded_with_a_letter(dunning: DunningOnMemory) -> None:
    iid = await dunning.issue("c-1", 100000, due=DUE)
    plan = [
        PaymentPlanActivated(
            plan_id="plan-1", customer_id="c-1", invoice_ids=(iid,), activated_on=date(2026, 4, 2)
        ),
        InstallmentMissed(
            plan_id="plan-1",
            customer_id="c-1",
            invoice_ids=(iid,),
            due_date=date(2026, 4, 30),
            amount_ore=20000,
            missed_on=date(2026, 5, 4),
        ),
    ]
    await dunning.publish("dunning", "plan-1", *plan)
    (installment,) = await dunning.run_through(date(2026, 5, 5))
    letter_id = await approve(dunning, installment.proposal_id)
    assert letter_id is not None
    (reminded,) = await dunning.events(installment_stream("plan-1", date(2026, 4, 30)))
    assert isinstance(reminded, InstallmentReminded)
    (issued,) = await dunning.events(letter_stream(letter_id))
    assert isinstance(issued, LetterIssued)
    assert (issued.facts.kind, issued.facts.plan_id) == ("installment_reminder", "plan-1")
    # the letter names the installment missed (domain.md §4 "Installment plan")
    assert issued.facts.missed_installment == Installment(
        due_date=date(2026, 4, 30), amount_ore=20000
    )
    assert await dunning.run_through(date(2026, 5, 12)) == []


async def test_a_termination_warning_is_sent_with_its_letter(tmp_path: Path) -> None:
    rules = ServiceRules({"childcare": two_unpaid_fee_invoices})
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), service_rules=rules)
    try:
        first = await dunning.issue("c-1", 150000, due=DUE, service="childcare")
        second = await dunning.issue("c-1", 150000, due=date(2026, 4, 2), service="childcare")
        made = await dunning.run_through(date(2026, 4, 7))
        (warning,) = [p for p in made if p.kind == "termination_warning"]
        letter_id = await approve(dunning, warning.proposal_id)
        assert letter_id is not None
        (sent,) = await dunning.events(claim_stream(first))
        assert isinstance(sent, TerminationWarningSent)
        assert sent.invoice_ids == (first, second)
        assert sent.termination_date == date(2026, 6, 1)
        (issued,) = await dunning.events(letter_stream(letter_id))
        assert isinstance(issued, LetterIssued)
        assert [i.invoice_id for i in issued.facts.items] == [first, second]
        assert (await dunning.claim(second)).termination_warned_on == date(2026, 4, 7)
    finally:
        await dunning.stop()


async def _tables(runner: ProjectionRunner) -> dict[str, list[Any]]:
    async with runner.db.engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in (await conn.execute(select(t))).all())
            for t in runner.tables
        }


async def test_the_set_based_batch_leaves_the_tables_as_one_event_at_a_time_in_any_order(
    dunning: DunningOnMemory, tmp_path: Path
) -> None:
    # Given a history: invoices, payments, a dispute, proposals, letters, a handover
    a = await dunning.issue("c-1", 100000, due=DUE)
    b = await dunning.issue("c-2", 80000, due=DUE)
    await dunning.publish(
        "payments",
        "payment-1",
        PaymentAllocated(
            payment_id="p-1",
            invoice_id=a,
            customer_id="c-1",
            component="capital",
            service_type="premises_rent",
            amount_ore=10000,
        ),
        PaymentAllocated(
            payment_id="p-1",
            invoice_id=a,
            customer_id="c-1",
            component="capital",
            service_type="premises_rent",
            amount_ore=5000,
        ),
    )
    for proposal in await dunning.run_through(date(2026, 4, 8)):
        await approve(dunning, proposal.proposal_id)
    await dunning.publish(
        "invoicing",
        f"invoice-{b}",
        InvoiceDisputed(invoice_id=b, customer_id="c-2", disputed_on=date(2026, 4, 9), reason="x"),
    )
    for proposal in await dunning.run_through(date(2026, 4, 20)):
        await approve(dunning, proposal.proposal_id)
    # When the same logs are applied one event at a time to another database, and each whole
    # log as one batch to a third, dunning's own log first (a rebuild has no order between
    # contexts)
    other = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), file="one-at-a-time.sqlite")
    batched = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), file="batched.sqlite")
    try:
        for store in dunning.stores.values():
            async with other.db.engine.begin() as conn:
                for env in await store.read_log(0, limit=100_000):
                    await other.runner.projection.apply(conn, env)
        for store in reversed(dunning.stores.values()):
            async with batched.db.engine.begin() as conn:
                log = await store.read_log(0, limit=100_000)
                await batched.runner.projection.apply_batch(conn, log)
        # Then the tables are the same
        assert await _tables(other.runner) == await _tables(dunning.runner)
        assert await _tables(batched.runner) == await _tables(dunning.runner)
    finally:
        await other.stop()
        await batched.stop()


async def test_an_agreed_reminder_fee_goes_on_the_customers_next_invoice(tmp_path: Path) -> None:
    # Given water with a 60 kr reminder fee agreed before the debt arose
    seed = default_policy("water", date(2026, 1, 1), DunningSettings())
    agreed = seed.model_copy(
        update={
            "valid_from": date(2026, 1, 1),
            "reminder_fee_ore": 6000,
            "reminder_fee_agreed": True,
        }
    )
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 1, 1), policies=[agreed])
    try:
        iid = await dunning.issue("c-1", 100000, due=DUE, service="water")
        (reminder,) = await dunning.run_through(date(2026, 4, 8))
        assert reminder.fee_ore == 6000
        # When the reminder is approved and invoicing follows dunning's log (as the bootstrap
        # subscribes its process manager)
        letter_id = await approve(dunning, reminder.proposal_id)
        invoicing = ProcessManagerRunner(
            "invoicing-payments", dunning.stores["invoicing"], payment_reactions(dunning.registry)
        )
        await invoicing.handle("dunning", await dunning.stores["dunning"].read_log(0, 10_000))
        # Then the fee waits for the next invoice as a fee line of its own, without VAT, and
        # the reminded invoice owes its capital only (a payment of its OCR pays nothing else)
        held = [
            dunning.registry.load_as(e, LateInterestHeld)
            for e in await dunning.stores["invoicing"].read_log(0, 10_000)
            if e.event_type == LateInterestHeld.event_type
        ]
        assert [
            (h.held_id, h.invoice_id, h.line.kind, h.line.net_ore, h.line.vat_rate) for h in held
        ] == [(f"reminder-fee-{letter_id}", iid, "fee", 6000, 0)]
        # And a redelivery of the log holds nothing more (the tracking row)
        await invoicing.handle("dunning", await dunning.stores["dunning"].read_log(0, 10_000))
        again = [
            e
            for e in await dunning.stores["invoicing"].read_log(0, 10_000)
            if e.event_type == LateInterestHeld.event_type
        ]
        assert len(again) == 1
    finally:
        await dunning.stop()
