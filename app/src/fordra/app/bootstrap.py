"""The one place where everything is wired (cosmicpython's bootstrap): stores, bus, projections,
use cases, HTTP routers. Nothing else creates an engine, reads settings or starts a task.

Two engines, one domain code:
- embedded: an SQLite file per context, the in-process bus, everything in one process;
- distributed: a PostgreSQL schema per context, an outbox relay per context to Kafka, consumer
  groups for the projections, and one process per service (``fordra serve NAME``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from fordra.agency_gateway.adapters.agencies import agency_adapters
from fordra.agency_gateway.application.cases import AgencyCasesProjection, handover_reactions
from fordra.agency_gateway.application.debtors import debtor_reactions
from fordra.agency_gateway.application.deps import AgencyDeps
from fordra.agency_gateway.application.outbound import (
    OUTBOUND_CONSUMER,
    OutboundDelivery,
    outbound_reactions,
)
from fordra.agency_gateway.application.write_offs import write_off_reactions
from fordra.agency_gateway.domain.case import CASE_EVENTS
from fordra.agency_gateway.domain.claim import CLAIM_EVENTS
from fordra.agency_gateway.domain.debtors import DEBTOR_EVENTS
from fordra.agency_gateway.domain.outbound import OUTBOUND_EVENTS
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.agency_gateway.domain.webhook import WEBHOOK_EVENTS
from fordra.app.auth import InstanceSecrets, TokenService
from fordra.app.settings import Settings
from fordra.contracts import all_contracts
from fordra.dunning.application.claims import DunningClaimsProjection
from fordra.dunning.application.daily_run import DunningDeps, scheduled_run
from fordra.dunning.application.installments import installments_job
from fordra.dunning.application.interest_charges import interest_charge_reactions
from fordra.dunning.application.letters import LetterDeps
from fordra.dunning.application.payment_plans import (
    PaymentPlanDeps,
    plan_creditor,
    plan_invoice_reactions,
)
from fordra.dunning.application.policies import PoliciesDeps
from fordra.dunning.application.recipients import recipient_reactions
from fordra.dunning.application.reference_rates import statutory_interest
from fordra.dunning.domain.childcare import termination_warning_rule
from fordra.dunning.domain.daily_run import ServiceRules
from fordra.dunning.domain.events import INTERNAL_EVENTS as DUNNING_INTERNAL
from fordra.dunning.domain.interest import InterestSettings, StatutoryInterest
from fordra.dunning.domain.letters import LETTER_EVENTS, Creditor
from fordra.dunning.domain.payment_plan import PLAN_INTERNAL_EVENTS
from fordra.dunning.domain.policy_events import POLICY_EVENTS as DUNNING_POLICIES
from fordra.dunning.domain.rate_events import INTEREST_EVENTS as DUNNING_INTEREST
from fordra.dunning.domain.recipients import RECIPIENT_EVENTS
from fordra.invoicing.application.billing_run import run_billing
from fordra.invoicing.application.charge_register import ChargeRegister, ChargeRegisterProjection
from fordra.invoicing.application.handlers import InvoicingDeps
from fordra.invoicing.application.numbering import InvoiceNumberBlocks
from fordra.invoicing.application.reactions import payment_reactions
from fordra.invoicing.application.recurring_charges import RecurringDeps
from fordra.invoicing.domain.events import INTERNAL_EVENTS as INVOICING_INTERNAL
from fordra.invoicing.domain.recurring_charge import RECURRING_EVENTS
from fordra.kernel.bus import Bus
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock, ManualClock, SystemClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.ids import new_id
from fordra.kernel.inprocess_bus import InProcessBus
from fordra.kernel.kafka_bus import KafkaBus, TrackingSettle
from fordra.kernel.kafka_relay import OutboxRelay
from fordra.kernel.parking import ParkedEvent, ParkedEvents, Replayable, replay_parked
from fordra.kernel.personal_data import PersonalDataSealer, SqliteKeyRing
from fordra.kernel.postgres_eventstore import PostgresEventStore
from fordra.kernel.private_files import private_dir, private_file
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.projection import Consumer, Projection, ProjectionRunner, ReadModelDatabase
from fordra.kernel.scheduler import DailyScheduler
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from fordra.kernel.telemetry import Telemetry, setup_telemetry
from fordra.payments.adapters.detect import parse_bank_file
from fordra.payments.adapters.file_archive import FilesystemArchive
from fordra.payments.application.agency_payments import agency_reactions
from fordra.payments.application.booking import PaymentsDeps
from fordra.payments.application.receivables import receivable_reactions
from fordra.payments.domain.events import INTERNAL_EVENTS as PAYMENTS_INTERNAL
from fordra.projections.application.case_register import (
    CaseRegisterDeps,
    CaseRegisterProjection,
    raised_case_reactions,
)
from fordra.projections.application.correction_requests import CorrectionRequestsProjection
from fordra.projections.application.customer_ledger import (
    CustomerLedgerProjection,
    department_has_invoiced,
)
from fordra.projections.application.kpis import KpiProjection
from fordra.projections.application.postings import PostingsProjection
from fordra.projections.application.unmatched_payments import UnmatchedPaymentsProjection
from fordra.projections.domain.case_register import CASE_REGISTER_EVENTS
from fordra.projections.domain.service_levels import ServiceLevelSettings
from fordra.utility_disconnect.application.automatic_opening import automatic_opening_reactions
from fordra.utility_disconnect.application.customers import customer_reactions
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.electricity_claims import SupplyPointClaimsProjection
from fordra.utility_disconnect.application.letters import DisconnectionLetterDeps
from fordra.utility_disconnect.application.social_services import SocialServicesQueueProjection
from fordra.utility_disconnect.domain.case_index import CASE_INDEX_EVENTS
from fordra.utility_disconnect.domain.customers import CUSTOMER_EVENTS
from fordra.utility_disconnect.domain.letter_document import LETTER_DOCUMENT_EVENTS, LetterSender
from fordra.utility_disconnect.domain.letters import LETTER_EVENTS as DISCONNECTION_LETTER_EVENTS
from fordra.utility_disconnect.domain.procedure import PROCEDURE_EVENTS
from fordra.utility_disconnect.domain.social_services import SOCIAL_SERVICES_EVENTS
from fordra.utility_disconnect.domain.water import WATER_EVENTS

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Projection)

# The bounded contexts that own an event store (the projections context only reads).
CONTEXTS: tuple[str, ...] = (
    "invoicing",
    "payments",
    "dunning",
    "agency-gateway",
    "utility-disconnect",
)
# What `fordra serve NAME` runs: a context's relay (and later its consumers), the projections,
# or the HTTP API.
SERVICES: tuple[str, ...] = (*CONTEXTS, "projections", "api")
# The case register's own store (issue 17): written by the API and by the register's process
# manager, its relay run by `fordra serve projections`, the service it belongs to.
CASE_REGISTER = "cases"
STORES: tuple[str, ...] = (*CONTEXTS, CASE_REGISTER)


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register_all(all_contracts())
    registry.register_all(INVOICING_INTERNAL)
    registry.register_all(PAYMENTS_INTERNAL)
    registry.register_all(DUNNING_INTERNAL)
    registry.register_all(DUNNING_INTEREST)
    registry.register_all(DUNNING_POLICIES)
    registry.register_all(RECIPIENT_EVENTS)
    registry.register_all(LETTER_EVENTS)
    registry.register_all(PLAN_INTERNAL_EVENTS)
    registry.register_all(RECURRING_EVENTS)
    registry.register_all(OUTBOUND_EVENTS)
    registry.register_all(CASE_EVENTS)
    registry.register_all(WEBHOOK_EVENTS)
    registry.register_all(CLAIM_EVENTS)
    registry.register_all(DEBTOR_EVENTS)
    registry.register_all(PROCEDURE_EVENTS)
    registry.register_all(CASE_INDEX_EVENTS)
    registry.register_all(WATER_EVENTS)
    registry.register_all(CUSTOMER_EVENTS)
    registry.register_all(SOCIAL_SERVICES_EVENTS)
    registry.register_all(DISCONNECTION_LETTER_EVENTS)
    registry.register_all(LETTER_DOCUMENT_EVENTS)
    registry.register_all(CASE_REGISTER_EVENTS)
    return registry


@dataclass(frozen=True, slots=True)
class Subscription:
    """A consumer, the contexts it follows, and the service process that runs it."""

    consumer: Consumer
    upstreams: tuple[str, ...]
    service: str


def _subscriptions(
    stores: dict[str, EventStore],
    registry: EventRegistry,
    runners: list[ProjectionRunner],
    payments: PaymentsDeps,
    dunning_claims: ProjectionRunner,
    *,
    agency_cases: ProjectionRunner,
    agency: AgencySettings,
    supply_point_claims: ProjectionRunner,
    social_services_queue: ProjectionRunner,
    service_levels: ServiceLevelSettings,
    calendar: WorkingDayCalendar,
    settings: Settings,
) -> list[Subscription]:
    """Every reaction of a context to another's events, and every projection: the one table of
    who follows whom."""
    disconnect = _disconnect_deps(
        settings, stores=stores, registry=registry, clock=payments.clock,
        read_models=supply_point_claims.db,
        claims=_projection_of(supply_point_claims, SupplyPointClaimsProjection),
    )  # fmt: skip
    return [
        *(Subscription(r, r.projection.upstreams, "projections") for r in runners),
        # Dunning's claims: its own read model, run by `fordra serve dunning` (domain.md §4).
        Subscription(dunning_claims, dunning_claims.projection.upstreams, "dunning"),
        # Dunning's copy of the customer register, to address its letters (domain.md §2).
        Subscription(
            ProcessManagerRunner(
                "dunning-recipients", stores["dunning"], recipient_reactions(registry)
            ),
            ("invoicing",),
            "dunning",
        ),
        # What a payment plan knows of its invoices, a stream per invoice (domain.md §4).
        Subscription(
            ProcessManagerRunner(
                "dunning-plan-invoices", stores["dunning"], plan_invoice_reactions(registry)
            ),
            ("invoicing", "payments", "dunning"),
            "dunning",
        ),
        Subscription(
            ProcessManagerRunner(
                "payments-receivables",
                stores["payments"],
                receivable_reactions(registry, payments.policy),
            ),
            # Dunning's too: a claim written off is closed for good (issue 15, domain.md §4).
            ("invoicing", "dunning"),
            "payments",
        ),
        Subscription(
            ProcessManagerRunner("payments-agency", stores["payments"], agency_reactions(payments)),
            ("agency-gateway",),
            "payments",
        ),
        Subscription(
            ProcessManagerRunner(
                "invoicing-payments",
                stores["invoicing"],
                payment_reactions(registry),
            ),
            ("payments", "dunning"),
            "invoicing",
        ),
        # A claim dunning hands over begins a case at the agency (issue 15, domain.md §5).
        Subscription(
            ProcessManagerRunner(
                "agency-handovers",
                stores["agency-gateway"],
                # With dunning's write-offs and write-downs of the claims handed over (issue
                # 15): in the consumer that begins the cases, so that each is begun first.
                {
                    **handover_reactions(registry, agency.default_agency),
                    **write_off_reactions(registry),
                },
            ),
            ("dunning",),
            "agency-gateway",
        ),
        # The agency's cases and tasks: the gateway's own read model (issue 15).
        Subscription(agency_cases, agency_cases.projection.upstreams, "agency-gateway"),
        Subscription(
            ProcessManagerRunner(
                "dunning-interest",
                stores["dunning"],
                interest_charge_reactions(registry, InterestSettings()),
            ),
            ("invoicing", "payments"),
            "dunning",
        ),
        # The gateway's copy of the customer register, to name the debtor of a claim (issue 15).
        Subscription(
            ProcessManagerRunner(
                "agency-debtors", stores["agency-gateway"], debtor_reactions(registry)
            ),
            ("invoicing",),
            "agency-gateway",
        ),
        # Claims queued on handover, the invoices' facts, direct payments reported (issue 15).
        Subscription(
            ProcessManagerRunner(
                OUTBOUND_CONSUMER,
                stores["agency-gateway"],
                outbound_reactions(registry, agency),
            ),
            ("invoicing", "dunning", "payments"),
            "agency-gateway",
        ),
        # The claims of each supply point and the customers' kinds, which the materiality
        # assessment reads (issue 16, domain.md §6): the context's own read model.
        Subscription(
            supply_point_claims, supply_point_claims.projection.upstreams, "utility-disconnect"
        ),
        # The social welfare boards' messages (issue 16, ellagen 11:4), and the names they are
        # told: the context's copy of the register's personal part, sealed as invoicing's is.
        Subscription(
            social_services_queue, social_services_queue.projection.upstreams, "utility-disconnect"
        ),
        Subscription(
            ProcessManagerRunner(
                "disconnect-customers", stores["utility-disconnect"], customer_reactions(registry)
            ),
            ("invoicing",),
            "utility-disconnect",
        ),
        # Cases other contexts raise enter the case register (issue 17, domain.md §8).
        Subscription(
            ProcessManagerRunner(
                "case-register",
                stores[CASE_REGISTER],
                raised_case_reactions(registry, service_levels, calendar),
            ),
            ("invoicing", "payments", "dunning", "agency-gateway"),
            "projections",
        ),
        # A claim dunning refers for disconnection opens a case on its own, or is declined and
        # goes to the agency (issue 16, domain.md §6).
        Subscription(
            ProcessManagerRunner(
                "disconnect-automatic-opening",
                stores["utility-disconnect"],
                automatic_opening_reactions(disconnect),
            ),
            ("dunning",),
            "utility-disconnect",
        ),
    ]


def _projection_of(runner: ProjectionRunner, kind: type[P]) -> P:
    """The projection ``runner`` runs, as the ``kind`` it was made with."""
    if not isinstance(runner.projection, kind):
        raise TypeError(f"{runner.name} runs no {kind.__name__}")
    return runner.projection


def _disconnect_deps(
    settings: Settings,
    *,
    stores: dict[str, EventStore],
    registry: EventRegistry,
    clock: BusinessClock,
    read_models: ReadModelDatabase,
    claims: SupplyPointClaimsProjection,
) -> UtilityDisconnectDeps:
    """What utility disconnection's use cases and its process manager receive (issue 16)."""
    return UtilityDisconnectDeps(
        store=stores["utility-disconnect"],
        registry=registry,
        clock=clock,
        settings=settings.utility_disconnect,
        read_models=read_models,
        claims=claims,
        calendar=working_days(settings),
    )


