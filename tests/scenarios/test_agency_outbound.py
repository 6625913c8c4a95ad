"""Outbound to the agency (issue 15) over HTTP: dunning hands a claim over, the gateway delivers
it to the reference agency with everything an inkassokrav needs; a protected customer's claim
carries the marking and no address; an agency that is down for a while gets the claim once when
it comes back; a payment received directly after the handover is reported to the agency."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fordra.agency_gateway.domain.outbound import (
    OutboundDelivered,
    OutboundFailed,
    OutboundQueued,
    outbound_stream,
)
from fordra.agency_gateway.reference_agency.server import ReferenceAgencyServer
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.kernel.auth import Role
from tests.scenarios.test_dunning_flow import (
    PERSON,
    advance,
    approve,
    customer,
    issue,
    pay,
    proposals_for,
)
from tests.utils.platform import Engine, Running, running_platform

TODAY = date(2026, 3, 2)
SECRET = "scenario-reference-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def agency_settings(port: int, **extra: Any) -> dict[str, Any]:
    """The reference agency at ``port``, with a back-off short enough for a test."""
    return {
        "agencies": {"reference": {"kind": "http", "url": f"http://127.0.0.1:{port}"}},
        "secrets": {"reference": SECRET},
        "delivery_retry_first_seconds": 0.05,
        "delivery_retry_cap_seconds": 0.2,
        **extra,
    }


@asynccontextmanager
async def reference_agency(tmp_path: Path, port: int) -> AsyncIterator[ReferenceAgencyServer]:
    server = ReferenceAgencyServer(
        tmp_path / "agency.sqlite", secret=SECRET, fordra_url="http://fordra.test", port=port
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait until ``check()`` answers something true (delivery runs in a task of its own)."""
    step = 0.05
    for _ in range(int(timeout / step)):
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(step)
    raise AssertionError(f"not within {timeout} s")


async def hand_over(fordra: Running, customer_id: str) -> dict[str, Any]:
    """An invoice of 1,000 kr dated 2026-03-02, reminded on 2026-04-08 and handed over on
    2026-04-21 (tests/scenarios/test_dunning_flow.py)."""
    invoice = await issue(fordra, customer_id)
    await advance(fordra, "2026-04-08")
    (reminder,) = await proposals_for(fordra, invoice["invoice_id"])
    await approve(fordra, reminder["proposal_id"])
    await advance(fordra, "2026-04-21")
    (handover,) = await proposals_for(fordra, invoice["invoice_id"])
    assert handover["kind"] == "handover"
    await approve(fordra, handover["proposal_id"])
    return invoice


async def outbound_events(fordra: Running, message_id: str) -> list[Any]:
    store = fordra.platform.stores["agency-gateway"]
    return [
        fordra.platform.registry.load(e)
        for e in await store.read_stream(outbound_stream(message_id))
    ]


async def the_case_id(fordra: Running) -> str:
    store = fordra.platform.stores["agency-gateway"]
    for env in await store.read_log(0, limit=10_000):
        if env.event_type == OutboundQueued.event_type and env.payload["kind"] == "claim":
            return str(env.payload["case_id"])
    raise AssertionError("no claim queued")


async def test_a_handed_over_claim_arrives_at_the_agency_with_every_item(
    engine: Engine, tmp_path: Path
) -> None:
    port = free_port()
    agency_cfg = agency_settings(port)
    async with (
        reference_agency(tmp_path, port) as agency,
        running_platform(engine, tmp_path / "fordra", today=TODAY, agency=agency_cfg) as fordra,
    ):
        # Given a customer's unpaid invoice, reminded and handed over by dunning
        cid = await customer(fordra)
        invoice = await hand_over(fordra, cid)
        # When the gateway delivers it
        (message,) = await eventually(lambda: agency.store.messages("claim"))
        # Then the agency has the claim with the basis in words, the amounts apart, the dates
        # and the debtor
        claim = message["content"]
        assert message["kind"] == "claim"
        assert claim["invoice_id"] == invoice["invoice_id"]
        assert claim["invoice_number"] == invoice["invoice_number"]
        assert claim["basis"] == (
            "Lokalhyra: Lokalhyra mars. Period 2026-04-01–2026-04-30. "
            f"Faktura {invoice['invoice_number']} daterad 2026-03-02, förfallodag 2026-04-01."
        )
        assert claim["invoice_date"] == "2026-03-02"
        assert claim["due_date"] == "2026-04-01"
        assert claim["handed_over_on"] == "2026-04-21"
        assert claim["capital_ore"] == 100_000
        assert claim["interest_ore"] > 0  # late interest from the due date
        assert claim["costs_ore"] >= 0
        assert (
            claim["total_ore"] == claim["capital_ore"] + claim["interest_ore"] + claim["costs_ore"]
        )
        assert claim["debtor"] == {
            "customer_id": cid,
            "kind": "person",
            "id_kind": "personnummer",
            "id_number": "191212121212",
            "protected_identity": False,
            "name": PERSON["name"],
            "address": {**PERSON["address"], "care_of": None, "country": "SE"},
        }
        # and the gateway's log says it was delivered once, the case now "delivered"
        case_id = message["case_id"]
        events = await eventually(lambda: _delivered(fordra, case_id))
        assert [type(e) for e in events] == [
            OutboundQueued,
            AgencyCaseChanged,
            OutboundDelivered,
            AgencyCaseChanged,
        ]
        assert [e.status for e in events if isinstance(e, AgencyCaseChanged)] == [
            "queued",
            "delivered",
        ]


