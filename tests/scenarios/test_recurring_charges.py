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


def dates_of(invoices: list[dict[str, Any]], service_type: str) -> list[str]:
    return [i["invoice_date"] for i in invoices if i["service_type"] == service_type]


async def release(fordra: Running, day: date, charge_id: str) -> dict[str, Any]:
    r = await fordra.client.post(
        f"/api/v1/billing-runs/{day.isoformat()}/held/{charge_id}/release",
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_year_of_rents_vacancies_and_childcare_fees(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2025, 12, 19)) as fordra:
        tenant, vacancy_owner, company, guardian = [await customer(fordra, p) for p in PEOPLE]
        # Given a flat let from New Year, registered a fortnight before (a Friday)
        rent = await charge(
            fordra, "housing", customer_id=tenant, service_type="housing_rent",
            description="Hyra Storgatan 1, lgh 1001", amount_ore=850_000, vat_rate=0,
            period="monthly", starts_on="2026-01-01",
        )  # fmt: skip
        assert (rent["billing_day"], rent["timing"]) == ("second_working_day", "advance")
        # a vacancy, billed on the second-to-last working day for its own month
        vacancy = await charge(
            fordra, "housing", customer_id=vacancy_owner, service_type="housing_rent",
            description="Vakans lgh 1002", amount_ore=300_000, vat_rate=0, period="monthly",
            kind="vacancy", starts_on="2026-01-01",
        )  # fmt: skip
        assert (vacancy["billing_day"], vacancy["timing"]) == ("penultimate_working_day", "closing")
        # premises at 9,000 kr + 25 % VAT: over the 10,000 kr checked by hand
        premises = await charge(
            fordra, "premises", customer_id=company, service_type="premises_rent",
            description="Lokal Torget 3", amount_ore=900_000, vat_rate=25, period="monthly",
            starts_on="2026-01-01",
        )  # fmt: skip
        # and a childcare fee for the spring, on the first working day for the current month
        fee = await charge(
            fordra, "childcare", customer_id=guardian, service_type="childcare",
            description="Förskola, barn 1", amount_ore=150_000, vat_rate=0, period="monthly",
            billing_day="first_working_day", starts_on="2026-01-01", ends_on="2026-06-30",
        )  # fmt: skip
        assert fee["next_notice_on"] == "2026-01-02"  # New Year's Day is a holiday

        # When the clock reaches Monday 22 December: January's rent notice, whose day (2
        # December) had passed when the let was registered, goes out on the first working day
        await advance(fordra, date(2025, 12, 22))
        assert dates_of(await ledger(fordra, tenant), "housing_rent") == ["2025-12-22"]
        # and January's premises notice is held, not sent
        report = await run_report(fordra, date(2025, 12, 22))
        assert report["issued"] == 1
        assert [(h["charge_id"], h["amount_ore"]) for h in report["held"]] == [
            (premises["charge_id"], 900_000)
        ]
        assert "10000 kr" in report["held"][0]["reason"]
        assert await ledger(fordra, company) == []
        # until a case officer has checked and released it
        released = await release(fordra, date(2025, 12, 22), premises["charge_id"])
        assert released["held"] == []
        assert [i["total_ore"] for i in await ledger(fordra, company)] == [1_125_000]
        # (releasing it again changes nothing)
        await release(fordra, date(2025, 12, 22), premises["charge_id"])
        assert len(await ledger(fordra, company)) == 1

        # Around the 10th, the unpaid-rent report lists March's rent notice, sent on 3 February
        # and unpaid (the premises' notices for March are still held: not sent, not listed)
        await advance(fordra, date(2026, 3, 10))
        r = await fordra.client.get(
            "/api/v1/reports/unpaid-rent?month=2026-03", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        assert [(n["customer_id"], n["open_ore"]) for n in r.json()["notices"]] == [
            (tenant, 850_000)
        ]
        # When the rent is raised to 9,000 kr from 1 April, after April's notice went out
        r = await fordra.client.patch(
            f"/api/v1/recurring-charges/{rent['charge_id']}",
            json={
                "amount_ore": 900_000,
                "amount_from": "2026-04-01",
                "reason": "Hyresförhandling 2026",
            },
            headers=fordra.auth(Role.DEPARTMENT, department="housing"),
        )
        assert r.status_code == 200, r.text
        # and the contract ends on 15 September, told on 20 August (September's notice is out)
        await advance(fordra, date(2026, 8, 20))
        r = await fordra.client.patch(
            f"/api/v1/recurring-charges/{rent['charge_id']}",
            json={"ends_on": "2026-09-15", "reason": "Uppsägning"},
            headers=fordra.auth(Role.DEPARTMENT, department="housing"),
        )
        assert r.status_code == 200, r.text
        # then the days after the end are asked to be credited (15 of September's 30 days)
        [request_id] = r.json()["credit_requests"]
        # which an ops lead attests, as any credit note (seed 002)
        r = await fordra.client.post(
            f"/api/v1/correction-requests/{request_id}/attest", headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code in (200, 201), r.text
        await advance(fordra, date(2026, 12, 31))

        rents = [i for i in await ledger(fordra, tenant) if i["service_type"] == "housing_rent"]
        # the 2nd working day of each month before, New Year's and Easter's holidays passed
        assert [i["invoice_date"] for i in rents] == [
            "2025-12-22", "2026-01-05", "2026-02-03", "2026-03-03", "2026-04-02", "2026-05-05",
            "2026-06-02", "2026-07-02", "2026-08-04",
        ]  # fmt: skip
        # April's notice kept its 8,500 kr; May's carries May's 9,000 kr and April's 500 kr
        assert [i["total_ore"] for i in rents] == [850_000] * 4 + [950_000] + [900_000] * 4
        # September's notice is credited for the 15 days after the end: 9,000 * 15 / 30
        assert [i["credited_ore"] for i in rents] == [0] * 8 + [450_000]
        # the vacancy on the second-to-last working day of each month (rulebook: 28 May, 29 Dec)
        vacancies = dates_of(await ledger(fordra, vacancy_owner), "housing_rent")
        assert len(vacancies) == 12
        assert {"2026-05-28", "2026-12-29"} <= set(vacancies)
        # the childcare fee for January to June only
        assert dates_of(await ledger(fordra, guardian), "childcare") == [
            "2026-01-02", "2026-02-02", "2026-03-02", "2026-04-01", "2026-05-04", "2026-06-01",
        ]  # fmt: skip
        # a run repeated for a day issues nothing twice
        await fordra.platform.scheduler.run_day(date(2026, 12, 29))
        assert len(dates_of(await ledger(fordra, vacancy_owner), "housing_rent")) == 12
