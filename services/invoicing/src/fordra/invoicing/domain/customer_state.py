"""A customer as their events left them (the invoicing context owns the customer register)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from fordra.contracts.invoicing import (
    CustomerDetailsChanged,
    CustomerPersonalData,
    CustomerPreferencesChanged,
    CustomerRegistered,
    PropertyOwnershipRecorded,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
)
from fordra.kernel.events import Event


@dataclass(frozen=True, slots=True)
class CustomerState:
    customer_id: str
    kind: str
    id_kind: str
    personal: CustomerPersonalData | None  # None once the person is forgotten
    protected_identity: bool = False
    protection_kind: str | None = None
    e_invoice: bool = False
    peppol_id: str | None = None
    autogiro: bool = False
    properties: tuple[PropertyOwnershipRecorded, ...] = field(default_factory=tuple)
    # The department whose token registered the customer (None: a case officer or admin did).
    registered_by_department: str | None = None
    version: int = 0


def replay_customer(events: Iterable[Event]) -> CustomerState | None:
    state: CustomerState | None = None
    for event in events:
        if isinstance(event, CustomerRegistered):
            state = CustomerState(
                customer_id=event.customer_id,
                kind=event.kind,
                id_kind=event.id_kind,
                personal=event.personal,
                protected_identity=event.protected_identity,
                protection_kind="skyddad_folkbokforing" if event.protected_identity else None,
                registered_by_department=event.registered_by_department,
            )
        elif state is None:
            continue
        elif isinstance(event, CustomerDetailsChanged):
            state = replace(state, personal=event.personal)
        elif isinstance(event, CustomerPreferencesChanged):
            state = replace(
                state, e_invoice=event.e_invoice, peppol_id=event.peppol_id, autogiro=event.autogiro
            )
        elif isinstance(event, PropertyOwnershipRecorded):
            state = replace(state, properties=(*state.properties, event))
        elif isinstance(event, ProtectedIdentityMarked):
            state = replace(state, protected_identity=True, protection_kind=event.kind)
        elif isinstance(event, ProtectedIdentityCleared):
            state = replace(state, protected_identity=False, protection_kind=None)
        if state is not None:
            state = replace(state, version=state.version + 1)
    return state
