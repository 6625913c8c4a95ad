"""The correction rules that HTTP cannot reach yet (no context hands invoices to the agency so
far), and the arithmetic of a deferral's interest start (domain.md §2, seed 002)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from fordra.contracts.invoicing import InvoiceLine
from fordra.invoicing.domain.commands import CancelInvoice, IssueCreditNote
from fordra.invoicing.domain.corrections import (
    deferral_interest_from,
    request_cancellation,
    request_credit_note,
)
from fordra.invoicing.domain.invoice_state import InvoiceState
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.auth import Principal, Role
from fordra.kernel.errors import DomainRuleViolation

LINE = InvoiceLine(
    description="Vatten",
    service_type="water",
    quantity=Decimal(1),
    unit_price_ore=80000,
    vat_rate=0,
    net_ore=80000,
)
STATE = InvoiceState(
    invoice_id="i",
    customer_id="c",
    department="water",
    invoice_date=date(2026, 2, 27),
    due_date=date(2026, 3, 30),
    lines=(LINE,),
    total_ore=80000,
    original_due_date=date(2026, 3, 30),
    version=1,
)
ASKER = Principal(subject="anna", role=Role.CASE_OFFICER, tenant="t")


def test_an_invoice_at_the_agency_is_neither_credited_nor_cancelled() -> None:
    at_agency = replace(STATE, handed_to_agency=True)
    with pytest.raises(DomainRuleViolation) as credit:
        request_credit_note(
            at_agency,
            IssueCreditNote(reason="fel"),
            request_id="r",
            today=date(2026, 3, 2),
            settings=InvoicingSettings(),
            requester=ASKER,
            customer_kind="person",
        )
    assert credit.value.rule == "credit_not_while_at_agency"
    with pytest.raises(DomainRuleViolation) as cancel:
        request_cancellation(
            at_agency,
            CancelInvoice(reason="fel"),
            request_id="r",
            today=date(2026, 3, 2),
            requester=ASKER,
            customer_kind="person",
        )
    assert cancel.value.rule == "cancellation_not_after_agency"


def test_deferral_interest_starts_30_days_after_the_invoice_but_never_before_the_due_date() -> None:
    settings = InvoicingSettings()
    # invoice date + 30 days is a Sunday; the due date moved to the Monday
    assert deferral_interest_from(STATE, settings) == date(2026, 3, 30)
    # a due date earlier than invoice date + 30 days (shorter terms): the seed's 30 days
    assert deferral_interest_from(replace(STATE, due_date=date(2026, 3, 13)), settings) == date(
        2026, 3, 29
    )
