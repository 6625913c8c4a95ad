"""Faults of the distributed engine, on the real broker and database: processes SIGKILLed in the
middle of their work, consumers restarted, the broker and PostgreSQL restarted or their
connections cut, two relays at once, a poison event. Each test ends with the read model equal to
the expected one to the öre, no event lost and none applied twice."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from fordra.kernel.codec import EnvelopeCodec, message_from_envelope
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import StoreUnavailable
from fordra.kernel.kafka_bus import KafkaBus
from fordra.kernel.kafka_relay import OutboxRelay, ensure_topics, safe_producer
from fordra.kernel.parking import ParkedEvents
from fordra.kernel.personal_data import PersonalDataSealer, SqliteKeyRing
from fordra.kernel.postgres_eventstore import PostgresEventStore, schema_for
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from tests.distributed.harness import (
    Municipalities,
    Service,
    Services,
    Stack,
    TopicTail,
    amounts,
    append_amounts,
    check_relayed,
    customer_ledger_rows,
    flowing,
    last_relayed_position,
    ledger_read_model,
    ledger_rows,
    ledger_snapshot,
    ledger_store,
    projection_tracking,
    read_topic,
    read_whole_log,
    wait_until,
)
from tests.kernel.contracts.eventstore import stream_append
from tests.kernel.contracts.subscriptions import LedgerProjection, expected_rows
from tests.utils.servers import KafkaServer, PostgresServer

pytestmark = pytest.mark.distributed


@contextlib.asynccontextmanager
async def invoicing_store(stack: Stack) -> AsyncIterator[PostgresEventStore]:
    """Invoicing's store as the API process has it: sealing with the keys the services share."""
    keyring = SqliteKeyRing(stack.data_dir / "keys.sqlite")
    store = PostgresEventStore(
        stack.url, "invoicing", EnvelopeCodec("invoicing", PersonalDataSealer(keyring))
    )
    await store.start()
    try:
        yield store
    finally:
        await store.close()
        keyring.close()


# -- the relay SIGKILLed in the middle of a batch --------------------------------------------------


@pytest.mark.slow
async def test_relay_sigkilled_mid_batch_republishes_and_the_ledger_is_exact(
    stack: Stack, services: Services
) -> None:
    async with invoicing_store(stack) as store:
        # Given customers and 3,000 events of invoices waiting in invoicing's log
        towns = Municipalities(store)
        await towns.register_customers(30)
        await towns.issue_invoices(750)
        # and the real processes: `fordra serve invoicing` (the relay) and `... projections`
        relay = services.fordra_serve("invoicing")
        projections = services.fordra_serve("projections")
        await projections.start()

        # When invoices keep coming while the relay is SIGKILLed at random moments of its
        # publishing, until at least three kills have caught it in the middle of a batch (messages
        # on the topic beyond the position it had recorded), and the projections process is
        # restarted once in between
        issuing = True
        numbering = asyncio.Lock()  # one writer at a time on the towns' invoice series

        async def keep_issuing() -> None:
            while issuing:
                async with numbering:
                    await towns.issue_invoices(5)
                await asyncio.sleep(0.05)

        writer = asyncio.create_task(keep_issuing())
        kills: list[tuple[int, int]] = []  # (recorded position, last position on the topic)
        tail = TopicTail(stack.bootstrap, stack.topic("invoicing"))
        try:
            while sum(on_topic > recorded for recorded, on_topic in kills) < 3:
                assert len(kills) < 10, f"no three kills in the middle of a batch: {kills}"
                # Each (re)start meets a backlog of at least three batches of 500, written while
                # the relay was down: a relay that has caught up publishes the trickle a few events
                # at a time, and a kill could hardly fall inside such a batch
                if kills:
                    async with numbering:
                        await towns.issue_invoices(375)
                before = await stack.relay_progress("invoicing")
                await relay.start()
                # (once it has recorded a batch, so that the tail of the last kill is on the topic
                # again, it is frozen at random moments until one finds messages on the topic
                # beyond the position it has recorded: a check without a race, as the frozen relay
                # can neither publish nor record meanwhile; wherever it is after 100 looks)
                await wait_until(
                    partial(_moved_past, stack, before), 20, "the relay publishes", poll=0.005
                )
                await _freeze_mid_batch(relay, stack, tail)
                relay.kill()
                recorded = await stack.relay_progress("invoicing")
                on_topic = await last_relayed_position(stack.bootstrap, stack.topic("invoicing"))
                # (a relay that recorded more than the topic holds would skip events for good)
                assert on_topic >= recorded, f"recorded {recorded}, published {on_topic}"
                kills.append((recorded, on_topic))
                if len(kills) == 2:
                    await projections.stop()
                    await projections.start()
        finally:
            issuing = False
            await writer
            await tail.close()
        await relay.start()

        # Then the relay catches up with the whole log
        log = await read_whole_log(store)
        assert len(log) == len(towns.expected_customers()) + 2 * len(towns.invoices)
        assert len(log) > 3000
        await wait_until(
            lambda: _recorded(stack, len(log)), 30, "the relay has published the whole log"
        )

        # and the topic has every position 1..N, in order, a killed batch's tail published again
        relayed = check_relayed(await read_topic(stack.bootstrap, stack.topic("invoicing")), log)
        assert relayed.duplicates > 0
        assert relayed.duplicates >= sum(max(0, t - r) for r, t in kills)

        # and the projections process, which followed it all, shows the exact ledger: every
        # invoice once, every customer's balance to the öre, nothing parked
        await wait_until(
            lambda: _tracked(stack, "projection:customer_ledger", "invoicing", len(log)),
            60,
            "the customer ledger has caught up",
        )
        invoices, balances, customers = await customer_ledger_rows(stack)
        assert invoices == towns.expected_invoices()
        assert balances == towns.expected_balances()
        assert customers == towns.expected_customers()
        assert await stack.fetchval("SELECT count(*) FROM projections.parked_events") == 0


