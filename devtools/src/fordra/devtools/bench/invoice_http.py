"""``fordra-dev bench invoice-http``: single invoices over HTTP, 20 at a time, beside a bare one.

N requests of the invoice-batch workload (``invoice_batch.invoice_body``: water invoices of N/10
customers, each owning the property billed), posted by one ``httpx.AsyncClient`` with 20 workers
(20 connections kept alive) to a uvicorn server on 127.0.0.1 in the same process and event loop:

- ``invoice-http/bare`` (the reference): a FastAPI app of one endpoint that reads the JSON body
  and inserts it as one row into SQLite (the store's file settings: WAL, ``synchronous=FULL``,
  a commit per request), answering 201;
- ``invoice-http/fordra``: ``POST /api/v1/invoices`` of the embedded platform's app (a
  department's bearer token, an ``Idempotency-Key`` per request, as a client sends them). Each
  answer waits until the read models show the invoice (read your writes), so the clock, which
  stops at the last answer, includes the projections.

Both count every answer by status; ``non_2xx`` is the number of answers that were not 2xx (the
target is none: every request is correct, and none is repeated). Setup, not timed: the customers
are registered through the use cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from fordra.app.bootstrap import build_embedded
from fordra.app.http import create_app
from fordra.app.settings import Settings
from fordra.devtools.bench.invoice_batch import (
    DEPARTMENT,
    INVOICES_PER_CUSTOMER,
    invoice_body,
    register_owners,
)
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
from fordra.kernel.auth import Role
from fordra.kernel.sqlite_eventstore import SqliteOptions, apply_pragmas

BARE = "invoice-http/bare"
FORDRA = "invoice-http/fordra"
CONCURRENCY = 20
TODAY = date(2026, 3, 2)
SETTLE_TIMEOUT = 600.0


# -- the server and the client --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1, in this event loop; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass(slots=True)
class Driven:
    seconds: float
    statuses: Counter[int]
    first_refusals: dict[int, str]  # the first answer's body of each status that is not 2xx

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)


async def drive(
    base_url: str,
    path: str,
    bodies: Sequence[bytes],
    headers: Callable[[int], dict[str, str]],
    concurrency: int = CONCURRENCY,
) -> Driven:
    """POST every body, ``concurrency`` at a time; the seconds from the first to the last
    answer, and the answers by status."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: Counter[int] = Counter()
    refusals: dict[int, str] = {}
    queue = iter(range(len(bodies)))
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=SETTLE_TIMEOUT + 60
    ) as client:

        async def worker() -> None:
            for n in queue:
                answer = await client.post(path, content=bodies[n], headers=headers(n))
                statuses[answer.status_code] += 1
                if not answer.is_success and answer.status_code not in refusals:
                    refusals[answer.status_code] = answer.text[:500]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Driven(seconds, statuses, refusals)


# -- the bare endpoint ----------------------------------------------------------------------------


