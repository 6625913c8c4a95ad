"""The customer ledger shows the late interest each invoice has accrued as of the business date
(domain.md §3), through events: invoicing's, payments' and dunning's logs delivered to the ledger
projection over a real SQLite read-model database. The figures are the ones dunning charges
(tests/dunning/test_interest_charges.py feeds the same events to dunning)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from fordra.contracts.dunning import ReferenceRateAdded
from fordra.contracts.invoicing import CustomerRegistered, DeferralGranted, DueDatePostponed
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.projections.application.customer_ledger import (
    CustomerLedger,
    CustomerLedgerProjection,
    read_customer_ledger,
)
from tests.dunning.test_interest_charges import Log, issued, paid, registry
from tests.projections.test_batch_equivalence import ReadModels
from tests.projections.test_postings import cancelled, credit_note, line


@dataclass
class Ledger:
    db: ReadModelDatabase
    runner: ProjectionRunner
    projection: CustomerLedgerProjection
    invoicing: Log
    payments: Log
    dunning: Log

    async def deliver(self) -> None:
        for log in (self.invoicing, self.payments, self.dunning):
            if log.envelopes:
                await self.runner.handle(log.context, log.envelopes)

    async def read(self, today: date) -> CustomerLedger:
        async with self.db.engine.connect() as conn:
            found = await read_customer_ledger(conn, self.projection, "cust-1", today)
        assert found is not None
        return found

    async def interest(self, today: date) -> dict[str, int]:
        return {i.invoice_id: i.interest_ore for i in (await self.read(today)).invoices}


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    reg = registry()
    db = ReadModelDatabase(f"sqlite+aiosqlite:///{tmp_path / 'read_models.sqlite'}")
    projection = CustomerLedgerProjection(reg)
    runner = ProjectionRunner(projection, db)  # declares the tables the start creates
    await db.start()
    invoicing = Log("invoicing", reg)
    invoicing.add(
        CustomerRegistered(
            customer_id="cust-1", kind="person", id_kind="personnummer", personal=None
        ),
        date(2025, 1, 1),
    )
    try:
        yield Ledger(db, runner, projection, invoicing, Log("payments", reg), Log("dunning", reg))
    finally:
        await db.close()


async def test_interest_accrues_day_by_day_and_stops_at_the_payment(ledger: Ledger) -> None:
    # Given 10,000 kr due 2026-01-31
    ledger.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    await ledger.deliver()
    # Then nothing has accrued by the due date, a day's interest the day after
    assert await ledger.interest(date(2026, 1, 31)) == {"inv-1": 0}
    assert await ledger.interest(date(2026, 2, 1)) == {"inv-1": 274}  # 273.97
    assert await ledger.interest(date(2026, 3, 2)) == {"inv-1": 8_219}
    # When it is paid on 2026-03-02, the interest stops there: 82.19 kr, what dunning charges
    ledger.payments.add(paid(1_000_000), date(2026, 3, 2))
    await ledger.deliver()
    assert await ledger.interest(date(2026, 6, 1)) == {"inv-1": 8_219}


async def test_a_partial_payment_lowers_the_base_from_the_day_after(ledger: Ledger) -> None:
    ledger.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    ledger.payments.add(paid(500_000), date(2026, 2, 10))
    await ledger.deliver()
    assert await ledger.interest(date(2026, 3, 2)) == {"inv-1": 5_479}


async def test_across_a_half_year_and_at_a_rate_an_admin_added(ledger: Ledger) -> None:
    ledger.invoicing.add(issued(date(2025, 6, 15)), date(2025, 5, 16))
    await ledger.deliver()
    assert await ledger.interest(date(2025, 8, 15)) == {"inv-1": 4_315 + 12_603}
    # The 2026-07-01 half-year is added by an admin: the ledger follows dunning's event.
    ledger.invoicing.add(issued(date(2026, 6, 29), invoice_id="inv-2", serial=2), date(2026, 5, 30))
    await ledger.deliver()
    before = (await ledger.interest(date(2026, 7, 2)))["inv-2"]
    assert before == 822  # 3 days at 10 %: 821.92
    ledger.dunning.add(
        ReferenceRateAdded(valid_from=date(2026, 7, 1), rate_percent="1.50"), date(2026, 7, 1)
    )
    await ledger.deliver()
    assert (await ledger.interest(date(2026, 7, 2)))["inv-2"] == 274 + 521


async def test_the_start_moves_with_a_deferral_or_a_postponement(ledger: Ledger) -> None:
    ledger.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    ledger.invoicing.add(
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
    ledger.invoicing.add(issued(date(2026, 1, 31), invoice_id="inv-2", serial=2), date(2026, 1, 1))
    ledger.invoicing.add(
        DueDatePostponed(
            invoice_id="inv-2",
            customer_id="cust-1",
            previous_due_date=date(2026, 1, 31),
            due_date=date(2026, 2, 28),
            reason="otydlig faktura",
        ),
        date(2026, 1, 25),
    )
    await ledger.deliver()
    assert await ledger.interest(date(2026, 3, 2)) == {"inv-1": 5_479, "inv-2": 548}


async def test_credited_capital_bears_none_and_a_cancelled_invoice_none_at_all(
    ledger: Ledger,
) -> None:
    ledger.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    ledger.invoicing.add(
        credit_note("inv-1", line("water", 25, 320_000), day=date(2026, 2, 20)), date(2026, 2, 20)
    )
    ledger.invoicing.add(issued(date(2026, 1, 31), invoice_id="inv-2", serial=2), date(2026, 1, 1))
    ledger.invoicing.add(cancelled("inv-2", date(2026, 2, 5)), date(2026, 2, 5))
    await ledger.deliver()
    assert await ledger.interest(date(2026, 3, 2)) == {"inv-1": 4_932, "inv-2": 0}


async def test_a_redelivery_and_dunnings_other_events_change_nothing(ledger: Ledger) -> None:
    ledger.invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    ledger.payments.add(paid(500_000), date(2026, 2, 10))
    await ledger.deliver()
    await ledger.deliver()
    assert await ledger.interest(date(2026, 3, 2)) == {"inv-1": 5_479}


async def test_a_batch_gives_the_interest_tables_of_one_event_at_a_time(tmp_path: Path) -> None:
    """The capital paid per day is gathered set-based (one upsert per batch); the terms and the
    rates one event at a time: the tables are those of delivering the events one by one."""
    reg = registry()
    invoicing, payments, dunning = Log("invoicing", reg), Log("payments", reg), Log("dunning", reg)
    invoicing.add(
        CustomerRegistered(
            customer_id="cust-1", kind="person", id_kind="personnummer", personal=None
        ),
        date(2025, 1, 1),
    )
    invoicing.add(issued(date(2026, 1, 31)), date(2026, 1, 1))
    invoicing.add(issued(date(2026, 1, 31), invoice_id="inv-2", serial=2), date(2026, 1, 1))
    invoicing.add(
        DeferralGranted(
            invoice_id="inv-2",
            customer_id="cust-1",
            requested_on=date(2026, 1, 20),
            deferred_until=date(2026, 3, 31),
            interest_from=date(2026, 2, 10),
            reason="sjukdom",
        ),
        date(2026, 1, 20),
    )
    invoicing.add(credit_note("inv-1", line("water", 25, 80_000)), date(2026, 2, 3))
    for amount, invoice_id, on in [
        (100_000, "inv-1", date(2026, 2, 10)),
        (50_000, "inv-1", date(2026, 2, 10)),
        (-50_000, "inv-1", date(2026, 2, 12)),
        (300_000, "inv-2", date(2026, 2, 12)),
    ]:
        payments.add(paid(amount, invoice_id), on)
    payments.add(paid(700, "inv-1", component="interest"), date(2026, 2, 12))
    dunning.add(
        ReferenceRateAdded(valid_from=date(2026, 7, 1), rate_percent="1.50"), date(2026, 7, 1)
    )
    batched, alone = ReadModels(tmp_path / "batched.sqlite"), ReadModels(tmp_path / "alone.sqlite")
    await batched.db.start()
    await alone.db.start()
    try:
        for log in (invoicing, payments, dunning):
            await batched.deliver(log.context, log.envelopes)
            for env in log.envelopes:
                await alone.deliver(log.context, [env])
        tables = await batched.dump()
        assert tables == await alone.dump()
        assert len(tables["ledger_capital_paid"]) == 3  # inv-1 on two days, inv-2 on one
        assert len(tables["ledger_interest_terms"]) == 2
        assert len(tables["ledger_reference_rates"]) == 1
    finally:
        await batched.db.close()
        await alone.db.close()
