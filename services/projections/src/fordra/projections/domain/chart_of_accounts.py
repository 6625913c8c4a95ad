"""The chart of accounts and the posting rules of the general ledger (domain.md §10).

domain.md §10 names the ledger accounts a read model must be able to reconcile (1512 customer
receivables, 2482 overpayments, 9181 unidentified payments, 1592 value adjustment, 2998 reversed
payment, 9895 collection agency client funds) and says that "postings go to the general ledger as
SIE 4i (text, codepage 437, ``#VER`` balanced to zero)". This module is the pure half of that:

- ``AccountingSettings``: which account each posting goes to. Revenue, VAT, bank and income
  accounts are not in domain.md; the defaults below are placeholders that each municipality
  replaces with its own chart (Kommun-Bas puts fees in 31xx and rents in 32xx, but every council
  numbers its own);
- the posting rules: an ``InvoiceIssued`` debits the receivables account with the total and credits
  revenue per line's service (net) and output VAT per rate; a ``CreditNoteIssued`` is the mirror
  image; an ``InvoiceCancelled`` reverses what still stands on the invoice. The money events'
  rules are in ``payment_postings.py``, the write-downs' and write-offs' in ``loss_postings.py``,
  the agency's costs in ``agency_postings.py``.

Small amounts held for a later invoice (``SmallAmountDeferred``) post nothing: nothing is owed
until they are invoiced, and then they are lines of that invoice and post with it. A dropped small
amount (``SmallAmountDropped``) was never a receivable, so it posts nothing either.

Signs follow SIE: a debit is positive, a credit negative, so a voucher balances when its rows sum
to zero. Every ``Voucher`` checks that on construction and refuses to exist otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fordra.contracts.invoicing import (
    CreditNoteIssued,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceLine,
    ServiceType,
    VatBreakdown,
)
from fordra.kernel.dated import Dated
from fordra.kernel.errors import FordraError

# Four to six digits: BAS and Kommun-Bas use four, some councils add a fifth or sixth for detail.
AccountNumber = Annotated[int, Field(ge=1000, le=999_999)]

# SIE's reserved dimension numbers (SIE 4B, #DIM): 1 is the cost centre, 6 the project.
COST_CENTRE_DIMENSION = 1

# Placeholders, not a standard: a municipality sets its own revenue account per service.
DEFAULT_REVENUE_ACCOUNTS: dict[ServiceType, int] = {
    "water": 3011,
    "waste": 3012,
    "electricity_grid": 3013,
    "electricity_supply": 3014,
    "childcare": 3021,
    "elderly_care": 3022,
    "music_school": 3023,
    "housing_rent": 3031,
    "premises_rent": 3032,
    "hall_rental": 3033,
    "food": 3041,
    "other": 3099,
}

# BAS's output-VAT accounts ("Utgående moms på försäljning inom Sverige") per rate; placeholders.
DEFAULT_OUTPUT_VAT_ACCOUNTS: dict[int, int] = {25: 2611, 12: 2621, 6: 2631}

# Seed 002's liquidity accounts of the city it describes ("1951 - Bankinkomster", "1954 -
# Bankutgifter"): payments come in on the one, refunds go out from the other. Placeholders too: a
# municipality with one bank account sets both to it.
DEFAULT_BANK_ACCOUNT = 1951
DEFAULT_PAYOUT_BANK_ACCOUNT = 1954

# What the collection agency collects beyond the capital (domain.md §3: interest and each kind of
# cost kept apart) was never on our receivables, so it is income when it comes in. Placeholders.
DEFAULT_COLLECTED_COMPONENT_ACCOUNTS: dict[str, int] = {
    "interest": 8313,
    "reminder_fee": 3594,
    "collection_fee": 3595,
    "other_cost": 3596,
}

# Names written as #KONTO in the SIE file for the default accounts (a municipality renames them
# along with the numbers).
DEFAULT_ACCOUNT_NAMES: dict[int, str] = {
    1512: "Kundfordringar",
    1592: "Värdereglering kundfordringar",
    1951: "Bankinkomster",
    1954: "Bankutgifter",
    2482: "Överbetalningar från kunder",
    2611: "Utgående moms försäljning 25 %",
    2621: "Utgående moms försäljning 12 %",
    2631: "Utgående moms försäljning 6 %",
    2998: "Återförd betalning",
    3011: "Vatten- och avloppsavgifter",
    3012: "Avfallsavgifter",
    3013: "Elnätsavgifter",
    3014: "Elförsäljning",
    3021: "Barnomsorgsavgifter",
    3022: "Äldreomsorgsavgifter",
    3023: "Musikskoleavgifter",
    3031: "Bostadshyror",
    3032: "Lokalhyror",
    3033: "Lokaluthyrning, tillfällig",
    3041: "Försäljning av livsmedel och måltider",
    3099: "Övriga försäljningsintäkter",
    3590: "Fakturerade avgifter",
    3594: "Påminnelseavgifter",
    3595: "Inkassoavgifter",
    3596: "Övriga kravkostnader",
    6351: "Konstaterade förluster på kundfordringar",
    6352: "Befarade förluster på kundfordringar",
    6354: "Inkassoutlägg vid återkallade ärenden",
    8313: "Dröjsmålsräntor kundfordringar",
    9181: "Oidentifierade inbetalningar",
    9895: "Klientmedel inkassobolag",
}


class AccountingError(FordraError):
    """A posting could not be made as the accounting settings and domain.md §10 require."""


class UnbalancedVoucher(AccountingError):
    """A voucher whose rows do not sum to zero: domain.md §10 requires every #VER to balance."""