# -- a projection killed between its effect and its commit -----------------------------------------


class RebuiltLedger(LedgerProjection):
    """The same projection under another name: its own consumer group and tracking row."""

    name: ClassVar[str] = "ledger_totals_rebuilt"


@pytest.mark.slow
async def test_projection_killed_between_effect_and_commit_equals_a_rebuild(
    stack: Stack, services: Services
) -> None:
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as read_model:
        # Given 2,000 events relayed to Kafka
        relay = OutboxRelay(
            store, store.codec, stack.bootstrap, namespace=stack.namespace, idle_wait=0.1
        )
        await relay.start()
        try:
            await append_amounts(store, 2000)
            log = await read_whole_log(store)

            # and a projections process whose apply hangs on a position in the middle of a batch,
            # after that event's effects, inside the batch's open transaction
            block_at = random.randint(700, 1000)
            argv = [stack.url, stack.bootstrap, stack.namespace, "ledger", "rm"]
            blocking = services.worker("projection_worker", *argv, "--block-at", str(block_at))
            await blocking.start()
            await blocking.wait_for_line(f"blocked {block_at}", 60)

            # Then PostgreSQL holds its transaction open with written rows in both tables
            backend = await _open_writer(stack, "rm")
            assert backend is not None, "no open transaction holding the read model's rows"
            # and nobody else sees any of its effects: the committed tables match the tracking
            tracked, rows = await ledger_snapshot(read_model, "ledger")
            assert tracked < block_at
            assert rows == expected_rows(log[:tracked])

            # When the process is SIGKILLed there, between the effect and the commit
            blocking.kill()

            # Then PostgreSQL rolls its transaction back: nothing of that batch remains
            await wait_until(
                lambda: _backend_gone(stack, backend), 10, "the killed backend has ended"
            )
            assert await ledger_snapshot(read_model, "ledger") == (tracked, rows)

            # When a projections process resumes, is SIGKILLed twice more at random moments while
            # it catches up (more events arriving meanwhile), and resumes again
            worker = services.worker("projection_worker", *argv, "--batch-size", "150")
            for kill in range(2):
                before = await read_model.position("ledger")
                await worker.start()
                await wait_until(
                    partial(_moved, read_model, before),
                    30,
                    "the projection advances",
                    poll=0.005,
                )
                await asyncio.sleep(random.uniform(0.0, 0.15))
                worker.kill()
                # (at each kill the committed tables are exactly the tracked prefix of the log)
                at, rows = await ledger_snapshot(read_model, "ledger")
                assert rows == expected_rows(log[:at]), kill
                if kill == 0:
                    await append_amounts(store, 400, prefix="late")
                    log = await read_whole_log(store)
            await worker.start()
            await wait_until(
                lambda: _at(read_model, len(log)), 60, "the projection has caught up", poll=0.05
            )
            incremental = await ledger_rows(read_model)
        finally:
            await relay.stop()

        # Then it equals a projection rebuilt from zero from the same topic, and the log itself
        async with ledger_read_model(stack, "rm_rebuilt", RebuiltLedger()) as rebuilt:
            bus = KafkaBus(stack.bootstrap, {"ledger": store.codec}, namespace=stack.namespace)
            bus.subscribe(rebuilt, "ledger")
            await bus.start()
            try:
                await wait_until(lambda: _at(rebuilt, len(log)), 60, "the rebuild has caught up")
            finally:
                await bus.stop()
            assert await ledger_rows(rebuilt) == incremental == expected_rows(log)
            assert sum(total for _tenant, total, _n in incremental[1]) == amounts(log)


