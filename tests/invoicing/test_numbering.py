"""Invoice numbers in blocks per process (domain.md §2 "Invoice content": a unique serial number;
docs/adr/0004-invoice-numbering.md): blocks never overlap, each process hands its numbers out in
order, a number no booked invoice carries goes back, and a stopped process leaves a gap."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from fordra.invoicing.application.batches import issue_invoice_batch
from fordra.invoicing.application.handlers import issue_invoice, register_customer
from fordra.invoicing.application.numbering import (
    InvoiceNumberBlocks,
    NumberLease,
    numbered,
    serial_stream,
)
from fordra.invoicing.domain.batch import BatchRejected
from fordra.invoicing.domain.events import InvoiceNumberBlockReserved, InvoiceSerialReserved
from fordra.invoicing.domain.numbering import last_reserved_number, next_block
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.application import Outcome
from fordra.kernel.clock import ManualClock
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation, StoreUnavailable
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from tests.utils.invoicing import (
    TENANT,
    TODAY,
    department,
    invoice_for,
    invoicing_deps,
    meta,
    registration,
)
from tests.utils.invoicing import registry as build_registry

DEPT = department()


def blocks_of(size: int) -> InvoicingSettings:
    return InvoicingSettings(invoice_number_block_size=Dated[int].always(size))


def process(store: MemoryEventStore, size: int = 3) -> InvoiceNumberBlocks:
    """One process's series on ``store`` (each platform builds one in app.bootstrap)."""
    return InvoiceNumberBlocks(store, build_registry(), blocks_of(size), ManualClock(TODAY))


async def reserved_blocks(store: MemoryEventStore) -> list[tuple[int, int]]:
    events = build_registry()
    return [
        (block.first, block.last)
        for env in await store.read_stream(serial_stream(TENANT))
        if isinstance(block := events.load(env), InvoiceNumberBlockReserved)
    ]


def test_the_next_block_follows_the_last_reserved_number() -> None:
    assert next_block(0, 100) == (1, 100)
    assert next_block(100, 100) == (101, 200)
    # a batch larger than a block gets one block of its size
    assert next_block(200, 100, at_least=250) == (201, 450)
    assert last_reserved_number(None) == 0
    assert last_reserved_number(InvoiceNumberBlockReserved(first=1, last=100, series="a")) == 100
    assert last_reserved_number(InvoiceSerialReserved(invoice_id="i", serial_number=7)) == 7
    with pytest.raises(DomainRuleViolation) as empty:
        next_block(0, 0)
    assert empty.value.rule == "invoice_number_block_size_positive"


async def test_two_processes_get_blocks_that_never_overlap(store: MemoryEventStore) -> None:
    # Given two processes sharing the tenant's counter, blocks of 3
    first, second = process(store), process(store)
    # When they take numbers in turn
    a = [await first.take(meta(DEPT)) for _ in range(2)]
    b = [await second.take(meta(DEPT)) for _ in range(4)]
    a += [await first.take(meta(DEPT)) for _ in range(3)]
    # Then each hands out its own blocks in ascending order, and no number is handed out twice
    assert a == [1, 2, 3, 10, 11]
    assert b == [4, 5, 6, 7]
    assert await reserved_blocks(store) == [(1, 3), (4, 6), (7, 9), (10, 12)]


async def test_processes_reserving_at_once_retry_their_lost_races(store: MemoryEventStore) -> None:
    # Given four processes with blocks of 2, and 40 numbers wanted at once from all of them
    processes = [process(store, size=2) for _ in range(4)]
    taken = await asyncio.gather(
        *(processes[n % 4].take(meta(DEPT)) for n in range(40))
    )  # fmt: skip
    # Then every number is unique, and the blocks tile the counter without overlap
    assert len(set(taken)) == 40
    blocks = await reserved_blocks(store)
    assert [first for first, _ in blocks] == list(range(1, 2 * len(blocks), 2))
    assert set(taken) <= {n for first, last in blocks for n in range(first, last + 1)}


async def test_a_counter_written_one_serial_at_a_time_goes_on(store: MemoryEventStore) -> None:
    # Given a counter from before blocks: serials 1 and 2, one event each
    events = build_registry()
    for serial in (1, 2):
        env = events.envelope(
            InvoiceSerialReserved(invoice_id=f"i{serial}", serial_number=serial),
            context="invoicing",
            stream_id=serial_stream(TENANT),
            version=serial,
            metadata=meta(DEPT),
            occurred_at=ManualClock(TODAY).now(),
        )
        await store.append([StreamAppend(serial_stream(TENANT), serial - 1, [env])])
    # When a process takes a number: its block starts after them
    assert await process(store).take(meta(DEPT)) == 3
    assert await reserved_blocks(store) == [(3, 5)]


