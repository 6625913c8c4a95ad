"""``fordra-dev bench payments``: importing a camt.054 of N payments, beside the bare XML parse.

The workload is a camt.054.001.02 credit notification (as Swedish banks send it) of N booked
credit transactions, 1,000 per ``Ntry`` (with ``Btch`` control totals and a ``TxsSummry``), each
``TxDtls`` paying one open invoice exactly: its own ``AcctSvcrRef``, the amount, the payer's name
and the invoice's OCR number as a ``SCOR`` reference. The file is about 370 bytes per payment.

Four cases (issue 12's names; the first three on the same bytes):

- ``payments/lxml-bare`` (the limit): ``lxml.etree.fromstring`` and a loop over every ``Ntry``
  and its ``TxDtls``, reading nothing;
- ``payments/parse``: ``parse_bank_file`` alone (format detection, the safety scan, lxml, every
  check of the camt.054 module, one ``BankPayment`` per transaction);
- ``payments/fordra``: ``import_payment_file`` through ``PaymentsDeps`` of an embedded platform,
  as ``POST /api/v1/payment-files`` calls it, and then ``platform.settle()``: every projection and
  process manager has caught up (the ledger shows the payments). The use case books the whole file
  in ONE append: every payment received, matched and allocated, or nothing;
- ``payments/plain-insert`` (its reference): the events that append wrote, read back, encoded
  with the same codec and inserted in one transaction with the standard ``sqlite3`` module into a
  fresh file of the store's schema and file settings (``results.plain_insert``).

The two parse cases are the best of three runs; the import runs once. The goals are the parse
within 3x of the bare parse and the import until settled within 3x of the plain insert. Beside
the total, the import is split into its stages (the parse, the store reads of the decision, the
rest of the decision, the append, the settle) by timing wrappers around the use case's
dependencies, and the settle into the moment each subscription caught up.
``--profile DIR`` runs the import and the settle under cProfile as well (slower) and prints where
the time goes.

Setup, not timed: N open invoices of N/10 customers. The customers are registered through the use
case; the invoices are decided by invoicing's domain function (``issue_invoice``) and appended in
bulk (1,000 per append) with the use case's own ``invoice_appends`` (invoice, OCR claim; numbers
from one block reserved for them all;
not the billing period, which only guards the next invoice of the same service), and
payments' receivables are appended in bulk with what payments' process manager decides for each
(its real reaction, fed the stream versions from memory). Both process managers' tracking is then
moved to the heads, and the projections build their read models from the bulk events as the
platform starts. Through the use case one invoice at a time, 100,000 invoices would take over 40
minutes on this machine; in bulk the setup takes about 18 (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import os
import pstats
import resource
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from lxml import etree

from fordra.app.bootstrap import Platform, build_embedded
from fordra.app.settings import Settings
from fordra.contracts.invoicing import InvoiceIssued, PostalAddress
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
from fordra.invoicing.application.handlers import (
    invoice_appends,
    register_customer,
)
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice, RegisterCustomer
from fordra.invoicing.domain.invoice import issue_invoice as decide_invoice
from fordra.kernel.auth import Principal, Role
from fordra.kernel.calendar import SWEDISH_TIME
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.eventstore import (
    DelegatingEventStore,
    EventStore,
    IdempotencyRecord,
    StreamAppend,
    Tracking,
)
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.ocr import luhn_check_digit
from fordra.kernel.process import ProcessManagerRunner
from fordra.payments.adapters.detect import parse_bank_file
from fordra.payments.application.import_file import ImportResult, import_payment_file
from fordra.payments.application.receivables import receivable_reactions
from fordra.payments.domain.bank_file import ParsedBankFile

BARE = "payments/lxml-bare"
PARSE = "payments/parse"
PLAIN = "payments/plain-insert"
IMPORT = "payments/fordra"
GOAL_RATIO = 3.0  # the parse within this many times the bare parse, the import the plain insert

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
PER_ENTRY = 1000  # TxDtls per Ntry, as a bank batches a day's OCR payments
INVOICES_PER_CUSTOMER = 10
SEED_CHUNK = 1000  # invoices per bulk append in the setup
PARSE_REPEATS = 3
IBAN = "SE4550000000058398257466"

_FIRST = ("Anna", "Bertil", "Cecilia", "David", "Eva", "Fredrik", "Greta", "Hans", "Ingrid")
_LAST = ("Andersson", "Berg", "Carlsson", "Dahl", "Eriksson", "Forsberg", "Gustafsson", "Holm")


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    invoice_id: str
    customer_id: str
    ocr: str
    total_ore: int


@dataclass(slots=True)
class PaymentsBench:
    """The figures of one run (``write_json`` writes them as they are)."""

    payments: int
    file_bytes: int
    results: list[Case]
    import_result: dict[str, Any]
    # parse, reads, decide (the rest of the decision), append, settle: seconds of each.
    stages: dict[str, float]
    store_reads: int  # read calls of the use case; a bulk read of many streams is one
    bulk_streams: int  # streams read by its bulk reads
    bulk_read_seconds: float  # of the stage "reads"
    events_appended: int
    # Seconds from the end of the import until each subscription had caught up.
    caught_up: dict[str, float]
    setup_seconds: float
    load_average_start: tuple[float, float, float]
    load_average_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    profiled: bool = False

    def seconds(self, name: str) -> float:
        return next(r.seconds for r in self.results if r.name == name)

    @property
    def ratio(self) -> float:
        """The whole import (until settled) over the plain insert of its events."""
        return self.seconds(IMPORT) / self.seconds(PLAIN)

    @property
    def parse_ratio(self) -> float:
        """The parse over the bare lxml parse."""
        return self.seconds(PARSE) / self.seconds(BARE)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -- the file -------------------------------------------------------------------------------------


def _kronor(ore: int) -> str:
    return f"{ore // 100}.{ore % 100:02d}"


def camt054_file(
    invoices: Sequence[OpenInvoice],
    *,
    booked_on: date,
    msg_id: str = "BENCH-0001",
    per_entry: int = PER_ENTRY,
) -> bytes:
    """A camt.054.001.02 notification paying every invoice exactly, by its OCR number."""
    created = datetime.combine(booked_on, clock_time(6, 15), tzinfo=SWEDISH_TIME).isoformat()
    day = booked_on.isoformat()
    entries: list[str] = []
    for first in range(0, len(invoices), per_entry):
        chunk = invoices[first : first + per_entry]
        total = sum(i.total_ore for i in chunk)
        txs = []
        for n, inv in enumerate(chunk, start=first + 1):
            payer = f"{_FIRST[n % len(_FIRST)]} {_LAST[n % len(_LAST)]}"
            txs.append(
                f"<TxDtls><Refs><AcctSvcrRef>BENCH-{n:09d}</AcctSvcrRef>"
                "<EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
                f'<AmtDtls><TxAmt><Amt Ccy="SEK">{_kronor(inv.total_ore)}</Amt></TxAmt></AmtDtls>'
                f"<RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>"
                "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                f"<Ref>{inv.ocr}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>\n"
            )
        entries.append(
            f'<Ntry><Amt Ccy="SEK">{_kronor(total)}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>BENCH-NTRY-{first // per_entry + 1:06d}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly>"
            "</Domn></BkTxCd>\n"
            f"<NtryDtls><Btch><NbOfTxs>{len(chunk)}</NbOfTxs>"
            f'<TtlAmt Ccy="SEK">{_kronor(total)}</TtlAmt><CdtDbtInd>CRDT</CdtDbtInd></Btch>\n'
            f"{''.join(txs)}</NtryDtls></Ntry>\n"
        )
    grand = sum(i.total_ore for i in invoices)
    summary = (
        f"<TxsSummry><TtlNtries><NbOfNtries>{len(entries)}</NbOfNtries>"
        f"<Sum>{_kronor(grand)}</Sum></TtlNtries>"
        f"<TtlCdtNtries><NbOfNtries>{len(entries)}</NbOfNtries>"
        f"<Sum>{_kronor(grand)}</Sum></TtlCdtNtries></TxsSummry>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{NAMESPACE}">\n<BkToCstmrDbtCdtNtfctn>\n'
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n"
        f"<Ntfctn><Id>{msg_id}-1</Id><CreDtTm>{created}</CreDtTm>"
        f"<Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>{summary}\n"
        f"{''.join(entries)}</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n"
    ).encode()


def bare_parse(data: bytes) -> int:
    """The limit: lxml parses the file and walks every ``Ntry`` and its ``TxDtls``."""
    root = etree.fromstring(data)
    entry, transaction = f"{{{NAMESPACE}}}Ntry", f"{{{NAMESPACE}}}TxDtls"
    count = 0
    for ntry in root.iter(entry):
        for _tx in ntry.iter(transaction):
            count += 1
    return count


# -- the setup ------------------------------------------------------------------------------------


def personnummer(k: int) -> str:
    """A valid personnummer (12 digits) for customer ``k``: born 1940-2000, Luhn-checked."""
    born = date(1940, 1, 1) + timedelta(days=k % 21_900)
    serial = 1 + (k // 21_900) % 998
    return f"{born:%Y%m%d}{serial:03d}" + luhn_check_digit(f"{born:%y%m%d}{serial:03d}")


class _VersionsOnly(DelegatingEventStore):
    """The payments store as the setup's reactions see it: stream versions from memory (what the
    setup appended), no stream's events; the rest is the store's."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.versions: dict[str, int] = {}

    async def stream_version(self, stream_id: str) -> int:
        return self.versions.get(stream_id, 0)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        return []  # the bench's customers have no credit to set off


