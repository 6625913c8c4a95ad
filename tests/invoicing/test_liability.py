"""Who is liable (domain.md §2 "Customers and invoices", seed 001): for water and waste the
property owner, always; the ownership recorded on the invoice date decides."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.invoicing import PropertyOwnershipRecorded, ServiceType
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.invoicing.domain.liability import check_property_owner_is_liable, owned_on
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.errors import DomainRuleViolation

DAY = date(2026, 3, 2)
SETTINGS = InvoicingSettings()
HOUSE = PropertyOwnershipRecorded(
    customer_id="c1", property_designation="Svenljunga Kåsan 1:2", owned_from=date(2020, 5, 1)
)
SOLD = PropertyOwnershipRecorded(
    customer_id="c1",
    property_designation="Svenljunga Kyrkan 1:23",
    owned_from=date(2010, 1, 1),
    owned_until=date(2026, 3, 1),
)


def command(
    service: ServiceType = "water", *, line_service: ServiceType | None = None, **extra: object
) -> IssueInvoice:
    return IssueInvoice.model_validate(
        {
            "customer_id": "c1",
            "department": "va",
            "service_type": service,
            "invoice_date": DAY,
            "lines": [
                InvoiceLineInput(
                    description="Avgift",
                    unit_price_ore=50000,
                    vat_rate=25,
                    service_type=line_service,
                )
            ],
            **extra,
        }
    )


def test_ownership_runs_from_its_first_day_through_its_last() -> None:
    assert owned_on(SOLD, date(2010, 1, 1))
    assert owned_on(SOLD, date(2026, 3, 1))
    assert not owned_on(SOLD, date(2026, 3, 2))
    assert not owned_on(SOLD, date(2009, 12, 31))
    assert owned_on(HOUSE, date(2099, 1, 1))


def test_the_only_property_owned_on_the_invoice_date_goes_on_the_invoice() -> None:
    assert (
        check_property_owner_is_liable(command(), [HOUSE, SOLD], SETTINGS)
        == HOUSE.property_designation
    )


def test_of_several_properties_none_is_chosen_for_the_invoice() -> None:
    other = HOUSE.model_copy(update={"property_designation": "Svenljunga Ås 2:1"})
    assert check_property_owner_is_liable(command(), [HOUSE, other], SETTINGS) is None


@pytest.mark.parametrize("service", ["water", "waste"])
def test_without_a_property_owned_on_the_invoice_date_water_and_waste_are_refused(
    service: ServiceType,
) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        check_property_owner_is_liable(command(service), [SOLD], SETTINGS)
    assert (refused.value.rule, refused.value.field) == ("property_owner_liable", "customer_id")


def test_a_named_property_must_be_one_the_customer_owns_on_the_invoice_date() -> None:
    named = command(property_designation=SOLD.property_designation)
    with pytest.raises(DomainRuleViolation) as refused:
        check_property_owner_is_liable(named, [HOUSE, SOLD], SETTINGS)
    assert refused.value.field == "property_designation"
    owned = command(property_designation=HOUSE.property_designation)
    assert check_property_owner_is_liable(owned, [HOUSE], SETTINGS) == HOUSE.property_designation


def test_an_override_with_a_reason_lets_the_invoice_through() -> None:
    reason = "Köpet inte registrerat än"
    assert (
        check_property_owner_is_liable(command(owner_override_reason=reason), [], SETTINGS) is None
    )
    named = command(property_designation="Svenljunga Ny 1:1", owner_override_reason=reason)
    assert check_property_owner_is_liable(named, [], SETTINGS) == "Svenljunga Ny 1:1"


def test_a_co_billed_water_line_makes_the_owner_liable_too() -> None:
    with pytest.raises(DomainRuleViolation):
        check_property_owner_is_liable(command("other", line_service="water"), [], SETTINGS)


def test_other_services_need_no_ownership_and_the_owner_liable_services_are_a_setting() -> None:
    assert check_property_owner_is_liable(command("childcare"), [], SETTINGS) is None
    relaxed = InvoicingSettings(owner_liable_services=("waste",))
    assert check_property_owner_is_liable(command("water"), [], relaxed) is None