def working_days(settings: Settings) -> WorkingDayCalendar:
    """The one Swedish working-day calendar of the settings (domain.md §8)."""
    return WorkingDayCalendar(extra_non_working=frozenset(settings.calendar.extra_non_working_days))


def build_clock(settings: Settings, today: date | None) -> BusinessClock:
    if settings.clock == "manual":
        return ManualClock(today or SystemClock().today())
    return SystemClock()


@dataclass
class Platform:
    """A wired Fordra: every context, the projections and what the HTTP app needs."""

    engine: str
    settings: Settings
    clock: BusinessClock
    calendar: WorkingDayCalendar
    registry: EventRegistry
    codecs: dict[str, EnvelopeCodec]
    stores: dict[str, EventStore]
    read_models: ReadModelDatabase
    bus: Bus | None
    relays: list[OutboxRelay]
    ledger: CustomerLedgerProjection
    unmatched: UnmatchedPaymentsProjection
    postings: PostingsProjection
    corrections: CorrectionRequestsProjection
    runners: list[ProjectionRunner]
    subscriptions: list[Subscription]
    secrets: InstanceSecrets
    tokens: TokenService
    telemetry: Telemetry
    scheduler: DailyScheduler
    invoicing: InvoicingDeps
    recurring: RecurringDeps
    agency: AgencyDeps
    # The agency's cases and tasks (issue 15, inbound).
    agency_cases: AgencyCasesProjection
    payments: PaymentsDeps
    dunning: DunningDeps
    # Supply points and the materiality assessment (issue 16).
    utility_disconnect: UtilityDisconnectDeps
    social_services_queue: SocialServicesQueueProjection
    # The case register and its service levels (issue 17).
    cases: CaseRegisterDeps
    kpis: KpiProjection
    # The disconnection letters, read at dunning's letters route through the app's port.
    disconnection_letters: DisconnectionLetterDeps
    policies: PoliciesDeps
    letters: LetterDeps
    plans: PaymentPlanDeps
    keyring: SqliteKeyRing
    wait_for_read_models: Callable[[float], Awaitable[None]]
    parked: ParkedEvents
    started: bool = field(default=False)
    # Delivers the agency gateway's queued messages (issue 15): in the embedded engine and in
    # `fordra serve agency-gateway`; None in the other processes.
    agency_delivery: OutboundDelivery | None = None

    async def start(self) -> None:
        for store in self.stores.values():
            await store.start()
        await self.read_models.start()
        if self.bus is not None:
            await self.bus.start()
        for relay in self.relays:
            await relay.start()
        if self.agency_delivery is not None:
            self.agency_delivery.start()
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        if self.agency_delivery is not None:
            await self.agency_delivery.stop()
        for relay in self.relays:
            await relay.stop()
        if self.bus is not None:
            await self.bus.stop()
        await self.read_models.close()
        for store in self.stores.values():
            await store.close()
        self.keyring.close()
        self.started = False

    async def settle(self) -> None:
        """Wait until every projection shows what has been committed (read your own writes)."""
        await self.wait_for_read_models(self.settings.settle_timeout_seconds)

    async def replay_parked(self, parked_id: int) -> tuple[ParkedEvent, bool]:
        """Replay a parked event in its consumer (every process has every consumer and store)."""
        consumers: dict[str, Replayable] = {
            sub.consumer.name: sub.consumer
            for sub in self.subscriptions
            if isinstance(sub.consumer, ProjectionRunner | ProcessManagerRunner)
        }
        return await replay_parked(self.parked, parked_id, consumers, self.stores)


