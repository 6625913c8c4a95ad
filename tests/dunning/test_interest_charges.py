"""Late interest is charged when the capital is paid (domain.md §3, seed 001), through events:
invoicing's and payments' public events delivered to dunning's process manager over the real
in-memory and SQLite stores, the charge read back from dunning's log, and invoicing's own reaction
putting it on the customer's next invoice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from fordra.contracts import all_contracts
from fordra.contracts.dunning import LateInterestCharged
from fordra.contracts.invoicing import (
    DeferralGranted,
    DueDatePostponed,
    InvoiceIssued,
    LateInterestHeld,
)
from fordra.contracts.payments import Component, PaymentAllocated
from fordra.dunning.application.interest_charges import (
    accrued_interest,
    interest_charge_reactions,
    interest_stream,
)
from fordra.dunning.application.reference_rates import (
    AddReferenceRate,
    ReferenceRatesDeps,
    add_reference_rate_to_table,
    statutory_interest,
)
from fordra.dunning.domain.interest import InterestSettings
from fordra.dunning.domain.rate_events import INTEREST_EVENTS, InterestSettled
from fordra.invoicing.application.reactions import payment_reactions
from fordra.invoicing.domain.events import INTERNAL_EVENTS as INVOICING_INTERNAL
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.late_interest import total_ore
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import make_ocr
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from tests.projections.test_postings import cancelled, credit_note, invoice, line

TENANT = "svenljunga"


def registry() -> EventRegistry:
    reg = EventRegistry()
    reg.register_all(all_contracts())
    reg.register_all(INTEREST_EVENTS)
    reg.register_all(INVOICING_INTERNAL)
    return reg


def issued(
    due: date, capital_ore: int = 1_000_000, invoice_id: str = "inv-1", serial: int = 1
) -> InvoiceIssued:
    """An invoice of ``capital_ore`` with 25 % VAT (net 80 %) due on ``due``."""
    net = capital_ore * 4 // 5
    made = invoice(
        line("water", 25, net), invoice_id=invoice_id, serial=serial, day=due - timedelta(days=30)
    )
    assert made.total_ore == capital_ore
    # An OCR number of its own: the ledger keeps them unique.
    return made.model_copy(update={"ocr": make_ocr(1000 + serial, length_digit=True)})


def paid(
    amount_ore: int, invoice_id: str = "inv-1", component: Component = "capital"
) -> PaymentAllocated:
    return PaymentAllocated(
        payment_id=f"pay-{amount_ore}",
        invoice_id=invoice_id,
        customer_id="cust-1",
        component=component,
        service_type="water",
        amount_ore=amount_ore,
    )


@dataclass
class Log:
    """One context's log as the bus delivers it: each event on the business day it happened."""

    context: str
    registry: EventRegistry
    envelopes: list[Envelope] = field(default_factory=list)

    def add(self, event: Event, on: date) -> Envelope:
        position = len(self.envelopes) + 1
        # 10:00 UTC is the same day in Stockholm, winter and summer.
        at = datetime.combine(on, time(10), tzinfo=UTC)
        env = self.registry.envelope(
            event,
            context=self.context,
            stream_id=f"{self.context}-{position}",
            version=1,
            metadata=Metadata(tenant=TENANT, actor="test", correlation_id="c"),
            occurred_at=at,
            event_id=f"{self.context}-{position:04d}",
        ).stored(position, at)
        self.envelopes.append(env)
        return env


@dataclass
class Dunning:
    store: EventStore
    registry: EventRegistry
    runner: ProcessManagerRunner
    invoicing: Log
    payments: Log

    async def deliver(self) -> None:
        """Both logs, each in one batch (a bank file's allocations arrive together)."""
        for log in (self.invoicing, self.payments):
            if log.envelopes:
                await self.runner.handle(log.context, log.envelopes)

    async def charged(self) -> list[LateInterestCharged]:
        log = await self.store.read_log(0, limit=10_000)
        return [
            self.registry.load_as(e, LateInterestCharged)
            for e in log
            if e.event_type == LateInterestCharged.event_type
        ]

    async def add_rate(self, valid_from: date, rate: str) -> None:
        deps = ReferenceRatesDeps(self.store, self.registry, ManualClock(valid_from))
        admin = Principal(subject="a", role=Role.ADMIN, tenant=TENANT)
        meta = Metadata(tenant=TENANT, actor="admin", correlation_id="r")
        cmd = AddReferenceRate(valid_from=valid_from, rate_percent=rate)
        await add_reference_rate_to_table(cmd, deps, admin, meta)


