"""``fordra-dev bench appends``: how fast the SQLite event store appends, beside two references.

Every case appends the same invoice events (an ``InvoiceIssued``-like payload with 2-4 lines and a
sealed personal part per customer) into a fresh database file, with the store's file settings
(``SqliteOptions``: WAL, ``synchronous=FULL``):

- ``fordra``: ``SqliteEventStore.append`` at batch 1, 100 and 1,000 (a batch is one append call of
  that many new invoice streams, one event each), awaited one after the other;
- ``fordra-concurrent-50``: 50 tasks, each awaiting single-event appends of its own invoices, so
  the writer thread's group commit can gather them;
- ``sqlite3-executemany``: the engine's limit, a plain ``BEGIN IMMEDIATE; executemany; COMMIT`` of
  the same rows into the same schema with the standard ``sqlite3`` module;
- ``eventsourcing-sqlite``: the ``eventsourcing`` library's ``SQLiteApplicationRecorder`` (the one
  with a global notification log, like ours) inserting ``StoredEvent``s of the same bytes;
- ``codec-to-row``: the envelope codec alone (no database), the share every case above pays.

Fair by construction: every timed region starts from the same prebuilt ``Envelope`` objects and
encodes them with the same ``EnvelopeCodec`` (orjson payload, AES-GCM sealed personal part), so the
references pay the encoding too and the ratio to the plain insert is the store's own overhead.
Building the envelopes (the domain's work) is not timed. Not a timed test: ``make test`` runs only a
small smoke of it.

The common results (``fordra.devtools.bench.results``) are the batch-100 cases:
``appends/plain-insert``, ``appends/eventsourcing`` and ``appends/fordra``; every case is kept in
the JSON's ``details``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fordra.devtools.bench.results import (
    Case,
    add_workdir_option,
    document,
    finish,
    machine,
    peak_rss,
    plain_insert,
    run_in_workdir,
    table,
    targets,
    write_document,
)
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sqlite_eventstore import SqliteEventStore, SqliteOptions

FORDRA = "fordra"
FORDRA_CONCURRENT = "fordra-concurrent-50"
PLAIN = "sqlite3-executemany"
EVENTSOURCING = "eventsourcing-sqlite"
CODEC = "codec-to-row"

BATCHES: tuple[int, ...] = (1, 100, 1000)
CONCURRENCY = 50
CUSTOMERS = 1000
CONTEXT = "invoicing"
# The common results: the batch-100 cases under issue 12's names, in this order.
COMMON: dict[str, str] = {
    PLAIN: "appends/plain-insert",
    EVENTSOURCING: "appends/eventsourcing",
    FORDRA: "appends/fordra",
}
COMMON_BATCH = 100


@dataclass(frozen=True, slots=True)
class BenchResult:
    name: str
    batch: int
    events: int
    seconds: float
    events_per_second: float
    peak_rss_mib: float = 0.0


def _result(name: str, batch: int, events: int, seconds: float, peak: float = 0.0) -> BenchResult:
    rate = events / seconds if seconds > 0 else 0.0
    return BenchResult(name, batch, events, seconds, rate, peak)


# -- the workload ---------------------------------------------------------------------------------

_FIRST_NAMES = ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Nils", "Sara", "Olof")
_LAST_NAMES = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Lindqvist")
_STREETS = ("Storgatan", "Kyrkogatan", "Skolvägen", "Björkvägen", "Järnvägsgatan", "Ringvägen")
_CITIES = (
    ("411 38", "Göteborg"),
    ("753 20", "Uppsala"),
    ("852 30", "Sundsvall"),
    ("972 31", "Luleå"),
)
_LINES = (
    ("Avfallshämtning 190 l kärl, kvartal 1", 1, 98_500, 25),
    ("Vatten och avlopp, fast avgift", 1, 142_000, 25),
    ("Vatten, förbrukning (m³)", 34, 3_275, 25),
    ("Barnomsorg, mars", 1, 168_800, 0),
    ("Hyra samlingslokal, heldag", 1, 120_000, 25),
    ("Skolmåltider, kopia", 2, 6_500, 12),
    ("Bygglov, handläggning", 1, 1_250_000, 0),
    ("Kulturskola, terminsavgift", 1, 95_000, 6),
)


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def make_invoices(
    count: int, *, customers: int = CUSTOMERS, seed: int = 20260301
) -> list[Envelope]:
    """``count`` invoice-issued envelopes, one new invoice stream each, for ``customers`` data
    subjects (so that the key ring stays bounded as in real life). Deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)

    clock = itertools.count(1_772_348_400_000)  # 2026-03-01T07:00Z in milliseconds

    def uid() -> str:
        # A UUIDv7 as fordra.kernel.ids.new_id makes them (RFC 9562 §5.7: the millisecond, then
        # version, 74 random bits and the variant), one millisecond apart, deterministic for the
        # seed.
        rand = rng.getrandbits(74)
        value = (next(clock) << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
        return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))

    people: list[tuple[str, dict[str, Any]]] = []
    for _ in range(customers):
        postal_code, city = rng.choice(_CITIES)
        people.append(
            (
                uid(),
                {
                    "name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
                    "address": {
                        "street": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
                        "postal_code": postal_code,
                        "city": city,
                    },
                },
            )
        )
    start = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    envelopes: list[Envelope] = []
    for n in range(count):
        customer_id, personal = people[rng.randrange(customers)]
        invoice_id = uid()
        issue = date(2026, 3, 1) + timedelta(days=n % 28)
        lines: list[dict[str, Any]] = []
        net_total = vat_total = 0
        for description, quantity, unit_price_ore, vat_percent in rng.sample(
            _LINES, rng.randint(2, 4)
        ):
            net = quantity * unit_price_ore
            vat = (net * vat_percent + 50) // 100
            net_total += net
            vat_total += vat
            lines.append(
                {
                    "description": description,
                    "quantity": quantity,
                    "unit_price_ore": unit_price_ore,
                    "vat_rate": f"0.{vat_percent:02d}",
                    "net_ore": net,
                    "vat_ore": vat,
                }
            )
        number = f"{100_000 + n:09d}"
        payload: dict[str, Any] = {
            "invoice_id": invoice_id,
            "invoice_number": f"2026-{n + 1:07d}",
            "customer_id": customer_id,
            "ocr": number + _luhn_digit(number),
            "issue_date": issue.isoformat(),
            "due_date": (issue + timedelta(days=30)).isoformat(),
            "currency": "SEK",
            "lines": lines,
            "total_net_ore": net_total,
            "total_vat_ore": vat_total,
            "total_ore": net_total + vat_total,
        }
        envelopes.append(
            Envelope(
                event_id=uid(),
                event_type="InvoiceIssued",
                schema_version=1,
                context=CONTEXT,
                stream_id=f"invoice-{invoice_id}",
                version=1,
                occurred_at=start + timedelta(seconds=n),
                metadata=Metadata(
                    tenant="kommun-1480",
                    actor="user:handlaggare-17",
                    correlation_id=uid(),
                ),
                payload=payload,
                personal_data=personal,
                data_subject=customer_id,
            )
        )
    return envelopes