async def _open_writer(stack: Stack, schema: str) -> int | None:
    """The backend of an open transaction holding row-write locks on both tables of ``schema``."""
    pid: int | None = await stack.fetchval(
        """
        SELECT a.pid FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.state = 'idle in transaction'
          AND (SELECT count(DISTINCT c.relname) FROM pg_locks l
               JOIN pg_class c ON c.oid = l.relation
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE l.pid = a.pid AND l.mode = 'RowExclusiveLock' AND l.granted
                 AND n.nspname = $1
                 AND c.relname IN ('ledger_stream_counts', 'ledger_tenant_totals')) = 2
        """,
        schema,
    )
    return pid


async def _backend_gone(stack: Stack, pid: int) -> bool:
    return not await stack.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)


async def _moved(runner: ProjectionRunner, position: int) -> bool:
    return await runner.position("ledger") > position


async def _at(runner: ProjectionRunner, position: int) -> bool:
    return await runner.position("ledger") >= position


async def _moved_past(stack: Stack, position: int) -> bool:
    return await stack.relay_progress("invoicing") > position


async def _freeze_mid_batch(relay: Service, stack: Stack, tail: TopicTail) -> bool:
    """SIGSTOP ``relay`` at random moments until it is frozen in the middle of a batch; whether it
    was (it stays frozen either way, to be killed)."""
    for _ in range(100):
        await asyncio.sleep(random.uniform(0.0, 0.03))
        relay.pause()
        await asyncio.sleep(0.02)  # what it sent before the freeze reaches the broker
        if await _mid_batch(stack, tail):
            return True
        relay.resume()
    relay.pause()
    return False


async def _mid_batch(stack: Stack, tail: TopicTail) -> bool:
    """The relay is in the middle of a batch: messages on the topic beyond what it has recorded
    (the topic is read first, so a batch recorded in between does not count)."""
    on_topic = await tail.position()
    return on_topic > await stack.relay_progress("invoicing")


async def _recorded(stack: Stack, position: int) -> bool:
    return await stack.relay_progress("invoicing") >= position


async def _tracked(stack: Stack, consumer: str, upstream: str, position: int) -> bool:
    return await projection_tracking(stack, consumer, upstream, "projections") >= position


# -- a consumer restarted while events flow --------------------------------------------------------


