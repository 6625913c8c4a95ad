"""The append path every event-store adapter shares, written once.

An adapter holds its SQL (or its dicts) and its transaction; what an append *means* lives here:

- ``check_append``: the checks in their order (the idempotency key, then the consumer's tracking,
  then each stream's version and the envelopes' own versions), against the ``StoredFacts`` the
  adapter read inside its transaction. The first failing check decides what the caller is told,
  and the adapter then writes nothing;
- ``number_rows`` / ``stored_envelopes``: the codec's rows get their positions and recorded time,
  and the caller gets the envelopes exactly as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    AlreadyProcessed,
    IdempotencyRecord,
    RequestAlreadyDone,
    StreamAppend,
    Tracking,
)

# Where the codec's row (fordra.kernel.codec.ROW_COLUMNS) holds the values the store assigns.
_POSITION = 0
_RECORDED_AT = 7


@dataclass(frozen=True, slots=True)
class StoredFacts:
    """What the store holds that one append is checked against, read in its transaction."""

    # The record already stored under the append's idempotency key, if any.
    first_answer: IdempotencyRecord | None
    # The consumer's tracked position for the append's upstream, None without a row.
    tracked: int | None
    # The current version of each appended stream, in the order of the appends.
    versions: Sequence[int]


def check_append(
    appends: Sequence[StreamAppend],
    tracking: Tracking | None,
    idempotency: IdempotencyRecord | None,
    facts: StoredFacts,
) -> None:
    """Raise what the caller must be told if the append may not be written; the order matters:
    a repeated request answers its first answer even if its streams moved on since."""
    if idempotency is not None and facts.first_answer is not None:
        if facts.first_answer.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(facts.first_answer.key)
        raise RequestAlreadyDone(facts.first_answer)
    if tracking is not None and facts.tracked is not None and facts.tracked >= tracking.position:
        raise AlreadyProcessed(
            f"{tracking.consumer} has processed {tracking.upstream} up to {facts.tracked} already"
        )
    for a, current in zip(appends, facts.versions, strict=True):
        if current != a.expected_version:
            raise ConcurrencyConflict(a.stream_id, a.expected_version, current)
        for offset, env in enumerate(a.events, start=1):
            if env.version != a.expected_version + offset:
                raise ValueError(
                    f"{a.stream_id}: event version {env.version} does not follow "
                    f"{a.expected_version + offset - 1}"
                )


def number_rows(rows: Sequence[list[Any]], after_position: int, recorded_text: str) -> None:
    """Give the codec's rows (in place) the positions after ``after_position`` and the recorded
    time, as the store writes them."""
    for i, row in enumerate(rows, start=1):
        row[_POSITION] = after_position + i
        row[_RECORDED_AT] = recorded_text


def stored_envelopes(
    appends: Sequence[StreamAppend], after_position: int, recorded: datetime
) -> list[Envelope]:
    """The appended envelopes as stored: positions after ``after_position``, in append order."""
    stored: list[Envelope] = []
    position = after_position
    for a in appends:
        for env in a.events:
            position += 1
            stored.append(env.stored(position, recorded))
    return stored


def lost_race(appends: Sequence[StreamAppend]) -> ConcurrencyConflict:
    """What a unique ``(stream_id, version)`` violation means: another append of the stream
    committed between the version check and the insert."""
    a = appends[0]
    return ConcurrencyConflict(a.stream_id, a.expected_version, -1)
