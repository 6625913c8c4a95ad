"""Childcare and the music school in the daily run (domain.md §4; seed 001, seed 002): the letter
about the risk of termination proposed by childcare's rule, the report of the guardians warned who
still have not paid "runt den 15:e varje månad", and the music-school pupils flagged when the
annual fee is unpaid on the deadline. Each is appended by the run of its day, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.collection import childcare_report_of, music_school_flags
from fordra.dunning.application.proposals import approve_proposal
from fordra.dunning.domain.childcare import termination_warning_rule
from fordra.dunning.domain.daily_run import ServiceRules
from fordra.dunning.domain.events import (
    ChildcareUnpaidReported,
    DunningRunCompleted,
    MusicSchoolPupilFlagged,
    run_stream,
)
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.dated import Dated
from tests.dunning.flow import OFFICER, DunningOnMemory, meta


@pytest.fixture
async def childcare(tmp_path: Path) -> AsyncIterator[DunningOnMemory]:
    rules = ServiceRules({"childcare": termination_warning_rule(DunningSettings())})
    started = await DunningOnMemory.start(tmp_path, date(2026, 3, 2), service_rules=rules)
    yield started
    await started.stop()


async def test_two_unpaid_fee_invoices_bring_a_warning_and_the_report_around_the_15th(
    childcare: DunningOnMemory,
) -> None:
    # Given a guardian with two childcare fee invoices, due 2026-03-31 and 2026-04-01
    first = await childcare.issue("c-1", 100000, due=date(2026, 3, 31), service="childcare")
    second = await childcare.issue("c-1", 100000, due=date(2026, 4, 1), service="childcare")
    # When both are 7 days overdue (seed 002: ">= 2 obetalda avgiftsfakturor")
    proposed = await childcare.run_through(date(2026, 4, 8))
    (warning,) = [p for p in proposed if p.kind == "termination_warning"]
    assert warning.proposed_on == date(2026, 4, 8)
    assert warning.invoice_ids == (first, second)
    # two months after the oldest due date (seed 001)
    assert warning.termination_date == date(2026, 5, 31)
    # And the case officer approves the letter
    await approve_proposal(warning.proposal_id, childcare.deps, OFFICER, meta())
    await childcare.project()
    # Then nothing is on a report before the 15th, and the 15th's run reports the guardian
    assert await childcare.run_through(date(2026, 4, 15)) == []
    (done, reported) = await childcare.events(run_stream(date(2026, 4, 15)))
    assert isinstance(done, DunningRunCompleted)
    assert reported == ChildcareUnpaidReported(
        report_month="2026-04",
        reported_on=date(2026, 4, 15),
        customer_id="c-1",
        invoice_ids=(first, second),
        unpaid_ore=200000,
        first_warned_on=date(2026, 4, 8),
        termination_date=date(2026, 5, 31),
    )
    report = await childcare_report_of("2026-04", childcare.deps, OFFICER)
    assert [(i.customer_id, i.invoice_ids, i.unpaid_ore) for i in report.items] == [
        ("c-1", [first, second], 200000)
    ]
    assert (await childcare_report_of("2026-03", childcare.deps, OFFICER)).items == []
    # And the run of the day again appends nothing more
    await childcare.run(date(2026, 4, 15))
    assert len(await childcare.events(run_stream(date(2026, 4, 15)))) == 2


async def test_a_guardian_who_paid_after_the_warning_is_not_reported(
    childcare: DunningOnMemory,
) -> None:
    first = await childcare.issue("c-1", 100000, due=date(2026, 3, 31), service="childcare")
    second = await childcare.issue("c-1", 100000, due=date(2026, 4, 1), service="childcare")
    (warning,) = [
        p for p in await childcare.run_through(date(2026, 4, 8)) if p.kind == "termination_warning"
    ]
    await approve_proposal(warning.proposal_id, childcare.deps, OFFICER, meta())
    for n, invoice_id in enumerate((first, second)):
        await childcare.publish(
            "payments",
            f"payment-{n}",
            PaymentAllocated(
                payment_id=f"p-{n}",
                invoice_id=invoice_id,
                customer_id="c-1",
                component="capital",
                service_type="childcare",
                amount_ore=100000,
            ),
        )
    await childcare.run_through(date(2026, 4, 15))
    assert len(await childcare.events(run_stream(date(2026, 4, 15)))) == 1
    assert (await childcare_report_of("2026-04", childcare.deps, OFFICER)).items == []


async def test_music_school_pupils_are_flagged_on_the_first_working_day_after_the_deadline(
    tmp_path: Path,
) -> None:
    # Given a deadline on 29 August, a Saturday in 2026: checked on Monday the 31st
    settings = DunningSettings(music_school_deadline_day=Dated[int].always(29))
    dunning = await DunningOnMemory.start(tmp_path, date(2026, 8, 1), settings=settings)
    try:
        unpaid = await dunning.issue("c-1", 150000, due=date(2026, 8, 15), service="music_school")
        paid = await dunning.issue("c-2", 150000, due=date(2026, 8, 15), service="music_school")
        await dunning.publish(
            "payments",
            "payment-1",
            PaymentAllocated(
                payment_id="p-1",
                invoice_id=paid,
                customer_id="c-2",
                component="capital",
                service_type="music_school",
                amount_ore=150000,
            ),
        )
        # the next term's fee, due after the deadline, is not held against the pupil
        await dunning.issue("c-3", 150000, due=date(2026, 9, 15), service="music_school")
        await dunning.run_through(date(2026, 8, 28))
        assert (await music_school_flags(dunning.deps, OFFICER)).items == []
        await dunning.run_through(date(2026, 8, 31))
        (_, flagged) = await dunning.events(run_stream(date(2026, 8, 31)))
        assert flagged == MusicSchoolPupilFlagged(
            customer_id="c-1",
            invoice_ids=(unpaid,),
            unpaid_ore=150000,
            deadline=date(2026, 8, 29),
            flagged_on=date(2026, 8, 31),
        )
        flags = (await music_school_flags(dunning.deps, OFFICER)).items
        assert [(f.customer_id, f.deadline) for f in flags] == [("c-1", date(2026, 8, 29))]
        # once: the next days' runs flag nobody again
        await dunning.run_through(date(2026, 9, 4))
        assert len((await music_school_flags(dunning.deps, OFFICER)).items) == 1
    finally:
        await dunning.stop()
