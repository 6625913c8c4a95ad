"""Posting rules and the general-ledger projection (domain.md §10): every voucher balances, a
credit note and a cancellation reverse the invoice, and a rebuild gives the same vouchers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import (
    SERVICE_TYPES,
    CreditNoteIssued,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceLine,
    ServiceType,
    SmallAmountDeferred,
    SmallAmountDropped,
    SmallAmountsInvoiced,
    VatBreakdown,
)
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.money import percent_of
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.projections.application.postings import PostingsProjection, read_vouchers
from fordra.projections.domain.chart_of_accounts import (
    AccountingError,
    AccountingSettings,
    PostingRow,
    UnbalancedVoucher,
    UnmappedVatRate,
    Voucher,
    cancellation_voucher,
    credit_note_voucher,
    invoice_voucher,
)

SETTINGS = AccountingSettings()
TENANT = "svenljunga"

# -- factories (test_sie.py uses them too) ------------------------------------------------------


def line(service: ServiceType, vat_rate: int, net_ore: int) -> InvoiceLine:
    return InvoiceLine(
        description=f"{service} {vat_rate} %",
        service_type=service,
        quantity=Decimal(1),
        unit_price_ore=net_ore,
        vat_rate=vat_rate,
        net_ore=net_ore,
    )


def vat_of(lines: tuple[InvoiceLine, ...]) -> tuple[VatBreakdown, ...]:
    """As invoicing computes it: net summed per rate, VAT rounded once per rate."""
    net: dict[int, int] = {}
    for ln in lines:
        net[ln.vat_rate] = net.get(ln.vat_rate, 0) + ln.net_ore
    return tuple(
        VatBreakdown(vat_rate=rate, net_ore=amount, vat_ore=percent_of(amount, rate))
        for rate, amount in sorted(net.items(), reverse=True)
    )


def invoice(
    *lines: InvoiceLine,
    invoice_id: str = "inv-1",
    serial: int = 1,
    day: date = date(2025, 1, 10),
    department: str = "va",
) -> InvoiceIssued:
    vat = vat_of(lines)
    net, vat_total = sum(b.net_ore for b in vat), sum(b.vat_ore for b in vat)
    return InvoiceIssued(
        invoice_id=invoice_id,
        customer_id="cust-1",
        serial_number=serial,
        invoice_number=f"{serial:08d}",
        ocr="12345682",
        department=department,
        service_type=lines[0].service_type,
        invoice_date=day,
        due_date=day + timedelta(days=30),
        payment_terms_days=30,
        lines=lines,
        vat=vat,
        net_ore=net,
        vat_ore=vat_total,
        total_ore=net + vat_total,
    )


def credit_note(
    invoice_id: str, *lines: InvoiceLine, serial: int = 90, day: date = date(2025, 2, 1)
) -> CreditNoteIssued:
    vat = vat_of(lines)
    net, vat_total = sum(b.net_ore for b in vat), sum(b.vat_ore for b in vat)
    return CreditNoteIssued(
        credit_note_id=f"cn-{serial}",
        invoice_id=invoice_id,
        customer_id="cust-1",
        serial_number=serial,
        credit_note_number=f"{serial:08d}",
        issued_on=day,
        lines=lines,
        vat=vat,
        net_ore=net,
        vat_ore=vat_total,
        total_ore=net + vat_total,
        reason="fel mätarställning",
    )


def cancelled(invoice_id: str, day: date = date(2025, 2, 3)) -> InvoiceCancelled:
    return InvoiceCancelled(
        invoice_id=invoice_id, customer_id="cust-1", cancelled_on=day, reason="dubblett"
    )


def registry() -> EventRegistry:
    reg = EventRegistry()
    reg.register_all(all_contracts())
    return reg


@dataclass
class Log:
    """Invoicing's log as the bus delivers it: envelopes with rising positions."""

    registry: EventRegistry
    envelopes: list[Envelope] = field(default_factory=list)

    def add(self, event: Event, *, tenant: str = TENANT, stream: str = "s") -> Envelope:
        position = len(self.envelopes) + 1
        env = self.registry.envelope(
            event,
            context="invoicing",
            stream_id=f"{stream}-{position}",
            version=1,
            metadata=Metadata(tenant=tenant, actor="test", correlation_id="c"),
            occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
            event_id=f"evt-{position:04d}",
        ).stored(position, datetime(2025, 1, 1, tzinfo=UTC))
        self.envelopes.append(env)
        return env


