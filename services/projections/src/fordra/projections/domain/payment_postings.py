"""The posting rules of the money events (domain.md §10: 1512 customer receivables, 2482
overpayments, 9181 unidentified payments, 9895 collection agency client funds; seed 002 lists them
as the customer ledger's balance and transit accounts to reconcile).

Every money event posts a balanced voucher of its own, from the event alone, with the
unidentified-payments account (9181) as the clearing account every payment passes through:

- money in the bank is first unidentified: a payment received debits the bank and credits 9181;
- placing it moves it out of 9181: onto a claim (credit 1512), onto the customer's credit (2482),
  or out of the bank again (a refund);
- so 9181's balance is what was received and not yet placed, which is the unmatched-payments
  queue; 2482's is the customers' credit; 1512's, with the invoice vouchers, what is open.

``rule_*`` names say which rule each function is; the table in the README repeats them. Signs
follow SIE (debit positive); every amount is signed as its event signs it, so a negative
allocation (taken back by a reversal, released by a credit note) posts its mirror image.
"""

from __future__ import annotations

import datetime as dt

from fordra.contracts.payments import (
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
    PaymentReceived,
)
from fordra.projections.domain.chart_of_accounts import AccountingSettings, PostingRow, Voucher

# Payments the collection agency collected arrive through payments' ``payments-agency`` process
# manager as a ``PaymentReceived`` whose ``file_id`` is ``agency:<agency reference>``
# (payments/application/agency_payments.py): that money is in the agency's client-funds account
# (seed 002: "9895 - Sergel inkasso klientmedel"), not in our bank, until the agency remits it.
AGENCY_FILE_PREFIX = "agency:"

# A voucher text is at most 200 characters in the ledger's table; bank references can be long.
_TEXT_MAX = 200


def is_booked_currency(currency: str, settings: AccountingSettings) -> bool:
    """domain.md §9: a payment in another currency is never booked as SEK. It waits unmatched
    and is only refunded, so none of its events post."""
    return currency == settings.ledger_currency


def _voucher(
    settings: AccountingSettings,
    day: dt.date,
    text: str,
    *,
    debit: int,
    credit: int,
    amount: int,
) -> Voucher | None:
    if amount == 0:
        return None  # a voucher must move money (check_voucher_balanced refuses an empty one)
    return Voucher(
        series=settings.payment_voucher_series,
        date=day,
        text=text[:_TEXT_MAX],
        rows=(
            PostingRow(account=debit, amount_ore=amount),
            PostingRow(account=credit, amount_ore=-amount),
        ),
    )


def rule_payment_received(event: PaymentReceived, settings: AccountingSettings) -> Voucher | None:
    """Money in the bank, not yet identified: debit the bank account in force on the day the
    bank booked it, credit 9181. A negative one (a camt.054 reversal, a BgMax deduction) is the
    bank's own line taking money out again: it posts here, once, as the mirror image, so the bank
    account follows the bank's statements line by line. A payment the agency collected debits the
    agency's client funds (9895) instead of the bank. Nothing in a foreign currency posts."""
    if not is_booked_currency(event.currency, settings):
        return None
    if event.file_id.startswith(AGENCY_FILE_PREFIX):
        debit = settings.agency_client_funds_account
        text = f"Inbetalning via inkassobolag {event.bank_reference}"
    else:
        debit = settings.bank_account.at(event.received_on)
        kind = "Inbetalning" if event.amount_ore > 0 else "Återföring/avdrag"
        text = f"{kind} {event.bank_reference}"
    return _voucher(
        settings,
        event.received_on,
        text,
        debit=debit,
        credit=settings.unidentified_payments_account,
        amount=event.amount_ore,
    )


def rule_payment_allocated(
    event: PaymentAllocated, settings: AccountingSettings, day: dt.date
) -> Voucher | None:
    """Money placed on a claim: debit 9181, credit the customer's receivable (1512) for capital.
    Interest and fees the agency collected were never on 1512 (domain.md §3 keeps them apart):
    they credit their income account. Negative (a reversal took it back, a credit note released
    it): the mirror image, the claim is open again and the money back in 9181."""
    if event.component == "capital":
        credit = settings.receivables_account
    else:
        credit = settings.collected_component_account_for(event.component)
    what = "Inbetalning" if event.amount_ore > 0 else "Återförd inbetalning"
    return _voucher(
        settings,
        day,
        f"{what} på faktura {event.invoice_id} ({event.component})",
        debit=settings.unidentified_payments_account,
        credit=credit,
        amount=event.amount_ore,
    )


def rule_customer_credit_recorded(
    event: CustomerCreditRecorded, settings: AccountingSettings, day: dt.date
) -> Voucher | None:
    """Money that became the customer's credit (an overpayment, an advance kept from the queue,
    payments a credit note released): debit 9181, credit overpayments (2482)."""
    return _voucher(
        settings,
        day,
        f"Kundtillgodo ({event.reason}) kund {event.customer_id}",
        debit=settings.unidentified_payments_account,
        credit=settings.overpayments_account,
        amount=event.amount_ore,
    )


def rule_customer_credit_applied(
    event: CustomerCreditApplied, settings: AccountingSettings, day: dt.date
) -> Voucher | None:
    """Credit set off against a claim (seed 002: set off first): debit 2482, credit 9181; the
    ``PaymentAllocated`` events that follow move it on from 9181 to 1512."""
    return _voucher(
        settings,
        day,
        f"Kvittning av tillgodo mot faktura {event.invoice_id}",
        debit=settings.overpayments_account,
        credit=settings.unidentified_payments_account,
        amount=event.amount_ore,
    )


def rule_customer_credit_refunded(
    event: CustomerCreditRefunded, settings: AccountingSettings, day: dt.date
) -> Voucher | None:
    """Credit paid back to the customer once attested: debit 2482, credit the payout bank
    account. The attest (``RefundAttested`` with the customer) announces the same money and
    posts nothing: see ``rule_refund_attested``."""
    return _voucher(
        settings,
        day,
        f"Återbetalning av tillgodo {event.refund_id}",
        debit=settings.overpayments_account,
        credit=settings.payout_bank_account.at(day),
        amount=event.amount_ore,
    )


def rule_customer_credit_reversed(
    event: CustomerCreditReversed, settings: AccountingSettings, day: dt.date
) -> Voucher | None:
    """The bank took back the payment behind a credit: the credit goes with it. Debit 2482,
    credit 9181, where the reversal's own bank line (``rule_payment_received``) left it."""
    return _voucher(
        settings,
        day,
        f"Återförd tillgodo kund {event.customer_id}",
        debit=settings.overpayments_account,
        credit=settings.unidentified_payments_account,
        amount=event.amount_ore,
    )


def rule_refund_attested(
    *,
    refund_id: str,
    amount_ore: int,
    of_unmatched_payment: bool,
    settings: AccountingSettings,
    day: dt.date,
) -> Voucher | None:
    """An attested refund goes out of the bank (seed 002: "återbetalning endast med korrekt
    attest"). Of an unmatched payment: debit 9181, credit the payout bank account. Of a
    customer's credit: nothing here, since ``CustomerCreditRefunded`` posts it — that is the event
    on the customer's credit stream, the one the ledger subtracts, so 2482 and the ledger's credit
    move with the same event; posting both would pay the money out twice."""
    if not of_unmatched_payment:
        return None
    return _voucher(
        settings,
        day,
        f"Återbetalning av oidentifierad inbetalning {refund_id}",
        debit=settings.unidentified_payments_account,
        credit=settings.payout_bank_account.at(day),
        amount=amount_ore,
    )
