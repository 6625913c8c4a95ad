"""Process managers: a context reacting to another context's public events by appending to its
own store, with its tracking row in the same transaction (eventsourcing's ``ProcessRecorder``).

The runner is a ``Consumer`` like a projection, so both buses drive it unchanged: effects (the
appends) and the tracked position commit together, a redelivered event is refused by the store's
tracking check and changes nothing, and the runner resumes from its own tracked position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.eventstore import AlreadyProcessed, EventStore, StreamAppend, Tracking

# Decide what to append for one upstream event (reads of the own store are allowed).
Reaction = Callable[[Envelope], Awaitable[Sequence[StreamAppend]]]


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
        tracked = await self.position(upstream)
        for env in events:
            if env.position <= tracked:
                continue  # a redelivery
            await self._react(upstream, env)
            tracked = env.position
        return tracked

    async def _react(self, upstream: str, env: Envelope) -> None:
        reaction = self.reactions.get(env.event_type)
        tracking = Tracking(self.name, upstream, env.position)
        for attempt in range(1, self.attempts + 1):
            appends = await reaction(env) if reaction is not None else []
            try:
                # Even an event with no reaction moves the tracking, in the same way.
                await self.store.append(appends, tracking=tracking)
                return
            except AlreadyProcessed:
                return  # another runner did it meanwhile
            except ConcurrencyConflict:
                if attempt == self.attempts:
                    raise
                # a command changed the same stream meanwhile: decide again on fresh state

    async def skip(self, upstream: str, position: int) -> None:
        try:
            await self.store.append([], tracking=Tracking(self.name, upstream, position))
        except AlreadyProcessed:
            return
