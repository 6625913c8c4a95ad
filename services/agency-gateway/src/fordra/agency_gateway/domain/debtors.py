"""The gateway's copy of the customer register, as far as a claim needs it (domain.md §2
"Protected identity"; the same shape as dunning's domain/recipients.py, and why).

The gateway learns customers from invoicing's public events and keeps the smallest copy it
needs on ``agency-debtor-<customer>``: kind, kind of identity number, the protection, and the
personal part (name, identity number, address) sealed per customer by the store's codec under
the customer's key, so forgetting the person empties this copy too.

``debtor_for_agency`` decides what of it may go to an agency: a protected identity goes with the
marking and the identity number, without name and address; a forgotten or unknown customer
cannot be sent (None), and the delivery waits (application/outbound.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fordra.agency_gateway.domain.claim import AgencyDebtor
from fordra.contracts.invoicing import CustomerKind, CustomerPersonalData
from fordra.kernel.events import Event

__all__ = [
    "DEBTOR_EVENTS",
    "AgencyDebtorChanged",
    "AgencyDebtorProtectionChanged",
    "AgencyDebtorRegistered",
    "DebtorState",
    "debtor_for_agency",
    "debtor_stream",
    "replay_debtor",
]

IdKind = Literal["personnummer", "samordningsnummer", "organisationsnummer"]


def debtor_stream(customer_id: str) -> str:
    return f"agency-debtor-{customer_id}"


class AgencyDebtorRegistered(Event):
    """The gateway's copy of a ``CustomerRegistered`` (its personal part sealed per customer)."""

    event_type: ClassVar[str] = "AgencyDebtorRegistered"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    kind: CustomerKind
    id_kind: IdKind
    protected_identity: bool = False
    personal: CustomerPersonalData | None


class AgencyDebtorChanged(Event):
    """The gateway's copy of a ``CustomerDetailsChanged``: a new name or address."""

    event_type: ClassVar[str] = "AgencyDebtorChanged"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    personal: CustomerPersonalData | None


class AgencyDebtorProtectionChanged(Event):
    """A protected identity marked (``protected``) or lifted, as invoicing's register says."""

    event_type: ClassVar[str] = "AgencyDebtorProtectionChanged"

    customer_id: str
    protected: bool


DEBTOR_EVENTS: tuple[type[Event], ...] = (
    AgencyDebtorRegistered,
    AgencyDebtorChanged,
    AgencyDebtorProtectionChanged,
)


class DebtorState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    kind: CustomerKind
    id_kind: IdKind
    protected_identity: bool = False
    personal: CustomerPersonalData | None = None


def replay_debtor(events: Iterable[Event]) -> DebtorState | None:
    """Fold the copy's events; None before the registration (a change before it is ignored
    rather than guessed)."""
    state: DebtorState | None = None
    for event in events:
        if isinstance(event, AgencyDebtorRegistered):
            state = DebtorState(
                customer_id=event.customer_id,
                kind=event.kind,
                id_kind=event.id_kind,
                protected_identity=event.protected_identity,
                personal=event.personal,
            )
        elif state is None:
            continue
        elif isinstance(event, AgencyDebtorChanged):
            state = state.model_copy(update={"personal": event.personal})
        elif isinstance(event, AgencyDebtorProtectionChanged):
            state = state.model_copy(update={"protected_identity": event.protected})
    return state


def debtor_for_agency(state: DebtorState | None) -> AgencyDebtor | None:
    """What an agency may know of the debtor (domain.md §2); None when there is nothing to
    identify them by (unknown to the gateway yet, or forgotten)."""
    if state is None or state.personal is None:
        return None
    if state.protected_identity:
        return AgencyDebtor(
            customer_id=state.customer_id,
            kind=state.kind,
            id_kind=state.id_kind,
            id_number=state.personal.id_number,
            protected_identity=True,
        )
    return AgencyDebtor(
        customer_id=state.customer_id,
        kind=state.kind,
        id_kind=state.id_kind,
        id_number=state.personal.id_number,
        protected_identity=False,
        name=state.personal.name,
        address=state.personal.address,
    )
