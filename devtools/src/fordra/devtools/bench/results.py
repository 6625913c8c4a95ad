"""What every ``fordra-dev bench`` part answers: one shape of result, the machine, the targets.

A part's JSON (and ``fordra-dev bench all``'s) is::

    {"machine": {...}, "results": [{"name", "count", "seconds", "per_second",
     "peak_rss_mib", ...}, ...], "targets": [...], "details": {"<part>": {...}}}

``name`` is ``<part>/<case>`` (``appends/fordra``); a result may carry extra keys of its own
(``non_2xx``, ``p99_ms``); ``details`` keeps each part's fuller figures. The names and the targets
are issue 12's.

The peak RSS of a case is the process's high-water mark (``VmHWM``) while the case ran: the mark
is reset before the case (``/proc/self/clear_refs``, Linux 4.0+) and read after it. It counts
what the process held already (the prebuilt input of the case, the platform of the setup), so
``fordra-dev bench all`` runs each part in a process of its own. Where the mark cannot be reset,
the figure is the process's peak so far (``getrusage``), and the machine section says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform as host
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine

from fordra.kernel.codec import ROW_COLUMNS, EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sql_schema import event_store_metadata
from fordra.kernel.sqlite_eventstore import SqliteOptions, apply_pragmas

T = TypeVar("T")

_MIB = 1024 * 1024
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
LIBRARIES = (
    "eventsourcing", "sqlalchemy", "aiosqlite", "orjson", "lxml", "cryptography", "fastapi",
    "uvicorn", "httpx", "asyncpg", "aiokafka",
)  # fmt: skip


@dataclass(slots=True)
class Case:
    """One measured case: ``count`` items in ``seconds``; ``extra`` adds keys to its JSON."""

    name: str
    count: int
    seconds: float
    peak_rss_mib: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        common = {
            "name": self.name,
            "count": self.count,
            "seconds": self.seconds,
            "per_second": self.per_second,
            "peak_rss_mib": self.peak_rss_mib,
        }
        # An extra key never replaces a common one: the common five are what reports compare.
        return common | {k: v for k, v in self.extra.items() if k not in common}


# -- peak RSS -------------------------------------------------------------------------------------


def _vm_hwm_mib() -> float | None:
    try:
        for line in _STATUS.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / _MIB  # kB
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5", encoding="ascii")  # 5: reset the peak RSS (proc(5))
    except OSError:
        return False
    return True


def peak_rss_method() -> str:
    if _vm_hwm_mib() is not None and _reset_peak():
        return "VmHWM, reset before each case (/proc/self/clear_refs)"
    return "getrusage ru_maxrss: the process's peak so far (the mark cannot be reset here)"


@dataclass(slots=True)
class Peak:
    mib: float = 0.0


@contextlib.contextmanager
def peak_rss() -> Iterator[Peak]:
    """The process's peak RSS while the block runs (see the module docstring)."""
    peak = Peak()
    resettable = _reset_peak()
    try:
        yield peak
    finally:
        hwm = _vm_hwm_mib() if resettable else None
        peak.mib = hwm if hwm is not None else _rusage_peak_mib()


def _rusage_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def timed_async(name: str, count: int, run: Callable[[], Awaitable[object]]) -> Case:
    """Run ``run`` once as the case ``name`` of ``count`` items."""
    with peak_rss() as peak:
        started = time.perf_counter()
        await run()
        seconds = time.perf_counter() - started
    return Case(name, count, seconds, peak.mib)


def timed(name: str, count: int, run: Callable[[], object]) -> Case:
    with peak_rss() as peak:
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
    return Case(name, count, seconds, peak.mib)


# -- the plain insert: the engine's limit for the rows a use case appended ------------------------


