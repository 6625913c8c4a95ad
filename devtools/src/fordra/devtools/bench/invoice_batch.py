"""``fordra-dev bench invoice-batch``: a monthly run of N invoices as JSON Lines batches.

The workload is N water invoices (one line each, 25 % VAT) for N/10 customers, each customer
owning the property billed and each of its invoices billing a month of its own, as the JSON Lines
batch format takes them (docs/invoice-batch-format.md): one ``POST /api/v1/invoices`` body per
line, with a ``source_reference`` per line. A batch holds at most ``MAX_BATCH_LINES`` invoices
(10,000; the format's limit), so the N lines go as N/10,000 files, one after the other, as a
departmental system splits its run.

Two cases (issue 12's names):

- ``invoice-batch/fordra``: every file through ``issue_invoice_batch`` (the use case behind
  ``POST /api/v1/invoice-batches``) on an embedded platform, then ``platform.settle()``: the clock
  stops when every projection and process manager has caught up;
- ``invoice-batch/plain-insert`` (its reference): the events those batches appended, read back
  afterwards, encoded with the same codec and inserted with the standard ``sqlite3`` module into a
  fresh file of the store's schema and file settings, one transaction per file as the use case
  committed them (``results.plain_insert``).

Setup, not timed: the customers are registered and their properties recorded through the use
cases, 50 at a time; the files are built before the clock starts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fordra.app.bootstrap import Platform, build_embedded
from fordra.app.settings import Settings
from fordra.contracts.invoicing import PostalAddress
from fordra.devtools.bench.payments import personnummer
from fordra.devtools.bench.results import (
    Case,
    Span,
    document,
    finish,
    machine,
    part_parser,
    peak_rss,
    plain_insert,
    read_appended,
    run_part,
    span_of,
    table,
    targets,
    write_document,
)
from fordra.invoicing.application.batches import issue_invoice_batch
from fordra.invoicing.application.customers import change_customer
from fordra.invoicing.application.handlers import register_customer
from fordra.invoicing.domain.batch import MAX_BATCH_LINES
from fordra.invoicing.domain.commands import RecordPropertyOwnership, RegisterCustomer
from fordra.kernel.auth import Principal, Role
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.eventstore import (
    DelegatingEventStore,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)

FORDRA = "invoice-batch/fordra"
PLAIN = "invoice-batch/plain-insert"
JSONL = "application/x-ndjson"
DEPARTMENT = "water"
INVOICES_PER_CUSTOMER = 10
SETUP_CONCURRENCY = 50
TODAY = date(2026, 3, 2)
SETTLE_TIMEOUT = 6 * 3600.0  # the bench waits for the read models however long they take


# -- the workload ---------------------------------------------------------------------------------


def month(k: int) -> dict[str, str]:
    """The k-th month from January 2024 as a billing period: a customer's k-th invoice bills a
    month of its own (water periods never overlap from one invoice to the next)."""
    start = date(2024 + k // 12, k % 12 + 1, 1)
    following = date(2024 + (k + 1) // 12, (k + 1) % 12 + 1, 1)
    return {"start": start.isoformat(), "end": (following - timedelta(days=1)).isoformat()}


def invoice_body(n: int, customers: Sequence[str]) -> dict[str, Any]:
    """The ``n``-th invoice of the run: the JSON body ``POST /api/v1/invoices`` takes."""
    return {
        "customer_id": customers[n % len(customers)],
        "department": DEPARTMENT,
        "service_type": "water",
        "invoice_date": TODAY.isoformat(),
        "lines": [
            {
                "description": "Vatten och avlopp, förbrukning m³",
                "quantity": 10 + n % 40,  # 289 kr and more: never a small amount held back
                "unit_price_ore": 2890,
                "vat_rate": 25,
            }
        ],
        "source_reference": f"VA-{n + 1:07d}",
        "billing_period": month(n // len(customers)),
    }


def batch_files(
    count: int, customers: Sequence[str], per_file: int = MAX_BATCH_LINES
) -> list[bytes]:
    """``count`` invoices as JSON Lines files of at most ``per_file`` lines."""
    files = []
    for first in range(0, count, per_file):
        lines = (
            json.dumps(invoice_body(n, customers), ensure_ascii=False)
            for n in range(first, min(count, first + per_file))
        )
        files.append("\n".join(lines).encode() + b"\n")
    return files


async def register_owners(platform: Platform, count: int) -> list[str]:
    """``count`` customers through the use cases, each the owner of the property billed (seed
    001: the owner is liable for water)."""
    admin = Principal(subject="bench-setup", role=Role.ADMIN, tenant=platform.settings.municipality)
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    def meta() -> Metadata:
        return Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))

    async def one(k: int) -> str:
        async with gate:
            outcome = await register_customer(
                RegisterCustomer(
                    id_number=personnummer(k),
                    name=f"Kund {k}",
                    address=PostalAddress(
                        street=f"Storgatan {k % 120 + 1}", postal_code="512 50", city="Svenljunga"
                    ),
                ),
                platform.invoicing,
                admin,
                meta(),
            )
            customer_id = outcome.response.customer_id
            await change_customer(
                customer_id,
                RecordPropertyOwnership(
                    property_designation=f"Svenljunga Bänk 1:{k}", owned_from=date(2000, 1, 1)
                ),
                platform.invoicing,
                admin,
                meta(),
            )
            return customer_id

    return list(await asyncio.gather(*(one(k) for k in range(count))))


class RecordingStore(DelegatingEventStore):
    """Delegates to a store and notes the positions each append wrote (``Span``), so that the
    plain insert can write the same events afterwards."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.spans: list[Span] = []

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        stored = await self.inner.append(appends, tracking=tracking, idempotency=idempotency)
        if (span := span_of(stored)) is not None:
            self.spans.append(span)
        return stored


