"""Running a command: decide, append, retry on a lost race, answer idempotently.

A handler's ``decide`` reads what it needs and answers the appends and the response; ``execute``
appends them with the idempotency record in the same transaction, so a repeated request (same key,
same body, same caller) answers the first response and appends nothing. A ``ConcurrencyConflict``
means another writer got there first: decide again on fresh state, a bounded number of times, each
after a short random wait (``jittered_backoff``) so that writers that lost together do not collide
again.

What "the same request" means (issue 10, item 3):

- **Keys belong to their caller.** An ``Idempotency-Key`` is chosen by the client, so two clients
  may well pick the same one. As Stripe does (keys per account) and as the IETF draft
  ``draft-ietf-httpapi-idempotency-key-header`` recommends (keys unique per client), a key is
  scoped by who sent it: the tenant, the role, the department or municipality and the token's
  subject (``Principal.actor``). Two departments, or two officers of one department, never see each
  other's answers; a client that renews its token keeps its subject and so its keys. That two
  callers may send the *same content* twice is a different question, answered by the use case's
  own claims (an identity number, a line's ``source_reference``) or by a record named after the
  content (``content_claim()``: a batch file), not by the caller's keys. Every use case names its
  record with one of these two and nothing else.
- **Parallel requests with one key.** A request that loses the race decides on state in which the
  first one's effect is already visible, and its rules may then refuse it (the credit is gone, the
  payment is no longer unmatched, the identity number is claimed, a batch's period is billed).
  The effect and the idempotency record commit in one transaction, so whenever the effect is
  visible the record is too: a decision that fails looks the record up and replays the first
  answer if there is one.

What the idempotency table stores (issue 10, item 2), since it is kept apart from the sealed
personal part of the events and a repeated request must respect a protection or an erasure made
after the first one:

- the key is a hash of the caller's scope and the header, so neither a staff member's subject nor
  whatever a client put in its key lies there in plain text (and its length is fixed);
- the fingerprint is an HMAC of the request keyed with that scoped key, so a copy of the table
  alone cannot confirm a guessed body (a personnummer, a name) without also guessing the key;
- the response is stored **without its personal fields** (those marked ``Personal`` in the
  response model, e.g. a customer's name, identity number and address). A use case whose response
  has such fields gives ``execute`` a ``rebuild`` that answers a replay from *current* state with
  the *current* caller's rights: a protected identity stays hidden, a forgotten person's data is
  gone. We chose this over sealing the stored response with the subject's key: sealing would reach
  an erasure but still replay an address hidden since by a protection, and it needs a subject for
  every answer.

A row written before this format (a plain key, a whole response) is never looked up again (keys
are now hashed, and the format marker of a response is checked besides); the stores delete such
rows when they start, as they may hold personal data (``EventStore.start``). A client retrying
across that upgrade is executed again, with the content claims above as its safety net.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import random
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from fordra.kernel.auth import Principal
from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    CONTENT_CLAIM_PREFIX,
    IDEMPOTENCY_KEY_PREFIX,
    EventStore,
    IdempotencyRecord,
    RequestAlreadyDone,
    StreamAppend,
)
from fordra.kernel.telemetry import current_telemetry

R = TypeVar("R", bound=BaseModel)

# After the n-th lost race a decision waits a random time up to BACKOFF_SECONDS * 2**(n - 1), at
# most BACKOFF_CAP_SECONDS: "full jitter". The first retry waits at most 2 ms (a lost race is
# usually one other writer, already done); eight lost races in a row wait about 0.25 s in all.
BACKOFF_SECONDS = 0.002
BACKOFF_CAP_SECONDS = 0.2

# The format of a stored response: a marker byte, then the JSON of the response without its
# personal fields. An older row holds the whole JSON and starts with "{".
_RESPONSE_V2 = b"\x02"


class Personal:
    """Marks a response field as personal data: ``Annotated[str | None, PERSONAL]``. It is never
    stored with an idempotency record; a replay gets it from current state."""

    def __repr__(self) -> str:
        return "PERSONAL"


PERSONAL = Personal()


@dataclass(frozen=True, slots=True)
class Decision(Generic[R]):
    appends: Sequence[StreamAppend]
    response: R


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    response: R
    replayed: bool
    position: int  # the highest global position appended (0 when nothing was)


@dataclass(frozen=True, slots=True)
class Idempotent:
    """A request's ``Idempotency-Key`` in its caller's scope: built by ``idempotent()`` only."""

    header: str  # as the client sent it, for messages to that client
    key: str  # the stored name: a hash of the caller's scope and the header
    fingerprint: str  # an HMAC of the request, keyed with the scoped key


def caller_scope(principal: Principal) -> tuple[str, ...]:
    """Who a key belongs to: tenant, role, department or municipality, and the token's subject."""
    return (
        principal.tenant,
        principal.role.value,
        principal.department or "",
        principal.municipality or "",
        principal.subject,
    )


def idempotent(principal: Principal, header: str | None, *request: Any) -> Idempotent | None:
    """The one way to name an idempotency record: ``header`` in ``principal``'s scope, for the
    request described by ``request`` (the command's name, its target and its body)."""
    if not header:
        return None
    scoped = orjson.dumps([*caller_scope(principal), header])
    key = IDEMPOTENCY_KEY_PREFIX + hashlib.sha256(scoped).hexdigest()
    body = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    return Idempotent(header, key, hmac.new(scoped, body, hashlib.sha256).hexdigest())