def rows_of(voucher: Voucher) -> dict[int, int]:
    return {r.account: r.amount_ore for r in voucher.rows}


# Two services and two VAT rates: water at 25 % (twice, to be summed) and waste at 12 %.
WATER_AND_WASTE = (line("water", 25, 80_000), line("waste", 12, 20_000), line("water", 25, 1_001))


# -- pure rules -------------------------------------------------------------------------------


def test_an_invoice_with_two_services_and_two_vat_rates_balances() -> None:
    # Given an invoice of 810,01 kr water at 25 % and 200 kr waste at 12 %
    issued = invoice(*WATER_AND_WASTE)
    # When it is posted
    voucher = invoice_voucher(issued, SETTINGS)
    # Then 1512 is debited the total; revenue per service and VAT per rate are credited
    assert rows_of(voucher) == {
        1512: 123_651,
        3011: -81_001,
        3012: -20_000,
        2611: -20_250,  # 25 % of 810,01 kr, rounded once for the rate
        2621: -2_400,
    }
    assert sum(r.amount_ore for r in voucher.rows) == 0
    assert voucher.debit_ore == issued.total_ore
    assert voucher.series == "KF"
    assert voucher.date == issued.invoice_date
    assert voucher.number is None  # the ledger numbers it
    assert voucher.text == "Kundfaktura 00000001"


def test_invoiced_late_interest_is_interest_income_not_the_services_revenue() -> None:
    # Given a water invoice carrying 82.19 kr of late interest as a line of its own (VAT-free)
    interest = line("water", 0, 8_219).model_copy(update={"kind": "interest"})
    voucher = invoice_voucher(invoice(line("water", 25, 80_000), interest), SETTINGS)
    # Then the interest is credited to interest income, apart from water's revenue (domain.md §3)
    assert rows_of(voucher) == {1512: 108_219, 3011: -80_000, 8313: -8_219, 2611: -20_000}


def test_a_credit_note_reverses_the_credited_lines() -> None:
    issued = invoice(*WATER_AND_WASTE)
    # When the waste line is credited
    voucher = credit_note_voucher(
        credit_note("inv-1", line("waste", 12, 20_000)),
        SETTINGS,
        invoice_number=issued.invoice_number,
    )
    # Then 1512 is credited and waste revenue and its VAT debited
    assert rows_of(voucher) == {1512: -22_400, 3012: 20_000, 2621: 2_400}
    assert voucher.date == date(2025, 2, 1)
    assert voucher.text == "Kreditfaktura 00000090 på faktura 00000001"


def test_a_full_credit_note_is_the_invoice_voucher_negated() -> None:
    posted = invoice_voucher(invoice(*WATER_AND_WASTE), SETTINGS)
    credited = credit_note_voucher(credit_note("inv-1", *WATER_AND_WASTE), SETTINGS)
    assert rows_of(credited) == {a: -amount for a, amount in rows_of(posted).items()}


def test_a_cancellation_reverses_the_invoice_voucher() -> None:
    posted = invoice_voucher(invoice(*WATER_AND_WASTE), SETTINGS)
    voucher = cancellation_voucher(
        cancelled("inv-1"), posted.rows, SETTINGS, invoice_number="00000001"
    )
    assert voucher is not None
    assert [(r.account, r.amount_ore) for r in voucher.rows] == [
        (r.account, -r.amount_ore) for r in posted.rows
    ]
    assert voucher.date == date(2025, 2, 3)
    assert voucher.text == "Makulerad faktura 00000001"


