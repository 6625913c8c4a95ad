"""The fordra command: run the platform or one service, make an instance, print tokens, import
files, apply retention, rebuild the read models.

The command line imports only what its command needs, so that ``fordra --help`` and
``fordra --version`` answer at once (the platform's modules take seconds to import)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fordra.kernel.auth import Role
from fordra.kernel.private_files import PRIVATE_UMASK

if TYPE_CHECKING:
    from fordra.app.bootstrap import Platform
    from fordra.app.settings import Settings
    from fordra.payments.application.import_file import ImportResult
    from fordra.payments.domain.bank_file import BankFileRejected, ParsedBankFile

# The commands that write a service's data directory. ``cluster`` starts PostgreSQL and Kafka,
# whose folders it sets up itself (PostgreSQL may run as another OS user), and ``bench`` writes
# throwaway data; the services ``cluster`` starts are ``serve`` commands and so private.
PRIVATE_COMMANDS = ("run", "serve", "init", "import", "token", "retention", "projections")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fordra-app")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


# The commands that work on an instance's data: a directory that holds none is refused (exit 2)
# rather than made into a new, empty instance (fordra.app.instance).
NEEDS_INSTANCE = ("import", "retention", "projections")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fordra",
        description="Run the Fordra receivables platform or one of its services, make an "
        "instance, print tokens, import bank files, apply retention, rebuild the read models.",
    )
    parser.add_argument("--version", action="version", version=f"fordra {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="every context, the projections and the API in one process")
    # No argparse defaults for settings: an option not given leaves the FORDRA_* environment and
    # the settings' own defaults (127.0.0.1:8000, ./var, the system clock) in force.
    run.add_argument("--host", help="default 127.0.0.1 (FORDRA_HOST)")
    run.add_argument("--port", type=int, help="default 8000 (FORDRA_PORT)")
    run.add_argument(
        "--data-dir",
        type=Path,
        help="default ./var (FORDRA_DATA_DIR); an instance is made there when it is absent or "
        "empty",
    )
    run.add_argument("--demo", action="store_true", help="load a small demo municipality first")
    run.add_argument("--clock", choices=("system", "manual"), help="default system (FORDRA_CLOCK)")
    run.add_argument("--today", type=date.fromisoformat, help="business date of a manual clock")

    serve = sub.add_parser("serve", help="one service of the distributed engine in this process")
    serve.add_argument(
        "service", help="api, projections, or a context's process (e.g. invoicing, dunning)"
    )
    serve.add_argument("--store", help="postgresql+asyncpg://... (or FORDRA_STORE)")
    serve.add_argument("--bus", help="kafka://host:port (or FORDRA_BUS)")
    serve.add_argument("--data-dir", type=Path, help="secrets and keys shared by the services")
    serve.add_argument("--host", help="the API's address, default 127.0.0.1 (FORDRA_HOST)")
    serve.add_argument("--port", type=int, help="the API's port, default 8000 (FORDRA_PORT)")

    init = sub.add_parser(
        "init",
        help="make an instance in a data directory (its secrets)",
        description="Make a Fordra instance in the data directory: the directory (private to "
        "this user) and its secrets.json. An instance already there is left as it is. The "
        "import, retention and projections commands refuse a directory that holds no instance.",
    )
    init.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")

    token = sub.add_parser("token", help="print a bearer token the instance using DIR accepts")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--department")
    token.add_argument("--municipality")
    token.add_argument("--subject")
    lifetime = token.add_mutually_exclusive_group()
    lifetime.add_argument(
        "--hours", type=int, help="validity; at most the role's lifetime (FORDRA_TOKENS__*)"
    )
    lifetime.add_argument(
        "--days", type=int, help="default: 8 h for a person's role, 30 days for a system's"
    )
    token.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")

    imports = sub.add_parser(
        "import",
        help="import a file through the same use case as the API",
        description="Import a bank file (camt.054, BgMax, Autogiro) as POST /api/v1/payment-files "
        "does, with the role bank_ingest. Exit 0 when booked (also for the same file again, "
        "duplicate true), 2 when the file is refused, 1 on any other failure.",
    )
    imports.add_argument("what", choices=("payments",))
    imports.add_argument("file", type=Path)
    imports.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")
    imports.add_argument("--store", help="distributed engine: postgresql+asyncpg://...")
    imports.add_argument("--bus", help="distributed engine: kafka://host:port")

    retention = sub.add_parser(
        "retention",
        help="drop archived bank files past their retention and forget expired idempotency "
        "keys (run daily, e.g. from cron)",
        description="Forget the key of, and delete, every archived bank file past its retention "
        "(bokföringslagen: the seventh year after its year end, a dated setting), and every "
        "idempotency record older than idempotency_key_days (a batch file's content claim stays). "
        "A manual clock runs this every business day by itself.",
    )
    retention.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")
    retention.add_argument("--store", help="distributed engine: postgresql+asyncpg://...")
    retention.add_argument("--today", type=date.fromisoformat, help="default the real date")

    from fordra.app import projections_cli

    projections_cli.add_parser(sub)

    args = parser.parse_args(argv)
    if (code := _refuse(args, serve)) is not None:
        return code
    if args.command in PRIVATE_COMMANDS:
        # Everything the service writes under its data directory is its user's alone
        # (kernel/private_files.py sets the same modes explicitly where files are made).
        os.umask(PRIVATE_UMASK)
    commands = {
        "run": _run,
        "serve": _serve,
        "init": _init,
        "token": _token,
        "import": _import,
        "retention": _retention,
        "projections": projections_cli.rebuild,
    }
    return commands[args.command](args)


def _refuse(args: argparse.Namespace, serve: argparse.ArgumentParser) -> int | None:
    """The exit code of a command line refused before its command runs, or None: an unknown
    service (checked here so that parsing imports nothing of the platform), a data directory
    that holds no instance for a command that needs one."""
    if args.command == "serve":
        from fordra.app.bootstrap import SERVICES

        if args.service not in SERVICES:
            serve.error(f"unknown service {args.service!r}; one of: {', '.join(SERVICES)}")
    if args.command in NEEDS_INSTANCE:
        from fordra.app.settings import load_settings

        command = "projections rebuild" if args.command == "projections" else args.command
        if refuse_non_instance(command, load_settings(**_given(args, "data_dir")).data_dir):
            return 2
    return None


def _init(args: argparse.Namespace) -> int:
    """``fordra init``: make an instance in the data directory."""
    from fordra.app.instance import init_instance
    from fordra.app.settings import load_settings

    data_dir = load_settings(**_given(args, "data_dir")).data_dir
    try:
        made = init_instance(data_dir)
    except OSError as exc:
        print(f"fordra init: cannot make an instance in {data_dir}: {exc}", file=sys.stderr)
        return 1
    print(f"fordra init: {'made an instance in' if made else 'already an instance:'} {data_dir}")
    return 0


def refuse_non_instance(command: str, data_dir: Path) -> bool:
    """Say so on stderr and answer True when ``data_dir`` holds no instance."""
    from fordra.app.instance import is_instance, not_an_instance

    if is_instance(data_dir):
        return False
    print(f"fordra {command}: {not_an_instance(data_dir)}", file=sys.stderr)
    return True


class _Progress:
    """A textual progress bar on stderr through the stages of an import: parse, book, settle.

    On a terminal one line is redrawn; otherwise (a pipe, a log) each stage is a line of its own.
    """

    STAGES = ("parse", "book", "settle")

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.stage_started = self.started
        self.done = 0
        self.last = ""

    def _draw(self, text: str, *, final: bool = False) -> None:
        filled = self.width * self.done // len(self.STAGES)
        line = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{len(self.STAGES)} {text}"
        )
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.last)) + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last = line

    def stage(self, name: str, note: str = "") -> None:
        """``name`` begins; the stage before it (if any) is done."""
        now = time.monotonic()
        if name in self.STAGES:
            previous = self.STAGES.index(name)
            took = f", {self.STAGES[previous - 1]} took {now - self.stage_started:.2f} s"
            self.done = previous
            self.stage_started = now
            self._draw(f"{name}{': ' + note if note else ''}{took if previous else ''}")

    def finish(self, text: str) -> None:
        self.done = len(self.STAGES)
        self._draw(f"{text} in {time.monotonic() - self.started:.2f} s", final=True)

    def stop(self, text: str) -> None:
        self._draw(text, final=True)


def _refused(exc: BankFileRejected) -> None:
    """Every problem of a refused file, each with its line or element: readable on stderr, and the
    API's 422 body (``{"errors": [...], "detail": ...}``) on stdout."""
    import json

    for problem in exc.errors:
        where = f"line {problem['line']}" if problem["line"] is not None else problem["element"]
        print(f"  {where or 'the file'}: {problem['message']}", file=sys.stderr)
    print(
        json.dumps({"errors": list(exc.errors), "detail": str(exc)}, ensure_ascii=False, indent=2)
    )