class UnmappedVatRate(AccountingError):
    """An invoice charges VAT at a rate that has no output-VAT account in the settings."""


class AccountingSettings(BaseModel):
    """Which ledger account each posting goes to (domain.md §10). Nested in the app's settings,
    e.g. ``FORDRA_ACCOUNTING__VOUCHER_SERIES=KF``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # domain.md §10: "1512 customer receivables".
    receivables_account: AccountNumber = 1512
    # Revenue per service type. Placeholders a municipality sets to its own chart.
    revenue_accounts: dict[ServiceType, AccountNumber] = Field(
        default_factory=lambda: dict(DEFAULT_REVENUE_ACCOUNTS)
    )
    # A service left out of ``revenue_accounts`` (a partial override) still posts somewhere.
    fallback_revenue_account: AccountNumber = 3099
    # Late interest and fees invoiced as lines of their own are not the service's revenue
    # (domain.md §3 keeps them apart). BAS placeholders: interest income on short-term
    # receivables, and invoiced fees.
    interest_income_account: AccountNumber = 8313
    fee_income_account: AccountNumber = 3590
    # Output VAT per rate in percent. Rate 0 needs no account: it posts no VAT row.
    output_vat_accounts: dict[int, AccountNumber] = Field(
        default_factory=lambda: dict(DEFAULT_OUTPUT_VAT_ACCOUNTS)
    )
    # The other accounts of domain.md §10, for the payments, write-down and agency postings.
    overpayments_account: AccountNumber = 2482
    unidentified_payments_account: AccountNumber = 9181
    value_adjustment_account: AccountNumber = 1592
    reversed_payment_account: AccountNumber = 2998
    agency_client_funds_account: AccountNumber = 9895
    # A claim written down is a doubtful loss (befarad kundförlust) against the value adjustment
    # (1592); one written off an established loss (konstaterad kundförlust) against 1512
    # (domain.md §4, seed 002's "värdereglering" and "återvunna kundförluster"). BAS placeholders.
    doubtful_losses_account: AccountNumber = 6352
    established_losses_account: AccountNumber = 6351
    # What the agency debits the municipality for a case recalled after a payment order (its
    # outlays it can no longer recover from the debtor, seed 004), and where that is owed
    # (``domain/agency_postings.py`` says why the client funds by default). Placeholders.
    agency_costs_account: AccountNumber = 6354
    agency_costs_credit_account: AccountNumber = 9895
    # The bank account payments come in on and bank reversals and deductions leave by, and the
    # one refunds are paid out from (seed 002's 1951 and 1954), dated: a municipality that changes
    # bank changes the account on a date, and a rebuild still posts older payments to the old one.
    bank_account: Dated[AccountNumber] = Field(
        default_factory=lambda: Dated[AccountNumber].always(DEFAULT_BANK_ACCOUNT)
    )
    payout_bank_account: Dated[AccountNumber] = Field(
        default_factory=lambda: Dated[AccountNumber].always(DEFAULT_PAYOUT_BANK_ACCOUNT)
    )
    # The only currency the ledger books (domain.md §9: a payment in another currency is never
    # booked as SEK; it waits unmatched and is refunded).
    ledger_currency: str = Field(default="SEK", pattern=r"^[A-Z]{3}$")
    # Interest and fees the collection agency collected, per component (see the default's note).
    collected_component_accounts: dict[str, AccountNumber] = Field(
        default_factory=lambda: dict(DEFAULT_COLLECTED_COMPONENT_ACCOUNTS)
    )
    # The SIE voucher series of customer invoicing (invoices, credit notes, cancellations).
    voucher_series: str = Field(default="KF", pattern=r"^[A-Za-z0-9]{1,10}$")
    # The series of the payments' vouchers. A series of its own, fed by payments' log alone, so
    # that its numbers are the same after a rebuild whichever context's log is replayed first.
    payment_voucher_series: str = Field(default="KI", pattern=r"^[A-Za-z0-9]{1,10}$")
    # The series of write-downs, their recoveries and write-offs: fed by dunning's log alone, for
    # the same reason (``domain/loss_postings.py``).
    loss_voucher_series: str = Field(default="KN", pattern=r"^[A-Za-z0-9]{1,10}$")
    # The series of the agency's costs, fed by the agency gateway's log alone.
    agency_voucher_series: str = Field(default="KA", pattern=r"^[A-Za-z0-9]{1,10}$")
    # When set (1 is SIE's cost centre), revenue rows carry the invoicing department as an object
    # of that dimension. Off by default: the general ledger rejects objects it does not know, so
    # the department ids must first be the ledger's own cost-centre codes.
    cost_centre_dimension: int | None = Field(default=None, ge=1)
    account_names: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_ACCOUNT_NAMES))

    def revenue_account_for(self, service: ServiceType) -> int:
        return self.revenue_accounts.get(service, self.fallback_revenue_account)

    def line_account_for(self, line: InvoiceLine) -> int:
        """Where a line's net is credited: interest and fees apart from the service's revenue."""
        if line.kind == "interest":
            return self.interest_income_account
        if line.kind == "fee":
            return self.fee_income_account
        return self.revenue_account_for(line.service_type)

    def output_vat_account_for(self, rate: int) -> int:
        try:
            return self.output_vat_accounts[rate]
        except KeyError:
            known = ", ".join(f"{r} %" for r in sorted(self.output_vat_accounts))
            raise UnmappedVatRate(
                f"VAT at {rate} % has no output-VAT account (accounts are set for {known})"
            ) from None

    def collected_component_account_for(self, component: str) -> int:
        try:
            return self.collected_component_accounts[component]
        except KeyError:
            raise AccountingError(
                f"a collected {component} has no income account in the accounting settings"
            ) from None

    def account_name(self, account: int) -> str:
        return self.account_names.get(account, f"Konto {account}")


class PostingRow(BaseModel):
    """One #TRANS row: debit positive, credit negative, in öre."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: int = Field(ge=0)
    amount_ore: int
    # SIE objects: (dimension number, object id), e.g. ((1, "va-avdelningen"),).
    objects: tuple[tuple[int, str], ...] = ()
    text: str | None = None


