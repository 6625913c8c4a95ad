"""A reference late-interest calculator for the payment plan's tests (domain.md §3): the Riksbank
reference rate of each half-year + 8 points, actual days / 365, the sum rounded once, half up, to
whole öre. Deliberately plain and day by day, a test oracle, so that the plan's own arithmetic is
checked against an independent computation (the app's calculator is
``fordra.dunning.domain.interest.StatutoryInterest``, tested in tests/dunning/test_interest.py)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TypeVar

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine, VatBreakdown
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.payment_plans import PaymentPlanDeps, plan_invoice_reactions
from fordra.dunning.domain.payment_plan import PLAN_INTERNAL_EVENTS
from fordra.dunning.domain.plan_document import Creditor
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.dated import Dated
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import make_ocr
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.sqlite_eventstore import SqliteEventStore

E = TypeVar("E", bound=Event)

# domain.md §3: the reference rate per half-year.
REFERENCE_RATES: Dated[Decimal] = Dated.table(
    ("2024-01-01", Decimal("4.00")),
    ("2024-07-01", Decimal("4.00")),
    ("2025-01-01", Decimal("2.50")),
    ("2025-07-01", Decimal("2.00")),
    ("2026-01-01", Decimal("2.00")),
)
MARGIN = Decimal("8")


class ReferenceInterest:
    """``fordra.dunning.domain.payment_plan.InterestCalculator`` by day-by-day summation."""

    def __init__(self, rates: Dated[Decimal] = REFERENCE_RATES) -> None:
        self.rates = rates

    def interest_ore(self, capital_ore: int, from_date: date, to_date: date) -> int:
        total = Decimal(0)
        day = from_date
        while day < to_date:
            day += timedelta(days=1)
            total += Decimal(capital_ore) * (self.rates.at(day) + MARGIN) / Decimal(36_500)
        return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def rate_percent(self, on: date) -> str:
        return f"{self.rates.at(on) + MARGIN:.2f}"


async def reference_interest() -> ReferenceInterest:
    """The plans' interest source (the app's reads the rate table each time)."""
    return ReferenceInterest()


# -- payment plans on a MemoryEventStore ----------------------------------------------------------

TENANT = "svenljunga"
CREDITOR = Creditor(
    name="Svenljunga kommun",
    orgnr="212000-1561",
    address_lines=("Ekonomiavdelningen", "512 80 Svenljunga"),
    bankgiro="123-4567",
)


@dataclass
class PlansOnMemory:
    """Dunning's store (in memory or SQLite) with the plans' per-invoice process manager: other
    contexts' public events are delivered to it as a bus would (each upstream's log in order)."""

    store: EventStore
    registry: EventRegistry
    clock: ManualClock
    deps: PaymentPlanDeps
    runner: ProcessManagerRunner
    positions: dict[str, int] = field(default_factory=dict)
    _serials: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    async def start(cls, today: date, sqlite: Path | None = None) -> PlansOnMemory:
        """On a ``MemoryEventStore``, or on a ``SqliteEventStore`` at ``sqlite``."""
        registry = EventRegistry()
        registry.register_all(all_contracts())
        registry.register_all(PLAN_INTERNAL_EVENTS)
        codec = EnvelopeCodec("dunning", PersonalDataSealer(InMemoryKeyRing()))
        store: EventStore = (
            MemoryEventStore("dunning", codec)
            if sqlite is None
            else SqliteEventStore(sqlite, "dunning", codec)
        )
        await store.start()
        clock = ManualClock(today)
        deps = PaymentPlanDeps(
            store=store,
            registry=registry,
            clock=clock,
            interest=reference_interest,
            creditor=CREDITOR,
        )
        runner = ProcessManagerRunner(
            "dunning-plan-invoices", store, plan_invoice_reactions(registry)
        )
        return cls(store, registry, clock, deps, runner)

    def meta(self, actor: str = "test") -> Metadata:
        return Metadata(TENANT, actor, str(uuid.uuid4()))

    def principal(self, role: Role = Role.CASE_OFFICER) -> Principal:
        return Principal(subject="officer", role=role, tenant=TENANT)

    async def deliver(self, upstream: str, *events: Event) -> None:
        """``events`` of ``upstream``'s log, delivered in one batch."""
        batch = []
        for event in events:
            position = self.positions.get(upstream, 0) + 1
            self.positions[upstream] = position
            env = self.registry.envelope(
                event,
                context=upstream,
                stream_id=f"{upstream}-{uuid.uuid4()}",
                version=1,
                metadata=self.meta("upstream"),
                occurred_at=self.clock.now(),
            )
            batch.append(env.stored(position, self.clock.now()))
        await self.runner.handle(upstream, batch)

    async def invoice(
        self,
        customer_id: str,
        capital_ore: int,
        *,
        due: date,
        service: str = "water",
        invoice_id: str | None = None,
    ) -> str:
        serial = next(self._serials)
        invoice_id = invoice_id or f"inv-{serial}"
        line = InvoiceLine(
            description="Vatten och avlopp, mars–april 2026",
            service_type=service,  # type: ignore[arg-type]
            quantity=Decimal(1),
            unit_price_ore=capital_ore,
            vat_rate=0,
            net_ore=capital_ore,
        )
        await self.deliver(
            "invoicing",
            InvoiceIssued(
                invoice_id=invoice_id,
                customer_id=customer_id,
                serial_number=serial,
                invoice_number=f"2026-{serial:06d}",
                ocr=make_ocr(str(serial), length_digit=True),
                department="va",
                service_type=service,  # type: ignore[arg-type]
                invoice_date=due - timedelta(days=30),
                due_date=due,
                payment_terms_days=30,
                lines=(line,),
                vat=(VatBreakdown(vat_rate=0, net_ore=capital_ore, vat_ore=0),),
                net_ore=capital_ore,
                vat_ore=0,
                total_ore=capital_ore,
            ),
        )
        return invoice_id

    async def pay(self, invoice_id: str, customer_id: str, amount_ore: int) -> None:
        await self.deliver(
            "payments",
            PaymentAllocated(
                payment_id=str(uuid.uuid4()),
                invoice_id=invoice_id,
                customer_id=customer_id,
                component="capital",
                service_type="water",
                amount_ore=amount_ore,
            ),
        )

    async def log(self) -> list[Event]:
        envelopes = await self.store.read_log(0, limit=100_000)
        return [self.registry.load(e) for e in envelopes]

    async def events(self, model: type[E]) -> list[E]:
        return [e for e in await self.log() if isinstance(e, model)]
