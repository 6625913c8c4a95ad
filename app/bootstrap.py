"""The one place where everything is wired (cosmicpython's bootstrap): stores, bus, projections,
use cases, HTTP routers. Nothing else creates an engine, reads settings or starts a task."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from fordra.app.auth import InstanceSecrets, TokenService
from fordra.app.settings import Settings
from fordra.contracts import all_contracts
from fordra.invoicing.application.handlers import InvoicingDeps
from fordra.invoicing.domain.events import INTERNAL_EVENTS as INVOICING_INTERNAL
from fordra.kernel.bus import InProcessBus
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock, ManualClock, SystemClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.personal_data import PersonalDataSealer, SqliteKeyRing
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.kernel.scheduler import DailyScheduler
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from fordra.kernel.telemetry import Telemetry, setup_telemetry
from fordra.projections.application.customer_ledger import CustomerLedgerProjection

log = logging.getLogger(__name__)

# The bounded contexts that own an event store (the projections context only reads).
CONTEXTS: tuple[str, ...] = (
    "invoicing",
    "payments",
    "dunning",
    "agency-gateway",
    "utility-disconnect",
)


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register_all(all_contracts())
    registry.register_all(INVOICING_INTERNAL)
    return registry


def build_clock(settings: Settings, today: date | None) -> BusinessClock:
    if settings.clock == "manual":
        return ManualClock(today or SystemClock().today())
    return SystemClock()


@dataclass
class Platform:
    """A running embedded Fordra: every context, the projections and what the HTTP app needs."""

    settings: Settings
    clock: BusinessClock
    calendar: WorkingDayCalendar
    registry: EventRegistry
    stores: dict[str, EventStore]
    read_models: ReadModelDatabase
    bus: InProcessBus
    ledger: CustomerLedgerProjection
    runners: list[ProjectionRunner]
    secrets: InstanceSecrets
    tokens: TokenService
    telemetry: Telemetry
    scheduler: DailyScheduler
    invoicing: InvoicingDeps
    keyring: SqliteKeyRing
    started: bool = field(default=False)

    async def start(self) -> None:
        for store in self.stores.values():
            await store.start()
        await self.read_models.start()
        await self.bus.start()
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        await self.bus.stop()
        await self.read_models.close()
        for store in self.stores.values():
            await store.close()
        self.keyring.close()
        self.started = False

    async def settle(self) -> None:
        await self.bus.settle(self.settings.settle_timeout_seconds)


def build_embedded(
    settings: Settings, *, today: date | None = None, telemetry: Telemetry | None = None
) -> Platform:
    """Wire the embedded engine: SQLite files under ``settings.data_dir`` and the in-process bus."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    secrets = InstanceSecrets.load_or_create(data)
    keyring = SqliteKeyRing(data / "keys.sqlite")
    sealer = PersonalDataSealer(keyring)
    stores: dict[str, EventStore] = {
        name: SqliteEventStore(data / f"{name}.sqlite", name, EnvelopeCodec(name, sealer))
        for name in CONTEXTS
    }
    read_models = ReadModelDatabase(f"sqlite+aiosqlite:///{data / 'projections.sqlite'}")
    ledger = CustomerLedgerProjection()
    runners = [ProjectionRunner(ledger, read_models)]
    bus = InProcessBus(stores)
    for runner in runners:
        bus.subscribe(runner, *runner.projection.upstreams)
    clock = build_clock(settings, today)
    calendar = WorkingDayCalendar(
        extra_non_working=frozenset(settings.calendar.extra_non_working_days)
    )
    registry = build_registry()
    tel = telemetry or setup_telemetry("fordra")

    async def settle() -> None:
        await bus.settle(settings.settle_timeout_seconds)

    return Platform(
        settings=settings,
        clock=clock,
        calendar=calendar,
        registry=registry,
        stores=stores,
        read_models=read_models,
        bus=bus,
        ledger=ledger,
        runners=runners,
        secrets=secrets,
        tokens=TokenService(secrets, settings.municipality),
        telemetry=tel,
        scheduler=DailyScheduler(settle),
        invoicing=InvoicingDeps(
            store=stores["invoicing"],
            registry=registry,
            clock=clock,
            calendar=calendar,
            settings=settings.invoicing,
            pseudonym=secrets.pseudonym,
        ),
        keyring=keyring,
    )
