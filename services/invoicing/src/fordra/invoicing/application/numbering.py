"""Handing out invoice numbers: a block per process, numbers from memory (domain/numbering.py;
the rule and what a gap means: docs/adr/0004-invoice-numbering.md).

``InvoiceNumberBlocks`` is the process's series: one per platform, built in ``app.bootstrap``. It
reserves a block on the tenant's counter stream (``invoice-serial-<tenant>``) with one optimistic
append, retried on a lost race with a jittered backoff, so several processes sharing the counter
(the distributed engine) never get overlapping blocks. Within the process it hands the block's
numbers out in ascending order, so concurrent invoices never race on the counter.

A command takes its numbers through a ``NumberLease``: when its decision is not booked (a lost
race decided again, a rule that refused it after numbering, a replay of an earlier request), the
numbers go back to the series and the next invoice takes them. So the numbers of a running
process have no gap; a gap is only what a block still held when its process stopped.

A batch file is a series of its own (``BatchNumbers``): its invoices are numbered after the
counter's head, and the block they used is reserved in the batch's own append, at the counter's
version. A rejected batch reserves nothing; a batch whose counter moved meanwhile (another
process reserved a block) lost a race, and is decided again.
"""

from __future__ import annotations

import asyncio
import heapq
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel

from fordra.invoicing.domain.events import InvoiceNumberBlockReserved
from fordra.invoicing.domain.numbering import last_reserved_number, next_block
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.application import Outcome, jittered_backoff
from fordra.kernel.clock import BusinessClock
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import ConcurrencyConflict, FordraError, StoreUnavailable
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend

CONTEXT = "invoicing"

R = TypeVar("R", bound=BaseModel)

# Reserving a block races only with other processes reserving one (once per block each), so a
# lost race is rare; under a burst of many processes it is retried this many times, each after a
# random wait (kernel.application.jittered_backoff), so that the contenders spread out.
RESERVE_ATTEMPTS = 30


def serial_stream(tenant: str) -> str:
    """The tenant's invoice number counter: the blocks reserved, in order."""
    return f"invoice-serial-{tenant}"


class SerialSource(Protocol):
    """Where a command takes invoice numbers from."""

    async def take(self) -> int:
        """The next number, in ascending order."""
        ...

    async def prepare(self, count: int) -> None:
        """Have ``count`` numbers at hand: one block reservation for many invoices at once."""
        ...

    def give_back(self, serials: Iterable[int]) -> None:
        """Numbers taken that no booked invoice carries: the next ``take`` answers them first."""
        ...


@dataclass
class _Pool:
    """A tenant's numbers at hand: the rest of the current block, and numbers given back."""

    next: int = 1
    last: int = 0
    returned: list[int] = field(default_factory=list)  # a heap
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def available(self) -> int:
        return len(self.returned) + max(0, self.last - self.next + 1)


class InvoiceNumberBlocks:
    """The process's series of invoice numbers, per tenant (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        settings: InvoicingSettings,
        clock: BusinessClock,
        *,
        series: str | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._settings = settings
        self._clock = clock
        # Names this process's blocks on the counter, so an auditor sees which series a block
        # (and so a gap) belongs to.
        self.series_name = series or uuid.uuid4().hex[:16]
        self._pools: dict[str, _Pool] = {}

    def series(self, meta: Metadata) -> SerialSource:
        """The tenant's numbers of this process; a block reservation is recorded under ``meta``."""
        return _TenantSeries(self, meta)

    def _pool(self, tenant: str) -> _Pool:
        return self._pools.setdefault(tenant, _Pool())

    async def take(self, meta: Metadata) -> int:
        pool = self._pool(meta.tenant)
        while True:
            if pool.returned:
                return heapq.heappop(pool.returned)
            if pool.next <= pool.last:
                pool.next += 1
                return pool.next - 1
            await self.prepare(meta, 1)

    async def prepare(self, meta: Metadata, count: int) -> None:
        pool = self._pool(meta.tenant)
        # One reservation at a time per tenant: the invoices waiting for numbers share the block.
        async with pool.lock:
            shortfall = count - pool.available()
            if shortfall <= 0:
                return
            first, last = await self._reserve(meta, shortfall)
            for rest in range(pool.next, pool.last + 1):
                heapq.heappush(pool.returned, rest)
            pool.next, pool.last = first, last

    def give_back(self, tenant: str, serials: Iterable[int]) -> None:
        returned = self._pool(tenant).returned
        for serial in serials:
            heapq.heappush(returned, serial)

    async def _reserve(self, meta: Metadata, at_least: int) -> tuple[int, int]:
        """Append the next block to the counter, after whatever it last reserved (optimistic on
        the counter's version: another process's block in between is a lost race, retried)."""
        stream = serial_stream(meta.tenant)
        for attempt in range(1, RESERVE_ATTEMPTS + 1):
            version, last = await counter_head(self._store, self._registry, meta.tenant)
            size = self._settings.invoice_number_block_size.at(self._clock.today())
            first, end = next_block(last, size, at_least=at_least)
            env = self._registry.envelope(
                InvoiceNumberBlockReserved(first=first, last=end, series=self.series_name),
                context=CONTEXT,
                stream_id=stream,
                version=version + 1,
                metadata=meta,
                occurred_at=self._clock.now(),
            )
            try:
                await self._store.append([StreamAppend(stream, version, [env])])
            except ConcurrencyConflict:
                if attempt == RESERVE_ATTEMPTS:
                    raise
                await asyncio.sleep(jittered_backoff(attempt))
                continue
            return first, end
        raise AssertionError("unreachable")  # pragma: no cover


