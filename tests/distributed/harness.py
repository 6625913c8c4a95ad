"""What the fault and concurrency tests share: a fresh database and a Kafka namespace per test,
services run as real OS processes (SIGKILLed at will), reading a topic back, checking that a
relayed log has every position, and realistic invoicing events with the ledger they must give.

The tests run against the session's real servers (tests/utils/servers.py); nothing here mocks a
broker or a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from fordra.app.bootstrap import build_registry
from fordra.contracts.invoicing import (
    CustomerPersonalData,
    CustomerRegistered,
    InvoiceIssued,
    InvoiceLine,
    PostalAddress,
    VatBreakdown,
)
from fordra.invoicing.domain.events import InvoiceSerialReserved
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.kafka_relay import events_topic
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.postgres_eventstore import PostgresEventStore, asyncpg_dsn, schema_for
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from tests.kernel.contracts.eventstore import stream_append
from tests.kernel.contracts.subscriptions import LedgerProjection, Rows

REPO = Path(__file__).resolve().parents[2]


# -- the per-test stack ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """A fresh database and a Kafka namespace of one test, on the session's servers."""

    url: str  # postgresql+asyncpg://... of a database no other test uses
    bootstrap: str
    namespace: str
    data_dir: Path  # secrets and keys.sqlite, shared by the processes of the test

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.url)

    def topic(self, context: str) -> str:
        return events_topic(context, self.namespace)

    def env(self) -> dict[str, str]:
        """The environment of a ``fordra serve`` process of this test."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
        env.update(
            FORDRA_STORE=self.url,
            FORDRA_BUS=f"kafka://{self.bootstrap}",
            FORDRA_DATA_DIR=str(self.data_dir),
            FORDRA_KAFKA_NAMESPACE=self.namespace,
            FORDRA_LOG_LEVEL="INFO",
            # `serve api` and `serve agency-gateway` refuse to start without it (issue 15).
            FORDRA_AGENCY_REFERENCE_SECRET="distributed-test-reference-secret",
        )
        return env

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def relay_progress(self, context: str) -> int:
        """Where the relay of ``context`` has recorded it got (0 before its first batch)."""
        table = f"{schema_for(context)}.relay_progress"
        try:
            value = await self.fetchval(
                f"SELECT position FROM {table} WHERE topic = $1", self.topic(context)
            )
        except asyncpg.UndefinedTableError:
            return 0
        return int(value or 0)


def new_namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


# -- OS processes ----------------------------------------------------------------------------------


class Service:
    """One process of the distributed engine (``fordra serve NAME`` or a worker script of this
    folder), with its output in a file; ``kill()`` is a SIGKILL, as a crash or the OOM killer."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def lines(self) -> list[str]:
        """This incarnation's stdout/stderr lines (each start writes a marker first)."""
        text = self.output()
        marker = f"=== start {self.starts} ===\n"
        return text.split(marker, 1)[-1].splitlines()

    async def start(self, ready: str = "running", timeout: float = 30.0) -> None:
        assert not self.running, f"{self.name} runs already"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"=== start {self.starts} ===\n".encode())
            out.flush()
            self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                self.argv,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        await self.wait_for_line(ready, timeout)

    async def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if text in line:
                    return line
            if not self.running:
                raise AssertionError(f"{self.name} exited:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {text!r} in {timeout} s:\n{self.output()}")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction commits, no buffer is flushed."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the process freezes where it is, so what it has done so far can be looked at
        without a race; ``resume()`` or ``kill()`` ends the pause."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGCONT)

    async def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM: the process stops its tasks and closes its connections."""
        if self.process is None or not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.02)


@dataclass
class Services:
    """Every process a test started; the fixture SIGKILLs what is left at teardown."""

    stack: Stack
    logs: Path
    started: list[Service] = field(default_factory=list)

    def fordra_serve(self, name: str) -> Service:
        return self._add(name, [sys.executable, "-m", "fordra.app.cli", "serve", name])

    def worker(self, module: str, *args: str, name: str | None = None) -> Service:
        """A worker script of this folder: ``python -m tests.distributed.<module> ARGS``."""
        argv = [sys.executable, "-m", f"tests.distributed.{module}", *args]
        return self._add(name or module, argv)

    def _add(self, name: str, argv: list[str]) -> Service:
        unique = f"{name}-{len(self.started)}"
        service = Service(unique, argv, self.stack.env(), self.logs / f"{unique}.log")
        self.started.append(service)
        return service

    def kill_all(self) -> None:
        for service in self.started:
            service.kill()


# -- waiting ---------------------------------------------------------------------------------------


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float, what: str, poll: float = 0.02
) -> None:
    if not await within(condition, timeout, poll):
        raise AssertionError(f"not within {timeout} s: {what}")


async def within(
    condition: Callable[[], Awaitable[bool]], timeout: float, poll: float = 0.02
) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (polled every ``poll``)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(poll)
    return True


# -- topics ----------------------------------------------------------------------------------------


async def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record of partition 0 of ``topic``, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=2000,
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        records: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):
            while await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=500)
                records.extend(batch.get(partition, []))
        return records
    finally:
        await consumer.stop()


async def last_relayed_position(bootstrap: str, topic: str) -> int:
    """The log position carried by the last message of ``topic`` (0 when it is empty)."""
    records = await read_topic(bootstrap, topic)
    return int(orjson.loads(records[-1].value)["position"]) if records else 0


class TopicTail:
    """The log position carried by the last message of partition 0 of a topic, as
    ``last_relayed_position`` answers it, but read through one open consumer that fetches only that
    message: cheap enough to poll every few milliseconds. The consumer starts at the first call
    (the topic must exist by then) and stops at ``close()``."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._partition = TopicPartition(topic, 0)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        self._started = False

    async def close(self) -> None:
        if self._started:
            await self._consumer.stop()
            self._started = False

    async def position(self) -> int:
        partition = self._partition
        if not self._started:
            await self._consumer.start()
            self._started = True
            self._consumer.assign([partition])
        end = (await self._consumer.end_offsets([partition]))[partition]
        if end == 0:
            return 0
        self._consumer.seek(partition, end - 1)
        async with asyncio.timeout(30):
            while not (
                batch := await self._consumer.getmany(partition, timeout_ms=500, max_records=1)
            ):
                pass  # (a fetch that answered nothing: the record is there, ask again)
        return int(orjson.loads(batch[partition][0].value)["position"])


