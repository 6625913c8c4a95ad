"""Issue 13's cases over HTTP on both engines, walked with the business clock (domain.md §3-4;
seed 001, seed 002): a payment plan kept and one broken (the missed installment reminded, the plan
cancelled, the invoice back in the flow), late interest across a half-year rate change on a
reminded claim, childcare's letter about the risk of termination and its report around the 15th,
and the music-school pupils flagged on 31 August."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.contracts.dunning import HandedToAgency, ReminderSent
from fordra.dunning.domain.events import claim_stream
from fordra.kernel.auth import Role
from tests.invoicing.test_render import flat, html_text, pdf_text
from tests.scenarios.test_dunning_flow import (
    advance,
    approve,
    collection,
    customer,
    pay,
    proposals,
    proposals_for,
)
from tests.utils.platform import Engine, Running, running_platform


async def invoice(
    fordra: Running,
    customer_id: str,
    *,
    service: str,
    invoice_date: date,
    ore: int,
    text: str,
) -> dict[str, Any]:
    """An invoice of ``ore`` (premises rent: net + 25 % VAT; childcare and the music school carry
    no VAT), due 30 days after ``invoice_date``."""
    vat = 25 if service == "premises_rent" else 0
    net = ore * 100 // (100 + vat)
    body = {
        "customer_id": customer_id,
        "department": {"childcare": "barnomsorg", "music_school": "kultur"}.get(
            service, "fastighet"
        ),
        "service_type": service,
        "invoice_date": invoice_date.isoformat(),
        "lines": [{"description": text, "unit_price_ore": net, "vat_rate": vat}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def dunning_events(fordra: Running, invoice_id: str) -> list[Any]:
    store = fordra.platform.stores["dunning"]
    stored = await store.read_stream(claim_stream(invoice_id))
    return [fordra.platform.registry.load(e) for e in stored]


async def draw_up_plan(fordra: Running, customer_id: str, invoice_id: str) -> dict[str, Any]:
    """A written plan of two installments from 2026-04-30, without a fee, signed and returned."""
    officer = fordra.auth(Role.CASE_OFFICER)
    r = await fordra.client.post(
        "/api/v1/payment-plans",
        json={
            "customer_id": customer_id,
            "invoice_ids": [invoice_id],
            "installments": 2,
            "first_due_date": "2026-04-30",
            "written": True,
            "fee_ore": 0,
        },
        headers=officer,
    )
    assert r.status_code == 201, r.text
    plan_id = r.json()["plan_id"]
    r = await fordra.client.post(f"/api/v1/payment-plans/{plan_id}/signed", headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    body: dict[str, Any] = r.json()
    return body


async def plan_status(fordra: Running, plan_id: str) -> str:
    r = await fordra.client.get(
        f"/api/v1/payment-plans/{plan_id}", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


async def test_a_plan_kept_holds_the_flow_until_it_is_completed(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given 1,000 kr due 2026-04-01, two days overdue
        cid = await customer(fordra)
        inv = await invoice(
            fordra,
            cid,
            service="premises_rent",
            invoice_date=date(2026, 3, 2),
            ore=100000,
            text="Lokalhyra",
        )
        iid = inv["invoice_id"]
        await advance(fordra, "2026-04-03")
        # When a plan of two installments of 500 kr is signed
        plan = await draw_up_plan(fordra, cid, iid)
        assert [i["amount_ore"] for i in plan["installments"]] == [50000, 50000]
        assert [i["due_date"] for i in plan["installments"]] == ["2026-04-30", "2026-05-30"]
        # Then its letter reads as the written plan, in HTML and PDF (domain.md §4)
        url = f"/api/v1/payment-plans/{plan['plan_id']}/document"
        r = await fordra.client.get(url, params={"format": "html"}, headers=fordra.auth())
        assert r.status_code == 200, r.text
        page = flat(html_text(r.text))
        assert "Avbetalningsplan" in page
        assert "Tolvan Tolvansson" in page
        assert "500,00 kr" in page
        r = await fordra.client.get(url, params={"format": "pdf"}, headers=fordra.auth())
        assert r.status_code == 200
        assert "Avbetalningsplan" in flat(pdf_text(r.content))
        # And the flow holds: no reminder while the plan is kept, installments paid on time
        await advance(fordra, "2026-04-29")
        await pay(fordra, inv["ocr"], "500.00", "PLAN-1")
        await advance(fordra, "2026-05-29")
        await pay(fordra, inv["ocr"], "500.00", "PLAN-2")
        await advance(fordra, "2026-06-15")
        assert await proposals_for(fordra, iid) == []
        assert await plan_status(fordra, plan["plan_id"]) == "completed"
        assert (await collection(fordra, iid))["stage"] == "paid"


async def test_a_plan_broken_is_reminded_cancelled_and_the_claim_is_dunned_again(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given 1,000 kr due 2026-04-01 in a plan from 2026-04-03
        cid = await customer(fordra)
        inv = await invoice(
            fordra,
            cid,
            service="premises_rent",
            invoice_date=date(2026, 3, 2),
            ore=100000,
            text="Lokalhyra",
        )
        iid = inv["invoice_id"]
        await advance(fordra, "2026-04-03")
        plan = await draw_up_plan(fordra, cid, iid)
        # When the first installment (2026-04-30) is not paid: missed after 3 days' grace
        await advance(fordra, "2026-05-03")
        assert await proposals(fordra) == []
        await advance(fordra, "2026-05-04")
        # Then its reminder is proposed, and approved it is a letter naming the installment
        (reminder,) = await proposals_for(fordra, iid)
        assert reminder["kind"] == "installment_reminder"
        assert reminder["capital_ore"] == 50000
        letter_id = (await approve(fordra, reminder["proposal_id"]))["letter_id"]
        r = await fordra.client.get(
            f"/api/v1/letters/{letter_id}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        page = flat(html_text(r.text))
        assert "500,00 kr" in page
        assert "30 april 2026" in page
        assert await plan_status(fordra, plan["plan_id"]) == "active"
        # When it stays unpaid 14 days after it was missed, the plan is cancelled
        await advance(fordra, "2026-05-18")
        assert await plan_status(fordra, plan["plan_id"]) == "cancelled"
        r = await fordra.client.get(
            "/api/v1/payment-plans",
            params={"status": "cancelled"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert [p["plan_id"] for p in r.json()["items"]] == [plan["plan_id"]]
        # And the invoice is back in the flow: reminded 7 days after the plan ended
        await advance(fordra, "2026-05-24")
        assert [p["kind"] for p in await proposals_for(fordra, iid)] == []
        await advance(fordra, "2026-05-25")
        (again,) = await proposals_for(fordra, iid)
        assert (again["kind"], again["capital_ore"]) == ("reminder", 100000)


async def test_interest_across_a_half_year_on_a_reminded_claim(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 5, 18)) as fordra:
        # Given 10,000 kr due 2026-06-17, reminded on 2026-06-24
        cid = await customer(fordra)
        inv = await invoice(
            fordra,
            cid,
            service="premises_rent",
            invoice_date=date(2026, 5, 18),
            ore=1_000_000,
            text="Lokalhyra",
        )
        iid = inv["invoice_id"]
        assert inv["due_date"] == "2026-06-17"
        await advance(fordra, "2026-06-24")
        (reminder,) = await proposals_for(fordra, iid)
        await approve(fordra, reminder["proposal_id"])
        # 7 days at 2.00 + 8 points: 10,000 kr x 10 % x 7 / 365 = 19.18 kr
        (sent,) = await dunning_events(fordra, iid)
        assert isinstance(sent, ReminderSent)
        assert sent.interest_ore == 1918
        # And the reference rate of the second half of 2026, 1.75 %, added by an admin on the
        # half-year's eve (the policy rate on 2026-06-30: not known before that day)
        await advance(fordra, "2026-06-30")
        r = await fordra.client.post(
            "/api/v1/admin/reference-rates",
            json={"valid_from": "2026-07-01", "rate_percent": "1.75"},
            headers=fordra.auth(),
        )
        assert r.status_code == 201, r.text
        # When the handover is proposed after the half-year (10 days later is Saturday
        # 2026-07-04, so the reminder asked payment by Monday 2026-07-06; the day after it)
        # and approved
        await advance(fordra, "2026-07-06")
        assert await proposals_for(fordra, iid) == []
        await advance(fordra, "2026-07-07")
        (handover,) = await proposals_for(fordra, iid)
        assert handover["kind"] == "handover"
        await approve(fordra, handover["proposal_id"])
        # Then the interest is per rate period, each rounded once (domain.md §3), by hand:
        # 2026-06-18..06-30, 13 days at 10 %: 3,561.64 öre -> 3,562
        # 2026-07-01..07-07,  7 days at 9.75 % (1.75 + 8): 1,869.86 öre -> 1,870
        expected = 3562 + 1870
        (_, handed) = await dunning_events(fordra, iid)
        assert isinstance(handed, HandedToAgency)
        assert handed.interest_ore == expected
        assert (await collection(fordra, iid))["interest_ore"] == expected


async def test_childcare_warns_two_unpaid_fee_invoices_and_reports_around_the_15th(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given a guardian's two childcare fee invoices due 2026-04-01
        cid = await customer(fordra)
        fees = [
            await invoice(
                fordra,
                cid,
                service="childcare",
                invoice_date=date(2026, 3, 2),
                ore=100000,
                text=text,
            )
            for text in ("Barnomsorgsavgift mars", "Barnomsorgsavgift april")
        ]
        ids = [f["invoice_id"] for f in fees]
        # When both are 7 days overdue, a letter about the risk of termination is proposed
        await advance(fordra, "2026-04-08")
        (warning,) = [p for p in await proposals(fordra) if p["kind"] == "termination_warning"]
        assert warning["customer_id"] == cid
        assert warning["capital_ore"] == 200000
        # And approved, it names both invoices and the termination date (seed 001: 2 months)
        letter_id = (await approve(fordra, warning["proposal_id"]))["letter_id"]
        r = await fordra.client.get(
            f"/api/v1/letters/{letter_id}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        page = flat(html_text(r.text))
        assert all(f["invoice_number"] in page for f in fees)
        assert "1 juni 2026" in page
        # Then the report around the 15th lists the guardian who has not paid
        report = "/api/v1/dunning/childcare-report"
        officer = fordra.auth(Role.CASE_OFFICER)
        await advance(fordra, "2026-04-14")
        r = await fordra.client.get(report, params={"month": "2026-04"}, headers=officer)
        assert r.json()["items"] == []
        await advance(fordra, "2026-04-15")
        r = await fordra.client.get(report, params={"month": "2026-04"}, headers=officer)
        assert r.status_code == 200, r.text
        (line,) = r.json()["items"]
        assert (line["customer_id"], sorted(line["invoice_ids"])) == (cid, sorted(ids))
        assert (line["unpaid_ore"], line["termination_date"]) == (200000, "2026-06-01")
        # A month that is not a month is a 422
        r = await fordra.client.get(report, params={"month": "2026-13"}, headers=officer)
        assert r.status_code == 422, r.text


async def test_music_school_pupils_are_flagged_on_31_august(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 7, 16)) as fordra:
        # Given the autumn term's fee due 2026-08-15, unpaid, and one paid
        unpaid_by = await customer(fordra)
        fee = await invoice(
            fordra,
            unpaid_by,
            service="music_school",
            invoice_date=date(2026, 7, 16),
            ore=100000,
            text="Musikskola ht",
        )
        r = await fordra.client.post(
            "/api/v1/customers",
            json={
                "id_number": "19800101-0019",
                "name": "Anna Andersson",
                "address": {"street": "Ågatan 2", "postal_code": "512 50", "city": "Svenljunga"},
            },
            headers=fordra.auth(),
        )
        assert r.status_code == 201, r.text
        paid_by = r.json()["customer_id"]
        paid = await invoice(
            fordra,
            paid_by,
            service="music_school",
            invoice_date=date(2026, 7, 16),
            ore=100000,
            text="Musikskola ht",
        )
        await advance(fordra, "2026-08-20")
        await pay(fordra, paid["ocr"], "1000.00", "MS-1")
        flags = "/api/v1/dunning/music-school-flags"
        officer = fordra.auth(Role.CASE_OFFICER)
        # When the clock reaches 31 August (a Monday in 2026), the unpaid fee's pupil is flagged
        await advance(fordra, "2026-08-30")
        assert (await fordra.client.get(flags, headers=officer)).json()["items"] == []
        await advance(fordra, "2026-08-31")
        r = await fordra.client.get(flags, headers=officer)
        assert r.status_code == 200, r.text
        (flag,) = r.json()["items"]
        assert (flag["customer_id"], flag["invoice_ids"]) == (unpaid_by, [fee["invoice_id"]])
        assert (flag["deadline"], flag["flagged_on"]) == ("2026-08-31", "2026-08-31")
        assert flag["unpaid_ore"] == 100000