def _import_platform(args: argparse.Namespace) -> Platform:
    from fordra.app.bootstrap import build_distributed, build_embedded
    from fordra.app.settings import load_settings

    settings = load_settings(**_given(args, "data_dir", "store", "bus"))
    if settings.store or settings.bus:
        # As the API process of a running cluster: the relays and consumers run elsewhere.
        return build_distributed(settings, services=["api"])
    return build_embedded(settings)


async def _book_file(
    platform: Platform, data: bytes, progress: _Progress
) -> tuple[ImportResult, str | None]:
    """Import as the API does, then settle; answers the result and, when the read models lag
    past the settle timeout, why (the file is booked all the same)."""
    from dataclasses import replace

    from fordra.kernel.auth import Principal
    from fordra.kernel.bus import SettleTimeout
    from fordra.kernel.web import metadata_for
    from fordra.payments.application.import_file import import_payment_file

    principal = Principal(
        subject="cli", role=Role.BANK_INGEST, tenant=platform.settings.municipality
    )

    def parse(raw: bytes) -> ParsedBankFile:
        parsed = platform.payments.parse(raw)
        progress.stage("book", f"{len(parsed.payments):,} payments ({parsed.format})")
        return parsed

    await platform.start()
    try:
        progress.stage("parse")
        deps = replace(platform.payments, parse=parse)
        outcome = await import_payment_file(data, deps, principal, metadata_for(principal))
        if outcome.response.duplicate:
            progress.stop("already imported: nothing booked")
            return outcome.response, None
        progress.stage("settle", "waiting for the read models")
        try:
            await platform.settle()
        except SettleTimeout as exc:
            return outcome.response, str(exc)
        progress.finish("booked")
        return outcome.response, None
    finally:
        await platform.stop()


