"""The operator's side of parked events (``fordra.kernel.parking``): health, metrics, list, replay.

``/healthz`` answers 200 with ``"status": "degraded"`` while an event is parked and not replayed,
not 503: the instance still serves every command and nearly every read, and every instance shares
the one read-model database, so a load balancer that took 503 for "out of rotation" would take all
of them out over one event, the very outage parking prevents. Monitoring reads the body or the
``fordra_parked_events`` gauge of ``/metrics`` and alerts on it.
"""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time.

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import JSONResponse
from opentelemetry.metrics import Meter
from pydantic import BaseModel, ConfigDict

from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.parking import PARKED, ParkedEvent, ParkedEvents, ReplayFailed
from fordra.kernel.web import RouterDeps

# A parked record's id: its column is a 32-bit INTEGER on PostgreSQL, so a larger one is a 422
# naming the path, not a driver error (found by the API fuzzer).
ParkedId = Annotated[int, Path(ge=1, le=2**31 - 1)]

log = logging.getLogger(__name__)

Replay = Callable[[int], Awaitable[tuple[ParkedEvent, bool]]]


class ParkedEventView(BaseModel):
    """A parked record as the API shows it: the record's own fields (the error already stripped of
    SQL, parameters and personnummer when parked)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    consumer: str
    upstream: str
    position: int
    event_id: str
    event_type: str
    stream_id: str
    error: str
    parked_at: datetime
    state: str
    replayed_at: datetime | None
    last_replay_error: str | None


class ParkedEventList(BaseModel):
    parked: int
    events: list[ParkedEventView]


class ReplayResult(BaseModel):
    applied: bool
    event: ParkedEventView


async def parked_health(parked: ParkedEvents) -> tuple[dict[str, Any], int]:
    """What ``/healthz`` answers, and its HTTP status: degraded with the count and the consumers
    concerned, or ok; 503 only when the read-model database cannot be asked (nothing is served
    then)."""
    try:
        pending = await parked.pending()
    except Exception:
        log.warning("healthz: the read-model database did not answer", exc_info=True)
        unavailable = {"status": "unavailable", "reason": "read-model database unreachable"}
        return unavailable, status.HTTP_503_SERVICE_UNAVAILABLE
    if not pending:
        return {"status": "ok"}, status.HTTP_200_OK
    degraded = {
        "status": "degraded",
        "parked_events": sum(pending.values()),
        "consumers": sorted(pending),
    }
    return degraded, status.HTTP_200_OK


class ParkedGauge:
    """``fordra_parked_events{consumer}``: read from the database at scrape time, so that the API
    process counts what the projections or a context's process parked."""

    def __init__(self, meter: Meter, parked: ParkedEvents, consumers: list[str]) -> None:
        self._gauge = meter.create_gauge(
            "fordra_parked_events",
            unit="1",
            description="Events a consumer parked and nobody has replayed yet",
        )
        self._parked = parked
        self._consumers = consumers

    async def refresh(self) -> None:
        pending = await self._parked.pending()
        for consumer in sorted({*self._consumers, *pending}):
            self._gauge.set(pending.get(consumer, 0), {"consumer": consumer})


def make_router(parked: ParkedEvents, replay: Replay, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin/parked-events", tags=["admin"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get("", response_model=ParkedEventList)
    async def list_parked(principal: Caller, include_replayed: bool = False) -> ParkedEventList:
        """Events a consumer could not apply, with the error (its type and message only)."""
        require_role(principal, Role.ADMIN, Role.OPS_LEAD)
        records = await parked.all(state=None if include_replayed else PARKED)
        return ParkedEventList(
            parked=sum(1 for r in records if r.state == PARKED),
            events=[ParkedEventView.model_validate(r) for r in records],
        )

    @router.post(
        "/{parked_id}/replay",
        response_model=ReplayResult,
        responses={status.HTTP_409_CONFLICT: {"description": "the event failed again"}},
    )
    async def replay_parked(parked_id: ParkedId, principal: Caller) -> ReplayResult | JSONResponse:
        """Apply the parked event again in its consumer, once the code that failed is fixed. A
        second replay changes nothing (``applied`` false); one that fails again answers 409 with
        the error and leaves the event parked."""
        require_role(principal, Role.ADMIN, Role.OPS_LEAD)
        try:
            record, applied = await replay(parked_id)
        except ReplayFailed as exc:
            return JSONResponse(
                {
                    "detail": str(exc),
                    "error": exc.error,
                    "event": ParkedEventView.model_validate(exc.parked).model_dump(mode="json"),
                },
                status_code=status.HTTP_409_CONFLICT,
            )
        return ReplayResult(applied=applied, event=ParkedEventView.model_validate(record))

    return router