async def _store(kind: str, folder: Path, context: str) -> EventStore:
    codec = EnvelopeCodec(context, PersonalDataSealer(InMemoryKeyRing()))
    store: EventStore = (
        MemoryEventStore(context, codec)
        if kind == "memory"
        else SqliteEventStore(folder / f"{context}.sqlite", context, codec)
    )
    await store.start()
    return store


@pytest.fixture(params=["memory", "sqlite"])
async def dunning(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Dunning]:
    reg = registry()
    store = await _store(request.param, tmp_path, "dunning")
    runner = ProcessManagerRunner(
        "dunning-interest", store, interest_charge_reactions(reg, InterestSettings())
    )
    yield Dunning(store, reg, runner, Log("invoicing", reg), Log("payments", reg))
    await store.close()


async def test_the_rulebooks_example_is_charged_once_when_the_capital_is_paid(
    dunning: Dunning,
) -> None:
    # Given 10,000 kr due 2026-01-31
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    # When it is paid on 2026-03-02
    dunning.payments.add(paid(1_000_000), date(2026, 3, 2))
    await dunning.deliver()
    # Then 30 days at 10 % are charged: 82.19 kr, one line
    [charge] = await dunning.charged()
    assert (charge.amount_ore, charge.rate_percent) == (8_219, "10.00")
    assert (charge.from_date, charge.to_date) == (date(2026, 2, 1), date(2026, 3, 2))
    assert (charge.invoice_id, charge.customer_id, charge.service_type) == (
        "inv-1",
        "cust-1",
        "water",
    )
    # A redelivery changes nothing; so does a later payment event on the invoice.
    await dunning.deliver()
    dunning.payments.add(paid(5_000, component="interest"), date(2026, 3, 10))
    dunning.payments.add(paid(1), date(2026, 3, 10))
    await dunning.deliver()
    assert len(await dunning.charged()) == 1
    stream = await dunning.store.read_stream(interest_stream("inv-1"))
    assert [e.event_type for e in stream].count(InterestSettled.event_type) == 1


async def test_across_a_half_year_a_line_per_rate_period(dunning: Dunning) -> None:
    dunning.invoicing.add(issued(date(2025, 6, 15)), date(2025, 5, 16))
    dunning.payments.add(paid(1_000_000), date(2025, 8, 15))
    await dunning.deliver()
    assert [
        (c.from_date, c.to_date, c.rate_percent, c.amount_ore) for c in await dunning.charged()
    ] == [
        (date(2025, 6, 16), date(2025, 6, 30), "10.50", 4_315),
        (date(2025, 7, 1), date(2025, 8, 15), "10.00", 12_603),
    ]


async def test_a_partial_payment_lowers_the_interest_and_only_the_last_charges(
    dunning: Dunning,
) -> None:
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    await dunning.deliver()
    dunning.payments.add(paid(500_000), date(2026, 2, 10))
    await dunning.deliver()
    assert await dunning.charged() == []  # half is still open
    dunning.payments.add(paid(500_000), date(2026, 3, 2))
    await dunning.deliver()
    # 10 days on 10,000 kr and 20 on 5,000 kr at 10 %: 54.79 kr
    assert [c.amount_ore for c in await dunning.charged()] == [5_479]


async def test_paid_on_time_or_cancelled_charges_nothing(dunning: Dunning) -> None:
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    dunning.invoicing.add(issued(date(2026, 1, 31), invoice_id="inv-2", serial=2), date(2026, 1, 1))
    dunning.invoicing.add(cancelled("inv-2", date(2026, 1, 5)), date(2026, 1, 5))
    dunning.payments.add(paid(1_000_000), date(2026, 1, 31))
    dunning.payments.add(paid(1_000_000, invoice_id="inv-2"), date(2026, 3, 2))
    await dunning.deliver()
    assert await dunning.charged() == []


async def test_a_payment_heard_before_its_invoice_is_charged_when_the_invoice_comes(
    dunning: Dunning,
) -> None:
    dunning.payments.add(paid(1_000_000), date(2026, 3, 2))
    await dunning.deliver()
    assert await dunning.charged() == []
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    await dunning.deliver()
    assert [c.amount_ore for c in await dunning.charged()] == [8_219]