def build_embedded(
    settings: Settings, *, today: date | None = None, telemetry: Telemetry | None = None
) -> Platform:
    """The embedded engine: SQLite files under ``settings.data_dir`` and the in-process bus."""
    data = settings.data_dir
    private_dir(data)
    keyring = SqliteKeyRing(data / "keys.sqlite")
    codecs = _codecs(keyring)
    private_file(data / "projections.sqlite")
    stores: dict[str, EventStore] = {
        name: SqliteEventStore(data / f"{name}.sqlite", name, codecs[name]) for name in STORES
    }
    read_models = ReadModelDatabase(f"sqlite+aiosqlite:///{data / 'projections.sqlite'}")
    registry = build_registry()
    runners = _projections(read_models, registry, settings, keyring)
    payments = _payments_deps(settings, stores, registry, today, keyring)
    subscriptions = _subscriptions(
        stores, registry, runners, payments, _dunning_claims(read_models, registry),
        agency_cases=ProjectionRunner(AgencyCasesProjection(registry), read_models),
        agency=settings.agency,
        supply_point_claims=ProjectionRunner(SupplyPointClaimsProjection(registry), read_models),
        social_services_queue=ProjectionRunner(
            SocialServicesQueueProjection(registry), read_models
        ),
        service_levels=settings.service_levels, calendar=working_days(settings),
        settings=settings,
    )  # fmt: skip
    parked = ParkedEvents(read_models)
    telemetry = telemetry or setup_telemetry("fordra")
    bus = InProcessBus(stores, parking=parked, telemetry=telemetry)
    for sub in subscriptions:
        bus.subscribe(sub.consumer, *sub.upstreams)
    platform = _platform(
        "embedded", settings, today=today, telemetry=telemetry, keyring=keyring, codecs=codecs,
        stores=stores, read_models=read_models, parked=parked, bus=bus, relays=[], runners=runners,
        subscriptions=subscriptions, registry=registry, payments=payments, wait=bus.settle,
    )  # fmt: skip
    platform.agency_delivery = OutboundDelivery(platform.agency, agency_adapters(settings.agency))
    return platform


