"""The reference agency's HTTP side (issue 15 "Outbound"; the agency's side of domain.md §5).

- ``POST /api/v1/messages``: a claim, a recall, a direct-payment report or a request for
  long-term surveillance from Fordra, signed ``X-Fordra-Signature: sha256=<hex HMAC-SHA256 of the
  raw body>`` with the shared secret (401 without a good one). Taken once per ``message_id`` (200
  ``{"duplicate": true}`` the second time, nothing changed); a claim opens a case. 422 names a
  missing or malformed field. A request for long-term surveillance (a claim written down,
  domain.md §4) of a case it has is answered, once the message is taken, with the agency's own
  ``long_term_surveillance`` webhook dated the day of the write-down, as an agency does when it
  has put the case under surveillance.
- ``GET /api/v1/messages`` and ``GET /api/v1/cases/{case_id}``: what it has (tests and demos).
- ``POST /api/v1/cases/{case_id}/report {"kind", "occurred_on"?, ...}``: sends Fordra a signed
  webhook ``{"event_id", "case_id", "kind", "occurred_on", ...}`` to
  ``<fordra_url>/api/v1/agency/webhooks/reference`` and answers what Fordra said.

Everything is kept in one SQLite file.
"""

from __future__ import annotations

import contextlib
import hmac
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import orjson
from fastapi import BackgroundTasks, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fordra.agency_gateway.adapters.http_agency import signature

__all__ = ["REPORT_KINDS", "WEBHOOK_PATH", "ReferenceAgencyStore", "create_reference_agency"]

WEBHOOK_PATH = "/api/v1/agency/webhooks/reference"
REPORT_KINDS = (
    "opened",
    "payment_collected",
    "payment_order_filed",
    "objection",
    "judgment",
    "enforcement",
    "long_term_surveillance",
    "closed",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    case_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    event_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    fordra_status INTEGER
);
"""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    kind: Literal["claim", "recall", "direct_payment", "long_term_surveillance"]
    case_id: str = Field(min_length=1, max_length=200)
    content: dict[str, Any]


class _SurveillanceContent(BaseModel):
    """A request to keep a case under long-term surveillance (efterbevakning): since when."""

    model_config = ConfigDict(extra="allow")

    written_down_on: date


class _ClaimContent(BaseModel):
    """What a claim must carry for the agency to write an inkassokrav (domain.md §5)."""

    model_config = ConfigDict(extra="allow")

    invoice_number: str
    basis: str = Field(min_length=1)
    invoice_date: date
    due_date: date
    capital_ore: int
    interest_ore: int
    costs_ore: int
    debtor: dict[str, Any]


class _Report(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal[
        "opened",
        "payment_collected",
        "payment_order_filed",
        "objection",
        "judgment",
        "enforcement",
        "long_term_surveillance",
        "closed",
    ]
    occurred_on: date | None = None


class ReferenceAgencyStore:
    """The agency's SQLite file: the messages it took, the reports it sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def take(self, message: _Message) -> bool:
        """Keep ``message``; False when its id was taken before (nothing changes then)."""
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO messages (message_id, kind, case_id, body) "
                "VALUES (?, ?, ?, ?)",
                (
                    message.message_id,
                    message.kind,
                    message.case_id,
                    orjson.dumps(message.model_dump(mode="json")).decode(),
                ),
            )
            return cursor.rowcount == 1

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT body FROM messages WHERE ? IS NULL OR kind = ? ORDER BY rowid",
                (kind, kind),
            ).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def case(self, case_id: str) -> dict[str, Any] | None:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT body FROM messages WHERE case_id = ? ORDER BY rowid", (case_id,)
            ).fetchall()
            reports = conn.execute(
                "SELECT body, fordra_status FROM reports WHERE case_id = ? ORDER BY rowid",
                (case_id,),
            ).fetchall()
        messages = [orjson.loads(row[0]) for row in rows]
        claims = [m for m in messages if m["kind"] == "claim"]
        if not claims:
            return None
        return {
            "case_id": case_id,
            "claim": claims[0]["content"],
            "messages": messages,
            "reports": [{**orjson.loads(b), "fordra_status": s} for b, s in reports],
        }

    def record_report(self, body: dict[str, Any], fordra_status: int | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO reports (event_id, case_id, kind, body, fordra_status) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    body["event_id"],
                    body["case_id"],
                    body["kind"],
                    orjson.dumps(body).decode(),
                    fordra_status,
                ),
            )


