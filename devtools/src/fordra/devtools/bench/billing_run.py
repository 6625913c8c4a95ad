"""``fordra-dev bench billing-run``: a municipality's monthly rent notices in one billing run.

Issue 14: "the run is set-based (a municipality's 50,000 monthly notices in one run)". The run
(``fordra.invoicing.application.billing_run.run_billing``, the scheduler's "billing run" job) reads
the charges still to bill and their periods in two queries of the charge register, then books the
notices in chunks of ``settings.invoicing.recurring.run_chunk_size``, each chunk one append of its
invoices through the invoice use case (the 50 kr rule, OCR, VAT, holds).

Setup, not timed: an embedded platform with a manual clock on the day before the run; N customers
registered and N monthly housing rents (one each, 4,000 to 8,990 kr, VAT 0 %, so none is over the
10,000 kr manual check) registered through the use cases (``register_customer``,
``create_recurring_charge``), in bulk: the use cases of a chunk of customers run against one
``StagedEventStore`` and the chunk is committed as one append, as an invoice batch is; then every
read model catches up. The rents start on the 1st of the next month, which is billed in advance
on this month's 2nd working day (domain.md §8 "Rent (LOIS)"): the clock moves to that day (without
the scheduler, so the run is not started by it) and the run is timed.

Cases (the names issue 14 gives):

- ``billing-run/plain-insert`` (the reference): the events the run appended, read back afterwards,
  encoded with the same codec and inserted with the standard ``sqlite3`` module into a fresh file
  of the store's schema and file settings, one transaction per append as the run committed them
  (``results.plain_insert``, as the invoice-batch part's reference);
- ``billing-run/fordra``: one ``run_billing`` of the day, until it returns its report (the notices
  are appended; the read models catch up afterwards, timed apart as ``settle_seconds``).

Both count the notices; the ratio is the plain insert's rate over the run's (how many times slower
the run is than writing its own events plainly).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from fordra.app.bootstrap import Platform, build_embedded
from fordra.app.settings import Settings
from fordra.contracts.invoicing import PostalAddress
from fordra.devtools.bench.invoice_batch import RecordingStore
from fordra.devtools.bench.payments import personnummer
from fordra.devtools.bench.results import (
    Case,
    document,
    finish,
    machine,
    part_parser,
    peak_rss,
    plain_insert,
    read_appended,
    run_part,
    table,
    targets,
    write_document,
)
from fordra.invoicing.application.billing_run import run_billing
from fordra.invoicing.application.handlers import register_customer
from fordra.invoicing.application.recurring_charges import create_recurring_charge
from fordra.invoicing.domain.commands import RegisterCustomer
from fordra.invoicing.domain.recurring_charge import CreateRecurringCharge
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.envelope import Metadata
from fordra.kernel.staging import StagedEventStore

PLAIN = "billing-run/plain-insert"
FORDRA = "billing-run/fordra"
DEPARTMENT = "housing"
# The rents start on 1 April 2026, billed in advance on March's 2nd working day (Tuesday 3 March:
# Monday the 2nd is the 1st); the setup runs on the day before. No holiday near either.
SETUP_DAY = date(2026, 3, 2)
STARTS_ON = date(2026, 4, 1)
SETUP_CHUNK = 2_000  # customers (and their rents) staged per append of the setup
SETTLE_TIMEOUT = 6 * 3600.0  # the bench waits for the read models however long they take


def rent_ore(n: int) -> int:
    """The n-th flat's monthly rent: 4,000 to 8,990 kr, below seed 002's 10,000 kr check."""
    return 400_000 + (n % 500) * 1_000


@dataclass(slots=True)
class BillingRunBench:
    notices: int
    results: list[Case]
    run_day: date
    chunk_size: int
    appends: int
    events: int
    held: int
    setup_seconds: float
    settle_seconds: float

    @property
    def ratio(self) -> float:
        """How many times slower the run is than the plain insert of its events."""
        plain, fordra = self.results
        return plain.per_second / fordra.per_second if fordra.per_second > 0 else 0.0


async def register_rents(platform: Platform, count: int) -> date:
    """``count`` customers and a monthly housing rent each, through the use cases, a chunk per
    append (module docstring). Answers the day the rents' first notices are due."""
    admin = Principal(subject="bench-setup", role=Role.ADMIN, tenant=platform.settings.municipality)
    housing = Principal(
        subject="bench-setup", role=Role.DEPARTMENT, tenant=admin.tenant, department=DEPARTMENT
    )
    due_on: set[date | None] = set()
    for first in range(0, count, SETUP_CHUNK):
        staged = StagedEventStore(platform.invoicing.store, new_when_unread=True)
        invoicing = replace(platform.invoicing, store=staged)
        recurring = replace(platform.recurring, invoicing=invoicing)
        for k in range(first, min(count, first + SETUP_CHUNK)):
            meta = Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))
            registered = await register_customer(
                RegisterCustomer(
                    id_number=personnummer(k),
                    name=f"Hyresgäst {k}",
                    address=PostalAddress(
                        street=f"Storgatan {k % 120 + 1}, lgh {1001 + k % 400}",
                        postal_code="512 50",
                        city="Svenljunga",
                    ),
                ),
                invoicing,
                admin,
                meta,
            )
            created = await create_recurring_charge(
                CreateRecurringCharge(
                    customer_id=registered.response.customer_id,
                    department=DEPARTMENT,
                    service_type="housing_rent",
                    description=f"Hyra Storgatan {k % 120 + 1}, lgh {1001 + k % 400}",
                    amount_ore=rent_ore(k),
                    vat_rate=0,
                    period="monthly",
                    starts_on=STARTS_ON,
                ),
                recurring,
                housing,
                Metadata(housing.tenant, housing.actor, str(uuid.uuid4())),
            )
            due_on.add(created.response.next_notice_on)
        await platform.invoicing.store.append(staged.appends())
    if len(due_on) != 1 or None in due_on:
        raise RuntimeError(f"the rents' first notices fall on {sorted(map(str, due_on))}")
    (day,) = due_on
    assert day is not None
    return day


