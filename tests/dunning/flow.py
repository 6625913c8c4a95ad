"""Dunning's use cases without HTTP or a bus: the upstream contexts' public events appended to
stores of their own (``MemoryEventStore``), dunning's claims read model in an SQLite file, fed by
the same ``ProjectionRunner`` the platform uses, one upstream log at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine, VatBreakdown
from fordra.dunning.application.claims import DunningClaimsProjection, read_claim
from fordra.dunning.application.daily_run import DunningDeps, RunResult, daily_run
from fordra.dunning.application.interest_charges import interest_charge_reactions
from fordra.dunning.domain.claim import Claim
from fordra.dunning.domain.daily_run import ServiceRules
from fordra.dunning.domain.events import INTERNAL_EVENTS, DunningProposed
from fordra.dunning.domain.interest import InterestSettings
from fordra.dunning.domain.policy import DunningPolicy
from fordra.dunning.domain.policy_events import POLICY_EVENTS, POLICY_STREAM, DunningPolicySet
from fordra.dunning.domain.rate_events import INTEREST_EVENTS
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import make_ocr
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase

TENANT = "svenljunga"
E = TypeVar("E", bound=Event)
OFFICER = Principal(subject="officer", role=Role.CASE_OFFICER, tenant=TENANT)
OPS = Principal(subject="ops", role=Role.OPS_LEAD, tenant=TENANT)


def meta() -> Metadata:
    return Metadata(TENANT, "test", str(uuid.uuid4()))


def memory_store(context: str, keys: InMemoryKeyRing) -> MemoryEventStore:
    return MemoryEventStore(context, EnvelopeCodec(context, PersonalDataSealer(keys)))


@dataclass
class DunningOnMemory:
    registry: EventRegistry
    clock: ManualClock
    stores: dict[str, MemoryEventStore]
    db: ReadModelDatabase
    runner: ProjectionRunner
    deps: DunningDeps
    interest: ProcessManagerRunner
    serial: int = 0

    @classmethod
    async def start(
        cls,
        tmp_path: Path,
        today: date,
        *,
        settings: DunningSettings | None = None,
        policies: Sequence[DunningPolicy] = (),
        service_rules: ServiceRules | None = None,
        file: str = "read-models.sqlite",
    ) -> DunningOnMemory:
        registry = EventRegistry()
        registry.register_all(all_contracts())
        registry.register_all(INTERNAL_EVENTS)
        registry.register_all(POLICY_EVENTS)
        registry.register_all(INTEREST_EVENTS)
        keys = InMemoryKeyRing()
        stores = {c: memory_store(c, keys) for c in ("invoicing", "payments", "dunning")}
        for store in stores.values():
            await store.start()
        db = ReadModelDatabase(f"sqlite+aiosqlite:///{tmp_path / file}")
        projection = DunningClaimsProjection(registry)
        runner = ProjectionRunner(projection, db)
        await db.start()
        clock = ManualClock(today)
        deps = DunningDeps(
            store=stores["dunning"],
            registry=registry,
            clock=clock,
            calendar=WorkingDayCalendar(),
            settings=settings or DunningSettings(),
            read_models=db,
            claims=projection,
            tenant=TENANT,
            service_rules=service_rules or ServiceRules(),
        )
        # Late interest's process manager, as the bootstrap subscribes it (the letters' interest).
        interest = ProcessManagerRunner(
            "dunning-interest",
            stores["dunning"],
            interest_charge_reactions(registry, InterestSettings()),
        )
        started = cls(registry, clock, stores, db, runner, deps, interest)
        if policies:
            # The policy book as an ops lead set it (its stream in dunning's store).
            await started.publish(
                "dunning", POLICY_STREAM, *(DunningPolicySet.of(p) for p in policies)
            )
        return started

    async def stop(self) -> None:
        await self.db.close()

    # -- given -----------------------------------------------------------------------------------

    async def publish(self, context: str, stream: str, *events: Event) -> None:
        """Append ``events`` to ``context``'s store, as that context would, and project them."""
        store = self.stores[context]
        version = await store.stream_version(stream)
        envs = self.registry.envelopes(
            list(events),
            context=context,
            stream_id=stream,
            after_version=version,
            metadata=meta(),
            occurred_at=self.clock.now(),
        )
        await store.append([StreamAppend(stream, version, envs)])
        await self.project()

    async def project(self) -> None:
        """Deliver every upstream's log to late interest's process manager and the claims
        projection, as the bus does."""
        for context in ("invoicing", "payments"):
            after = await self.interest.position(context)
            log = await self.stores[context].read_log(after, limit=100_000)
            if log:
                await self.interest.handle(context, log)
        for context, store in self.stores.items():
            after = await self.runner.position(context)
            log = await store.read_log(after, limit=100_000)
            if log:
                await self.runner.handle(context, log)

    def invoice(
        self,
        customer_id: str,
        total_ore: int,
        *,
        due: date,
        service: str = "premises_rent",
        invoice_id: str | None = None,
    ) -> InvoiceIssued:
        self.serial += 1
        return InvoiceIssued(
            invoice_id=invoice_id or f"inv-{self.serial}",
            customer_id=customer_id,
            serial_number=self.serial,
            invoice_number=f"{self.serial:08d}",
            ocr=make_ocr(self.serial, length_digit=True),
            department="dept",
            service_type=service,  # type: ignore[arg-type]
            invoice_date=due - timedelta(days=30),
            due_date=due,
            payment_terms_days=30,
            lines=(
                InvoiceLine(
                    description="Lokalhyra",
                    service_type=service,  # type: ignore[arg-type]
                    quantity=Decimal(1),
                    unit_price_ore=total_ore,
                    vat_rate=0,
                    net_ore=total_ore,
                ),
            ),
            vat=(VatBreakdown(vat_rate=0, net_ore=total_ore, vat_ore=0),),
            net_ore=total_ore,
            vat_ore=0,
            total_ore=total_ore,
        )

    async def issue(self, customer_id: str, total_ore: int, *, due: date, **extra: Any) -> str:
        issued = self.invoice(customer_id, total_ore, due=due, **extra)
        await self.publish("invoicing", f"invoice-{issued.invoice_id}", issued)
        return issued.invoice_id

    # -- when ------------------------------------------------------------------------------------

    async def run(self, day: date) -> RunResult:
        self.clock.set_today(day)
        outcome = await daily_run(day, self.deps, meta())
        await self.project()
        return outcome.response

    async def run_through(self, last: date) -> list[DunningProposed]:
        """Run every working day from tomorrow through ``last``; answer what was proposed."""
        before = await self.proposals()
        day = self.clock.today()
        while day < last:
            day += timedelta(days=1)
            self.clock.set_today(day)
            if self.deps.calendar.is_working_day(day):
                await self.run(day)
        known = {p.proposal_id for p in before}
        return [p for p in await self.proposals() if p.proposal_id not in known]

    # -- then ------------------------------------------------------------------------------------

    async def proposals(self) -> list[DunningProposed]:
        store = self.stores["dunning"]
        return [
            e
            for env in await store.read_log(0, limit=100_000)
            if isinstance(e := self.registry.load(env), DunningProposed)
        ]

    async def events(self, stream: str) -> list[Event]:
        store = self.stores["dunning"]
        return [self.registry.load(e) for e in await store.read_stream(stream)]

    async def claim(self, invoice_id: str) -> Claim:
        async with self.db.engine.connect() as conn:
            found = await read_claim(conn, self.deps.claims, invoice_id)
        assert found is not None
        return found
