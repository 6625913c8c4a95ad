"""Write-downs and write-offs in the general ledger and the customer ledger (domain.md §4
"Write-down and write-off" and §10; seed 001 "Nedskrivning eller avskrivning", seed 002's 1512
and 1592): dunning's ``ClaimWrittenDown``, ``WriteDownRecovered`` and ``ClaimWrittenOff``
delivered with invoicing's and payments' logs to the real projections over a SQLite read-model
database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fordra.contracts.dunning import (
    ClaimWrittenDown,
    ClaimWrittenOff,
    ReminderSent,
    WriteDownRecovered,
    WriteOffReason,
)
from fordra.contracts.invoicing import CustomerRegistered
from fordra.contracts.payments import PaymentAllocated, PaymentReceived
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from fordra.projections.application.customer_ledger import (
    CustomerLedgerProjection,
    read_customer_ledger,
)
from fordra.projections.application.postings import PostingsProjection, read_vouchers
from fordra.projections.domain.chart_of_accounts import (
    AccountingError,
    AccountingSettings,
    Voucher,
)
from fordra.projections.domain.loss_postings import (
    rule_claim_written_down,
    rule_claim_written_off,
    rule_write_down_recovered,
)
from tests.dunning.test_interest_charges import Log, issued, registry
from tests.projections.test_postings import credit_note, line
from tests.utils.platform import fresh_database

SETTINGS = AccountingSettings()
RECEIVABLES, ADJUSTMENT, DOUBTFUL, ESTABLISHED = 1512, 1592, 6352, 6351
BANK, UNIDENTIFIED = 1951, 9181
DUE = date(2026, 1, 31)  # inv-1's due date; issued 30 days before
DOWN_ON, RECOVERED_ON, OFF_ON = date(2026, 6, 1), date(2026, 7, 1), date(2026, 9, 1)

# -- factories --------------------------------------------------------------------------------


def written_down(amount_ore: int, invoice_id: str = "inv-1", serial: int = 1) -> ClaimWrittenDown:
    return ClaimWrittenDown(
        invoice_id=invoice_id,
        customer_id="cust-1",
        service_type="water",
        invoice_number=f"{serial:08d}",
        department="va",
        written_down_on=DOWN_ON,
        amount_ore=amount_ore,
        reason="obestånd efter utmätningsförsök",
    )


def recovered(amount_ore: int, on: date = RECOVERED_ON) -> WriteDownRecovered:
    return WriteDownRecovered(
        invoice_id="inv-1", customer_id="cust-1", recovered_on=on, amount_ore=amount_ore
    )


def written_off(
    amount_ore: int,
    value_adjustment_ore: int,
    *,
    invoice_id: str = "inv-1",
    serial: int = 1,
    reason: WriteOffReason = "death",
) -> ClaimWrittenOff:
    return ClaimWrittenOff(
        invoice_id=invoice_id,
        customer_id="cust-1",
        service_type="water",
        invoice_number=f"{serial:08d}",
        department="va",
        written_off_on=OFF_ON,
        amount_ore=amount_ore,
        value_adjustment_ore=value_adjustment_ore,
        reason=reason,
        decision_reference="KS 2026/114",
    )


def received(payment_id: str, amount_ore: int) -> PaymentReceived:
    return PaymentReceived(
        payment_id=payment_id,
        file_id="file-1",
        bank_reference=f"REF-{payment_id}",
        amount_ore=amount_ore,
        currency="SEK",
        reference="12345682",
        reference_kind="ocr",
        received_on=RECOVERED_ON,
    )


def allocated(payment_id: str, amount_ore: int) -> PaymentAllocated:
    return PaymentAllocated(
        payment_id=payment_id,
        invoice_id="inv-1",
        customer_id="cust-1",
        component="capital",
        service_type="water",
        amount_ore=amount_ore,
    )


def rows_of(voucher: Voucher) -> dict[int, int]:
    return {r.account: r.amount_ore for r in voucher.rows}


def balances(vouchers: Iterable[Voucher]) -> dict[int, int]:
    sums: dict[int, int] = {}
    for v in vouchers:
        for r in v.rows:
            sums[r.account] = sums.get(r.account, 0) + r.amount_ore
    return {a: amount for a, amount in sorted(sums.items()) if amount != 0}


# -- the rules --------------------------------------------------------------------------------


def test_a_write_down_adjusts_the_value_and_leaves_the_receivable() -> None:
    voucher = rule_claim_written_down(written_down(1_000_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {DOUBTFUL: 1_000_000, ADJUSTMENT: -1_000_000}
    assert (voucher.series, voucher.date) == ("KN", DOWN_ON)
    assert voucher.text == "Nedskrivning faktura 00000001"


def test_a_recovery_reverses_the_adjustment_and_a_reversed_payment_its_mirror() -> None:
    back = rule_write_down_recovered(recovered(300_000), SETTINGS, invoice_number="00000001")
    assert back is not None
    assert rows_of(back) == {ADJUSTMENT: 300_000, DOUBTFUL: -300_000}
    assert back.text == "Återvunnen kundförlust faktura 00000001"
    again = rule_write_down_recovered(recovered(-300_000), SETTINGS)
    assert again is not None
    assert rows_of(again) == {ADJUSTMENT: -300_000, DOUBTFUL: 300_000}


def test_a_write_off_after_a_write_down_takes_what_stands_out_of_1592() -> None:
    voucher = rule_claim_written_off(written_off(700_000, 500_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {ADJUSTMENT: 500_000, ESTABLISHED: 200_000, RECEIVABLES: -700_000}
    assert voucher.text == "Avskrivning faktura 00000001, dödsfall, beslut KS 2026/114"


def test_a_write_off_without_a_write_down_is_an_established_loss() -> None:
    voucher = rule_claim_written_off(written_off(700_000, 0, reason="bankruptcy"), SETTINGS)
    assert voucher is not None
    # No row of zero on 1592 or 6352
    assert [(r.account, r.amount_ore) for r in voucher.rows] == [
        (ESTABLISHED, 700_000),
        (RECEIVABLES, -700_000),
    ]


def test_a_write_down_beyond_what_is_open_goes_back_to_doubtful_losses() -> None:
    # A credit note of 4,000 kr after a write-down of 10,000 kr: 6,000 kr is open
    voucher = rule_claim_written_off(written_off(600_000, 1_000_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {ADJUSTMENT: 1_000_000, DOUBTFUL: -400_000, RECEIVABLES: -600_000}


def test_nothing_moved_posts_nothing_and_a_negative_amount_is_refused() -> None:
    assert rule_claim_written_down(written_down(0), SETTINGS) is None
    assert rule_write_down_recovered(recovered(0), SETTINGS) is None
    assert rule_claim_written_off(written_off(0, 0), SETTINGS) is None
    with pytest.raises(AccountingError, match="negative"):
        rule_claim_written_down(written_down(-1), SETTINGS)
    with pytest.raises(AccountingError, match="negative"):
        rule_claim_written_off(written_off(100, -1), SETTINGS)


def test_the_loss_rows_carry_the_department_as_cost_centre_when_asked() -> None:
    settings = AccountingSettings(cost_centre_dimension=1, loss_voucher_series="NED")
    voucher = rule_claim_written_off(written_off(700_000, 500_000), settings)
    assert voucher is not None
    assert voucher.series == "NED"
    assert {r.account: r.objects for r in voucher.rows} == {
        ADJUSTMENT: (),
        ESTABLISHED: ((1, "va"),),
        RECEIVABLES: (),
    }


# -- through the projections ------------------------------------------------------------------


@dataclass
class Books:
    """The general ledger and the customer ledger over one read-model database."""

    db: ReadModelDatabase
    postings: PostingsProjection
    ledger: CustomerLedgerProjection
    runners: list[ProjectionRunner]
    logs: dict[str, Log] = field(default_factory=dict)

    async def deliver(self, order: tuple[str, ...] = ("invoicing", "payments", "dunning")) -> None:
        for context in order:
            log = self.logs[context]
            for runner in self.runners:
                if log.envelopes and context in runner.projection.upstreams:
                    await runner.handle(context, log.envelopes)

    async def vouchers(self, series: str | None = None) -> list[Voucher]:
        async with self.db.engine.connect() as conn:
            found = await read_vouchers(conn, self.postings, date(2000, 1, 1), date(2100, 1, 1))
        return [v for v in found if series is None or v.series == series]

    async def read(self, today: date, department: str | None = None) -> dict[str, Any]:
        async with self.db.engine.connect() as conn:
            found = await read_customer_ledger(
                conn, self.ledger, "cust-1", today, department=department
            )
        assert found is not None
        return found.model_dump(mode="json")


async def open_books(
    file: Path | str, logs: dict[str, Log] | None = None, *, schema: str | None = None
) -> Books:
    """Over a SQLite file, or over ``file`` as a database URL (PostgreSQL) with ``schema``."""
    reg: EventRegistry = registry()
    url = file if isinstance(file, str) else f"sqlite+aiosqlite:///{file}"
    db = ReadModelDatabase(url, schema=schema)
    postings, ledger = PostingsProjection(reg, SETTINGS), CustomerLedgerProjection(reg)
    runners = [ProjectionRunner(postings, db), ProjectionRunner(ledger, db)]
    await db.start()
    if logs is None:
        logs = {c: Log(c, reg) for c in ("invoicing", "payments", "dunning")}
        logs["invoicing"].add(
            CustomerRegistered(
                customer_id="cust-1", kind="person", id_kind="personnummer", personal=None
            ),
            date(2025, 12, 1),
        )
        logs["invoicing"].add(issued(DUE), date(2026, 1, 1))
    return Books(db, postings, ledger, runners, logs)


@pytest.fixture
async def books(tmp_path: Path) -> AsyncIterator[Books]:
    opened = await open_books(tmp_path / "read_models.sqlite")
    try:
        yield opened
    finally:
        await opened.db.close()


def write_down_recover_and_write_off(books: Books) -> None:
    """A 10,000 kr claim written down whole, 3,000 kr of capital paid, then written off."""
    books.logs["dunning"].add(
        ReminderSent(
            letter_id="letter-1",
            invoice_id="inv-1",
            customer_id="cust-1",
            service_type="water",
            sent_on=date(2026, 2, 7),
            pay_by=date(2026, 2, 21),
            capital_ore=1_000_000,
            fee_ore=0,
            interest_ore=0,
            next_step="agency",
        ),
        date(2026, 2, 7),
    )
    books.logs["dunning"].add(written_down(1_000_000), DOWN_ON)
    books.logs["payments"].add(received("p-1", 300_000), RECOVERED_ON)
    books.logs["payments"].add(allocated("p-1", 300_000), RECOVERED_ON)
    books.logs["dunning"].add(recovered(300_000), RECOVERED_ON)


def invoice_row(ledger: dict[str, Any]) -> dict[str, Any]:
    [row] = ledger["invoices"]
    return row


async def test_written_down_recovered_then_written_off(books: Books) -> None:
    write_down_recover_and_write_off(books)
    await books.deliver()
    # Then the write-down and the recovery are vouchers 1 and 2 of series KN
    kn = await books.vouchers("KN")
    assert [(v.number, v.date, v.text, rows_of(v)) for v in kn] == [
        (
            1,
            DOWN_ON,
            "Nedskrivning faktura 00000001",
            {DOUBTFUL: 1_000_000, ADJUSTMENT: -1_000_000},
        ),
        (
            2,
            RECOVERED_ON,
            "Återvunnen kundförlust faktura 00000001",
            {ADJUSTMENT: 300_000, DOUBTFUL: -300_000},
        ),
    ]
    # The claim is still owed, 7,000 kr of it written down; the customer on a credit stop
    ledger = await books.read(date(2026, 8, 1))
    row = invoice_row(ledger)
    assert (row["status"], row["open_ore"], row["paid_ore"]) == ("written_down", 700_000, 300_000)
    assert (row["written_down_ore"], row["written_down_on"]) == (700_000, "2026-06-01")
    assert (row["written_off_ore"], row["written_off_on"], row["write_off_reason"]) == (
        0,
        None,
        None,
    )
    assert ledger["balance_ore"] == ledger["overdue_ore"] == 700_000
    assert ledger["credit_stop"] == {"since": "2026-06-01", "reason": "written_down"}
    # and 1592 holds what stands of the write-down, the claim's open amount
    assert balances(await books.vouchers())[ADJUSTMENT] == -700_000
    interest_before = row["interest_ore"]

    # When what is open is written off
    books.logs["dunning"].add(written_off(700_000, 700_000), OFF_ON)
    await books.deliver()
    [*_, off] = await books.vouchers("KN")
    assert (off.number, off.date) == (3, OFF_ON)
    assert rows_of(off) == {ADJUSTMENT: 700_000, RECEIVABLES: -700_000}
    # Then the claim is closed: nothing open, the loss its own component, the totals reconcile
    ledger = await books.read(date(2026, 12, 1))
    row = invoice_row(ledger)
    assert row["status"] == "written_off"
    assert (row["open_ore"], row["written_off_ore"], row["written_down_ore"]) == (0, 700_000, 0)
    assert (row["written_off_on"], row["write_off_reason"]) == ("2026-09-01", "death")
    assert row["write_off_decision_reference"] == "KS 2026/114"
    assert row["written_down_on"] == "2026-06-01"  # noted in the ledger (seed 001)
    assert (
        row["total_ore"] - row["credited_ore"] - row["paid_ore"] - row["written_off_ore"]
        == row["open_ore"]
        == 0
    )
    assert ledger["balance_ore"] == ledger["overdue_ore"] == 0
    assert ledger["credit_stop"] == {"since": "2026-06-01", "reason": "written_off"}
    # No interest after the write-off: what it had on 1 September, and more than on 1 August
    assert row["interest_ore"] == (await books.read(OFF_ON))["invoices"][0]["interest_ore"]
    assert row["interest_ore"] > interest_before
    # and the claim is out of the books: 1512 and 1592 at zero, the loss expensed as doubtful
    assert balances(await books.vouchers()) == {
        BANK: 300_000,
        DOUBTFUL: 700_000,
        2611: -200_000,
        3011: -800_000,
    }


async def test_written_off_without_a_write_down(books: Books) -> None:
    books.logs["dunning"].add(written_off(1_000_000, 0, reason="bankruptcy"), OFF_ON)
    await books.deliver()
    [off] = await books.vouchers("KN")
    assert (off.number, rows_of(off)) == (1, {ESTABLISHED: 1_000_000, RECEIVABLES: -1_000_000})
    ledger = await books.read(date(2026, 10, 1))
    row = invoice_row(ledger)
    assert (row["status"], row["open_ore"], row["written_off_ore"]) == ("written_off", 0, 1_000_000)
    assert (row["written_down_ore"], row["written_down_on"]) == (0, None)
    assert row["write_off_reason"] == "bankruptcy"
    assert ledger["credit_stop"] == {"since": "2026-09-01", "reason": "written_off"}
    assert balances(await books.vouchers()) == {
        ESTABLISHED: 1_000_000,
        2611: -200_000,
        3011: -800_000,
    }


async def test_a_credit_note_after_the_write_down_sends_the_excess_back(books: Books) -> None:
    # Given a 10,000 kr claim written down whole, then credited 4,000 kr (3,200 kr + 25 % VAT)
    books.logs["dunning"].add(written_down(1_000_000), DOWN_ON)
    books.logs["invoicing"].add(credit_note("inv-1", line("water", 25, 320_000)), date(2026, 7, 1))
    # When the 6,000 kr open is written off while 10,000 kr of the write-down stands
    books.logs["dunning"].add(written_off(600_000, 1_000_000), OFF_ON)
    await books.deliver()
    [_, off] = await books.vouchers("KN")
    assert rows_of(off) == {ADJUSTMENT: 1_000_000, DOUBTFUL: -400_000, RECEIVABLES: -600_000}
    # Then 1512 and 1592 are at zero and 6,000 kr is the loss
    assert balances(await books.vouchers()) == {
        DOUBTFUL: 600_000,
        2611: -120_000,
        3011: -480_000,
    }
    row = invoice_row(await books.read(date(2026, 10, 1)))
    assert (row["status"], row["open_ore"], row["credited_ore"]) == ("written_off", 0, 400_000)
    assert row["total_ore"] - row["credited_ore"] - row["paid_ore"] - row["written_off_ore"] == 0


async def test_a_department_is_told_of_another_departments_write_off(books: Books) -> None:
    # The customer's water claim written off; the school reads its own (empty) share
    books.logs["dunning"].add(written_off(1_000_000, 0), OFF_ON)
    await books.deliver()
    ledger = await books.read(date(2026, 10, 1), department="musikskolan")
    assert ledger["invoices"] == []
    assert ledger["credit_stop"] == {"since": "2026-09-01", "reason": "written_off"}


async def test_a_write_down_recovered_in_full_keeps_the_credit_stop(books: Books) -> None:
    # As dunning's credit-stop list: the customer did not pay on time, and no event lifts a stop
    books.logs["dunning"].add(written_down(300_000), DOWN_ON)
    books.logs["dunning"].add(recovered(300_000), RECOVERED_ON)
    await books.deliver()
    ledger = await books.read(date(2026, 8, 1))
    assert ledger["credit_stop"] == {"since": "2026-06-01", "reason": "written_down"}
    row = invoice_row(ledger)
    assert (row["written_down_ore"], row["written_down_on"]) == (0, "2026-06-01")


async def test_a_rebuild_gives_the_same_vouchers_and_ledger_whichever_log_comes_first(
    tmp_path: Path,
) -> None:
    first = await open_books(tmp_path / "a.sqlite")
    write_down_recover_and_write_off(first)
    first.logs["dunning"].add(written_off(700_000, 700_000), OFF_ON)
    second = await open_books(tmp_path / "b.sqlite", first.logs)
    try:
        await first.deliver()
        await second.deliver(("dunning", "payments", "invoicing"))
        before = (await first.vouchers(), await first.read(date(2026, 12, 1)))
        assert (await second.vouchers(), await second.read(date(2026, 12, 1))) == before
        # and a rebuild from zero, dunning first
        for runner in first.runners:
            await runner.reset()
        assert await first.vouchers() == []
        await first.deliver(("dunning", "invoicing", "payments"))
        assert (await first.vouchers(), await first.read(date(2026, 12, 1))) == before
    finally:
        await first.db.close()
        await second.db.close()


async def test_a_database_made_before_gains_dunnings_log_and_the_new_table(tmp_path: Path) -> None:
    """Before issue 15 the general ledger did not follow dunning and the customer ledger had no
    write-down table: such a database, its projections up to date with invoicing and payments
    (dunning's log held no write-down then), is brought up by the runners' tracking per
    upstream: dunning's starts at 0, and the start creates the missing table."""
    file = tmp_path / "read_models.sqlite"
    old = await open_books(file)
    write_down_recover_and_write_off(old)
    old.logs["dunning"].add(written_off(700_000, 700_000), OFF_ON)
    # The reference: the same logs into a new database
    fresh = await open_books(tmp_path / "fresh.sqlite", old.logs)
    await fresh.deliver()
    expected = (await fresh.vouchers(), await fresh.read(date(2026, 12, 1)))
    await fresh.db.close()
    # Given the old database: the general ledger never saw dunning, the write-down table missing
    await old.deliver(("invoicing", "payments"))
    async with old.db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE ledger_write_downs"))
    await old.db.close()
    # When the new version starts on it and the bus delivers every upstream from its tracking
    new = await open_books(file, old.logs)
    try:
        await new.deliver()
        # Then the vouchers and the ledger are those of a database built from zero
        assert (await new.vouchers(), await new.read(date(2026, 12, 1))) == expected
    finally:
        await new.db.close()


async def test_postgresql_keeps_the_same_books(tmp_path: Path, postgres_server: Any) -> None:
    """The distributed engine's read models: the upserts of the write-down table and the
    vouchers are those of SQLite, a long decision reference included."""
    lite = await open_books(tmp_path / "read_models.sqlite")
    write_down_recover_and_write_off(lite)
    long_reference = written_off(700_000, 700_000).model_copy(
        update={"decision_reference": "KS 2026/114 " + "§" * 300}
    )
    lite.logs["dunning"].add(written_down(200_000, "inv-2", serial=2), DOWN_ON)
    lite.logs["invoicing"].add(issued(DUE, invoice_id="inv-2", serial=2), date(2026, 1, 1))
    lite.logs["dunning"].add(long_reference, OFF_ON)
    pg = await open_books(await fresh_database(postgres_server.url), lite.logs, schema="rm")
    try:
        await lite.deliver()
        await pg.deliver(("dunning", "payments", "invoicing"))
        assert await pg.vouchers() == await lite.vouchers()
        on_pg = await pg.read(date(2026, 12, 1))
        assert on_pg == await lite.read(date(2026, 12, 1))
        assert [i["status"] for i in on_pg["invoices"]] == ["written_off", "written_down"]
    finally:
        await lite.db.close()
        await pg.db.close()
