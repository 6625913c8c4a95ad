"""A delivered batch applied set-based (``apply_batch``: one statement per table) leaves the read
models exactly as the same events delivered one at a time: the customer ledger, the unmatched
payments and the general ledger, over any sequence of the events they follow, ids repeated so that
some events fail and are parked (a failing batch is applied again one event at a time by
``deliver``, so the parked records must agree too). Redelivering a tracked batch changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fordra.contracts.invoicing import CustomerRegistered, InvoiceDisputed
from fordra.contracts.payments import Component, PaymentReversed
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.ocr import make_ocr
from fordra.kernel.parking import ParkedEvents, deliver
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.projections.application.customer_ledger import CustomerLedgerProjection
from fordra.projections.application.postings import PostingsProjection
from fordra.projections.application.unmatched_payments import UnmatchedPaymentsProjection
from fordra.projections.domain.chart_of_accounts import AccountingSettings
from tests.projections.test_payment_postings import allocated, credit, matched, received, unmatched
from tests.projections.test_postings import cancelled, credit_note, invoice, line, registry
from tests.projections.test_write_offs import recovered, written_down, written_off

TENANT = "svenljunga"
AT = datetime(2026, 3, 2, 10, tzinfo=UTC)

# Small pools of ids, so that a sequence repeats some (a second InvoiceIssued or PaymentReceived
# of one id fails, alone or in a batch, and is parked).
INVOICES = st.sampled_from(["inv-1", "inv-2", "inv-3"])
PAYMENTS = st.sampled_from(["pay-1", "pay-2", "pay-3", "pay-4"])
CUSTOMERS = st.sampled_from(["cust-1", "cust-2"])
AMOUNTS = st.integers(min_value=-5_000, max_value=200_000)


def _issued(invoice_id: str, net: int, interest: bool) -> Event:
    lines = [line("water", 25, net)]
    if interest:
        interest_line = line("water", 0, 1_500).model_copy(update={"kind": "interest"})
        lines.append(interest_line)
    n = int(invoice_id.split("-")[1])
    issued = invoice(*lines, invoice_id=invoice_id, serial=n)
    return issued.model_copy(update={"ocr": make_ocr(1000 + n, length_digit=True)})


def _registered(customer_id: str) -> Event:
    return CustomerRegistered(
        customer_id=customer_id, kind="person", id_kind="personnummer", personal=None
    )


def _disputed(invoice_id: str) -> Event:
    return InvoiceDisputed(
        invoice_id=invoice_id, customer_id="cust-1", disputed_on=date(2026, 3, 1), reason="fel"
    )


def _reversed(payment_id: str) -> Event:
    return PaymentReversed(
        payment_id=payment_id, reversal_bank_reference=f"RV-{payment_id}", amount_ore=100
    )


COMPONENTS: tuple[Component, ...] = ("capital", "interest")

INVOICING = st.one_of(
    st.builds(_registered, CUSTOMERS),
    st.builds(_issued, INVOICES, st.integers(min_value=100, max_value=500_000), st.booleans()),
    st.builds(lambda i: credit_note(i, line("water", 25, 10_000)), INVOICES),
    st.builds(cancelled, INVOICES),
    st.builds(_disputed, INVOICES),
)
PAYMENTS_EVENTS = st.one_of(
    st.builds(received, PAYMENTS, st.integers(min_value=1, max_value=500_000)),
    st.builds(matched, PAYMENTS),
    st.builds(unmatched, PAYMENTS, st.integers(min_value=1, max_value=500_000)),
    st.builds(
        lambda p, a, c, i: allocated(p, a, component=c, invoice_id=i),
        PAYMENTS,
        AMOUNTS,
        st.sampled_from(COMPONENTS),
        INVOICES,
    ),
    st.builds(credit, PAYMENTS, st.integers(min_value=1, max_value=50_000)),
    st.builds(_reversed, PAYMENTS),
)

# Dunning's write-downs and write-offs (a negative write-down is refused by the postings and
# parked, alone or in a batch).
DUNNING_EVENTS = st.one_of(
    st.builds(lambda i, a: written_down(a, i), INVOICES, AMOUNTS),
    st.builds(lambda i, a: recovered(a).model_copy(update={"invoice_id": i}), INVOICES, AMOUNTS),
    st.builds(
        lambda i, a, v: written_off(a, v, invoice_id=i),
        INVOICES,
        st.integers(min_value=0, max_value=200_000),
        st.integers(min_value=0, max_value=200_000),
    ),
)


def _log(reg: EventRegistry, context: str, events: list[Event]) -> list[Envelope]:
    log = []
    for position, event in enumerate(events, start=1):
        stream = (
            f"customer-credit-{getattr(event, 'customer_id', 'x')}"
            if type(event).__name__ == "CustomerCreditRecorded"
            else f"{context}-s-{position}"
        )
        log.append(
            reg.envelope(
                event,
                context=context,
                stream_id=stream,
                version=1,
                metadata=Metadata(tenant=TENANT, actor="test", correlation_id="c"),
                occurred_at=AT + timedelta(seconds=position),
                event_id=f"{context}-{position:04d}",
            ).stored(position, AT + timedelta(seconds=position))
        )
    return log


class ReadModels:
    def __init__(self, file: Path) -> None:
        reg = registry()
        self.db = ReadModelDatabase(f"sqlite+aiosqlite:///{file}")
        self.parked = ParkedEvents(self.db)
        self.runners = [
            ProjectionRunner(CustomerLedgerProjection(reg), self.db),
            ProjectionRunner(
                UnmatchedPaymentsProjection(reg, PersonalDataSealer(InMemoryKeyRing())), self.db
            ),
            ProjectionRunner(PostingsProjection(reg, AccountingSettings()), self.db),
        ]

    async def deliver(self, upstream: str, batch: list[Envelope]) -> None:
        for runner in self.runners:
            if upstream in runner.projection.upstreams:
                await deliver(runner, upstream, batch, parking=self.parked, retry_delay=0)

    async def dump(self) -> dict[str, Any]:
        """Every table's rows, in a stable order; a parked record without its id and time."""
        tables: dict[str, Any] = {}
        async with self.db.engine.connect() as conn:
            for table in self.db.metadata.sorted_tables:
                skip = {"id", "parked_at"}
                columns = [c for c in table.c if c.name not in skip]
                rows = (await conn.execute(select(*columns))).all()
                tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return tables