def _merged(appends: Sequence[StreamAppend]) -> list[StreamAppend]:
    """One ``StreamAppend`` per stream (a store checks each stream's version once per append)."""
    merged: dict[str, StreamAppend] = {}
    for a in appends:
        if a.stream_id in merged:
            first = merged[a.stream_id]
            merged[a.stream_id] = StreamAppend(
                a.stream_id, first.expected_version, [*first.events, *a.events]
            )
        else:
            merged[a.stream_id] = a
    return list(merged.values())


async def _register_customers(platform: Platform, count: int, concurrency: int = 50) -> list[str]:
    admin = Principal(subject="bench-setup", role=Role.ADMIN, tenant=platform.settings.municipality)
    gate = asyncio.Semaphore(concurrency)

    async def one(k: int) -> str:
        async with gate:
            outcome = await register_customer(
                RegisterCustomer(
                    id_number=personnummer(k),
                    name=f"{_FIRST[k % len(_FIRST)]} {_LAST[k % len(_LAST)]}",
                    address=PostalAddress(
                        street=f"Storgatan {k % 120 + 1}", postal_code="512 50", city="Svenljunga"
                    ),
                ),
                platform.invoicing,
                admin,
                Metadata(admin.tenant, admin.actor, str(uuid.uuid4())),
            )
            return outcome.response.customer_id

    return list(await asyncio.gather(*(one(k) for k in range(count))))


