"""The rent administration's delegation over HTTP on the embedded engine (issue 14; domain.md §8
"Delegation", seed 002): a rent deferral over 1 month, and a refund of rent at move-out over two
monthly rents, are refused with a 422 naming the rule and the limit unless a department decision
is given; with one they go through and the decision is kept in the event. (The payment plan's
limit over HTTP: tests/dunning/test_rent_plan_delegation.py.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.contracts.invoicing import DeferralGranted
from fordra.contracts.payments import RefundRequested
from fordra.kernel.auth import Role
from tests.utils.invoicing import personnummer
from tests.utils.money import correct, customer, ledger, pay
from tests.utils.platform import Running, running_platform

TODAY = date(2026, 3, 2)
MONTHLY_RENT = 650_000
DECISION = {"reference": "SN 2026/9", "decided_on": "2026-03-01", "decided_by": "Socialnämnden"}


async def rent_notice(fordra: Running, customer_id: str) -> dict[str, Any]:
    """A housing rent notice of 6,500 kr (no VAT on the lease of a home), due 2026-04-01."""
    body = {
        "customer_id": customer_id,
        "department": "housing",
        "service_type": "housing_rent",
        "invoice_date": "2026-03-02",
        "lines": [{"description": "Hyra", "unit_price_ore": MONTHLY_RENT, "vat_rate": 0}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def events_of(fordra: Running, context: str, kind: type[Any]) -> list[Any]:
    store = fordra.platform.stores[context]
    registry = fordra.platform.registry
    return [
        registry.load(e)
        for e in await store.read_log(0, limit=100_000)
        if e.event_type == kind.event_type
    ]


async def test_a_rent_deferral_over_one_month_needs_a_department_decision(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        notice = await rent_notice(fordra, cid)
        deferral = f"/api/v1/invoices/{notice['invoice_id']}/deferral"
        officer = fordra.auth(Role.CASE_OFFICER)
        ask = {"reason": "dubbla boendekostnader", "requested_on": "2026-03-02"}
        # When the office defers it to 2026-05-02, a month and a day past its due date
        r = await fordra.client.post(
            deferral, json=ask | {"deferred_until": "2026-05-02"}, headers=officer
        )
        # Then it is refused, naming the rule and the limit
        assert r.status_code == 422, r.text
        [problem] = r.json()["detail"]
        assert problem["type"] == "rent_delegation"
        assert problem["loc"] == ["body", "department_decision"]
        assert "a rent deferral over 1 month" in problem["msg"]
        # And exactly one month goes through on the office's own delegation
        r = await fordra.client.post(
            deferral, json=ask | {"deferred_until": "2026-05-01"}, headers=officer
        )
        assert r.status_code == 200, r.text
        assert r.json()["department_decision"] is None
        # A longer one goes through with the department's decision, which the event keeps
        other = await rent_notice(fordra, cid)
        r = await fordra.client.post(
            f"/api/v1/invoices/{other['invoice_id']}/deferral",
            json=ask | {"deferred_until": "2026-05-02", "department_decision": DECISION},
            headers=officer,
        )
        assert r.status_code == 200, r.text
        assert r.json()["department_decision"] == DECISION
        granted = await events_of(fordra, "invoicing", DeferralGranted)
        assert [g.department_decision and g.department_decision.reference for g in granted] == [
            None,
            "SN 2026/9",
        ]


async def test_a_refund_of_rent_over_two_monthly_rents_needs_a_department_decision(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        # Given three rent notices of 6,500 kr, paid, and credited when the tenant moved out
        notices = [await rent_notice(fordra, cid) for _ in range(3)]
        await pay(fordra, *((n["ocr"], MONTHLY_RENT) for n in notices))
        for n in notices:
            r = await correct(fordra, n["invoice_id"], "credit-notes", reason="avflyttning")
            assert r.status_code in {200, 201}, r.text
        assert (await ledger(fordra, cid))["credit_ore"] == 3 * MONTHLY_RENT
        refunds = f"/api/v1/customers/{cid}/credit/refunds"
        lead = fordra.auth(Role.OPS_LEAD, subject="lead-1")
        # When the office refunds two monthly rents and one öre
        r = await fordra.client.post(
            refunds,
            json={"reason": "avflyttning", "amount_ore": 2 * MONTHLY_RENT + 1},
            headers=lead,
        )
        # Then it is refused, naming the rule and the limit
        assert r.status_code == 422, r.text
        [problem] = r.json()["detail"]
        assert problem["type"] == "rent_delegation"
        assert "a refund of rent over 2 monthly rents (1300000 öre" in problem["msg"]
        assert await events_of(fordra, "payments", RefundRequested) == []
        # And exactly two monthly rents go through on the office's own delegation
        r = await fordra.client.post(
            refunds, json={"reason": "avflyttning", "amount_ore": 2 * MONTHLY_RENT}, headers=lead
        )
        assert r.status_code == 201, r.text
        assert r.json()["department_decision"] is None
        # And for a tenant who died, the whole credit (three monthly rents) goes out with the
        # department's decision, which the event keeps
        other = await customer(
            fordra,
            {
                "id_number": personnummer("19800101", 8),
                "name": "Greta Svensson",
                "address": {"street": "Torget 2", "postal_code": "512 50", "city": "Svenljunga"},
            },
        )
        theirs = [await rent_notice(fordra, other) for _ in range(3)]
        await pay(fordra, *((n["ocr"], MONTHLY_RENT) for n in theirs))
        for n in theirs:
            await correct(fordra, n["invoice_id"], "credit-notes", reason="dödsfall")
        all_of_it = {"reason": "dödsbo", "department_decision": DECISION}
        keyed = {**lead, "Idempotency-Key": "dodsbo-1"}
        r = await fordra.client.post(
            f"/api/v1/customers/{other}/credit/refunds", json=all_of_it, headers=keyed
        )
        assert r.status_code == 201, r.text
        # (the same request again with its key changes nothing)
        again = await fordra.client.post(
            f"/api/v1/customers/{other}/credit/refunds", json=all_of_it, headers=keyed
        )
        assert again.json() == r.json()
        assert r.json()["amount_ore"] == 3 * MONTHLY_RENT
        assert r.json()["department_decision"] == DECISION
        # (each request is on the credit's stream and on the refund's own)
        requested = {q.refund_id: q for q in await events_of(fordra, "payments", RefundRequested)}
        assert sorted(
            (q.amount_ore, q.department_decision and q.department_decision.reference)
            for q in requested.values()
        ) == [(2 * MONTHLY_RENT, None), (3 * MONTHLY_RENT, "SN 2026/9")]
