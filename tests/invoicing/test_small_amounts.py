"""The small-amount rule (domain.md §2 "Minimum amount", seed 001 line 3): under 50 kr is not
invoiced on its own; per service it is held for the customer's next invoice, accumulated until
worth invoicing, or dropped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.invoicing import (
    InvoiceLine,
    LateInterestHeld,
    ServiceType,
    SmallAmountDeferred,
    SmallAmountsInvoiced,
)
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.invoice import issue_invoice, price_lines
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.invoicing.domain.small_amounts import (
    HeldAmounts,
    SmallAmountOutcome,
    decide_small_amount,
    dropped_small_amount,
    held_small_amount,
    is_small_amount,
    is_under_minimum,
    replay_held,
    small_amounts_first,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated

DAY = date(2026, 3, 2)
SETTINGS = InvoicingSettings(small_amount_policy={"waste": "accumulate", "other": "drop"})


def command(
    ore: int, *, service: ServiceType = "childcare", vat: int = 0, ref: str | None = None
) -> IssueInvoice:
    return IssueInvoice(
        customer_id="c1",
        department="dept",
        service_type=service,
        invoice_date=DAY,
        lines=(InvoiceLineInput(description="Avgift", unit_price_ore=ore, vat_rate=vat),),
        source_reference=ref,
    )


def held(ore: int, held_id: str = "h1", service: ServiceType = "childcare") -> SmallAmountDeferred:
    cmd = command(ore, service=service)
    return held_small_amount(
        cmd, price_lines(cmd, SETTINGS), held_id=held_id, policy="hold_for_next_invoice"
    )


def test_49_99_kr_is_under_the_minimum_and_50_00_kr_is_not() -> None:
    assert is_under_minimum(4999, DAY, SETTINGS)
    assert not is_under_minimum(5000, DAY, SETTINGS)


def test_the_minimum_is_the_one_in_force_on_the_invoice_date() -> None:
    settings = InvoicingSettings(
        minimum_invoice_ore=Dated[int].table(("1900-01-01", 5000), ("2027-01-01", 10000))
    )
    assert not is_under_minimum(7500, date(2026, 12, 31), settings)
    assert is_under_minimum(7500, date(2027, 1, 1), settings)


def test_an_amount_of_50_kr_or_more_is_invoiced() -> None:
    decision = decide_small_amount(5000, DAY, "childcare", 0, SETTINGS)
    assert decision.outcome is SmallAmountOutcome.INVOICE
    assert decision.policy == "hold_for_next_invoice"


def test_by_default_a_small_amount_is_held_for_the_next_invoice() -> None:
    decision = decide_small_amount(4500, DAY, "childcare", 0, SETTINGS)
    assert decision.outcome is SmallAmountOutcome.HOLD
    assert decision.policy == "hold_for_next_invoice"
    # held, however much is held already: it waits for an invoice of another cost
    assert decide_small_amount(4500, DAY, "childcare", 9000, SETTINGS).outcome == "hold"


def test_a_service_set_to_drop_drops_its_small_amounts() -> None:
    decision = decide_small_amount(4500, DAY, "other", 0, SETTINGS)
    assert decision.outcome is SmallAmountOutcome.DROP
    assert decision.policy == "drop"


def test_accumulated_amounts_are_invoiced_once_their_sum_reaches_the_minimum() -> None:
    # 20 kr held: 25 kr more is still under 50 kr ...
    assert decide_small_amount(2500, DAY, "waste", 2000, SETTINGS).outcome is (
        SmallAmountOutcome.HOLD
    )
    # ... 30 kr more makes 50.00 kr, worth an invoice of its own
    decision = decide_small_amount(3000, DAY, "waste", 2000, SETTINGS)
    assert decision.outcome is SmallAmountOutcome.INVOICE_ACCUMULATED
    assert decision.policy == "accumulate"


def test_nothing_or_less_is_not_a_small_amount_but_goes_on_to_be_refused_as_an_invoice() -> None:
    assert decide_small_amount(0, DAY, "childcare", 0, SETTINGS).outcome == "invoice"
    assert decide_small_amount(-100, DAY, "other", 0, SETTINGS).outcome == "invoice"


# ms per example: a busy shared machine is slow, never this slow
@settings(deadline=2000)
@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    held_ore=st.integers(min_value=0, max_value=10**7),
    service=st.sampled_from(["childcare", "waste", "other"]),
)
def test_only_an_amount_under_the_minimum_is_held_accumulated_or_dropped(
    total: int, held_ore: int, service: str
) -> None:
    outcome = decide_small_amount(total, DAY, service, held_ore, SETTINGS).outcome
    small = 0 < total < 5000
    assert (outcome is SmallAmountOutcome.INVOICE) == (not small)
    if outcome is SmallAmountOutcome.INVOICE_ACCUMULATED:
        assert service == "waste"
        assert held_ore + total >= 5000


def test_45_kr_held_and_a_1200_kr_invoice_for_the_same_customer_make_one_of_1245_kr() -> None:
    # domain.md §2's example: the 45 kr is held ...
    assert decide_small_amount(4500, DAY, "childcare", 0, SETTINGS).outcome == "hold"
    holding = replay_held([held(4500)])
    # ... and added, as a line of its own with its own service, to the 1,200 kr invoice
    big = command(96000, service="water", vat=25)
    assert decide_small_amount(120000, DAY, "water", holding.total_ore, SETTINGS).outcome == (
        "invoice"
    )
    issued = issue_invoice(
        big,
        invoice_id="i1",
        serial_number=1,
        settings=SETTINGS,
        calendar=WorkingDayCalendar(),
        held_lines=holding.lines,
    )
    assert issued.total_ore == 124500
    assert [line.service_type for line in issued.lines] == ["water", "childcare"]


def test_a_held_amount_keeps_its_lines_totals_policy_and_reference() -> None:
    cmd = command(4000, service="waste", vat=25, ref="R-1")
    deferred = held_small_amount(cmd, price_lines(cmd, SETTINGS), held_id="h9", policy="accumulate")
    assert (deferred.net_ore, deferred.vat_ore, deferred.total_ore) == (4000, 1000, 5000)
    assert deferred.held_id == "h9"
    assert deferred.policy == "accumulate"
    assert deferred.source_reference == "R-1"
    assert deferred.lines[0].service_type == "waste"


def test_a_dropped_amount_records_what_was_not_charged() -> None:
    dropped = dropped_small_amount(command(1200, service="other", ref="R-2"), 1200)
    assert (dropped.customer_id, dropped.service_type, dropped.total_ore) == ("c1", "other", 1200)
    assert dropped.source_reference == "R-2"


def test_what_is_held_is_replayed_until_it_is_invoiced() -> None:
    interest_line = InvoiceLine(
        description="Dröjsmålsränta",
        service_type="water",
        quantity=Decimal(1),
        unit_price_ore=8219,
        vat_rate=0,
        net_ore=8219,
        kind="interest",
    )
    interest = LateInterestHeld(held_id="h2", customer_id="c1", invoice_id="i0", line=interest_line)
    state = replay_held([held(4500, "h1"), interest])
    assert state.version == 2
    assert state.total_ore == 4500 + 8219
    assert [line.net_ore for line in state.lines] == [4500, 8219]
    invoiced = state.invoiced_on("i1", "c1")
    assert invoiced == SmallAmountsInvoiced(
        customer_id="c1", invoice_id="i1", held_ids=("h1", "h2"), total_ore=12719
    )
    after = replay_held([held(4500, "h1"), interest, invoiced])
    assert after == HeldAmounts({}, 3)


def test_with_held_adds_an_amount_not_yet_appended() -> None:
    state = replay_held([held(2000, "h1")])
    more = state.with_held(held(3000, "h2"))
    assert list(more.pending) == ["h1", "h2"]
    assert more.total_ore == 5000
    assert more.version == state.version == 1


def test_one_runs_small_amounts_are_decided_first_whichever_line_came_first() -> None:
    # domain.md §2: 45 kr and 1,200 kr in one run make one invoice, so the 45 kr is held first
    run = [command(120000, service="water"), command(4500), command(-10), command(4999)]
    assert small_amounts_first(run, SETTINGS) == [1, 3, 0, 2]


def test_a_line_that_cannot_be_priced_is_not_small_and_is_refused_with_the_rest() -> None:
    bad_rate = command(4500, vat=25)  # childcare carries 0 % only
    assert small_amounts_first([command(120000, service="water"), bad_rate], SETTINGS) == [0, 1]


@pytest.mark.parametrize("policy", ["hold_for_next_invoice", "accumulate", "drop"])
def test_the_default_policy_is_a_setting_too(policy: str) -> None:
    settings = InvoicingSettings(small_amount_default_policy=policy)  # type: ignore[arg-type]
    assert decide_small_amount(100, DAY, "water", 0, settings).policy == policy


def test_a_small_amount_is_more_than_nothing_and_under_the_minimum() -> None:
    assert is_small_amount(1, DAY, SETTINGS)
    assert is_small_amount(4999, DAY, SETTINGS)
    assert not is_small_amount(5000, DAY, SETTINGS)
    assert not is_small_amount(0, DAY, SETTINGS)
    assert not is_small_amount(-4500, DAY, SETTINGS)
