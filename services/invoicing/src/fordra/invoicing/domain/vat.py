"""VAT on invoice lines (domain.md §2, seed 001: "Debiterad moms i % och kr, specificerad för
varje momssats"): each line's rate must be valid on the invoice date, and VAT is computed on the
net sum per rate and rounded once per rate to whole öre, so the printed breakdown adds up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from fordra.contracts.invoicing import InvoiceLine, ServiceType, VatBreakdown
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import percent_of


def check_vat_rate_valid_on(
    rate: int, invoice_date: date, rates: Dated[tuple[int, ...]], *, field: str
) -> None:
    valid = rates.at(invoice_date)
    if rate not in valid:
        allowed = ", ".join(str(r) for r in valid)
        raise DomainRuleViolation(
            f"VAT rate {rate} % is not valid on {invoice_date.isoformat()}; valid rates: {allowed}",
            field=field,
            rule="vat_rate_valid_on_invoice_date",
        )


def check_vat_rate_valid_for_service(
    rate: int,
    service_type: ServiceType,
    invoice_date: date,
    rates_by_service: Mapping[ServiceType, Dated[tuple[int, ...]]],
    *,
    field: str,
) -> None:
    """A line's VAT rate must be one its service may carry on the invoice date (domain.md §2:
    "VAT rates 25/12/6/0 are date-effective (food 6 % from 2026-04-01 to 2027-12-31)"): the
    rates per service are a dated setting (``InvoicingSettings.vat_rates_by_service``). Childcare
    at 25 % or food at 12 % after 2026-04-01 is refused. A service the table does not list may
    carry any rate in force (``check_vat_rate_valid_on``)."""
    table = rates_by_service.get(service_type)
    if table is None:
        return
    allowed = table.at(invoice_date)
    if rate not in allowed:
        listed = ", ".join(f"{r} %" for r in allowed)
        raise DomainRuleViolation(
            f"VAT rate {rate} % is not valid for {service_type} on {invoice_date.isoformat()}; "
            f"{service_type} carries {listed}",
            field=field,
            rule="vat_rate_valid_for_service",
        )


def vat_per_rate(lines: Iterable[InvoiceLine]) -> tuple[VatBreakdown, ...]:
    net: dict[int, int] = defaultdict(int)
    for line in lines:
        net[line.vat_rate] += line.net_ore
    return tuple(
        VatBreakdown(vat_rate=rate, net_ore=amount, vat_ore=percent_of(amount, rate))
        for rate, amount in sorted(net.items(), reverse=True)
    )