def test_a_cancellation_reverses_only_what_still_stands() -> None:
    # Should a partly credited invoice ever be cancelled, the ledger nets to zero, not below.
    posted = invoice_voucher(invoice(*WATER_AND_WASTE), SETTINGS)
    credited = credit_note_voucher(credit_note("inv-1", line("waste", 12, 20_000)), SETTINGS)
    voucher = cancellation_voucher(cancelled("inv-1"), posted.rows + credited.rows, SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {1512: -101_251, 3011: 81_001, 2611: 20_250}


def test_a_cancellation_with_nothing_posted_is_refused() -> None:
    with pytest.raises(AccountingError, match="nothing posted"):
        cancellation_voucher(cancelled("inv-9"), (), SETTINGS)


def test_a_cancellation_of_a_fully_credited_invoice_posts_nothing() -> None:
    posted = invoice_voucher(invoice(*WATER_AND_WASTE), SETTINGS)
    credited = credit_note_voucher(credit_note("inv-1", *WATER_AND_WASTE), SETTINGS)
    assert cancellation_voucher(cancelled("inv-1"), posted.rows + credited.rows, SETTINGS) is None


def test_vat_at_zero_percent_posts_no_vat_row() -> None:
    voucher = invoice_voucher(invoice(line("childcare", 0, 150_000)), SETTINGS)
    assert rows_of(voucher) == {1512: 150_000, 3021: -150_000}


def test_vat_at_a_rate_without_an_account_is_refused() -> None:
    settings = AccountingSettings(output_vat_accounts={25: 2611})
    with pytest.raises(UnmappedVatRate, match="12 %"):
        invoice_voucher(invoice(line("waste", 12, 10_000)), settings)


def test_a_service_left_out_of_the_mapping_posts_to_the_fallback_account() -> None:
    settings = AccountingSettings(revenue_accounts={"water": 3111}, fallback_revenue_account=3999)
    voucher = invoice_voucher(invoice(line("water", 0, 100), line("waste", 0, 200)), settings)
    assert rows_of(voucher) == {1512: 300, 3111: -100, 3999: -200}


def test_a_cost_centre_dimension_tags_revenue_with_the_department() -> None:
    settings = AccountingSettings(cost_centre_dimension=1)
    voucher = invoice_voucher(invoice(line("water", 25, 10_000), department="va"), settings)
    tagged = {r.account: r.objects for r in voucher.rows}
    assert tagged == {1512: (), 3011: ((1, "va"),), 2611: ()}


def test_held_small_amounts_post_with_the_invoice_that_carries_them() -> None:
    # A held 30 kr waste amount became a line of the next water invoice: it posts to waste.
    voucher = invoice_voucher(
        invoice(line("water", 25, 100_000), line("waste", 25, 3_000)), SETTINGS
    )
    assert rows_of(voucher) == {1512: 128_750, 3011: -100_000, 3012: -3_000, 2611: -25_750}


def test_a_voucher_that_does_not_balance_cannot_exist() -> None:
    with pytest.raises(UnbalancedVoucher, match="sum to 1 öre"):
        Voucher(
            series="KF",
            date=date(2025, 1, 1),
            text="x",
            rows=(
                PostingRow(account=1512, amount_ore=101),
                PostingRow(account=3011, amount_ore=-100),
            ),
        )
    with pytest.raises(UnbalancedVoucher, match="no rows"):
        Voucher(series="KF", date=date(2025, 1, 1), text="x", rows=())


def test_settings_refuse_an_account_that_is_not_four_to_six_digits() -> None:
    with pytest.raises(ValueError, match="receivables_account"):
        AccountingSettings(receivables_account=151)


lines_strategy = st.lists(
    st.builds(
        line,
        st.sampled_from(SERVICE_TYPES),
        st.sampled_from((25, 12, 6, 0)),
        st.integers(min_value=-500_000, max_value=50_000_000),
    ),
    min_size=1,
    max_size=12,
)


@given(lines_strategy)
def test_any_invoice_gives_a_balanced_voucher_and_its_credit_note_the_mirror(
    lines: list[InvoiceLine],
) -> None:
    issued = invoice(*lines)
    assume(issued.total_ore > 0)  # invoicing refuses anything else
    # Constructing the voucher checks the balance (UnbalancedVoucher otherwise).
    voucher = invoice_voucher(issued, SETTINGS)
    assert sum(r.amount_ore for r in voucher.rows) == 0
    vat_accounts = set(SETTINGS.output_vat_accounts.values())
    assert rows_of(voucher)[1512] == issued.total_ore
    assert sum(r.amount_ore for r in voucher.rows if r.account in vat_accounts) == -issued.vat_ore
    assert all(r.amount_ore != 0 for r in voucher.rows)
    credited = credit_note_voucher(credit_note("inv-1", *lines), SETTINGS)
    assert rows_of(credited) == {a: -amount for a, amount in rows_of(voucher).items()}
    reversal = cancellation_voucher(cancelled("inv-1"), voucher.rows, SETTINGS)
    assert reversal is not None
    assert rows_of(reversal) == rows_of(credited)


# -- the projection ---------------------------------------------------------------------------


@dataclass
class Ledger:
    db: ReadModelDatabase
    runner: ProjectionRunner
    projection: PostingsProjection
    log: Log

    async def deliver(self) -> None:
        await self.runner.handle("invoicing", self.log.envelopes)

    async def vouchers(
        self, first: date = date(2000, 1, 1), last: date = date(2100, 1, 1), tenant: str = TENANT
    ) -> list[Voucher]:
        async with self.db.engine.connect() as conn:
            return await read_vouchers(conn, self.projection, first, last, tenant=tenant)


@asynccontextmanager
async def open_ledger(path: Path, settings: AccountingSettings = SETTINGS) -> AsyncIterator[Ledger]:
    reg = registry()
    db = ReadModelDatabase(f"sqlite+aiosqlite:///{path / 'read_models.sqlite'}")
    projection = PostingsProjection(reg, settings)
    runner = ProjectionRunner(projection, db)
    await db.start()
    try:
        yield Ledger(db, runner, projection, Log(reg))
    finally:
        await db.close()


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    async with open_ledger(tmp_path) as opened:
        yield opened


def a_month_of_invoicing(log: Log) -> None:
    """Two invoices, a credit note on the first, the second cancelled, and small amounts."""
    log.add(invoice(*WATER_AND_WASTE, invoice_id="inv-1", serial=1, day=date(2025, 1, 10)))
    log.add(
        SmallAmountDeferred(
            held_id="held-1",
            customer_id="cust-1",
            department="avfall",
            service_type="waste",
            invoice_date=date(2025, 1, 12),
            lines=(line("waste", 25, 2_000),),
            net_ore=2_000,
            vat_ore=500,
            total_ore=2_500,
            policy="hold_for_next_invoice",
        )
    )
    log.add(
        SmallAmountDropped(
            customer_id="cust-1", department="avfall", service_type="waste", total_ore=1_000
        )
    )
    log.add(
        invoice(
            line("water", 25, 40_000),
            line("waste", 25, 2_000),  # the held amount, now a line
            invoice_id="inv-2",
            serial=2,
            day=date(2025, 1, 15),
        )
    )
    log.add(
        SmallAmountsInvoiced(
            customer_id="cust-1", invoice_id="inv-2", held_ids=("held-1",), total_ore=2_500
        )
    )
    log.add(credit_note("inv-1", line("waste", 12, 20_000), serial=3, day=date(2025, 2, 1)))
    log.add(cancelled("inv-2", day=date(2025, 2, 3)))


async def test_the_ledger_posts_invoices_credits_and_cancellations_in_order(
    ledger: Ledger,
) -> None:
    # Given a month of invoicing
    a_month_of_invoicing(ledger.log)
    # When the ledger has seen it
    await ledger.deliver()
    vouchers = await ledger.vouchers()
    # Then four vouchers, numbered 1-4 in the order the events were recorded; small amounts
    # held or dropped post nothing
    assert [(v.number, v.text) for v in vouchers] == [
        (1, "Kundfaktura 00000001"),
        (2, "Kundfaktura 00000002"),
        (3, "Kreditfaktura 00000003 på faktura 00000001"),
        (4, "Makulerad faktura 00000002"),
    ]
    first, second, credit, cancellation = vouchers
    assert rows_of(second) == {1512: 52_500, 3011: -40_000, 3012: -2_000, 2611: -10_500}
    assert rows_of(credit) == {1512: -22_400, 3012: 20_000, 2621: 2_400}
    assert rows_of(cancellation) == {a: -amount for a, amount in rows_of(second).items()}
    assert rows_of(first)[1512] == 123_651


async def test_the_period_includes_both_ends(ledger: Ledger) -> None:
    a_month_of_invoicing(ledger.log)
    await ledger.deliver()
    january = await ledger.vouchers(date(2025, 1, 10), date(2025, 1, 15))
    assert [v.number for v in january] == [1, 2]
    february = await ledger.vouchers(date(2025, 2, 1), date(2025, 2, 28))
    assert [v.number for v in february] == [3, 4]
    assert await ledger.vouchers(date(2025, 1, 16), date(2025, 1, 31)) == []


async def test_a_rebuild_gives_the_same_vouchers_and_numbers(ledger: Ledger) -> None:
    a_month_of_invoicing(ledger.log)
    # Delivered in two batches, as a bus would
    await ledger.runner.handle("invoicing", ledger.log.envelopes[:3])
    await ledger.runner.handle("invoicing", ledger.log.envelopes)
    before = await ledger.vouchers()
    # When the projection is rebuilt from position 0
    await ledger.runner.reset()
    assert await ledger.vouchers() == []
    await ledger.deliver()
    # Then it is identical
    assert await ledger.vouchers() == before


async def test_a_redelivered_event_posts_nothing_twice(ledger: Ledger) -> None:
    a_month_of_invoicing(ledger.log)
    await ledger.deliver()
    await ledger.deliver()
    assert len(await ledger.vouchers()) == 4


async def test_each_tenant_has_its_own_series(ledger: Ledger) -> None:
    ledger.log.add(invoice(line("water", 25, 100), invoice_id="a-1"), tenant="svenljunga")
    ledger.log.add(invoice(line("water", 25, 200), invoice_id="b-1"), tenant="tranemo")
    ledger.log.add(invoice(line("water", 25, 300), invoice_id="a-2"), tenant="svenljunga")
    await ledger.deliver()
    ours = await ledger.vouchers(tenant="svenljunga")
    assert [(v.number, v.rows[0].amount_ore) for v in ours] == [(1, 125), (2, 375)]
    theirs = await ledger.vouchers(tenant="tranemo")
    assert [(v.number, v.rows[0].amount_ore) for v in theirs] == [(1, 250)]


async def test_credit_notes_carry_the_invoice_department_as_cost_centre(tmp_path: Path) -> None:
    async with open_ledger(tmp_path, AccountingSettings(cost_centre_dimension=1)) as ledger:
        ledger.log.add(invoice(line("water", 25, 10_000), invoice_id="inv-1", department="va"))
        ledger.log.add(credit_note("inv-1", line("water", 25, 10_000)))
        await ledger.deliver()
        posted, credit = await ledger.vouchers()
        assert {r.account: r.objects for r in credit.rows}[3011] == ((1, "va"),)
        assert {r.account: r.objects for r in posted.rows}[3011] == ((1, "va"),)
