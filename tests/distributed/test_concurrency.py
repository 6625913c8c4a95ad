"""Concurrency against the PostgreSQL event store, on the real server: writers racing on one
stream (two connections, then two OS processes), many writers on many streams through two store
instances on one schema (as the API process and a service process have) while readers poll, and a
slow transaction holding an early position while later appends want to commit.

The store's promise (fordra.kernel.postgres_eventstore): every appending transaction takes the
events table in EXCLUSIVE mode and reads the next position under that lock, so positions commit
in order; a reader following the log by position never skips one; plain reads are not blocked."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from fordra.kernel.codec import ROW_COLUMNS
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import ConcurrencyConflict, StoreUnavailable
from fordra.kernel.postgres_eventstore import PostgresEventStore, PostgresOptions
from tests.distributed.harness import Services, Stack, ledger_store, read_whole_log
from tests.kernel.contracts.eventstore import envelope, stream_append

pytestmark = pytest.mark.distributed


# -- two writers, one stream -----------------------------------------------------------------------


async def test_two_connections_racing_on_one_stream_exactly_one_wins(stack: Stack) -> None:
    # Given two store instances on one schema (two connection pools: the API and a service)
    async with ledger_store(stack) as api, ledger_store(stack) as service:
        wins: Counter[str] = Counter()
        for version in range(40):
            # When both append the stream's next version at the same moment
            racing = [
                store.append([stream_append("invoice-1", version, [{"amount": 100, "by": name}])])
                for name, store in (("api", api), ("service", service))
            ]
            results = await asyncio.gather(*racing, return_exceptions=True)

            # Then exactly one wins and the other is told of the conflict, with the real version
            won = [r for r in results if isinstance(r, list)]
            lost = [r for r in results if isinstance(r, ConcurrencyConflict)]
            assert (len(won), len(lost)) == (1, 1), results
            assert (lost[0].stream_id, lost[0].expected, lost[0].actual) == (
                "invoice-1",
                version,
                version + 1,
            )
            wins[won[0][0].payload["by"]] += 1

        # and the stream holds the 40 winners, nothing of the losers
        events = await api.read_stream("invoice-1")
        assert [e.version for e in events] == list(range(1, 41))
        assert [e.position for e in events] == list(range(1, 41))
        assert sum(wins.values()) == 40
        assert await service.max_position() == 40


@pytest.mark.slow
async def test_two_processes_racing_on_one_stream_lose_nothing(
    stack: Stack, services: Services
) -> None:
    # Given two OS processes that each append 60 events to one stream, one at a time, reading
    # the version first and retrying on a conflict, starting at the same instant
    async with ledger_store(stack) as store:
        start_at = f"{time.time() + 2.5:.3f}"
        writers = [
            services.worker(
                "append_worker", stack.url, "ledger", "invoice-1", "60", tag, start_at, name=tag
            )
            for tag in ("api", "service")
        ]
        await asyncio.gather(*(w.start() for w in writers))

        # When both are done
        summaries = [orjson.loads((await w.wait_for_line("done ", 60))[5:]) for w in writers]

        # Then they did race (some appends lost to the other and were decided again)
        assert sum(s["conflicts"] for s in summaries) > 0, summaries
        # and the stream has all 120 events, each once, versions and positions gap-free, and
        # each writer's events in the order it appended them
        events = await store.read_stream("invoice-1")
        assert [e.version for e in events] == list(range(1, 121))
        assert [e.position for e in events] == list(range(1, 121))
        for tag, summary in zip(("api", "service"), summaries, strict=True):
            mine = [e for e in events if e.payload["writer"] == tag]
            assert [e.payload["n"] for e in mine] == list(range(60))
            assert [e.position for e in mine] == summary["appended"]
        assert sum(e.payload["amount"] for e in events) == 2 * sum(range(1000, 1060))


# -- many writers, many streams, readers polling ---------------------------------------------------


async def test_many_writers_on_two_store_instances_no_reader_ever_skips(stack: Stack) -> None:
    async with ledger_store(stack) as api, ledger_store(stack) as service:
        stores = (api, service)
        done = asyncio.Event()
        answered: list[Envelope] = []

        async def writer(w: int) -> None:
            # each writer owns three streams; appends of 1-3 events, sometimes to two streams in
            # one transaction; half the writers go through each store instance
            store = stores[w % 2]
            rng = random.Random(w)
            versions = dict.fromkeys((f"w{w}-s{s}" for s in range(3)), 0)
            for _ in range(30):
                chosen = rng.sample(sorted(versions), rng.choice((1, 1, 2)))
                appends = [
                    stream_append(
                        s,
                        versions[s],
                        [{"amount": rng.randint(1, 99_999)}] * rng.randint(1, 3),
                        tenant=f"t{w % 3}",
                    )
                    for s in chosen
                ]
                answered.extend(await store.append(appends))
                for a in appends:
                    versions[a.stream_id] += len(a.events)

        async def reader(store: PostgresEventStore, page: int) -> list[int]:
            # polls the log as a subscriber does; a read handing out a position that is not the
            # next one means an event was skipped (committed later at a lower position)
            seen: list[int] = []
            position = 0
            while not done.is_set() or position < await store.max_position():
                batch = await store.read_log(position, page)
                for env in batch:
                    assert env.position == position + 1, f"reader at {position} got {env.position}"
                    position = env.position
                    seen.append(position)
                if not batch:
                    await asyncio.sleep(0.001)
            return seen

        # When 12 writers append through both instances while 4 readers poll both
        readers = [
            asyncio.create_task(reader(store, page)) for store in stores for page in (7, 1000)
        ]
        await asyncio.gather(*(writer(w) for w in range(12)))
        done.set()
        seen = await asyncio.gather(*readers)

        # Then every reader saw every position once, in order
        log = await read_whole_log(api)
        assert len(log) == len(answered) > 600
        for positions in seen:
            assert positions == list(range(1, len(log) + 1))
        # and every append's answer is what the log holds; streams are gap-free
        by_id = {e.event_id: e.position for e in log}
        assert {e.event_id: e.position for e in answered} == by_id
        for stream in {e.stream_id for e in log}:
            versions = [e.version for e in log if e.stream_id == stream]
            assert versions == list(range(1, len(versions) + 1))


# -- a slow transaction holding an early position --------------------------------------------------


async def test_a_slow_transaction_at_position_p_keeps_later_ones_from_committing_first(
    stack: Stack,
) -> None:
    async with ledger_store(stack) as api, ledger_store(stack) as service:
        await api.append([stream_append("invoice-0", 0, [{"amount": 1}] * 5)])
        schema = api.schema

        # Given a slow writer in another session that follows the store's protocol: it takes the
        # events table in EXCLUSIVE mode, takes position p = max + 1, inserts, and dawdles
        slow = await asyncpg.connect(stack.dsn)
        try:
            transaction = slow.transaction()
            await transaction.start()
            await slow.execute(f"LOCK TABLE {schema}.events IN EXCLUSIVE MODE")
            p = await slow.fetchval(f"SELECT COALESCE(MAX(position), 0) + 1 FROM {schema}.events")
            assert p == 6
            slow_event = envelope("invoice-slow", 1, {"amount": 2})
            await _insert(slow, api, slow_event, p)

            # When later appends come through both store instances while readers poll
            later = [
                asyncio.create_task(
                    store.append([stream_append(f"invoice-{i}", 0, [{"amount": 10 + i}])])
                )
                for i, store in enumerate((api, service, api, service), start=1)
            ]
            seen: list[list[int]] = [[], []]
            stop = asyncio.Event()

            async def reader(store: PostgresEventStore, into: list[int]) -> None:
                position = 0
                while not stop.is_set() or position < 10:
                    batch = await store.read_log(position, 100)
                    for env in batch:
                        assert env.position == position + 1, f"{position} -> {env.position}"
                        position = env.position
                        into.append(position)
                    await asyncio.sleep(0.005)

            readers = [
                asyncio.create_task(reader(store, into))
                for store, into in zip((api, service), seen, strict=True)
            ]
            await asyncio.sleep(1.0)

            # Then none of them has committed: they queue on the lock, not past it
            assert not any(t.done() for t in later)
            waiting = await _waiting_for_lock(stack, schema)
            assert waiting == 2, "each store's writer should wait on the events table"
            # while reading goes on, unblocked, and shows nothing past p - 1
            assert [e.position for e in await service.read_log(0)] == [1, 2, 3, 4, 5]
            assert seen == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]

            # When the slow one commits
            await transaction.commit()
        finally:
            await slow.close()
        stored = [e for t in later for e in await t]
        stop.set()
        await asyncio.gather(*readers)

        # Then the later ones took p + 1 onwards, and every reader saw p before them
        assert sorted(e.position for e in stored) == [7, 8, 9, 10]
        assert seen == [list(range(1, 11)), list(range(1, 11))]
        log = await read_whole_log(api)
        assert log[5].event_id == slow_event.event_id


async def test_a_slow_transaction_beyond_the_lock_timeout_fails_appends_cleanly(
    stack: Stack,
) -> None:
    async with ledger_store(stack) as api:
        await api.append([stream_append("invoice-0", 0, [{"amount": 1}])])
        impatient = PostgresEventStore(
            stack.url, "ledger", api.codec, PostgresOptions(lock_timeout_ms=300)
        )
        await impatient.start()
        slow = await asyncpg.connect(stack.dsn)
        try:
            # Given a slow writer holding the events table's lock, with position 2 written
            transaction = slow.transaction()
            await transaction.start()
            await slow.execute(f"LOCK TABLE {api.schema}.events IN EXCLUSIVE MODE")
            await _insert(slow, api, envelope("invoice-slow", 1, {"amount": 2}), 2)

            # When an append waits longer than its lock timeout
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="lock timeout"):
                await impatient.append([stream_append("invoice-1", 0, [{"amount": 3}])])

            # Then it failed in time, and wrote nothing
            assert 0.25 < time.monotonic() - started < 5
            await transaction.commit()
        finally:
            await slow.close()
        assert [e.stream_id for e in await api.read_log(0)] == ["invoice-0", "invoice-slow"]
        assert await impatient.read_stream("invoice-1") == []

        # and once the lock is free, the same store appends again, after the slow one
        (stored,) = await impatient.append([stream_append("invoice-1", 0, [{"amount": 3}])])
        assert stored.position == 3
        await impatient.close()


async def _insert(
    conn: asyncpg.Connection, store: PostgresEventStore, env: Envelope, p: int
) -> None:
    """Insert ``env`` at position ``p`` with ``conn``, as the store's writer would."""
    row = store.codec.to_row(env)
    row[0] = p
    row[7] = datetime.now(UTC).isoformat()
    await conn.copy_records_to_table(
        "events", schema_name=store.schema, columns=ROW_COLUMNS, records=[tuple(row)]
    )


async def _waiting_for_lock(stack: Stack, schema: str) -> int:
    count: int = await stack.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = 'events' AND NOT l.granted",
        schema,
    )
    return count
