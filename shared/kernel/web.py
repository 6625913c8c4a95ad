"""What every context's HTTP router receives from the app: how to know the caller, and how to wait
until the read models show a command's effects. Routers turn a request into a command and never
touch a store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fordra.kernel.auth import Principal
from fordra.kernel.envelope import Metadata
from fordra.kernel.telemetry import current_correlation_id

# A FastAPI dependency that answers the verified caller (401/403 raised inside).
Authenticate = Callable[..., Awaitable[Principal]]
# Waits until every projection has processed what has been committed (read your own writes).
Settle = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RouterDeps:
    authenticate: Authenticate
    settle: Settle


def metadata_for(principal: Principal) -> Metadata:
    return Metadata(
        tenant=principal.tenant,
        actor=principal.actor,
        correlation_id=current_correlation_id() or str(uuid.uuid4()),
    )


def problem(loc: list[str | int], message: str, kind: str) -> dict[str, Any]:
    """One entry of a 422 body, in FastAPI's own shape so clients parse one format."""
    return {"loc": loc, "msg": message, "type": kind}
