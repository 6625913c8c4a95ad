"""A claim at the agency written off or written down (issue 15; domain.md §4 "Write-down and
write-off"), over the real app with the reference agency on a real port, on both engines.

Dunning's decision is its public event on dunning's log, appended here as dunning's write-off and
write-down append it (``POST /api/v1/invoices/{id}/write-off`` and ``/write-down`` are dunning's,
built beside this); everything after it is the platform's own: the gateway's reaction, the
delivery to the agency, the agency's signed webhook back, payments closing the claim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

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
from tests.scenarios.test_agency_round_trip import report
from tests.scenarios.test_dunning_flow import customer, pay
from tests.utils.agency import ledger_row, list_cases, webhook
from tests.utils.platform import Engine, Running, running_platform

HANDED_ON = date(2026, 4, 21)  # hand_over leaves the business clock here


@asynccontextmanager
async def fordra_and_agency(
    engine: Engine, tmp_path: Path
) -> AsyncIterator[tuple[Running, ReferenceAgencyServer]]:
    """Fordra, and the reference agency at the port Fordra delivers to, sending its webhooks to
    this Fordra (its HTTP client is the test's app client)."""
    port = free_port()
    async with running_platform(
        engine, tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
    ) as fordra:
        agency = ReferenceAgencyServer(
            tmp_path / "agency.sqlite",
            secret=SECRET,
            fordra_url="http://fordra.test",
            port=port,
            webhook_client=fordra.client,
        )
        await agency.start()
        try:
            yield fordra, agency
        finally:
            await agency.stop()


async def dunning_decides(fordra: Running, invoice_id: str, kind: str, body: Any) -> None:
    """The ops lead writes ``invoice_id`` off or down through dunning's endpoint."""
    r = await fordra.client.post(
        f"/api/v1/invoices/{invoice_id}/{kind}", json=body, headers=fordra.auth(Role.OPS_LEAD)
    )
    assert r.status_code == 201, r.text
    await fordra.platform.settle()


async def delivered_case(
    fordra: Running, agency: ReferenceAgencyServer
) -> tuple[str, dict[str, Any]]:
    """A customer's claim of 1,000 kr handed over on 2026-04-21, delivered, and opened by the
    agency: the customer and the invoice with its ``case_id``."""
    cid = await customer(fordra)
    invoice = await hand_over(fordra, cid)
    (message,) = await eventually(lambda: agency.store.messages("claim"))
    case_id = message["case_id"]
    await eventually(lambda: _case(fordra, case_id, status="delivered"))
    await report(agency, fordra, case_id, kind="opened", occurred_on="2026-04-21")
    return cid, {**invoice, "case_id": case_id}


async def _case(fordra: Running, case_id: str, **expected: Any) -> dict[str, Any] | None:
    (case,) = [c for c in await list_cases(fordra) if c["case_id"] == case_id]
    return case if all(case[k] == v for k, v in expected.items()) else None


async def _queue(fordra: Running) -> list[dict[str, Any]]:
    r = await fordra.client.get("/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _queued_kinds(fordra: Running) -> list[str]:
    store = fordra.platform.stores["agency-gateway"]
    return [
        str(e.payload["kind"])
        for e in await store.read_log(0, limit=10_000)
        if e.event_type == OutboundQueued.event_type
    ]


async def test_a_written_off_case_ends_as_recalled_and_the_agency_is_told(
    engine: Engine, tmp_path: Path
) -> None:
    async with fordra_and_agency(engine, tmp_path) as (fordra, agency):
        # Given a claim handed over, opened by the agency, and a payment order filed
        cid, invoice = await delivered_case(fordra, agency)
        case_id = invoice["case_id"]
        await report(agency, fordra, case_id, kind="payment_order_filed", occurred_on="2026-04-21")
        # When dunning writes the claim off: the debtor died (decision AVS-2026-7)
        await dunning_decides(
            fordra,
            invoice["invoice_id"],
            "write-off",
            {"reason": "death", "decision_reference": "AVS-2026-7"},
        )
        # Then the case ends as recalled, the payment order's outlays the municipality's cost
        # (seed 004, as in any recall after one), and no task is left open
        case = await _case(fordra, case_id)
        assert case is not None
        assert (case["status"], case["municipality_cost_ore"], case["deadline"]) == (
            "recalled",
            68_000,
            None,
        )
        # And the agency receives the recall, saying why
        (recall,) = await eventually(lambda: agency.store.messages("recall"))
        assert recall["case_id"] == case_id
        assert recall["content"] == {
            "case_id": case_id,
            "invoice_id": invoice["invoice_id"],
            "recalled_on": "2026-04-21",
            "reason": "written off: death (AVS-2026-7)",
        }
        # And a payment the agency reports on the case after that is refused
        refused = await webhook(
            fordra,
            {
                "event_id": "late-1",
                "case_id": case_id,
                "kind": "payment_collected",
                "occurred_on": "2026-04-21",
                "capital_ore": 10_000,
                "interest_ore": 0,
                "reminder_fee_ore": 0,
                "collection_fee_ore": 0,
                "municipality_share_ore": 10_000,
            },
            secret=SECRET,
        )
        assert refused.status_code == 422, refused.text
        assert "agency_case_ended" in refused.text
        # And a payment of its OCR number to the municipality is not allocated to the claim: it
        # waits in the work queue saying why, and the agency is not told of it
        await pay(fordra, invoice["ocr"], "1000.00", "AFTER-WRITE-OFF")
        await fordra.platform.settle()
        (waiting,) = await _queue(fordra)
        assert waiting["amount_ore"] == 100_000
        assert "written off" in waiting["reason"]
        assert (await ledger_row(fordra, cid, invoice["invoice_id"]))["paid_ore"] == 0
        assert await _queued_kinds(fordra) == ["claim", "recall"]


async def test_a_written_down_case_goes_under_long_term_surveillance_and_stays_owed(
    engine: Engine, tmp_path: Path
) -> None:
    async with fordra_and_agency(engine, tmp_path) as (fordra, agency):
        # Given a claim handed over and opened by the agency
        cid, invoice = await delivered_case(fordra, agency)
        case_id = invoice["case_id"]
        # When dunning writes the claim down (the debtor cannot pay now)
        await dunning_decides(
            fordra,
            invoice["invoice_id"],
            "write-down",
            {
                "amount_ore": 100_000,
                "invoice_number": invoice["invoice_number"],
                "reason": "obeståndig enligt inkassobolaget",
            },
        )
        # Then the case list shows the write-down, and the agency is asked to keep the case
        # under long-term surveillance
        case = await _case(fordra, case_id)
        assert case is not None
        assert case["written_down_on"] == "2026-04-21"
        (asked,) = await eventually(lambda: agency.store.messages("long_term_surveillance"))
        assert asked["content"]["written_down_on"] == "2026-04-21"
        # And the agency's signed answer moves the case to long-term surveillance
        surveilled = await eventually(
            lambda: _case(fordra, case_id, status="long_term_surveillance")
        )
        assert surveilled["written_down_on"] == "2026-04-21"
        reports = agency.store.case(case_id)
        assert reports is not None
        assert [(r["kind"], r["fordra_status"]) for r in reports["reports"]][-1] == (
            "long_term_surveillance",
            200,
        )
        # And the claim stays owed: a payment of its OCR number still pays it, and the agency
        # is told of the payment
        await pay(fordra, invoice["ocr"], "1000.00", "AFTER-WRITE-DOWN")
        await fordra.platform.settle()
        row = await ledger_row(fordra, cid, invoice["invoice_id"])
        assert (row["paid_ore"], row["open_ore"]) == (100_000, 0)
        assert await _queue(fordra) == []
        await eventually(lambda: agency.store.messages("direct_payment"))
