"""``fordra``: run the platform, print tokens, run benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from pathlib import Path

from fordra.app.bootstrap import SERVICES
from fordra.kernel.auth import Role


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fordra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="every context, the projections and the API in one process")
    # No argparse defaults for settings: an option not given leaves the FORDRA_* environment and
    # the settings' own defaults (127.0.0.1:8000, ./var, the system clock) in force.
    run.add_argument("--host", help="default 127.0.0.1 (FORDRA_HOST)")
    run.add_argument("--port", type=int, help="default 8000 (FORDRA_PORT)")
    run.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")
    run.add_argument("--demo", action="store_true", help="load a small demo municipality first")
    run.add_argument("--clock", choices=("system", "manual"), help="default system (FORDRA_CLOCK)")
    run.add_argument("--today", type=date.fromisoformat, help="business date of a manual clock")

    serve = sub.add_parser("serve", help="one service of the distributed engine in this process")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--store", help="postgresql+asyncpg://... (or FORDRA_STORE)")
    serve.add_argument("--bus", help="kafka://host:port (or FORDRA_BUS)")
    serve.add_argument("--data-dir", type=Path, help="secrets and keys shared by the services")
    serve.add_argument("--host", help="the API's address, default 127.0.0.1 (FORDRA_HOST)")
    serve.add_argument("--port", type=int, help="the API's port, default 8000 (FORDRA_PORT)")

    cluster = sub.add_parser("cluster", help="PostgreSQL, Kafka and every service on this machine")
    cluster.add_argument("action", choices=("up", "down", "status"))
    cluster.add_argument("--data-dir", type=Path, default=Path("var/cluster"))
    cluster.add_argument("--port", type=int, default=8000)

    token = sub.add_parser("token", help="print a bearer token the instance using DIR accepts")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--department")
    token.add_argument("--municipality")
    token.add_argument("--subject")
    token.add_argument("--days", type=int, default=30, help="validity in days")
    token.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")

    bench = sub.add_parser("bench", help="benchmarks (figures in docs/performance.md)")
    bench.add_argument("which", choices=("appends",))
    bench.add_argument("--events", type=int, default=100_000)
    bench.add_argument("--json", type=Path)

    args = parser.parse_args(argv)
    commands = {
        "run": _run,
        "serve": _serve,
        "cluster": _cluster,
        "token": _token,
        "bench": _bench,
    }
    return commands[args.command](args)


def _bench(args: argparse.Namespace) -> int:
    from fordra.app.bench.appends import main as bench_main

    forwarded = ["--events", str(args.events)]
    if args.json:
        forwarded += ["--json", str(args.json)]
    return bench_main(forwarded)


def _given(args: argparse.Namespace, *names: str) -> dict[str, object]:
    """The settings given on the command line; the rest come from the environment."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from fordra.app.bootstrap import build_distributed
    from fordra.app.http import create_app
    from fordra.app.settings import load_settings
    from fordra.kernel.telemetry import configure_logging

    settings = load_settings(**_given(args, "store", "bus", "data_dir", "host", "port"))
    configure_logging(settings.log_level)
    try:
        platform = build_distributed(settings, services=[args.service])
    except ValueError as exc:
        print(f"fordra serve: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        await platform.start()
        try:
            if args.service == "api":
                app = create_app(platform, manage_lifecycle=False)
                config = uvicorn.Config(
                    app, host=settings.host, port=settings.port, log_config=None, access_log=False
                )
                await uvicorn.Server(config).serve()
            else:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)
                print(f"fordra serve {args.service}: running", flush=True)
                await stop.wait()
        finally:
            await platform.stop()

    asyncio.run(serve())
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from fordra.app.cluster import cluster_down, cluster_status, cluster_up

    if args.action == "up":
        return cluster_up(args.data_dir, port=args.port)
    if args.action == "down":
        return cluster_down(args.data_dir)
    return cluster_status(args.data_dir)


def _token(args: argparse.Namespace) -> int:
    from fordra.app.auth import InstanceSecrets, TokenService
    from fordra.app.settings import load_settings

    settings = load_settings(**_given(args, "data_dir"))
    tokens = TokenService(InstanceSecrets.load_or_create(settings.data_dir), settings.municipality)
    try:
        print(
            tokens.issue(
                Role(args.role),
                subject=args.subject,
                department=args.department,
                municipality=args.municipality,
                valid_for=timedelta(days=args.days),
            )
        )
    except ValueError as exc:
        print(f"fordra token: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from fordra.app.bootstrap import build_embedded
    from fordra.app.demo import load_demo
    from fordra.app.http import create_app
    from fordra.app.settings import load_settings
    from fordra.kernel.telemetry import configure_logging

    settings = load_settings(**_given(args, "data_dir", "host", "port", "clock"))
    configure_logging(settings.log_level)
    platform = build_embedded(settings, today=args.today)

    async def serve() -> None:
        await platform.start()
        try:
            if args.demo:
                ids = await load_demo(platform)
                print(f"demo municipality loaded: {len(ids)} customers, e.g. {ids[0]}", flush=True)
            token = platform.tokens.issue(Role.OPS_LEAD, subject="ops")
            base = f"http://{settings.host}:{settings.port}"
            print(f"Fordra serves {settings.municipality_name} on {base}", flush=True)
            print(f"  API docs:   {base}/docs", flush=True)
            if args.demo:
                print(f"  a ledger:   {base}/api/v1/customers/{ids[0]}/ledger", flush=True)
            print(f"  ops token:  {token}", flush=True)
            print(
                f'  try:        curl -H "Authorization: Bearer $TOKEN" {base}/healthz', flush=True
            )
            app = create_app(platform, manage_lifecycle=False)
            config = uvicorn.Config(
                app, host=settings.host, port=settings.port, log_config=None, access_log=False
            )
            await uvicorn.Server(config).serve()
        finally:
            await platform.stop()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