def build_distributed(
    settings: Settings,
    *,
    services: Iterable[str] = SERVICES,
    today: date | None = None,
    telemetry: Telemetry | None = None,
) -> Platform:
    """The distributed engine, running the given services in this process.

    Every process has every store (the API appends commands; settling reads their heads) but only
    ``fordra serve CONTEXT`` runs that context's relay and its reactions to other contexts (its
    process managers), and only ``projections`` runs the projections; both consume Kafka.
    """
    if not settings.store or not settings.bus:
        raise ValueError("the distributed engine needs --store postgresql+asyncpg://... and --bus")
    unknown = set(services) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
    wanted = set(services)
    bootstrap = kafka_bootstrap(settings.bus)
    data = settings.data_dir
    private_dir(data)
    # Keys stay in a file of their own, shared by the processes of one machine (docs/adr/0001).
    keyring = SqliteKeyRing(data / "keys.sqlite")
    codecs = _codecs(keyring)
    pg_stores = {name: PostgresEventStore(settings.store, name, codecs[name]) for name in STORES}
    stores: dict[str, EventStore] = dict(pg_stores)
    read_models = ReadModelDatabase(settings.store, schema="projections")
    registry = build_registry()
    runners = _projections(read_models, registry, settings, keyring)
    payments = _payments_deps(settings, stores, registry, today, keyring)
    subscriptions = _subscriptions(
        stores, registry, runners, payments, _dunning_claims(read_models, registry),
        agency_cases=ProjectionRunner(AgencyCasesProjection(registry), read_models),
        agency=settings.agency,
        supply_point_claims=ProjectionRunner(SupplyPointClaimsProjection(registry), read_models),
        social_services_queue=ProjectionRunner(
            SocialServicesQueueProjection(registry), read_models
        ),
        service_levels=settings.service_levels, calendar=working_days(settings),
        settings=settings,
    )  # fmt: skip
    parked = ParkedEvents(read_models)
    bus: KafkaBus | None = None
    # One service name per process, so that a trace shows which process handled what.
    telemetry = telemetry or setup_telemetry("fordra-" + "+".join(sorted(wanted)))
    ours = [sub for sub in subscriptions if sub.service in wanted]
    if ours:
        bus = KafkaBus(
            bootstrap,
            codecs,
            stores=stores,
            namespace=settings.kafka_namespace,
            parking=parked,
            telemetry=telemetry,
        )
        for sub in ours:
            bus.subscribe(sub.consumer, *sub.upstreams)
    relays = [
        OutboxRelay(pg_stores[name], codecs[name], bootstrap, namespace=settings.kafka_namespace)
        for name in STORES
        # The case register's relay runs with the projections, the service it belongs to.
        if name in wanted or (name == CASE_REGISTER and "projections" in wanted)
    ]
    settle = TrackingSettle(stores, [(sub.consumer, sub.upstreams) for sub in subscriptions])
    platform = _platform(
        "distributed", settings, today=today, telemetry=telemetry, keyring=keyring,
        codecs=codecs, stores=stores, read_models=read_models, parked=parked, bus=bus,
        relays=relays, runners=runners, subscriptions=subscriptions, registry=registry,
        payments=payments, wait=settle,
    )  # fmt: skip
    if "agency-gateway" in wanted:
        platform.agency_delivery = OutboundDelivery(
            platform.agency, agency_adapters(settings.agency)
        )
    return platform


