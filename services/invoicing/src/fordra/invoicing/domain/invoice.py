"""Issuing an invoice (domain.md §2): lines priced in öre, VAT per rate valid on the invoice date,
a serial number unique per issuer, a Bankgiro OCR reference and the due date from the terms."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from decimal import Decimal

from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine
from fordra.invoicing.domain.billing_period import BillingPeriod, checked_period
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.payment_terms import due_date_for
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.invoicing.domain.vat import (
    check_vat_rate_valid_for_service,
    check_vat_rate_valid_on,
    vat_per_rate,
)
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import check_amount_within_bound, check_storable_ore, round_ore
from fordra.kernel.ocr import MAX_OCR_LENGTH, InvalidOcrReference, make_ocr, validate_ocr


def check_line_within_bounds(
    line: InvoiceLineInput, i: int, on: date, settings: InvoicingSettings
) -> int:
    """Refuse a unit price, quantity or line amount above the bounds in force ``on`` (dated
    settings, far above any real invoice); answer the line's net amount in öre."""
    max_ore = settings.max_amount_ore.at(on)
    check_amount_within_bound(line.unit_price_ore, max_ore, field=f"lines.{i}.unit_price_ore")
    max_quantity = settings.max_quantity.at(on)
    if line.quantity > max_quantity:
        raise DomainRuleViolation(
            f"a quantity of {line.quantity} is above the largest accepted, {max_quantity}",
            field=f"lines.{i}.quantity",
            rule="quantity_within_bound",
        )
    net = round_ore(line.quantity * Decimal(line.unit_price_ore))
    check_amount_within_bound(net, max_ore, field=f"lines.{i}")
    return net


def check_totals_within_bounds(
    lines: tuple[InvoiceLine, ...], on: date, settings: InvoicingSettings
) -> None:
    """The net, VAT and total of an invoice or credit note stay within the amount bound."""
    max_ore = settings.max_amount_ore.at(on)
    for amount in totals_of(lines):
        check_amount_within_bound(amount, max_ore, field="lines")


def price_lines(cmd: IssueInvoice, settings: InvoicingSettings) -> tuple[InvoiceLine, ...]:
    lines = []
    for i, line in enumerate(cmd.lines):
        net = check_line_within_bounds(line, i, cmd.invoice_date, settings)
        service = line.service_type or cmd.service_type
        check_vat_rate_valid_on(
            line.vat_rate, cmd.invoice_date, settings.vat_rates, field=f"lines.{i}.vat_rate"
        )
        check_vat_rate_valid_for_service(
            line.vat_rate,
            service,
            cmd.invoice_date,
            settings.vat_rates_by_service,
            field=f"lines.{i}.vat_rate",
        )
        lines.append(
            InvoiceLine(
                description=line.description,
                service_type=service,
                quantity=line.quantity,
                unit_price_ore=line.unit_price_ore,
                vat_rate=line.vat_rate,
                net_ore=net,
            )
        )
    result = tuple(lines)
    check_totals_within_bounds(result, cmd.invoice_date, settings)
    return result


def totals_of(lines: tuple[InvoiceLine, ...]) -> tuple[int, int, int]:
    """Net, VAT and total of priced lines, VAT rounded per rate."""
    vat = vat_per_rate(lines)
    net = sum(b.net_ore for b in vat)
    vat_total = sum(b.vat_ore for b in vat)
    return net, vat_total, check_storable_ore(net + vat_total, field="lines")


def valid_department_ocr(ocr: str, settings: InvoicingSettings) -> str:
    """A departmental system's own OCR reference: digits, Luhn check digit, and the length digit
    where the bankgiro agreement requires one (domain.md §2 "Payment reference")."""
    try:
        validate_ocr(ocr, length_digit_required=settings.ocr_length_digit_required)
    except InvalidOcrReference as exc:
        raise DomainRuleViolation(str(exc), field="ocr", rule="valid_ocr_reference") from None
    return ocr


def generated_ocr_references(serial_number: int, settings: InvoicingSettings) -> Iterator[str]:
    """The OCR references an invoice without a departmental one may get, best first (domain.md
    §2 "Payment reference": unique per invoice, never reused).

    The first is derived from the serial number (serial 12345 -> ``1234574``). A departmental
    system may send its own reference instead (``IssueInvoice.ocr``): any valid OCR number, since
    its system prints its own series, so it may be one that a later serial derives. The claim
    ``ocr-<tenant>-<ocr>`` then already exists when that serial comes, and refusing the invoice
    would refuse every later one too. So generation skips a taken reference rather than fence
    departments into a range: the next candidates are the same serial behind leading zeros
    (``0`` + serial, ``00`` + serial, ...). No serial derives a reference that starts with 0, so
    a skipped invoice never takes a reference that a later serial needs. Every reference, derived
    or departmental, is claimed at version 0 in the invoice's own append, so the two kinds never
    collide: the store refuses the second claim, and the use case decides again.
    """
    base = str(serial_number)
    extra = 2 if settings.ocr_length_digit else 1
    while len(base) + extra <= MAX_OCR_LENGTH:
        yield make_ocr(base, length_digit=settings.ocr_length_digit)
        base = "0" + base


def ocr_reference_candidates(
    serial_number: int, settings: InvoicingSettings, *, own: str | None = None
) -> Iterator[str]:
    """The references an invoice may get, best first: the department's own, else the generated
    ones (``generated_ocr_references``). The use case reads which of them are claimed; lazily,
    as it nearly always stops at the first (each candidate costs a check digit)."""
    if own is not None:
        return iter((own,))
    return generated_ocr_references(serial_number, settings)