async def test_a_number_no_booked_invoice_carries_goes_back(store: MemoryEventStore) -> None:
    deps = invoicing_deps(store, settings=blocks_of(10))
    customer = (
        await register_customer(registration("19121212-1212"), deps, DEPT, meta(DEPT))
    ).response.customer_id
    first = await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    assert first.response.invoice is not None
    # Given a department's own OCR reference already taken: refused after its number was taken
    with pytest.raises(DomainRuleViolation) as taken:
        await issue_invoice(
            invoice_for(customer, 20000, ocr=first.response.invoice.ocr), deps, DEPT, meta(DEPT)
        )
    assert taken.value.rule == "ocr_reference_unique"
    # Then the next invoice gets that number: the refusal left no gap
    after = await issue_invoice(invoice_for(customer, 20000), deps, DEPT, meta(DEPT))
    assert after.response.invoice is not None
    assert after.response.invoice.invoice_number == "00000002"


async def test_a_lease_keeps_or_gives_back_its_numbers(store: MemoryEventStore) -> None:
    series = process(store, size=5).series(meta(DEPT))
    lease = NumberLease(series)
    assert [await lease.take(), await lease.take()] == [1, 2]
    # a new attempt at the decision gives the last one's numbers back first
    lease.restart()
    assert await lease.take() == 1
    # a number given back by another command is answered first, lowest first
    other = NumberLease(series)
    assert await other.take() == 2
    other.restart()
    assert [await lease.take(), await lease.take()] == [2, 3]


async def test_a_stopped_process_leaves_a_gap(store: MemoryEventStore) -> None:
    # Given a process that issued numbers 1 and 2 of its block of 3, then stopped
    stopped = process(store)
    assert [await stopped.take(meta(DEPT)), await stopped.take(meta(DEPT))] == [1, 2]
    # When the next process starts: its block comes after, and number 3 is never issued (the gap
    # is explained by the counter: block 1-3 of the stopped process's series)
    assert await process(store).take(meta(DEPT)) == 4
    assert await reserved_blocks(store) == [(1, 3), (4, 6)]


async def test_a_batch_reserves_one_block_for_all_its_invoices(store: MemoryEventStore) -> None:
    blocks = process(store, size=3)
    series = blocks.series(meta(DEPT))
    assert await series.take() == 1
    # When a batch of 10 prepares its numbers: one block, and the rest of the first comes first
    await series.prepare(10)
    assert [await series.take() for _ in range(10)] == list(range(2, 12))
    assert await reserved_blocks(store) == [(1, 3), (4, 11)]


def jsonl(customer_id: str, *net_ore: int) -> bytes:
    """A batch file of one invoice per amount, for ``customer_id``."""
    return "\n".join(
        json.dumps(
            {
                "customer_id": customer_id,
                "department": "dept",
                "service_type": "other",
                "invoice_date": TODAY.isoformat(),
                "lines": [{"description": "Avgift", "unit_price_ore": ore, "vat_rate": 25}],
            }
        )
        for ore in net_ore
    ).encode()


async def test_a_batch_is_a_series_reserved_with_it(store: MemoryEventStore) -> None:
    deps = invoicing_deps(store, settings=blocks_of(3))
    customer = (
        await register_customer(registration("19121212-1212"), deps, DEPT, meta(DEPT))
    ).response.customer_id
    # Given one invoice issued alone: number 1, from the process's block 1-3
    await issue_invoice(invoice_for(customer, 96000), deps, DEPT, meta(DEPT))
    # When a batch with a bad line (an invoice of 0 kr) is rejected: it reserves nothing
    with pytest.raises(BatchRejected):
        await issue_invoice_batch(
            jsonl(customer, 10000, 0), "application/x-ndjson", deps, DEPT, meta(DEPT)
        )
    assert await reserved_blocks(store) == [(1, 3)]
    # And a batch of three is booked: numbers 4-6, reserved in the batch's own append
    booked = await issue_invoice_batch(
        jsonl(customer, 10000, 20000, 30000), "application/x-ndjson", deps, DEPT, meta(DEPT)
    )
    numbers = [line.invoice.invoice_number for line in booked.response.lines if line.invoice]
    assert numbers == ["00000004", "00000005", "00000006"]
    assert await reserved_blocks(store) == [(1, 3), (4, 6)]
    # And the process goes on with the rest of its own block
    after = await issue_invoice(invoice_for(customer, 20000), deps, DEPT, meta(DEPT))
    assert after.response.invoice is not None
    assert after.response.invoice.invoice_number == "00000002"


async def test_a_number_whose_booking_is_unknown_is_kept(store: MemoryEventStore) -> None:
    series = process(store, size=5).series(meta(DEPT))

    async def booked_then(error: BaseException) -> Outcome[BaseModel]:
        await lease.take()
        raise error

    # A refusal says nothing was booked: the number goes back
    lease = NumberLease(series)
    with pytest.raises(DomainRuleViolation):
        await numbered(lease, booked_then(DomainRuleViolation("refused")))
    assert await series.take() == 1
    # A cancelled request, or a store that did not answer, may have booked it: kept (a gap at
    # worst, never one number on two invoices)
    for unknown in (asyncio.CancelledError(), StoreUnavailable("no answer")):
        lease = NumberLease(series)
        with pytest.raises(type(unknown)):
            await numbered(lease, booked_then(unknown))
    assert await series.take() == 4
