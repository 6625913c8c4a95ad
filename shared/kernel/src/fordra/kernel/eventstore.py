"""The event store port: one store per bounded context.

Every adapter passes the same contract suite (``tests/kernel/contracts/eventstore.py``):
- an append is optimistic on the stream version: a stale ``expected_version`` is a
  ``ConcurrencyConflict``, never a silent overwrite;
- several streams can be appended in one transaction, together with a consumer's tracking row and
  an idempotency record, so that an effect and the note that it happened commit together;
- the global log is read by position and a reader never skips an event whose transaction commits
  after a later position became visible (adapters prevent the gap when positions are handed out).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import FordraError


@dataclass(frozen=True, slots=True)
class StreamAppend:
    stream_id: str
    expected_version: int
    events: Sequence[Envelope]


@dataclass(frozen=True, slots=True)
class Tracking:
    """How far ``consumer`` has processed the log of the ``upstream`` context."""

    consumer: str
    upstream: str
    position: int


# Keys of the current format start with this (a hash of the caller's scope and the client's key,
# see fordra.kernel.application). A row without it was written by an older version: it may hold
# a whole response with personal data and no request names it any more, so a store deletes such
# rows when it starts.
IDEMPOTENCY_KEY_PREFIX = "v2:"
# Keys of content claims (fordra.kernel.application.content_claim: an invoice batch's file) start
# with this: such a record is the claim that the content was booked, and a file sent again years
# later must still answer the first result and book nothing, so it never expires
# (EventStore.forget_idempotency_before keeps it).
CONTENT_CLAIM_PREFIX = IDEMPOTENCY_KEY_PREFIX + "content:"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first answer to a request with an idempotency key; ``fingerprint`` is a hash of the
    request so that the same key with another body is refused rather than answered wrongly."""

    key: str
    fingerprint: str
    response: bytes


class AlreadyProcessed(FordraError):
    """The tracking row says this consumer has processed this position already: a redelivery."""


class RequestAlreadyDone(FordraError):
    """The idempotency key was used before for the same request; ``record`` is the first answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(f"request {record.key!r} was already done")
        self.record = record


class EventStore(ABC):
    """The port every adapter implements."""

    context: str

    @abstractmethod
    async def start(self) -> None:
        """Create the schema if needed, delete idempotency rows of an older format (without
        ``IDEMPOTENCY_KEY_PREFIX``) and open connections."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        """Append atomically; answer the stored envelopes with their global positions.

        Raises ``ConcurrencyConflict``, ``AlreadyProcessed`` (tracking not ahead of the stored one)
        or ``RequestAlreadyDone``/``IdempotencyKeyReused``; in every such case nothing is written.
        """

    @abstractmethod
    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]: ...

    @abstractmethod
    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        """Events with a position above ``after_position``, in position order, gap-free."""

    @abstractmethod
    async def max_position(self) -> int: ...

    async def committed_position(self) -> int:
        """The highest position this process knows to be committed, as cheaply as the store can
        tell it: a store that keeps its log's head in memory (moved by its writer before an
        append is answered) answers that without a query; any other asks the database. What
        another process committed may be missing until the store hears of it, so this is for
        waiting on what this process wrote (the in-process bus's settle), not for reading the
        log's end."""
        return await self.max_position()

    @abstractmethod
    async def tracked_position(self, consumer: str, upstream: str) -> int:
        """The position this store's tracking row holds for ``consumer`` (0 when none)."""

    @abstractmethod
    async def idempotency_record(self, key: str) -> IdempotencyRecord | None: ...

    @abstractmethod
    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        """Return when an event above ``after_position`` may be readable, or on timeout."""

    @abstractmethod
    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        """Delete the idempotency records recorded before ``cutoff``, except content claims (keys
        under ``CONTENT_CLAIM_PREFIX``), which never expire; answer how many were deleted. A
        client retrying with a forgotten key is executed again (the use case's own claims, an
        identity number or a ``source_reference``, still hold)."""

    async def stream_version(self, stream_id: str) -> int:
        events = await self.read_stream(stream_id)
        return events[-1].version if events else 0

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several streams at once (adapters answer with one query per chunk): a use case that
        touches thousands of streams, like a bank file, reads them up front."""
        return {stream_id: await self.read_stream(stream_id) for stream_id in stream_ids}


class DelegatingEventStore(EventStore):
    """A store that forwards every method of the port to ``inner``: a wrapper (a batch staged as
    one append, a benchmark's timing) subclasses it and overrides only what it changes.

    It does not own ``inner``: ``start`` and ``close`` do nothing, the inner store is started and
    closed by whoever made it (starting a running store again would, for one, start a second
    writer)."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.context = inner.context

    async def start(self) -> None:
        return

    async def close(self) -> None:
        return

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        return await self.inner.append(appends, tracking=tracking, idempotency=idempotency)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        return await self.inner.read_stream(stream_id, after_version)

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        return await self.inner.read_streams(stream_ids)

    async def stream_version(self, stream_id: str) -> int:
        return await self.inner.stream_version(stream_id)

    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        return await self.inner.read_log(after_position, limit)

    async def max_position(self) -> int:
        return await self.inner.max_position()

    async def committed_position(self) -> int:
        return await self.inner.committed_position()

    async def tracked_position(self, consumer: str, upstream: str) -> int:
        return await self.inner.tracked_position(consumer, upstream)

    async def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        return await self.inner.idempotency_record(key)

    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        await self.inner.wait_for_events(after_position, timeout)

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        return await self.inner.forget_idempotency_before(cutoff)
