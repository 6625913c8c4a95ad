"""``fordra projections rebuild [NAME ...]``: drop projections' tables and rebuild them from zero
(issue 18), with a progress bar per projection on stderr.

What the start of an instance does by itself for a projection whose version or columns changed
(``fordra.kernel.projection``), on demand: after a fix in a projection's code that changes what
it computes without a new version, or to check that a rebuild answers what was built as events
came. Stop the instance (or, distributed, the process that runs the projection) first: the
rebuild reads the logs itself, and a running consumer would race with it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from fordra.app.bootstrap import Platform
    from fordra.kernel.projection import ProjectionRunner

# The distributed engine's rebuild runs no consumer, relay or producer: it reads the stores and
# writes the read models in PostgreSQL, so it needs no broker. ``build_distributed`` asks for a bus
# address all the same; this one is parsed and never connected to.
_NO_BUS = "kafka://127.0.0.1:9"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``projections`` command and its ``rebuild`` subcommand."""
    projections = sub.add_parser("projections", help="the read models: rebuild them from the logs")
    what = projections.add_subparsers(dest="action", required=True)
    rebuild = what.add_parser(
        "rebuild",
        help="drop projections' tables and rebuild them from zero",
        description="Drop the tables of the named projections (every projection when none is "
        "named) and rebuild them from zero from the logs they follow, with a progress bar per "
        "projection. Stop the instance first. Exit 0 when rebuilt, 2 for an unknown name or a "
        "directory that is not an instance, 1 on any other failure.",
    )
    rebuild.add_argument("names", nargs="*", metavar="NAME", help="a projection, e.g. kpis")
    rebuild.add_argument("--data-dir", type=Path, help="default ./var (FORDRA_DATA_DIR)")
    rebuild.add_argument("--store", help="distributed engine: postgresql+asyncpg://...")


class RebuildProgress:
    """A bar per projection: the events applied of its logs' heads. On a terminal one line is
    redrawn; otherwise each log's end is a line of its own."""

    def __init__(self, stream: TextIO, name: str, heads: dict[str, int], width: int = 30) -> None:
        self.stream = stream
        self.name = name
        self.width = width
        self.tty = stream.isatty()
        self.heads = heads
        self.total = sum(heads.values())
        self.done: dict[str, int] = dict.fromkeys(heads, 0)
        self.started = time.monotonic()
        self.last = ""

    def update(self, upstream: str, position: int, head: int) -> None:
        self.done[upstream] = position
        # A log that grew since the heads were read: show the larger figure.
        self.heads[upstream] = max(self.heads.get(upstream, 0), head)
        self.total = sum(self.heads.values())
        if self.tty or position >= head:
            self._draw(f"{upstream} {position:,}/{head:,}")

    def finish(self) -> None:
        took = time.monotonic() - self.started
        self._draw(f"rebuilt in {took:.2f} s", final=True)

    def _draw(self, note: str, *, final: bool = False) -> None:
        done = sum(self.done.values())
        filled = self.width * done // self.total if self.total else self.width
        line = (
            f"{self.name:<28} [{'#' * filled}{'-' * (self.width - filled)}] "
            f"{done:,}/{self.total:,} events  {note}"
        )
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.last)) + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last = line


def projection_runners(platform: Platform) -> dict[str, ProjectionRunner]:
    """Every projection of the platform by name: the projections process's and the contexts'
    own (dunning's claims, the agency's cases, ...)."""
    from fordra.kernel.projection import ProjectionRunner  # noqa: PLC0415 - as in rebuild

    return {
        sub.consumer.projection.name: sub.consumer
        for sub in platform.subscriptions
        if isinstance(sub.consumer, ProjectionRunner)
    }


def rebuild(args: argparse.Namespace) -> int:
    """``fordra projections rebuild``: see the module's docstring."""
    # Imported here, not at the top: `fordra --help` reads this module and must answer at once.
    from fordra.app.bootstrap import build_distributed, build_embedded  # noqa: PLC0415
    from fordra.app.settings import load_settings  # noqa: PLC0415
    from fordra.kernel.telemetry import configure_logging  # noqa: PLC0415

    configure_logging("WARNING", json_lines=False)
    given = {n: getattr(args, n) for n in ("data_dir", "store") if getattr(args, n) is not None}
    try:
        settings = load_settings(**given)
        if settings.store:
            settings = settings.model_copy(update={"bus": settings.bus or _NO_BUS})
            platform = build_distributed(settings, services=[])
        else:
            platform = build_embedded(settings)
    except ValueError as exc:
        print(f"fordra projections rebuild: {exc}", file=sys.stderr)
        return 1
    runners = projection_runners(platform)
    unknown = [n for n in args.names if n not in runners]
    if unknown:
        platform.keyring.close()
        print(
            f"fordra projections rebuild: unknown projection {', '.join(unknown)}; "
            f"known: {', '.join(sorted(runners))}",
            file=sys.stderr,
        )
        return 2
    chosen = list(dict.fromkeys(args.names)) or list(runners)
    try:
        asyncio.run(_rebuild(platform, [runners[n] for n in chosen], runners))
    except Exception as exc:  # noqa: BLE001 - any failure: say what, exit 1
        print(f"fordra projections rebuild: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _rebuild(
    platform: Platform, chosen: list[ProjectionRunner], runners: dict[str, ProjectionRunner]
) -> None:
    """Open the stores and the read models (no bus, no relay), rebuild each chosen projection,
    and every other one the start found stale: its tables were just dropped."""
    started = []
    try:
        for store in platform.stores.values():
            await store.start()
            started.append(store)
        await platform.read_models.start()
        for name, why in platform.read_models.rebuilt_on_start.items():
            print(f"{name}: {why}", file=sys.stderr)
            if runners[name] not in chosen:
                chosen.append(runners[name])
        for runner in chosen:
            upstreams = runner.projection.upstreams
            heads = {u: await platform.stores[u].max_position() for u in upstreams}
            progress = RebuildProgress(sys.stderr, runner.projection.name, heads)
            await runner.rebuild(platform.stores, progress.update)
            progress.finish()
    finally:
        await platform.read_models.close()
        for store in started:
            await store.close()
        platform.keyring.close()
