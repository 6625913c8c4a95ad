"""``StagedEventStore``: several commands against one store, committed as one append. Reads see the
store plus what the batch staged; the final append is optimistic over the whole batch."""

from __future__ import annotations

import pytest

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.eventstore import IdempotencyRecord, Tracking
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.staging import StagedEventStore
from tests.kernel.contracts.eventstore import stream_append


async def _store() -> MemoryEventStore:
    store = MemoryEventStore(
        "invoicing", EnvelopeCodec("invoicing", PersonalDataSealer(InMemoryKeyRing()))
    )
    await store.start()
    return store


async def test_reads_see_the_store_and_the_batch_and_the_batch_commits_as_one_append() -> None:
    # Given a store with a serial stream at version 2
    store = await _store()
    await store.append([stream_append("serials", 0, [{"n": 1}, {"n": 2}])])
    staged = StagedEventStore(store)
    await staged.prefetch(["serials"])

    # When two commands of a batch append to it and to new streams
    await staged.append([stream_append("serials", 2, [{"n": 3}]), stream_append("inv-1", 0, [{}])])
    await staged.append([stream_append("serials", 3, [{"n": 4}]), stream_append("inv-2", 0, [{}])])

    # Then the batch's reads see the store plus what it staged, stream by stream and in bulk
    assert await staged.stream_version("serials") == 4
    assert [e.payload["n"] for e in await staged.read_stream("serials")] == [1, 2, 3, 4]
    assert [e.payload["n"] for e in await staged.read_stream("serials", after_version=3)] == [4]
    bulk = await staged.read_streams(["serials", "inv-1", "inv-3"])
    assert [len(bulk[s]) for s in ("serials", "inv-1", "inv-3")] == [4, 1, 0]
    # and the store itself holds nothing new yet; the log, its head and tracking are the store's
    assert await store.max_position() == 2
    assert await staged.max_position() == 2
    assert [e.position for e in await staged.read_log(0)] == [1, 2]
    assert await staged.tracked_position("dunning", "invoicing") == 0

    # When the batch is committed
    appends = staged.appends()
    stored = await store.append(appends)

    # Then it is one append per stream, expecting the versions the store had
    assert [(a.stream_id, a.expected_version, len(a.events)) for a in appends] == [
        ("serials", 2, 2),
        ("inv-1", 0, 1),
        ("inv-2", 0, 1),
    ]
    assert [e.position for e in stored] == [3, 4, 5, 6]


async def test_a_stale_command_in_the_batch_is_a_conflict() -> None:
    store = await _store()
    staged = StagedEventStore(store)
    await staged.append([stream_append("serials", 0, [{"n": 1}])])

    # A command that read before the first one staged its event is told it lost the race
    with pytest.raises(ConcurrencyConflict) as caught:
        await staged.append([stream_append("serials", 0, [{"n": 2}])])
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("serials", 0, 1)


async def test_a_concurrent_writer_makes_the_whole_batch_a_conflict() -> None:
    # Given a batch staged against a stream at version 0
    store = await _store()
    staged = StagedEventStore(store)
    await staged.append([stream_append("serials", 0, [{"n": 1}]), stream_append("inv-1", 0, [{}])])

    # When another writer appends to that stream before the batch commits
    await store.append([stream_append("serials", 0, [{"n": 99}])])

    # Then the batch's append is a conflict and none of it is written
    with pytest.raises(ConcurrencyConflict):
        await store.append(staged.appends())
    assert await store.read_stream("inv-1") == []


async def test_a_batch_takes_no_tracking_and_answers_no_idempotency_records() -> None:
    # Given a store holding a record under a key
    store = await _store()
    record = IdempotencyRecord("v2:key", "fp", b"answer")
    await store.append([stream_append("s", 0, [{}])], idempotency=record)
    staged = StagedEventStore(store)

    # Then the batch does not answer it (keys belong to the batch's own use case) and refuses a
    # consumer's tracking
    assert await staged.idempotency_record("v2:key") is None
    with pytest.raises(ValueError, match="tracking"):
        await staged.append([stream_append("t", 0, [{}])], tracking=Tracking("c", "u", 1))


async def test_a_stream_read_once_is_not_read_again_and_keeps_its_version() -> None:
    # Given a store with a stream at version 1, read once by the batch
    store = await _store()
    await store.append([stream_append("claims", 0, [{"n": 1}])])
    staged = StagedEventStore(store)
    assert len(await staged.read_stream("claims")) == 1

    # When another writer appends to it afterwards
    await store.append([stream_append("claims", 1, [{"n": 2}])])

    # Then the batch still sees the stream as it read it, and appends after that version
    assert [e.payload["n"] for e in await staged.read_stream("claims")] == [1]
    await staged.append([stream_append("claims", 1, [{"n": 3}])])
    # but the final append checks the version read, so the batch as a whole is a conflict
    with pytest.raises(ConcurrencyConflict):
        await store.append(staged.appends())


async def test_a_stream_appended_at_version_zero_is_taken_as_new_and_checked_at_the_end() -> None:
    # Given a stream that exists in the store, which the batch never read
    store = await _store()
    await store.append([stream_append("inv-1", 0, [{"n": 1}])])
    staged = StagedEventStore(store, new_when_unread=True)

    # When a command of the batch creates it at version 0, it is staged without a read
    await staged.append([stream_append("inv-1", 0, [{"n": 2}])])
    assert [e.payload["n"] for e in await staged.read_stream("inv-1")] == [2]

    # Then the final append refuses it: a conflict, never a second history
    with pytest.raises(ConcurrencyConflict):
        await store.append(staged.appends())
    # whereas without the option the command itself sees the stream's version
    plain = StagedEventStore(store)
    with pytest.raises(ConcurrencyConflict):
        await plain.append([stream_append("inv-1", 0, [{"n": 2}])])
