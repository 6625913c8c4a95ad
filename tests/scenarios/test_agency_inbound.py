"""The agency's reports over HTTP on both engines (issue 15, "Inbound"; domain.md §5): a claim
handed over through dunning's flow, then the agency's signed webhooks walk it through Kronofogden's
steps, with the court task and the reinstatement window, the payment collected booked in the
ledger, and the case closed; another recalled after a payment order; forged, repeated and
out-of-order reports refused."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from fordra.agency_gateway.application.cases import AgencyCasesProjection
from fordra.agency_gateway.domain.case import case_stream
from fordra.agency_gateway.domain.outbound import (
    OutboundDelivered,
    OutboundFailed,
    OutboundQueued,
)
from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyPaymentCollected
from fordra.kernel.auth import Role
from fordra.kernel.projection import ProjectionRunner
from fordra.projections.application.customer_ledger import CustomerLedgerProjection
from tests.utils.agency import (
    AGENCY_SETTINGS,
    advance,
    handed_over,
    ledger_row,
    list_cases,
    list_tasks,
    report,
    signed,
    webhook,
)
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 3, 2)


# The delivery task's own news (no agency listens in these tests, so it keeps trying): written on
# the system clock whenever an attempt falls due, never by the webhook or the recall under test.
_DELIVERY_NEWS = frozenset({OutboundFailed.event_type, OutboundDelivered.event_type})


async def gateway_log(fordra: Running) -> list[str]:
    """Every event type in the gateway's log, in order, but the delivery's attempts."""
    return [
        e.event_type
        for e in await fordra.platform.stores["agency-gateway"].read_log(0)
        if e.event_type not in _DELIVERY_NEWS
    ]


async def test_a_claim_through_kronofogdens_steps_to_payment_and_close(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY, agency=AGENCY_SETTINGS) as fordra:
        # Given a claim of 1,000 kr dunning handed to the agency on 2026-04-21
        inv = await handed_over(fordra)
        case_id, iid, cid = inv["case_id"], inv["invoice_id"], inv["customer_id"]
        (case,) = await list_cases(fordra)
        assert case == {
            "case_id": case_id,
            "invoice_id": iid,
            "customer_id": cid,
            "agency": "reference",
            "status": "queued",
            "handed_over_on": "2026-04-21",
            "capital_ore": 100000,
            "interest_ore": case["interest_ore"],
            "fee_ore": 0,
            "costs_ore": 0,
            "municipality_cost_ore": 0,
            "collected_ore": 0,
            "municipality_share_ore": 0,
            "deadline": None,
            "written_down_on": None,
        }
        # (the ledger shows "queued" and "delivered" from the outbound half's events)

        # When the agency opens the case and files a payment order
        base = {"case_id": case_id}
        await advance(fordra, "2026-04-28")
        await report(
            fordra, {**base, "event_id": "e1", "kind": "opened", "occurred_on": "2026-04-22"}
        )
        answer = await report(
            fordra,
            {**base, "event_id": "e2", "kind": "payment_order_filed", "occurred_on": "2026-04-28"},
        )
        assert answer == {
            "event_id": "e2",
            "case_id": case_id,
            "kind": "payment_order_filed",
            "duplicate": False,
        }
        # Then Kronofogden's 300 + 380 kr are recorded as the case's costs (domain.md §3)
        (case,) = await list_cases(fordra, "payment_order_filed")
        assert case["costs_ore"] == 68000

        # When the debtor objects, the notice sent on 2026-05-05
        await advance(fordra, "2026-05-06")
        await report(
            fordra,
            {
                **base,
                "event_id": "e3",
                "kind": "objection",
                "occurred_on": "2026-05-06",
                "notice_sent_on": "2026-05-05",
            },
        )
        # Then a task to decide on the district court falls due 3 weeks after: 2026-05-26
        (task,) = await list_tasks(fordra)
        assert task["kind"] == "court_decision"
        assert task["case_id"] == case_id
        assert task["deadline"] == "2026-05-26"
        assert task["overdue"] is False
        row = await ledger_row(fordra, cid, iid)
        assert (row["agency_status"], row["agency_deadline"]) == ("objection", "2026-05-26")

        # When the deadline passes with no decision recorded, the task stays, overdue
        await advance(fordra, "2026-06-10")
        (task,) = await list_tasks(fordra)
        assert (task["kind"], task["overdue"]) == ("court_decision", True)

        # When the court gives judgment on 2026-06-10
        await report(
            fordra, {**base, "event_id": "e4", "kind": "judgment", "occurred_on": "2026-06-10"}
        )
        # Then the court task is done and the month for reinstatement runs to 2026-07-10
        (task,) = await list_tasks(fordra)
        assert (task["kind"], task["deadline"]) == ("reinstatement_window", "2026-07-10")

        # When enforcement follows, the window still runs and the 600 kr fee is a cost
        await advance(fordra, "2026-06-15")
        await report(
            fordra, {**base, "event_id": "e5", "kind": "enforcement", "occurred_on": "2026-06-15"}
        )
        (case,) = await list_cases(fordra, "enforcement")
        assert (case["costs_ore"], case["deadline"]) == (128000, "2026-07-10")
        row = await ledger_row(fordra, cid, iid)
        assert (row["agency_status"], row["agency_deadline"]) == ("enforcement", "2026-07-10")
        # and once the window's last day has passed, its task is closed
        await advance(fordra, "2026-07-11")
        assert await list_tasks(fordra) == []

        # When the agency collects the claim: capital, interest and the collection fee apart
        await report(
            fordra,
            {
                **base,
                "event_id": "e6",
                "kind": "payment_collected",
                "occurred_on": "2026-07-10",
                "capital_ore": 100000,
                "interest_ore": 1500,
                "reminder_fee_ore": 0,
                "collection_fee_ore": 18000,
                "municipality_share_ore": 119500,
            },
        )
        # Then payments books it as split: the capital pays the invoice, the rest apart
        row = await ledger_row(fordra, cid, iid)
        assert row["paid_ore"] == 100000
        assert row["interest_and_fees_paid_ore"] == 19500
        assert row["open_ore"] == 0

        # and the case shows what was collected and what of it comes to the municipality
        (case,) = await list_cases(fordra)
        assert (case["collected_ore"], case["municipality_share_ore"]) == (119500, 119500)

        # When the agency closes the case
        await report(
            fordra, {**base, "event_id": "e7", "kind": "closed", "occurred_on": "2026-07-11"}
        )
        (case,) = await list_cases(fordra)
        assert (case["status"], case["deadline"], case["costs_ore"]) == ("closed", None, 128000)
        row = await ledger_row(fordra, cid, iid)
        assert (row["agency_status"], row["agency_deadline"]) == ("closed", None)
        # and nothing more is taken after it, naming why
        r = await webhook(
            fordra,
            {**base, "event_id": "e8", "kind": "enforcement", "occurred_on": "2026-07-11"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "agency_case_ended"

        # The gateway's log holds each step once, the payment as the public contract
        store = fordra.platform.stores["agency-gateway"]
        registry = fordra.platform.registry
        events = [registry.load(e) for e in await store.read_stream(case_stream(case_id))]
        steps = [e.status for e in events if isinstance(e, AgencyCaseChanged)]
        assert steps == [
            "opened",
            "payment_order_filed",
            "objection",
            "judgment",
            "enforcement",
            "closed",
        ]
        (paid,) = [e for e in events if isinstance(e, AgencyPaymentCollected)]
        assert (paid.capital_ore, paid.interest_ore, paid.collection_fee_ore) == (
            100000,
            1500,
            18000,
        )


async def test_a_recall_after_a_payment_order_costs_the_municipality_the_outlays(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY, agency=AGENCY_SETTINGS) as fordra:
        # Given a case the agency opened and filed a payment order on
        inv = await handed_over(fordra)
        case_id, iid, cid = inv["case_id"], inv["invoice_id"], inv["customer_id"]
        base = {"case_id": case_id}
        await advance(fordra, "2026-05-04")
        await report(
            fordra, {**base, "event_id": "o", "kind": "opened", "occurred_on": "2026-04-22"}
        )
        await report(
            fordra,
            {**base, "event_id": "p", "kind": "payment_order_filed", "occurred_on": "2026-05-04"},
        )

        # A recall without a reason is refused, naming it
        url = f"/api/v1/agency/cases/{case_id}/recall"
        officer = fordra.auth(Role.CASE_OFFICER)
        r = await fordra.client.post(url, json={"reason": "  "}, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "reason"]

        # When a case officer recalls it (the request repeated with its key changes nothing)
        keyed = {**officer, "Idempotency-Key": "recall-1"}
        body = {"reason": "kunden har fått anstånd"}
        r = await fordra.client.post(url, json=body, headers=keyed)
        assert r.status_code == 200, r.text
        recalled = r.json()
        log = await gateway_log(fordra)
        again = await fordra.client.post(url, json=body, headers=keyed)
        assert (again.status_code, again.json()) == (200, recalled)
        assert await gateway_log(fordra) == log
        # Then the agency's outlays for the payment order are the municipality's cost
        assert recalled["status"] == "recalled"
        assert recalled["municipality_cost_ore"] == 68000
        (case,) = await list_cases(fordra, "recalled")
        assert case["municipality_cost_ore"] == 68000
        assert (await ledger_row(fordra, cid, iid))["agency_status"] == "recalled"
        # and a recall is queued for the agency in the same append
        store = fordra.platform.stores["agency-gateway"]
        registry = fordra.platform.registry
        # (then tried by the delivery: no agency listens here, so attempts may follow it)
        queued, *attempts = [
            registry.load(e)
            for e in await store.read_stream(f"agency-outbound-{recalled['message_id']}")
        ]
        assert all(isinstance(a, OutboundFailed) for a in attempts)
        assert isinstance(queued, OutboundQueued)
        assert (queued.kind, queued.case_id, queued.agency) == ("recall", case_id, "reference")
        assert queued.payload["reason"] == "kunden har fått anstånd"

        # When it is recalled again, or the agency reports on it, then it is refused
        r = await fordra.client.post(url, json={"reason": "igen"}, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "agency_case_ended"
        r = await webhook(
            fordra, {**base, "event_id": "j", "kind": "judgment", "occurred_on": "2026-05-04"}
        )
        assert r.status_code == 422, r.text
        # and a department may not recall, nor recall a case that does not exist
        r = await fordra.client.post(
            url, json={"reason": "x"}, headers=fordra.auth(Role.DEPARTMENT, department="water")
        )
        assert r.status_code == 403, r.text
        r = await fordra.client.post(
            "/api/v1/agency/cases/nope/recall", json={"reason": "x"}, headers=officer
        )
        assert r.status_code == 404, r.text


async def test_forged_repeated_and_out_of_order_reports_are_refused(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY, agency=AGENCY_SETTINGS) as fordra:
        inv = await handed_over(fordra)
        case_id = inv["case_id"]
        base = {"case_id": case_id}
        await advance(fordra, "2026-05-04")
        before = await gateway_log(fordra)
        opened = {**base, "event_id": "o1", "kind": "opened", "occurred_on": "2026-04-22"}
        url = "/api/v1/agency/webhooks/reference"

        # A forged signature, none, another agency's secret: 401 and nothing recorded
        raw, headers = signed(opened)
        for forged in (
            {**headers, "X-Fordra-Signature": "sha256=" + "0" * 64},
            {"Content-Type": "application/json"},
            signed(opened, secret="another-agencys-secret")[1],
            {
                **headers,
                "X-Fordra-Signature": headers["X-Fordra-Signature"].removeprefix("sha256="),
            },
        ):
            r = await fordra.client.post(url, content=raw, headers=forged)
            assert r.status_code == 401, r.text
        # A replayed body with a changed amount: the signature no longer matches
        payment = {
            **base,
            "event_id": "pay1",
            "kind": "payment_collected",
            "occurred_on": "2026-05-04",
            "capital_ore": 1000,
            "interest_ore": 0,
            "municipality_share_ore": 1000,
        }
        raw, headers = signed(payment)
        changed = raw.replace(b'"capital_ore":1000', b'"capital_ore":100000')
        assert changed != raw
        r = await fordra.client.post(url, content=changed, headers=headers)
        assert r.status_code == 401, r.text
        # An agency not configured is not found
        r = await webhook(fordra, opened, agency="elsewhere")
        assert r.status_code == 404, r.text
        assert await gateway_log(fordra) == before

        # A report out of order: a judgment before any payment order, naming why
        r = await webhook(
            fordra, {**base, "event_id": "j0", "kind": "judgment", "occurred_on": "2026-04-23"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "agency_step_out_of_order"
        # A payment before the case is opened
        r = await webhook(fordra, payment)
        assert r.status_code == 422, r.text
        # A malformed report names the field
        r = await webhook(fordra, {**opened, "occurred_on": "igår"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"][-1] == "occurred_on"
        r = await webhook(fordra, {**opened, "kind": "rumour"})
        assert r.status_code == 422, r.text
        r = await webhook(
            fordra, {**base, "event_id": "x", "kind": "objection", "occurred_on": "2026-04-23"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "notice_sent_on"]
        # A report of a day to come, or of a day before the handover
        r = await webhook(fordra, {**opened, "occurred_on": "2026-05-05"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "agency_report_in_future"
        r = await webhook(fordra, {**opened, "occurred_on": "2026-04-20"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "agency_report_before_handover"
        # A case that is not known
        r = await webhook(fordra, {**opened, "case_id": "no-such-case"})
        assert r.status_code == 404, r.text
        assert await gateway_log(fordra) == before

        # The same event twice, even at once: recorded once, the other answered 200 as a duplicate
        first, again = sorted(
            await asyncio.gather(report(fordra, opened), report(fordra, opened)),
            key=lambda answer: answer["duplicate"],
        )
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        assert (await report(fordra, opened))["duplicate"] is True
        after = await gateway_log(fordra)
        assert len(after) == len(before) + 2  # the claim of the event id and the step
        # The same event id with other content is a conflict, and records nothing
        r = await webhook(fordra, {**opened, "occurred_on": "2026-04-23"})
        assert r.status_code == 409, r.text
        # A payment collected twice under one event id is booked once
        await report(fordra, payment)
        await report(fordra, payment)
        row = await fordra.client.get(
            f"/api/v1/customers/{inv['customer_id']}/ledger", headers=fordra.auth()
        )
        (invoice,) = row.json()["invoices"]
        assert invoice["paid_ore"] == 1000
        assert await gateway_log(fordra) == [
            *after,
            "AgencyEventClaimed",
            "AgencyPaymentCollected",
            "AgencyMunicipalityShareRecorded",
        ]


async def test_the_cases_tasks_and_ledger_rebuild_identical(tmp_path: Path) -> None:
    # Embedded only: it replays through the runners directly (as tests/scenarios/test_rebuild.py)
    async with running_platform(
        "embedded", tmp_path, today=TODAY, agency=AGENCY_SETTINGS
    ) as fordra:
        # Given a case at the objection, with its outlays, its court task and a payment
        inv = await handed_over(fordra)
        base = {"case_id": inv["case_id"]}
        await advance(fordra, "2026-05-06")
        for event_id, kind, on in (
            ("o", "opened", "2026-04-22"),
            ("p", "payment_order_filed", "2026-04-28"),
        ):
            await report(fordra, {**base, "event_id": event_id, "kind": kind, "occurred_on": on})
        await report(
            fordra,
            {
                **base,
                "event_id": "x",
                "kind": "objection",
                "occurred_on": "2026-05-06",
                "notice_sent_on": "2026-05-05",
            },
        )

        await report(
            fordra,
            {
                **base,
                "event_id": "pay",
                "kind": "payment_collected",
                "occurred_on": "2026-05-06",
                "capital_ore": 20000,
                "interest_ore": 100,
                "collection_fee_ore": 18000,
                "municipality_share_ore": 38100,
            },
        )

        async def snapshot() -> tuple[object, ...]:
            return (
                await list_cases(fordra),
                await list_tasks(fordra),
                await ledger_row(fordra, inv["customer_id"], inv["invoice_id"]),
            )

        before = await snapshot()
        assert before[1] != []

        # When the ledger and the cases are reset and replayed, the gateway's log first
        platform = fordra.platform
        assert platform.bus is not None
        await platform.bus.stop()
        runners = [
            sub.consumer
            for sub in platform.subscriptions
            if isinstance(sub.consumer, ProjectionRunner)
            and isinstance(
                sub.consumer.projection, AgencyCasesProjection | CustomerLedgerProjection
            )
        ]
        assert len(runners) == 2
        for runner in runners:
            await runner.reset()
            for upstream in sorted(runner.projection.upstreams):
                events = await platform.stores[upstream].read_log(0, 100_000)
                await runner.handle(upstream, events)
        await platform.bus.start()

        # Then they are what they were
        assert await snapshot() == before