def kafka_bootstrap(bus_url: str) -> str:
    prefix = "kafka://"
    if not bus_url.startswith(prefix):
        raise ValueError(f"--bus must look like kafka://host:port, not {bus_url!r}")
    return bus_url[len(prefix) :]


def _payments_deps(
    settings: Settings,
    stores: dict[str, EventStore],
    registry: EventRegistry,
    today: date | None,
    keyring: SqliteKeyRing,
) -> PaymentsDeps:
    # The clock is made here, once: every use case of the platform shares it.
    clock = build_clock(settings, today)
    archive = build_archive(settings, keyring, clock)
    return PaymentsDeps(
        store=stores["payments"],
        registry=registry,
        clock=clock,
        policy=settings.payments.allocation,
        archive=archive,
        parse=parse_bank_file,
        max_amount_ore=settings.payments.max_amount_ore,
        rent_refund=settings.payments.rent_refund,
    )


def build_archive(
    settings: Settings, keyring: SqliteKeyRing, clock: BusinessClock
) -> FilesystemArchive:
    """The payment-file archive, each file sealed under its own key in the key ring."""
    return FilesystemArchive(
        settings.data_dir / "payment-files", PersonalDataSealer(keyring), clock
    )


def drop_expired_payment_files(
    archive: FilesystemArchive, settings: Settings, day: date
) -> list[str]:
    """Retention on ``day`` (a daily job of the scheduler, and ``fordra retention``); files an
    older Fordra kept in plain text are sealed first."""
    if sealed := archive.seal_plain_files():
        log.info("sealed %d payment files kept in plain text", len(sealed))
    dropped = archive.drop_through(settings.payments.archive_retention.last_expired_year(day))
    if dropped:
        log.info("retention dropped %d archived payment files", len(dropped))
    return dropped