async def _delivered(fordra: Running, message_id: str) -> list[Any] | None:
    events = await outbound_events(fordra, message_id)
    return events if any(isinstance(e, OutboundDelivered) for e in events) else None


async def test_a_protected_customers_claim_carries_the_marking_and_no_address(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with (
        reference_agency(tmp_path, port) as agency,
        running_platform(
            "embedded", tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
        ) as fordra,
    ):
        # Given a customer with a protected identity
        cid = await customer(fordra)
        protect = {"protected": True, "kind": "skyddad_folkbokforing", "reason": "beslut"}
        r = await fordra.client.put(
            f"/api/v1/customers/{cid}/protected-identity",
            json=protect,
            headers=fordra.auth(Role.PROTECTED_IDENTITY_OFFICER),
        )
        assert r.status_code == 200, r.text
        # When their claim is handed over and delivered
        await hand_over(fordra, cid)
        (message,) = await eventually(lambda: agency.store.messages("claim"))
        # Then the agency gets the marking and the identity number, and no name or address
        debtor = message["content"]["debtor"]
        assert debtor["protected_identity"] is True
        assert debtor["name"] is None
        assert debtor["address"] is None
        assert debtor["id_number"] == "191212121212"
        raw = (tmp_path / "agency.sqlite").read_bytes()
        assert b"Tolvan" not in raw
        assert b"Storgatan" not in raw


async def test_an_agency_down_for_a_while_gets_the_claim_once_when_it_comes_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with running_platform(
        "embedded", tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
    ) as fordra:
        # Given the agency is down (nothing listens on its port) when the claim is handed over
        cid = await customer(fordra)
        await hand_over(fordra, cid)
        case_id = await the_case_id(fordra)

        async def failed_twice() -> bool:
            events = await outbound_events(fordra, case_id)
            return sum(isinstance(e, OutboundFailed) for e in events) >= 2

        # Then delivery is tried and fails, again after the back-off, and nothing is lost
        await eventually(failed_twice)
        failures = [
            e for e in await outbound_events(fordra, case_id) if isinstance(e, OutboundFailed)
        ]
        assert [f.attempt for f in failures[:2]] == [1, 2]
        assert "unreachable" in failures[0].error
        # When the agency comes back
        async with reference_agency(tmp_path, port) as agency:
            # Then the claim is delivered once
            events = await eventually(lambda: _delivered(fordra, case_id))
            (delivered,) = [e for e in events if isinstance(e, OutboundDelivered)]
            assert (
                delivered.attempts == len([e for e in events if isinstance(e, OutboundFailed)]) + 1
            )
            # and stays delivered once, however long the gateway keeps running
            await asyncio.sleep(0.5)
            assert len(agency.store.messages()) == 1
            after = await outbound_events(fordra, case_id)
            assert sum(isinstance(e, OutboundDelivered) for e in after) == 1
            assert fordra.platform.agency_delivery is not None
            assert case_id not in fordra.platform.agency_delivery.pending


async def test_a_payment_received_directly_after_the_handover_is_reported(tmp_path: Path) -> None:
    port = free_port()
    async with (
        reference_agency(tmp_path, port) as agency,
        running_platform(
            "embedded", tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
        ) as fordra,
    ):
        # Given a claim handed over and delivered
        cid = await customer(fordra)
        invoice = await hand_over(fordra, cid)
        (claim,) = await eventually(lambda: agency.store.messages("claim"))
        # When the debtor pays 400 kr to the municipality's bankgiro
        await pay(fordra, invoice["ocr"], "400.00", "DIRECT1")
        # Then the agency is told, with the case, the invoice and the amount
        (report,) = await eventually(lambda: agency.store.messages("direct_payment"))
        assert report["case_id"] == claim["case_id"]
        content = report["content"]
        assert content["invoice_id"] == invoice["invoice_id"]
        assert content["amount_ore"] == 40_000
        assert content["component"] == "capital"
        assert content["received_on"] == "2026-04-21"


@pytest.mark.parametrize("kind", ["file"])
async def test_a_file_agency_gets_the_claim_in_the_days_file(tmp_path: Path, kind: str) -> None:
    settings = agency_settings(0)
    settings["agencies"] = {"reference": {"kind": kind, "file_dir": str(tmp_path / "out")}}
    async with running_platform(
        "embedded", tmp_path / "fordra", today=TODAY, agency=settings
    ) as fordra:
        cid = await customer(fordra)
        await hand_over(fordra, cid)
        path = tmp_path / "out" / "reference-2026-04-21.jsonl"
        await eventually(path.exists)
        case_id = await the_case_id(fordra)
        await eventually(lambda: _delivered(fordra, case_id))
        lines = path.read_text().splitlines()
        assert len(lines) == 1
        assert case_id in lines[0]
