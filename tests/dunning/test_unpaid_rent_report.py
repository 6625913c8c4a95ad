"""The unpaid-rent report (issue 14; domain.md §8 "Rent (LOIS)", seed 002: "Uppföljningsrapport
obetalda hyresavier runt den 10:e varje månad"): the rent notices whose billing period begins in
the month and that are still open on the business date, from dunning's claims read model, by use
case and over HTTP (the router as the app builds it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import inspect, text

from fordra.app.http import install_error_handlers
from fordra.contracts.invoicing import CreditNoteIssued, InvoiceCancelled
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.unpaid_rent import unpaid_rent_report
from fordra.dunning.entrypoints.http import make_router
from fordra.kernel.auth import AccessDenied, Principal, Role
from fordra.kernel.web import RouterDeps
from tests.dunning.flow import OFFICER, TENANT, DunningOnMemory

TODAY = date(2026, 6, 10)


@pytest.fixture
async def rents(tmp_path: Path) -> AsyncIterator[DunningOnMemory]:
    started = await DunningOnMemory.start(tmp_path, TODAY)
    yield started
    await started.stop()


async def notice(
    rents: DunningOnMemory,
    customer_id: str,
    total_ore: int,
    *,
    period: tuple[date, date],
    due: date,
    service: str = "housing_rent",
    department: str = "housing",
) -> str:
    issued = rents.invoice(customer_id, total_ore, due=due, service=service).model_copy(
        update={
            "department": department,
            "billing_period_start": period[0],
            "billing_period_end": period[1],
        }
    )
    await rents.publish("invoicing", f"invoice-{issued.invoice_id}", issued)
    return issued.invoice_id


async def pay(rents: DunningOnMemory, invoice_id: str, customer_id: str, amount_ore: int) -> None:
    await rents.publish(
        "payments",
        f"receivable-{invoice_id}",
        PaymentAllocated(
            payment_id=f"pay-{invoice_id}",
            invoice_id=invoice_id,
            customer_id=customer_id,
            component="capital",
            service_type="housing_rent",
            amount_ore=amount_ore,
        ),
    )


JUNE = (date(2026, 6, 1), date(2026, 6, 30))
MAY = (date(2026, 5, 1), date(2026, 5, 31))


async def june_notices(rents: DunningOnMemory) -> dict[str, str]:
    """Given June's rent notices: open, part paid, paid, credited in full, credited in part,
    cancelled, a premises rent of another department, May's and a childcare fee."""
    ids = {
        "open": await notice(rents, "c-3", 800_000, period=JUNE, due=date(2026, 5, 29)),
        "part_paid": await notice(rents, "c-1", 700_000, period=JUNE, due=date(2026, 5, 29)),
        "paid": await notice(rents, "c-2", 650_000, period=JUNE, due=date(2026, 5, 29)),
        "credited": await notice(rents, "c-4", 500_000, period=JUNE, due=date(2026, 5, 29)),
        "part_credited": await notice(rents, "c-1", 300_000, period=JUNE, due=date(2026, 6, 30)),
        "cancelled": await notice(rents, "c-5", 400_000, period=JUNE, due=date(2026, 5, 29)),
        # A vacancy contract's notice, sent on the month's second-to-last working day
        "premises": await notice(
            rents,
            "c-0",
            1_200_000,
            period=JUNE,
            due=date(2026, 7, 28),
            service="premises_rent",
            department="premises",
        ),
        "may": await notice(rents, "c-3", 800_000, period=MAY, due=date(2026, 4, 30)),
        "childcare": await notice(
            rents, "c-3", 150_000, period=JUNE, due=date(2026, 6, 30), service="childcare"
        ),
    }
    await pay(rents, ids["part_paid"], "c-1", 200_000)
    await pay(rents, ids["paid"], "c-2", 650_000)
    for key, amount in (("credited", 500_000), ("part_credited", 100_000)):
        credited = rents.invoice("c-x", amount, due=date(2026, 6, 1))
        await rents.publish(
            "invoicing",
            f"invoice-{ids[key]}",
            CreditNoteIssued(
                credit_note_id=f"cn-{key}",
                invoice_id=ids[key],
                customer_id="c-4" if key == "credited" else "c-1",
                serial_number=900 + amount // 100_000,
                credit_note_number=f"9{amount}",
                issued_on=date(2026, 6, 3),
                lines=credited.lines,
                vat=credited.vat,
                net_ore=amount,
                vat_ore=0,
                total_ore=amount,
                reason="flyttat",
            ),
        )
    await rents.publish(
        "invoicing",
        f"invoice-{ids['cancelled']}",
        InvoiceCancelled(
            invoice_id=ids["cancelled"],
            customer_id="c-5",
            cancelled_on=date(2026, 6, 2),
            reason="fel hyresgäst",
        ),
    )
    return ids


