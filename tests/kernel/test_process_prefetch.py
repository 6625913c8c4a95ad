"""A process manager reads a delivered batch's streams at once: reactions that name the streams
they read (``Prefetched``) are served from one ``read_streams`` call, and a stream a reaction
names as new is not read at all; the append's version check still guards it, so a stream that
existed after all is read on the next attempt and the outcome is the one-by-one outcome."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import DelegatingEventStore, EventStore, StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import Prefetched, ProcessManagerRunner, Reaction
from tests.kernel.contracts.eventstore import read_whole_log, stream_append


class CountingStore(DelegatingEventStore):
    """The store, counting the reads that reach it."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.single_reads: list[str] = []
        self.bulk_reads: list[list[str]] = []

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        self.single_reads.append(stream_id)
        return await self.inner.read_stream(stream_id, after_version)

    async def stream_version(self, stream_id: str) -> int:
        self.single_reads.append(stream_id)
        return await self.inner.stream_version(stream_id)

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        self.bulk_reads.append(list(stream_ids))
        return await self.inner.read_streams(stream_ids)


async def _store(context: str) -> MemoryEventStore:
    store = MemoryEventStore(context, EnvelopeCodec(context, PersonalDataSealer(InMemoryKeyRing())))
    await store.start()
    return store


async def _upstream_events(accounts: Sequence[str]) -> list[Envelope]:
    upstream = await _store("ledger")
    for n, account in enumerate(accounts):
        await upstream.append([stream_append(f"order-{n}", 0, [{"account": account, "n": n}])])
    return await read_whole_log(upstream)


async def _count_and_open(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
    """Adds one to the account's counter stream and opens a stream for the order."""
    account, n = env.payload["account"], env.payload["n"]
    version = await store.stream_version(f"counter-{account}")
    opened = await store.stream_version(f"opened-{n}")
    return [
        stream_append(f"counter-{account}", version, [{"n": n}], context="shop"),
        stream_append(f"opened-{n}", opened, [{"n": n}], context="shop"),
    ]


def _reads(env: Envelope) -> Iterable[str]:
    return [f"counter-{env.payload['account']}"]


def _creates(env: Envelope) -> Iterable[str]:
    return [f"opened-{env.payload['n']}"]


async def _run(reaction: Reaction, events: list[Envelope], *, before: int = 0) -> CountingStore:
    store = CountingStore(await _store("shop"))
    for n in range(before):  # streams that exist already although named new
        await store.inner.append([stream_append(f"opened-{n}", 0, [{"n": -1}], context="shop")])
    runner = ProcessManagerRunner("shop", store, {"AmountRecorded": reaction})
    assert await runner.handle("ledger", events) == events[-1].position
    return store


def _streams(log: list[Envelope]) -> list[tuple[str, int, int]]:
    return sorted((e.stream_id, e.version, e.payload["n"]) for e in log)


async def test_a_batch_reads_its_streams_in_one_call_and_not_the_streams_it_creates() -> None:
    events = await _upstream_events(["a", "b", "a", "c", "a"])

    plain = await _run(_count_and_open, events)
    prefetched = await _run(Prefetched(_count_and_open, reads=_reads, creates=_creates), events)

    # The same appends as reading stream by stream
    assert _streams(await read_whole_log(prefetched)) == _streams(await read_whole_log(plain))
    assert len(plain.single_reads) == 8  # each stream once: the staged view keeps its version
    # but one bulk read of the three counters, and the five new streams never read
    assert prefetched.bulk_reads == [["counter-a", "counter-b", "counter-c"]]
    assert prefetched.single_reads == []


async def test_a_stream_named_new_that_exists_is_read_on_the_next_attempt() -> None:
    events = await _upstream_events(["a", "b"])

    plain = await _run(_count_and_open, events, before=1)
    prefetched = await _run(
        Prefetched(_count_and_open, reads=_reads, creates=_creates), events, before=1
    )

    # opened-0 existed: the first attempt's append conflicts, the second reads it and appends
    # after it, as the plain reaction does
    assert _streams(await read_whole_log(prefetched)) == _streams(await read_whole_log(plain))
    assert ("opened-0", 2, 0) in _streams(await read_whole_log(prefetched))
    assert len(prefetched.bulk_reads) == 2
    assert "opened-0" in prefetched.bulk_reads[1]
