"""Dunning's copy of the customer register, as far as a letter needs it (domain.md §2 "Protected
identity"; domain/recipients.py says what is kept and why).

``recipient_reactions`` follows invoicing's public customer events and writes dunning's own
``recipient-<customer>`` stream (run by a ``ProcessManagerRunner`` the app wires: the reactions
append, the runner commits them with its tracking row, so a redelivery changes nothing). The
personal part is sealed per customer by the store's codec, under the same key as invoicing's copy:
forgetting the person empties both. ``load_recipient`` reads the stream back at rendering time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from fordra.contracts.invoicing import (
    CustomerDetailsChanged,
    CustomerRegistered,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
)
from fordra.dunning.domain.recipients import (
    RecipientDetailsChanged,
    RecipientProtectionChanged,
    RecipientRegistered,
    RecipientState,
    replay_recipient,
)
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction, append_caused

__all__ = ["CONTEXT", "load_recipient", "recipient_reactions", "recipient_stream"]

CONTEXT: Final = "dunning"


def recipient_stream(customer_id: str) -> str:
    return f"recipient-{customer_id}"


def recipient_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for a ``ProcessManagerRunner`` following invoicing."""

    async def append(
        env: Envelope, store: EventStore, event: Event, customer_id: str
    ) -> list[StreamAppend]:
        return await append_caused(
            registry,
            store,
            env,
            context=CONTEXT,
            stream_id=recipient_stream(customer_id),
            event=event,
        )

    async def on_registered(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        registered = registry.load_as(env, CustomerRegistered)
        # A person forgotten before this copy is made arrives without a personal part, and the
        # copy then has none either (nothing is sealed for a forgotten subject).
        copy = RecipientRegistered(
            customer_id=registered.customer_id,
            kind=registered.kind,
            id_kind=registered.id_kind,
            protected_identity=registered.protected_identity,
            personal=registered.personal,
        )
        return await append(env, store, copy, registered.customer_id)

    async def on_details(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        changed = registry.load_as(env, CustomerDetailsChanged)
        copy = RecipientDetailsChanged(customer_id=changed.customer_id, personal=changed.personal)
        return await append(env, store, copy, changed.customer_id)

    async def on_marked(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        marked = registry.load_as(env, ProtectedIdentityMarked)
        copy = RecipientProtectionChanged(customer_id=marked.customer_id, protected=True)
        return await append(env, store, copy, marked.customer_id)

    async def on_cleared(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cleared = registry.load_as(env, ProtectedIdentityCleared)
        copy = RecipientProtectionChanged(customer_id=cleared.customer_id, protected=False)
        return await append(env, store, copy, cleared.customer_id)

    return {
        CustomerRegistered.event_type: on_registered,
        CustomerDetailsChanged.event_type: on_details,
        ProtectedIdentityMarked.event_type: on_marked,
        ProtectedIdentityCleared.event_type: on_cleared,
    }


async def load_recipient(
    store: EventStore, registry: EventRegistry, customer_id: str
) -> RecipientState | None:
    """The recipient as dunning knows them now; None when dunning has not heard of them."""
    events = await store.read_stream(recipient_stream(customer_id))
    return replay_recipient(registry.load(e) for e in events)