async def test_a_deferral_and_a_postponement_move_the_start(dunning: Dunning) -> None:
    # inv-1 deferred: interest from the day the deferral names (invoice date + 30 days).
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    dunning.invoicing.add(
        DeferralGranted(
            invoice_id="inv-1",
            customer_id="cust-1",
            requested_on=date(2026, 1, 20),
            deferred_until=date(2026, 3, 31),
            interest_from=date(2026, 2, 10),
            reason="sjukdom",
        ),
        date(2026, 1, 20),
    )
    # inv-2 postponed to 2026-02-28: interest from the new due date.
    dunning.invoicing.add(issued(date(2026, 1, 31), invoice_id="inv-2", serial=2), date(2026, 1, 1))
    dunning.invoicing.add(
        DueDatePostponed(
            invoice_id="inv-2",
            customer_id="cust-1",
            previous_due_date=date(2026, 1, 31),
            due_date=date(2026, 2, 28),
            reason="otydlig faktura",
        ),
        date(2026, 1, 25),
    )
    dunning.payments.add(paid(1_000_000), date(2026, 3, 2))
    dunning.payments.add(paid(1_000_000, invoice_id="inv-2"), date(2026, 3, 2))
    await dunning.deliver()
    by_invoice = {c.invoice_id: c for c in await dunning.charged()}
    # 20 days (11 Feb - 2 Mar) at 10 %: 54.79 kr; 2 days (1-2 Mar): 5.48 kr
    assert (by_invoice["inv-1"].from_date, by_invoice["inv-1"].amount_ore) == (
        date(2026, 2, 11),
        5_479,
    )
    assert (by_invoice["inv-2"].from_date, by_invoice["inv-2"].amount_ore) == (
        date(2026, 3, 1),
        548,
    )


async def test_a_credit_note_lowers_the_capital_that_bears_interest(dunning: Dunning) -> None:
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    # 3,200 + 25 % = 4,000 kr credited: 6,000 kr owed
    dunning.invoicing.add(
        credit_note("inv-1", line("water", 25, 320_000), day=date(2026, 2, 20)), date(2026, 2, 20)
    )
    dunning.payments.add(paid(600_000), date(2026, 3, 2))
    await dunning.deliver()
    assert [c.amount_ore for c in await dunning.charged()] == [4_932]


async def test_a_half_year_an_admin_added_is_charged_at_its_rate(dunning: Dunning) -> None:
    await dunning.add_rate(date(2026, 7, 1), "1.50")
    dunning.invoicing.add(issued(date(2026, 6, 29)), date(2026, 5, 30))
    dunning.payments.add(paid(1_000_000), date(2026, 7, 2))
    await dunning.deliver()
    assert [(c.rate_percent, c.amount_ore) for c in await dunning.charged()] == [
        ("10.00", 274),  # 1 day: 1,000,000 * 10 % / 365 = 273.97
        ("9.50", 521),  # 2 days: 1,000,000 * 9.5 % * 2 / 365 = 520.55
    ]


async def test_invoicing_puts_the_charge_on_the_customers_next_invoice(
    dunning: Dunning, tmp_path: Path
) -> None:
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    dunning.payments.add(paid(1_000_000), date(2026, 3, 2))
    await dunning.deliver()
    # Invoicing's own reaction follows dunning's log (as the bootstrap subscribes it).
    invoicing_store = await _store("memory", tmp_path, "invoicing")
    invoicing = ProcessManagerRunner(
        "invoicing-payments", invoicing_store, payment_reactions(dunning.registry)
    )
    dunning_log = await dunning.store.read_log(0, limit=10_000)
    await invoicing.handle("dunning", dunning_log)
    held = [
        dunning.registry.load_as(e, LateInterestHeld)
        for e in await invoicing_store.read_log(0)
        if e.event_type == LateInterestHeld.event_type
    ]
    assert [(h.invoice_id, h.line.net_ore, h.line.kind) for h in held] == [
        ("inv-1", 8_219, "interest")
    ]


async def test_the_interest_accrued_so_far_is_read_from_dunnings_own_stream(
    dunning: Dunning,
) -> None:
    # What a reminder or a handover shows: the interest to the day it is written.
    dunning.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    dunning.payments.add(paid(500_000), date(2026, 2, 10))
    await dunning.deliver()
    settings = InterestSettings()
    periods = await accrued_interest(
        dunning.store, dunning.registry, settings, "inv-1", date(2026, 3, 2)
    )
    assert total_ore(periods) == 5_479
    assert (
        await accrued_interest(dunning.store, dunning.registry, settings, "inv-9", date(2026, 3, 2))
        == ()
    )


async def test_a_plan_computes_interest_ahead_at_the_table_as_it_stands(
    dunning: Dunning,
) -> None:
    settings = InterestSettings()
    before = await statutory_interest(dunning.store, dunning.registry, settings)
    assert before.rate_percent(date(2026, 9, 1)) == "10.00"  # the last half-year's, until added
    await dunning.add_rate(date(2026, 7, 1), "1.50")
    after = await statutory_interest(dunning.store, dunning.registry, settings)
    assert after.rate_percent(date(2026, 9, 1)) == "9.50"
    assert after.interest_ore(1_000_000, date(2026, 6, 29), date(2026, 7, 2)) == 274 + 521
