"""The posting rule of what a recall costs the municipality (domain.md §5 and §10; seed 004: "De
enda kostnader Visma debiterar ... uppstår vid sent återkallade ärenden (efter ansökan om
betalningsföreläggande hos kronofogden ...)").

A case recalled after a payment order leaves the agency with Kronofogden's outlays it can no
longer take from the debtor; the agency gateway records them as
``AgencyCaseChanged(status="recalled", municipality_cost_ore=...)``. They are the municipality's
cost: debit the agency-costs account (a setting; placeholder 6354 in BAS's group 635 of losses on
customer receivables, since the cost is that of a claim given up, and kept beside the write-offs
in the reports), credit the agency's client funds (9895, domain.md §10) by default: the agency
settles what it debits against the collected money it holds for us and remits net, and seed 002
reconciles 9895 daily, so the cost lowers what 9895 says the agency owes. A municipality the agency
invoices instead sets ``agency_costs_credit_account`` to its supplier payables (BAS 2440).

Posted in a series of its own (``agency_voucher_series``, default "KA") fed by the agency
gateway's log alone, so that a rebuild numbers it the same whichever log is replayed first. The
voucher names the case and the invoice by id: the invoice's number is in invoicing's series, and
reading it would make the text depend on which log a rebuild replays first.
"""

from __future__ import annotations

from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.projections.domain.chart_of_accounts import (
    AccountingError,
    AccountingSettings,
    PostingRow,
    Voucher,
)


def rule_agency_cost(event: AgencyCaseChanged, settings: AccountingSettings) -> Voucher | None:
    """The municipality's cost of a case step (a late recall): debit the agency-costs account,
    credit the agency's client funds (module docstring). None when the step costs nothing."""
    cost = event.municipality_cost_ore
    if cost == 0:
        return None
    if cost < 0:
        raise AccountingError(
            f"case {event.case_id} ({event.status}) costs the municipality a negative amount "
            f"({cost} öre)"
        )
    return Voucher(
        series=settings.agency_voucher_series,
        date=event.occurred_on,
        text=f"Inkassoutlägg, återkallat ärende {event.case_id} (faktura {event.invoice_id})"[:200],
        rows=(
            PostingRow(account=settings.agency_costs_account, amount_ore=cost),
            PostingRow(account=settings.agency_costs_credit_account, amount_ore=-cost),
        ),
    )