def _batches(log: list[Envelope], sizes: list[int]) -> list[list[Envelope]]:
    out, at = [], 0
    for size in sizes:
        if at >= len(log):
            break
        out.append(log[at : at + size])
        at += size
    if at < len(log):
        out.append(log[at:])
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    invoicing=st.lists(INVOICING, max_size=16),
    payments=st.lists(PAYMENTS_EVENTS, max_size=30),
    dunning=st.lists(DUNNING_EVENTS, max_size=8),
    sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=4),
)
# What a set-based batch gathers, for certain: an invoice run with its charges, allocations to
# one invoice summed, a payment received, matched, queued and placed in one batch, a payment
# received twice (the batch fails and the second is parked), a credit note between two runs.
@example(
    invoicing=[
        _registered("cust-1"),
        _issued("inv-1", 10_000, True),
        _issued("inv-2", 20_000, False),
        credit_note("inv-1", line("water", 25, 1_000)),
        _issued("inv-3", 30_000, True),
        cancelled("inv-2"),
    ],
    payments=[
        received("pay-1", 5_000),
        matched("pay-1"),
        allocated("pay-1", 4_000, invoice_id="inv-1"),
        allocated("pay-1", 1_000, component="interest", invoice_id="inv-1"),
        received("pay-2", 7_000),
        unmatched("pay-2", 7_000),
        allocated("pay-2", 3_000, invoice_id="inv-1"),
        credit("pay-2", 4_000),
        matched("pay-2"),
        unmatched("pay-3", 1),
        received("pay-3", 1),
        received("pay-1", 5_000),
        _reversed("pay-1"),
    ],
    dunning=[
        written_down(9_000),
        recovered(4_000),
        written_down(-1, "inv-2"),
        written_off(5_000, 5_000),
        written_off(3_000, 0, invoice_id="inv-3"),
    ],
    sizes=[30],
)
async def test_a_batch_applied_set_based_gives_the_read_models_of_one_by_one(
    tmp_path_factory: Any,
    invoicing: list[Event],
    payments: list[Event],
    dunning: list[Event],
    sizes: list[int],
) -> None:
    reg = registry()
    logs = {
        "invoicing": _log(reg, "invoicing", invoicing),
        "payments": _log(reg, "payments", payments),
        "dunning": _log(reg, "dunning", dunning),
    }
    folder = tmp_path_factory.mktemp("batch")
    batched, alone = ReadModels(folder / "batched.sqlite"), ReadModels(folder / "alone.sqlite")
    await batched.db.start()
    await alone.db.start()
    try:
        for upstream, log in logs.items():
            for batch in _batches(log, sizes):
                await batched.deliver(upstream, batch)
            for env in log:
                await alone.deliver(upstream, [env])
        after = await batched.dump()
        assert after == await alone.dump()

        # A tracked batch delivered again changes nothing
        for upstream, log in logs.items():
            for batch in _batches(log, sizes):
                await batched.deliver(upstream, batch)
        assert await batched.dump() == after
    finally:
        await batched.db.close()
        await alone.db.close()
