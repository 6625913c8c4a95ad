"""An invoice's status on the customer ledger, derived on the business date (domain.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Literal

InvoiceStatus = Literal["open", "overdue", "paid", "credited"]


def invoice_status(*, open_ore: int, total_ore: int, due_date: date, today: date) -> InvoiceStatus:
    if open_ore <= 0:
        return "paid" if total_ore > 0 else "credited"
    # Due on the due date itself; overdue from the day after.
    return "overdue" if today > due_date else "open"
