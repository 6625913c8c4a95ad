"""Payment plans over HTTP (issue 13): the router as the app builds it, over dunning's real store
(a ``MemoryEventStore``) fed invoicing's and payments' public events through the plans' process
manager. A plan is drawn up (201, awaiting the signature), signed (200, active; again: the same
answer, nothing new), read with its document; every refusal is a 422 naming the rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI, Request

from fordra.app.http import install_error_handlers
from fordra.contracts.dunning import HandedToAgency, PaymentPlanActivated, PaymentPlanProposed
from fordra.contracts.invoicing import LateInterestHeld
from fordra.dunning.application.letters import LetterDeps
from fordra.dunning.domain.letters import Creditor
from fordra.dunning.entrypoints.payment_plans_http import make_router
from fordra.invoicing.application.reactions import payment_reactions
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.web import RouterDeps
from tests.dunning.plan_support import TENANT, PlansOnMemory
from tests.utils.invoicing import memory_store

TODAY = date(2026, 5, 10)
# The letters' creditor as the app makes it: invoicing's issuer.
ISSUER = Creditor.from_issuer_fields(InvoicingSettings().issuer.model_dump())


@pytest.fixture
async def plans() -> PlansOnMemory:
    return await PlansOnMemory.start(TODAY)


@pytest.fixture
async def client(plans: PlansOnMemory) -> AsyncIterator[httpx.AsyncClient]:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
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


def body(invoice_ids: list[str], **over: object) -> dict[str, object]:
    return {
        "customer_id": "c-1",
        "invoice_ids": invoice_ids,
        "installments": 6,
        "first_due_date": "2026-05-31",
        "written": True,
        "fee_ore": 17_000,
    } | over


async def test_a_plan_is_drawn_up_signed_once_and_read(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    # Given a customer's 6,000 kr water invoice, overdue since 2026-04-30
    invoice_id = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30))
    # When a case officer draws up the rulebook's plan
    created = await client.post("/api/v1/payment-plans", json=body([invoice_id]))
    # Then it awaits the signature, with its installments, interest, costs and total
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["status"] == "awaiting_signature"
    assert [i["amount_ore"] for i in plan["installments"]] == [100_000] * 6
    assert plan["installments"][-1]["due_date"] == "2026-10-31"
    assert (plan["interest_ore"], plan["costs_ore"]) == (17_644, 17_000)
    assert plan["total_ore"] == 600_000 + 17_644 + 17_000
    plan_id = plan["plan_id"]
    assert len(await plans.events(PaymentPlanProposed)) == 1

    # When the debtor's signed plan comes back, twice
    signed = await client.post(f"/api/v1/payment-plans/{plan_id}/signed")
    again = await client.post(f"/api/v1/payment-plans/{plan_id}/signed")
    # Then it is active, and the second time changes nothing
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "active"
    assert again.json() == signed.json()
    (activated,) = await plans.events(PaymentPlanActivated)
    # The written plan's fee is owed once signed: the public event carries it, and invoicing
    # holds it for the customer's next invoice as a fee line of its own (domain.md §3)
    assert (activated.fee_ore, activated.service_type) == (17_000, "water")
    invoicing = ProcessManagerRunner(
        "invoicing-payments", memory_store(), payment_reactions(plans.registry)
    )
    await invoicing.store.start()
    await invoicing.handle("dunning", await plans.store.read_log(0, 10_000))
    held = [
        plans.registry.load_as(e, LateInterestHeld)
        for e in await invoicing.store.read_log(0, 10_000)
        if e.event_type == LateInterestHeld.event_type
    ]
    assert [(h.held_id, h.line.kind, h.line.net_ore, h.line.vat_rate) for h in held] == [
        (f"plan-fee-{plan_id}", "fee", 17_000, 0)
    ]

    read = await client.get(f"/api/v1/payment-plans/{plan_id}")
    assert read.json()["status"] == "active"
    assert read.json()["activated_on"] == "2026-05-10"
    document = await client.get(f"/api/v1/payment-plans/{plan_id}/document")
    assert document.status_code == 200
    assert document.json()["creditor"]["name"] == "Svenljunga kommun"
    assert document.json()["claims"][0]["what_for"] == "Vatten och avlopp, mars–april 2026"
    # As the letter the debtor gets: the letters' renderer, HTML and PDF
    letter = await client.get(f"/api/v1/payment-plans/{plan_id}/document?format=html")
    assert letter.status_code == 200, letter.text
    assert letter.headers["content-type"].startswith("text/html")
    assert "Avbetalningsplan" in letter.text
    assert "Vatten och avlopp, mars–april 2026" in letter.text
    pdf = await client.get(f"/api/v1/payment-plans/{plan_id}/document?format=pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    listed = await client.get("/api/v1/payment-plans?status=active")
    assert [p["plan_id"] for p in listed.json()["items"]] == [plan_id]

    # And the invoice cannot go into a second plan while this one is active
    second = await client.post("/api/v1/payment-plans", json=body([invoice_id]))
    assert second.status_code == 422
    [problem] = second.json()["detail"]
    assert problem["type"] == "check_invoice_not_in_active_plan"
    assert problem["loc"] == ["body", "invoice_ids", 0]


async def test_the_same_request_with_its_key_draws_up_one_plan(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    invoice_id = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30))
    headers = {"Idempotency-Key": "plan-1"}
    first = await client.post("/api/v1/payment-plans", json=body([invoice_id]), headers=headers)
    second = await client.post("/api/v1/payment-plans", json=body([invoice_id]), headers=headers)
    assert first.json() == second.json()
    assert len(await plans.events(PaymentPlanProposed)) == 1


@pytest.mark.parametrize(
    ("over", "rule", "loc"),
    [
        ({"written": False}, "check_no_fee_for_oral_plan", ["body", "fee_ore"]),
        ({"fee_ore": 17_001}, "check_written_plan_fee_within_cap", ["body", "fee_ore"]),
        ({"installments": 0}, "check_installments_at_least_one", ["body", "installments"]),
        (
            {"first_due_date": "2026-05-09"},
            "check_first_due_date_not_past",
            ["body", "first_due_date"],
        ),
        ({"customer_id": "c-2"}, "check_invoice_is_the_customers", ["body", "invoice_ids", 0]),
        ({"invoice_ids": []}, "check_plan_has_invoices", ["body", "invoice_ids"]),
        ({"installments": True}, "int_type", ["body", "installments"]),
        ({"written": "yes"}, "bool_type", ["body", "written"]),
        ({"fee_ore": -1}, "check_plan_fee_has_legal_ground", ["body", "fee_ore"]),
    ],
)
async def test_a_refused_plan_is_a_422_naming_the_rule(
    plans: PlansOnMemory,
    client: httpx.AsyncClient,
    over: dict[str, object],
    rule: str,
    loc: list[object],
) -> None:
    invoice_id = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30))
    refused = await client.post("/api/v1/payment-plans", json=body([invoice_id]) | over)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert (problem["type"], problem["loc"]) == (rule, loc)
    assert await plans.events(PaymentPlanProposed) == []


async def test_paid_unknown_and_handed_over_invoices_are_named(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    paid = await plans.invoice("c-1", 50_000, due=date(2026, 4, 30))
    await plans.pay(paid, "c-1", 50_000)
    handed = await plans.invoice("c-1", 70_000, due=date(2026, 4, 30))
    await plans.deliver(
        "dunning",
        HandedToAgency(
            handover_id="h-1",
            invoice_id=handed,
            customer_id="c-1",
            service_type="water",
            handed_on=TODAY,
            capital_ore=70_000,
            interest_ore=0,
            fee_ore=0,
            model="reminder_then_handover",
        ),
    )
    for invoice_id, rule in [
        (paid, "check_invoice_not_paid"),
        (handed, "check_invoice_not_handed_over"),
        ("nope", "check_invoice_known"),
    ]:
        refused = await client.post("/api/v1/payment-plans", json=body([invoice_id]))
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["type"] == rule
        assert invoice_id in refused.json()["detail"][0]["msg"]


async def test_a_plan_is_drawn_up_by_a_case_officer_or_an_ops_lead_only(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    invoice_id = await plans.invoice("c-1", 600_000, due=date(2026, 4, 30))
    refused = await client.post(
        "/api/v1/payment-plans", json=body([invoice_id]), headers={"x-role": "department"}
    )
    assert refused.status_code == 403
    allowed = await client.post(
        "/api/v1/payment-plans", json=body([invoice_id]), headers={"x-role": "ops_lead"}
    )
    assert allowed.status_code == 201


async def test_an_unknown_plan_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/payment-plans/nope")).status_code == 404
    assert (await client.post("/api/v1/payment-plans/nope/signed")).status_code == 404


async def test_a_payment_that_reaches_dunning_before_its_invoice_is_not_lost(
    plans: PlansOnMemory, client: httpx.AsyncClient
) -> None:
    # Given payments' allocation delivered before invoicing's issue (each log followed apart)
    await plans.pay("inv-early", "c-1", 200_000)
    await plans.invoice("c-1", 600_000, due=date(2026, 4, 30), invoice_id="inv-early")
    # Then the plan is drawn up from what is still open
    created = await client.post(
        "/api/v1/payment-plans", json=body(["inv-early"], installments=4, fee_ore=0)
    )
    assert created.status_code == 201, created.text
    assert created.json()["capital_ore"] == 400_000
    assert [i["amount_ore"] for i in created.json()["installments"]] == [100_000] * 4