@dataclass(frozen=True)
class RelayedLog:
    positions: list[int]  # of every message, in topic order
    duplicates: int


def check_relayed(records: Sequence[ConsumerRecord], log: Sequence[Envelope]) -> RelayedLog:
    """What a consumer tracking by position needs of the topic, checked message by message:

    - every message is a stored event, byte for byte the same event (same id at that position);
    - no message ever jumps ahead: its position is at most one past the highest seen so far, so a
      consumer dropping what is at or below its tracked position applies 1, 2, ..., N in order;
    - every position of the log is there (the highest seen reaches the log's last);
    - per stream, the first deliveries come in version order and every redelivery of a stream's
      event repeats it exactly (duplicates allowed, reordering not).
    """
    by_position = {e.position: e for e in log}
    assert sorted(by_position) == list(range(1, len(log) + 1)), "the log itself has a gap"
    high = 0
    duplicates = 0
    first_versions: dict[str, list[int]] = defaultdict(list)
    positions: list[int] = []
    for record in records:
        message = orjson.loads(record.value)
        position = int(message["position"])
        positions.append(position)
        stored = by_position.get(position)
        assert stored is not None, f"message for position {position}, which the log lacks"
        assert message["event_id"] == stored.event_id, f"position {position} carries another event"
        assert (message["stream_id"], message["version"]) == (stored.stream_id, stored.version)
        assert record.key == stored.stream_id.encode()
        assert position <= high + 1, f"position {position} came after {high}: a gap"
        if position <= high:
            duplicates += 1
        else:
            high = position
            first_versions[stored.stream_id].append(stored.version)
    assert high == len(log), f"the topic stops at position {high} of {len(log)}"
    for stream_id, versions in first_versions.items():
        assert versions == list(range(1, len(versions) + 1)), f"{stream_id} out of order"
    return RelayedLog(positions, duplicates)


# -- appending -------------------------------------------------------------------------------------