def _codec() -> EnvelopeCodec:
    # A fresh key ring per case: every case pays the creation of the customers' keys once.
    return EnvelopeCodec(CONTEXT, PersonalDataSealer(InMemoryKeyRing()))


def _chunks(envs: Sequence[Envelope], batch: int) -> list[Sequence[Envelope]]:
    return [envs[i : i + batch] for i in range(0, len(envs), batch)]


def _fresh(workdir: Path, name: str) -> Path:
    path = workdir / f"{name}.db"
    _remove(path)
    return path


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        (n,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608 (constant)
        return int(n)
    finally:
        conn.close()


def _check(path: Path, table: str, expected: int, name: str) -> None:
    stored = _count(path, table)
    if stored != expected:
        raise RuntimeError(f"{name}: {stored} events stored, {expected} appended")


# -- the cases ------------------------------------------------------------------------------------


async def _fordra(envs: Sequence[Envelope], batch: int, path: Path) -> float:
    work = [[StreamAppend(e.stream_id, 0, (e,)) for e in chunk] for chunk in _chunks(envs, batch)]
    store = SqliteEventStore(path, CONTEXT, _codec(), SqliteOptions())
    await store.start()
    try:
        started = time.perf_counter()
        for appends in work:
            await store.append(appends)
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    _check(path, "events", len(envs), FORDRA)
    return seconds


async def _fordra_concurrent(envs: Sequence[Envelope], path: Path) -> float:
    work = [[StreamAppend(e.stream_id, 0, (e,))] for e in envs]
    store = SqliteEventStore(path, CONTEXT, _codec(), SqliteOptions())
    await store.start()

    async def command(mine: Sequence[list[StreamAppend]]) -> None:
        for appends in mine:
            await store.append(appends)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(command(work[k::CONCURRENCY]) for k in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    _check(path, "events", len(envs), FORDRA_CONCURRENT)
    return seconds


def _plain(envs: Sequence[Envelope], batch: int, path: Path) -> float:
    return plain_insert(envs, [len(c) for c in _chunks(envs, batch)], path, CONTEXT)


def _eventsourcing_available() -> bool:
    try:
        import eventsourcing.sqlite  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _eventsourcing_settings(path: Path) -> str:
    from eventsourcing.sqlite import SQLiteDatastore  # noqa: PLC0415

    datastore = SQLiteDatastore(db_name=str(path))
    try:
        with datastore.transaction(commit=False) as c:
            c.execute("PRAGMA journal_mode")
            journal = c.fetchone()[0]
            c.execute("PRAGMA synchronous")
            sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(c.fetchone()[0], "?")
    finally:
        datastore.close()
    _remove(path)
    return f"journal_mode={journal}, synchronous={sync}"


def _eventsourcing(envs: Sequence[Envelope], batch: int, path: Path) -> float:
    from eventsourcing.persistence import StoredEvent  # noqa: PLC0415
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore  # noqa: PLC0415

    datastore = SQLiteDatastore(db_name=str(path))
    try:
        recorder = SQLiteApplicationRecorder(datastore)
        recorder.create_table()
        codec = _codec()
        ids = [uuid.UUID(e.stream_id.removeprefix("invoice-")) for e in envs]
        chunks = [
            list(zip(ids[i : i + batch], envs[i : i + batch], strict=True))
            for i in range(0, len(envs), batch)
        ]
        started = time.perf_counter()
        for chunk in chunks:
            stored = []
            for originator_id, env in chunk:
                row = codec.to_row(env)
                # The same bytes as our payload and personal_data columns, in its one state column.
                state: bytes = row[13] if row[14] is None else row[13] + row[14]
                stored.append(StoredEvent(originator_id, env.version, env.event_type, state))
            recorder.insert_events(stored)
        seconds = time.perf_counter() - started
    finally:
        datastore.close()
    _check(path, "stored_events", len(envs), EVENTSOURCING)
    return seconds


def _codec_only(envs: Sequence[Envelope]) -> float:
    codec = _codec()
    started = time.perf_counter()
    for env in envs:
        codec.to_row(env)
    return time.perf_counter() - started


# -- the run --------------------------------------------------------------------------------------


def _scaled(events: int, divisor: int, floor: int) -> int:
    return min(events, max(floor, events // divisor))


async def run_appends(
    events: int = 100_000, *, workdir: Path, out: Callable[[str], None] = print
) -> list[BenchResult]:
    """Run every case; answer the figures in the order run (see the module docstring).

    Batch 1 uses a twentieth of ``events`` (each is a commit and an fsync) and the concurrent case a
    fifth; ``BenchResult.events`` says how many each case appended.
    """
    if events < 1:
        raise ValueError("events must be positive")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    with_eventsourcing = _eventsourcing_available()
    options = SqliteOptions()
    out(
        f"fordra-dev bench appends: {events:,} invoice events, SQLite {sqlite3.sqlite_version}, "
        f"journal_mode={options.journal_mode}, synchronous={options.synchronous}, "
        f"Python {sys.version.split()[0]}"
    )
    if with_eventsourcing:
        settings = await asyncio.to_thread(_eventsourcing_settings, _fresh(workdir, "es-settings"))
        out(f"eventsourcing SQLiteApplicationRecorder: {settings}")
    else:
        out("eventsourcing is not installed: its reference is skipped")

    envs = make_invoices(events)
    # The prebuilt envelopes live for the whole run; keep the cyclic GC from rescanning them.
    gc.collect()
    gc.freeze()
    results: list[BenchResult] = []

    async def record(name: str, batch: int, count: int, run: Awaitable[float]) -> None:
        with peak_rss() as peak:
            seconds = await run
        result = _result(name, batch, count, seconds, peak.mib)
        results.append(result)
        out(
            f"  {name:<22} batch {batch:>5}  {count:>7,} events  {seconds:8.3f} s  "
            f"{result.events_per_second:>10,.0f} events/s  {peak.mib:6,.0f} MiB peak"
        )

    try:
        for batch in BATCHES:
            count = _scaled(events, 20, 50) if batch == 1 else events
            sample = envs[:count]
            path = _fresh(workdir, f"plain-{batch}")
            await record(PLAIN, batch, count, asyncio.to_thread(_plain, sample, batch, path))
            _remove(path)
            path = _fresh(workdir, f"fordra-{batch}")
            await record(FORDRA, batch, count, _fordra(sample, batch, path))
            _remove(path)
            if with_eventsourcing:
                path = _fresh(workdir, f"eventsourcing-{batch}")
                run = asyncio.to_thread(_eventsourcing, sample, batch, path)
                await record(EVENTSOURCING, batch, count, run)
                _remove(path)
        count = _scaled(events, 5, 200)
        path = _fresh(workdir, "fordra-concurrent")
        await record(FORDRA_CONCURRENT, 1, count, _fordra_concurrent(envs[:count], path))
        _remove(path)
        await record(CODEC, 1, events, asyncio.to_thread(_codec_only, envs))
    finally:
        gc.unfreeze()

    for line in report(results):
        out(line)
    return results


def _rate(results: Sequence[BenchResult], name: str, batch: int) -> float | None:
    for r in results:
        if r.name == name and r.batch == batch:
            return r.events_per_second
    return None


def report(results: Sequence[BenchResult]) -> list[str]:
    """The table (with the ratio to the plain insert at the same batch) and the goals."""
    lines = [
        "",
        f"{'case':<22} {'batch':>5} {'events':>8} {'seconds':>8} {'events/s':>10} {'x plain':>8}",
    ]
    for r in results:
        plain = _rate(results, PLAIN, r.batch) if r.name != CODEC else None
        ratio = f"{r.events_per_second / plain:8.2f}" if plain else f"{'-':>8}"
        lines.append(
            f"{r.name:<22} {r.batch:>5} {r.events:>8,} {r.seconds:>8.3f} "
            f"{r.events_per_second:>10,.0f} {ratio}"
        )
    lines.append("")
    lines.extend(goals(results))
    return lines


def goals(results: Sequence[BenchResult]) -> list[str]:
    """The foundation issue's goals, each met or missed."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = []
    fordra = _rate(results, FORDRA, 100)
    plain = _rate(results, PLAIN, 100)
    es = _rate(results, EVENTSOURCING, 100)
    if fordra and plain:
        ratio = fordra / plain
        lines.append(f"goal batch 100 >= 0.7x plain insert: {ratio:.2f}x, {verdict(ratio >= 0.7)}")
    if fordra and es:
        lines.append(
            f"goal batch 100 ahead of eventsourcing: {fordra / es:.2f}x, {verdict(fordra > es)}"
        )
    concurrent = _rate(results, FORDRA_CONCURRENT, 1)
    single = _rate(results, FORDRA, 1)
    if concurrent and single:
        ratio = concurrent / single
        lines.append(
            f"goal 50 concurrent single-event appends far above batch 1: {ratio:.1f}x, "
            f"{verdict(ratio >= 5)}"
        )
    return lines


def common_results(results: Sequence[BenchResult]) -> list[Case]:
    """The batch-100 cases under issue 12's names (``COMMON``), in its order."""
    by_name = {r.name: r for r in results if r.batch == COMMON_BATCH}
    return [
        Case(common, r.events, r.seconds, r.peak_rss_mib, {"batch": r.batch})
        for name, common in COMMON.items()
        if (r := by_name.get(name)) is not None
    ]


def write_json(
    results: Sequence[BenchResult], path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    """The common document (``fordra.devtools.bench.results``): the batch-100 cases as
    ``results``; every case (``name``, ``batch``, ``events``, ``seconds``, ``events_per_second``,
    ``peak_rss_mib``) in ``details.appends.cases``."""
    section = machine_section if machine_section is not None else finish(machine())
    details = {"appends": {"cases": [asdict(r) for r in results]}}
    write_document(path, document(section, common_results(results), details))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fordra-dev bench appends",
        description="Append invoice events to the SQLite event store and to two references.",
    )
    parser.add_argument("--events", type=int, default=100_000, help="events per case (100,000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    add_workdir_option(parser)
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be positive")
    section = machine()
    results = run_in_workdir(
        args.workdir, lambda workdir: run_appends(args.events, workdir=workdir)
    )
    common = common_results(results)
    for line in table(common, targets(common)):
        print(line)
    if args.json is not None:
        write_json(results, args.json, finish(section))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
