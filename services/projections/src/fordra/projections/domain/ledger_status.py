"""An invoice's status on the customer ledger, derived on the business date (domain.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Literal

InvoiceStatus = Literal["open", "overdue", "deferred", "disputed", "paid", "credited", "cancelled"]


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
) -> InvoiceStatus:
    if cancelled:
        return "cancelled"
    if open_ore <= 0:
        return "credited" if credited_ore >= total_ore else "paid"
    if disputed:
        return "disputed"  # out of the dunning flow until resolved (domain.md §4)
    if deferred_until is not None and today <= deferred_until:
        return "deferred"
    # Due on the due date itself; overdue from the day after.
    return "overdue" if today > due_date else "open"
