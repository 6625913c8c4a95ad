"""``fordra-dev``: what only serves development, kept out of the service images.

``fordra-dev bench appends|payments|distributed`` measures (figures in docs/performance.md), and
``fordra-dev cluster up|down|status`` runs the distributed engine on this machine: a local
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
    bench.add_argument("which", choices=("appends", "payments", "distributed"))
    bench.add_argument("--events", type=int, help="appends: events per case (100,000)")
    bench.add_argument("--payments", type=int, help="payments: payments in the file (100,000)")
    bench.add_argument("--invoices", type=int, help="distributed: end-to-end commands (2,000)")
    bench.add_argument("--json", type=Path)

    args = parser.parse_args(argv)
    commands = {"cluster": _cluster, "bench": _bench}
    return commands[args.command](args)


def _bench(args: argparse.Namespace) -> int:
    from fordra.devtools.bench import appends, distributed, payments

    mains = {"appends": appends.main, "payments": payments.main, "distributed": distributed.main}
    # Each bench takes its own size option; the others are refused, not silently ignored.
    sizes = {"appends": "events", "payments": "payments", "distributed": "invoices"}
    forwarded: list[str] = []
    for which, option in sizes.items():
        value = getattr(args, option)
        if value is None:
            continue
        if which != args.which:
            wrong = f"--{option} is for `bench {which}`"
            print(f"fordra-dev bench {args.which}: {wrong}", file=sys.stderr)
            return 2
        forwarded += [f"--{option}", str(value)]
    if args.json:
        forwarded += ["--json", str(args.json)]
    return mains[args.which](forwarded)


def _cluster(args: argparse.Namespace) -> int:
    from fordra.devtools.cluster import cluster_down, cluster_status, cluster_up

    if args.action == "up":
        return cluster_up(args.data_dir, port=args.port)
    if args.action == "down":
        return cluster_down(args.data_dir)
    return cluster_status(args.data_dir)
