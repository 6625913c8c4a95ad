"""A claim's stage, holds, timers and staleness (domain.md §2 deferral and postponement, §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fordra.dunning.domain.claim import (
    Claim,
    handover_timer_start,
    holds_of,
    stage_of,
    stale_reason,
    timer_start,
)

DUE = date(2026, 4, 1)
CLAIM = Claim(
    invoice_id="inv-1",
    customer_id="c-1",
    service_type="water",
    invoice_number="00000001",
    what_for="Vatten",
    invoice_date=date(2026, 3, 2),
    due_date=DUE,
    original_due_date=DUE,
    ocr="1234574",
    total_ore=100000,
    credited_ore=0,
    paid_capital_ore=0,
    paid_other_ore=0,
    charges_ore=0,
    cancelled=False,
    interest_from=DUE,
    deferred_until=None,
    disputed_on=None,
    dispute_resolved_on=None,
    plan_id=None,
    plan_ended_on=None,
    reminded_on=None,
    handed_over_on=None,
    termination_warned_on=None,
)


def test_the_stage_follows_the_steps_and_what_is_open() -> None:
    assert stage_of(CLAIM) == "open"
    assert stage_of(replace(CLAIM, reminded_on=date(2026, 4, 8))) == "reminded"
    handed = replace(CLAIM, reminded_on=date(2026, 4, 8), handed_over_on=date(2026, 4, 20))
    assert stage_of(handed) == "handed_over"
    assert stage_of(replace(handed, plan_id="p-1")) == "in_plan"
    assert stage_of(replace(CLAIM, paid_capital_ore=100000)) == "paid"
    assert stage_of(replace(CLAIM, credited_ore=100000)) == "paid"
    assert stage_of(replace(CLAIM, cancelled=True)) == "cancelled"


def test_interest_paid_counts_only_up_to_what_the_invoice_carries() -> None:
    # The agency may collect interest of its own: it pays nothing of this invoice's capital.
    assert replace(CLAIM, paid_other_ore=5000).open_ore == 100000
    assert replace(CLAIM, total_ore=101000, charges_ore=1000, paid_other_ore=5000).open_ore == (
        100000
    )
    # A partial payment lowers what is open
    assert replace(CLAIM, paid_capital_ore=40000).open_ore == 60000


def test_a_deferral_moves_the_reminder_timer_to_its_end() -> None:
    deferred = replace(CLAIM, deferred_until=date(2026, 4, 30))
    assert timer_start(deferred) == date(2026, 4, 30)
    assert [h.kind for h in holds_of(deferred, date(2026, 4, 30))] == ["deferral"]
    assert holds_of(deferred, date(2026, 5, 1)) == []


def test_a_postponement_moves_the_due_date_and_holds_until_it() -> None:
    postponed = replace(CLAIM, due_date=date(2026, 4, 21))
    assert timer_start(postponed) == date(2026, 4, 21)
    assert [h.kind for h in holds_of(postponed, date(2026, 4, 10))] == ["postponement"]
    assert holds_of(postponed, date(2026, 4, 22)) == []


def test_a_hold_that_ends_restarts_the_timers_from_its_end() -> None:
    resolved = replace(CLAIM, reminded_on=date(2026, 4, 8), dispute_resolved_on=date(2026, 5, 4))
    assert timer_start(resolved) == date(2026, 5, 4)
    assert handover_timer_start(resolved) == date(2026, 5, 4)
    cancelled_plan = replace(CLAIM, plan_ended_on=date(2026, 6, 1))
    assert timer_start(cancelled_plan) == date(2026, 6, 1)
    assert handover_timer_start(CLAIM) is None


def test_a_claim_paid_disputed_deferred_or_in_a_plan_since_is_stale() -> None:
    today = date(2026, 4, 9)
    assert stale_reason(CLAIM, today) is None
    assert stale_reason(replace(CLAIM, paid_capital_ore=100000), today) == "the invoice is paid"
    assert stale_reason(replace(CLAIM, cancelled=True), today) == "the invoice was cancelled"
    assert "disputed since 2026-04-08" in str(
        stale_reason(replace(CLAIM, disputed_on=date(2026, 4, 8)), today)
    )
    assert "payment plan p-1" in str(stale_reason(replace(CLAIM, plan_id="p-1"), today))
    assert "deferred until" in str(
        stale_reason(replace(CLAIM, deferred_until=date(2026, 4, 30)), today)
    )
    assert "due date moved" in str(stale_reason(replace(CLAIM, due_date=date(2026, 4, 20)), today))