def _import(args: argparse.Namespace) -> int:
    """``fordra import payments FILE``: the use case of POST /api/v1/payment-files."""

    from fordra.kernel.telemetry import configure_logging
    from fordra.payments.domain.bank_file import BankFileRejected

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"fordra import: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    configure_logging(os.environ.get("FORDRA_LOG_LEVEL", "WARNING"), json_lines=False)
    try:
        platform = _import_platform(args)
    except ValueError as exc:
        print(f"fordra import: {exc}", file=sys.stderr)
        return 1
    progress = _Progress(sys.stderr)
    print(f"fordra import: {args.file} ({len(data):,} bytes)", file=sys.stderr, flush=True)
    try:
        result, lagging = asyncio.run(_book_file(platform, data, progress))
    except BankFileRejected as exc:
        progress.stop(f"refused: {len(exc.errors)} problem(s), nothing booked")
        _refused(exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - any other failure: say what, exit 1
        progress.stop("failed")
        print(f"fordra import: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2))
    if result.totals_by_currency:
        print(f"fordra import: totals {_totals(result.totals_by_currency)}", file=sys.stderr)
    if lagging is not None:
        # As the API's 503 with "committed": the file is booked; the read models lag behind.
        print(f"fordra import: booked, but {lagging}", file=sys.stderr)
        return 1
    return 0


def _retention(args: argparse.Namespace) -> int:
    """``fordra retention``: the scheduler's daily retention job, for a system clock."""
    import asyncio
    import json
    from datetime import UTC, datetime, time

    from fordra.app.bootstrap import (
        build_archive,
        drop_expired_payment_files,
        forget_idempotency_keys_offline,
    )
    from fordra.app.settings import load_settings
    from fordra.kernel.clock import STOCKHOLM, SystemClock
    from fordra.kernel.personal_data import SqliteKeyRing

    settings = load_settings(**_given(args, "data_dir", "store"))
    clock = SystemClock()
    now = (
        datetime.combine(args.today, time(), tzinfo=STOCKHOLM).astimezone(UTC)
        if args.today
        else clock.now()
    )
    keyring = SqliteKeyRing(settings.data_dir / "keys.sqlite")
    try:
        archive = build_archive(settings, keyring, clock)
        dropped = drop_expired_payment_files(archive, settings, args.today or clock.today())
        forgotten = asyncio.run(forget_idempotency_keys_offline(settings, keyring, now))
    finally:
        keyring.close()
    print(json.dumps({"dropped": dropped, "idempotency_records_forgotten": forgotten}, indent=2))
    return 0


def _totals(totals_by_currency: dict[str, int]) -> str:
    """Each currency's total on its own, never added together: ``8 600,00 SEK; 4 000,00 EUR``
    (amounts in hundredths, as öre)."""
    from fordra.kernel.money import format_sek

    return "; ".join(
        f"{format_sek(amount).removesuffix(' kr')} {currency}"
        for currency, amount in totals_by_currency.items()
    )


def refuse_weak_secrets(data_dir: Path, *, demo: bool) -> str | None:
    """Why the instance must not start on the secrets in ``data_dir``, or None. A demo
    (``--demo``, ``make run``) starts with a warning: its data and tokens are play."""
    from fordra.app.auth import InstanceSecrets

    try:
        weakness = InstanceSecrets.load_or_create(data_dir).weakness()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"cannot read the instance's secrets in {data_dir / 'secrets.json'}: {exc!r}"
    if weakness is None:
        return None
    advice = (
        f"{weakness} ({data_dir / 'secrets.json'}). Remove the file and Fordra writes a random "
        "key on the next start (tokens signed with the old key stop working)."
    )
    if demo:
        print(f"warning: {advice} Allowed for --demo only.", file=sys.stderr, flush=True)
        return None
    return f"refusing to start: {advice}"


def _given(args: argparse.Namespace, *names: str) -> dict[str, object]:
    """The settings given on the command line; the rest come from the environment."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from fordra.app.agency import agency_secrets_or_refusal
    from fordra.app.bootstrap import build_distributed
    from fordra.app.http import create_app
    from fordra.app.settings import load_settings
    from fordra.kernel.telemetry import configure_logging

    settings = load_settings(**_given(args, "store", "bus", "data_dir", "host", "port"))
    if (refusal := refuse_weak_secrets(settings.data_dir, demo=False)) is not None:
        print(f"fordra serve: {refusal}", file=sys.stderr)
        return 2
    # The gateway signs its deliveries and the API checks the agencies' webhooks (issue 15).
    if args.service in ("agency-gateway", "api"):
        settings, refusal = agency_secrets_or_refusal(settings, demo=False)
        if refusal is not None:
            print(f"fordra serve: {refusal}", file=sys.stderr)
            return 2
    configure_logging(settings.log_level)
    try:
        platform = build_distributed(settings, services=[args.service])
    except ValueError as exc:
        print(f"fordra serve: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        await platform.start()
        # The dunning service runs the business days' jobs as the real calendar passes them
        # (the daily dunning run among them); each is idempotent per date.
        daily = _follow_the_calendar(platform) if args.service == "dunning" else None
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
            await _stop_following(daily)
            await platform.stop()

    asyncio.run(serve())
    return 0


def _token(args: argparse.Namespace) -> int:
    from fordra.app.auth import InstanceSecrets, TokenService
    from fordra.app.settings import load_settings

    settings = load_settings(**_given(args, "data_dir"))
    tokens = TokenService(
        InstanceSecrets.load_or_create(settings.data_dir), settings.municipality, settings.tokens
    )
    valid_for = None
    if args.hours is not None:
        valid_for = timedelta(hours=args.hours)
    elif args.days is not None:
        valid_for = timedelta(days=args.days)
    try:
        print(
            tokens.issue(
                Role(args.role),
                subject=args.subject,
                department=args.department,
                municipality=args.municipality,
                valid_for=valid_for,
            )
        )
    except ValueError as exc:
        print(f"fordra token: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from fordra.app.agency import agency_secrets_or_refusal, demo_reference_agency
    from fordra.app.bootstrap import build_embedded
    from fordra.app.demo import load_demo
    from fordra.app.http import create_app
    from fordra.app.settings import load_settings
    from fordra.kernel.telemetry import configure_logging

    settings = load_settings(**_given(args, "data_dir", "host", "port", "clock"))
    refusal = _first_start(settings.data_dir, demo=args.demo) or refuse_weak_secrets(
        settings.data_dir, demo=args.demo
    )
    if refusal is None:
        settings, refusal = agency_secrets_or_refusal(settings, demo=args.demo)
    if refusal is not None:
        print(f"fordra run: {refusal}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    settings, today, history_until = _demo_clock(args, settings)
    platform = build_embedded(settings, today=today)
    # The demo's collection agency, in this process (issue 15).
    agency = demo_reference_agency(settings) if args.demo else None

    async def serve() -> None:
        await platform.start()
        daily = _follow_the_calendar(platform)
        if agency is not None:
            try:
                await agency.start()
                print(f"  reference agency: {agency.url}", flush=True)
            except OSError as exc:  # one already runs there (fordra-reference-agency)
                print(f"warning: reference agency not started on {agency.url}: {exc}", flush=True)
        try:
            if args.demo:
                if history_until is not None:
                    print(
                        f"demo: living {platform.clock.today()} to {history_until} "
                        "(a manual clock; POST /api/v1/admin/clock/advance moves it on)",
                        flush=True,
                    )
                ids = await load_demo(platform, history_until=history_until)
                print(f"demo municipality loaded: {len(ids)} customers, e.g. {ids[0]}", flush=True)
            token = platform.tokens.issue(Role.OPS_LEAD, subject="ops")
            base = f"http://{settings.host}:{settings.port}"
            print(
                f"Fordra serves {settings.municipality_name} on {base}\n"
                f"  API docs:   {base}/docs\n"
                f"  ops web:    {base}/ops/ (sign in with the token below)",
                flush=True,
            )
            if args.demo:
                print(f"  a ledger:   {base}/api/v1/customers/{ids[0]}/ledger", flush=True)
            print(f"  ops token:  export FORDRA_TOKEN={token}", flush=True)
            print(
                f'  try:        curl -H "Authorization: Bearer $FORDRA_TOKEN" {base}/healthz',
                flush=True,
            )
            app = create_app(platform, manage_lifecycle=False)
            config = uvicorn.Config(
                app, host=settings.host, port=settings.port, log_config=None, access_log=False
            )
            await uvicorn.Server(config).serve()
        finally:
            if agency is not None:
                await agency.stop()
            await _stop_following(daily)
            await platform.stop()

    asyncio.run(serve())
    return 0


def _demo_clock(
    args: argparse.Namespace, settings: Settings
) -> tuple[Settings, date | None, date | None]:
    """The settings, the start date and the day the demo's history runs to. The demo lives its
    four months of history on a manual clock that starts that long ago (fordra.app.demo); asked
    for a clock or a date, it loads today's demo only."""
    from fordra.app.demo import demo_history_start
    from fordra.kernel.clock import SystemClock

    if not (args.demo and args.clock is None and args.today is None):
        return settings, args.today, None
    if (settings.data_dir / "invoicing.sqlite").exists():
        # An instance the demo already lives in: it goes on from where it stood (the demo is
        # loaded once; its clock does not go back).
        return settings, None, None
    until = SystemClock().today()
    manual = settings.model_copy(update={"clock": "manual"})
    return manual, demo_history_start(until), until


def _first_start(data_dir: Path, *, demo: bool) -> str | None:
    """Make an instance in ``data_dir`` when it is absent or empty (the first start: the
    one-command start, ``make run``, needs no ``fordra init`` before it); answer why not to start
    when it holds something else than an instance (a typo in the path, another program's data).
    A demo makes its instance in any directory: its data is play, and ``make run``'s ``var/`` may
    hold ``make up``'s ``var/cluster/`` before the demo ever ran."""
    from fordra.app.instance import init_instance, is_instance, is_unused, not_an_instance

    if is_unused(data_dir) or (demo and not is_instance(data_dir)):
        init_instance(data_dir)
        print(f"fordra run: made an instance in {data_dir}", flush=True)
        return None
    if not is_instance(data_dir):
        return not_an_instance(data_dir)
    return None


def _follow_the_calendar(platform: Platform) -> asyncio.Task[None] | None:
    """With the real clock, run each business day's jobs as the day comes; a manual clock is
    advanced by an admin (``POST /api/v1/admin/clock/advance``) instead."""
    from fordra.kernel.clock import SystemClock

    if not isinstance(platform.clock, SystemClock):
        return None
    return asyncio.create_task(platform.scheduler.follow(platform.clock), name="daily-jobs")


async def _stop_following(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    sys.exit(main())