def create_event_tables(path: Path) -> None:
    """The event store's schema (``event_store_metadata``) in a fresh SQLite file."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        event_store_metadata().create_all(engine)
    finally:
        engine.dispose()


_INSERT = (
    f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join('?' for _ in ROW_COLUMNS)})"
)


def plain_insert(
    envs: Sequence[Envelope], chunks: Sequence[int], path: Path, context: str
) -> float:
    """Seconds to encode ``envs`` (the same codec as the store, a fresh key ring) and insert them
    with the standard ``sqlite3`` module into ``path`` (the store's schema and file settings:
    WAL, ``synchronous=FULL``), one ``BEGIN IMMEDIATE; executemany; COMMIT`` per chunk of the
    given sizes, the way the use case appended them."""
    if sum(chunks) != len(envs):
        raise ValueError(f"chunks of {sum(chunks)} events for {len(envs)} envelopes")
    create_event_tables(path)
    codec = EnvelopeCodec(context, PersonalDataSealer(InMemoryKeyRing()))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        apply_pragmas(conn, SqliteOptions())
        position = first = 0
        started = time.perf_counter()
        for size in chunks:
            recorded = dt.datetime.now(dt.UTC).isoformat()
            rows = []
            for env in envs[first : first + size]:
                row = codec.to_row(env)
                position += 1
                row[0] = position
                row[7] = recorded
                rows.append(row)
            first += size
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_INSERT, rows)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        (stored,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    finally:
        conn.close()
    if stored != len(envs):
        raise RuntimeError(f"plain insert: {stored} rows stored, {len(envs)} inserted")
    return seconds


@dataclass(frozen=True, slots=True)
class Span:
    """The positions one append call wrote: ``count`` events from ``first`` to ``last``."""

    first: int
    last: int
    count: int


def span_of(stored: Sequence[Envelope]) -> Span | None:
    if not stored:
        return None
    positions = [e.position for e in stored]
    return Span(min(positions), max(positions), len(stored))


async def read_appended(
    store: EventStore, spans: Sequence[Span], page: int = 5000
) -> tuple[list[Envelope], list[int]]:
    """The events of ``spans``, read back from the store's log, and how many each append wrote
    (the plain insert commits them the same way). Reading them back after the case keeps them
    out of the case's memory."""
    envs: list[Envelope] = []
    chunks: list[int] = []
    for span in spans:
        got: list[Envelope] = []
        after = span.first - 1
        while after < span.last:
            batch = await store.read_log(after, limit=page)
            if not batch:
                break
            got.extend(e for e in batch if e.position <= span.last)
            after = batch[-1].position
        if len(got) != span.count:
            raise RuntimeError(
                f"positions {span.first}-{span.last} hold {len(got)} events, not the "
                f"{span.count} one append wrote"
            )
        envs.extend(got)
        chunks.append(len(got))
    return envs, chunks


# -- the machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return host.processor() or "?"