@pytest.mark.slow
async def test_consumer_restarted_mid_stream_resumes_at_its_tracked_position(stack: Stack) -> None:
    async with ledger_store(stack) as store:
        relay = OutboxRelay(
            store, store.codec, stack.bootstrap, namespace=stack.namespace, idle_wait=0.05
        )
        await relay.start()
        incarnations: list[tuple[int, LedgerProjection]] = []
        try:
            # Given 400 events, more arriving all along
            await append_amounts(store, 400)
            async with flowing(store):
                # When a consumer (a KafkaBus with a new runner and a new database handle, as a
                # restarted process has) is stopped at a random moment, three times over
                for _ in range(3):
                    bus, runner, projection = await _ledger_consumer(stack, store)
                    start = await runner.position("ledger")
                    try:
                        await wait_until(
                            partial(_moved, runner, start),
                            30,
                            "the consumer advances",
                            poll=0.005,
                        )
                        await asyncio.sleep(random.uniform(0.0, 0.3))
                    finally:
                        await bus.stop()
                        await runner.db.close()
                    incarnations.append((start, projection))
            # and a last one runs until the end of the log
            log = await read_whole_log(store)
            bus, runner, projection = await _ledger_consumer(stack, store)
            start = await runner.position("ledger")
            try:
                await wait_until(lambda: _at(runner, len(log)), 60, "the consumer has caught up")
                rows = await ledger_rows(runner)
            finally:
                await bus.stop()
                await runner.db.close()
            incarnations.append((start, projection))
        finally:
            await relay.stop()

    # Then each incarnation began right after the position its predecessor had committed and
    # applied every event once, in order (a batch cut by the stop was rolled back, not doubled)
    assert [start for start, _ in incarnations] == sorted({start for start, _ in incarnations})
    for start, projection in incarnations:
        assert projection.applied == list(range(start + 1, start + 1 + len(projection.applied)))
    assert incarnations[0][0] == 0
    assert all(0 < start < len(log) for start, _ in incarnations[1:])
    # and the read model is exact
    assert rows == expected_rows(log)
    assert sum(total for _tenant, total, _n in rows[1]) == amounts(log)


async def _ledger_consumer(
    stack: Stack, store: PostgresEventStore
) -> tuple[KafkaBus, ProjectionRunner, LedgerProjection]:
    """A started KafkaBus feeding a new runner of ``LedgerProjection`` on schema ``rm``."""
    projection = LedgerProjection()
    db = ReadModelDatabase(stack.url, schema="rm")
    runner = ProjectionRunner(projection, db)
    await db.start()
    bus = KafkaBus(
        stack.bootstrap,
        {"ledger": store.codec},
        namespace=stack.namespace,
        batch_size=100,
        retry_delay=0.05,
    )
    bus.subscribe(runner, "ledger")
    await bus.start()
    return bus, runner, projection


# -- the Kafka broker restarted while the relay publishes ------------------------------------------


@pytest.mark.slow
async def test_kafka_broker_restarted_while_the_relay_publishes(
    stack: Stack, kafka_server: KafkaServer
) -> None:
    broker = kafka_server.local
    if broker is None:
        pytest.fail(
            f"this test crashes and restarts the broker, so it needs the LocalKafka that the "
            f"session starts itself; {kafka_server.bootstrap} ({kafka_server.source}) is not ours",
            pytrace=False,
        )
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as runner:
        # Given a relay and a consumer following a flow of events
        relay = OutboxRelay(
            store, store.codec, stack.bootstrap, namespace=stack.namespace, idle_wait=0.05
        )
        bus = KafkaBus(
            stack.bootstrap, {"ledger": store.codec}, namespace=stack.namespace, retry_delay=0.05
        )
        bus.subscribe(runner, "ledger")
        await relay.start()
        await bus.start()
        try:
            async with flowing(store):
                await wait_until(lambda: _relayed(relay, 300), 30, "the relay publishes")

                # When the broker crashes (SIGKILL) while the relay publishes, and events keep
                # coming for a second without it
                await asyncio.to_thread(broker.kill)
                down_at = await store.max_position()
                await asyncio.sleep(1.0)
            assert await store.max_position() > down_at, "nothing arrived while it was down"
            # and it starts again on the same data, and more events come
            await asyncio.to_thread(broker.start)
            await append_amounts(store, 200, prefix="after")
            log = await read_whole_log(store)

            # Then the relay and the consumer catch up with the whole log
            await wait_until(lambda: _relayed(relay, len(log)), 60, "the relay has caught up")
            await wait_until(lambda: _at(runner, len(log)), 60, "the consumer has caught up")
        finally:
            if not broker.running:  # the other tests of the session share it
                await asyncio.to_thread(broker.start)
            await bus.stop()
            await relay.stop()

        # and the topic has every position, and the read model is exact
        check_relayed(await read_topic(stack.bootstrap, stack.topic("ledger")), log)
        assert await ledger_rows(runner) == expected_rows(log)


