"""``fordra-dev bench dunning``: the daily run over N open invoices, beside a plain scan of them.

Issue 13's target: the run of one business day over 1,000,000 open invoices in under 60 s here.
The run is set-based (``fordra.dunning.application.daily_run``: one SQL query per kind of step over
the claims read model), so what it costs is a scan of the claims plus the proposals it appends.

Setup, not timed: an embedded platform with a manual clock; N claims written straight into the
claims read model's tables (``dunning_claims``, ``dunning_claim_payments``,
``dunning_claim_progress``) with ``sqlite3``, as the projection would have built them from N
``InvoiceIssued`` events. The state is a steady one, as after months of daily runs: due dates spread
evenly over the 120 days before the run's day (a thirtieth of them not yet due, over the 30 days
after it), each claim reminded 7 days after its due date and handed over the day after the
reminder's pay-by date (10 days on, domain.md §4) once that day has passed, a tenth of them partly
paid. The services are every service
type in turn, with seed 001's default policy for each. So the run of the day finds about N/120
reminders (claims due 7 days before) and N/120 handovers (reminded 11 days before), among the
claims it scans, as a real day would.

Cases:

- ``dunning/plain-scan`` (the reference): ``SELECT`` the columns the run reads of every claim
  (the claim, its payments and its progress, joined), fetched to the last row with ``sqlite3``;
- ``dunning/daily-run``: ``daily_run`` of the day (``POST /api/v1/dunning/runs``'s use case), until
  its proposals are appended to dunning's event store.

Both count the claims (open invoices) scanned; the run's result carries the proposals it made.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from fordra.app.bootstrap import build_embedded
from fordra.app.settings import Settings
from fordra.contracts.invoicing import SERVICE_TYPES
from fordra.devtools.bench.results import (
    Case,
    document,
    finish,
    machine,
    part_parser,
    peak_rss,
    run_part,
    table,
    targets,
    write_document,
)
from fordra.dunning.application.daily_run import daily_run
from fordra.kernel.envelope import Metadata

PLAIN = "dunning/plain-scan"
RUN = "dunning/daily-run"
# A Tuesday with no holiday near it, so the run's day is a working day and no calendar rule
# shifts a due date.
RUN_DAY = date(2026, 3, 10)
DAYS_DUE_BEFORE = 120  # due dates over the 120 days before the run's day ...
DAYS_DUE_AFTER = 30  # ... and the 30 days after it
REMINDER_AFTER_DAYS = 7  # seed 001's default policy (domain.md §4)
# seed 001's 10 days, and the run waits until the reminder's pay-by date (10 days on, a working
# day here) has passed: the day after it
HANDOVER_AFTER_REMINDER_DAYS = 11
CHUNK = 50_000


@dataclass(slots=True)
class DunningBench:
    claims: int
    proposals: int
    results: list[Case]
    setup_seconds: float
    by_kind: dict[str, int]


def _claim_rows(count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """The claims, their payments and their progress (module docstring)."""
    span = DAYS_DUE_BEFORE + DAYS_DUE_AFTER
    for n in range(count):
        invoice_id = f"{uuid.UUID(int=n + 1)}"
        due = RUN_DAY - timedelta(days=DAYS_DUE_BEFORE) + timedelta(days=n % span)
        total = 10_000 + (n % 97) * 1_234
        reminded = due + timedelta(days=REMINDER_AFTER_DAYS)
        handed = reminded + timedelta(days=HANDOVER_AFTER_REMINDER_DAYS)
        claim = {
            "invoice_id": invoice_id,
            "customer_id": f"customer-{n % (count // 10 + 1)}",
            "service_type": SERVICE_TYPES[n % len(SERVICE_TYPES)],
            "invoice_number": f"{n + 1}",
            "what_for": "Vatten och avlopp",
            "invoice_date": (due - timedelta(days=30)).isoformat(),
            "due_date": due.isoformat(),
            "original_due_date": due.isoformat(),
            "ocr": f"{n + 1}",
            "total_ore": total,
            "charges_ore": 0,
            "credited_ore": 0,
            "cancelled": 0,
            "interest_from": due.isoformat(),
        }
        payment = {
            "invoice_id": invoice_id,
            "paid_capital_ore": total // 3 if n % 10 == 0 else 0,
            "paid_other_ore": 0,
        }
        # Steady state: every step whose day has passed was taken on its day.
        progress = {
            "invoice_id": invoice_id,
            "reminded_on": reminded.isoformat() if reminded < RUN_DAY else None,
            "handed_over_on": handed.isoformat() if handed < RUN_DAY else None,
        }
        yield claim, payment, progress


def _insert_sql(t: Table) -> tuple[str, list[str]]:
    names = [c.name for c in t.columns]
    marks = ", ".join("?" for _ in names)
    return f"INSERT INTO {t.name} ({', '.join(names)}) VALUES ({marks})", names  # noqa: S608


def seed_claims(path: Path, tables: tuple[Table, Table, Table], count: int) -> None:
    """Write ``count`` claims into the read-model file at ``path`` (one transaction per chunk)."""
    statements = [_insert_sql(t) for t in tables]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        chunks: list[list[list[Any]]] = [[], [], []]

        def flush() -> None:
            conn.execute("BEGIN IMMEDIATE")
            for (sql, _names), rows in zip(statements, chunks, strict=True):
                conn.executemany(sql, rows)
                rows.clear()
            conn.execute("COMMIT")

        for row in _claim_rows(count):
            for (_sql, names), values, rows in zip(statements, row, chunks, strict=True):
                rows.append([values.get(name) for name in names])
            if len(chunks[0]) >= CHUNK:
                flush()
        flush()
        conn.execute("ANALYZE")
    finally:
        conn.close()


def plain_scan(path: Path, tables: tuple[Table, Table, Table]) -> int:
    """Every claim with its payments and progress, fetched to the last row: the reference."""
    claims, payments, progress = (t.name for t in tables)
    sql = (
        f"SELECT c.invoice_id, c.customer_id, c.service_type, c.due_date, c.interest_from, "  # noqa: S608
        f"c.total_ore, c.credited_ore, c.charges_ore, c.cancelled, c.deferred_until, "
        f"c.disputed_on, c.dispute_resolved_on, p.paid_capital_ore, p.paid_other_ore, "
        f"g.reminded_on, g.handed_over_on, g.plan_id "
        f"FROM {claims} c LEFT JOIN {payments} p ON p.invoice_id = c.invoice_id "
        f"LEFT JOIN {progress} g ON g.invoice_id = c.invoice_id"
    )
    conn = sqlite3.connect(path)
    try:
        rows = 0
        cursor = conn.execute(sql)
        while batch := cursor.fetchmany(10_000):
            rows += len(batch)
        return rows
    finally:
        conn.close()


async def run_dunning(
    claims: int = 1_000_000, *, workdir: Path, out: Callable[[str], None] = print
) -> DunningBench:
    if claims < 1:
        raise ValueError("claims must be positive")
    out(f"fordra-dev bench dunning: the daily run over {claims:,} open invoices")
    settings = Settings(data_dir=workdir, clock="manual")
    platform = build_embedded(settings, today=RUN_DAY)
    await platform.start()
    try:
        projection = platform.dunning.claims
        tables = (projection.claims, projection.payments, projection.progress)
        path = workdir / "projections.sqlite"
        started = time.perf_counter()
        await asyncio.to_thread(seed_claims, path, tables, claims)
        setup_seconds = time.perf_counter() - started
        out(f"  setup: {claims:,} claims written in {setup_seconds:.1f} s")

        with peak_rss() as peak:
            started = time.perf_counter()
            scanned = await asyncio.to_thread(plain_scan, path, tables)
            seconds = time.perf_counter() - started
        if scanned != claims:
            raise RuntimeError(f"{PLAIN}: {scanned} rows for {claims} claims")
        plain = Case(PLAIN, claims, seconds, peak.mib)
        out(f"  {PLAIN:<22} {seconds:8.3f} s")

        meta = Metadata(settings.municipality, "bench", str(uuid.uuid4()))
        with peak_rss() as peak:
            started = time.perf_counter()
            outcome = await daily_run(RUN_DAY, platform.dunning, meta)
            seconds = time.perf_counter() - started
        proposals = outcome.response.proposals
        by_kind = await _proposals_by_kind(platform)
        run = Case(RUN, claims, seconds, peak.mib, {"proposals": proposals, "by_kind": by_kind})
        out(f"  {RUN:<22} {seconds:8.3f} s, {proposals:,} proposals {by_kind}")
        if proposals == 0:
            raise RuntimeError(f"{RUN}: the run proposed nothing over {claims:,} claims")
    finally:
        await platform.stop()
    bench = DunningBench(claims, proposals, [plain, run], setup_seconds, by_kind)
    for line in table(bench.results, targets(bench.results)):
        out(line)
    return bench


async def _proposals_by_kind(platform: Any) -> dict[str, int]:
    """The proposals the run appended, by kind, read back from dunning's store."""
    counts: dict[str, int] = {}
    store = platform.stores["dunning"]
    position = 0
    while events := await store.read_log(position, 5_000):
        for env in events:
            if env.event_type == "DunningProposed":
                kind = str(env.payload["kind"])
                counts[kind] = counts.get(kind, 0) + 1
        position = events[-1].position
    return counts


def write_json(
    bench: DunningBench, path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    section = machine_section if machine_section is not None else finish(machine())
    fields = {
        "claims": bench.claims,
        "proposals": bench.proposals,
        "by_kind": bench.by_kind,
        "setup_seconds": bench.setup_seconds,
        "run_day": RUN_DAY.isoformat(),
    }
    write_document(path, document(section, bench.results, {"dunning": fields}))


def main(argv: list[str] | None = None) -> int:
    parser = part_parser(
        "dunning",
        "The dunning daily run over N open invoices; compare with a plain scan.",
        size="claims",
        default=1_000_000,
        what="open invoices",
    )
    args = parser.parse_args(argv)
    if args.claims < 1:
        parser.error("--claims must be positive")
    run_part(args, lambda workdir: run_dunning(args.claims, workdir=workdir), write_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
