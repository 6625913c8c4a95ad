"""What every context's HTTP router receives from the app: how to know the caller, and how to wait
until the read models show a command's effects. Routers turn a request into a command and never
touch a store."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Header, Path
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fordra.kernel.auth import Principal
from fordra.kernel.envelope import Metadata
from fordra.kernel.telemetry import current_correlation_id

# An id in a URL path (a customer, an invoice, a request): bounded, and without the control
# characters that a percent-escape can smuggle in (PostgreSQL refuses a NUL in text: a 500).
PathId = Annotated[str, Path(min_length=1, max_length=100, pattern="^[^\\x00-\\x1f\\x7f-\\x9f]+$")]

# The longest Idempotency-Key a caller may send. The store keeps a hash of the key and its caller
# (fordra.kernel.application.idempotent), so any length would fit; the bound keeps a client's keys
# what the IETF draft means them to be (a UUID or the like), not a payload.
IDEMPOTENCY_KEY_MAX_LENGTH = 100

# The Idempotency-Key header of every command that takes one.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="The same key with the same body answers the first result and appends nothing",
    ),
]

# A FastAPI dependency that answers the verified caller (401/403 raised inside).
Authenticate = Callable[..., Awaitable[Principal]]
# Waits until every projection has processed what has been committed (read your own writes).
Settle = Callable[[], Awaitable[None]]


# Waits a bounded while for the read models; answers whether they caught up (never raises).
SettleBriefly = Callable[[], Awaitable[bool]]

# The header of an answer given while the read models still catch up on the command's effects.
READ_MODELS_LAGGING = "Read-Models-Lagging"


@dataclass(frozen=True, slots=True)
class RouterDeps:
    authenticate: Authenticate
    settle: Settle
    settle_briefly: SettleBriefly | None = None

    async def settled_briefly(self) -> bool:
        """For a command whose answer is its own result, not a read model (an invoice batch, a
        bank file): wait a bounded while, then answer anyway. The result is committed either
        way; a file of thousands of lines must not answer 503 only because the projections are
        still catching up on what it booked. Without ``settle_briefly``, this is ``settle``."""
        if self.settle_briefly is None:
            await self.settle()
            return True
        return await self.settle_briefly()


def metadata_for(principal: Principal) -> Metadata:
    return Metadata(
        tenant=principal.tenant,
        actor=principal.actor,
        correlation_id=current_correlation_id() or str(uuid.uuid4()),
    )


def problem(loc: list[str | int], message: str, kind: str) -> dict[str, Any]:
    """One entry of a 422 body, in FastAPI's own shape so clients parse one format."""
    return {"loc": loc, "msg": message, "type": kind}


# What the strict reader refuses that Python's `json` (and so FastAPI) accepts: NaN and Infinity,
# which are not JSON (RFC 8259 §6) and which no JSON answer can echo back; lone surrogates, which
# are not Unicode text and which UTF-8 cannot store; nesting past orjson's depth limit.
_JSON_SUBTYPE = re.compile(rb"^application/(?:[\w.+-]+\+)?json\s*(?:;|$)", re.IGNORECASE)


class StrictJsonBodies:
    """ASGI middleware: a request that says its body is JSON gets it read by orjson first, and a
    body orjson refuses is answered 422 in FastAPI's own shape (``loc: ["body", <char>]``) before
    any route sees it. The body is then handed on unchanged, so the route parses it as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _says_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                detail = [
                    {
                        **problem(["body", exc.pos], "JSON decode error", "json_invalid"),
                        "ctx": {"error": exc.msg},
                    }
                ]
                response = JSONResponse({"detail": detail}, status_code=422)
                await response(scope, receive, send)
                return
        handed_on = False

        async def replay() -> Message:
            nonlocal handed_on
            if handed_on:
                return await receive()
            handed_on = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _says_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return _JSON_SUBTYPE.match(value.strip()) is not None
    return False


def json_safe(value: Any) -> Any:
    """``value`` as something every JSON encoder takes: a validation error echoes the caller's
    input, which may hold bytes that are not UTF-8, a lone surrogate or a non-finite number
    (a body that is not JSON, a query string); those are answered as escaped text, not a 500."""
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif not isinstance(value, str | int | float | None) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        value = str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value