async def _relayed(relay: OutboxRelay, position: int) -> bool:
    return relay.position >= position


# -- PostgreSQL connections cut, and the server restarted, during appends --------------------------


@dataclass
class _Attempt:
    event_ids: list[str]
    amount: int
    positions: list[int] | None  # None: the append failed with StoreUnavailable
    during_fault: bool = False  # succeeded while the fault went on


async def _appends_through(stack: Stack, fault: Callable[[], Awaitable[None]]) -> None:
    """Writers append (two streams, two events each, per transaction) and a follower applies the
    log to a read model, both through ``fault``; then checks that every append took effect
    entirely or not at all, that nothing else failed, and that the store keeps working."""
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as runner:
        relay = OutboxRelay(
            store, store.codec, stack.bootstrap, namespace=stack.namespace, idle_wait=0.05
        )
        await relay.start()
        attempts: list[_Attempt] = []
        unexpected: list[BaseException] = []
        reader_saw: list[int] = []
        faulting = True
        writers_done = asyncio.Event()

        async def writer(w: int) -> None:
            streams = [f"w{w}-a", f"w{w}-b"]
            versions = dict.fromkeys(streams, 0)
            after = 0
            while faulting or after < 3:
                appends = [
                    stream_append(s, versions[s], [{"amount": 100 + w}, {"amount": 7 + w}])
                    for s in streams
                ]
                attempt = _Attempt(
                    [e.event_id for a in appends for e in a.events], 2 * (107 + 2 * w), None
                )
                attempts.append(attempt)
                try:
                    stored = await store.append(appends)
                except StoreUnavailable:
                    # It may have committed all the same (the connection died at COMMIT):
                    # decide again on fresh state, as the use cases do.
                    while True:
                        try:
                            for s in streams:
                                versions[s] = await store.stream_version(s)
                            break
                        except StoreUnavailable:
                            await asyncio.sleep(0.05)
                    continue
                except Exception as exc:  # noqa: BLE001 - collected and asserted on
                    unexpected.append(exc)
                    return
                attempt.positions = [e.position for e in stored]
                attempt.during_fault = faulting
                for s in streams:
                    versions[s] += 2
                if not faulting:
                    after += 1

        async def follower() -> None:
            """Reads the log as a subscriber does and applies it to the read model."""
            position = 0
            while not writers_done.is_set() or position < await _max_position(store):
                try:
                    batch = await store.read_log(position, 100)
                except StoreUnavailable:
                    await asyncio.sleep(0.01)
                    continue
                except Exception as exc:  # noqa: BLE001 - collected and asserted on
                    unexpected.append(exc)
                    return
                if not batch:
                    await asyncio.sleep(0.01)
                    continue
                assert batch[0].position == position + 1, f"a reader at {position} skipped"
                reader_saw.extend(e.position for e in batch)
                position = batch[-1].position
                while True:
                    try:  # the read model's connection is cut as well; a retry is a no-op
                        await runner.handle("ledger", batch)
                        break
                    except (DBAPIError, OSError):
                        await asyncio.sleep(0.01)

        writers = [asyncio.create_task(writer(w)) for w in range(6)]
        following = asyncio.create_task(follower())
        try:
            await fault()
        finally:
            faulting = False
            await asyncio.gather(*writers)
            writers_done.set()
            await following
        try:
            log = await read_whole_log(store)
            await wait_until(lambda: _relayed(relay, len(log)), 30, "the relay has caught up")
        finally:
            await relay.stop()

        # Every outcome was a success or StoreUnavailable, and the fault did hit appends
        assert unexpected == []
        failed = [a for a in attempts if a.positions is None]
        assert len(failed) >= 3, f"the fault hit only {len(failed)} appends"
        # while the store kept working between and after the blows
        assert any(a.during_fault for a in attempts), "no append got through during the fault"
        assert len(attempts) - len(failed) >= 6 * 3
        # and the log is gap-free, every event in it once
        assert [e.position for e in log] == list(range(1, len(log) + 1))
        ids = {e.event_id: e.position for e in log}
        assert len(ids) == len(log)
        # every successful append is in it, where its answer said
        landed: list[_Attempt] = []
        for attempt in attempts:
            present = [ids.get(i) for i in attempt.event_ids]
            if attempt.positions is not None:
                assert present == attempt.positions
                landed.append(attempt)
            elif all(p is not None for p in present):
                landed.append(attempt)  # failed at COMMIT, but committed: wholly there
            else:
                assert present == [None] * 4, "a failed append is half written"
        assert sum(len(a.event_ids) for a in landed) == len(log)
        for stream in {e.stream_id for e in log}:
            versions = [e.version for e in log if e.stream_id == stream]
            assert versions == list(range(1, len(versions) + 1)), stream
        # the reader never skipped, the read model is exact, and so is the topic
        assert reader_saw == list(range(1, len(log) + 1))
        rows = await ledger_rows(runner)
        assert rows == expected_rows(log)
        assert sum(total for _tenant, total, _n in rows[1]) == sum(a.amount for a in landed)
        check_relayed(await read_topic(stack.bootstrap, stack.topic("ledger")), log)


