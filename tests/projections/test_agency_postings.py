"""What a recall after a payment order costs the municipality (seed 004: the agency's outlays it
cannot recover from the debtor) posts in the agency series, debit the agency-costs account, credit
the agency's client funds (9895, domain.md §10); the gateway's other events post nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fordra.contracts.agency_gateway import AgencyCaseChanged, AgencyCaseStatus
from fordra.projections.domain.agency_postings import rule_agency_cost
from fordra.projections.domain.chart_of_accounts import AccountingError, AccountingSettings
from tests.dunning.test_interest_charges import Log
from tests.projections.test_write_offs import open_books, rows_of

SETTINGS = AccountingSettings()
COSTS, CLIENT_FUNDS = 6354, 9895
RECALLED_ON = date(2026, 5, 4)


def changed(
    status: AgencyCaseStatus, cost_ore: int = 0, case_id: str = "case-1"
) -> AgencyCaseChanged:
    return AgencyCaseChanged(
        case_id=case_id,
        invoice_id="inv-1",
        customer_id="cust-1",
        agency="reference",
        status=status,
        occurred_on=RECALLED_ON,
        costs_ore=68_000 if status == "payment_order_filed" else 0,
        municipality_cost_ore=cost_ore,
    )


def test_a_late_recall_is_the_municipalitys_cost_against_the_client_funds() -> None:
    voucher = rule_agency_cost(changed("recalled", 68_000), SETTINGS)
    assert voucher is not None
    assert rows_of(voucher) == {COSTS: 68_000, CLIENT_FUNDS: -68_000}
    assert (voucher.series, voucher.date) == ("KA", RECALLED_ON)
    assert voucher.text == "Inkassoutlägg, återkallat ärende case-1 (faktura inv-1)"


def test_a_step_that_costs_nothing_posts_nothing_and_a_negative_cost_is_refused() -> None:
    assert rule_agency_cost(changed("recalled", 0), SETTINGS) is None
    assert rule_agency_cost(changed("payment_order_filed"), SETTINGS) is None
    with pytest.raises(AccountingError, match="negative"):
        rule_agency_cost(changed("recalled", -1), SETTINGS)


def test_an_invoicing_municipality_sets_its_payables() -> None:
    settings = AccountingSettings(agency_costs_credit_account=2440, agency_voucher_series="IK")
    voucher = rule_agency_cost(changed("recalled", 68_000), settings)
    assert voucher is not None
    assert (voucher.series, rows_of(voucher)) == ("IK", {COSTS: 68_000, 2440: -68_000})


async def test_the_gateways_log_posts_its_recalls_in_a_series_of_its_own(tmp_path: Path) -> None:
    books = await open_books(tmp_path / "read_models.sqlite")
    try:
        gateway = Log("agency-gateway", books.logs["invoicing"].registry)
        books.logs["agency-gateway"] = gateway
        gateway.add(changed("opened"), date(2026, 3, 2))
        gateway.add(changed("payment_order_filed"), date(2026, 4, 1))
        gateway.add(changed("recalled", 68_000), RECALLED_ON)
        gateway.add(changed("recalled", 98_000, case_id="case-2"), RECALLED_ON)
        await books.deliver(("agency-gateway", "invoicing"))
        ka = await books.vouchers("KA")
        assert [(v.number, v.date, rows_of(v)) for v in ka] == [
            (1, RECALLED_ON, {COSTS: 68_000, CLIENT_FUNDS: -68_000}),
            (2, RECALLED_ON, {COSTS: 98_000, CLIENT_FUNDS: -98_000}),
        ]
        # The same after a rebuild, invoicing's log first this time
        for runner in books.runners:
            await runner.reset()
        await books.deliver(("invoicing", "agency-gateway"))
        assert await books.vouchers("KA") == ka
    finally:
        await books.db.close()