async def forget_idempotency_keys(
    stores: dict[str, EventStore], settings: Settings, now: datetime
) -> int:
    """Every context's idempotency records older than ``idempotency_key_days`` are forgotten (a
    daily job); content claims stay (EventStore.forget_idempotency_before). ``now`` is the
    business clock's: with the system clock it is the time the stores record."""
    cutoff = now - timedelta(days=settings.idempotency_key_days.at(now.date()))
    forgotten = 0
    for store in stores.values():
        forgotten += await store.forget_idempotency_before(cutoff)
    if forgotten:
        log.info("forgot %d idempotency records older than %s", forgotten, cutoff.isoformat())
    return forgotten


async def forget_idempotency_keys_offline(
    settings: Settings, keyring: SqliteKeyRing, now: datetime
) -> int:
    """``fordra retention``'s part for a system clock (whose days no scheduler walks): open each
    context's store, PostgreSQL when ``settings.store`` names one, else the data directory's
    SQLite files, and forget the expired records as the daily job does."""
    codecs = _codecs(keyring)
    stores: dict[str, EventStore] = {
        name: PostgresEventStore(settings.store, name, codecs[name])
        if settings.store
        else SqliteEventStore(settings.data_dir / f"{name}.sqlite", name, codecs[name])
        for name in STORES
    }
    started: list[EventStore] = []
    try:
        for store in stores.values():
            await store.start()
            started.append(store)
        return await forget_idempotency_keys(stores, settings, now)
    finally:
        for store in started:
            await store.close()


async def _department_has_invoiced(
    db: ReadModelDatabase, ledger: CustomerLedgerProjection, customer_id: str, department: str
) -> bool:
    """Invoicing asks the ledger read model which customers a department has claims on."""
    async with db.engine.connect() as conn:
        return await department_has_invoiced(conn, ledger, customer_id, department)


def _codecs(keyring: SqliteKeyRing) -> dict[str, EnvelopeCodec]:
    sealer = PersonalDataSealer(keyring)
    return {name: EnvelopeCodec(name, sealer) for name in STORES}