async def test_the_report_lists_the_months_rent_notices_still_open(
    rents: DunningOnMemory,
) -> None:
    ids = await june_notices(rents)
    # When a case officer reads June's report on 10 June
    report = await unpaid_rent_report("2026-06", rents.deps, OFFICER)
    # Then it lists the open ones, by customer then invoice number, with what is open
    assert [(n.invoice_id, n.customer_id, n.total_ore, n.open_ore) for n in report.notices] == [
        (ids["premises"], "c-0", 1_200_000, 1_200_000),
        (ids["part_paid"], "c-1", 700_000, 500_000),
        (ids["part_credited"], "c-1", 300_000, 200_000),
        (ids["open"], "c-3", 800_000, 800_000),
    ]
    assert report.month == "2026-06"
    assert report.as_of == TODAY
    assert report.count == 4
    assert report.open_ore == 1_200_000 + 500_000 + 200_000 + 800_000
    first = report.notices[1]
    assert first.service_type == "housing_rent"
    assert (first.billing_period_start, first.billing_period_end) == JUNE
    assert first.due_date == date(2026, 5, 29)
    # And May's notice is on May's report only; a month with none is empty
    (may,) = (await unpaid_rent_report("2026-05", rents.deps, OFFICER)).notices
    assert may.invoice_id == ids["may"]
    empty = await unpaid_rent_report("2026-07", rents.deps, OFFICER)
    assert (empty.count, empty.open_ore, empty.notices) == (0, 0, [])


async def test_a_notice_paid_after_the_10th_leaves_the_report(rents: DunningOnMemory) -> None:
    ids = await june_notices(rents)
    await pay(rents, ids["open"], "c-3", 800_000)
    rents.clock.set_today(date(2026, 6, 11))
    report = await unpaid_rent_report("2026-06", rents.deps, OFFICER)
    assert ids["open"] not in [n.invoice_id for n in report.notices]
    assert report.as_of == date(2026, 6, 11)


async def test_a_department_reads_its_own_notices_only(rents: DunningOnMemory) -> None:
    ids = await june_notices(rents)
    premises = Principal("p", Role.DEPARTMENT, TENANT, department="premises")
    housing = Principal("h", Role.DEPARTMENT, TENANT, department="housing")
    other = Principal("o", Role.DEPARTMENT, TENANT, department="childcare")
    mine = await unpaid_rent_report("2026-06", rents.deps, premises)
    assert [n.invoice_id for n in mine.notices] == [ids["premises"]]
    assert (await unpaid_rent_report("2026-06", rents.deps, housing)).count == 3
    assert (await unpaid_rent_report("2026-06", rents.deps, other)).notices == []
    with pytest.raises(AccessDenied):
        await unpaid_rent_report("2026-06", rents.deps, Principal("b", Role.BANK_INGEST, TENANT))


async def test_the_period_table_is_set_based_and_keeps_no_name(rents: DunningOnMemory) -> None:
    await june_notices(rents)
    async with rents.db.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("dunning_claim_periods")]
        )
        count = (await conn.execute(text("SELECT count(*) FROM dunning_claim_periods"))).scalar()
    assert columns == ["invoice_id", "department", "billing_period_start", "billing_period_end"]
    assert count == 9


# -- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
async def client(rents: DunningOnMemory) -> AsyncIterator[httpx.AsyncClient]:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
        return Principal(
            subject="t",
            role=Role(request.headers["x-role"]),
            tenant=TENANT,
            department=request.headers.get("x-department"),
        )

    async def settle() -> None:
        return None

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(
        make_router(rents.deps, RouterDeps(authenticate=authenticate, settle=settle))
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"x-role": "case_officer"}
    ) as c:
        yield c


async def test_the_report_over_http(rents: DunningOnMemory, client: httpx.AsyncClient) -> None:
    ids = await june_notices(rents)
    answer = await client.get("/api/v1/reports/unpaid-rent", params={"month": "2026-06"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["month"], body["as_of"], body["count"]) == ("2026-06", "2026-06-10", 4)
    assert body["open_ore"] == 2_700_000
    assert body["notices"][0] == {
        "invoice_id": ids["premises"],
        "invoice_number": body["notices"][0]["invoice_number"],
        "customer_id": "c-0",
        "service_type": "premises_rent",
        "billing_period_start": "2026-06-01",
        "billing_period_end": "2026-06-30",
        "due_date": "2026-07-28",
        "total_ore": 1_200_000,
        "open_ore": 1_200_000,
    }
    # No name or address is on it (domain.md §2)
    assert not {"name", "address"} & set(body["notices"][0])
    # A department token reads its own department's notices
    own = await client.get(
        "/api/v1/reports/unpaid-rent",
        params={"month": "2026-06"},
        headers={"x-role": "department", "x-department": "premises"},
    )
    assert [n["invoice_id"] for n in own.json()["notices"]] == [ids["premises"]]
    # A month that is not YYYY-MM is a 422 naming the field; the agency may not read it
    for month in ("2026-13", "0000-01", "9999-12"):  # the fuzzer's 0000-01 was a 500
        bad = await client.get("/api/v1/reports/unpaid-rent", params={"month": month})
        assert bad.status_code == 422, month
        assert "month" in bad.text
    refused = await client.get(
        "/api/v1/reports/unpaid-rent", params={"month": "2026-06"}, headers={"x-role": "agency"}
    )
    assert refused.status_code == 403
