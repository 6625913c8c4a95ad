"""The money events in the general ledger (domain.md §10): every payments event that moves money
posts a balanced voucher of its own, with 9181 as the clearing account, so that 9181 holds what
waits unmatched, 2482 the customers' credit and 1512 what is open on the invoices."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fordra.contracts.payments import (
    Component,
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
    PaymentMatched,
    PaymentReceived,
    PaymentReversed,
    PaymentUnmatched,
    RefundAttested,
    RefundRequested,
)
from fordra.kernel.dated import Dated
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.projections.application.postings import PostingsProjection, read_vouchers
from fordra.projections.domain.chart_of_accounts import AccountingError, AccountingSettings, Voucher
from fordra.projections.domain.payment_postings import (
    rule_payment_allocated,
    rule_payment_received,
)
from tests.projections.test_postings import (
    cancelled,
    credit_note,
    invoice,
    line,
    registry,
    rows_of,
)

SETTINGS = AccountingSettings()
TENANT = "svenljunga"
BANK, PAYOUT = 1951, 1954
RECEIVABLES, OVERPAYMENTS, UNIDENTIFIED, AGENCY = 1512, 2482, 9181, 9895
DAY = date(2026, 3, 2)  # the business day every event below is recorded on
# A 1,250 kr water invoice at 25 % VAT (1,000 kr net), issued to cust-1.
INVOICE = invoice(line("water", 25, 100_000), invoice_id="inv-1", day=date(2026, 2, 1))

# -- factories --------------------------------------------------------------------------------


def received(
    payment_id: str,
    amount_ore: int,
    *,
    currency: str = "SEK",
    on: date = date(2026, 3, 1),
    file_id: str = "file-1",
) -> PaymentReceived:
    return PaymentReceived(
        payment_id=payment_id,
        file_id=file_id,
        bank_reference=f"REF-{payment_id}",
        amount_ore=amount_ore,
        currency=currency,
        reference="12345682",
        reference_kind="ocr",
        received_on=on,
    )


def allocated(
    payment_id: str, amount_ore: int, *, component: Component = "capital", invoice_id: str = "inv-1"
) -> PaymentAllocated:
    return PaymentAllocated(
        payment_id=payment_id,
        invoice_id=invoice_id,
        customer_id="cust-1",
        component=component,
        service_type="water",
        amount_ore=amount_ore,
    )


def matched(payment_id: str) -> PaymentMatched:
    return PaymentMatched(
        payment_id=payment_id, invoice_id="inv-1", customer_id="cust-1", method="ocr"
    )


def unmatched(payment_id: str, amount_ore: int, currency: str = "SEK") -> PaymentUnmatched:
    return PaymentUnmatched(
        payment_id=payment_id,
        amount_ore=amount_ore,
        currency=currency,
        received_on=date(2026, 3, 1),
        reason="no OCR reference",
    )


def credit(payment_id: str, amount_ore: int, reason: str = "overpayment") -> CustomerCreditRecorded:
    return CustomerCreditRecorded.model_validate(
        {
            "payment_id": payment_id,
            "customer_id": "cust-1",
            "amount_ore": amount_ore,
            "reason": reason,
        }
    )


@dataclass
class Log:
    """Both logs as the bus delivers them: envelopes with rising positions per context."""

    registry: EventRegistry
    invoicing: list[Envelope] = field(default_factory=list)
    payments: list[Envelope] = field(default_factory=list)

    def add(self, *events: Event, stream: str | None = None) -> None:
        for event in events:
            # As payments appends them: a customer's credit on its own stream
            if stream is not None:
                stream_id = stream
            elif isinstance(event, CustomerCreditRecorded):
                stream_id = f"customer-credit-{event.customer_id}"
            else:
                stream_id = f"s-{len(self.invoicing) + len(self.payments) + 1}"
            context = "invoicing" if type(event).__module__.endswith("invoicing") else "payments"
            log = self.invoicing if context == "invoicing" else self.payments
            position = len(log) + 1
            at = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC)
            log.append(
                self.registry.envelope(
                    event,
                    context=context,
                    stream_id=stream_id,
                    version=1,
                    metadata=Metadata(tenant=TENANT, actor="test", correlation_id="c"),
                    occurred_at=at,
                    event_id=f"{context}-{position:04d}",
                ).stored(position, at)
            )


@dataclass
class Ledger:
    db: ReadModelDatabase
    runner: ProjectionRunner
    projection: PostingsProjection
    log: Log

    async def deliver(self, *, payments_first: bool = False) -> None:
        order = ("payments", "invoicing") if payments_first else ("invoicing", "payments")
        for upstream in order:
            await self.runner.handle(upstream, getattr(self.log, upstream))

    async def vouchers(self) -> list[Voucher]:
        async with self.db.engine.connect() as conn:
            return await read_vouchers(
                conn, self.projection, date(2000, 1, 1), date(2100, 1, 1), tenant=TENANT
            )

    async def balances(self) -> dict[int, int]:
        return balances(await self.vouchers())

    async def payment_vouchers(self) -> list[Voucher]:
        return [v for v in await self.vouchers() if v.series == SETTINGS.payment_voucher_series]


def balances(vouchers: Iterable[Voucher]) -> dict[int, int]:
    """Each account's balance (debit positive), accounts at zero left out."""
    sums: dict[int, int] = {}
    for v in vouchers:
        for r in v.rows:
            sums[r.account] = sums.get(r.account, 0) + r.amount_ore
    return {a: amount for a, amount in sorted(sums.items()) if amount != 0}


