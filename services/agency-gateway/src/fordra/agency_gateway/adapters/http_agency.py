"""An agency's HTTP API (issue 15 "Outbound"): each message POSTed as JSON.

``POST {url}/api/v1/messages`` with the message's body (application/outbound.py
``message_body``), ``Idempotency-Key: <message id>`` (the agency takes an id once: a message
sent again after a crash between sending and recording is not doubled) and, when the agency has a
secret, ``X-Fordra-Signature: sha256=<hex HMAC-SHA256 of the raw body>``, the same scheme as the
agency's webhooks to us. A 2xx answer is delivery. A 4xx other than 408 (timeout), 425 (too
early) and 429 (too many requests) is the agency refusing the message itself: a
``DeliveryRefused``, set aside for a person. Anything else, a timeout or a refused connection is a
``DeliveryFailed`` and the message is tried again after the back-off.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any

import httpx
import orjson

from fordra.agency_gateway.domain.delivery import AgencyAdapter, DeliveryFailed, DeliveryRefused

__all__ = ["MESSAGES_PATH", "HttpAgency", "signature"]

MESSAGES_PATH = "/api/v1/messages"
# 4xx answers that say "not now" rather than "not this": tried again after the back-off.
TRANSIENT_CLIENT_ERRORS = frozenset({408, 425, 429})


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: the header value both directions use."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpAgency(AgencyAdapter):
    def __init__(
        self,
        url: str,
        *,
        secret: str | None,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None:
        raw = orjson.dumps(body)
        headers = {"Content-Type": "application/json", "Idempotency-Key": message_id}
        if self._secret:
            headers["X-Fordra-Signature"] = signature(self._secret, raw)
        try:
            response = await self._client.post(
                f"{self.url}{MESSAGES_PATH}", content=raw, headers=headers
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{self.url} unreachable: {type(exc).__name__}: {exc}") from exc
        if response.is_client_error and response.status_code not in TRANSIENT_CLIENT_ERRORS:
            raise DeliveryRefused(
                f"{self.url} refused the message: {response.status_code}: {response.text[:200]}"
            )
        if not response.is_success:
            raise DeliveryFailed(
                f"{self.url} answered {response.status_code}: {response.text[:200]}"
            )

    async def close(self) -> None:
        await self._client.aclose()