async def _max_position(store: PostgresEventStore) -> int:
    with contextlib.suppress(StoreUnavailable):
        return await store.max_position()
    return 1 << 62  # not known: keep following


async def test_connections_cut_during_appends_leave_nothing_half_written(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.dsn)
    cuts = 0

    async def cut_connections() -> None:
        # Every backend of the test's database but this one, every 30-120 ms, for 2.5 seconds:
        # the writers' pool, the LISTEN connection, the relay's lease and the read model's.
        nonlocal cuts
        deadline = asyncio.get_running_loop().time() + 2.5
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(random.uniform(0.03, 0.12))
            cuts += await conn.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    try:
        await _appends_through(stack, cut_connections)
    finally:
        await conn.close()
    assert cuts >= 30


@pytest.mark.slow
async def test_postgres_restarted_during_appends_leaves_nothing_half_written(
    stack: Stack, postgres_server: PostgresServer
) -> None:
    server = postgres_server.local
    if server is None:
        pytest.fail(
            "this test restarts PostgreSQL, so it needs the LocalPostgres that the session "
            f"starts itself; the server of this run ({postgres_server.source}) is not ours",
            pytrace=False,
        )

    async def restart_server() -> None:
        await asyncio.sleep(0.7)
        try:
            await asyncio.to_thread(server.restart)
        finally:
            if not server.running:  # the other tests of the session share it
                await asyncio.to_thread(server.start)
        await asyncio.sleep(0.7)

    await _appends_through(stack, restart_server)


@pytest.mark.slow
async def test_a_relay_process_is_woken_again_after_its_connections_are_cut(
    stack: Stack, services: Services
) -> None:
    # Given `fordra serve invoicing`, idle, woken by PostgreSQL's NOTIFY when events come
    async with ledger_store(stack, "invoicing") as store:
        relay = services.fordra_serve("invoicing")
        await relay.start()
        await store.append([stream_append("invoice-0", 0, [{"amount": 1}], context="invoicing")])
        await wait_until(lambda: _recorded(stack, 1), 20, "the relay publishes")
        await wait_until(lambda: _listening(stack, "invoicing", 2), 10, "both listen")

        # When every connection to the database is cut (as a failover or a restart does)
        await stack.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

        # Then the relay process listens again (the test's own store is not waiting: only the
        # relay's can be the one), and publishes each new event at once, not a poll later
        await wait_until(lambda: _listening(stack, "invoicing", 1), 10, "the relay listens")
        await wait_until(lambda: _holds_lease(stack), 10, "the relay holds its lease again")
        for n in range(1, 4):
            await asyncio.sleep(random.uniform(0.05, 0.3))
            appended = asyncio.get_running_loop().time()
            await store.append(
                [stream_append("invoice-0", n, [{"amount": 1 + n}], context="invoicing")]
            )
            await wait_until(lambda n=n: _recorded(stack, 1 + n), 5, "published", poll=0.005)
            waited = asyncio.get_running_loop().time() - appended
            assert waited < 0.6, f"event {1 + n} waited {waited:.2f} s: the relay polls"
        log = await read_whole_log(store)
    check_relayed(await read_topic(stack.bootstrap, stack.topic("invoicing")), log)


