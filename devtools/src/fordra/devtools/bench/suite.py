"""``fordra-dev bench all``: every part of the harness, each in a process of its own, one JSON.

The parts run one after the other as ``python -m fordra.devtools.bench.<part>`` (the command
each part is alone), each with a fresh temporary data directory and its own ``--json``; their
documents are merged into one: the machine (as the run started and ended), every part's
``results`` in order, the targets over all of them and each part's ``details``. A process per
part keeps one part's memory out of the next one's peak RSS.

The ``distributed`` part needs PostgreSQL and Kafka (it starts them itself, under /tmp). It runs
when ``--distributed`` is given, is left out with ``--no-distributed``, and otherwise runs only
when both servers can be started here (the PostgreSQL binaries, Java and the Kafka jars are
present); the machine section's ``distributed`` says which, and why.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fordra.devtools.bench.results import (
    Case,
    cases_of,
    document,
    finish,
    machine,
    table,
    targets,
    write_document,
)


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    module: str
    # The part's size options: ``bench all``'s option -> the part's own.
    sizes: dict[str, str]


PARTS: tuple[Part, ...] = (
    Part("appends", "fordra.devtools.bench.appends", {"events": "--events"}),
    Part("invoice-batch", "fordra.devtools.bench.invoice_batch", {"invoices": "--invoices"}),
    Part("invoice-http", "fordra.devtools.bench.invoice_http", {"requests": "--requests"}),
    Part("payments", "fordra.devtools.bench.payments", {"payments": "--payments"}),
    Part("dunning", "fordra.devtools.bench.dunning", {"claims": "--claims"}),
    Part("billing-run", "fordra.devtools.bench.billing_run", {"count": "--count"}),
    # End to end over Kafka compares with the embedded engine at the same size as over HTTP.
    Part(
        "distributed",
        "fordra.devtools.bench.distributed",
        {"requests": "--invoices", "distributed_events": "--events"},
    ),
)


def distributed_servers() -> tuple[bool, str]:
    """Whether PostgreSQL and Kafka can be started here, without fetching anything."""
    from fordra.devtools.localservers import (  # noqa: PLC0415
        LocalServerError,
        find_java,
        find_postgres_bindir,
        kafka_libs_cached,
    )

    try:
        bindir = find_postgres_bindir()
        find_java()
    except LocalServerError as exc:
        return False, str(exc)
    libs = kafka_libs_cached()
    if libs is None:
        return False, "the Kafka jars are not fetched (deploy/kafka/fetch-jars.sh)"
    return True, f"PostgreSQL in {bindir}, Kafka jars in {libs}"


def _part_argv(part: Part, sizes: dict[str, int | None], json_path: Path) -> list[str]:
    argv = [sys.executable, "-m", part.module, "--json", str(json_path)]
    for option, flag in part.sizes.items():
        if (value := sizes.get(option)) is not None:
            argv += [flag, str(value)]
    return argv


def run_all(
    sizes: dict[str, int | None],
    *,
    distributed: bool | None,
    parts: tuple[str, ...] | None = None,
    workdir: Path,
) -> dict[str, Any]:
    """Run the parts (all of them, or ``parts``) and answer the merged document.

    ``distributed``: True to run that part, False to leave it out, None to run it when the servers
    can be started here."""
    section = machine()
    chosen = [p for p in PARTS if parts is None or p.name in parts]
    if any(p.name == "distributed" for p in chosen):
        if distributed is None:
            available, why = distributed_servers()
            verdict = "included: " if available else "left out: "
            section["distributed"] = verdict + why
            distributed = available
        elif distributed:
            section["distributed"] = "included: --distributed"
        else:
            section["distributed"] = "left out: --no-distributed"
        print(f"fordra-dev bench all: the distributed part is {section['distributed']}", flush=True)
        if not distributed:
            chosen = [p for p in chosen if p.name != "distributed"]
    results: list[Case] = []
    details: dict[str, Any] = {}
    section["parts"] = {}
    for part in chosen:
        out = workdir / f"{part.name}.json"
        argv = _part_argv(part, sizes, out)
        print(f"\n== {part.name}: {' '.join(argv[1:])}", flush=True)
        started = time.perf_counter()
        # Each part makes a fresh temporary data directory of its own and removes it at the end.
        # Unbuffered: a part's progress shows as it runs, also when the output goes to a file.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        done = subprocess.run(argv, check=False, env=env)  # noqa: S603 (our own modules)
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not out.is_file():
            # Said in the document and by the exit status; the other parts still run.
            print(f"fordra-dev bench all: {part.name} failed (exit {done.returncode})", flush=True)
            section["parts"][part.name] = {"seconds": round(seconds, 1), "failed": done.returncode}
            continue
        part_doc = json.loads(out.read_text(encoding="utf-8"))
        results.extend(cases_of(part_doc))
        details.update(part_doc["details"])
        part_machine = part_doc["machine"]
        section["parts"][part.name] = {
            "seconds": round(seconds, 1),
            "load_average_start": part_machine["load_average_start"],
            "load_average_end": part_machine["load_average_end"],
        }
    return document(finish(section), results, details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fordra-dev bench all",
        description="Every benchmark, each part in a process of its own; one JSON.",
    )
    parser.add_argument("--events", type=int, help="appends: events per case (100,000)")
    parser.add_argument("--invoices", type=int, help="invoice-batch: invoices (100,000)")
    parser.add_argument(
        "--requests", type=int, help="invoice-http, and distributed end to end: invoices (2,000)"
    )
    parser.add_argument("--payments", type=int, help="payments: payments in the file (100,000)")
    parser.add_argument(
        "--distributed-events", type=int, help="distributed: events appended (20,000)"
    )
    parser.add_argument("--claims", type=int, help="dunning: open invoices (1,000,000)")
    parser.add_argument("--count", type=int, help="billing-run: monthly rent notices (50,000)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--distributed",
        action="store_true",
        default=None,
        help="run the distributed part (default: when PostgreSQL and Kafka can run here)",
    )
    which.add_argument("--no-distributed", dest="distributed", action="store_false")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    args = parser.parse_args(argv)
    sizes: dict[str, int | None] = {
        "events": args.events,
        "invoices": args.invoices,
        "requests": args.requests,
        "payments": args.payments,
        "distributed_events": args.distributed_events,
        "claims": args.claims,
        "count": args.count,
    }
    if any(v is not None and v < 1 for v in sizes.values()):
        parser.error("sizes must be positive")
    with tempfile.TemporaryDirectory(prefix="fordra-bench-all-") as tmp:
        doc = run_all(sizes, distributed=args.distributed, workdir=Path(tmp))
    print()
    for line in table(cases_of(doc), targets(cases_of(doc))):
        print(line)
    print(f"\n{doc['machine']['uptime_at_end']}")
    if args.json is not None:
        write_document(args.json, doc)
        print(f"wrote {args.json}")
    failed = [name for name, part in doc["machine"]["parts"].items() if "failed" in part]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
