"""Issuing an invoice (domain.md §2 "Invoice content" and "Payment reference"): lines priced in
öre within the bounds, VAT per rate, a serial number, an OCR reference unique per invoice and
never reused, the due date from the terms, and an invoice date near the business date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fordra.contracts.invoicing import InvoiceLine, ServiceType
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.invoice import (
    check_invoice_date_in_window,
    check_invoice_not_backdated,
    check_invoice_not_postdated,
    check_ocr_reference_unique,
    generated_ocr_references,
    invoice_number_for,
    issue_invoice,
    ocr_reference_candidates,
    ocr_reference_for,
    price_lines,
    totals_of,
    valid_department_ocr,
)
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.ocr import MAX_OCR_LENGTH, is_valid_ocr, make_ocr

DAY = date(2026, 3, 2)
SETTINGS = InvoicingSettings()
CALENDAR = WorkingDayCalendar()


def command(
    *lines: InvoiceLineInput,
    service: ServiceType = "other",
    invoice_date: date = DAY,
    **extra: object,
) -> IssueInvoice:
    return IssueInvoice.model_validate(
        {
            "customer_id": "c1",
            "department": "dept",
            "service_type": service,
            "invoice_date": invoice_date,
            "lines": lines or (item(100000),),
            **extra,
        }
    )


def item(ore: int, vat: int = 25, quantity: str = "1", **extra: object) -> InvoiceLineInput:
    return InvoiceLineInput.model_validate(
        {
            "description": "Rad",
            "unit_price_ore": ore,
            "vat_rate": vat,
            "quantity": Decimal(quantity),
            **extra,
        }
    )


@contextmanager
def refused(rule: str) -> Iterator[None]:
    with pytest.raises(DomainRuleViolation) as violation:
        yield
    assert violation.value.rule == rule


# -- pricing --------------------------------------------------------------------------------------


def test_a_line_is_quantity_times_unit_price_rounded_half_up_to_whole_ore() -> None:
    (priced,) = price_lines(command(item(333, quantity="1.5")), SETTINGS)
    assert priced.net_ore == 500  # 499.5 öre
    assert priced.service_type == "other"


def test_a_co_billed_line_keeps_its_own_service() -> None:
    # domain.md §2 "Co-billing": electricity stays separable from water on the same invoice
    water, grid = price_lines(
        command(item(50000), item(30000, service_type="electricity_grid"), service="water"),
        SETTINGS,
    )
    assert (water.service_type, grid.service_type) == ("water", "electricity_grid")


def test_a_line_at_a_rate_not_valid_for_its_service_is_refused_naming_it() -> None:
    with pytest.raises(DomainRuleViolation) as wrong:
        price_lines(command(item(50000), item(10000, vat=0), service="water"), SETTINGS)
    assert wrong.value.rule == "vat_rate_valid_for_service"
    assert wrong.value.field == "lines.1.vat_rate"


def test_prices_quantities_and_totals_stay_within_the_dated_bounds() -> None:
    settings = InvoicingSettings(
        max_amount_ore=Dated[int].always(1_000_000), max_quantity=Dated[Decimal].always(Decimal(10))
    )
    with pytest.raises(DomainRuleViolation) as price:
        price_lines(command(item(1_000_001)), settings)
    assert (price.value.rule, price.value.field) == (
        "amount_within_bound",
        "lines.0.unit_price_ore",
    )
    with pytest.raises(DomainRuleViolation) as quantity:
        price_lines(command(item(100, quantity="11")), settings)
    assert (quantity.value.rule, quantity.value.field) == (
        "quantity_within_bound",
        "lines.0.quantity",
    )
    with pytest.raises(DomainRuleViolation) as line:
        price_lines(command(item(200_000, quantity="6")), settings)
    assert (line.value.rule, line.value.field) == ("amount_within_bound", "lines.0")
    with pytest.raises(DomainRuleViolation) as total:  # 900,000 net + 25 % VAT
        price_lines(command(item(900_000)), settings)
    assert (total.value.rule, total.value.field) == ("amount_within_bound", "lines")


def test_the_totals_are_net_vat_per_rate_and_their_sum() -> None:
    lines = price_lines(command(item(80000), item(10000, vat=6), item(33, vat=25)), SETTINGS)
    assert totals_of(lines) == (90033, 20008 + 600, 90033 + 20608)


# ms per example: the first builds the year's holiday table; a busy machine is slow too
@settings(deadline=2000)
@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=10**8), st.sampled_from((25, 12, 6, 0))),
        min_size=1,
        max_size=20,
    )
)
def test_an_invoice_total_is_its_net_plus_its_vat_breakdown(rows: list[tuple[int, int]]) -> None:
    cmd = command(*(item(ore, vat) for ore, vat in rows))
    issued = issue_invoice(
        cmd, invoice_id="i", serial_number=1, settings=SETTINGS, calendar=CALENDAR
    )
    assert issued.net_ore == sum(ore for ore, _ in rows) == sum(b.net_ore for b in issued.vat)
    assert issued.vat_ore == sum(b.vat_ore for b in issued.vat)
    assert issued.total_ore == issued.net_ore + issued.vat_ore
    assert (issued.net_ore, issued.vat_ore, issued.total_ore) == totals_of(issued.lines)


# -- the OCR reference ----------------------------------------------------------------------------


def test_invoice_12345_gets_ocr_1234574() -> None:
    # domain.md §2 "Payment reference": the length digit, then the Luhn check digit
    assert next(generated_ocr_references(12345, SETTINGS)) == "1234574"


def test_a_generated_reference_that_is_taken_gives_way_to_the_serial_behind_zeros() -> None:
    candidates = list(generated_ocr_references(12345, SETTINGS))
    assert candidates[:3] == [
        "1234574",
        make_ocr("012345", length_digit=True),
        make_ocr("0012345", length_digit=True),
    ]
    # every candidate is a valid reference, and only the first starts without a zero, so a
    # skipped invoice never takes the reference a later serial derives
    assert all(is_valid_ocr(c, length_digit_required=True) for c in candidates)
    assert all(len(c) <= MAX_OCR_LENGTH for c in candidates)
    assert [c for c in candidates if not c.startswith("0")] == ["1234574"]
    assert len(candidates) == MAX_OCR_LENGTH - len("12345") - 1


def test_without_a_length_digit_the_reference_is_the_serial_and_its_check_digit() -> None:
    settings = InvoicingSettings(ocr_length_digit=False)
    assert next(generated_ocr_references(12345, settings)) == "123455"


def test_the_first_unclaimed_generated_reference_is_the_invoices() -> None:
    first, second, third = list(generated_ocr_references(7, SETTINGS))[:3]
    assert ocr_reference_for(7, SETTINGS, claimed=set()) == first
    assert ocr_reference_for(7, SETTINGS, claimed={first, second}) == third


def test_when_every_reference_a_serial_could_get_is_taken_the_invoice_is_refused() -> None:
    every = set(generated_ocr_references(7, SETTINGS))
    with refused("ocr_reference_unique"):
        ocr_reference_for(7, SETTINGS, claimed=every)


def test_a_departments_own_reference_is_used_unless_claimed() -> None:
    own = make_ocr("99001", length_digit=True)
    assert tuple(ocr_reference_candidates(7, SETTINGS, own=own)) == (own,)
    assert ocr_reference_for(7, SETTINGS, claimed=set(), own=own) == own
    # claimed by another invoice, cancelled or not: never reused
    with refused("ocr_reference_unique"):
        ocr_reference_for(7, SETTINGS, claimed={own}, own=own)
    with refused("ocr_reference_unique"):
        check_ocr_reference_unique(own, {own})
    check_ocr_reference_unique(own, {"1234574"})


def test_a_departments_own_reference_needs_a_valid_check_digit_and_length_digit() -> None:
    assert valid_department_ocr("1234574", SETTINGS) == "1234574"
    with refused("valid_ocr_reference"):
        valid_department_ocr("1234575", SETTINGS)  # check digit
    without_length_digit = make_ocr("12345", length_digit=False)
    with refused("valid_ocr_reference"):
        valid_department_ocr(without_length_digit, SETTINGS)
    lenient = InvoicingSettings(ocr_length_digit_required=False)
    assert valid_department_ocr(without_length_digit, lenient) == without_length_digit


# -- the invoice date -----------------------------------------------------------------------------


def test_an_invoice_is_dated_at_most_14_days_back_and_31_ahead() -> None:
    check_invoice_date_in_window(DAY - timedelta(days=14), DAY, SETTINGS)
    check_invoice_date_in_window(DAY + timedelta(days=31), DAY, SETTINGS)
    with refused("invoice_not_backdated"):
        check_invoice_not_backdated(DAY - timedelta(days=15), DAY, SETTINGS)
    with refused("invoice_not_postdated"):
        check_invoice_not_postdated(DAY + timedelta(days=32), DAY, SETTINGS)
    with refused("invoice_not_backdated"):
        check_invoice_date_in_window(DAY - timedelta(days=15), DAY, SETTINGS)


# -- the invoice ----------------------------------------------------------------------------------


def test_an_issued_invoice_carries_its_number_reference_terms_and_period() -> None:
    issued = issue_invoice(
        command(item(96000), service="water"),
        invoice_id="i1",
        serial_number=12345,
        settings=SETTINGS,
        calendar=CALENDAR,
        property_designation="Svenljunga Kåsan 1:2",
    )
    assert issued.invoice_number == invoice_number_for(12345) == "00012345"
    assert issued.ocr == "1234574"
    assert (issued.due_date, issued.payment_terms_days) == (date(2026, 4, 1), 30)
    assert (issued.net_ore, issued.vat_ore, issued.total_ore) == (96000, 24000, 120000)
    # water in March: two months in arrears and the current month (domain.md §2)
    assert (issued.billing_period_start, issued.billing_period_end) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert issued.property_designation == "Svenljunga Kåsan 1:2"
    assert issued.owner_override_reason is None


def test_the_reference_checked_free_is_the_one_on_the_invoice() -> None:
    ocr = make_ocr("012345", length_digit=True)
    issued = issue_invoice(
        command(),
        invoice_id="i",
        serial_number=12345,
        settings=SETTINGS,
        calendar=CALENDAR,
        ocr=ocr,
    )
    assert issued.ocr == ocr


def test_an_override_of_a_missing_ownership_is_kept_with_who_made_it() -> None:
    cmd = command(owner_override_reason="Köpet inte registrerat än")
    issued = issue_invoice(
        cmd,
        invoice_id="i",
        serial_number=1,
        settings=SETTINGS,
        calendar=CALENDAR,
        owner_override_by="anna",
    )
    assert (issued.owner_override_reason, issued.owner_override_by) == (
        "Köpet inte registrerat än",
        "anna",
    )
    # without who made it, no override is recorded
    unattributed = issue_invoice(
        cmd, invoice_id="i", serial_number=1, settings=SETTINGS, calendar=CALENDAR
    )
    assert unattributed.owner_override_reason is None


def test_held_lines_are_added_after_the_invoices_own() -> None:
    held = InvoiceLine(
        description="Litet belopp",
        service_type="childcare",
        quantity=Decimal(1),
        unit_price_ore=4500,
        vat_rate=0,
        net_ore=4500,
    )
    issued = issue_invoice(
        command(),
        invoice_id="i",
        serial_number=1,
        settings=SETTINGS,
        calendar=CALENDAR,
        held_lines=(held,),
    )
    assert issued.lines[-1] == held
    assert issued.total_ore == 125000 + 4500


@pytest.mark.parametrize("ore", [0, -5000])
def test_an_invoice_of_nothing_or_less_is_refused(ore: int) -> None:
    with refused("invoice_total_positive"):
        issue_invoice(
            command(item(ore)),
            invoice_id="i",
            serial_number=1,
            settings=SETTINGS,
            calendar=CALENDAR,
        )


def test_a_period_overlapping_one_already_billed_moves_on() -> None:
    billed = (BillingPeriod(start=date(2026, 1, 1), end=date(2026, 2, 28)),)
    issued = issue_invoice(
        command(item(96000), service="water"),
        invoice_id="i",
        serial_number=1,
        settings=SETTINGS,
        calendar=CALENDAR,
        billed=billed,
    )
    assert issued.billing_period_start == date(2026, 3, 1)
