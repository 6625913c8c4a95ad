"""``fordra-dev``: what only serves development, kept out of the service images.

``fordra-dev bench all|appends|invoice-batch|invoice-http|payments|dunning|billing-run|distributed``
measures (figures in docs/performance.md; ``all`` runs every part, each in a process of its own),
and ``fordra-dev cluster up|down|status`` runs the distributed engine on this machine: a local
PostgreSQL, a local Kafka broker (KRaft) and one ``fordra serve`` process per service.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fordra-dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    cluster = sub.add_parser("cluster", help="PostgreSQL, Kafka and every service on this machine")
    cluster.add_argument("action", choices=("up", "down", "status"))
    cluster.add_argument("--data-dir", type=Path, default=Path("var/cluster"))
    cluster.add_argument("--port", type=int, default=8000)

    bench = sub.add_parser("bench", help="benchmarks (figures in docs/performance.md)")
    bench.add_argument("which", choices=("all", *BENCH_SIZES))
    bench.add_argument("--events", type=int, help="appends: events per case (100,000)")
    bench.add_argument("--invoices", type=int, help="invoice-batch: invoices (100,000)")
    bench.add_argument("--requests", type=int, help="invoice-http: invoices posted (2,000)")
    bench.add_argument("--payments", type=int, help="payments: payments in the file (100,000)")
    bench.add_argument("--claims", type=int, help="dunning: open invoices (1,000,000)")
    bench.add_argument("--count", type=int, help="billing-run: monthly rent notices (50,000)")
    bench.add_argument("--e2e-invoices", type=int, help="distributed: end-to-end commands (2,000)")
    bench.add_argument(
        "--distributed-events", type=int, help="distributed: events appended (20,000)"
    )
    which = bench.add_mutually_exclusive_group()
    which.add_argument(
        "--distributed",
        action="store_true",
        default=None,
        help="all: run the distributed part (default: when PostgreSQL and Kafka can run here)",
    )
    which.add_argument("--no-distributed", dest="distributed", action="store_false")
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")

    args = parser.parse_args(argv)
    commands = {"cluster": _cluster, "bench": _bench}
    return commands[args.command](args)


# Each part's size options: ``fordra-dev bench``'s option -> the part's own.
BENCH_SIZES: dict[str, dict[str, str]] = {
    "appends": {"events": "--events"},
    "invoice-batch": {"invoices": "--invoices"},
    "invoice-http": {"requests": "--requests"},
    "payments": {"payments": "--payments"},
    "dunning": {"claims": "--claims"},
    "billing-run": {"count": "--count"},
    "distributed": {"e2e_invoices": "--invoices", "distributed_events": "--events"},
}
# ``all`` passes the HTTP size to the distributed end to end (compared with the embedded engine).
ALL_SIZES = ("events", "invoices", "requests", "payments", "distributed_events", "claims", "count")


def _bench(args: argparse.Namespace) -> int:
    from fordra.devtools.bench import (
        appends,
        billing_run,
        distributed,
        dunning,
        invoice_batch,
        invoice_http,
        payments,
        suite,
    )

    allowed = ALL_SIZES if args.which == "all" else tuple(BENCH_SIZES[args.which])
    # Each bench takes its own size options; the others are refused, not silently ignored.
    for option in {o for sizes in BENCH_SIZES.values() for o in sizes}:
        if getattr(args, option) is not None and option not in allowed:
            flag = "--" + option.replace("_", "-")
            print(
                f"fordra-dev bench {args.which}: {flag} is not one of its options", file=sys.stderr
            )
            return 2
    if args.distributed is not None and args.which != "all":
        print(
            "fordra-dev bench: --distributed and --no-distributed are for `bench all`",
            file=sys.stderr,
        )
        return 2
    forwarded: list[str] = []
    if args.which == "all":
        for option in ALL_SIZES:
            if (value := getattr(args, option)) is not None:
                forwarded += ["--" + option.replace("_", "-"), str(value)]
        if args.distributed is not None:
            forwarded.append("--distributed" if args.distributed else "--no-distributed")
    else:
        for option, flag in BENCH_SIZES[args.which].items():
            if (value := getattr(args, option)) is not None:
                forwarded += [flag, str(value)]
    if args.json:
        forwarded += ["--json", str(args.json)]
    mains = {
        "all": suite.main,
        "appends": appends.main,
        "invoice-batch": invoice_batch.main,
        "invoice-http": invoice_http.main,
        "payments": payments.main,
        "dunning": dunning.main,
        "billing-run": billing_run.main,
        "distributed": distributed.main,
    }
    return mains[args.which](forwarded)


def _cluster(args: argparse.Namespace) -> int:
    from fordra.devtools.cluster import cluster_down, cluster_status, cluster_up

    if args.action == "up":
        return cluster_up(args.data_dir, port=args.port)
    if args.action == "down":
        return cluster_down(args.data_dir)
    return cluster_status(args.data_dir)
