"""The dunning flow over HTTP on both engines (issue 13, domain.md §4, seed 001 / seed 002): the
business clock walks invoices from the due date to a reminder proposal, its approval, a handover
proposal and the handover; holds stop the flow; a partial payment lowers what is dunned."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.contracts.dunning import HandedToAgency, ReminderSent
from fordra.dunning.domain.events import claim_stream, run_stream
from fordra.dunning.domain.letters import LetterIssued, letter_stream
from fordra.kernel.auth import Role
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.platform import PROPERTY, Engine, Running, record_ownership, running_platform

TODAY = date(2026, 3, 2)
PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def customer(fordra: Running) -> str:
    r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def issue(
    fordra: Running, customer_id: str, service: str = "premises_rent", **extra: Any
) -> dict[str, Any]:
    """An invoice of 800 kr + 25 % VAT (1,000 kr) dated 2026-03-02: due 2026-04-01."""
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "department": "water" if service == "water" else "fastighet",
        "service_type": service,
        "invoice_date": "2026-03-02",
        "lines": [{"description": "Lokalhyra mars", "unit_price_ore": 80000, "vat_rate": 25}],
        **extra,
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    assert result["due_date"] == "2026-04-01"
    return result


async def advance(fordra: Running, to: str) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def pay(fordra: Running, ocr: str, amount: str, ref: str) -> None:
    data = camt054(
        Entry(
            amount=amount,
            acct_svcr_ref=f"N-{ref}",
            txs=(Tx(amount=amount, acct_svcr_ref=ref, scor=(ocr,)),),
        ),
        msg_id=f"FILE-{ref}",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code == 201, r.text


async def proposals(fordra: Running, status: str = "pending") -> list[dict[str, Any]]:
    r = await fordra.client.get(
        "/api/v1/dunning/proposals",
        params={"status": status},
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def proposals_for(fordra: Running, invoice_id: str) -> list[dict[str, Any]]:
    return [p for p in await proposals(fordra) if p["invoice_id"] == invoice_id]


async def approve(fordra: Running, proposal_id: str, code: int = 200) -> dict[str, Any]:
    r = await fordra.client.post(
        f"/api/v1/dunning/proposals/{proposal_id}/approve",
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def collection(fordra: Running, invoice_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/invoices/{invoice_id}/collection", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_an_unpaid_invoice_is_reminded_then_handed_over(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given an invoice of 1,000 kr due 2026-04-01
        cid = await customer(fordra)
        inv = await issue(fordra, cid)
        iid = inv["invoice_id"]
        assert (await collection(fordra, iid))["stage"] == "open"

        # When the clock passes 6 days after the due date, then nothing is proposed
        await advance(fordra, "2026-04-07")
        assert await proposals_for(fordra, iid) == []
        # When it reaches 7 days after (seed 001: at the earliest), then a reminder is proposed
        await advance(fordra, "2026-04-08")
        (reminder,) = await proposals_for(fordra, iid)
        assert reminder["kind"] == "reminder"
        assert reminder["customer_id"] == cid
        assert reminder["proposed_on"] == "2026-04-08"
        assert reminder["capital_ore"] == 100000
        assert reminder["fee_ore"] == 0  # Svenljunga charges no reminder fee (seed 001)
        # 7 days at 2 % + 8 points on 1,000 kr: 1.92 kr (domain.md §3)
        assert reminder["interest_ore"] == 192

        # And a run of the same date again proposes nothing new and answers the same count
        r = await fordra.client.post(
            "/api/v1/dunning/runs", json={"date": "2026-04-08"}, headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"date": "2026-04-08", "proposals": 1}
        assert len(await proposals_for(fordra, iid)) == 1
        # Only ops start a run
        r = await fordra.client.post(
            "/api/v1/dunning/runs",
            json={"date": "2026-04-08"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 403, r.text
        # and never for a date after the business date
        r = await fordra.client.post(
            "/api/v1/dunning/runs", json={"date": "2026-04-09"}, headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "date"]
        assert r.json()["detail"][0]["type"] == "dunning_run_not_in_future"
        # nor for a day that is not a business day (Easter Monday, a Saturday): nothing recorded
        for holiday in ("2026-04-06", "2026-04-04"):
            r = await fordra.client.post(
                "/api/v1/dunning/runs", json={"date": holiday}, headers=fordra.auth(Role.OPS_LEAD)
            )
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["type"] == "dunning_run_on_a_business_day"
            assert (
                await fordra.platform.stores["dunning"].read_stream(
                    run_stream(date.fromisoformat(holiday))
                )
                == []
            )

        # When the case officer approves it, then a letter is sent, once
        letter_id = (await approve(fordra, reminder["proposal_id"]))["letter_id"]
        assert letter_id
        assert await approve(fordra, reminder["proposal_id"]) == {"letter_id": letter_id}
        store = fordra.platform.stores["dunning"]
        registry = fordra.platform.registry
        sent = [registry.load(e) for e in await store.read_stream(claim_stream(iid))]
        assert [type(e) for e in sent] == [ReminderSent]
        (issued,) = [registry.load(e) for e in await store.read_stream(letter_stream(letter_id))]
        assert isinstance(issued, LetterIssued)
        assert issued.facts.items[0].invoice_number == inv["invoice_number"]
        assert issued.facts.next_step == "agency"
        view = await collection(fordra, iid)
        assert view["stage"] == "reminded"
        assert view["letters"] == [
            {"letter_id": letter_id, "kind": "reminder", "sent_on": "2026-04-08", "fee_ore": 0}
        ]
        assert await proposals(fordra, "approved") == [{**reminder}]

        # When 10 days pass after the reminder (2026-04-18 is a Saturday, so the reminder asked
        # payment by Monday 2026-04-20) and the pay-by date passes, then a handover is proposed:
        # not on the pay-by date, when the customer may still pay, but the next business day
        await advance(fordra, "2026-04-20")
        assert await proposals_for(fordra, iid) == []
        await advance(fordra, "2026-04-21")
        (handover,) = await proposals_for(fordra, iid)
        assert handover["kind"] == "handover"
        assert handover["proposed_on"] == "2026-04-21"

        # When it is approved, then the claim is handed to the agency, with no letter of ours
        assert await approve(fordra, handover["proposal_id"]) == {"letter_id": None}
        sent = [registry.load(e) for e in await store.read_stream(claim_stream(iid))]
        assert [type(e) for e in sent] == [ReminderSent, HandedToAgency]
        assert isinstance(sent[1], HandedToAgency)
        assert sent[1].capital_ore == 100000
        assert sent[1].model == "reminder_then_handover"
        assert (await collection(fordra, iid))["stage"] == "handed_over"
        # and nothing more is proposed for it
        await advance(fordra, "2026-05-20")
        assert await proposals_for(fordra, iid) == []


async def test_a_deferral_before_the_due_date_moves_the_reminder(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given an invoice due 2026-04-01 deferred until 2026-04-30 (asked before the due date)
        cid = await customer(fordra)
        iid = (await issue(fordra, cid))["invoice_id"]
        body = {"reason": "sjuk", "requested_on": "2026-03-02", "deferred_until": "2026-04-30"}
        r = await fordra.client.post(
            f"/api/v1/invoices/{iid}/deferral", json=body, headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        view = await collection(fordra, iid)
        assert view["holds"] == [
            {"kind": "deferral", "since": None, "until": "2026-04-30", "plan_id": None}
        ]
        # When the clock passes the due date + 7 days, then no reminder is proposed
        await advance(fordra, "2026-05-06")
        assert await proposals_for(fordra, iid) == []
        # When it passes the deferral's end + 7 days, then the reminder is proposed
        await advance(fordra, "2026-05-07")
        (reminder,) = await proposals_for(fordra, iid)
        assert reminder["kind"] == "reminder"
        assert reminder["proposed_on"] == "2026-05-07"
        assert (await collection(fordra, iid))["holds"] == []


async def test_a_dispute_stops_the_flow_and_waits_in_the_disputed_queue(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        officer = fordra.auth(Role.CASE_OFFICER)
        # Given an invoice reminded on 2026-04-08
        cid = await customer(fordra)
        iid = (await issue(fordra, cid))["invoice_id"]
        await advance(fordra, "2026-04-08")
        (reminder,) = await proposals_for(fordra, iid)
        await approve(fordra, reminder["proposal_id"])
        # When the customer disputes it before the handover is due
        r = await fordra.client.post(
            f"/api/v1/invoices/{iid}/dispute", json={"reason": "bestrider"}, headers=officer
        )
        assert r.status_code == 200, r.text
        # Then it waits in the queue of disputed claims
        r = await fordra.client.get("/api/v1/dunning/disputed", headers=officer)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "items": [{"invoice_id": iid, "customer_id": cid, "disputed_on": "2026-04-08"}]
        }
        # and no handover is ever proposed while it is disputed
        await advance(fordra, "2026-06-01")
        assert await proposals_for(fordra, iid) == []
        view = await collection(fordra, iid)
        assert view["holds"] == [
            {"kind": "dispute", "since": "2026-04-08", "until": None, "plan_id": None}
        ]


async def test_a_proposal_stale_since_a_dispute_is_refused(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given two pending reminder proposals
        cid = await customer(fordra)
        iid = (await issue(fordra, cid))["invoice_id"]
        other = (await issue(fordra, cid))["invoice_id"]
        await advance(fordra, "2026-04-08")
        (reminder,) = await proposals_for(fordra, iid)
        # When the invoice is disputed before the proposal is approved
        r = await fordra.client.post(
            f"/api/v1/invoices/{iid}/dispute",
            json={"reason": "bestrider"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        # Then approving it is refused, naming why, and nothing is sent
        body = await approve(fordra, reminder["proposal_id"], code=409)
        assert body["reason"] == "stale"
        assert "disputed" in body["detail"]
        assert await fordra.platform.stores["dunning"].read_stream(claim_stream(iid)) == []
        # A rejected proposal is refused too
        (second,) = await proposals_for(fordra, other)
        r = await fordra.client.post(
            f"/api/v1/dunning/proposals/{second['proposal_id']}/reject",
            json={"reason": "kunden har ringt"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        body = await approve(fordra, second["proposal_id"], code=409)
        assert body["reason"] == "rejected"
        assert [p["proposal_id"] for p in await proposals(fordra, "rejected")] == [
            second["proposal_id"]
        ]


async def test_a_partial_payment_before_the_handover_lowers_what_is_handed_over(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given an invoice of 1,000 kr reminded on 2026-04-08
        cid = await customer(fordra)
        inv = await issue(fordra, cid)
        iid = inv["invoice_id"]
        await advance(fordra, "2026-04-08")
        (reminder,) = await proposals_for(fordra, iid)
        await approve(fordra, reminder["proposal_id"])
        # When the customer pays 400 kr
        await pay(fordra, inv["ocr"], "400.00", "PART-1")
        # Then the handover is still proposed, for the 600 kr still open
        await advance(fordra, "2026-04-21")
        (handover,) = await proposals_for(fordra, iid)
        assert handover["kind"] == "handover"
        assert handover["capital_ore"] == 60000
        # When the rest is paid before it is approved, then approving it is refused as stale
        await pay(fordra, inv["ocr"], "600.00", "PART-2")
        body = await approve(fordra, handover["proposal_id"], code=409)
        assert body["reason"] == "stale"
        assert "paid" in body["detail"]
        assert (await collection(fordra, iid))["stage"] == "paid"


async def test_no_reminder_fee_on_water(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a reminder fee of 60 kr agreed for premises rent only (domain.md §3: a fee only
        # where agreed when the debt arose; water's taxa does not), set by the ops lead
        r = await fordra.client.put(
            "/api/v1/dunning/policies/premises_rent",
            json={
                "valid_from": TODAY.isoformat(),
                "model": "reminder_then_handover",
                "reminder_after_days": 7,
                "reminder_fee_ore": 6000,
                "reminder_fee_agreed": True,
                "handover_after_reminder_days": 10,
                "next_step": "agency",
            },
            headers=fordra.auth(Role.OPS_LEAD),
        )
        assert r.status_code == 200, r.text
        cid = await customer(fordra)
        await record_ownership(fordra, cid)
        rent = (await issue(fordra, cid))["invoice_id"]
        water = (
            await issue(
                fordra,
                cid,
                "water",
                property_designation=PROPERTY,
                lines=[
                    {"description": "Vatten och avlopp", "unit_price_ore": 80000, "vat_rate": 25}
                ],
            )
        )["invoice_id"]
        # When both are 7 days overdue
        await advance(fordra, "2026-04-08")
        # Then the rent's reminder carries the fee and water's carries none
        (rent_reminder,) = await proposals_for(fordra, rent)
        (water_reminder,) = await proposals_for(fordra, water)
        assert rent_reminder["fee_ore"] == 6000
        assert water_reminder["fee_ore"] == 0


async def test_an_unknown_invoice_has_no_collection(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        r = await fordra.client.get(
            "/api/v1/invoices/nope/collection", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 404, r.text
        r = await fordra.client.post(
            "/api/v1/dunning/proposals/nope/approve", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 404, r.text
