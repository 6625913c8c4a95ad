"""Invoicing's settings: every number is dated (domain.md preamble)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fordra.kernel.dated import Dated


class InvoicingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # "Räntedebitering sker 30 dagar från fakturadatum" (seed 001): 30-day terms.
    payment_terms_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(30))
    # A due date on a weekend or holiday moves to the next working day (bank practice: a payment
    # cannot be booked on a day the banks are closed).
    due_date_moves_to_working_day: bool = True
    # VAT rates valid by date (domain.md §2): 25/12/6/0; food moves from 12 to 6 on 2026-04-01,
    # which leaves the set of rates unchanged.
    vat_rates: Dated[tuple[int, ...]] = Field(
        default_factory=lambda: Dated[tuple[int, ...]].always((25, 12, 6, 0))
    )
    # The municipality's bankgiro agreement decides whether OCR numbers carry a length digit.
    ocr_length_digit: bool = True
    # An invoice total under this is not invoiced on its own (seed 001 line 3; issue: invoicing).
    minimum_invoice_ore: Dated[int] = Field(default_factory=lambda: Dated[int].always(5000))