def _projections(
    read_models: ReadModelDatabase,
    registry: EventRegistry,
    settings: Settings,
    keyring: SqliteKeyRing,
) -> list[ProjectionRunner]:
    return [
        ProjectionRunner(CustomerLedgerProjection(registry), read_models),
        ProjectionRunner(
            UnmatchedPaymentsProjection(registry, PersonalDataSealer(keyring)), read_models
        ),
        ProjectionRunner(PostingsProjection(registry, settings.accounting), read_models),
        ProjectionRunner(CorrectionRequestsProjection(registry), read_models),
        # The case register's cases and their service levels (issue 17).
        ProjectionRunner(CaseRegisterProjection(registry), read_models),
        # The key figures of seed 004 (issue 17).
        ProjectionRunner(KpiProjection(registry), read_models),
        # Invoicing's register of recurring charges, which the billing run reads (issue 14).
        ProjectionRunner(ChargeRegisterProjection(registry, working_days(settings)), read_models),
    ]


def _dunning_claims(read_models: ReadModelDatabase, registry: EventRegistry) -> ProjectionRunner:
    """Dunning's claims read model, in dunning's own tables of the read-model database."""
    return ProjectionRunner(DunningClaimsProjection(registry), read_models)


def _dunning_deps(
    settings: Settings,
    *,
    stores: dict[str, EventStore],
    registry: EventRegistry,
    clock: BusinessClock,
    calendar: WorkingDayCalendar,
    read_models: ReadModelDatabase,
    subscriptions: list[Subscription],
) -> DunningDeps:
    claims = next(
        sub.consumer.projection
        for sub in subscriptions
        if isinstance(sub.consumer, ProjectionRunner)
        and isinstance(sub.consumer.projection, DunningClaimsProjection)
    )
    assert isinstance(claims, DunningClaimsProjection)
    return DunningDeps(
        store=stores["dunning"],
        registry=registry,
        clock=clock,
        calendar=calendar,
        settings=settings.dunning,
        read_models=read_models,
        claims=claims,
        tenant=settings.municipality,
        # Childcare's rule: the letter about the risk of termination (domain/childcare.py). The
        # childcare report and the music-school flags are the run's own (application/daily_run).
        service_rules=ServiceRules(
            {"childcare": termination_warning_rule(settings.dunning)},
        ),
    )


def _plan_deps(settings: Settings, dunning: DunningDeps, letters: LetterDeps) -> PaymentPlanDeps:
    """The payment plans' use cases: the late interest of a plan is the one rule over the rate
    table as it stands when the plan is drawn up (admin-added half-years included)."""

    async def interest() -> StatutoryInterest:
        return await statutory_interest(dunning.store, dunning.registry, dunning.interest)

    return PaymentPlanDeps(
        store=dunning.store,
        registry=dunning.registry,
        clock=dunning.clock,
        interest=interest,
        creditor=plan_creditor(letters.creditor),
        settings=settings.dunning,
    )


def creditor(settings: Settings) -> Creditor:
    """The creditor of dunning's letters and plans: invoicing's issuer, so that a letter names
    what the invoice named."""
    return Creditor.from_issuer_fields(settings.invoicing.issuer.model_dump())


def disconnection_letter_sender(settings: Settings) -> LetterSender:
    """The sender of the disconnection letters: invoicing's issuer, as for dunning's letters, so
    that a letter names the bankgiro and address of the invoices it demands."""
    return LetterSender.from_issuer_fields(settings.invoicing.issuer.model_dump())


def _projection(runners: list[ProjectionRunner], kind: type[P]) -> P:
    for runner in runners:
        if isinstance(runner.projection, kind):
            return runner.projection
    raise LookupError(kind.__name__)


def _subscribed(subscriptions: list[Subscription], kind: type[P]) -> P:
    """The projection of ``kind`` that a context's own subscription runs."""
    for sub in subscriptions:
        if isinstance(sub.consumer, ProjectionRunner) and isinstance(sub.consumer.projection, kind):
            return sub.consumer.projection
    raise LookupError(kind.__name__)


