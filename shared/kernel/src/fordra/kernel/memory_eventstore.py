"""``MemoryEventStore``: an event store held in the process's memory, for fast use-case tests.

It keeps the promises of the port (``fordra.kernel.eventstore``) and passes the same contract suite
as the SQLite and PostgreSQL stores: optimistic versions, a gap-free log, idempotency records and
content claims, tracking rows, waiters. It stores the codec's rows, so personal data lies sealed
with the store's sealer exactly as on disk, and a forgotten data subject reads back without it.

An append runs without yielding to the event loop between its checks and its writes, so it is
atomic against every other coroutine; positions are handed out in commit order, so no reader can
skip one. Nothing survives the process: a store object that is closed and started again keeps its
data (like a file), a new object starts empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fordra.kernel.appending import AppendRequest, LogHead, StoredFacts
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import StoreUnavailable
from fordra.kernel.eventstore import (
    CONTENT_CLAIM_PREFIX,
    IDEMPOTENCY_KEY_PREFIX,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)

# Where the codec's row (fordra.kernel.codec.ROW_COLUMNS) holds the event and the stream id.
_EVENT_ID = 1
_STREAM_ID = 2


class MemoryEventStore(EventStore):
    def __init__(self, context: str, codec: EnvelopeCodec) -> None:
        self.context = context
        self.codec = codec
        self._rows: list[list[Any]] = []  # the log: the row at index i has position i + 1
        self._streams: dict[str, list[int]] = {}  # stream id -> indexes into the log
        self._idempotency: dict[str, tuple[IdempotencyRecord, datetime]] = {}
        self._tracking: dict[tuple[str, str], int] = {}
        self._head: LogHead | None = None  # None while not started

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        # As the other stores do on start: rows of an older key format are never looked up again.
        for key in [k for k in self._idempotency if not k.startswith(IDEMPOTENCY_KEY_PREFIX)]:
            del self._idempotency[key]
        self._head = LogHead(len(self._rows))

    async def close(self) -> None:
        self._head = None

    def _started(self) -> LogHead:
        if self._head is None:
            raise StoreUnavailable(f"event store {self.context!r} is not started")
        return self._head

    # -- writes ----------------------------------------------------------------------------------

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        head = self._started()
        request = AppendRequest.encode(self.codec, appends, tracking, idempotency)
        first = self._idempotency.get(idempotency.key) if idempotency is not None else None
        facts = StoredFacts(
            first_answer=first[0] if first is not None else None,
            tracked=(
                self._tracking.get((tracking.consumer, tracking.upstream))
                if tracking is not None
                else None
            ),
            versions=[len(self._streams.get(a.stream_id, ())) for a in appends],
        )
        position = len(self._rows)
        recorded = datetime.now(UTC)
        stored = request.accept(facts, position, recorded)
        if len({(a.stream_id, env.version) for a in appends for env in a.events}) < request.size:
            # One stream twice in one append: what the other stores' unique (stream_id, version)
            # refuses.
            raise request.lost_race()
        # From here on nothing can fail: the append is written whole.
        for index, row in enumerate(request.rows, start=position):
            self._rows.append(row)
            self._streams.setdefault(row[_STREAM_ID], []).append(index)
        if idempotency is not None:
            self._idempotency[idempotency.key] = (idempotency, recorded)
        if tracking is not None:
            self._tracking[(tracking.consumer, tracking.upstream)] = tracking.position
        if request.rows:
            head.move_to(len(self._rows))
            head.wake()
        return stored

    # -- reads -----------------------------------------------------------------------------------

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        self._started()
        # Index i of a stream's list holds its version i + 1.
        indexes = self._streams.get(stream_id, [])[max(after_version, 0) :]
        return [self.codec.from_row(self._rows[i]) for i in indexes]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        return {stream_id: await self.read_stream(stream_id) for stream_id in stream_ids}

    async def read_log(self, after_position: int, limit: int = 1000) -> list[Envelope]:
        self._started()
        start = max(after_position, 0)
        return [self.codec.from_row(row) for row in self._rows[start : start + max(limit, 0)]]

    async def stream_version(self, stream_id: str) -> int:
        self._started()
        return len(self._streams.get(stream_id, ()))

    async def max_position(self) -> int:
        self._started()
        return len(self._rows)

    async def tracked_position(self, consumer: str, upstream: str) -> int:
        self._started()
        return self._tracking.get((consumer, upstream), 0)

    async def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        self._started()
        found = self._idempotency.get(key)
        return found[0] if found is not None else None

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        self._started()
        cutoff = cutoff.astimezone(UTC)  # a naive cutoff is local time, as the SQL stores read it
        expired = [
            key
            for key, (_record, recorded) in self._idempotency.items()
            if recorded < cutoff and not key.startswith(CONTENT_CLAIM_PREFIX)
        ]
        for key in expired:
            del self._idempotency[key]
        return len(expired)

    async def wait_for_events(self, after_position: int, timeout: float) -> None:
        if self._head is not None:  # not started: nothing will come
            await self._head.wait_above(after_position, timeout)

    # -- for tests -------------------------------------------------------------------------------

    def raw_row(self, event_id: str) -> tuple[Any, ...] | None:
        """The stored row of ``event_id`` as the codec wrote it (personal data sealed), for a test
        that checks what the store actually holds."""
        for row in self._rows:
            if row[_EVENT_ID] == event_id:
                return tuple(row)
        return None