async def counter_head(store: EventStore, registry: EventRegistry, tenant: str) -> tuple[int, int]:
    """The version of the tenant's counter and the last number it reserved (both 0 when new)."""
    stream = serial_stream(tenant)
    version = await store.stream_version(stream)
    if not version:
        return 0, 0
    tail = await store.read_stream(stream, after_version=version - 1)
    return tail[-1].version, last_reserved_number(registry.load(tail[-1]))


class BatchNumbers:
    """A batch's numbers: from the counter's head on, in line order, reserved with the batch
    (``reservation``), so that a batch's invoices carry consecutive numbers, one series."""

    def __init__(self, version: int, last: int) -> None:
        self._version = version
        self._first = last + 1
        self._next = last + 1
        self._returned: list[int] = []

    @classmethod
    async def at_head(cls, store: EventStore, registry: EventRegistry, tenant: str) -> BatchNumbers:
        return cls(*await counter_head(store, registry, tenant))

    async def take(self) -> int:
        if self._returned:
            return heapq.heappop(self._returned)
        self._next += 1
        return self._next - 1

    async def prepare(self, count: int) -> None:
        """Nothing to do: the batch reserves what it used, once decided."""

    def ahead(self, count: int) -> range:
        """The next ``count`` numbers ``take`` answers when none is given back: what a batch
        may read ahead for (the OCR claims of its invoices)."""
        return range(self._next, self._next + count)

    def give_back(self, serials: Iterable[int]) -> None:
        for serial in serials:
            heapq.heappush(self._returned, serial)

    def reservation(
        self, registry: EventRegistry, meta: Metadata, series: str, occurred_at: datetime
    ) -> list[StreamAppend]:
        """The append of the numbers the batch used, on the counter at the version it was read
        at (none when the batch numbered nothing). A batch decides its lines one after the other
        and is booked whole, so what it used is the run from its first number on."""
        kept = set(range(self._first, self._next)) - set(self._returned)
        if not kept:
            return []
        stream = serial_stream(meta.tenant)
        env = registry.envelope(
            InvoiceNumberBlockReserved(first=self._first, last=max(kept), series=series),
            context=CONTEXT,
            stream_id=stream,
            version=self._version + 1,
            metadata=meta,
            occurred_at=occurred_at,
        )
        return [StreamAppend(stream, self._version, [env])]


@dataclass(frozen=True, slots=True)
class _TenantSeries:
    blocks: InvoiceNumberBlocks
    meta: Metadata

    async def take(self) -> int:
        return await self.blocks.take(self.meta)

    async def prepare(self, count: int) -> None:
        await self.blocks.prepare(self.meta, count)

    def give_back(self, serials: Iterable[int]) -> None:
        self.blocks.give_back(self.meta.tenant, serials)


class NumberLease:
    """The numbers one command took: kept when its decision is booked, given back otherwise
    (``numbered``). A lease is itself a source: a lease of a batch's line takes from the batch's
    ``BatchNumbers``."""

    def __init__(self, source: SerialSource) -> None:
        self._source = source
        self._taken: list[int] = []

    async def take(self) -> int:
        serial = await self._source.take()
        self._taken.append(serial)
        return serial

    async def prepare(self, count: int) -> None:
        await self._source.prepare(count)

    def give_back(self, serials: Iterable[int]) -> None:
        back = list(serials)
        for serial in back:
            self._taken.remove(serial)
        self._source.give_back(back)

    def restart(self) -> None:
        """A new attempt at the decision: what the last one took goes back first."""
        taken, self._taken = self._taken, []
        self._source.give_back(taken)


async def numbered(lease: NumberLease, run: Awaitable[Outcome[R]]) -> Outcome[R]:
    """Run a command whose decisions take numbers from ``lease``: the numbers of its booked
    decision are kept; when nothing was booked (refused by a rule, a race lost too often, a
    replay of an earlier request that booked its own numbers) they go back.

    Only an answer that says nothing was booked gives them back: a Fordra error other than
    ``StoreUnavailable``. A request cancelled or failing otherwise may have been cancelled after
    its append committed (the store's writer finishes it), and its number may be on an invoice,
    so it is kept: at worst a gap, never one number on two invoices."""
    try:
        outcome = await run
    except StoreUnavailable:
        raise
    except FordraError:
        lease.restart()
        raise
    if outcome.replayed:
        lease.restart()
    return outcome
