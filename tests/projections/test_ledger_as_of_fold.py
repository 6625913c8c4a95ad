"""How a claim's dated facts fold into where it stood on a day (issue 17; the rows are what
``claim_log_rows`` makes of the events)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import PaymentPlanActivated
from fordra.kernel.envelope import Envelope, Metadata
from fordra.projections.application.ledger_as_of import claim_log_rows, fold_claim


def row(kind: str, on: str, amount: int = 0, value: str | None = None) -> Any:
    return SimpleNamespace(
        kind=kind, on=date.fromisoformat(on), amount_ore=amount, value=value, deadline=None
    )


def test_the_stage_the_fees_and_the_holds_follow_the_days() -> None:
    fold, fees = fold_claim(
        [
            row("disputed", "2026-04-02"),
            row("dispute_resolved", "2026-04-05", value="claim_stands"),
            row("reminded", "2026-04-08", 6000),
            row("plan_active", "2026-04-10", 17000),
            row("plan_ended", "2026-05-10"),
            row("handed_over", "2026-05-12", 18000),
            row("reminded", "2026-05-20"),  # the agency's reminder does not move it back
        ]
    )
    assert (fold.disputed, fold.plan, fold.stage) == (False, False, "handed_over")
    assert [(f.kind, f.on.isoformat(), f.amount_ore) for f in fees] == [
        ("reminder_fee", "2026-04-08", 6000),
        ("plan_fee", "2026-04-10", 17000),
        ("collection_fee", "2026-05-12", 18000),
    ]


def test_a_write_down_stands_until_recovered_and_a_write_off_closes_it() -> None:
    fold, _ = fold_claim(
        [
            row("written_down", "2026-06-01", 90_000),
            row("write_down_recovered", "2026-06-02", 30_000),
        ]
    )
    assert (fold.written_down, fold.written_down_ore, fold.written_off_on) == (True, 60_000, None)
    fold, _ = fold_claim(
        [row("written_down", "2026-06-01", 90_000), row("written_off", "2026-06-03", 90_000)]
    )
    assert (fold.written_off_ore, fold.written_off_on) == (90_000, date(2026, 6, 3))


def test_news_of_our_delivery_never_moves_back_an_opened_case() -> None:
    fold, _ = fold_claim(
        [
            row("agency", "2026-04-21", value="queued"),
            row("agency", "2026-04-22", value="opened"),
            row("agency", "2026-04-22", value="delivered"),
        ]
    )
    assert fold.agency_status == "opened"


def envelope(event_id: str, position: int) -> Envelope:
    return Envelope(
        event_id=event_id,
        event_type="x",
        schema_version=1,
        context="dunning",
        stream_id="s",
        version=1,
        occurred_at=datetime(2026, 4, 10, 8, tzinfo=UTC),
        metadata=Metadata(tenant="t", actor="a", correlation_id="c"),
        payload={},
        position=position,
    )


def test_a_plan_makes_a_row_per_claim_its_fee_once() -> None:
    plan = PaymentPlanActivated(
        plan_id="p",
        customer_id="c",
        invoice_ids=("i-1", "i-2"),
        activated_on=date(2026, 4, 10),
        fee_ore=17000,
    )
    rows = claim_log_rows(plan, envelope("e-1", 7))
    assert [(r["invoice_id"], r["kind"], r["amount_ore"]) for r in rows] == [
        ("i-1", "plan_active", 17000),
        ("i-2", "plan_active", 0),
    ]
    case = AgencyCaseChanged(
        case_id="h",
        invoice_id="i-1",
        customer_id="c",
        agency="reference",
        status="objection",
        occurred_on=date(2026, 5, 6),
        deadline=date(2026, 5, 26),
    )
    ((agency,),) = [claim_log_rows(case, envelope("e-2", 8))]
    assert (agency["on"], agency["value"], agency["deadline"]) == (
        date(2026, 5, 6),
        "objection",
        date(2026, 5, 26),
    )
