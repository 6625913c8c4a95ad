"""Which disconnection cases a supply point and a customer have (domain.md §6): a supply point has
at most one case in progress at a time (a second threat for the same breach would be an empty
one), and a customer's cases are listed together. Each index is a stream of its own that the
opening of a case appends to at the version read, so two openings at once cannot both succeed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from fordra.kernel.events import Event


class SupplyPointCaseBegun(Event):
    event_type: ClassVar[str] = "DisconnectionSupplyPointCaseBegun"

    supply_point_id: str
    case_id: str


class CustomerCaseBegun(Event):
    event_type: ClassVar[str] = "DisconnectionCustomerCaseBegun"

    customer_id: str
    case_id: str


CASE_INDEX_EVENTS: tuple[type[Event], ...] = (SupplyPointCaseBegun, CustomerCaseBegun)


def point_cases_stream(supply_point_id: str) -> str:
    return f"disconnection-point-{supply_point_id}"


def customer_cases_stream(customer_id: str) -> str:
    return f"disconnection-customer-{customer_id}"


def case_ids(events: Iterable[Event]) -> list[str]:
    """The case ids an index holds, the oldest first."""
    return [e.case_id for e in events if isinstance(e, SupplyPointCaseBegun | CustomerCaseBegun)]