def check_ocr_reference_unique(ocr: str, claimed: Collection[str]) -> None:
    """An OCR reference is unique per invoice and never reused (domain.md §2 "Payment
    reference"): one already claimed by an invoice, cancelled or not, is refused."""
    if ocr in claimed:
        raise DomainRuleViolation(
            f"OCR reference {ocr} is already in use: every invoice needs its own",
            field="ocr",
            rule="ocr_reference_unique",
        )


def ocr_reference_for(
    serial_number: int,
    settings: InvoicingSettings,
    *,
    claimed: Collection[str],
    own: str | None = None,
) -> str:
    """The invoice's OCR reference, given the ``claimed`` ones among its candidates (domain.md §2
    "Payment reference": unique per invoice, never reused). A department's own reference must be
    unclaimed (it is theirs to choose again); a generated one skips what is claimed
    (``generated_ocr_references``). The use case appends the claim (``OcrReferenceClaimed``) at
    version 0 with the invoice, so a reference claimed after its read makes the append a
    conflict, decided again on fresh state, never a second invoice on one reference."""
    if own is not None:
        check_ocr_reference_unique(own, claimed)
        return own
    for candidate in generated_ocr_references(serial_number, settings):
        if candidate not in claimed:
            return candidate
    raise DomainRuleViolation(
        f"every OCR reference serial {serial_number} could get is taken",
        field="ocr",
        rule="ocr_reference_unique",
    )


def check_invoice_not_backdated(
    invoice_date: date, today: date, settings: InvoicingSettings
) -> None:
    """An invoice is dated at most ``max_backdating_days`` before the business date (a dated
    setting, in force on the business date). The due date runs from the invoice date (domain.md
    §2 "payment terms"), so an invoice dated further back would reach the customer with little of
    its terms left, or already overdue, and late interest could run from before it was sent."""
    limit = settings.max_backdating_days.at(today)
    if (today - invoice_date).days > limit:
        raise DomainRuleViolation(
            f"invoice date {invoice_date.isoformat()} is more than {limit} days before the "
            f"business date {today.isoformat()}: the invoice would be overdue, or nearly, when "
            "it is sent",
            field="invoice_date",
            rule="invoice_not_backdated",
        )


def check_invoice_not_postdated(
    invoice_date: date, today: date, settings: InvoicingSettings
) -> None:
    """An invoice is dated at most ``max_forward_dating_days`` after the business date (a dated
    setting, in force on the business date): its terms and late interest run from that date."""
    limit = settings.max_forward_dating_days.at(today)
    if (invoice_date - today).days > limit:
        raise DomainRuleViolation(
            f"invoice date {invoice_date.isoformat()} is more than {limit} days after the "
            f"business date {today.isoformat()}",
            field="invoice_date",
            rule="invoice_not_postdated",
        )


def check_invoice_date_in_window(
    invoice_date: date, today: date, settings: InvoicingSettings
) -> None:
    check_invoice_not_backdated(invoice_date, today, settings)
    check_invoice_not_postdated(invoice_date, today, settings)


def invoice_number_for(serial: int) -> str:
    return f"{serial:08d}"


def issue_invoice(
    cmd: IssueInvoice,
    *,
    invoice_id: str,
    serial_number: int,
    settings: InvoicingSettings,
    calendar: WorkingDayCalendar,
    held_lines: tuple[InvoiceLine, ...] = (),
    ocr: str | None = None,
    billed: tuple[BillingPeriod, ...] = (),
    property_designation: str | None = None,
    owner_override_by: str | None = None,
) -> InvoiceIssued:
    """``held_lines`` are small amounts held for this customer (small_amounts.py): each keeps its
    own service. ``ocr`` is the invoice's reference, already checked free. ``billed`` are the
    periods already invoiced that this one must not overlap (billing_period.py);
    ``property_designation`` the property whose owner is liable (liability.py), and
    ``owner_override_by`` who overrode a missing ownership with ``owner_override_reason``."""
    lines = price_lines(cmd, settings) + held_lines
    check_totals_within_bounds(lines, cmd.invoice_date, settings)
    vat = vat_per_rate(lines)
    net = sum(b.net_ore for b in vat)
    vat_total = sum(b.vat_ore for b in vat)
    total = check_storable_ore(net + vat_total, field="lines")
    if total <= 0:
        raise DomainRuleViolation(
            "an invoice must amount to more than 0 kr; use a credit note to give money back",
            field="lines",
            rule="invoice_total_positive",
        )
    due, days = due_date_for(cmd.invoice_date, settings, calendar)
    period = checked_period(
        cmd.billing_period,
        cmd.service_type,
        cmd.invoice_date,
        settings.premises_rent_period,
        term_months_ahead=settings.music_school_term_months_ahead.at(cmd.invoice_date),
        billed=billed,
    )
    return InvoiceIssued(
        invoice_id=invoice_id,
        customer_id=cmd.customer_id,
        serial_number=serial_number,
        invoice_number=invoice_number_for(serial_number),
        ocr=ocr or make_ocr(serial_number, length_digit=settings.ocr_length_digit),
        department=cmd.department,
        service_type=cmd.service_type,
        invoice_date=cmd.invoice_date,
        due_date=due,
        payment_terms_days=days,
        lines=lines,
        vat=vat,
        net_ore=net,
        vat_ore=vat_total,
        total_ore=total,
        source_reference=cmd.source_reference,
        billing_period_start=period.start,
        billing_period_end=period.end,
        property_designation=property_designation,
        owner_override_reason=cmd.owner_override_reason if owner_override_by else None,
        owner_override_by=owner_override_by,
        supply_point_id=cmd.supply_point_id,
    )
