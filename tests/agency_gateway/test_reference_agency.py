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