def bare_app(path: Path) -> tuple[FastAPI, sqlite3.Connection]:
    """One endpoint, ``POST /invoices``: the JSON body as one row, committed, answered 201."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    apply_pragmas(conn, SqliteOptions())
    conn.execute("CREATE TABLE invoices (invoice_id TEXT PRIMARY KEY, body BLOB NOT NULL)")
    app = FastAPI()

    async def post_invoice(request: Request) -> JSONResponse:
        body = await request.json()
        invoice_id = str(uuid.uuid4())
        conn.execute("INSERT INTO invoices VALUES (?, ?)", (invoice_id, orjson.dumps(body)))
        return JSONResponse({"invoice_id": invoice_id}, status_code=status.HTTP_201_CREATED)

    app.add_api_route("/invoices", post_invoice, methods=["POST"])
    return app, conn


def _case(name: str, count: int, driven: Driven, peak_mib: float, concurrency: int) -> Case:
    statuses = {str(code): n for code, n in sorted(driven.statuses.items())}
    extra = {
        "concurrency": concurrency,
        "non_2xx": driven.non_2xx,
        "statuses": statuses,
        "first_refusals": {str(code): text for code, text in driven.first_refusals.items()},
    }
    return Case(name, count, driven.seconds, peak_mib, extra)


# -- the run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class InvoiceHttpBench:
    requests: int
    customers: int
    results: list[Case]
    setup_seconds: float


async def run_invoice_http(
    requests: int = 2000,
    *,
    workdir: Path,
    out: Callable[[str], None] = print,
    concurrency: int = CONCURRENCY,
) -> InvoiceHttpBench:
    if requests < 1:
        raise ValueError("requests must be positive")
    out(f"fordra-dev bench invoice-http: {requests:,} invoices, {concurrency} at a time")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    json_headers = {"Content-Type": "application/json"}

    settings = Settings(
        data_dir=workdir / "fordra", clock="manual", settle_timeout_seconds=SETTLE_TIMEOUT
    )
    platform = build_embedded(settings, today=TODAY)
    started = time.perf_counter()
    await platform.start()
    try:
        customers = await register_owners(platform, max(1, requests // INVOICES_PER_CUSTOMER))
        await platform.settle()
        setup_seconds = time.perf_counter() - started
        out(f"  setup: {len(customers):,} customers in {setup_seconds:.1f} s")
        bodies = [orjson.dumps(invoice_body(n, customers)) for n in range(requests)]

        app, conn = bare_app(workdir / "bare.sqlite")
        try:
            async with serving(app) as base:
                with peak_rss() as peak:
                    driven = await drive(
                        base, "/invoices", bodies, lambda _n: json_headers, concurrency
                    )
            (rows,) = conn.execute("SELECT COUNT(*) FROM invoices").fetchone()
        finally:
            conn.close()
        bare = _case(BARE, requests, driven, peak.mib, concurrency)
        if rows != requests - driven.non_2xx:
            raise RuntimeError(f"{BARE}: {rows} rows for {requests - driven.non_2xx} answers")
        out(f"  {BARE:<22} {bare.seconds:9.3f} s {bare.per_second:>9,.1f}/s")
        out(f"  answers: {dict(driven.statuses)}")

        token = platform.tokens.issue(Role.DEPARTMENT, department=DEPARTMENT)
        auth = {**json_headers, "Authorization": f"Bearer {token}"}
        async with serving(create_app(platform, manage_lifecycle=False)) as base:
            with peak_rss() as peak:
                driven = await drive(
                    base,
                    "/api/v1/invoices",
                    bodies,
                    lambda n: {**auth, "Idempotency-Key": f"bench-{n}"},
                    concurrency,
                )
        fordra = _case(FORDRA, requests, driven, peak.mib, concurrency)
        out(f"  {FORDRA:<22} {fordra.seconds:9.3f} s {fordra.per_second:>9,.1f}/s")
        out(f"  answers: {dict(driven.statuses)}")
        for code, text in driven.first_refusals.items():
            out(f"  the first {code}: {text}")
    finally:
        await platform.stop()
    bench = InvoiceHttpBench(requests, len(customers), [bare, fordra], setup_seconds)
    for line in table(bench.results, targets(bench.results)):
        out(line)
    return bench


def write_json(
    bench: InvoiceHttpBench, path: Path, machine_section: dict[str, Any] | None = None
) -> None:
    """The common document (``fordra.devtools.bench.results``), the setup in
    ``details.invoice-http``."""
    section = machine_section if machine_section is not None else finish(machine())
    fields = {
        "requests": bench.requests,
        "customers": bench.customers,
        "setup_seconds": bench.setup_seconds,
    }
    write_document(path, document(section, bench.results, {"invoice-http": fields}))


def main(argv: list[str] | None = None) -> int:
    parser = part_parser(
        "invoice-http",
        "POST N invoices, 20 at a time; compare with a bare FastAPI endpoint.",
        size="requests",
        default=2000,
        what="invoices posted",
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="at a time (20)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be positive")
    run_part(
        args,
        lambda workdir: run_invoice_http(
            args.requests, workdir=workdir, concurrency=args.concurrency
        ),
        write_json,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
