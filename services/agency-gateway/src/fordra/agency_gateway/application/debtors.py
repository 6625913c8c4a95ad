"""The gateway's copy of the customer register (domain.md §2; domain/debtors.py says what is
kept and why), written by a process manager following invoicing's public customer events, as
dunning keeps its letters' recipients (dunning/application/recipients.py).

``debtor_reactions`` answers the appends of ``agency-debtor-<customer>``; the runner the app wires
commits them with its tracking row, so a redelivery changes nothing. ``load_debtor`` reads the
copy back when a claim is delivered: the personal part is opened with the customer's key then,
never kept in a payload or a read model.
"""

from __future__ import annotations

from collections.abc import Sequence

from fordra.agency_gateway.application.deps import CONTEXT
from fordra.agency_gateway.domain.debtors import (
    AgencyDebtorChanged,
    AgencyDebtorProtectionChanged,
    AgencyDebtorRegistered,
    DebtorState,
    debtor_stream,
    replay_debtor,
)
from fordra.contracts.invoicing import (
    CustomerDetailsChanged,
    CustomerRegistered,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Prefetched, Reaction, append_caused

__all__ = ["debtor_reactions", "load_debtor"]


def debtor_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for a ``ProcessManagerRunner`` following invoicing."""

    async def append(
        env: Envelope, store: EventStore, event: Event, customer_id: str
    ) -> list[StreamAppend]:
        return await append_caused(
            registry, store, env, context=CONTEXT, stream_id=debtor_stream(customer_id), event=event
        )

    async def on_registered(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        registered = registry.load_as(env, CustomerRegistered)
        # A person forgotten before the copy is made arrives without a personal part, and the
        # copy has none either.
        copy = AgencyDebtorRegistered(
            customer_id=registered.customer_id,
            kind=registered.kind,
            id_kind=registered.id_kind,
            protected_identity=registered.protected_identity,
            personal=registered.personal,
        )
        return await append(env, store, copy, registered.customer_id)

    async def on_details(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        changed = registry.load_as(env, CustomerDetailsChanged)
        copy = AgencyDebtorChanged(customer_id=changed.customer_id, personal=changed.personal)
        return await append(env, store, copy, changed.customer_id)

    async def on_marked(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        marked = registry.load_as(env, ProtectedIdentityMarked)
        copy = AgencyDebtorProtectionChanged(customer_id=marked.customer_id, protected=True)
        return await append(env, store, copy, marked.customer_id)

    async def on_cleared(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cleared = registry.load_as(env, ProtectedIdentityCleared)
        copy = AgencyDebtorProtectionChanged(customer_id=cleared.customer_id, protected=False)
        return await append(env, store, copy, cleared.customer_id)

    def registered_creates(env: Envelope) -> list[str]:
        # A customer is registered once: the copy's stream is new (else the version check says).
        return [debtor_stream(str(env.payload["customer_id"]))]

    return {
        CustomerRegistered.event_type: Prefetched(on_registered, creates=registered_creates),
        CustomerDetailsChanged.event_type: on_details,
        ProtectedIdentityMarked.event_type: on_marked,
        ProtectedIdentityCleared.event_type: on_cleared,
    }


async def load_debtor(
    store: EventStore, registry: EventRegistry, customer_id: str
) -> DebtorState | None:
    """The debtor as the gateway knows them now; None when it has not heard of them."""
    events = await store.read_stream(debtor_stream(customer_id))
    return replay_debtor(registry.load(e) for e in events)
