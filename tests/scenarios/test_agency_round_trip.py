"""The agency gateway's two halves together (issue 15), on both engines: a claim dunning hands over
is delivered to the reference agency over HTTP, and the agency's own signed webhooks (sent by the
reference agency, not forged by the test) move the case in Fordra: opened, then a payment order
whose outlay is recorded as a cost, shown in the case list and the customer ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from fordra.agency_gateway.domain.outbound import OutboundQueued
from fordra.agency_gateway.reference_agency.server import ReferenceAgencyServer
from fordra.kernel.auth import Role
from tests.scenarios.test_agency_outbound import (
    SECRET,
    TODAY,
    agency_settings,
    eventually,
    free_port,
    hand_over,
)
from tests.scenarios.test_dunning_flow import customer, pay
from tests.utils.agency import ledger_row, list_cases
from tests.utils.platform import Engine, Running, running_platform


async def report(agency: ReferenceAgencyServer, fordra: Running, case_id: str, **body: Any) -> None:
    """The agency reports a step: the reference agency signs and sends the webhook to Fordra."""
    async with agency_client(agency) as client:
        r = await client.post(f"/api/v1/cases/{case_id}/report", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["fordra_status"] == 200, r.json()["fordra_response"]
    await fordra.platform.settle()


def agency_client(agency: ReferenceAgencyServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=agency.url, timeout=10)


async def test_the_agencys_webhooks_move_the_case_it_was_delivered(
    engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    async with running_platform(
        engine, tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
    ) as fordra:
        # The agency sends its webhooks to this Fordra (its HTTP client is the test's app client)
        agency = ReferenceAgencyServer(
            tmp_path / "agency.sqlite",
            secret=SECRET,
            fordra_url="http://fordra.test",
            port=port,
            webhook_client=fordra.client,
        )
        await agency.start()
        try:
            # Given a claim handed over by dunning on 2026-04-21 and delivered to the agency
            cid = await customer(fordra)
            invoice = await hand_over(fordra, cid)
            (message,) = await eventually(lambda: agency.store.messages("claim"))
            case_id = message["case_id"]
            await eventually(lambda: _status(fordra, "delivered"))
            # When the agency opens the case and files a payment order the same day
            await report(agency, fordra, case_id, kind="opened", occurred_on="2026-04-21")
            await report(
                agency, fordra, case_id, kind="payment_order_filed", occurred_on="2026-04-21"
            )
            # Then the case list and the ledger show where it stands, the outlay as a cost
            (case,) = await list_cases(fordra, "payment_order_filed")
            assert case["invoice_id"] == invoice["invoice_id"]
            assert case["costs_ore"] == 68_000  # 300 + 380 kr (domain.md §3)
            row = await ledger_row(fordra, cid, invoice["invoice_id"])
            assert row["agency_status"] == "payment_order_filed"
            # And once recalled, a payment straight to the municipality is not reported to the
            # agency: it no longer collects the claim
            r = await fordra.client.post(
                f"/api/v1/agency/cases/{case_id}/recall",
                json={"reason": "betalar direkt till kommunen"},
                headers=fordra.auth(Role.CASE_OFFICER),
            )
            assert r.status_code == 200, r.text
            await pay(fordra, invoice["ocr"], "1000.00", "DIRECT-1")
            assert (await ledger_row(fordra, cid, invoice["invoice_id"]))["paid_ore"] > 0
            store = fordra.platform.stores["agency-gateway"]
            kinds = [
                e.payload["kind"]
                for e in await store.read_log(0, limit=10_000)
                if e.event_type == OutboundQueued.event_type
            ]
            assert kinds == ["claim", "recall"]
        finally:
            await agency.stop()


async def _status(fordra: Running, status: str) -> bool:
    return any(c["status"] == status for c in await list_cases(fordra))