# -- the run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class InvoiceBatchBench:
    invoices: int
    files: int
    customers: int
    results: list[Case]
    events: int
    setup_seconds: float
    issue_seconds: float  # until the last file's use case returned
    settle_seconds: float  # from then until every subscription caught up


async def run_invoice_batch(
    invoices: int = 100_000, *, workdir: Path, out: Callable[[str], None] = print
) -> InvoiceBatchBench:
    """Set up the customers on an embedded platform in ``workdir``, then time both cases."""
    if invoices < 1:
        raise ValueError("invoices must be positive")
    out(f"fordra-dev bench invoice-batch: {invoices:,} invoices as JSON Lines batches")
    settings = Settings(
        data_dir=workdir / "fordra", clock="manual", settle_timeout_seconds=SETTLE_TIMEOUT
    )
    platform = build_embedded(settings, today=TODAY)
    started = time.perf_counter()
    await platform.start()
    try:
        customers = await register_owners(platform, max(1, invoices // INVOICES_PER_CUSTOMER))
        await platform.settle()
        files = batch_files(invoices, customers)
        setup_seconds = time.perf_counter() - started
        out(
            f"  setup: {len(customers):,} customers in {setup_seconds:.1f} s; "
            f"{len(files)} files of at most {MAX_BATCH_LINES:,} lines, "
            f"{sum(map(len, files)):,} bytes"
        )
        water = Principal(
            subject="bench", role=Role.DEPARTMENT, tenant=settings.municipality,
            department=DEPARTMENT,
        )  # fmt: skip
        store = RecordingStore(platform.invoicing.store)
        deps = replace(platform.invoicing, store=store)
        gc.collect()
        with peak_rss() as peak:
            began = time.perf_counter()
            booked = 0
            for data in files:
                meta = Metadata(water.tenant, water.actor, str(uuid.uuid4()))
                outcome = await issue_invoice_batch(data, JSONL, deps, water, meta)
                booked += outcome.response.invoices
            issued = time.perf_counter()
            await platform.settle()
            settled = time.perf_counter()
        if booked != invoices:
            raise RuntimeError(f"the batches booked {booked} invoices, not {invoices}")
        del files
        fordra = Case(
            FORDRA, invoices, settled - began, peak.mib,
            {"files": len(store.spans), "issue_seconds": issued - began},
        )  # fmt: skip
        out(f"  {FORDRA:<28} {fordra.seconds:9.3f} s {fordra.per_second:>10,.1f}/s")
        events, chunks = await read_appended(platform.invoicing.store, store.spans)
    finally:
        await platform.stop()
    del platform, store, deps
    gc.collect()
    with peak_rss() as peak:
        path = workdir / "plain-insert.sqlite"
        seconds = await asyncio.to_thread(plain_insert, events, chunks, path, "invoicing")
    plain = Case(PLAIN, invoices, seconds, peak.mib, {"events": len(events)})
    fordra.extra["events"] = len(events)
    out(f"  {PLAIN:<28} {plain.seconds:9.3f} s {plain.per_second:>10,.1f}/s")
    bench = InvoiceBatchBench(
        invoices=invoices,
        files=len(chunks),
        customers=len(customers),
        results=[plain, fordra],
        events=len(events),
        setup_seconds=setup_seconds,
        issue_seconds=issued - began,
        settle_seconds=settled - issued,
    )
    for line in table(bench.results, targets(bench.results)):
        out(line)
    return bench


def write_json(
    bench: InvoiceBatchBench, path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    """The common document (``fordra.devtools.bench.results``), the rest of the run in
    ``details.invoice-batch``."""
    section = machine_section if machine_section is not None else finish(machine())
    fields = {
        "invoices": bench.invoices,
        "files": bench.files,
        "customers": bench.customers,
        "events": bench.events,
        "setup_seconds": bench.setup_seconds,
        "issue_seconds": bench.issue_seconds,
        "settle_seconds": bench.settle_seconds,
    }
    write_document(path, document(section, bench.results, {"invoice-batch": fields}))


def main(argv: list[str] | None = None) -> int:
    parser = part_parser(
        "invoice-batch",
        "Book N invoices as JSON Lines batches; compare with a plain insert.",
        size="invoices",
        default=100_000,
        what="invoices",
    )
    args = parser.parse_args(argv)
    if args.invoices < 1:
        parser.error("--invoices must be positive")
    run_part(args, lambda workdir: run_invoice_batch(args.invoices, workdir=workdir), write_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
