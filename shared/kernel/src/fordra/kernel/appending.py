"""The append path every event-store adapter shares, written once.

An adapter holds its SQL (or its dicts), its transaction and the mapping of its driver's errors;
what an append *means* lives here:

- ``AppendRequest``: the envelopes with the request's tracking and idempotency record, checked by
  the codec when the append is made; the codec encodes them (so that every store holds the same
  bytes, personal data sealed) up front for the in-memory store, whose rows are its storage, and
  as they are written for the stores on a database (``GroupWrite.rows``), so that a large
  decision is held once, as envelopes, not twice;
- ``AppendRequest.accept``: the checks in their order (the idempotency key, then the consumer's
  tracking, then each stream's version and the envelopes' own versions) against the
  ``StoredFacts`` the adapter read inside its transaction; on success the rows get their positions
  and recorded time and the caller's envelopes are built as stored. The first failing check
  decides what the caller is told, and the adapter then writes nothing;
- ``QueuedAppend``, ``take_group`` and ``answer``: group commit. Callers queue their appends, one
  writer takes what is waiting (up to a number of events) into one transaction, and each caller is
  answered in its own event loop, the followers woken once;
- ``GroupFacts`` and ``accept_group``: a group checked at once. The adapter reads what the whole
  group needs in one query per table (every stream's version, every key, every tracking row) and
  each job is checked as if the jobs before it had been written; the accepted jobs' events
  (``GroupWrite``) then go to the database in one statement (``executemany``, ``COPY``), encoded
  one row at a time as the statement takes them;
- ``LogHead``: the highest committed position a store knows of, and the followers waiting above it
  (``EventStore.wait_for_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fordra.kernel.codec import EnvelopeCodec
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

    # The record already stored under the append's idempotency key (None without a key or row).
    first_answer: IdempotencyRecord | None
    # The consumer's tracked position for the append's upstream (None without tracking or row).
    tracked: int | None
    # The current version of each appended stream, in the order of the appends.
    versions: Sequence[int]


@dataclass(slots=True)
class AppendRequest:
    appends: Sequence[StreamAppend]
    # The codec's rows of every event, in append order, when encoded up front (``encode``);
    # empty for a ``QueuedAppend``, whose rows are encoded as they are written.
    rows: list[list[Any]]
    tracking: Tracking | None
    idempotency: IdempotencyRecord | None

    @classmethod
    def encode(
        cls,
        codec: EnvelopeCodec,
        appends: Sequence[StreamAppend],
        tracking: Tracking | None,
        idempotency: IdempotencyRecord | None,
    ) -> AppendRequest:
        """Encode before anything else: an envelope the codec refuses (personal data without a
        data subject) fails its caller before it reaches a transaction."""
        return cls(appends, _encode(codec, appends), tracking, idempotency)

    @property
    def size(self) -> int:
        """The number of events appended."""
        return sum(len(a.events) for a in self.appends)

    def accept(self, facts: StoredFacts, after_position: int, recorded: datetime) -> list[Envelope]:
        """Check the append against ``facts`` (raising what the caller must be told), then number
        ``rows`` (if encoded up front) from ``after_position + 1`` with the recorded time, ready
        for the adapter to write; answer the envelopes as stored."""
        self._check(facts)
        recorded_text = recorded.isoformat()
        for i, row in enumerate(self.rows, start=1):
            row[_POSITION] = after_position + i
            row[_RECORDED_AT] = recorded_text
        stored: list[Envelope] = []
        position = after_position
        for a in self.appends:
            for env in a.events:
                position += 1
                stored.append(env.stored(position, recorded))
        return stored

    def _check(self, facts: StoredFacts) -> None:
        # The order matters: a repeated request is answered its first answer even when its streams
        # moved on since, and a redelivery is a no-op even when it would conflict.
        if self.idempotency is not None and facts.first_answer is not None:
            if facts.first_answer.fingerprint != self.idempotency.fingerprint:
                raise IdempotencyKeyReused(facts.first_answer.key)
            raise RequestAlreadyDone(facts.first_answer)
        tracking = self.tracking
        if (
            tracking is not None
            and facts.tracked is not None
            and facts.tracked >= tracking.position
        ):
            raise AlreadyProcessed(
                f"{tracking.consumer} has processed {tracking.upstream} "
                f"up to {facts.tracked} already"
            )
        for a, current in zip(self.appends, facts.versions, strict=True):
            if current != a.expected_version:
                raise ConcurrencyConflict(a.stream_id, a.expected_version, current)
            for offset, env in enumerate(a.events, start=1):
                if env.version != a.expected_version + offset:
                    raise ValueError(
                        f"{a.stream_id}: event version {env.version} does not follow "
                        f"{a.expected_version + offset - 1}"
                    )

    def lost_race(self) -> ConcurrencyConflict:
        """What a unique ``(stream_id, version)`` violation means: another append of the stream
        committed between the version check and the insert."""
        a = self.appends[0]
        return ConcurrencyConflict(a.stream_id, a.expected_version, -1)


@dataclass(slots=True)
class QueuedAppend(AppendRequest):
    """An append waiting for the writer; ``result`` is set by the writer, ``future`` answered in
    ``loop`` (the caller's) by ``answer``."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Envelope]]
    result: list[Envelope] | BaseException | None = field(default=None)

    @classmethod
    def queue(
        cls,
        codec: EnvelopeCodec,
        appends: Sequence[StreamAppend],
        tracking: Tracking | None,
        idempotency: IdempotencyRecord | None,
    ) -> QueuedAppend:
        """A job for the caller in the running loop, its envelopes checked by the codec now (what
        the codec refuses fails its caller before it reaches a transaction) and encoded by the
        writer as it writes them."""
        loop = asyncio.get_running_loop()
        for a in appends:
            for env in a.events:
                codec.check(env)
        return cls(appends, [], tracking, idempotency, loop, loop.create_future())


def _encode(codec: EnvelopeCodec, appends: Sequence[StreamAppend]) -> list[list[Any]]:
    return [codec.to_row(env) for a in appends for env in a.events]


def take_group(
    first: QueuedAppend, waiting: Callable[[], QueuedAppend | None], max_events: int
) -> tuple[list[QueuedAppend], bool]:
    """``first`` and the jobs already queued behind it, up to ``max_events`` events: one group
    commit. ``waiting`` is the queue's ``get_nowait`` (``None`` in the queue asks the writer to
    stop); answer the group and whether to stop after it."""
    group = [first]
    size = first.size
    while size < max_events:
        try:
            job = waiting()
        except (queue.Empty, asyncio.QueueEmpty):
            break
        if job is None:
            return group, True
        group.append(job)
        size += job.size
    return group, False


@dataclass(slots=True)
class GroupFacts:
    """What the store holds for a whole group, read in its transaction with one query per table
    (only the rows that exist): stream versions, stored idempotency records by key, tracked
    positions by (consumer, upstream). ``accept_group`` updates them as each job is accepted, so
    a later job of the group sees the earlier ones as written."""

    versions: dict[str, int]
    first_answers: dict[str, IdempotencyRecord]
    tracked: dict[tuple[str, str], int]

    @staticmethod
    def wanted(
        group: Sequence[AppendRequest], *, new_streams: bool = False
    ) -> tuple[list[str], list[str], list[tuple[str, str]]]:
        """The stream ids, idempotency keys and tracking rows to read for ``group``, each once.

        A stream that every append of the group creates (expected version 0) is not read unless
        ``new_streams``: the unique ``(stream_id, version)`` refuses its first event if it exists
        after all, and the adapter then writes the group again append by append, reading every
        stream, so that the append that lost is told so as a conflict. Most appends create their
        stream (an invoice, a payment), and the read would find nothing."""
        expected: dict[str, int] = {}
        for job in group:
            for a in job.appends:
                expected[a.stream_id] = expected.get(a.stream_id, 0) | a.expected_version
        streams = [sid for sid, v in expected.items() if v or new_streams]
        keys = list(dict.fromkeys(j.idempotency.key for j in group if j.idempotency is not None))
        tracks = list(
            dict.fromkeys(
                (j.tracking.consumer, j.tracking.upstream) for j in group if j.tracking is not None
            )
        )
        return streams, keys, tracks


@dataclass(slots=True)
class GroupWrite:
    """What ``accept_group`` accepted: the jobs, their events as stored (in position order) and
    the last position."""

    jobs: list[QueuedAppend]
    events: list[Envelope]
    position: int

    def rows(self, codec: EnvelopeCodec, recorded: datetime) -> Iterator[tuple[Any, ...]]:
        """The events' rows, encoded one at a time as the database takes them."""
        recorded_text = recorded.isoformat()
        stored_row = codec.stored_row
        return (stored_row(env, recorded_text) for env in self.events)


def accept_group(
    group: Sequence[QueuedAppend], facts: GroupFacts, after_position: int, recorded: datetime
) -> GroupWrite:
    """Check each job of ``group`` in order against ``facts`` and what the jobs before it wrote,
    as if each had its own savepoint: a job that fails a check gets its exception as ``result``
    and writes nothing; an accepted one gets its stored envelopes and
    its events numbered on from ``after_position``."""
    accepted: list[QueuedAppend] = []
    events: list[Envelope] = []
    position = after_position
    versions = facts.versions
    for job in group:
        try:
            # Walk the job's appends as written one after the other: one stream twice in one
            # append sees its own first part (what a unique (stream_id, version) refuses).
            mine: dict[str, int] = {}
            current = []
            for a in job.appends:
                sid = a.stream_id
                current.append(mine[sid] if sid in mine else versions.get(sid, 0))
                mine[sid] = a.expected_version + len(a.events)
            idem = job.idempotency
            track = job.tracking
            stored = job.accept(
                StoredFacts(
                    facts.first_answers.get(idem.key) if idem is not None else None,
                    facts.tracked.get((track.consumer, track.upstream))
                    if track is not None
                    else None,
                    current,
                ),
                position,
                recorded,
            )
        except Exception as exc:  # noqa: BLE001 - a failed check fails its own job only
            job.result = exc
            continue
        job.result = stored
        events.extend(stored)
        versions.update(mine)
        if idem is not None:
            facts.first_answers[idem.key] = idem
        if track is not None:
            facts.tracked[(track.consumer, track.upstream)] = track.position
        position += job.size
        accepted.append(job)
    return GroupWrite(accepted, events, position)


class LogHead:
    """The highest position a store knows to be committed (its own appends, or another process's
    announced by the database), and the followers waiting for the log to pass a position."""

    def __init__(self, position: int = 0) -> None:
        self.position = position
        self._moved = asyncio.Event()

    def move_to(self, position: int) -> None:
        """Note a commit up to ``position``; safe from a writer thread (an int assignment), the
        followers are woken by ``wake`` in their loop."""
        self.position = max(self.position, position)

    def wake(self) -> None:
        self._moved.set()

    async def wait_above(self, after_position: int, timeout: float) -> None:
        """Return when the head passes ``after_position``, or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.position <= after_position:
            # Wait again when woken for nothing new (an append of no events, or a database's
            # announcement of a position the caller has read already).
            self._moved.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), remaining)


def answer(group: Sequence[QueuedAppend], head: LogHead | None) -> None:
    """Answer every caller of a finished group in its own event loop (the writer may be a thread
    of its own): one wake-up per loop for the whole group, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[QueuedAppend]] = {}
    for job in group:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():
        loop.call_soon_threadsafe(_answer_in_loop, jobs, head)


def _answer_in_loop(jobs: list[QueuedAppend], head: LogHead | None) -> None:
    # Wake the followers whenever something committed, even if its caller was cancelled.
    if head is not None and any(isinstance(j.result, list) for j in jobs):
        head.wake()
    for job in jobs:
        if job.future.done():  # the caller was cancelled; the commit stands regardless
            continue
        if isinstance(job.result, BaseException):
            job.future.set_exception(job.result)
        elif job.result is not None:
            job.future.set_result(job.result)