@dataclass(frozen=True, slots=True)
class _Reporter:
    """Sends Fordra the agency's signed webhooks and keeps each with Fordra's answer."""

    store: ReferenceAgencyStore
    secret: str
    base: str
    webhook_client: httpx.AsyncClient | None

    async def send(self, case_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Sign and send Fordra the webhook ``{"event_id", "case_id", "kind", "occurred_on",
        ...}``; keep it with Fordra's status (None when Fordra did not answer: 502)."""
        body: dict[str, Any] = {
            **fields,
            "event_id": str(uuid.uuid4()),
            "case_id": case_id,
            "occurred_on": fields.get("occurred_on") or datetime.now(UTC).date().isoformat(),
        }
        raw = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "X-Fordra-Signature": signature(self.secret, raw),
        }
        client = self.webhook_client or httpx.AsyncClient(timeout=10)
        try:
            response = await client.post(f"{self.base}{WEBHOOK_PATH}", content=raw, headers=headers)
        except httpx.HTTPError as exc:
            self.store.record_report(body, None)
            raise HTTPException(502, f"Fordra did not answer: {exc!r}") from exc
        finally:
            if self.webhook_client is None:
                await client.aclose()
        self.store.record_report(body, response.status_code)
        return {
            "event_id": body["event_id"],
            "webhook": body,
            "fordra_status": response.status_code,
            "fordra_response": response.text[:2000],
        }


def _errors(exc: ValidationError, prefix: str = "") -> list[str]:
    return [f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


def create_reference_agency(
    store: ReferenceAgencyStore,
    *,
    secret: str,
    fordra_url: str,
    webhook_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The agency's app. ``webhook_client`` sends the webhooks (a test passes one bound to an
    ASGI app); by default a client of its own, to ``fordra_url``."""
    if not secret:
        raise ValueError("the reference agency needs a secret (FORDRA_AGENCY_REFERENCE_SECRET)")
    app = FastAPI(title="Fordra reference agency", version="1")
    reporter = _Reporter(store, secret, fordra_url.rstrip("/"), webhook_client)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def answer_surveillance(message: _Message, since: date) -> None:
        # Sent after the message's answer, as an agency reports back in its own time; what
        # Fordra said is kept with the report (GET /api/v1/cases/{case_id}).
        with contextlib.suppress(HTTPException):
            await reporter.send(
                message.case_id,
                {"kind": "long_term_surveillance", "occurred_on": since.isoformat()},
            )

    @app.post("/api/v1/messages")
    async def take_message(
        request: Request,
        background: BackgroundTasks,
        x_fordra_signature: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        raw = await request.body()
        if x_fordra_signature is None or not hmac.compare_digest(
            x_fordra_signature, signature(secret, raw)
        ):
            raise HTTPException(401, "missing or bad X-Fordra-Signature")
        surveillance: _SurveillanceContent | None = None
        try:
            message = _Message.model_validate_json(raw)
            if message.kind == "claim":
                _ClaimContent.model_validate(message.content)
            elif message.kind == "long_term_surveillance":
                surveillance = _SurveillanceContent.model_validate(message.content)
        except ValidationError as exc:
            raise HTTPException(422, _errors(exc)) from exc
        taken = store.take(message)
        if taken and surveillance is not None and store.case(message.case_id) is not None:
            background.add_task(answer_surveillance, message, surveillance.written_down_on)
        return {"message_id": message.message_id, "accepted": True, "duplicate": not taken}

    @app.get("/api/v1/messages")
    async def list_messages(kind: str | None = None) -> dict[str, Any]:
        return {"items": store.messages(kind)}

    @app.get("/api/v1/cases/{case_id}")
    async def show_case(case_id: str) -> dict[str, Any]:
        case = store.case(case_id)
        if case is None:
            raise HTTPException(404, f"no claim for case {case_id}")
        return case

    @app.post("/api/v1/cases/{case_id}/report")
    async def report(case_id: str, request: Request) -> dict[str, Any]:
        if store.case(case_id) is None:
            raise HTTPException(404, f"no claim for case {case_id}")
        try:
            given = _Report.model_validate_json(await request.body())
        except ValidationError as exc:
            raise HTTPException(422, _errors(exc)) from exc
        return await reporter.send(case_id, given.model_dump(mode="json"))

    return app
