"""Who is liable for an invoice (domain.md §2, seed 001): "För vatten och renhållning är
fastighetsägaren alltid betalningsansvarig" — for water and waste, the property owner."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from fordra.contracts.invoicing import PropertyOwnershipRecorded
from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.errors import DomainRuleViolation


def owned_on(ownership: PropertyOwnershipRecorded, day: date) -> bool:
    return ownership.owned_from <= day and (
        ownership.owned_until is None or day <= ownership.owned_until
    )


def check_property_owner_is_liable(
    cmd: IssueInvoice, properties: Iterable[PropertyOwnershipRecorded], settings: InvoicingSettings
) -> str | None:
    """An invoice for an owner-liable service (water and waste by default, a setting) needs the
    customer's recorded ownership (``PropertyOwnershipRecorded``) on the invoice date: of the
    property it names, or of any property when it names none. Without one it is refused, unless
    the command gives an explicit ``owner_override_reason`` (kept on the invoice with its actor).

    Answers the property to print on the invoice: the one named, or the only one owned on the
    invoice date (None when there are several, or none and an override)."""
    services = {cmd.service_type, *(line.service_type for line in cmd.lines if line.service_type)}
    liable = services & set(settings.owner_liable_services)
    if not liable:
        return cmd.property_designation
    owned = {p.property_designation for p in properties if owned_on(p, cmd.invoice_date)}
    if cmd.property_designation is not None:
        if cmd.property_designation in owned or cmd.owner_override_reason:
            return cmd.property_designation
        raise DomainRuleViolation(
            f"the customer is not the recorded owner of {cmd.property_designation!r} on "
            f"{cmd.invoice_date.isoformat()}: the property owner is liable for "
            f"{', '.join(sorted(liable))} (record the ownership, or give owner_override_reason)",
            field="property_designation",
            rule="property_owner_liable",
        )
    if owned:
        return next(iter(owned)) if len(owned) == 1 else None
    if cmd.owner_override_reason:
        return None
    raise DomainRuleViolation(
        f"the customer owns no recorded property on {cmd.invoice_date.isoformat()}: the property "
        f"owner is liable for {', '.join(sorted(liable))} (record the ownership, or give "
        "owner_override_reason)",
        field="customer_id",
        rule="property_owner_liable",
    )