def content_claim(tenant: str, kind: str, digest: str) -> Idempotent:
    """A request identified by its content (a file's digest), whoever sends it and under whatever
    key: its record is a unique claim committed with the booking, and the same content again
    answers the first result."""
    scoped = orjson.dumps(["content", tenant, kind, digest])
    # A prefix of its own: a content claim never expires (EventStore.forget_idempotency_before).
    key = CONTENT_CLAIM_PREFIX + hashlib.sha256(scoped).hexdigest()
    return Idempotent(
        f"{kind} {digest[:32]}", key, hmac.new(scoped, b"", hashlib.sha256).hexdigest()
    )


def jittered_backoff(attempt: int) -> float:
    """How long to wait after the ``attempt``-th lost race (see BACKOFF_SECONDS)."""
    bound = min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1))
    return random.uniform(0, bound)  # noqa: S311  (spreads retries out; not a secret)


@functools.cache  # per response model; a batch of 10,000 lines asks 10,000 times
def personal_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of ``model`` marked ``PERSONAL``, nested models included, in the shape pydantic's
    ``exclude`` takes (cached and shared: read it, never change it)."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if any(isinstance(m, Personal) for m in info.metadata):
            found[name] = True
            continue
        for inner in _models_in(info.annotation):
            nested = personal_fields(inner)
            if nested:
                many = typing.get_origin(info.annotation) in (list, tuple, Sequence)
                found[name] = {"__all__": nested} if many else nested
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def stored_response(response: BaseModel) -> bytes:
    """What an idempotency record keeps of ``response``: everything but its personal fields."""
    personal = personal_fields(type(response))
    return _RESPONSE_V2 + response.model_dump_json(exclude=personal or None).encode()


async def execute(
    store: EventStore,
    decide: Callable[[], Awaitable[Decision[R]]],
    response_model: type[R],
    *,
    idempotency: Idempotent | None = None,
    rebuild: Callable[[R], Awaitable[R]] | None = None,
    attempts: int = 8,
) -> Outcome[R]:
    """Decide and append once. ``rebuild`` answers a replay from current state; it is required
    when the response has personal fields, which the record never keeps.

    Counted (``commands``, outcome ok or error) and traced on the telemetry of the request or
    delivery in hand, named after the use case whose ``decide`` it runs."""
    telemetry = current_telemetry()
    if telemetry is None:
        return await _execute(
            store,
            decide,
            response_model,
            idempotency=idempotency,
            rebuild=rebuild,
            attempts=attempts,
        )
    with telemetry.command(command_name(decide, response_model)):
        return await _execute(
            store,
            decide,
            response_model,
            idempotency=idempotency,
            rebuild=rebuild,
            attempts=attempts,
        )


def command_name(decide: Callable[..., object], response_model: type[BaseModel]) -> str:
    """The use case a ``decide`` closure belongs to (``open_case`` of
    ``open_case.<locals>.decide``), else the response model's name."""
    qualname: str = getattr(decide, "__qualname__", "")
    if ".<locals>." in qualname:
        return qualname.split(".<locals>.", maxsplit=1)[0].rsplit(".", 1)[-1]
    return response_model.__name__


async def _execute(
    store: EventStore,
    decide: Callable[[], Awaitable[Decision[R]]],
    response_model: type[R],
    *,
    idempotency: Idempotent | None,
    rebuild: Callable[[R], Awaitable[R]] | None,
    attempts: int,
) -> Outcome[R]:
    if rebuild is None and personal_fields(response_model):
        raise TypeError(f"{response_model.__name__} has personal fields: a replay needs rebuild")
    if idempotency is not None:
        first = await store.idempotency_record(idempotency.key)
        if first is not None:
            return await _replay(first, idempotency, response_model, rebuild)
    for attempt in range(1, attempts + 1):
        try:
            decision = await decide()
        except Exception:
            # A parallel request with this key may have done it meanwhile (see the docstring).
            if idempotency is not None:
                first = await store.idempotency_record(idempotency.key)
                if first is not None:
                    return await _replay(first, idempotency, response_model, rebuild)
            raise
        record = None
        if idempotency is not None:
            record = IdempotencyRecord(
                idempotency.key, idempotency.fingerprint, stored_response(decision.response)
            )
        try:
            stored = await store.append(decision.appends, idempotency=record)
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            await asyncio.sleep(jittered_backoff(attempt))
            continue
        except RequestAlreadyDone as done:
            return await _replay(done.record, idempotency, response_model, rebuild)
        except IdempotencyKeyReused as reused:
            raise IdempotencyKeyReused(idempotency.header if idempotency else "") from reused
        return Outcome(decision.response, False, max((e.position for e in stored), default=0))
    raise AssertionError("unreachable")  # pragma: no cover


async def _replay(
    record: IdempotencyRecord,
    idempotency: Idempotent | None,
    model: type[R],
    rebuild: Callable[[R], Awaitable[R]] | None,
) -> Outcome[R]:
    assert idempotency is not None
    if not hmac.compare_digest(record.fingerprint, idempotency.fingerprint):
        raise IdempotencyKeyReused(idempotency.header)
    if record.response[:1] != _RESPONSE_V2:
        # Cannot happen by lookup (older rows have unhashed keys and are deleted on start); say
        # so rather than answer a whole response kept in an older format.
        raise IdempotencyKeyReused(idempotency.header)
    response = model.model_validate_json(record.response[1:])
    if rebuild is not None:
        response = await rebuild(response)
    return Outcome(response, True, 0)