async def _holds_lease(stack: Stack) -> bool:
    return await _relay_leases(stack) == 1


async def _listening(stack: Stack, context: str, sessions: int) -> bool:
    """Whether ``sessions`` sessions listen on the store's channel of ``context``."""
    count: int = await stack.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = $1",
        f'LISTEN "fordra_events_{schema_for(context)}"',
    )
    return count == sessions


# -- two relays at once ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_second_relay_stands_by_and_takes_over_when_the_first_dies(
    stack: Stack, services: Services
) -> None:
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as runner:
        await append_amounts(store, 600)
        bus = KafkaBus(
            stack.bootstrap, {"ledger": store.codec}, namespace=stack.namespace, retry_delay=0.05
        )
        bus.subscribe(runner, "ledger")
        argv = [stack.url, stack.bootstrap, stack.namespace, "ledger"]
        first = services.worker("relay_worker", *argv, name="relay-a")
        second = services.worker("relay_worker", *argv, name="relay-b")
        try:
            # Given a relay process that took the lease and published the log
            await first.start()
            await first.wait_for_line("lease=1", 30)
            # When a second one starts for the same context, and more events come
            await second.start()
            await bus.start()
            await append_amounts(store, 400, prefix="more")
            await first.wait_for_line("position=1000", 30)

            # Then the second stands by: no lease and nothing published, while exactly one
            # session holds the lease in PostgreSQL
            await asyncio.sleep(1.5)  # the standby tries for the lease every second
            assert _reports(second) == [(0, 0, 0)]
            assert await _relay_leases(stack) == 1
            # When the first is SIGKILLed at a random moment while more events come
            await append_amounts(store, 500, prefix="late")
            await asyncio.sleep(random.uniform(0.0, 0.06))
            # (the standby has published nothing up to the kill; checked before it, since once
            # the first is dead the standby may take the lease at any moment)
            assert all(report == (0, 0, 0) for report in _reports(second))
            first.kill()
            recorded = await stack.relay_progress("ledger")

            # Then the second takes the lease and resumes from the position the first recorded
            await second.wait_for_line("lease=1", 15)
            await second.wait_for_line("position=1500", 30)
            assert (1, 0, recorded) in _reports(second)
            # and publishes exactly what the first had not recorded
            assert _reports(second)[-1] == (1, 1500 - recorded, 1500)
            await wait_until(lambda: _at(runner, 1500), 60, "the consumer has caught up")
            assert await _relay_leases(stack) == 1
        finally:
            await bus.stop()
            await second.stop()
        # and the topic has every position (a killed batch's tail twice), the read model is exact
        log = await read_whole_log(store)
        assert len(log) == 1500
        check_relayed(await read_topic(stack.bootstrap, stack.topic("ledger")), log)
        assert await ledger_rows(runner) == expected_rows(log)


class _RecordingConsumer:
    """A ``Consumer`` handing everything to ``inner``, noting the positions of each batch."""

    def __init__(self, inner: ProjectionRunner) -> None:
        self.inner = inner
        self.name = inner.name
        self.batches: list[list[int]] = []

    async def position(self, upstream: str) -> int:
        return await self.inner.position(upstream)

    async def handle(self, upstream: str, events: Sequence[Envelope]) -> int:
        self.batches.append([e.position for e in events])
        return await self.inner.handle(upstream, events)

    async def skip(self, upstream: str, position: int) -> None:
        await self.inner.skip(upstream, position)


