"""Recurring charges through a year of the business clock (issue 14; domain.md §2 "Billing
periods", §8 "Rent (LOIS)"), on both engines: rents noticed on the month's 2nd working day for the
next month, a vacancy contract on the second-to-last working day for its own month, childcare fees
on the first working day for the current month; a rent raise from a date after its month was
issued, a contract ended mid-period, notices over 10,000 kr held and released."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.utils.platform import Engine, Running, running_platform

PEOPLE = [
    {
        "id_number": number,
        "name": name,
        "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
    }
    for number, name in (
        ("19121212-1212", "Tolvan Tolvansson"),
        ("19800101-0019", "Anna Andersson"),
        ("556016-0680", "Lokal AB"),
        ("19811218-9876", "Vårdnadshavare Ett"),
    )
]


async def customer(fordra: Running, person: dict[str, Any]) -> str:
    r = await fordra.client.post("/api/v1/customers", json=person, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def charge(fordra: Running, department: str, **body: Any) -> dict[str, Any]:
    body = {"department": department, **body}
    r = await fordra.client.post(
        "/api/v1/recurring-charges",
        json=body,
        headers=fordra.auth(Role.DEPARTMENT, department=department),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def advance(fordra: Running, to: date) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to.isoformat()}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def ledger(fordra: Running, customer_id: str) -> list[dict[str, Any]]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    return sorted(r.json()["invoices"], key=lambda i: i["invoice_number"])


async def run_report(fordra: Running, day: date) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/billing-runs/{day.isoformat()}", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_year_of_rents_vacancies_and_childcare_fees(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2025, 12, 19)) as fordra:
        tenant, vacancy_owner, company, guardian = [await customer(fordra, p) for p in PEOPLE]
        rent = await charge(
            fordra, "housing", customer_id=tenant, service_type="housing_rent",
            description="Hyra Storgatan 1, lgh 1001", amount_ore=850_000, vat_rate=0,
            period="monthly", starts_on="2026-01-01",
        )  # fmt: skip
        assert rent["billing_day"] == "second_working_day"
        assert rent["timing"] == "advance"
        await advance(fordra, date(2026, 1, 31))
        invoices = await ledger(fordra, tenant)
        print(invoices)
        print(await run_report(fordra, date(2026, 1, 5)))