def _memory_gib() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _uptime() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["uptime"],  # noqa: S607 (the machine's own uptime, whatever PATH finds)
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        return done.stdout.strip()
    return ""


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True, text=True, timeout=5, check=False, cwd=Path(__file__).parent,
        )  # fmt: skip
        if done.returncode == 0:
            return done.stdout.strip()
    return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The machine and the moment, as the run starts (``finish`` adds the end)."""
    load = os.getloadavg()
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "platform": host.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "libraries": {name: _version(name) for name in LIBRARIES},
        "git_commit": _git_commit(),
        "uptime_at_start": _uptime(),
        "load_average_start": list(load),
        "peak_rss": peak_rss_method(),
    }


def finish(section: dict[str, Any]) -> dict[str, Any]:
    return {
        **section,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uptime_at_end": _uptime(),
        "load_average_end": list(os.getloadavg()),
    }


# -- the targets (issue 12), each a ratio within one run ------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """``case`` against ``reference``, by their rates. A "within 3x" target (``within``) is met
    when the case is at most ``goal`` times slower (the value is the reference's rate over the
    case's); any other when the case's rate is at least ``goal`` times the reference's."""

    what: str
    case: str
    reference: str
    goal: float
    within: bool = False


TARGETS: tuple[Target, ...] = (
    Target("appends >= 1.0x eventsourcing", "appends/fordra", "appends/eventsourcing", 1.0),
    Target("appends >= 0.8x plain insert", "appends/fordra", "appends/plain-insert", 0.8),
    Target(
        "invoice batch within 3x plain insert",
        "invoice-batch/fordra",
        "invoice-batch/plain-insert",
        3.0,
        within=True,
    ),
    Target(
        "single invoices over HTTP >= 0.5x bare", "invoice-http/fordra", "invoice-http/bare", 0.5
    ),
    Target(
        "payments parse within 3x lxml", "payments/parse", "payments/lxml-bare", 3.0, within=True
    ),
    Target(
        "payments until settled within 3x plain insert",
        "payments/fordra",
        "payments/plain-insert",
        3.0,
        within=True,
    ),
    Target("distributed appends >= 0.8x COPY", "distributed/appends", "distributed/copy", 0.8),
)


def _found(what: str, value: float, goal: str, met: bool) -> dict[str, Any]:
    return {"target": what, "value": round(value, 3), "goal": goal, "met": met}


def targets(results: Sequence[Case]) -> list[dict[str, Any]]:
    """Each target whose cases ran, its value, its goal and whether it is met. Besides the
    ratios: zero non-2xx answers over HTTP, the payments' peak RSS under 1 GiB, end to end over
    Kafka at least half the embedded figure, and the relay lag's p99 under 100 ms."""
    by_name = {c.name: c for c in results}
    found: list[dict[str, Any]] = []
    for t in TARGETS:
        case, reference = by_name.get(t.case), by_name.get(t.reference)
        if case is None or reference is None or min(case.per_second, reference.per_second) <= 0:
            continue
        if t.within:
            slower = reference.per_second / case.per_second
            found.append(_found(t.what, slower, f"<= {t.goal:g} (x slower)", slower <= t.goal))
        else:
            ratio = case.per_second / reference.per_second
            found.append(_found(t.what, ratio, f">= {t.goal:g} (x the rate)", ratio >= t.goal))
    if (http := by_name.get("invoice-http/fordra")) is not None:
        bad = int(http.extra.get("non_2xx", 0))
        found.append(_found("zero non-2xx answers over HTTP", bad, "0", bad == 0))
    if (pay := by_name.get("payments/fordra")) is not None:
        peak = pay.peak_rss_mib
        found.append(_found("payments peak RSS under 1 GiB", peak, "< 1024 MiB", peak < 1024))
    if (e2e := by_name.get("distributed/end-to-end")) is not None and (
        embedded := e2e.extra.get("embedded_per_second")
    ):
        ratio = e2e.per_second / float(embedded)
        found.append(
            _found(
                "distributed end to end >= 0.5x embedded",
                ratio,
                ">= 0.5 (x the rate)",
                ratio >= 0.5,
            )
        )
    if (run := by_name.get("dunning/daily-run")) is not None:
        # Issue 13: the run of a day over 1,000,000 open invoices in under 60 s on this machine.
        what = f"dunning daily run over {run.count:,} open invoices under 60 s"
        found.append(_found(what, run.seconds, "< 60 s", run.seconds < 60))
    if (lag := by_name.get("distributed/relay-lag")) is not None:
        p99 = float(lag.extra["p99_ms"])
        what = f"relay lag p99 under 100 ms at {lag.extra['rate']:,}/s"
        found.append(_found(what, p99, "< 100 ms", p99 < 100))
    return found


# -- the document ---------------------------------------------------------------------------------


def document(
    machine_section: dict[str, Any], results: Sequence[Case], details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "machine": machine_section,
        "results": [c.as_json() for c in results],
        "targets": targets(results),
        "details": details,
    }


def write_document(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")


def cases_of(doc: dict[str, Any]) -> list[Case]:
    """The results of a written document, as cases again (``bench all`` merges its parts')."""
    shape = ("name", "count", "seconds", "per_second", "peak_rss_mib")
    return [
        Case(
            r["name"],
            r["count"],
            r["seconds"],
            r["peak_rss_mib"],
            {k: v for k, v in r.items() if k not in shape},
        )
        for r in doc["results"]
    ]


def table(results: Sequence[Case], found: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"{'case':<30} {'count':>9} {'seconds':>9} {'per second':>12} {'peak RSS MiB':>13}",
    ]
    for c in results:
        lines.append(
            f"{c.name:<30} {c.count:>9,} {c.seconds:>9.3f} {c.per_second:>12,.1f} "
            f"{c.peak_rss_mib:>13,.0f}"
        )
    if found:
        lines.append("")
        for t in found:
            verdict = "met" if t["met"] else "MISSED"
            lines.append(f"target {t['target']}: {t['value']} (goal {t['goal']}), {verdict}")
    return lines


# -- a part's data directory ----------------------------------------------------------------------


def add_workdir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir", type=Path, metavar="DIR", help="the data directory (default: a temporary one)"
    )


def run_in_workdir(workdir: Path | None, run: Callable[[Path], Coroutine[Any, Any, T]]) -> T:
    """Run a part in ``workdir``, or in a fresh temporary directory removed afterwards."""
    if workdir is not None:
        return asyncio.run(run(workdir))
    with tempfile.TemporaryDirectory(prefix="fordra-bench-") as tmp:
        return asyncio.run(run(Path(tmp)))


def part_parser(
    part: str, description: str, *, size: str, default: int, what: str
) -> argparse.ArgumentParser:
    """A part's command line: its size option (``--<size>``), ``--json`` and ``--workdir``."""
    parser = argparse.ArgumentParser(prog=f"fordra-dev bench {part}", description=description)
    parser.add_argument(f"--{size}", type=int, default=default, help=f"{what} ({default:,})")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    add_workdir_option(parser)
    return parser


def run_part(
    args: argparse.Namespace,
    run: Callable[[Path], Coroutine[Any, Any, T]],
    write: Callable[[T, Path, dict[str, Any]], None],
) -> T:
    """Run a part as its command line said (in ``--workdir`` or a temporary directory), and write
    its JSON with the machine's figures taken around the run when ``--json`` is given."""
    section = machine()
    bench = run_in_workdir(args.workdir, run)
    if args.json is not None:
        write(bench, args.json, finish(section))
        print(f"wrote {args.json}")
    return bench