async def open_ledger(file: Path, settings: AccountingSettings = SETTINGS) -> Ledger:
    reg = registry()
    db = ReadModelDatabase(f"sqlite+aiosqlite:///{file}")
    projection = PostingsProjection(reg, settings)
    runner = ProjectionRunner(projection, db)
    await db.start()
    return Ledger(db, runner, projection, Log(reg))


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await open_ledger(tmp_path / "read_models.sqlite")
    try:
        yield opened
    finally:
        await opened.db.close()


# -- the rules, one event at a time -----------------------------------------------------------


def test_a_payment_received_debits_the_bank_and_credits_unidentified_payments() -> None:
    voucher = rule_payment_received(received("p-1", 125_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {BANK: 125_000, UNIDENTIFIED: -125_000}
    assert voucher.series == "KI"
    assert voucher.date == date(2026, 3, 1)  # the day the bank booked it
    assert voucher.text == "Inbetalning REF-p-1"


def test_the_bank_account_is_the_one_in_force_on_the_day_the_bank_booked_the_payment() -> None:
    settings = AccountingSettings(bank_account=Dated[int].table(("2020-01-01", 1930), (DAY, 1941)))
    before = rule_payment_received(received("p-1", 100, on=date(2026, 3, 1)), settings)
    after = rule_payment_received(received("p-2", 100, on=DAY), settings)
    assert before is not None
    assert after is not None
    assert rows_of(before) == {1930: 100, UNIDENTIFIED: -100}
    assert rows_of(after) == {1941: 100, UNIDENTIFIED: -100}


def test_a_payment_in_a_foreign_currency_is_never_booked() -> None:
    assert rule_payment_received(received("p-1", 50_000, currency="EUR"), SETTINGS) is None


def test_a_bank_reversal_line_takes_the_money_out_of_the_bank() -> None:
    # camt.054 RvslInd and BgMax deductions arrive as negative payments
    voucher = rule_payment_received(received("r-1", -125_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {BANK: -125_000, UNIDENTIFIED: 125_000}
    assert voucher.text.startswith("Återföring/avdrag")


def test_what_the_agency_collected_is_in_its_client_funds_not_in_our_bank() -> None:
    voucher = rule_payment_received(received("agency-1", 20_000, file_id="agency:A-7"), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {AGENCY: 20_000, UNIDENTIFIED: -20_000}


def test_an_allocation_moves_money_from_unidentified_onto_the_claim() -> None:
    voucher = rule_payment_allocated(allocated("p-1", 125_000), SETTINGS, DAY)
    assert voucher is not None
    assert rows_of(voucher) == {UNIDENTIFIED: 125_000, RECEIVABLES: -125_000}
    assert voucher.date == DAY


def test_a_negative_allocation_opens_the_claim_again() -> None:
    voucher = rule_payment_allocated(allocated("p-1", -125_000), SETTINGS, DAY)
    assert voucher is not None
    assert rows_of(voucher) == {UNIDENTIFIED: -125_000, RECEIVABLES: 125_000}
    assert voucher.text.startswith("Återförd inbetalning")


@pytest.mark.parametrize(
    ("component", "account"),
    [("interest", 8313), ("reminder_fee", 3594), ("collection_fee", 3595), ("other_cost", 3596)],
)
def test_interest_and_fees_collected_are_income_not_receivables(
    component: Component, account: int
) -> None:
    voucher = rule_payment_allocated(allocated("p-1", 18_000, component=component), SETTINGS, DAY)
    assert voucher is not None
    assert rows_of(voucher) == {UNIDENTIFIED: 18_000, account: -18_000}


def test_a_component_without_an_income_account_is_refused() -> None:
    settings = AccountingSettings(collected_component_accounts={"interest": 8313})
    with pytest.raises(AccountingError, match="collection_fee"):
        rule_payment_allocated(allocated("p-1", 100, component="collection_fee"), settings, DAY)


def test_a_zero_allocation_posts_nothing() -> None:
    assert rule_payment_allocated(allocated("p-1", 0), SETTINGS, DAY) is None


# -- the projection: each story's vouchers and what the accounts then hold --------------------


async def test_a_matched_payment_clears_the_receivable(ledger: Ledger) -> None:
    # Given an invoice of 1,250 kr, paid in full by OCR
    ledger.log.add(INVOICE)
    ledger.log.add(received("p-1", 125_000), matched("p-1"), allocated("p-1", 125_000))
    # When the ledger has seen both logs
    await ledger.deliver()
    # Then the payment is in the bank, 1512 is at zero and nothing waits in 9181
    assert await ledger.balances() == {BANK: 125_000, 2611: -25_000, 3011: -100_000}
    payments = await ledger.payment_vouchers()
    assert [(v.number, v.text) for v in payments] == [
        (1, "Inbetalning REF-p-1"),
        (2, "Inbetalning på faktura inv-1 (capital)"),
    ]


async def test_an_overpayment_becomes_the_customers_credit(ledger: Ledger) -> None:
    ledger.log.add(INVOICE)
    ledger.log.add(
        received("p-1", 150_000),
        matched("p-1"),
        allocated("p-1", 125_000),
        credit("p-1", 25_000),
    )
    await ledger.deliver()
    held = await ledger.balances()
    assert held[OVERPAYMENTS] == -25_000
    assert held.keys().isdisjoint({RECEIVABLES, UNIDENTIFIED})
    assert held[BANK] == 150_000


async def test_an_unmatched_payment_waits_in_unidentified(ledger: Ledger) -> None:
    ledger.log.add(received("p-1", 70_000), unmatched("p-1", 70_000))
    await ledger.deliver()
    assert await ledger.balances() == {BANK: 70_000, UNIDENTIFIED: -70_000}
    assert len(await ledger.vouchers()) == 1  # PaymentUnmatched posts nothing


async def test_credit_set_off_against_a_claim_moves_from_2482_to_1512(ledger: Ledger) -> None:
    # Given 500 kr of credit from an earlier overpayment (its invoice left out)
    ledger.log.add(INVOICE)
    ledger.log.add(received("p-0", 50_000), credit("p-0", 50_000))
    # When 300 kr of it is set off against the invoice
    ledger.log.add(
        CustomerCreditApplied(
            payment_id="p-0", customer_id="cust-1", invoice_id="inv-1", amount_ore=30_000
        ),
        allocated("p-0", 30_000),
    )
    await ledger.deliver()
    held = await ledger.balances()
    # Then 200 kr credit is left and 950 kr open
    assert (held[OVERPAYMENTS], held[RECEIVABLES]) == (-20_000, 95_000)
    assert UNIDENTIFIED not in held


async def test_a_refund_of_credit_posts_once_at_its_attest(ledger: Ledger) -> None:
    ledger.log.add(received("p-0", 50_000), credit("p-0", 50_000, reason="advance"))
    ledger.log.add(
        RefundRequested(
            refund_id="ref-1",
            payment_id=None,
            customer_id="cust-1",
            amount_ore=50_000,
            reason="förskott återbetalas",
            requested_by="case_officer::a",
        ),
        # The attest and the credit stream both announce the money going out
        RefundAttested(
            refund_id="ref-1", attested_by="ops_lead::b", amount_ore=50_000, customer_id="cust-1"
        ),
        CustomerCreditRefunded(
            refund_id="ref-1", payment_id="p-0", customer_id="cust-1", amount_ore=50_000
        ),
    )
    await ledger.deliver()
    # It goes out once, from the payout account; 2482 is at zero
    assert await ledger.balances() == {BANK: 50_000, PAYOUT: -50_000}
    assert (await ledger.payment_vouchers())[-1].text == "Återbetalning av tillgodo ref-1"


async def test_a_refund_of_an_unmatched_payment_goes_out_at_its_attest(ledger: Ledger) -> None:
    ledger.log.add(received("p-1", 70_000), unmatched("p-1", 70_000))
    ledger.log.add(
        RefundRequested(
            refund_id="ref-1",
            payment_id="p-1",
            customer_id=None,
            amount_ore=70_000,
            reason="okänd betalare",
            requested_by="case_officer::a",
        )
    )
    await ledger.deliver()
    # Asked for, not attested: the money is still ours, in 9181
    assert await ledger.balances() == {BANK: 70_000, UNIDENTIFIED: -70_000}
    # An attest stored before attests said what goes out: the request says it
    ledger.log.add(RefundAttested(refund_id="ref-1", attested_by="ops_lead::b"))
    await ledger.deliver()
    assert await ledger.balances() == {BANK: 70_000, PAYOUT: -70_000}


async def test_a_credit_or_refund_request_appended_on_two_streams_counts_once(
    ledger: Ledger,
) -> None:
    # Kept as credit from the queue: payments puts the credit on the payment's stream too
    ledger.log.add(received("p-1", 70_000), unmatched("p-1", 70_000))
    ledger.log.add(credit("p-1", 70_000, reason="advance"))
    ledger.log.add(credit("p-1", 70_000, reason="advance"), stream="payment-p-1")
    request = RefundRequested(
        refund_id="ref-1",
        payment_id=None,
        customer_id="cust-1",
        amount_ore=70_000,
        reason="förskott",
        requested_by="case_officer::a",
    )
    ledger.log.add(request, stream="payment-p-1")
    ledger.log.add(request, stream="refund-ref-1")
    await ledger.deliver()
    assert await ledger.balances() == {BANK: 70_000, OVERPAYMENTS: -70_000}


async def test_a_foreign_currency_payment_and_its_refund_post_nothing(ledger: Ledger) -> None:
    ledger.log.add(received("p-1", 50_000, currency="EUR"), unmatched("p-1", 50_000, "EUR"))
    ledger.log.add(
        RefundRequested(
            refund_id="ref-1",
            payment_id="p-1",
            customer_id=None,
            amount_ore=50_000,
            reason="EUR",
            requested_by="case_officer::a",
        ),
        RefundAttested(
            refund_id="ref-1", attested_by="ops_lead::b", amount_ore=50_000, payment_id="p-1"
        ),
    )
    await ledger.deliver()
    assert await ledger.vouchers() == []


async def test_a_reversal_undoes_the_payment_and_its_credit(ledger: Ledger) -> None:
    # Given an overpaid invoice: 1,250 kr allocated, 250 kr credit
    ledger.log.add(INVOICE)
    ledger.log.add(
        received("p-1", 150_000),
        matched("p-1"),
        allocated("p-1", 125_000),
        credit("p-1", 25_000),
    )
    # When the bank reverses the payment (its own line, then what the payment had done)
    ledger.log.add(
        received("r-1", -150_000),
        PaymentReversed(payment_id="p-1", reversal_bank_reference="REF-r-1", amount_ore=-150_000),
        allocated("p-1", -125_000),
        CustomerCreditReversed(payment_id="p-1", customer_id="cust-1", amount_ore=25_000),
    )
    await ledger.deliver()
    # Then the bank is back where it was, the invoice open again and the credit gone
    assert await ledger.balances() == {RECEIVABLES: 125_000, 2611: -25_000, 3011: -100_000}
    # and every voucher balances (Voucher refuses to exist otherwise)
    assert len(await ledger.payment_vouchers()) == 6


async def test_a_credit_note_on_a_paid_invoice_releases_the_payment_as_credit(
    ledger: Ledger,
) -> None:
    ledger.log.add(INVOICE)
    ledger.log.add(received("p-1", 125_000), matched("p-1"), allocated("p-1", 125_000))
    # A credit note for the whole invoice releases the payment (as payments does it)
    ledger.log.add(credit_note("inv-1", line("water", 25, 100_000), day=DAY))
    ledger.log.add(allocated("p-1", -125_000), credit("p-1", 125_000, reason="credit_note"))
    await ledger.deliver()
    # Revenue and VAT are gone, the money is the customer's credit, nothing is open
    assert await ledger.balances() == {BANK: 125_000, OVERPAYMENTS: -125_000}


async def test_the_agency_collects_capital_and_interest(ledger: Ledger) -> None:
    ledger.log.add(INVOICE)
    ledger.log.add(
        received("agency-1", 130_000, file_id="agency:A-7"),
        allocated("agency-1", 125_000),
        allocated("agency-1", 5_000, component="interest"),
    )
    await ledger.deliver()
    held = await ledger.balances()
    assert (held[AGENCY], held[8313]) == (130_000, -5_000)
    assert held.keys().isdisjoint({RECEIVABLES, UNIDENTIFIED, BANK})


async def test_cancelling_reverses_what_invoicing_posted_not_the_payments(
    ledger: Ledger,
) -> None:
    # A payment came and was reversed; the invoice is then cancelled
    ledger.log.add(INVOICE)
    ledger.log.add(received("p-1", 125_000), allocated("p-1", 125_000))
    ledger.log.add(received("r-1", -125_000), allocated("p-1", -125_000))
    ledger.log.add(cancelled("inv-1", day=date(2026, 3, 2)))
    await ledger.deliver()
    invoicing = [v for v in await ledger.vouchers() if v.series == "KF"]
    assert rows_of(invoicing[-1]) == {a: -amount for a, amount in rows_of(invoicing[0]).items()}
    assert await ledger.balances() == {}


async def test_the_same_vouchers_whichever_log_is_replayed_first(tmp_path: Path) -> None:
    first, second = (
        await open_ledger(tmp_path / "a.sqlite"),
        await open_ledger(tmp_path / "b.sqlite"),
    )
    try:
        for ledger in (first, second):
            ledger.log.add(INVOICE, cancelled("inv-1"))
            ledger.log.add(
                received("p-1", 150_000),
                allocated("p-1", 125_000),
                credit("p-1", 25_000),
                received("p-2", 9_900),
                unmatched("p-2", 9_900),
            )
        await first.deliver()
        await second.deliver(payments_first=True)
        assert await first.vouchers() == await second.vouchers()
        # and a rebuild, delivered in two batches, too
        before = await first.vouchers()
        await first.runner.reset()
        await first.runner.handle("payments", first.log.payments[:2])
        await first.deliver(payments_first=True)
        assert await first.vouchers() == before
    finally:
        await first.db.close()
        await second.db.close()