class Voucher(BaseModel):
    """One #VER: a balanced set of rows on one date. ``number`` is None until the ledger numbers
    it (a serial per series, in the order the events were recorded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    series: str
    number: int | None = None
    date: dt.date
    text: str
    rows: tuple[PostingRow, ...]

    @model_validator(mode="after")
    def _balanced(self) -> Voucher:
        # Pydantic wraps only ValueError and AssertionError; ours passes through as itself, so an
        # unbalanced voucher surfaces as UnbalancedVoucher: a bug in a posting rule, not bad input.
        label = f"voucher {self.series} {self.number or ''}".strip()
        check_voucher_balanced((r.amount_ore for r in self.rows), what=f"{label} of {self.date}")
        return self

    @property
    def debit_ore(self) -> int:
        return sum(r.amount_ore for r in self.rows if r.amount_ore > 0)


def check_voucher_balanced(amounts: Iterable[int], *, what: str = "voucher") -> None:
    """domain.md §10: every #VER balanced to zero, and never empty (a voucher must move money)."""
    listed = list(amounts)
    if not listed:
        raise UnbalancedVoucher(f"{what} has no rows")
    total = sum(listed)
    if total != 0:
        raise UnbalancedVoucher(
            f"{what} does not balance: its rows sum to {total} öre, not 0 "
            f"(debit {sum(a for a in listed if a > 0)}, credit {-sum(a for a in listed if a < 0)})"
        )