def _platform(
    engine: str,
    settings: Settings,
    *,
    today: date | None,
    telemetry: Telemetry | None,
    keyring: SqliteKeyRing,
    codecs: dict[str, EnvelopeCodec],
    stores: dict[str, EventStore],
    read_models: ReadModelDatabase,
    parked: ParkedEvents,
    bus: Bus | None,
    relays: list[OutboxRelay],
    runners: list[ProjectionRunner],
    subscriptions: list[Subscription],
    registry: EventRegistry,
    payments: PaymentsDeps,
    wait: Callable[[float], Awaitable[None]],
) -> Platform:
    secrets = InstanceSecrets.load_or_create(settings.data_dir)
    ledger = _projection(runners, CustomerLedgerProjection)
    clock = payments.clock
    calendar = working_days(settings)

    async def settle() -> None:
        await wait(settings.settle_timeout_seconds)

    telemetry = telemetry or setup_telemetry("fordra")
    scheduler = DailyScheduler(settle, telemetry=telemetry)
    archive = payments.archive
    if isinstance(archive, FilesystemArchive):

        async def retention(day: date) -> None:
            drop_expired_payment_files(archive, settings, day)

        scheduler.register("payment-file retention", retention)

    async def idempotency_expiry(day: date) -> None:
        await forget_idempotency_keys(stores, settings, clock.now())

    scheduler.register("idempotency-key expiry", idempotency_expiry)

    invoicing = InvoicingDeps(
        store=stores["invoicing"],
        registry=registry,
        clock=clock,
        calendar=calendar,
        settings=settings.invoicing,
        pseudonym=secrets.pseudonym,
        # This process's series of invoice numbers (blocks on the shared counter).
        serials=InvoiceNumberBlocks(
            stores["invoicing"], registry, settings.invoicing, clock
        ).series,
        invoiced_by=functools.partial(_department_has_invoiced, read_models, ledger),
    )
    recurring = RecurringDeps(
        invoicing=invoicing,
        register=ChargeRegister(_projection(runners, ChargeRegisterProjection), read_models),
    )

    async def billing_run(day: date) -> None:
        # Notices go out on working days: one whose day fell on a weekend (a "first_day" charge)
        # goes out on the next working day's run.
        if not calendar.is_working_day(day):
            return
        meta = Metadata(
            tenant=settings.municipality, actor="system:billing-run", correlation_id=new_id()
        )
        await run_billing(day, recurring, meta)

    # Every day the clock passes: the recurring charges' notices whose day has come (issue 14).
    scheduler.register("billing run", billing_run)

    dunning = _dunning_deps(
        settings,
        stores=stores,
        registry=registry,
        clock=clock,
        calendar=calendar,
        read_models=read_models,
        subscriptions=subscriptions,
    )

    letters = LetterDeps(
        store=stores["dunning"], registry=registry, clock=clock, creditor=creditor(settings)
    )
    plans = _plan_deps(settings, dunning, letters)
    # Before the day's run: an installment found missed today is proposed for its reminder today.
    scheduler.register("payment-plan installments", installments_job(plans, settings.municipality))

    async def dunning_run(day: date) -> None:
        await scheduled_run(day, dunning)

    # Every business day the clock passes: the day's dunning proposals (domain.md §4).
    scheduler.register("dunning daily run", dunning_run)

    disconnect = _disconnect_deps(
        settings, stores=stores, registry=registry, clock=clock, read_models=read_models,
        claims=_subscribed(subscriptions, SupplyPointClaimsProjection),
    )  # fmt: skip

    return Platform(
        engine=engine,
        settings=settings,
        clock=clock,
        calendar=calendar,
        registry=registry,
        codecs=codecs,
        stores=stores,
        read_models=read_models,
        bus=bus,
        relays=relays,
        ledger=ledger,
        unmatched=_projection(runners, UnmatchedPaymentsProjection),
        postings=_projection(runners, PostingsProjection),
        corrections=_projection(runners, CorrectionRequestsProjection),
        runners=runners,
        subscriptions=subscriptions,
        secrets=secrets,
        tokens=TokenService(secrets, settings.municipality, settings.tokens),
        telemetry=telemetry,
        scheduler=scheduler,
        invoicing=invoicing,
        recurring=recurring,
        agency=AgencyDeps(
            store=stores["agency-gateway"],
            registry=registry,
            clock=clock,
            calendar=calendar,
            settings=settings.agency,
            read_models=read_models,
            tenant=settings.municipality,
        ),
        agency_cases=_subscribed(subscriptions, AgencyCasesProjection),
        payments=payments,
        dunning=dunning,
        utility_disconnect=disconnect,
        social_services_queue=_subscribed(subscriptions, SocialServicesQueueProjection),
        cases=CaseRegisterDeps(
            store=stores[CASE_REGISTER],
            registry=registry,
            clock=clock,
            calendar=calendar,
            settings=settings.service_levels,
            read_models=read_models,
            projection=_projection(runners, CaseRegisterProjection),
        ),
        kpis=_projection(runners, KpiProjection),
        disconnection_letters=DisconnectionLetterDeps(
            context=disconnect, sender=disconnection_letter_sender(settings)
        ),
        policies=dunning.policies,
        letters=letters,
        plans=plans,
        keyring=keyring,
        wait_for_read_models=wait,
        parked=parked,
    )