async def append_amounts(
    store: EventStore,
    events: int,
    *,
    streams: int = 12,
    tenants: int = 3,
    per_append: int = 20,
    writers: int = 4,
    prefix: str = "claim",
) -> None:
    """Append ``events`` events with an ``amount`` in öre (what ``LedgerProjection`` sums), in
    appends of ``per_append`` events to one stream, by ``writers`` concurrent tasks (so that the
    store's group commit and its lock see concurrent appends); each stream has one writer."""
    assert events % per_append == 0
    assert streams >= writers
    names = [f"{prefix}-{s}" for s in range(streams)]
    versions = {name: await store.stream_version(name) for name in names}
    appends = events // per_append

    async def writer(w: int) -> None:
        own = names[w::writers]
        for a in range(w, appends, writers):
            stream = own[(a // writers) % len(own)]
            at = versions[stream]
            payloads = [
                {"amount": 100 + (at + i) * 7919 % 99_991} for i in range(1, per_append + 1)
            ]
            await store.append(
                [
                    stream_append(
                        stream,
                        at,
                        payloads,
                        context=store.context,
                        tenant=f"tenant-{(a + at) % tenants}",
                    )
                ]
            )
            versions[stream] = at + per_append

    await asyncio.gather(*(writer(w) for w in range(writers)))


@contextlib.asynccontextmanager
async def flowing(
    store: EventStore, *, chunk: int = 20, pause: float = 0.05, prefix: str = "flow"
) -> AsyncIterator[None]:
    """Events keep arriving (``chunk`` every ``pause`` seconds) while the block runs."""
    stop = asyncio.Event()

    async def run() -> None:
        while not stop.is_set():
            await append_amounts(store, chunk, streams=4, writers=2, prefix=prefix)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        stop.set()
        await task


async def read_whole_log(store: EventStore, page: int = 2000) -> list[Envelope]:
    events: list[Envelope] = []
    while batch := await store.read_log(events[-1].position if events else 0, page):
        events.extend(batch)
    return events


# -- invoicing events and the ledger they give -----------------------------------------------------

TENANTS = ("svenljunga", "tranemo")
_REGISTRY = build_registry()


def _meta(tenant: str) -> Metadata:
    return Metadata(tenant=tenant, actor="case_officer::tester", correlation_id=str(uuid.uuid4()))


@dataclass
class Municipalities:
    """Writes realistic invoicing events as the use cases shape them: a customer stream with
    ``CustomerRegistered`` (a sealed personal part); per invoice one transaction with the tenant's
    serial-counter stream (``InvoiceSerialReserved``, a long stream per tenant) and the invoice's
    own stream (``InvoiceIssued``). Remembers what it wrote, to compute the expected ledger."""

    store: EventStore
    customers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    serials: Counter[str] = field(default_factory=Counter)
    invoices: list[InvoiceIssued] = field(default_factory=list)
    seq: int = 0

    async def register_customers(self, per_tenant: int) -> None:
        for tenant in TENANTS:
            for _ in range(per_tenant):
                customer_id = str(uuid.uuid4())
                event = CustomerRegistered(
                    customer_id=customer_id,
                    kind="person",
                    id_kind="personnummer",
                    personal=CustomerPersonalData(
                        name=f"Kund {customer_id[:6]}",
                        id_number="19121212-1212",
                        address=PostalAddress(
                            street="Storgatan 1", postal_code="512 50", city="Svenljunga"
                        ),
                    ),
                )
                env = _REGISTRY.envelope(
                    event,
                    context="invoicing",
                    stream_id=f"customer-{customer_id}",
                    version=1,
                    metadata=_meta(tenant),
                    occurred_at=datetime.now(UTC),
                )
                await self.store.append([StreamAppend(env.stream_id, 0, [env])])
                self.customers[tenant].append(customer_id)

    def _invoice(self, tenant: str) -> tuple[list[StreamAppend], InvoiceIssued]:
        self.seq += 1
        serial = self.serials[tenant] + 1
        customers = self.customers[tenant]
        customer_id = customers[self.seq % len(customers)]
        quantity = 1 + self.seq % 3
        unit = 10_000 + (self.seq * 7919) % 90_001  # öre, varied so sums are not round
        net = quantity * unit
        vat = (net * 25 + 50) // 100
        invoice_date = date(2026, 1, 15)
        invoice = InvoiceIssued(
            invoice_id=str(uuid.uuid4()),
            customer_id=customer_id,
            serial_number=serial,
            invoice_number=f"{serial:08d}",
            ocr=f"{TENANTS.index(tenant) + 1}{serial:09d}",
            department="water",
            service_type="water",
            invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=30),
            payment_terms_days=30,
            lines=(
                InvoiceLine(
                    description="Vatten och avlopp",
                    service_type="water",
                    quantity=Decimal(quantity),
                    unit_price_ore=unit,
                    vat_rate=25,
                    net_ore=net,
                ),
            ),
            vat=(VatBreakdown(vat_rate=25, net_ore=net, vat_ore=vat),),
            net_ore=net,
            vat_ore=vat,
            total_ore=net + vat,
        )
        meta = _meta(tenant)
        now = datetime.now(UTC)
        counter = f"invoice-serial-{tenant}"
        reserved = _REGISTRY.envelope(
            InvoiceSerialReserved(invoice_id=invoice.invoice_id, serial_number=serial),
            context="invoicing",
            stream_id=counter,
            version=serial,
            metadata=meta,
            occurred_at=now,
        )
        issued = _REGISTRY.envelope(
            invoice,
            context="invoicing",
            stream_id=f"invoice-{invoice.invoice_id}",
            version=1,
            metadata=meta,
            occurred_at=now,
        )
        appends = [
            StreamAppend(counter, serial - 1, [reserved]),
            StreamAppend(issued.stream_id, 0, [issued]),
        ]
        return appends, invoice

    async def issue_invoices(self, per_tenant: int) -> None:
        """Both tenants at once (their transactions share group commits), each in serial order."""

        async def issue(tenant: str) -> None:
            for _ in range(per_tenant):
                appends, invoice = self._invoice(tenant)
                await self.store.append(appends)
                self.serials[tenant] += 1
                self.invoices.append(invoice)

        await asyncio.gather(*(issue(t) for t in TENANTS))

    def expected_invoices(self) -> list[tuple[str, str, int, int]]:
        """(invoice_id, customer_id, total_ore, open_ore) of every invoice, sorted."""
        return sorted(
            (i.invoice_id, i.customer_id, i.total_ore, i.total_ore) for i in self.invoices
        )

    def expected_balances(self) -> dict[str, int]:
        balances: Counter[str] = Counter()
        for i in self.invoices:
            balances[i.customer_id] += i.total_ore
        return dict(balances)

    def expected_customers(self) -> list[tuple[str, str]]:
        return sorted((c, tenant) for tenant, ids in self.customers.items() for c in ids)


async def customer_ledger_rows(
    stack: Stack,
) -> tuple[list[tuple[str, str, int, int]], dict[str, int], list[tuple[str, str]]]:
    """The customer-ledger read model as ``fordra serve projections`` keeps it (schema
    ``projections``): invoices, balance per customer to the öre, customers."""
    conn = await asyncpg.connect(stack.dsn)
    try:
        invoices = await conn.fetch(
            "SELECT invoice_id, customer_id, total_ore, open_ore FROM projections.ledger_invoices"
        )
        balances = await conn.fetch(
            "SELECT customer_id, SUM(open_ore)::bigint FROM projections.ledger_invoices "
            "GROUP BY customer_id"
        )
        customers = await conn.fetch("SELECT customer_id, tenant FROM projections.ledger_customers")
    finally:
        await conn.close()
    return (
        sorted((r[0], r[1], int(r[2]), int(r[3])) for r in invoices),
        {r[0]: int(r[1]) for r in balances},
        sorted((r[0], r[1]) for r in customers),
    )


async def projection_tracking(stack: Stack, consumer: str, upstream: str, schema: str) -> int:
    try:
        value = await stack.fetchval(
            f"SELECT position FROM {schema}.projection_tracking "
            "WHERE consumer = $1 AND upstream = $2",
            consumer,
            upstream,
        )
    except asyncpg.UndefinedTableError:
        return 0
    return int(value or 0)


# -- the additive ledger projection of the suite ---------------------------------------------------


@contextlib.asynccontextmanager
async def ledger_store(stack: Stack, context: str = "ledger") -> AsyncIterator[PostgresEventStore]:
    """A context's store in the test's database (events without personal data)."""
    store = PostgresEventStore(
        stack.url, context, EnvelopeCodec(context, PersonalDataSealer(InMemoryKeyRing()))
    )
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def ledger_read_model(
    stack: Stack, schema: str, projection: LedgerProjection | None = None
) -> AsyncIterator[ProjectionRunner]:
    """A runner of ``LedgerProjection`` (or the given one) on ``schema`` of the test's database:
    the same tables a ``projection_worker`` process keeps there, to read them or to rebuild."""
    db = ReadModelDatabase(stack.url, schema=schema)
    runner = ProjectionRunner(projection or LedgerProjection(), db)
    await db.start()
    try:
        yield runner
    finally:
        await db.close()


async def ledger_rows(runner: ProjectionRunner) -> Rows:
    """The tables of ``LedgerProjection``, sorted, comparable with ``expected_rows(log)``."""
    return (await ledger_snapshot(runner, "ledger"))[1]


async def ledger_snapshot(runner: ProjectionRunner, upstream: str) -> tuple[int, Rows]:
    """The tracked position and the tables of ``LedgerProjection``, read in one snapshot (so a
    commit landing meanwhile cannot make them disagree)."""
    streams, totals = runner.tables
    async with runner.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            position = await runner.db.tracked(conn, runner.name, upstream)
            a = (await conn.execute(select(streams))).all()
            b = (await conn.execute(select(totals))).all()
    return position, (sorted(tuple(r) for r in a), sorted(tuple(r) for r in b))


def amounts(events: Sequence[Envelope]) -> int:
    """The öre of ``LedgerProjection``'s events."""
    return sum(int(e.payload["amount"]) for e in events)