def net_rows(rows: Iterable[PostingRow]) -> tuple[PostingRow, ...]:
    """Rows summed per (account, objects), in order of first appearance, zero sums left out:
    the general ledger wants one row per account, not one per invoice line."""
    sums: dict[tuple[int, tuple[tuple[int, str], ...]], int] = {}
    for row in rows:
        key = (row.account, row.objects)
        sums[key] = sums.get(key, 0) + row.amount_ore
    return tuple(
        PostingRow(account=account, amount_ore=amount, objects=objects)
        for (account, objects), amount in sums.items()
        if amount != 0
    )


def _revenue_and_vat(
    lines: Iterable[InvoiceLine],
    vat: Iterable[VatBreakdown],
    settings: AccountingSettings,
    department: str | None,
    sign: int,
) -> list[PostingRow]:
    objects: tuple[tuple[int, str], ...] = ()
    if settings.cost_centre_dimension is not None and department:
        objects = ((settings.cost_centre_dimension, department),)
    revenue = [
        PostingRow(
            account=settings.line_account_for(line),
            amount_ore=sign * line.net_ore,
            objects=objects,
        )
        for line in lines
    ]
    # VAT was rounded once per rate on the invoice (domain.md §2), so it posts per rate, from the
    # invoice's own breakdown: recomputing it per line could differ by an öre and unbalance.
    output_vat = [
        PostingRow(account=settings.output_vat_account_for(b.vat_rate), amount_ore=sign * b.vat_ore)
        for b in vat
        if b.vat_ore != 0
    ]
    return [*net_rows(revenue), *net_rows(output_vat)]


def invoice_voucher(event: InvoiceIssued, settings: AccountingSettings) -> Voucher:
    """An issued invoice: debit receivables (1512) with the total; credit revenue per service
    (net) and output VAT per rate. Held small amounts are lines of the invoice and post here."""
    rows = [
        PostingRow(account=settings.receivables_account, amount_ore=event.total_ore),
        *_revenue_and_vat(event.lines, event.vat, settings, event.department, sign=-1),
    ]
    return Voucher(
        series=settings.voucher_series,
        date=event.invoice_date,
        text=f"Kundfaktura {event.invoice_number}",
        rows=tuple(rows),
    )


def credit_note_voucher(
    event: CreditNoteIssued,
    settings: AccountingSettings,
    *,
    department: str | None = None,
    invoice_number: str | None = None,
) -> Voucher:
    """A credit note: the invoice's posting reversed for the credited lines — credit receivables
    (1512) with the total; debit revenue per service and output VAT per rate.

    ``department`` and ``invoice_number`` come from the credited invoice (the event carries only
    its id); the department is the revenue rows' cost centre when the settings ask for one."""
    rows = [
        PostingRow(account=settings.receivables_account, amount_ore=-event.total_ore),
        *_revenue_and_vat(event.lines, event.vat, settings, department, sign=1),
    ]
    on = f" på faktura {invoice_number}" if invoice_number else ""
    return Voucher(
        series=settings.voucher_series,
        date=event.issued_on,
        text=f"Kreditfaktura {event.credit_note_number}{on}",
        rows=tuple(rows),
    )


def cancellation_voucher(
    event: InvoiceCancelled,
    standing: Iterable[PostingRow],
    settings: AccountingSettings,
    *,
    invoice_number: str | None = None,
) -> Voucher | None:
    """A cancellation (makulering) reverses the invoice's voucher on the cancellation date.

    ``standing`` is every row posted on the invoice so far (its voucher and any credit notes'):
    reversing their net leaves the invoice at zero even if a rule change ever lets a partly
    credited invoice be cancelled. Today invoicing allows it only while unpaid and uncredited
    (seed 002), so this is exactly the original voucher negated. None when the postings already
    net to zero (a fully credited invoice): there is nothing left to reverse."""
    listed = list(standing)
    if not listed:
        raise AccountingError(
            f"invoice {event.invoice_id} has nothing posted to reverse: its invoice voucher is "
            "missing from the ledger"
        )
    remaining = net_rows(listed)
    if not remaining:
        return None
    rows = tuple(
        PostingRow(account=r.account, amount_ore=-r.amount_ore, objects=r.objects)
        for r in remaining
    )
    ref = invoice_number or event.invoice_id
    return Voucher(
        series=settings.voucher_series,
        date=event.cancelled_on,
        text=f"Makulerad faktura {ref}",
        rows=rows,
    )
