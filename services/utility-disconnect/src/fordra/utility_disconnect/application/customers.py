"""Utility disconnection's copy of the customer register's personal part (domain/customers.py),
kept by a process manager following invoicing's public customer events."""

from __future__ import annotations

from collections.abc import Sequence

from fordra.contracts.invoicing import (
    CustomerDetailsChanged,
    CustomerPersonalData,
    CustomerRegistered,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction, append_caused
from fordra.utility_disconnect.application.deps import CONTEXT
from fordra.utility_disconnect.domain.customers import (
    DisconnectCustomerNamed,
    customer_stream,
    personal_of,
)


def customer_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for a ``ProcessManagerRunner`` following invoicing."""

    async def copy(
        env: Envelope, store: EventStore, customer_id: str, personal: CustomerPersonalData | None
    ) -> Sequence[StreamAppend]:
        return await append_caused(
            registry,
            store,
            env,
            context=CONTEXT,
            stream_id=customer_stream(customer_id),
            event=DisconnectCustomerNamed(customer_id=customer_id, personal=personal),
        )

    async def on_registered(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        e = registry.load_as(env, CustomerRegistered)
        return await copy(env, store, e.customer_id, e.personal)

    async def on_details(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        e = registry.load_as(env, CustomerDetailsChanged)
        return await copy(env, store, e.customer_id, e.personal)

    return {
        CustomerRegistered.event_type: on_registered,
        CustomerDetailsChanged.event_type: on_details,
    }


async def personal_data(
    store: EventStore, registry: EventRegistry, customer_id: str
) -> CustomerPersonalData | None:
    envelopes = await store.read_stream(customer_stream(customer_id))
    return personal_of(registry.load(e) for e in envelopes if registry.knows(e.event_type))
