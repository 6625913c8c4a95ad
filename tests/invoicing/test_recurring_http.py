"""Recurring charges over HTTP as a department, a case officer and an attacker would use them
(issue 14): who may do what, bad input named, repeats changing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fordra.invoicing.application.billing_run import run_billing
from fordra.kernel.auth import Role
from fordra.kernel.envelope import Metadata
from tests.utils.platform import Engine, Running, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


@pytest.fixture
async def fordra(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_platform(Engine("embedded"), tmp_path, today=date(2026, 1, 2)) as running:
        yield running


async def customer(fordra: Running) -> str:
    r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


def rent(customer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "department": "housing",
        "service_type": "housing_rent",
        "description": "Hyra lgh 1001",
        "amount_ore": 1_200_000,
        "vat_rate": 0,
        "period": "monthly",
        "starts_on": "2026-02-01",
    } | overrides


def housing(fordra: Running) -> dict[str, str]:
    return fordra.auth(Role.DEPARTMENT, department="housing")


async def test_a_department_registers_only_its_own_charges(fordra: Running) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges",
        json=rent(cid),
        headers=fordra.auth(Role.DEPARTMENT, department="school"),
    )
    assert r.status_code == 403, r.text
    for role in (Role.BANK_INGEST, Role.AGENCY, Role.OPS_LEAD):
        r = await fordra.client.post(
            "/api/v1/recurring-charges", json=rent(cid), headers=fordra.auth(role)
        )
        assert r.status_code == 403, (role, r.text)
    r = await fordra.client.post(
        "/api/v1/recurring-charges", json=rent(cid), headers=housing(fordra)
    )
    assert r.status_code == 201, r.text
    assert r.json()["next_notice_on"] == "2026-01-05"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"amount_ore": 0}, "amount_ore"),
        ({"amount_ore": 12.5}, "amount_ore"),
        ({"period": "fortnightly"}, "period"),
        ({"billing_day": "payday"}, "billing_day"),
        ({"kind": "sublet"}, "kind"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"ends_on": "2026-01-31"}, "ends_on"),
        ({"service_type": "parking"}, "service_type"),
        ({"customer_id": "no-such-customer"}, "customer_id"),
        ({"starts_on": "2025-09-01"}, "starts_on"),
        ({"vat_rate": 13}, "vat_rate"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    fordra: Running, overrides: dict[str, Any], named: str
) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges", json=rent(cid) | overrides, headers=housing(fordra)
    )
    assert r.status_code == 422, r.text
    assert named in r.text


async def test_a_repeated_request_registers_one_charge(fordra: Running) -> None:
    cid = await customer(fordra)
    headers = housing(fordra) | {"Idempotency-Key": "rent-1001"}
    answers = await asyncio.gather(
        *(
            fordra.client.post("/api/v1/recurring-charges", json=rent(cid), headers=headers)
            for _ in range(3)
        )
    )
    assert {a.json()["charge_id"] for a in answers if a.status_code == 201} == {
        answers[0].json()["charge_id"]
    }
    r = await fordra.client.get(
        f"/api/v1/recurring-charges?customer_id={cid}", headers=housing(fordra)
    )
    assert len(r.json()) == 1


async def test_changes_and_reads_stay_within_the_department(fordra: Running) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges", json=rent(cid), headers=housing(fordra)
    )
    charge_id = r.json()["charge_id"]
    school = fordra.auth(Role.DEPARTMENT, department="school")
    r = await fordra.client.patch(
        f"/api/v1/recurring-charges/{charge_id}",
        json={"ends_on": "2026-06-30", "reason": "Uppsägning"},
        headers=school,
    )
    assert r.status_code == 403, r.text
    r = await fordra.client.get(f"/api/v1/recurring-charges?customer_id={cid}", headers=school)
    assert r.status_code == 200
    assert r.json() == []
    r = await fordra.client.get(
        f"/api/v1/recurring-charges?customer_id={cid}", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert [c["charge_id"] for c in r.json()] == [charge_id]
    r = await fordra.client.patch(
        "/api/v1/recurring-charges/no-such-charge",
        json={"ends_on": "2026-06-30", "reason": "Uppsägning"},
        headers=housing(fordra),
    )
    assert r.status_code == 404, r.text
    # an amount without its date, and an end before the start, are named
    for body, named in (
        ({"amount_ore": 1_300_000, "reason": "höjning"}, "amount_from"),
        ({"ends_on": "2026-01-15", "reason": "fel"}, "ends_on"),
        ({"amount_ore": 1_300_000, "amount_from": "2027-01-01", "ends_on": "2026-06-30",
          "reason": "fel"}, "amount_from"),
    ):  # fmt: skip
        r = await fordra.client.patch(
            f"/api/v1/recurring-charges/{charge_id}", json=body, headers=housing(fordra)
        )
        assert r.status_code == 422, r.text
        assert named in r.text


async def test_held_notices_are_released_by_the_office_only(fordra: Running) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges", json=rent(cid), headers=housing(fordra)
    )
    charge_id = r.json()["charge_id"]
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": "2026-01-05"}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text
    r = await fordra.client.get(
        "/api/v1/billing-runs/2026-01-05", headers=fordra.auth(Role.OPS_LEAD)
    )
    assert r.json()["issued"] == 0
    assert [h["charge_id"] for h in r.json()["held"]] == [charge_id]
    path = f"/api/v1/billing-runs/2026-01-05/held/{charge_id}/release"
    for role in (Role.DEPARTMENT, Role.BANK_INGEST):
        r = await fordra.client.post(path, headers=fordra.auth(role, department="housing"))
        assert r.status_code == 403, r.text
    r = await fordra.client.get("/api/v1/billing-runs/2026-01-05", headers=housing(fordra))
    assert r.status_code == 403, r.text
    r = await fordra.client.post(
        "/api/v1/billing-runs/2026-01-06/held/" + charge_id + "/release",
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 404, r.text
    r = await fordra.client.get("/api/v1/billing-runs/2026-13-01", headers=fordra.auth())
    assert r.status_code == 422, r.text
    # released twice at once: one invoice
    answers = await asyncio.gather(
        *(fordra.client.post(path, headers=fordra.auth(Role.CASE_OFFICER)) for _ in range(3))
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    r = await fordra.client.get(
        f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert [i["total_ore"] for i in r.json()["invoices"]] == [1_200_000]
    r = await fordra.client.get(
        "/api/v1/billing-runs/2026-01-05", headers=fordra.auth(Role.OPS_LEAD)
    )
    assert r.json()["held"] == []


async def advance(fordra: Running, to: str) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def invoices(fordra: Running, cid: str) -> list[dict[str, Any]]:
    r = await fordra.client.get(
        f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    return sorted(r.json()["invoices"], key=lambda i: i["invoice_number"])


async def test_a_price_no_invoice_may_carry_is_refused_when_registered(fordra: Running) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges",
        json=rent(cid) | {"amount_ore": 10**13 + 1},
        headers=housing(fordra),
    )
    assert r.status_code == 422, r.text
    assert "amount_ore" in r.text


async def test_a_notice_the_use_case_refuses_is_reported_and_tried_again(fordra: Running) -> None:
    # Water is billed to the property's owner (seed 001): with no ownership recorded, the
    # invoice use case refuses the notice, and the run says so
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges",
        json=rent(cid)
        | {
            "department": "va",
            "service_type": "water",
            "description": "VA-abonnemang",
            "amount_ore": 40_000,
            "vat_rate": 25,
            "billing_day": "first_working_day",
            "starts_on": "2026-01-01",
        },
        headers=fordra.auth(Role.DEPARTMENT, department="va"),
    )
    assert r.status_code == 201, r.text
    charge_id = r.json()["charge_id"]
    # January's notice (due today, 2 January) and February's (2 February) are both refused; the
    # run tries no later period of a charge once one is refused, so none is skipped for good
    await advance(fordra, "2026-02-02")
    r = await fordra.client.get("/api/v1/billing-runs/2026-02-02", headers=fordra.auth())
    [failed] = r.json()["failed"]
    assert (failed["charge_id"], failed["period_start"]) == (charge_id, "2026-01-01")
    assert "propert" in failed["reason"]
    assert await invoices(fordra, cid) == []
    # once the ownership is recorded, the next day's run issues it, and the failure is gone
    r = await fordra.client.post(
        f"/api/v1/customers/{cid}/properties",
        json={"property_designation": "Svenljunga Kyrkan 1:1", "owned_from": "2020-01-01"},
        headers=fordra.auth(Role.DEPARTMENT, department="va"),
    )
    assert r.status_code in (200, 201), r.text
    await advance(fordra, "2026-02-03")
    assert [i["total_ore"] for i in await invoices(fordra, cid)] == [50_000, 50_000]
    r = await fordra.client.get("/api/v1/billing-runs/2026-02-02", headers=fordra.auth())
    assert r.json()["failed"] == []


async def test_a_held_notice_with_a_difference_counts_it_once(fordra: Running) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges",
        json=rent(cid) | {"amount_ore": 900_000},
        headers=housing(fordra),
    )
    charge_id = r.json()["charge_id"]
    await advance(fordra, "2026-01-05")  # February's notice, 9,000 kr: under the threshold
    # the rent is raised to 10,500 kr from February, after February's notice went out
    r = await fordra.client.patch(
        f"/api/v1/recurring-charges/{charge_id}",
        json={"amount_ore": 1_050_000, "amount_from": "2026-02-01", "reason": "Förhandlad"},
        headers=housing(fordra),
    )
    assert r.status_code == 200, r.text
    await advance(fordra, "2026-02-03")  # March's notice: 10,500 + 1,500 for February: held
    r = await fordra.client.get("/api/v1/billing-runs/2026-02-03", headers=fordra.auth())
    assert [h["charge_id"] for h in r.json()["held"]] == [charge_id]
    r = await fordra.client.post(
        f"/api/v1/billing-runs/2026-02-03/held/{charge_id}/release", headers=fordra.auth()
    )
    assert r.status_code == 200, r.text
    await advance(fordra, "2026-03-03")  # April's notice: held again (10,500 kr)
    r = await fordra.client.post(
        f"/api/v1/billing-runs/2026-03-03/held/{charge_id}/release", headers=fordra.auth()
    )
    assert r.status_code == 200, r.text
    # February's difference is on March's notice only, never again
    assert [i["total_ore"] for i in await invoices(fordra, cid)] == [
        900_000,
        1_200_000,
        1_050_000,
    ]


async def test_a_hold_on_a_period_after_the_end_is_let_go_with_nothing_issued(
    fordra: Running,
) -> None:
    cid = await customer(fordra)
    r = await fordra.client.post(
        "/api/v1/recurring-charges", json=rent(cid), headers=housing(fordra)
    )
    charge_id = r.json()["charge_id"]
    # February's and March's 12,000 kr notices are held, neither released yet
    await advance(fordra, "2026-02-03")
    r = await fordra.client.patch(
        f"/api/v1/recurring-charges/{charge_id}",
        json={"ends_on": "2026-02-28", "reason": "Uppsägning"},
        headers=housing(fordra),
    )
    assert r.status_code == 200, r.text
    assert r.json()["credit_requests"] == []  # nothing issued, nothing to credit
    # March's, wholly after the end, is let go with nothing issued; February's is sent
    for day in ("2026-02-03", "2026-01-05"):
        r = await fordra.client.post(
            f"/api/v1/billing-runs/{day}/held/{charge_id}/release", headers=fordra.auth()
        )
        assert r.status_code == 200, r.text
        assert r.json()["held"] == []
    assert [i["total_ore"] for i in await invoices(fordra, cid)] == [1_200_000]


async def test_the_run_reports_what_it_booked_at_once(fordra: Running) -> None:
    # The run's own answer counts what it booked, before the register catches up
    cid = await customer(fordra)
    for amount in (900_000, 1_200_000):  # one sent, one over 10,000 kr held
        r = await fordra.client.post(
            "/api/v1/recurring-charges",
            json=rent(cid) | {"amount_ore": amount},
            headers=housing(fordra),
        )
        assert r.status_code == 201, r.text
    await fordra.platform.settle()
    fordra.platform.clock.set_today(date(2026, 1, 5))  # type: ignore[attr-defined]
    meta = Metadata(tenant=fordra.platform.settings.municipality, actor="test", correlation_id="t")
    report = await run_billing(date(2026, 1, 5), fordra.platform.recurring, meta)
    assert report.issued == 1
    assert [h.amount_ore for h in report.held] == [1_200_000]
    assert report.failed == []
    # and a second run the same day books nothing more
    again = await run_billing(date(2026, 1, 5), fordra.platform.recurring, meta)
    await fordra.platform.settle()
    assert (again.issued, again.held) == (0, [])
    assert len(await invoices(fordra, cid)) == 1
