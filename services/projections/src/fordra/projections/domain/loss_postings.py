"""The posting rules of write-downs and write-offs (domain.md §4 "Write-down and write-off" and
§10; seed 001 "Nedskrivning eller avskrivning", seed 002 "Osäkra kundfordringar värderegleras
först och skrivs sedan ned" and its accounts 1512 and 1592, seed 004).

A claim moves through three accounts besides its receivable (1512):

- written down (nedskrivning): the claim stays owed and under long-term surveillance, so 1512 is
  left alone; its value is adjusted instead: debit doubtful losses (befarade kundförluster, 6352),
  credit the value adjustment (1592);
- capital recovered on a written-down claim reverses that much of the value adjustment: debit
  1592, credit 6352 (seed 002's "återvunna kundförluster"); a payment taken back (a negative
  amount) posts the mirror image;
- written off (avskrivning): the claim is closed for good and leaves 1512: credit 1512 with what
  was open; what of the write-down still stood is taken out of 1592 (the loss was already
  expensed as doubtful), and the rest is an established loss (konstaterade kundförluster, 6351).
  Should more of the write-down stand than is open (a credit note after the write-down lowered
  the claim), the excess was never lost and goes back: credit 6352.

All three are dunning's events, posted in a voucher series of their own (``loss_voucher_series``,
default "KN") fed by dunning's log alone, so that a rebuild numbers them the same whichever log
is replayed first. Signs follow SIE (debit positive); no voucher holds a row of zero, and an event
that moves nothing posts no voucher. The loss rows carry the invoicing department as cost centre
when the settings ask for one, as the revenue rows do: a loss is the department's.
"""

from __future__ import annotations

import datetime as dt

from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteDownRecovered
from fordra.projections.domain.chart_of_accounts import (
    AccountingError,
    AccountingSettings,
    PostingRow,
    Voucher,
)

# The seed's words for the write-off reasons (ClaimWrittenOff.reason), in the voucher text.
WRITE_OFF_REASON_TEXTS: dict[str, str] = {
    "death": "dödsfall",
    "bankruptcy": "konkurs",
    "debt_relief": "skuldsanering",
    "limitation": "preskription",
    "other": "särskilda skäl",
}


def _cost_centre(
    settings: AccountingSettings, department: str | None
) -> tuple[tuple[int, str], ...]:
    if settings.cost_centre_dimension is None or not department:
        return ()
    return ((settings.cost_centre_dimension, department),)


def _voucher(
    settings: AccountingSettings, day: dt.date, text: str, rows: list[PostingRow]
) -> Voucher | None:
    kept = tuple(r for r in rows if r.amount_ore != 0)
    if not kept:
        return None  # a voucher must move money (check_voucher_balanced refuses an empty one)
    return Voucher(series=settings.loss_voucher_series, date=day, text=text[:200], rows=kept)


def rule_claim_written_down(
    event: ClaimWrittenDown, settings: AccountingSettings
) -> Voucher | None:
    """A write-down: debit doubtful losses (6352), credit the value adjustment (1592) with the
    claim's open amount as the ledger showed it; 1512 is untouched, the claim is still owed
    (domain.md §4, seed 002). None for an amount of zero."""
    if event.amount_ore < 0:
        raise AccountingError(
            f"the write-down of invoice {event.invoice_id} is negative ({event.amount_ore} öre)"
        )
    objects = _cost_centre(settings, event.department)
    return _voucher(
        settings,
        event.written_down_on,
        f"Nedskrivning faktura {event.invoice_number}",
        [
            PostingRow(
                account=settings.doubtful_losses_account,
                amount_ore=event.amount_ore,
                objects=objects,
            ),
            PostingRow(account=settings.value_adjustment_account, amount_ore=-event.amount_ore),
        ],
    )


def rule_write_down_recovered(
    event: WriteDownRecovered,
    settings: AccountingSettings,
    *,
    invoice_number: str | None = None,
    department: str | None = None,
) -> Voucher | None:
    """Capital recovered on a written-down claim: debit the value adjustment (1592), credit
    doubtful losses (6352): a recovered loss (seed 002: "återvunna kundförluster"). A negative
    amount (the payment taken back) posts the mirror image. ``invoice_number`` and
    ``department`` come from the write-down's voucher (the event names only the invoice id)."""
    objects = _cost_centre(settings, department)
    return _voucher(
        settings,
        event.recovered_on,
        f"Återvunnen kundförlust faktura {invoice_number or event.invoice_id}",
        [
            PostingRow(account=settings.value_adjustment_account, amount_ore=event.amount_ore),
            PostingRow(
                account=settings.doubtful_losses_account,
                amount_ore=-event.amount_ore,
                objects=objects,
            ),
        ],
    )


def rule_claim_written_off(event: ClaimWrittenOff, settings: AccountingSettings) -> Voucher | None:
    """A write-off: credit 1512 with what was open; debit 1592 with what of a write-down still
    stood (already expensed as a doubtful loss) and established losses (6351) with the rest.
    When more of the write-down stood than was open (a credit note lowered the claim after it),
    the excess is reversed: credit 6352 (domain.md §4, seed 001 and 002)."""
    open_ore, adjusted = event.amount_ore, event.value_adjustment_ore
    if open_ore < 0 or adjusted < 0:
        raise AccountingError(
            f"the write-off of invoice {event.invoice_id} has a negative amount "
            f"(open {open_ore} öre, value adjustment {adjusted} öre)"
        )
    objects = _cost_centre(settings, event.department)
    reason = WRITE_OFF_REASON_TEXTS.get(event.reason, event.reason)
    return _voucher(
        settings,
        event.written_off_on,
        f"Avskrivning faktura {event.invoice_number}, {reason}, beslut {event.decision_reference}",
        [
            PostingRow(account=settings.value_adjustment_account, amount_ore=adjusted),
            PostingRow(
                account=settings.established_losses_account,
                amount_ore=max(open_ore - adjusted, 0),
                objects=objects,
            ),
            PostingRow(
                account=settings.doubtful_losses_account,
                amount_ore=-max(adjusted - open_ore, 0),
                objects=objects,
            ),
            PostingRow(account=settings.receivables_account, amount_ore=-open_ore),
        ],
    )
