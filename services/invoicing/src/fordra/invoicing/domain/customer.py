"""Registering a customer (domain.md §2): identified by a valid personnummer, samordningsnummer or
organisationsnummer; name and address go in the sealed personal part of the event."""

from __future__ import annotations

from datetime import date

from fordra.contracts.invoicing import CustomerPersonalData, CustomerRegistered
from fordra.invoicing.domain.commands import RegisterCustomer
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.identity import (
    IdentityKind,
    IdentityNumber,
    InvalidIdentityNumber,
    parse_identity_number,
)


def valid_identity_number(raw: str, today: date) -> IdentityNumber:
    try:
        return parse_identity_number(raw, today=today)
    except InvalidIdentityNumber as exc:
        raise DomainRuleViolation(
            str(exc), field="id_number", rule="valid_identity_number"
        ) from None


def register_customer(
    cmd: RegisterCustomer, *, customer_id: str, identity: IdentityNumber, department: str | None
) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer_id,
        kind="person" if identity.is_person else "organisation",
        id_kind=_ID_KIND[identity.kind],
        protected_identity=cmd.protected_identity,
        registered_by_department=department,
        personal=CustomerPersonalData(
            name=cmd.name, id_number=identity.canonical, address=cmd.address
        ),
    )


_ID_KIND = {
    IdentityKind.PERSONNUMMER: "personnummer",
    IdentityKind.SAMORDNINGSNUMMER: "samordningsnummer",
    IdentityKind.ORGANISATIONSNUMMER: "organisationsnummer",
}