async def test_a_tail_published_twice_is_applied_once_within_one_delivered_batch(
    stack: Stack,
) -> None:
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as runner:
        # Given a topic holding positions 1..200, then 121..200 again (what a relay killed after
        # publishing a batch and before recording it leaves for its successor to publish), then
        # 201..300, published by hand
        await append_amounts(store, 300)
        log = await read_whole_log(store)
        topic = stack.topic("ledger")
        await ensure_topics(stack.bootstrap, topic)
        producer = safe_producer(stack.bootstrap)
        await producer.start()
        try:
            for env in [*log[:200], *log[120:200], *log[200:]]:
                value = message_from_envelope(store.codec, env)
                await producer.send(topic, value=value, key=env.stream_id.encode())
            await producer.flush()
        finally:
            await producer.stop()
        check_relayed(await read_topic(stack.bootstrap, topic), log)

        # When a consumer reads the topic in batches larger than it
        consumer = _RecordingConsumer(runner)
        bus = KafkaBus(
            stack.bootstrap, {"ledger": store.codec}, namespace=stack.namespace, batch_size=1000
        )
        bus.subscribe(consumer, "ledger")
        await bus.start()
        try:
            await wait_until(lambda: _at(runner, 300), 30, "the consumer has caught up")
        finally:
            await bus.stop()

        # Then one delivered batch ran from the first copy of the tail to past its second copy
        # (offsets 0..199 hold 1..200, 200..279 hold 121..200 again, 280.. hold 201..300): the
        # repeat came inside one batch, above the position tracked when the batch began
        assert any(min(b) <= 200 < max(b) for b in consumer.batches), [
            (b[0], b[-1], len(b)) for b in consumer.batches
        ]
        # and every event took effect once
        assert await ledger_snapshot(runner, "ledger") == (300, expected_rows(log))


def _reports(relay: Service) -> list[tuple[int, int, int]]:
    """(lease, published, position) of each status line of the relay worker."""
    found = []
    for line in relay.lines():
        if line.startswith("lease="):
            lease, published, position = (int(part.split("=")[1]) for part in line.split())
            found.append((lease, published, position))
    return found


async def _relay_leases(stack: Stack) -> int:
    count: int = await stack.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
    )
    return count


# -- a poison event --------------------------------------------------------------------------------


async def test_a_poison_event_is_parked_and_the_events_behind_it_applied(
    stack: Stack,
) -> None:
    async with ledger_store(stack) as store, ledger_read_model(stack, "rm") as runner:
        # Given a consumer whose handler always fails on one event in the middle of a batch
        await append_amounts(store, 300)
        log = await read_whole_log(store)
        poison = log[random.randint(100, 200) - 1]
        projection = runner.projection
        assert isinstance(projection, LedgerProjection)
        projection.fail_on_position = poison.position
        relay = OutboxRelay(
            store, store.codec, stack.bootstrap, namespace=stack.namespace, idle_wait=0.05
        )
        bus = KafkaBus(
            stack.bootstrap,
            {"ledger": store.codec},
            namespace=stack.namespace,
            retry_delay=0.02,
            batch_size=100,
            parking=ParkedEvents(runner.db),
        )
        bus.subscribe(runner, "ledger")
        await relay.start()
        await bus.start()
        try:
            # When it has been delivered everything, and 100 more events after that
            await wait_until(lambda: _at(runner, 300), 60, "the consumer passed the poison")
            await append_amounts(store, 100, prefix="after")
            log = await read_whole_log(store)
            await wait_until(lambda: _at(runner, 400), 30, "the consumer has caught up")
        finally:
            await bus.stop()
            await relay.stop()

        # Then the poison event, and it alone, is parked with the error
        (dead,) = await ParkedEvents(runner.db).all()
        assert (dead.position, dead.event_id) == (poison.position, poison.event_id)
        assert (dead.stream_id, dead.consumer) == (poison.stream_id, runner.name)
        assert dead.state == "parked"
        assert dead.error.startswith("ProjectionCrashed")
        assert f"crashed on position {poison.position}" in dead.error
        # and it was retried before it was set aside
        assert projection.failures >= 3
        # and every other event, those behind it included, was applied exactly once
        assert await ledger_rows(runner) == expected_rows([e for e in log if e != poison])
