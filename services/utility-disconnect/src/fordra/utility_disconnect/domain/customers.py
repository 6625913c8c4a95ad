"""What utility disconnection keeps of a customer's personal data: the name the social welfare
board is told (ellagen 11:4: the board must be able to reach the household) and the letters
address. A copy of invoicing's register in this context's own store, the personal part sealed per
customer under the same key as invoicing's copy (domain.md §2), so forgetting the person empties
it too; no read model holds a name. Whether the identity is protected is the claims read model's
(``KnownCustomer.protected_identity``): a protected person's name and address are never shown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from fordra.contracts.invoicing import CustomerPersonalData
from fordra.kernel.events import Event


class DisconnectCustomerNamed(Event):
    """The customer's personal part as invoicing last recorded it (registered or changed)."""

    event_type: ClassVar[str] = "DisconnectCustomerNamed"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    personal: CustomerPersonalData | None  # None once the person is forgotten


CUSTOMER_EVENTS: tuple[type[Event], ...] = (DisconnectCustomerNamed,)


def customer_stream(customer_id: str) -> str:
    return f"disconnect-customer-{customer_id}"


def personal_of(events: Iterable[Event]) -> CustomerPersonalData | None:
    """The latest personal part, or None (not heard of, or forgotten)."""
    personal = None
    for e in events:
        if isinstance(e, DisconnectCustomerNamed):
            personal = e.personal
    return personal
