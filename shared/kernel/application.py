"""Running a command: decide, append, retry on a lost race, answer idempotently.

A handler's ``decide`` reads what it needs and answers the appends and the response; ``execute``
appends them with the idempotency record in the same transaction, so a repeated request (same key,
same body) answers the first response and appends nothing. A ``ConcurrencyConflict`` means another
writer got there first: decide again on fresh state, a bounded number of times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    EventStore,
    IdempotencyRecord,
    RequestAlreadyDone,
    StreamAppend,
)

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Decision(Generic[R]):
    appends: Sequence[StreamAppend]
    response: R


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    response: R
    replayed: bool
    position: int  # the highest global position appended (0 when nothing was)


def fingerprint(*parts: Any) -> str:
    """A stable hash of a request (command body and who sent it)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def execute(
    store: EventStore,
    decide: Callable[[], Awaitable[Decision[R]]],
    response_model: type[R],
    *,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    attempts: int = 8,
) -> Outcome[R]:
    if idempotency_key is not None:
        first = await store.idempotency_record(idempotency_key)
        if first is not None:
            return _replay(first, request_fingerprint, response_model)
    for attempt in range(1, attempts + 1):
        decision = await decide()
        record = None
        if idempotency_key is not None:
            record = IdempotencyRecord(
                idempotency_key,
                request_fingerprint or "",
                decision.response.model_dump_json().encode(),
            )
        try:
            stored = await store.append(decision.appends, idempotency=record)
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            continue
        except RequestAlreadyDone as done:
            return _replay(done.record, request_fingerprint, response_model)
        return Outcome(decision.response, False, max((e.position for e in stored), default=0))
    raise AssertionError("unreachable")  # pragma: no cover


def _replay(record: IdempotencyRecord, fp: str | None, model: type[R]) -> Outcome[R]:
    if fp is not None and record.fingerprint != fp:
        raise IdempotencyKeyReused(record.key)
    return Outcome(model.model_validate_json(record.response), True, 0)
