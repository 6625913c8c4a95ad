"""Who may do what: the role x endpoint matrix, web pages included (issue 10, item 5).

Every route the app serves is enumerated from the app itself, so a new endpoint (or web page)
without a row in ``MATRIX`` fails ``test_every_route_has_a_row``. Each row names the roles that may
call it (or ``PUBLIC``); ``test_each_cell`` calls every route with a token of every role and
asserts a refusal (403, with the reason) where the row does not name the role, and "not 401/403"
where it does: a permitted call may answer 404 or 422 for an id that does not exist or a body its
state refuses, which proves the authorization gate let it through. Without a token, and with a
token signed by another key, every route but the public ones answers 401.

Department scope (a department sees and corrects only its own invoices) and the four-eyes rules
are tested where they live (tests/scenarios); this matrix is about roles. The department token
here is the water department's, which registered the customer (so it may change their name
and address) and bills an owner-liable service (so it may record property owners).

Embedded engine only: authorization runs in the app and the use cases before any store or bus is
touched, the same code on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from fordra.app.auth import InstanceSecrets, TokenService
from fordra.app.http import create_app
from fordra.kernel.auth import Role
from tests.utils.money import PERSON
from tests.utils.platform import Running, running_platform

A, OPS, C, D = Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.DEPARTMENT
B, G, S, P = Role.BANK_INGEST, Role.AGENCY, Role.SOCIAL_SERVICES, Role.PROTECTED_IDENTITY_OFFICER
PUBLIC = None  # no token needed
TODAY = date(2026, 3, 2)
DEPARTMENT = "water"
MISSING = "does-not-exist"

Ids = dict[str, str]


@dataclass(frozen=True)
class Row:
    """Who may call a route (None: anyone, without a token), and a request the route accepts
    up to its authorization gate: a body and query that pass validation, so that a refusal is
    the gate's and not a 422 of the request's shape."""

    roles: frozenset[Role] | None
    body: Callable[[Ids], Any] | None = None
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    # Authenticated by the caller's signature of the body, not by a token (an agency's webhook):
    # unsigned, it answers 401 whatever token comes with it.
    signed: bool = False


def roles(*allowed: Role) -> frozenset[Role]:
    return frozenset(allowed)


def invoice_body(ids: Ids) -> dict[str, Any]:
    return {
        "customer_id": ids["customer_id"],
        "department": DEPARTMENT,
        "service_type": "other",
        "invoice_date": TODAY.isoformat(),
        "lines": [{"description": "Hyra av lokal", "unit_price_ore": 100_000, "vat_rate": 25}],
    }


def supply_point_body(ids: Ids) -> dict[str, Any]:
    return {
        "customer_id": ids["customer_id"],
        "utility": "electricity",
        "site_address": "Storgatan 1, 512 50 Svenljunga",
        "site_municipality": "Svenljunga",
        "annual_cost_ore": 180_000,
        "category": "apartment",
        "property_designation": "Svenljunga Kyrkan 1:23",
    }


def reason(_ids: Ids) -> dict[str, str]:
    return {"reason": "enligt beslut"}


ADDRESS = {"street": "Kyrkvägen 2", "postal_code": "512 53", "city": "Svenljunga"}

# The README's role table, route by route. Keep it in step with the README.
MATRIX: dict[tuple[str, str], Row] = {
    # Public: health, the API description and its web pages
    ("GET", "/healthz"): Row(PUBLIC),
    ("GET", "/openapi.json"): Row(PUBLIC),
    ("GET", "/docs"): Row(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Row(PUBLIC),
    ("GET", "/redoc"): Row(PUBLIC),
    # The customer register
    ("POST", "/api/v1/customers"): Row(roles(A, C, D), body=lambda _: PERSON),
    ("GET", "/api/v1/customers/{customer_id}"): Row(roles(A, OPS, C, D, P)),
    ("PATCH", "/api/v1/customers/{customer_id}"): Row(
        roles(A, C, D), body=lambda _: {"address": ADDRESS, "reason": "flyttat"}
    ),
    ("PUT", "/api/v1/customers/{customer_id}/preferences"): Row(
        roles(A, C), body=lambda _: {"autogiro": True, "autogiro_payer_number": "1212121212"}
    ),
    ("POST", "/api/v1/customers/{customer_id}/properties"): Row(
        roles(A, C, D),
        body=lambda _: {
            "property_designation": "Svenljunga Kyrkan 1:23",
            "owned_from": "2020-05-01",
        },
    ),
    ("PUT", "/api/v1/customers/{customer_id}/protected-identity"): Row(
        roles(A, P),
        body=lambda _: {"protected": True, "kind": "sekretessmarkering", "reason": "beslut"},
    ),
    # Invoices, batches and the invoice as the customer gets it (a web page, format=html)
    ("POST", "/api/v1/invoices"): Row(roles(A, C, D), body=invoice_body),
    ("POST", "/api/v1/invoice-batches"): Row(roles(A, C, D), content=b"not a batch\n"),
    ("GET", "/api/v1/invoices/{invoice_id}/document"): Row(roles(A, OPS, C, D, P)),
    # Corrections: asked for by those who publish, attested by an ops lead or admin
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"): Row(roles(A, C, D), body=reason),
    ("POST", "/api/v1/invoices/{invoice_id}/cancellation"): Row(roles(A, C, D), body=reason),
    ("POST", "/api/v1/invoices/{invoice_id}/postponement"): Row(
        roles(A, C, D), body=lambda _: {"reason": "oklar faktura", "due_date": "2026-05-04"}
    ),
    ("POST", "/api/v1/invoices/{invoice_id}/deferral"): Row(
        roles(A, C, D),
        body=lambda _: {
            "reason": "ansökan",
            "deferred_until": "2026-05-04",
            "requested_on": TODAY.isoformat(),
        },
    ),
    ("POST", "/api/v1/invoices/{invoice_id}/dispute"): Row(roles(A, C, D), body=reason),
    ("POST", "/api/v1/invoices/{invoice_id}/dispute-resolution"): Row(
        roles(A, C, D), body=lambda _: {"reason": "utrett", "outcome": "claim_stands"}
    ),
    ("GET", "/api/v1/correction-requests"): Row(roles(A, OPS, C, D)),
    ("POST", "/api/v1/correction-requests/{request_id}/attest"): Row(roles(A, OPS)),
    ("POST", "/api/v1/correction-requests/{request_id}/rejection"): Row(roles(A, OPS), body=reason),
    # Payments: bank files in, the work queue, refunds
    ("POST", "/api/v1/payment-files"): Row(roles(A, B), content=b"not a bank file\n"),
    ("GET", "/api/v1/payments/unmatched"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/payments/{payment_id}/resolution"): Row(
        roles(A, OPS, C), body=lambda _: {"action": "keep_as_credit", "reason": "förskott"}
    ),
    ("POST", "/api/v1/customers/{customer_id}/credit/refunds"): Row(roles(A, OPS, C), body=reason),
    ("POST", "/api/v1/refunds/{refund_id}/attest"): Row(roles(A, OPS)),
    # Dunning: the daily run, its proposals, the disputed claims, an invoice's collection
    ("POST", "/api/v1/dunning/runs"): Row(roles(A, OPS), body=lambda _: {"date": "2026-03-02"}),
    ("GET", "/api/v1/dunning/proposals"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/dunning/proposals/{proposal_id}/approve"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/dunning/proposals/{proposal_id}/reject"): Row(roles(A, OPS, C), body=reason),
    ("GET", "/api/v1/dunning/disputed"): Row(roles(A, OPS, C)),
    ("GET", "/api/v1/invoices/{invoice_id}/collection"): Row(roles(A, OPS, C)),
    # Childcare's monthly report and the music-school pupils flagged (issue 13)
    ("GET", "/api/v1/dunning/childcare-report"): Row(roles(A, OPS, C), params={"month": "2026-03"}),
    ("GET", "/api/v1/dunning/music-school-flags"): Row(roles(A, OPS, C)),
    # Recurring charges and the billing runs (issue 14): a department keeps its own charges; the
    # shared service office reads the runs and releases held notices
    ("POST", "/api/v1/recurring-charges"): Row(
        roles(A, C, D),
        body=lambda ids: {
            "customer_id": ids["customer_id"],
            "department": DEPARTMENT,
            "service_type": "water",
            "description": "VA-abonnemang",
            "amount_ore": 40_000,
            "vat_rate": 25,
            "period": "monthly",
            "starts_on": "2026-03-01",
        },
    ),
    ("PATCH", "/api/v1/recurring-charges/{charge_id}"): Row(
        roles(A, C, D), body=lambda _: {"ends_on": "2026-06-30", "reason": "enligt beslut"}
    ),
    ("GET", "/api/v1/recurring-charges"): Row(roles(A, OPS, C, D), params={"customer_id": MISSING}),
    ("GET", "/api/v1/billing-runs/{day}"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/billing-runs/{day}/held/{charge_id}/release"): Row(roles(A, OPS, C)),
    # The unpaid-rent report (issue 14): a department reads its own notices
    ("GET", "/api/v1/reports/unpaid-rent"): Row(roles(A, OPS, C, D), params={"month": "2026-03"}),
    # A dunning letter as its recipient gets it (a web page, format=html, or a PDF)
    ("GET", "/api/v1/letters/{letter_id}"): Row(roles(A, OPS, C, P)),
    # Payment plans: drawn up and signed by those who handle the customer's case, read by
    # whoever works the queues (the department's list of cancelled plans, seed 002)
    ("POST", "/api/v1/payment-plans"): Row(
        roles(OPS, C),
        body=lambda ids: {
            "customer_id": ids["customer_id"],
            "invoice_ids": [ids["invoice_id"]],
            "installments": 2,
            "first_due_date": "2026-04-30",
            "written": False,
            "fee_ore": 0,
        },
    ),
    ("POST", "/api/v1/payment-plans/{plan_id}/signed"): Row(roles(OPS, C)),
    ("GET", "/api/v1/payment-plans"): Row(roles(A, OPS, C)),
    ("GET", "/api/v1/payment-plans/{plan_id}"): Row(roles(A, OPS, C)),
    ("GET", "/api/v1/payment-plans/{plan_id}/document"): Row(roles(A, OPS, C)),
    # The dunning policies: read by whoever works the queues, set by an ops lead (issue 13)
    ("GET", "/api/v1/dunning/policies"): Row(roles(A, OPS, C)),
    ("PUT", "/api/v1/dunning/policies/{service_type}"): Row(
        roles(OPS),
        body=lambda _: {
            "valid_from": TODAY.isoformat(),
            "model": "reminder_then_handover",
            "reminder_after_days": 7,
            "reminder_fee_ore": 0,
            "handover_after_reminder_days": 10,
            "next_step": "agency",
        },
    ),
    # The read side and exports
    ("GET", "/api/v1/customers/{customer_id}/ledger"): Row(roles(A, OPS, C, D, P)),
    ("GET", "/api/v1/exports/sie"): Row(
        roles(A, OPS, C), params={"from": "2026-01-01", "to": "2026-12-31"}
    ),
    # Operations
    ("GET", "/metrics"): Row(roles(A, OPS)),
    ("GET", "/api/v1/admin/clock"): Row(roles(A, OPS)),
    ("POST", "/api/v1/admin/clock/advance"): Row(roles(A), body=lambda _: {"to": "2026-03-03"}),
    ("GET", "/api/v1/admin/parked-events"): Row(roles(A, OPS)),
    # Late interest: the reference-rate table (issue 13)
    ("GET", "/api/v1/admin/reference-rates"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/admin/reference-rates"): Row(
        roles(A), body=lambda _: {"valid_from": "2026-07-01", "rate_percent": "1.75"}
    ),
    ("POST", "/api/v1/admin/parked-events/{parked_id}/replay"): Row(roles(A, OPS)),
    # The agency gateway (issue 15): the agency's signed webhooks; cases, tasks and the recall
    # for whoever works the queues
    ("POST", "/api/v1/agency/webhooks/{agency}"): Row(
        roles(),
        signed=True,
        body=lambda ids: {
            "event_id": "e1",
            "case_id": MISSING,
            "kind": "opened",
            "occurred_on": TODAY.isoformat(),
        },
    ),
    ("GET", "/api/v1/agency/cases"): Row(roles(A, OPS, C)),
    ("GET", "/api/v1/agency/tasks"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/agency/cases/{case_id}/recall"): Row(roles(A, OPS, C), body=reason),
    ("GET", "/api/v1/agency/outbound/refused"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/agency/outbound/{message_id}/retry"): Row(roles(A, OPS, C)),
    # The case register and its SLA dashboard (issue 17): the office registers and closes cases;
    # a department reads its own invoices' cases.
    ("POST", "/api/v1/cases"): Row(
        roles(A, OPS, C), body=lambda _: {"kind": "refund", "received_at": "2026-03-02T09:00Z"}
    ),
    ("POST", "/api/v1/cases/{case_id}/done"): Row(roles(A, OPS, C)),
    ("GET", "/api/v1/cases"): Row(roles(A, OPS, C, D)),
    ("GET", "/api/v1/sla/dashboard"): Row(roles(A, OPS, C, D), params={"week": "2026-W10"}),
    # The key figures of seed 004 (issue 17): the finance office's, not a department's.
    ("GET", "/api/v1/kpis"): Row(
        roles(A, OPS, C), params={"from": "2026-01-01", "to": "2026-03-31"}
    ),
    # Write-down by an attesting role, write-off by the ops lead alone (issue 15); the list of
    # claims written down or off for the staff concerned (a department sees its own). Last in
    # the matrix: the ops lead's write-off ends the invoice for good.
    ("POST", "/api/v1/invoices/{invoice_id}/write-down"): Row(
        roles(A, OPS),
        body=lambda ids: {"amount_ore": 1, "invoice_number": "1", "reason": "uncollectable"},
    ),
    ("GET", "/api/v1/credit-stops"): Row(roles(A, OPS, C, D)),
    # Supply points and the materiality assessment (issue 16): the finance office's register for
    # the disconnection procedure; a department does not register them.
    ("POST", "/api/v1/supply-points"): Row(roles(A, OPS, C), body=supply_point_body),
    ("GET", "/api/v1/supply-points/{supply_point_id}"): Row(roles(A, OPS, C)),
    ("POST", "/api/v1/supply-points/{supply_point_id}/risks"): Row(
        roles(A, OPS, C), body=lambda _: {"kind": "medical_equipment", "note": "syrgasapparat"}
    ),
    ("GET", "/api/v1/disconnection/assessments/{supply_point_id}"): Row(roles(A, OPS, C)),
    # Disconnection cases (issue 16): the finance office's case officers
    ("POST", "/api/v1/disconnection/cases"): Row(
        roles(A, OPS, C), body=lambda ids: {"supply_point_id": MISSING}
    ),
    ("GET", "/api/v1/disconnection/cases"): Row(roles(A, OPS, C), params={"customer_id": MISSING}),
    ("POST", "/api/v1/disconnection/cases/{case_id}/steps"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    ("POST", "/api/v1/disconnection/cases/{case_id}/service"): Row(
        roles(A, OPS, C), body=lambda ids: {"served_on": "2026-03-02"}
    ),
    ("POST", "/api/v1/disconnection/cases/{case_id}/order"): Row(
        roles(A, OPS, C), body=lambda ids: {"date": "2026-03-02"}
    ),
    ("POST", "/api/v1/disconnection/cases/{case_id}/disconnection"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    ("POST", "/api/v1/disconnection/cases/{case_id}/reconnection"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    # Water disconnection cases (issue 16, LAV 43 §): the finance office's case officers
    ("POST", "/api/v1/disconnection/water-cases"): Row(
        roles(A, OPS, C),
        body=lambda ids: {"supply_point_id": MISSING, "reminder_sent_on": "2026-03-02"},
    ),
    ("GET", "/api/v1/disconnection/water-cases"): Row(
        roles(A, OPS, C), params={"customer_id": MISSING}
    ),
    ("POST", "/api/v1/disconnection/water-cases/{case_id}/letter"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    ("POST", "/api/v1/disconnection/water-cases/{case_id}/shut-off"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    ("POST", "/api/v1/disconnection/water-cases/{case_id}/reconnection"): Row(
        roles(A, OPS, C), body=lambda ids: {}
    ),
    # The social welfare board's queue: that role only, scoped to its municipality (issue 16)
    ("GET", "/api/v1/social-services/notifications"): Row(roles(S)),
    ("POST", "/api/v1/social-services/notifications/{notification_id}/acknowledge"): Row(roles(S)),
    ("POST", "/api/v1/social-services/notifications/{notification_id}/takeover"): Row(
        roles(S), body=lambda ids: {"written_on": "2026-03-02"}
    ),
    # The ops web (issue 17): each page the roles of the API route it mirrors. The sign-in takes
    # the token in its form, not in a header: without one it answers 401 whatever header comes.
    ("GET", "/ops/sign-in"): Row(PUBLIC),
    ("POST", "/ops/sign-in"): Row(roles(), signed=True),
    ("POST", "/ops/sign-out"): Row(PUBLIC),
    ("GET", "/ops/"): Row(roles(*Role)),
    ("GET", "/ops/customers"): Row(roles(A, OPS, C, D, P)),
    ("GET", "/ops/customers/{customer_id}"): Row(roles(A, OPS, C, D, P)),
    ("GET", "/ops/unmatched"): Row(roles(A, OPS, C)),
    ("POST", "/ops/unmatched/{payment_id}/match"): Row(roles(A, OPS, C)),
    ("GET", "/ops/dunning/proposals"): Row(roles(A, OPS, C)),
    ("POST", "/ops/dunning/proposals/{proposal_id}/approve"): Row(roles(A, OPS, C)),
    ("POST", "/ops/dunning/proposals/{proposal_id}/reject"): Row(roles(A, OPS, C)),
    ("GET", "/ops/disputes"): Row(roles(A, OPS, C)),
    ("GET", "/ops/payment-plans"): Row(roles(A, OPS, C)),
    ("GET", "/ops/agency/tasks"): Row(roles(A, OPS, C)),
    ("GET", "/ops/social-services"): Row(roles(S)),
    ("GET", "/ops/cases"): Row(roles(A, OPS, C, D)),
    ("POST", "/ops/cases/{case_id}/done"): Row(roles(A, OPS, C)),
    ("GET", "/ops/sla"): Row(roles(A, OPS, C, D), params={"week": "2026-W10"}),
    ("GET", "/ops/kpis"): Row(roles(A, OPS, C), params={"from": "2026-01-01", "to": "2026-03-31"}),
    ("POST", "/ops/social-services/{notification_id}/acknowledge"): Row(roles(S)),
    ("POST", "/api/v1/invoices/{invoice_id}/write-off"): Row(
        roles(OPS),
        body=lambda ids: {"reason": "death", "decision_reference": "KS 2026/17"},
    ),
}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, hidden routes and web pages included."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                found.add((method, str(route.path)))
    return found


async def test_every_route_has_a_row(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path) as fordra:
        served = served_routes(create_app(fordra.platform, manage_lifecycle=False))
    missing = served - MATRIX.keys()
    assert not missing, f"routes without a row in MATRIX (who may call them?): {sorted(missing)}"
    stale = MATRIX.keys() - served
    assert not stale, f"rows for routes the app no longer serves: {sorted(stale)}"


def token_for(fordra: Running, role: Role) -> str:
    if role is Role.DEPARTMENT:
        return fordra.token(role, department=DEPARTMENT)
    return fordra.token(role)


async def call(
    fordra: Running, route: tuple[str, str], row: Row, ids: Ids, headers: dict[str, str]
) -> httpx.Response:
    method, path = route
    url = path.format(**ids)
    if row.body is not None:
        return await fordra.client.request(
            method, url, json=row.body(ids), params=row.params, headers=headers
        )
    return await fordra.client.request(
        method, url, content=row.content, params=row.params, headers=headers
    )


async def given_a_customer_and_an_invoice(fordra: Running) -> Ids:
    # Registered by the water department: a department changes only its own customers' details
    department = fordra.auth(Role.DEPARTMENT, department=DEPARTMENT)
    r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=department)
    assert r.status_code == 201, r.text
    ids = {"customer_id": r.json()["customer_id"]}
    r = await fordra.client.post("/api/v1/invoices", json=invoice_body(ids), headers=fordra.auth())
    assert r.status_code == 201, r.text
    ids["invoice_id"] = r.json()["invoice_id"]
    # Ids of things that do not exist: a permitted call answers 404, a refused one 403 first
    ids.update(
        request_id=MISSING,
        payment_id=MISSING,
        refund_id=MISSING,
        parked_id="999999",
        proposal_id=MISSING,
        service_type="water",
        letter_id=MISSING,
        plan_id=MISSING,
        charge_id=MISSING,
        day=TODAY.isoformat(),
        agency="reference",
        case_id=MISSING,
        supply_point_id=MISSING,
        message_id=MISSING,
        notification_id=MISSING,
    )
    return ids


async def test_each_cell(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        ids = await given_a_customer_and_an_invoice(fordra)
        stranger = TokenService(
            InstanceSecrets.load_or_create(tmp_path / "another-instance"),
            fordra.platform.settings.municipality,
        ).issue(Role.ADMIN)
        wrong: list[str] = []
        for (method, path), row in MATRIX.items():
            where = f"{method} {path}"
            # No token, and a token another instance signed
            for what, headers in (
                ("no token", {}),
                ("another key", {"Authorization": f"Bearer {stranger}"}),
            ):
                r = await call(fordra, (method, path), row, ids, headers)
                expected_public = row.roles is PUBLIC and r.status_code == 200
                if not expected_public and (row.roles is PUBLIC or r.status_code != 401):
                    wrong.append(f"{where} with {what}: {r.status_code} {r.text[:120]}")
            if row.roles is PUBLIC:
                continue
            if row.signed:
                # No signature: refused as unauthenticated, whoever's token comes with it
                for role in Role:
                    bearer = {"Authorization": f"Bearer {token_for(fordra, role)}"}
                    r = await call(fordra, (method, path), row, ids, bearer)
                    if r.status_code != 401:
                        wrong.append(f"{where} as {role} unsigned: {r.status_code} {r.text[:160]}")
                continue
            # Each role
            for role in Role:
                bearer = {"Authorization": f"Bearer {token_for(fordra, role)}"}
                r = await call(fordra, (method, path), row, ids, bearer)
                if role in row.roles:
                    if r.status_code in (401, 403) or r.status_code >= 500:
                        wrong.append(f"{where} as {role}: {r.status_code} {r.text[:160]}")
                elif r.status_code != 403 or "may not" not in r.json().get("detail", ""):
                    wrong.append(f"{where} as {role} (refused): {r.status_code} {r.text[:160]}")
        assert not wrong, "\n".join(wrong)
