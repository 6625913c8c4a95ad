"""The rules of a write-down and a write-off (domain.md §4, seed 001 and 002), decided on a claim
as the ledger shows it and the invoice's own state in dunning."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteDownRecovered
from fordra.dunning.domain.claim import stage_of, stale_reason
from fordra.dunning.domain.payment_plan import (
    PlanInvoiceCapitalReduced,
    PlanInvoiceJoinedPlan,
    PlanInvoiceOpened,
    replay_plan_invoice,
)
from fordra.dunning.domain.write_down import (
    WriteDown,
    WriteOff,
    decide_write_down,
    decide_write_off,
    recovery,
)
from fordra.kernel.errors import DomainRuleViolation
from tests.dunning.test_claim import CLAIM

TODAY = date(2026, 6, 1)
OPENED = PlanInvoiceOpened(
    invoice_id="inv-1",
    customer_id="c-1",
    invoice_number="00000001",
    service_type="water",
    what_for="Vatten",
    invoice_date=date(2026, 3, 2),
    due_date=date(2026, 4, 1),
    capital_ore=100000,
)
BASIS = WriteDown(amount_ore=100000, invoice_number="00000001", reason="insolvent")
DEATH = WriteOff(reason="death", decision_reference="EK 2026/114")


def written_down(amount: int = 100000) -> ClaimWrittenDown:
    return ClaimWrittenDown(
        invoice_id="inv-1",
        customer_id="c-1",
        service_type="water",
        invoice_number="00000001",
        written_down_on=TODAY,
        amount_ore=amount,
        reason="insolvent",
    )


def refusal(call: object) -> tuple[str | None, str | None]:
    assert callable(call)
    with pytest.raises(DomainRuleViolation) as refused:
        call()
    return refused.value.rule, refused.value.field


def test_a_write_down_takes_the_open_amount_the_decision_states() -> None:
    invoice = replay_plan_invoice([OPENED])
    event = decide_write_down(CLAIM, invoice, BASIS, TODAY, "water")
    assert (event.amount_ore, event.department, event.written_down_on) == (100000, "water", TODAY)


def test_a_write_down_is_refused_by_each_check_of_seed_002() -> None:
    invoice = replay_plan_invoice([OPENED])
    wrong_amount = BASIS.model_copy(update={"amount_ore": 99999})
    assert refusal(lambda: decide_write_down(CLAIM, invoice, wrong_amount, TODAY, None)) == (
        "check_amount_matches_ledger",
        "amount_ore",
    )
    wrong_number = BASIS.model_copy(update={"invoice_number": "00000002"})
    assert refusal(lambda: decide_write_down(CLAIM, invoice, wrong_number, TODAY, None)) == (
        "check_invoice_number_matches_ledger",
        "invoice_number",
    )
    in_plan = replay_plan_invoice([OPENED, PlanInvoiceJoinedPlan(invoice_id="inv-1", plan_id="p")])
    assert refusal(lambda: decide_write_down(CLAIM, in_plan, BASIS, TODAY, None))[0] == (
        "check_no_active_plan"
    )
    paid = replace(CLAIM, paid_capital_ore=100000)
    assert refusal(lambda: decide_write_down(paid, invoice, BASIS, TODAY, None))[0] == (
        "check_claim_open"
    )
    not_due = refusal(lambda: decide_write_down(CLAIM, invoice, BASIS, date(2026, 4, 1), None))
    assert not_due[0] == "check_claim_overdue"
    twice = replay_plan_invoice([OPENED, written_down()])
    assert refusal(lambda: decide_write_down(CLAIM, twice, BASIS, TODAY, None))[0] == (
        "check_claim_not_written_down"
    )


def test_capital_paid_after_a_write_down_recovers_it_never_beyond_what_stands() -> None:
    invoice = replay_plan_invoice([OPENED, written_down(90000)])
    assert invoice is not None
    assert recovery(invoice, 30000) == 30000
    assert recovery(invoice, 200000) == 90000
    recovered = WriteDownRecovered(
        invoice_id="inv-1", customer_id="c-1", recovered_on=TODAY, amount_ore=30000
    )
    after = replay_plan_invoice([OPENED, written_down(90000), recovered])
    assert after is not None
    assert after.value_adjustment_ore == 60000
    # A payment taken back restores no more than was recovered
    assert recovery(after, -50000) == -30000
    assert recovery(after, -10000) == -10000
    # Never written down: nothing to recover
    plain = replay_plan_invoice([OPENED])
    assert plain is not None
    assert recovery(plain, 30000) == 0


def test_a_write_off_reverses_what_stands_of_the_write_down() -> None:
    recovered = WriteDownRecovered(
        invoice_id="inv-1", customer_id="c-1", recovered_on=TODAY, amount_ore=30000
    )
    invoice = replay_plan_invoice([OPENED, written_down(90000), recovered])
    claim = replace(CLAIM, paid_capital_ore=40000)
    off = decide_write_off(claim, invoice, DEATH, TODAY, None)
    assert (off.amount_ore, off.value_adjustment_ore) == (60000, 60000)
    gone = replay_plan_invoice(
        [
            OPENED,
            PlanInvoiceCapitalReduced(invoice_id="inv-1", amount_ore=40000, cause="payment"),
            off,
        ]
    )
    assert gone is not None
    assert gone.written_off_on == TODAY
    assert gone.value_adjustment_ore == 0
    ended = replace(claim, written_off_on=TODAY, written_off_ore=60000)
    assert refusal(lambda: decide_write_off(ended, gone, DEATH, TODAY, None))[0] == (
        "check_claim_not_written_off"
    )
    # A payment the bank took back since is owed again, and may be written off in its turn
    bounced = replace(ended, paid_capital_ore=0)
    again = decide_write_off(bounced, gone, DEATH, TODAY, None)
    assert (again.amount_ore, again.value_adjustment_ore) == (40000, 0)
    assert refusal(lambda: decide_write_down(bounced, gone, BASIS, TODAY, None))[0] == (
        "check_claim_not_written_off"
    )
    assert recovery(gone, 10000) == 0


def test_a_claim_written_down_or_off_leaves_the_flow() -> None:
    down = replace(CLAIM, written_down_on=TODAY)
    assert stage_of(down) == "written_down"
    assert stale_reason(down, TODAY) is not None
    off = replace(CLAIM, written_off_on=TODAY, written_off_ore=CLAIM.total_ore)
    assert (stage_of(off), off.open_ore) == ("written_off", 0)
    assert "written off" in (stale_reason(off, TODAY) or "")


def test_a_write_off_reason_is_one_of_the_special_reasons() -> None:
    with pytest.raises(ValueError, match="reason"):
        WriteOff.model_validate({"reason": "too_small", "decision_reference": "x"})
    assert isinstance(decide_write_off(CLAIM, None, DEATH, TODAY, None), ClaimWrittenOff)
