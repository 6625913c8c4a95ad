"""The rent administration's delegation for payment plans (issue 14; domain.md §8 "Delegation",
seed 002: "vid utebliven hyresinbetalning, avtala med brukare om avbetalningsplan om högst tre
månader"): a plan for unpaid rent whose last installment falls more than 3 months (a dated
setting) after the day it is drawn up needs a department decision, kept in
``PaymentPlanProposed``. Over HTTP, the router as the app builds it on dunning's real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from fordra.app.http import install_error_handlers
from fordra.contracts.dunning import Installment, PaymentPlanProposed
from fordra.dunning.application.letters import LetterDeps
from fordra.dunning.domain.letters import Creditor
from fordra.dunning.domain.payment_plan import PlanClaim, check_rent_plan_within_delegation
from fordra.dunning.domain.settings import DunningSettings
from fordra.dunning.entrypoints.payment_plans_http import make_router
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.dated import Dated
from fordra.kernel.web import RouterDeps
from tests.dunning.plan_support import TENANT, PlansOnMemory

TODAY = date(2026, 5, 10)
ISSUER = Creditor.from_issuer_fields(InvoicingSettings().issuer.model_dump())
DECISION = {"reference": "SN 2026/77", "decided_on": "2026-05-08", "decided_by": "Socialnämnden"}


@pytest.fixture
async def plans() -> PlansOnMemory:
    return await PlansOnMemory.start(TODAY)


@pytest.fixture
async def client(plans: PlansOnMemory) -> AsyncIterator[httpx.AsyncClient]:
    async def authenticate(request: Request) -> Principal:
        return Principal(subject="t", role=Role(request.headers["x-role"]), tenant=TENANT)

    async def settle() -> None:
        return None

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(
        make_router(
            plans.deps,
            LetterDeps(plans.store, plans.registry, plans.clock, ISSUER),
            RouterDeps(authenticate=authenticate, settle=settle),
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"x-role": "case_officer"}
    ) as c:
        yield c


def body(invoice_ids: list[str], first_due: str, **over: Any) -> dict[str, Any]:
    return {
        "customer_id": "c-1",
        "invoice_ids": invoice_ids,
        "installments": 3,
        "first_due_date": first_due,
        "written": True,
        "fee_ore": 0,
    } | over


async def test_a_rent_plan_of_exactly_three_months_needs_no_decision(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    # Given an unpaid housing rent, due 2026-04-30
    rent = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30), service="housing_rent")
    # When a plan's last installment falls 3 months after today (2026-08-10)
    created = await client.post("/api/v1/payment-plans", json=body([rent], "2026-06-10"))
    # Then it is drawn up without a decision
    assert created.status_code == 201, created.text
    assert created.json()["installments"][-1]["due_date"] == "2026-08-10"
    assert created.json()["department_decision"] is None
    (proposed,) = await plans.events(PaymentPlanProposed)
    assert proposed.department_decision is None


async def test_a_rent_plan_a_day_longer_needs_a_department_decision(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    rent = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30), service="premises_rent")
    # When the last installment falls on 2026-08-11, a day past the office's 3 months
    refused = await client.post("/api/v1/payment-plans", json=body([rent], "2026-06-11"))
    # Then a 422 names the rule, the limit and what to give; nothing is written
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["type"] == "rent_delegation"
    assert problem["loc"] == ["body", "department_decision"]
    assert "payment plan for unpaid rent over 3 months" in problem["msg"]
    assert "give department_decision" in problem["msg"]
    assert await plans.events(PaymentPlanProposed) == []
    # With the department's decision it is drawn up, and the decision is kept
    created = await client.post(
        "/api/v1/payment-plans",
        json=body([rent], "2026-06-11", department_decision=DECISION),
    )
    assert created.status_code == 201, created.text
    assert created.json()["department_decision"] == DECISION
    (proposed,) = await plans.events(PaymentPlanProposed)
    assert proposed.department_decision is not None
    assert proposed.department_decision.reference == "SN 2026/77"


async def test_a_plan_with_rent_among_its_invoices_is_bound_too(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    water = await plans.invoice("c-1", 300_000, due=date(2026, 4, 30))
    rent = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30), service="housing_rent")
    mixed = await client.post("/api/v1/payment-plans", json=body([water, rent], "2026-06-11"))
    assert mixed.status_code == 422
    assert mixed.json()["detail"][0]["type"] == "rent_delegation"
    # A plan of other services only is unchanged: six months, no decision
    alone = await client.post(
        "/api/v1/payment-plans", json=body([water], "2026-05-31", installments=6)
    )
    assert alone.status_code == 201, alone.text


async def test_a_decision_is_taken_before_the_plan(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    rent = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30), service="housing_rent")
    later = DECISION | {"decided_on": "2026-05-11"}
    refused = await client.post(
        "/api/v1/payment-plans", json=body([rent], "2026-06-11", department_decision=later)
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["type"] == "department_decision_taken_before"
    # A decision without a reference is a 422 of the request's shape
    empty = await client.post(
        "/api/v1/payment-plans",
        json=body([rent], "2026-06-11", department_decision=DECISION | {"reference": ""}),
    )
    assert empty.status_code == 422
    assert "department_decision" in empty.text


def test_the_limit_is_a_dated_setting() -> None:
    claim = PlanClaim(
        invoice_id="i",
        invoice_number="1",
        service_type="housing_rent",
        what_for="Bostadshyra",
        due_date=date(2026, 4, 30),
        interest_from=date(2026, 4, 30),
        open_capital_ore=600_000,
    )
    last = (Installment(due_date=date(2026, 9, 10), amount_ore=600_000),)
    # Given a delegation of 4 months from 2026-05-01, a last installment 4 months on passes
    four = DunningSettings(
        rent_plan_max_months=Dated[int].table(("1900-01-01", 3), ("2026-05-01", 4))
    )
    assert (
        check_rent_plan_within_delegation((claim,), last, None, today=TODAY, settings=four) is None
    )
