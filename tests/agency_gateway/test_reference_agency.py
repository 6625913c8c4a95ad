"""The reference agency (issue 15): takes signed messages once per id, refuses a bad signature
or a claim missing what an inkassokrav needs, and reports back with signed webhooks; its
command refuses to start without a secret."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request

from fordra.agency_gateway.adapters.http_agency import HttpAgency, signature
from fordra.agency_gateway.domain.delivery import DeliveryFailed
from fordra.agency_gateway.reference_agency import cli
from fordra.agency_gateway.reference_agency.app import (
    WEBHOOK_PATH,
    ReferenceAgencyStore,
    create_reference_agency,
)

SECRET = "test-reference-secret"
DAY = date(2026, 4, 21)
CLAIM: dict[str, Any] = {
    "message_id": "case-1",
    "kind": "claim",
    "case_id": "case-1",
    "content": {
        "invoice_number": "1001",
        "basis": "Lokalhyra: Lokalhyra mars. Faktura 1001 daterad 2026-03-02.",
        "invoice_date": "2026-03-02",
        "due_date": "2026-04-01",
        "capital_ore": 100_000,
        "interest_ore": 411,
        "costs_ore": 6_000,
        "debtor": {"customer_id": "c", "protected_identity": True, "id_number": "191212121212"},
    },
}


def agency_client(
    tmp_path: Path, webhook_client: httpx.AsyncClient | None = None
) -> tuple[httpx.AsyncClient, ReferenceAgencyStore]:
    store = ReferenceAgencyStore(tmp_path / "agency.sqlite")
    app = create_reference_agency(
        store, secret=SECRET, fordra_url="http://fordra.test", webhook_client=webhook_client
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://agency")
    return client, store


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    return raw, {"X-Fordra-Signature": signature(secret, raw), "Content-Type": "application/json"}


async def test_a_claim_is_taken_once_per_message_id(tmp_path: Path) -> None:
    client, store = agency_client(tmp_path)
    async with client:
        raw, headers = signed(CLAIM)
        first = await client.post("/api/v1/messages", content=raw, headers=headers)
        again = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["duplicate"] is False
        assert again.json() == {"message_id": "case-1", "accepted": True, "duplicate": True}
        assert store.messages() == [CLAIM]
        case = (await client.get("/api/v1/cases/case-1")).json()
        assert case["claim"] == CLAIM["content"]


@pytest.mark.parametrize("secret", [None, "another-agencys-secret"])
async def test_a_message_without_our_signature_is_refused(
    tmp_path: Path, secret: str | None
) -> None:
    client, store = agency_client(tmp_path)
    async with client:
        raw = orjson.dumps(CLAIM)
        headers = {} if secret is None else {"X-Fordra-Signature": signature(secret, raw)}
        r = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert r.status_code == 401
        assert store.messages() == []


async def test_a_claim_missing_its_basis_is_refused_naming_it(tmp_path: Path) -> None:
    client, store = agency_client(tmp_path)
    async with client:
        content = {k: v for k, v in CLAIM["content"].items() if k != "basis"}
        raw, headers = signed({**CLAIM, "content": content})
        r = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert r.status_code == 422
        assert "basis" in r.text
        assert store.messages() == []


async def test_a_report_is_a_webhook_signed_with_the_secret(tmp_path: Path) -> None:
    # Given a Fordra that records what it receives
    received: list[tuple[bytes, str | None]] = []
    fordra = FastAPI()

    @fordra.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> dict[str, str]:
        received.append((await request.body(), request.headers.get("X-Fordra-Signature")))
        return {"status": "recorded"}

    webhooks = httpx.AsyncClient(transport=httpx.ASGITransport(app=fordra))
    client, _store = agency_client(tmp_path, webhooks)
    async with client, webhooks:
        raw, headers = signed(CLAIM)
        assert (await client.post("/api/v1/messages", content=raw, headers=headers)).is_success
        # When the agency reports an objection on the case
        r = await client.post(
            "/api/v1/cases/case-1/report",
            json={"kind": "objection", "occurred_on": "2026-05-06", "notice_sent_on": "2026-05-05"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["fordra_status"] == 200
        # Then Fordra got the body the issue names, signed with the agency's secret
        ((body, header),) = received
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert header == expected
        sent = orjson.loads(body)
        assert sent["case_id"] == "case-1"
        assert sent["kind"] == "objection"
        assert sent["occurred_on"] == "2026-05-06"
        assert sent["notice_sent_on"] == "2026-05-05"
        assert len(sent["event_id"]) == 36
        # and the case lists the report
        case = (await client.get("/api/v1/cases/case-1")).json()
        assert [rep["kind"] for rep in case["reports"]] == ["objection"]


async def test_a_report_on_an_unknown_case_or_of_an_unknown_kind_is_refused(
    tmp_path: Path,
) -> None:
    client, _store = agency_client(tmp_path)
    async with client:
        r = await client.post("/api/v1/cases/nope/report", json={"kind": "opened"})
        assert r.status_code == 404
        raw, headers = signed(CLAIM)
        await client.post("/api/v1/messages", content=raw, headers=headers)
        r = await client.post("/api/v1/cases/case-1/report", json={"kind": "exploded"})
        assert r.status_code == 422
        assert "kind" in r.text


async def test_the_http_adapter_signs_and_a_refusal_is_a_failed_delivery(tmp_path: Path) -> None:
    store = ReferenceAgencyStore(tmp_path / "agency.sqlite")
    app = create_reference_agency(store, secret=SECRET, fordra_url="http://fordra.test")
    good = HttpAgency("http://agency", secret=SECRET, transport=httpx.ASGITransport(app=app))
    bad = HttpAgency("http://agency", secret="wrong", transport=httpx.ASGITransport(app=app))
    try:
        await good.deliver("case-1", CLAIM, today=DAY)
        with pytest.raises(DeliveryFailed, match="401"):
            await bad.deliver("case-1", CLAIM, today=DAY)
    finally:
        await good.close()
        await bad.close()
    assert [m["message_id"] for m in store.messages()] == ["case-1"]


def test_the_command_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORDRA_AGENCY_REFERENCE_SECRET", raising=False)
    assert cli.main(["--port", "8090"]) == 2
    assert "without a secret" in capsys.readouterr().err


SURVEILLANCE: dict[str, Any] = {
    "message_id": "case-1-long-term-surveillance",
    "kind": "long_term_surveillance",
    "case_id": "case-1",
    "content": {
        "case_id": "case-1",
        "invoice_id": "inv-1",
        "written_down_on": "2026-06-01",
        "reason": "obeståndig",
    },
}


async def test_a_request_for_long_term_surveillance_is_answered_with_its_webhook_once(
    tmp_path: Path,
) -> None:
    # Given a Fordra that records the webhooks it receives, and a claim the agency has
    received: list[dict[str, Any]] = []
    fordra = FastAPI()

    @fordra.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> dict[str, str]:
        received.append(orjson.loads(await request.body()))
        return {"status": "recorded"}

    webhooks = httpx.AsyncClient(transport=httpx.ASGITransport(app=fordra))
    client, store = agency_client(tmp_path, webhooks)
    async with client, webhooks:
        raw, headers = signed(CLAIM)
        assert (await client.post("/api/v1/messages", content=raw, headers=headers)).is_success
        # When Fordra asks it to keep the case under long-term surveillance (a write-down),
        # and sends the same message again
        raw, headers = signed(SURVEILLANCE)
        first = await client.post("/api/v1/messages", content=raw, headers=headers)
        again = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert first.status_code == 200, first.text
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
        # Then it answers once with its long_term_surveillance report, dated the write-down
        ((sent),) = received
        assert (sent["case_id"], sent["kind"], sent["occurred_on"]) == (
            "case-1",
            "long_term_surveillance",
            "2026-06-01",
        )
        case = (await client.get("/api/v1/cases/case-1")).json()
        assert [(r["kind"], r["fordra_status"]) for r in case["reports"]] == [
            ("long_term_surveillance", 200)
        ]
        assert [m["kind"] for m in store.messages()] == ["claim", "long_term_surveillance"]


async def test_a_surveillance_request_without_its_date_or_for_an_unknown_case(
    tmp_path: Path,
) -> None:
    received: list[bytes] = []
    fordra = FastAPI()

    @fordra.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> dict[str, str]:
        received.append(await request.body())
        return {"status": "recorded"}

    webhooks = httpx.AsyncClient(transport=httpx.ASGITransport(app=fordra))
    client, store = agency_client(tmp_path, webhooks)
    async with client, webhooks:
        # A request without the day of the write-down is refused, naming it
        content = {k: v for k, v in SURVEILLANCE["content"].items() if k != "written_down_on"}
        raw, headers = signed({**SURVEILLANCE, "content": content})
        r = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert r.status_code == 422
        assert "written_down_on" in r.text
        # One for a case the agency never got is taken, but there is nothing to watch
        raw, headers = signed(SURVEILLANCE)
        r = await client.post("/api/v1/messages", content=raw, headers=headers)
        assert r.status_code == 200, r.text
        assert received == []
        assert [m["kind"] for m in store.messages()] == ["long_term_surveillance"]
