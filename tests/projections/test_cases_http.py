"""The case register over HTTP on both engines (issue 17 "Cases and service levels", domain.md
§8): cases registered by hand and raised by other contexts, closed, queued and counted on the
SLA dashboard; bad input, repeats and roles."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.utils.agency import AGENCY_SETTINGS, advance, handed_over, report
from tests.utils.invoicing import personnummer
from tests.utils.money import customer, issue, pay
from tests.utils.platform import Engine, Running, running_platform

# Monday after Midsummer 2026: the rulebook's refund example came the Thursday before.
TODAY = date(2026, 6, 22)
CASES = "/api/v1/cases"
KARIN = {
    "id_number": personnummer("19650505", 3),
    "name": "Karin Lund",
    "address": {"street": "Torget 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def register(fordra: Running, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = await fordra.client.post(
        CASES, json=body, headers={**fordra.auth(Role.CASE_OFFICER), **headers}
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def cases(fordra: Running, role: Role = Role.CASE_OFFICER, **query: str) -> list[Any]:
    scope = {"department": query.pop("department")} if "department" in query else {}
    r = await fordra.client.get(CASES, params=query, headers=fordra.auth(role, **scope))
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


async def dashboard(fordra: Running, week: str, **scope: str) -> dict[str, Any]:
    role = Role.DEPARTMENT if scope else Role.OPS_LEAD
    r = await fordra.client.get(
        "/api/v1/sla/dashboard", params={"week": week}, headers=fordra.auth(role, **scope)
    )
    assert r.status_code == 200, r.text
    return {k["kind"]: k for k in r.json()["kinds"]}


async def test_cases_get_their_due_dates_and_are_closed_and_counted(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given the rulebook's refund, which came Thu 2026-06-18 at 11:00 Swedish time (09:00 UTC)
        refund = await register(fordra, {"kind": "refund", "received_at": "2026-06-18T09:00:00Z"})
        # Then it is due Tue 2026-06-23 (Midsummer Eve is not a working day)
        assert (refund["kind"], refund["due_by"]) == ("refund", "2026-06-23")
        # And a deferral asked for on Thursday at 13:05, after the cut-off: due Monday
        late = await register(
            fordra, {"kind": "deferral", "received_at": "2026-06-18T13:05:00+02:00"}
        )
        assert late["due_by"] == "2026-06-22"
        # And a deferral of an autogiro invoice that came this morning: up to 3 days
        autogiro = await register(
            fordra,
            {"kind": "deferral", "received_at": "2026-06-22T08:00:00+02:00", "autogiro": True},
        )
        assert autogiro["due_by"] == "2026-06-24"
        # And an autogiro mandate from Tuesday the week before, overdue since Monday
        mandate = await register(
            fordra, {"kind": "autogiro_mandate", "received_at": "2026-06-09T10:00:00+02:00"}
        )
        assert mandate["due_by"] == "2026-06-15"

        # When the refund and the late deferral are done today
        for case in (refund, late):
            r = await fordra.client.post(
                f"{CASES}/{case['case_id']}/done", headers=fordra.auth(Role.CASE_OFFICER)
            )
            assert r.status_code == 200, r.text
        done = r.json()
        # Then the deferral was done on its due day, working day 1 of its own
        assert (done["done_on"], done["handling_days"], done["in_time"]) == (
            "2026-06-22",
            1,
            True,
        )

        # And the queue of open cases lists the mandate first (overdue), then the deferral
        queue = await cases(fordra, status="open")
        assert [c["case_id"] for c in queue] == [mandate["case_id"], autogiro["case_id"]]
        assert [c["overdue"] for c in queue] == [True, False]
        # with the time each came, in UTC whatever offset it was sent with
        assert [c["received_at"] for c in queue] == [
            "2026-06-09T08:00:00Z",
            "2026-06-22T06:00:00Z",
        ]
        assert [c["kind"] for c in await cases(fordra, kind="refund")] == ["refund"]
        assert await cases(fordra, kind="refund", status="open") == []

        # And the dashboard of this week counts them per kind
        week = await dashboard(fordra, "2026-W26")
        assert week["refund"]["open"] == 0
        assert week["refund"]["handled"] == 1
        assert week["refund"]["handled_in_time_percent"] == 100.0
        # Day 1 Thu 18th, done Mon 22nd: working day 2 (Midsummer Eve and the weekend off)
        assert week["refund"]["p50_handling_days"] == 2
        assert week["refund"]["p95_handling_days"] == 2
        assert (week["deferral"]["open"], week["deferral"]["handled"]) == (1, 1)
        assert week["deferral"]["due_today"] == 0
        assert (week["autogiro_mandate"]["open"], week["autogiro_mandate"]["overdue"]) == (1, 1)
        # Every kind of the table has its row, with nothing to show where nothing happened
        assert week["period_close"]["open"] == 0
        assert week["period_close"]["handled_in_time_percent"] is None
        assert len(week) == 18
        # And the week before, seen from its Sunday: the refund and the deferral were open, the
        # mandate overdue since the Monday, nothing yet done
        before = await dashboard(fordra, "2026-W25")
        assert (before["refund"]["open"], before["refund"]["handled"]) == (1, 0)
        assert before["autogiro_mandate"]["overdue"] == 1
        assert before["deferral"]["open"] == 1


async def test_bad_input_repeats_and_roles(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        post = fordra.client.post
        officer = fordra.auth(Role.CASE_OFFICER)
        body = {"kind": "payment_plan", "received_at": "2026-06-22T09:00:00+02:00"}
        # A kind that is not in the table, a time without its offset, a day still to come, an
        # unknown invoice: 422 naming the field
        for wrong, field in (
            ({**body, "kind": "coffee"}, "kind"),
            ({**body, "received_at": "2026-06-22T09:00:00"}, "received_at"),
            ({**body, "received_at": "2026-06-23T09:00:00+02:00"}, "received_at"),
            ({**body, "received_at": "0001-01-01T00:00:00+02:00"}, "received_at"),
            ({**body, "received_at": "9999-12-31T23:59:00-12:00"}, "received_at"),
            ({**body, "received_at": "1900-01-01T00:00:00+14:00"}, "received_at"),
            ({**body, "invoice_id": "no-such-invoice"}, "invoice_id"),
            ({**body, "extra": 1}, "extra"),
        ):
            r = await post(CASES, json=wrong, headers=officer)
            assert r.status_code == 422, r.text
            assert field in r.json()["detail"][0]["loc"], r.text
        for week in ("2026-26", "2026-W60", ""):
            r = await fordra.client.get(
                "/api/v1/sla/dashboard", params={"week": week}, headers=officer
            )
            assert r.status_code == 422, r.text
            assert "week" in r.json()["detail"][0]["loc"], r.text
        assert await cases(fordra) == []

        # The same request with its key twice registers one case and answers the same
        keyed = {**officer, "Idempotency-Key": "case-1"}
        first = await register(fordra, body, **keyed)
        again = await register(fordra, body, **keyed)
        assert again == first
        assert len(await cases(fordra)) == 1
        # And closing twice with a key answers the first; without one the second is refused
        done = f"{CASES}/{first['case_id']}/done"
        one = await post(done, headers={**officer, "Idempotency-Key": "done-1"})
        two = await post(done, headers={**officer, "Idempotency-Key": "done-1"})
        assert (one.status_code, two.status_code) == (200, 200)
        assert one.json() == two.json()
        r = await post(done, headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "case_done"
        r = await post(f"{CASES}/nope/done", headers=officer)
        assert r.status_code == 404, r.text

        # A department, the bank or the agency neither registers nor closes cases
        for role, scope in (
            (Role.DEPARTMENT, {"department": "childcare"}),
            (Role.BANK_INGEST, {}),
            (Role.AGENCY, {}),
        ):
            r = await post(CASES, json=body, headers=fordra.auth(role, **scope))
            assert r.status_code == 403, r.text
            r = await post(done, headers=fordra.auth(role, **scope))
            assert r.status_code == 403, r.text
        r = await fordra.client.get(CASES, headers=fordra.auth(Role.BANK_INGEST))
        assert r.status_code == 403, r.text


async def test_raised_cases_enter_the_register_and_a_department_sees_its_own(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        post = fordra.client.post
        # Given a childcare invoice and a case about it registered by hand
        cid = await customer(fordra)
        invoice = await issue(fordra, cid, 100_000, invoice_date=TODAY.isoformat())
        about = await register(
            fordra,
            {
                "kind": "department_question",
                "received_at": "2026-06-22T09:00:00+02:00",
                "invoice_id": invoice["invoice_id"],
            },
        )
        # When the childcare department asks for a credit note on it
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        r = await post(
            f"/api/v1/invoices/{invoice['invoice_id']}/credit-notes",
            json={"reason": "fel taxa"},
            headers=childcare,
        )
        assert r.status_code == 202, r.text
        request_id = r.json()["request_id"]
        # Then a cancellation/credit case waits in the register, about that invoice, with the
        # seed's 2 days from when it was asked
        (raised,) = await cases(fordra, kind="cancellation_credit")
        assert raised["status"] == "open"
        assert raised["invoice_id"] == invoice["invoice_id"]
        assert raised["raised_by"] == "CreditNoteRequested"
        assert raised["day_one"] in ("2026-06-22", "2026-06-23")  # by 12:00 or after
        assert raised["due_by"] == (
            "2026-06-23" if raised["day_one"] == "2026-06-22" else "2026-06-24"
        )
        # And the department sees both cases about its invoice; another department neither
        mine = await cases(fordra, Role.DEPARTMENT, department="childcare")
        assert {c["case_id"] for c in mine} == {about["case_id"], raised["case_id"]}
        assert {c["department"] for c in mine} == {"childcare"}
        assert await cases(fordra, Role.DEPARTMENT, department="water") == []
        theirs = await dashboard(fordra, "2026-W26", department="water")
        assert theirs["cancellation_credit"]["open"] == 0
        ours = await dashboard(fordra, "2026-W26", department="childcare")
        assert ours["cancellation_credit"]["open"] == 1

        # When an ops lead attests the credit note
        r = await post(
            f"/api/v1/correction-requests/{request_id}/attest",
            headers=fordra.auth(Role.OPS_LEAD, subject="attester"),
        )
        assert r.status_code == 200, r.text
        # Then the case is done, today, in time
        (closed,) = await cases(fordra, kind="cancellation_credit")
        assert (closed["status"], closed["done_on"], closed["in_time"]) == (
            "done",
            "2026-06-22",
            True,
        )
        week = await dashboard(fordra, "2026-W26")
        assert (week["cancellation_credit"]["handled"], week["cancellation_credit"]["open"]) == (
            1,
            0,
        )


async def test_a_refund_a_plan_and_an_objection_enter_the_register_and_leave_at_their_decision(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(
        engine, tmp_path, today=date(2026, 3, 2), agency=AGENCY_SETTINGS
    ) as fordra:
        post = fordra.client.post
        # Given Karin paid 500 kr on a 200 kr invoice: 300 kr is her credit
        karin = await customer(fordra, KARIN)
        invoice = await issue(fordra, karin, 20_000, invoice_date="2026-03-02")
        await pay(fordra, (invoice["ocr"], 50_000))
        # When an ops lead asks for the credit to be refunded
        r = await post(
            f"/api/v1/customers/{karin}/credit/refunds",
            json={"reason": "återbetalning"},
            headers=fordra.auth(Role.OPS_LEAD, subject="lead-1"),
        )
        assert r.status_code == 201, r.text
        refund_id = r.json()["refund_id"]
        # Then a refund case waits, due within the seed's 3 working days
        (refund,) = await cases(fordra, kind="refund")
        assert (refund["status"], refund["raised_by"]) == ("open", "RefundRequested")
        assert refund["due_by"] in ("2026-03-04", "2026-03-05")  # by 12:00 or after
        # And once another ops lead attests it, the case is done, in time
        r = await post(
            f"/api/v1/refunds/{refund_id}/attest",
            headers=fordra.auth(Role.OPS_LEAD, subject="lead-2"),
        )
        assert r.status_code == 200, r.text
        (refund,) = await cases(fordra, kind="refund")
        assert (refund["status"], refund["done_on"], refund["in_time"]) == (
            "done",
            "2026-03-02",
            True,
        )

        # Given a second invoice to Karin, for which a written payment plan is drawn up
        owed = await issue(fordra, karin, 30_000, invoice_date="2026-03-02")
        officer = fordra.auth(Role.CASE_OFFICER)
        r = await post(
            "/api/v1/payment-plans",
            json={
                "customer_id": karin,
                "invoice_ids": [owed["invoice_id"]],
                "installments": 2,
                "first_due_date": "2026-04-30",
                "written": True,
                "fee_ore": 0,
            },
            headers=officer,
        )
        assert r.status_code == 201, r.text
        plan_id = r.json()["plan_id"]
        # Then a payment-plan case waits, about that invoice, 2 working days
        (plan,) = await cases(fordra, kind="payment_plan")
        assert (plan["status"], plan["invoice_id"]) == ("open", owed["invoice_id"])
        assert plan["due_by"] in ("2026-03-03", "2026-03-04")
        # And when the plan comes back signed the case is done
        r = await post(f"/api/v1/payment-plans/{plan_id}/signed", headers=officer)
        assert r.status_code == 200, r.text
        (plan,) = await cases(fordra, kind="payment_plan")
        assert (plan["status"], plan["raised_by"], plan["in_time"]) == (
            "done",
            "PaymentPlanProposed",
            True,
        )

        # Given a claim handed to the agency on 21 April and a payment order filed
        handed = await handed_over(fordra)
        await advance(fordra, "2026-05-06")
        base = {"case_id": handed["case_id"]}
        await report(
            fordra, {**base, "event_id": "e1", "kind": "opened", "occurred_on": "2026-04-22"}
        )
        await report(
            fordra,
            {**base, "event_id": "e2", "kind": "payment_order_filed", "occurred_on": "2026-04-28"},
        )
        assert await cases(fordra, kind="kronofogden") == []
        # When the debtor objects
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
        # Then a case from Kronofogden waits in the register, about the invoice, 2 working days
        (objection,) = await cases(fordra, kind="kronofogden")
        assert (objection["status"], objection["invoice_id"]) == ("open", handed["invoice_id"])
        assert objection["due_by"] in ("2026-05-07", "2026-05-08")
        # And when the court's judgment comes two days later the case is done
        await advance(fordra, "2026-05-08")
        await report(
            fordra, {**base, "event_id": "e4", "kind": "judgment", "occurred_on": "2026-05-08"}
        )
        (objection,) = await cases(fordra, kind="kronofogden")
        assert (objection["status"], objection["done_on"]) == ("done", "2026-05-08")
        assert objection["handling_days"] in (2, 3)