async def seed_open_invoices(
    platform: Platform, count: int, *, customers: int | None = None
) -> list[OpenInvoice]:
    """``count`` open invoices on a platform that is not started (see the module docstring).

    Starts and closes the platform's stores; start the platform afterwards, and settle, for the
    projections to build the read models from what was appended.
    """
    if platform.started:
        raise RuntimeError("seed before the platform starts: its process managers must not run")
    stores = platform.stores
    for store in stores.values():
        await store.start()
    try:
        ids = await _register_customers(
            platform, customers or max(1, count // INVOICES_PER_CUSTOMER)
        )
        invoices = await _append_invoices(platform, ids, count)
        # Both process managers have now processed everything: their tracking moves to the heads.
        for sub in platform.subscriptions:
            if isinstance(sub.consumer, ProcessManagerRunner):
                for upstream in sub.upstreams:
                    await sub.consumer.skip(upstream, await stores[upstream].max_position())
    finally:
        for store in stores.values():
            await store.close()
    return invoices


async def _append_invoices(
    platform: Platform, customers: Sequence[str], count: int
) -> list[OpenInvoice]:
    deps = platform.invoicing
    registry = platform.registry
    invoicing, payments = platform.stores["invoicing"], platform.stores["payments"]
    tenant = platform.settings.municipality
    meta = Metadata(tenant, "bench:setup", str(uuid.uuid4()))
    now = platform.clock.now()
    invoice_date = platform.clock.today() - timedelta(days=20)
    # The invoices' numbers from the platform's own series: one block reservation for them all.
    serials = deps.serials(meta)
    await serials.prepare(count)
    versions = _VersionsOnly(payments)
    on_issued = receivable_reactions(registry, platform.payments.policy)[InvoiceIssued.event_type]
    invoices: list[OpenInvoice] = []

    for first in range(0, count, SEED_CHUNK):
        appends: list[StreamAppend] = []
        for n in range(first, min(count, first + SEED_CHUNK)):
            serial = await serials.take()
            invoice_id = str(uuid.uuid4())
            issued = decide_invoice(
                IssueInvoice(
                    customer_id=customers[n % len(customers)],
                    department="water",
                    service_type="water",
                    invoice_date=invoice_date,
                    lines=(
                        InvoiceLineInput(
                            description="Vatten och avlopp, kvartal",
                            unit_price_ore=20_000 + (n * 37) % 50_000,
                            vat_rate=25,
                        ),
                    ),
                    source_reference=f"BENCH-{n + 1:07d}",
                ),
                invoice_id=invoice_id,
                serial_number=serial,
                settings=deps.settings,
                calendar=deps.calendar,
            )
            appends += invoice_appends(issued, registry=registry, meta=meta, occurred_at=now)
            invoices.append(
                OpenInvoice(invoice_id, issued.customer_id, issued.ocr, issued.total_ore)
            )
        # One StreamAppend per stream: the chunk's serials are one append to the counter.
        stored = await invoicing.append(_merged(appends))
        # What payments' process manager appends for each issued invoice, decided by its reaction.
        reactions: list[StreamAppend] = []
        for env in stored:
            if env.event_type == InvoiceIssued.event_type:
                for a in await on_issued(env, versions):
                    reactions.append(a)
                    versions.versions[a.stream_id] = a.expected_version + len(a.events)
        await payments.append(_merged(reactions))
    return invoices


# -- timing the import ----------------------------------------------------------------------------


class _TimedStore(DelegatingEventStore):
    """Delegates to the payments store, timing the reads and the append of the use case."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.reads = 0  # calls: a bulk read of many streams is one
        self.bulk_streams = 0  # streams read by those bulk reads
        self.read_seconds = 0.0
        self.bulk_read_seconds = 0.0  # of read_seconds
        self.append_seconds = 0.0
        self.appended = 0
        self.spans: list[Span] = []  # what each append wrote, read back for the plain insert

    async def append(
        self,
        appends: Sequence[StreamAppend],
        *,
        tracking: Tracking | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> list[Envelope]:
        started = time.perf_counter()
        try:
            stored = await self.inner.append(appends, tracking=tracking, idempotency=idempotency)
        finally:
            self.append_seconds += time.perf_counter() - started
        self.appended += len(stored)
        if (span := span_of(stored)) is not None:
            self.spans.append(span)
        return stored

    async def _read(self, started: float) -> None:
        self.reads += 1
        self.read_seconds += time.perf_counter() - started

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        started = time.perf_counter()
        events = await self.inner.read_stream(stream_id, after_version)
        await self._read(started)
        return events

    async def stream_version(self, stream_id: str) -> int:
        started = time.perf_counter()
        version = await self.inner.stream_version(stream_id)
        await self._read(started)
        return version

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        # Delegated as it is: the port's default would read the streams one by one.
        started = time.perf_counter()
        found = await self.inner.read_streams(stream_ids)
        await self._read(started)
        self.bulk_streams += len(stream_ids)
        self.bulk_read_seconds += time.perf_counter() - started
        return found


@dataclass(slots=True)
class _CatchUp:
    """Samples the in-process bus while the platform settles: when each subscription caught up."""

    bus: InProcessBus
    stores: dict[str, EventStore]
    out: Callable[[str], None]
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    async def run(self, started: float, every: float = 0.1, report_every: float = 60.0) -> None:
        reported = 0.0
        while True:
            elapsed = time.perf_counter() - started
            self.samples.append((elapsed, self.bus.lag()))
            if elapsed - reported >= report_every:  # a long settle shows it is moving
                reported = elapsed
                heads = {name: await s.max_position() for name, s in self.stores.items()}
                behind = {
                    key: heads[key.rsplit("<-", 1)[1]] - position
                    for key, position in self.samples[-1][1].items()
                }
                key, lag = max(behind.items(), key=lambda kv: kv[1])
                self.out(f"    settling, {elapsed:.0f} s: {key} is {lag:,} events behind")
            await asyncio.sleep(every)

    def caught_up(self, heads: dict[str, int]) -> dict[str, float]:
        result: dict[str, float] = {}
        for key in self.bus.subscriptions:
            upstream = key.rsplit("<-", 1)[1]
            result[key] = next(
                (t for t, lag in self.samples if lag.get(key, 0) >= heads[upstream]),
                self.samples[-1][0] if self.samples else 0.0,
            )
        return result


def _top(profile: cProfile.Profile, path: Path, lines: int = 25) -> list[str]:
    profile.dump_stats(path)
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return [f"cProfile of {path.stem} (written to {path}):", *text.getvalue().splitlines()]


async def _timed_import(
    platform: Platform,
    data: bytes,
    count: int,
    profile_dir: Path | None,
    out: Callable[[str], None],
) -> tuple[float, ImportResult, dict[str, float], _TimedStore, dict[str, float]]:
    store = _TimedStore(platform.payments.store)
    parse_seconds = 0.0

    def parse(raw: bytes) -> ParsedBankFile:
        nonlocal parse_seconds
        started = time.perf_counter()
        try:
            return platform.payments.parse(raw)
        finally:
            parse_seconds += time.perf_counter() - started

    deps = replace(platform.payments, store=store, parse=parse)
    principal = Principal(
        subject="bench", role=Role.BANK_INGEST, tenant=platform.settings.municipality
    )
    meta = Metadata(principal.tenant, principal.actor, str(uuid.uuid4()))
    profiler = cProfile.Profile() if profile_dir is not None else None

    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    outcome = await import_payment_file(data, deps, principal, meta)
    if profiler is not None:
        profiler.disable()
    imported = time.perf_counter()
    out(f"  the import returned after {imported - started:.1f} s; settling")

    sampler = (
        _CatchUp(platform.bus, platform.stores, out)
        if isinstance(platform.bus, InProcessBus)
        else None
    )
    sampling = asyncio.create_task(sampler.run(imported)) if sampler is not None else None
    settle_profiler = cProfile.Profile() if profile_dir is not None else None
    if settle_profiler is not None:
        settle_profiler.enable()
    try:
        await platform.settle()
    finally:
        if settle_profiler is not None:
            settle_profiler.disable()
        if sampling is not None:
            sampling.cancel()
    finished = time.perf_counter()

    heads = {name: await s.max_position() for name, s in platform.stores.items()}
    caught_up = sampler.caught_up(heads) if sampler is not None else {}
    booking = imported - started
    stages = {
        "parse": parse_seconds,
        "reads": store.read_seconds,
        "decide": booking - parse_seconds - store.read_seconds - store.append_seconds,
        "append": store.append_seconds,
        "settle": finished - imported,
    }
    if profile_dir is not None and profiler is not None and settle_profiler is not None:
        await asyncio.to_thread(profile_dir.mkdir, parents=True, exist_ok=True)
        for line in _top(profiler, profile_dir / "import.pstats"):
            out(line)
        for line in _top(settle_profiler, profile_dir / "settle.pstats"):
            out(line)
    result = outcome.response
    if result.matched != count:
        raise RuntimeError(f"the import matched {result.matched} of {count} payments: {result}")
    return finished - started, result, stages, store, caught_up


def _best_of(repeats: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _best_case(name: str, payments: int, run: Callable[[], object]) -> Case:
    with peak_rss() as peak:
        best = _best_of(PARSE_REPEATS, run)
    return Case(name, payments, best, peak.mib, {"best_of": PARSE_REPEATS})


# -- the run --------------------------------------------------------------------------------------


async def run_payments(
    payments: int = 100_000,
    *,
    workdir: Path,
    out: Callable[[str], None] = print,
    profile_dir: Path | None = None,
    settle_timeout: float = 6 * 3600,
) -> PaymentsBench:
    """Set up ``payments`` open invoices on an embedded platform in ``workdir``, then time the
    three cases (module docstring)."""
    if payments < 1:
        raise ValueError("payments must be positive")
    load_start = os.getloadavg()
    out(
        f"fordra-dev bench payments: {payments:,} camt.054 payments, "
        f"Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load_start[0]:.2f} {load_start[1]:.2f} "
        f"{load_start[2]:.2f}"
    )
    settings = Settings(data_dir=workdir, clock="manual", settle_timeout_seconds=settle_timeout)
    platform = build_embedded(settings, today=date(2026, 3, 2))
    started = time.perf_counter()
    invoices = await seed_open_invoices(platform, payments)
    out(f"  setup: {payments:,} open invoices appended in {time.perf_counter() - started:.1f} s")
    await platform.start()
    try:
        await platform.settle()
        setup_seconds = time.perf_counter() - started
        out(f"  setup: read models built, {setup_seconds:.1f} s in all")

        data = camt054_file(invoices, booked_on=platform.clock.today())
        del invoices
        out(f"  file: {len(data):,} bytes ({len(data) / payments:.0f} per payment)")

        counted = bare_parse(data)
        if counted != payments:
            raise RuntimeError(f"the bare parse found {counted} transactions, not {payments}")
        parsed = parse_bank_file(data)
        if len(parsed.payments) != payments:
            raise RuntimeError(f"fordra parsed {len(parsed.payments)} payments, not {payments}")
        del parsed
        results = [
            _best_case(BARE, payments, lambda: bare_parse(data)),
            _best_case(PARSE, payments, lambda: parse_bank_file(data)),
        ]
        for r in results:
            out(f"  {r.name:<22} {r.seconds:8.3f} s  {r.per_second:>10,.0f} payments/s")

        with peak_rss() as peak:
            seconds, result, stages, store, caught_up = await _timed_import(
                platform, data, payments, profile_dir, out
            )
        imported = Case(IMPORT, payments, seconds, peak.mib)
        out(f"  {IMPORT:<22} {seconds:8.3f} s  {imported.per_second:>10,.0f} payments/s")
        events, chunks = await read_appended(platform.payments.store, store.spans)
    finally:
        await platform.stop()
    del platform
    gc.collect()
    path = workdir / "plain-insert.sqlite"
    with peak_rss() as peak:
        plain_seconds = await asyncio.to_thread(plain_insert, events, chunks, path, "payments")
    plain = Case(PLAIN, payments, plain_seconds, peak.mib, {"events": len(events)})
    del events
    out(f"  {PLAIN:<22} {plain_seconds:8.3f} s  {plain.per_second:>10,.0f} payments/s")
    results += [plain, imported]
    bench = PaymentsBench(
        payments=payments,
        file_bytes=len(data),
        results=results,
        import_result=result.model_dump(mode="json"),
        stages=stages,
        store_reads=store.reads,
        bulk_streams=store.bulk_streams,
        bulk_read_seconds=store.bulk_read_seconds,
        events_appended=store.appended,
        caught_up=caught_up,
        setup_seconds=setup_seconds,
        load_average_start=load_start,
        load_average_end=os.getloadavg(),
        profiled=profile_dir is not None,
    )
    for line in report(bench):
        out(line)
    return bench


def report(bench: PaymentsBench) -> list[str]:
    """The table, the stages of the import and the goals."""
    lines = table(bench.results, targets(bench.results))
    total = bench.seconds(IMPORT)
    lines.append("")
    lines.append(
        f"the import: {bench.events_appended:,} events in one append, {bench.store_reads:,} store "
        f"reads ({bench.bulk_streams:,} streams read in bulk in {bench.bulk_read_seconds:.1f} s)"
    )
    for stage, seconds in bench.stages.items():
        lines.append(f"  {stage:<8} {seconds:9.3f} s  {seconds / total:6.1%}")
    if bench.caught_up:
        lines.append("caught up after the import returned (seconds):")
        for key, seconds in sorted(bench.caught_up.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {key:<52} {seconds:9.1f}")
    lines.append("")
    for what, ratio in (
        ("parse within {g:.0f}x the bare lxml parse", bench.parse_ratio),
        ("import until settled within {g:.0f}x the plain insert", bench.ratio),
    ):
        verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
        lines.append(f"goal {what.format(g=GOAL_RATIO)}: {ratio:.1f}x, {verdict}")
    if bench.profiled:
        lines.append("(profiled run: slower than a plain one)")
    lines.append(
        f"load average at the start {bench.load_average_start[0]:.2f}, "
        f"at the end {bench.load_average_end[0]:.2f}"
    )
    return lines


def write_json(
    bench: PaymentsBench, path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    """The common document (``fordra.devtools.bench.results``); the rest of ``PaymentsBench``,
    with ``ratio`` (the import over the plain insert), ``parse_ratio`` and ``goal_ratio``, in
    ``details.payments``."""
    section = machine_section if machine_section is not None else finish(machine())
    fields = asdict(bench)
    del fields["results"]
    fields |= {"ratio": bench.ratio, "parse_ratio": bench.parse_ratio, "goal_ratio": GOAL_RATIO}
    write_document(path, document(section, bench.results, {"payments": fields}))


def main(argv: list[str] | None = None) -> int:
    parser = part_parser(
        "payments",
        "Import a camt.054 of N payments; compare with the bare XML parse.",
        size="payments",
        default=100_000,
        what="payments",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="also cProfile the import and the settle"
    )
    args = parser.parse_args(argv)
    if args.payments < 1:
        parser.error("--payments must be positive")
    run_part(
        args,
        lambda workdir: run_payments(args.payments, workdir=workdir, profile_dir=args.profile),
        write_json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
