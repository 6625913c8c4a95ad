"""An invoice's status on the customer ledger, derived on the business date (domain.md §4), and
why a customer is on a credit stop (seed 001, "Nedskrivning eller avskrivning")."""

from __future__ import annotations

from datetime import date
from typing import Literal

InvoiceStatus = Literal[
    "open",
    "overdue",
    "deferred",
    "disputed",
    "paid",
    "credited",
    "cancelled",
    "written_down",
    "written_off",
]

# Why no new service is given on credit: a claim of the customer's written down, or one written
# off (the graver; it wins when both are).
CreditStopReason = Literal["written_down", "written_off"]


def invoice_status(
    *,
    open_ore: int,
    total_ore: int,
    credited_ore: int,
    due_date: date,
    today: date,
    cancelled: bool = False,
    disputed: bool = False,
    deferred_until: date | None = None,
    written_down: bool = False,
    written_off: bool = False,
) -> InvoiceStatus:
    """A written-off claim says so, whatever was paid of it, unless a payment taken back since
    makes some of it owed again; a written-down one stays owed (domain.md §4) and says so until
    it is paid or credited in full."""
    if cancelled or (written_off and open_ore <= 0):
        return "cancelled" if cancelled else "written_off"
    if open_ore <= 0:
        return "credited" if credited_ore >= total_ore else "paid"
    if written_down:
        return "written_down"  # under long-term surveillance at the agency (seed 001)
    if disputed:
        return "disputed"  # out of the dunning flow until resolved (domain.md §4)
    if deferred_until is not None and today <= deferred_until:
        return "deferred"
    # Due on the due date itself; overdue from the day after.
    return "overdue" if today > due_date else "open"


def credit_stop_reason(*, written_off: bool) -> CreditStopReason:
    """seed 001: staff and unit managers are told of write-downs and write-offs alike."""
    return "written_off" if written_off else "written_down"