async def run_billing_bench(
    count: int = 50_000, *, workdir: Path, out: Callable[[str], None] = print
) -> BillingRunBench:
    """Set up ``count`` rents on an embedded platform in ``workdir``, then time both cases."""
    if count < 1:
        raise ValueError("count must be positive")
    out(f"fordra-dev bench billing-run: {count:,} monthly rent notices in one run")
    settings = Settings(
        data_dir=workdir / "fordra", clock="manual", settle_timeout_seconds=SETTLE_TIMEOUT
    )
    platform = build_embedded(settings, today=SETUP_DAY)
    started = time.perf_counter()
    await platform.start()
    try:
        run_day = await register_rents(platform, count)
        await platform.settle()
        setup_seconds = time.perf_counter() - started
        out(f"  setup: {count:,} customers and rents in {setup_seconds:.1f} s; run on {run_day}")
        clock = platform.clock
        assert isinstance(clock, ManualClock)
        # Straight to the run's day: the scheduler's own "billing run" job must not run it.
        clock.set_today(run_day)
        store = RecordingStore(platform.invoicing.store)
        deps = replace(
            platform.recurring, invoicing=replace(platform.recurring.invoicing, store=store)
        )
        meta = Metadata(settings.municipality, "system:billing-run", str(uuid.uuid4()))
        gc.collect()
        with peak_rss() as peak:
            began = time.perf_counter()
            report = await run_billing(run_day, deps, meta)
            seconds = time.perf_counter() - began
        began = time.perf_counter()
        await platform.settle()
        settle_seconds = time.perf_counter() - began
        issued, held, failed = await platform.recurring.register.run_of(run_day)
        if issued != count or held or failed:
            raise RuntimeError(
                f"the run of {run_day} issued {issued} notices, held {len(held)} and could not "
                f"issue {len(failed)}, not {count} issued"
            )
        fordra = Case(
            FORDRA,
            count,
            seconds,
            peak.mib,
            {
                "appends": len(store.spans),
                "reported_issued": report.issued,
                "settle_seconds": settle_seconds,
            },
        )
        out(f"  {FORDRA:<28} {fordra.seconds:9.3f} s {fordra.per_second:>10,.1f}/s")
        events, chunks = await read_appended(platform.invoicing.store, store.spans)
    finally:
        await platform.stop()
    del platform, store, deps
    gc.collect()
    with peak_rss() as peak:
        path = workdir / "plain-insert.sqlite"
        plain_seconds = await asyncio.to_thread(plain_insert, events, chunks, path, "invoicing")
    plain = Case(PLAIN, count, plain_seconds, peak.mib, {"events": len(events)})
    fordra.extra["events"] = len(events)
    out(f"  {PLAIN:<28} {plain.seconds:9.3f} s {plain.per_second:>10,.1f}/s")
    bench = BillingRunBench(
        notices=count,
        results=[plain, fordra],
        run_day=run_day,
        chunk_size=settings.invoicing.recurring.run_chunk_size,
        appends=len(chunks),
        events=len(events),
        held=len(report.held),
        setup_seconds=setup_seconds,
        settle_seconds=settle_seconds,
    )
    fordra.extra["ratio_to_plain_insert"] = bench.ratio
    for line in table(bench.results, targets(bench.results)):
        out(line)
    out(f"the run is {bench.ratio:.1f}x slower than the plain insert of its {len(events):,} events")
    return bench


def write_json(
    bench: BillingRunBench, path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    """The common document (``fordra.devtools.bench.results``), the rest of the run in
    ``details.billing-run``."""
    section = machine_section if machine_section is not None else finish(machine())
    fields = {
        "notices": bench.notices,
        "run_day": bench.run_day.isoformat(),
        "chunk_size": bench.chunk_size,
        "appends": bench.appends,
        "events": bench.events,
        "held": bench.held,
        "ratio": bench.ratio,
        "setup_seconds": bench.setup_seconds,
        "settle_seconds": bench.settle_seconds,
    }
    write_document(path, document(section, bench.results, {"billing-run": fields}))


def main(argv: list[str] | None = None) -> int:
    parser = part_parser(
        "billing-run",
        "N monthly rent notices in one billing run; compare with a plain insert.",
        size="count",
        default=50_000,
        what="rent notices",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be positive")
    run_part(args, lambda workdir: run_billing_bench(args.count, workdir=workdir), write_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
