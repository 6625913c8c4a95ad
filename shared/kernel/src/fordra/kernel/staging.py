"""``StagedEventStore``: run several commands against one store and commit them as ONE append.

A batch that must be accepted or rejected whole (a file of invoices, issue: invoicing) runs each
command's use case unchanged against this wrapper: reads see the store plus what earlier commands
of the batch staged, appends are checked against that view and staged, and ``appends()`` answers
one ``StreamAppend`` per stream with the version the stream had in the store, so the final append
is optimistic over the whole batch: a concurrent writer makes it a conflict, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.eventstore import (
    DelegatingEventStore,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)


class StagedEventStore(DelegatingEventStore):
    """Streams, versions and appends see the batch; the log, tracking and waiting are the store's
    (forwarded by ``DelegatingEventStore``)."""

    def __init__(self, inner: EventStore, *, new_when_unread: bool = False) -> None:
        """``new_when_unread``: an append at version 0 to a stream the batch never read is taken
        as creating it (a new id, like ``assume_new``), without a read; the final append still
        checks version 0, so the caller decides again without it on a ``ConcurrencyConflict``."""
        super().__init__(inner)
        self._new_when_unread = new_when_unread
        self._base: dict[str, int] = {}
        self._staged: dict[str, list[Envelope]] = {}
        self._cache: dict[str, list[Envelope]] = {}

    async def prefetch(self, stream_ids: Sequence[str]) -> None:
        """Read these streams in bulk now; later reads of them come from memory."""
        missing = [s for s in dict.fromkeys(stream_ids) if s not in self._cache]
        if not missing:
            return
        found = await self.inner.read_streams(missing)
        for stream_id in missing:
            events = found.get(stream_id, [])  # a stream not yet written is empty
            self._cache[stream_id] = events
            self._base.setdefault(stream_id, events[-1].version if events else 0)

    def assume_new(self, stream_ids: Sequence[str]) -> None:
        """Take these streams as not yet written, without reading them: a decision creates them
        (a new id). The final append still checks version 0 for each, so a stream that existed
        after all makes the batch a ``ConcurrencyConflict``, never a second history."""
        for stream_id in stream_ids:
            if stream_id not in self._base and not self._staged.get(stream_id):
                self._cache[stream_id] = []
                self._base[stream_id] = 0

    async def _version(self, stream_id: str) -> int:
        if stream_id not in self._base:
            version = await self.inner.stream_version(stream_id)
            self._base[stream_id] = version
            if version == 0:
                self._cache[stream_id] = []  # not yet written: a later read needs no round trip
        return self._base[stream_id] + len(self._staged.get(stream_id, []))

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        if tracking is not None:
            raise ValueError("a staged batch is a command, not a consumer: no tracking")
        if self._new_when_unread:
            self.assume_new([a.stream_id for a in appends if a.expected_version == 0])
        for a in appends:
            current = await self._version(a.stream_id)
            if current != a.expected_version:
                raise ConcurrencyConflict(a.stream_id, a.expected_version, current)
        staged: list[Envelope] = []
        for a in appends:
            self._staged.setdefault(a.stream_id, []).extend(a.events)
            staged.extend(a.events)
        return staged

    def appends(self) -> list[StreamAppend]:
        return [
            StreamAppend(stream, self._base[stream], list(events))
            for stream, events in self._staged.items()
            if events
        ]

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        if stream_id not in self._cache and after_version == 0:
            # Kept, with its version: the batch reads a stream as of one moment, and the final
            # append checks that version, so a second read (or the append's check) costs nothing.
            self._cache[stream_id] = await self.inner.read_stream(stream_id)
            events = self._cache[stream_id]
            self._base.setdefault(stream_id, events[-1].version if events else 0)
        if stream_id in self._cache:
            stored = [e for e in self._cache[stream_id] if e.version > after_version]
        else:
            stored = await self.inner.read_stream(stream_id, after_version)
        staged = [e for e in self._staged.get(stream_id, []) if e.version > after_version]
        return [*stored, *staged]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        # Stream by stream through read_stream, so that each one shows what the batch staged.
        return await EventStore.read_streams(self, stream_ids)

    async def stream_version(self, stream_id: str) -> int:
        return await self._version(stream_id)

    async def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        return None  # keys belong to the batch as a whole, checked by its own use case
