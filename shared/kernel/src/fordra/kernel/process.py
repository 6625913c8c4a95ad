"""Process managers: a context reacting to another context's public events by appending to its
own store, with its tracking row in the same transaction (eventsourcing's ``ProcessRecorder``).

The runner is a ``Consumer`` like a projection, so both buses drive it unchanged: effects (the
appends) and the tracked position commit together, a redelivered event is refused by the store's
tracking check and changes nothing, and the runner resumes from its own tracked position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import AlreadyProcessed, EventStore, StreamAppend, Tracking
from fordra.kernel.projection import unseen
from fordra.kernel.staging import StagedEventStore

if TYPE_CHECKING:
    from fordra.kernel.parking import ParkedEvents

# Decide what to append for one upstream event, reading the context's own store through the view
# it is given (the runner's staged view of a batch: earlier reactions of the batch included).
Reaction = Callable[[Envelope, EventStore], Awaitable[Sequence[StreamAppend]]]


def _none(_env: Envelope) -> Iterable[str]:
    return ()


async def append_caused(
    registry: EventRegistry,
    store: EventStore,
    cause: Envelope,
    *,
    context: str,
    stream_id: str,
    event: Event,
) -> list[StreamAppend]:
    """The usual reaction's effect: ``event`` appended at the next version of ``stream_id``,
    carrying the upstream event's causation and time."""
    version = await store.stream_version(stream_id)
    envelope = registry.envelope(
        event,
        context=context,
        stream_id=stream_id,
        version=version + 1,
        metadata=cause.caused_metadata(),
        occurred_at=cause.occurred_at,
    )
    return [StreamAppend(stream_id, version, [envelope])]


@dataclass(frozen=True, slots=True)
class Prefetched:
    """A reaction that names ahead the streams it will read (``reads``) and the streams it starts
    (``creates``: new by construction, such as a receivable opened for a new invoice), so that
    the runner reads a whole batch's streams in one ``read_streams`` call and does not read a
    stream the decision creates. Used as a ``Reaction``; a plain reaction is read as it goes."""

    react: Reaction
    reads: Callable[[Envelope], Iterable[str]] = _none
    creates: Callable[[Envelope], Iterable[str]] = _none

    async def __call__(self, env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        return await self.react(env, store)


class ProcessManagerRunner:
    def __init__(
        self, name: str, store: EventStore, reactions: dict[str, Reaction], *, attempts: int = 5
    ) -> None:
        self.name = f"process:{name}"
        self.store = store
        self.reactions = reactions
        self.attempts = attempts

    async def position(self, upstream: str) -> int:
        return await self.store.tracked_position(self.name, upstream)

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        """React to a batch and commit all its appends with the tracking row in ONE append: one
        transaction per batch rather than per event. Reactions read through a staged view, so
        each sees what the earlier ones of the batch decided."""
        for attempt in range(1, self.attempts + 1):
            tracked = await self.position(upstream)
            fresh = unseen(events, tracked)
            if not fresh:
                return tracked
            # A stream named as new is checked by the append's version check: on a conflict the
            # next attempt reads it like any other.
            staged = await self._staged(fresh, assume_new=attempt == 1)
            for env in fresh:
                reaction = self.reactions.get(env.event_type)
                if reaction is not None:
                    await staged.append(await reaction(env, staged))
            tracking = Tracking(self.name, upstream, fresh[-1].position)
            try:
                # Even a batch with no reaction moves the tracking, in the same way.
                await self.store.append(staged.appends(), tracking=tracking)
                return fresh[-1].position
            except AlreadyProcessed:
                return await self.position(upstream)  # another runner did it meanwhile
            except ConcurrencyConflict:
                if attempt == self.attempts:
                    raise
                # a command changed one of the streams meanwhile: react again on fresh state
        raise AssertionError("unreachable")  # pragma: no cover

    async def _staged(self, events: Sequence[Envelope], *, assume_new: bool) -> StagedEventStore:
        """The batch's view of the store, with every stream its reactions name read at once."""
        staged = StagedEventStore(self.store)
        reads: list[str] = []
        new: list[str] = []
        for env in events:
            reaction = self.reactions.get(env.event_type)
            if isinstance(reaction, Prefetched):
                reads.extend(reaction.reads(env))
                new.extend(reaction.creates(env))
        if assume_new:
            staged.assume_new(new)
        else:
            reads.extend(new)
        await staged.prefetch(reads)
        return staged

    async def replay(
        self, upstream: str, event: Envelope, parked: ParkedEvents, parked_id: int
    ) -> bool:
        """React to one parked event out of order. Its appends commit with a tracking row of
        their own for this one event, so the store refuses a second replay; the record in the
        read models is marked afterwards (another database: a crash between the two is mended by
        replaying again, which then only marks it)."""
        for attempt in range(1, self.attempts + 1):
            staged = StagedEventStore(self.store)
            reaction = self.reactions.get(event.event_type)
            if reaction is not None:
                await staged.append(await reaction(event, staged))
            once = Tracking(f"{self.name}#replay@{event.position}", upstream, event.position)
            try:
                await self.store.append(staged.appends(), tracking=once)
                break
            except AlreadyProcessed:
                break
            except ConcurrencyConflict:
                if attempt == self.attempts:
                    raise
        return await parked.mark_replayed(parked_id)

    async def skip(self, upstream: str, position: int) -> None:
        try:
            await self.store.append([], tracking=Tracking(self.name, upstream, position))
        except AlreadyProcessed:
            return
