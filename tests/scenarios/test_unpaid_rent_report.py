"""The unpaid-rent report through the whole platform on the embedded engine (issue 14; domain.md
§8 "Rent (LOIS)", seed 002: "Uppföljningsrapport obetalda hyresavier runt den 10:e varje
månad"): rent notices issued through invoicing with the period the rulebook gives (housing rent
monthly in advance), a vacancy notice with the department's own period, a payment from a bank
file, the business clock moved to the 10th, and the report as the office and a department read
it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.utils.invoicing import personnummer
from tests.utils.money import customer, pay
from tests.utils.platform import Running, running_platform

# The 2nd working day of March 2026: the regular rent notices for April go out.
NOTICE_DAY = date(2026, 3, 3)
REPORT = "/api/v1/reports/unpaid-rent"


async def notice(
    fordra: Running,
    customer_id: str,
    ore: int,
    *,
    service: str,
    department: str,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "department": department,
        "service_type": service,
        "invoice_date": fordra.platform.clock.today().isoformat(),
        "lines": [{"description": "Hyra", "unit_price_ore": ore, "vat_rate": 0}],
        **extra,
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_the_unpaid_rent_report_around_the_10th(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=NOTICE_DAY) as fordra:
        tenant = await customer(fordra)
        shop = await customer(
            fordra,
            {
                "id_number": personnummer("19650505", 3),
                "name": "Karin Lund",
                "address": {"street": "Torget 1", "postal_code": "512 50", "city": "Svenljunga"},
            },
        )
        # Given April's housing rent notice for a tenant and premises rent for a shop, sent on
        # the 2nd working day of March, and a childcare fee of the same tenant
        home = await notice(fordra, tenant, 650_000, service="housing_rent", department="housing")
        premises = await notice(
            fordra, shop, 1_200_000, service="premises_rent", department="premises"
        )
        await notice(fordra, tenant, 150_000, service="childcare", department="childcare")
        # And a vacancy notice for April with the department's own period
        vacancy = await notice(
            fordra,
            shop,
            300_000,
            service="premises_rent",
            department="premises",
            billing_period={"start": "2026-04-01", "end": "2026-04-30"},
        )
        # And the tenant pays 2,000 kr of the rent, the shop the vacancy notice in full
        await pay(fordra, (home["ocr"], 200_000), (vacancy["ocr"], 300_000))
        # When the business clock reaches the 10th of April
        r = await fordra.client.post(
            "/api/v1/admin/clock/advance", json={"to": "2026-04-10"}, headers=fordra.auth()
        )
        assert r.status_code == 200, r.text
        # Then the office reads April's notices still open, by customer, with what is open
        r = await fordra.client.get(
            REPORT, params={"month": "2026-04"}, headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["month"], report["as_of"], report["count"]) == ("2026-04", "2026-04-10", 2)
        by_invoice = {n["invoice_id"]: n for n in report["notices"]}
        assert by_invoice[home["invoice_id"]]["open_ore"] == 450_000
        assert by_invoice[home["invoice_id"]]["billing_period_start"] == "2026-04-01"
        assert by_invoice[home["invoice_id"]]["billing_period_end"] == "2026-04-30"
        assert by_invoice[premises["invoice_id"]]["open_ore"] == 1_200_000
        assert report["open_ore"] == 450_000 + 1_200_000
        assert [n["customer_id"] for n in report["notices"]] == sorted([tenant, shop])
        # March's report has no rent notice (April's were billed in advance)
        r = await fordra.client.get(
            REPORT, params={"month": "2026-03"}, headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.json()["notices"] == []
        # And the premises department reads its own notice only
        r = await fordra.client.get(
            REPORT,
            params={"month": "2026-04"},
            headers=fordra.auth(Role.DEPARTMENT, department="premises"),
        )
        assert r.status_code == 200, r.text
        assert [n["invoice_id"] for n in r.json()["notices"]] == [premises["invoice_id"]]


async def test_the_report_follows_the_billing_calendars_notices(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=date(2026, 3, 2)) as fordra:
        tenant = await customer(fordra)
        owner = await customer(
            fordra,
            {
                "id_number": personnummer("19700707", 4),
                "name": "Bo Berg",
                "address": {"street": "Torget 3", "postal_code": "512 50", "city": "Svenljunga"},
            },
        )
        housing = fordra.auth(Role.DEPARTMENT, department="housing")

        async def charge(customer_id: str, ore: int, **body: Any) -> None:
            r = await fordra.client.post(
                "/api/v1/recurring-charges",
                json={
                    "customer_id": customer_id,
                    "department": "housing",
                    "service_type": "housing_rent",
                    "description": "Hyra",
                    "amount_ore": ore,
                    "vat_rate": 0,
                    "period": "monthly",
                    "starts_on": "2026-04-01",
                    **body,
                },
                headers=housing,
            )
            assert r.status_code == 201, r.text

        async def report(month: str) -> list[tuple[str, int]]:
            r = await fordra.client.get(
                REPORT, params={"month": month}, headers=fordra.auth(Role.CASE_OFFICER)
            )
            assert r.status_code == 200, r.text
            return [(n["customer_id"], n["open_ore"]) for n in r.json()["notices"]]

        async def advance(to: str) -> None:
            r = await fordra.client.post(
                "/api/v1/admin/clock/advance", json={"to": to}, headers=fordra.auth()
            )
            assert r.status_code == 200, r.text

        # Given a flat let from April (its notice on March's 2nd working day, for the next
        # month) and a vacancy contract from April (on April's second-to-last working day)
        await charge(tenant, 800_000)
        await charge(owner, 300_000, kind="vacancy")
        # When the clock reaches 10 April: April's regular notice is out, the vacancy's not yet
        await advance("2026-04-10")
        assert await report("2026-04") == [(tenant, 800_000)]
        # When the tenant pays April's rent and the clock reaches Monday 11 May
        r = await fordra.client.get(
            f"/api/v1/customers/{tenant}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        april = next(i for i in r.json()["invoices"] if i["invoice_date"] == "2026-03-03")
        await pay(fordra, (april["ocr"], 800_000))
        await advance("2026-05-11")
        # Then April's report holds the vacancy notice, and May's the tenant's May rent
        assert await report("2026-04") == [(owner, 300_000)]
        assert await report("2026-05") == [(tenant, 800_000)]
