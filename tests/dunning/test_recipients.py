"""Who a dunning letter goes to (domain.md §2 "Protected identity"): dunning's copy of the customer
register, learnt from invoicing's public events through dunning's own reaction, over real stores
that share one key ring as the platform's do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from fordra.contracts.invoicing import PostalAddress
from fordra.dunning.application.recipients import (
    load_recipient,
    recipient_reactions,
    recipient_stream,
)
from fordra.dunning.domain.letters import LETTER_EVENTS
from fordra.dunning.domain.recipients import (
    MASKED_ID_NUMBER,
    RECIPIENT_EVENTS,
    RecipientState,
    recipient_for_letter,
)
from fordra.invoicing.application.customers import change_customer
from fordra.invoicing.application.handlers import InvoicingDeps, register_customer
from fordra.invoicing.domain.commands import ChangeCustomerDetails, MarkProtectedIdentity
from fordra.kernel.auth import Role
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.events import EventRegistry
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import ProcessManagerRunner
from tests.utils.invoicing import (
    invoicing_deps,
    meta,
    person,
    personnummer,
    registration,
)
from tests.utils.invoicing import registry as invoicing_registry

OFFICER = person(Role.CASE_OFFICER, "handlaggare")
PROTECTOR = person(Role.PROTECTED_IDENTITY_OFFICER, "skydd")


def registry() -> EventRegistry:
    events = invoicing_registry()
    events.register_all(RECIPIENT_EVENTS)
    events.register_all(LETTER_EVENTS)
    return events


@dataclass
class Contexts:
    """Invoicing's and dunning's stores under one key ring (as ``keys.sqlite`` is one file for
    every store), invoicing's use cases, and dunning's reaction to invoicing's log."""

    keys: InMemoryKeyRing
    invoicing: MemoryEventStore
    dunning: MemoryEventStore
    registry: EventRegistry
    deps: InvoicingDeps
    runner: ProcessManagerRunner

    async def deliver(self) -> None:
        """What the bus does: invoicing's new events to dunning's reaction."""
        tracked = await self.runner.position("invoicing")
        events = await self.invoicing.read_log(tracked)
        if events:
            await self.runner.handle("invoicing", events)

    async def register(self, name: str, serial: int, *, protected: bool = False) -> str:
        cmd = registration(personnummer("19800101", serial), name=name).model_copy(
            update={"protected_identity": protected}
        )
        outcome = await register_customer(cmd, self.deps, OFFICER, meta(OFFICER))
        return outcome.response.customer_id

    async def recipient(self, customer_id: str) -> RecipientState | None:
        await self.deliver()
        return await load_recipient(self.dunning, self.registry, customer_id)


@pytest.fixture
async def contexts() -> AsyncIterator[Contexts]:
    keys = InMemoryKeyRing()
    sealer = PersonalDataSealer(keys)
    invoicing = MemoryEventStore("invoicing", EnvelopeCodec("invoicing", sealer))
    dunning = MemoryEventStore("dunning", EnvelopeCodec("dunning", sealer))
    await invoicing.start()
    await dunning.start()
    events = registry()
    deps = invoicing_deps(invoicing)
    runner = ProcessManagerRunner("dunning-recipients", dunning, recipient_reactions(events))
    yield Contexts(keys, invoicing, dunning, events, deps, runner)
    await invoicing.close()
    await dunning.close()


async def test_a_registered_customer_is_addressed_by_name_and_address(contexts: Contexts) -> None:
    cid = await contexts.register("Tolvan Tolvansson", 1)
    state = await contexts.recipient(cid)
    assert state is not None
    view = recipient_for_letter(cid, state, reveal_protected_id_number=False)
    assert view.route == "known"
    assert view.name == "Tolvan Tolvansson"
    assert view.address == PostalAddress(
        street="Storgatan 1", postal_code="512 50", city="Svenljunga"
    )
    assert view.id_number is None  # not printed on an ordinary letter


async def test_a_new_address_is_the_letters_address(contexts: Contexts) -> None:
    cid = await contexts.register("Tolvan Tolvansson", 2)
    moved = PostalAddress(street="Nygatan 3", postal_code="512 51", city="Svenljunga")
    await change_customer(
        cid,
        ChangeCustomerDetails(address=moved, reason="flyttat"),
        contexts.deps,
        OFFICER,
        meta(OFFICER),
    )
    view = recipient_for_letter(
        cid, await contexts.recipient(cid), reveal_protected_id_number=False
    )
    assert view.address == moved
    assert view.name == "Tolvan Tolvansson"


async def test_a_protected_identity_goes_through_skatteverket_without_name_or_address(
    contexts: Contexts,
) -> None:
    cid = await contexts.register("Hemlig Person", 3)
    await change_customer(
        cid,
        MarkProtectedIdentity(protected=True, reason="skyddad folkbokföring"),
        contexts.deps,
        PROTECTOR,
        meta(PROTECTOR),
    )
    state = await contexts.recipient(cid)
    masked = recipient_for_letter(cid, state, reveal_protected_id_number=False)
    assert masked.route == "protected"
    assert masked.name is None
    assert masked.address is None
    assert masked.id_number == MASKED_ID_NUMBER
    assert masked.id_number_hidden
    shown = recipient_for_letter(cid, state, reveal_protected_id_number=True)
    assert shown.id_number == f"19800101-{personnummer('19800101', 3)[8:]}"
    # Lifted: the letter is addressed again
    await change_customer(
        cid,
        MarkProtectedIdentity(protected=False, reason="skyddet upphört"),
        contexts.deps,
        PROTECTOR,
        meta(PROTECTOR),
    )
    lifted = recipient_for_letter(
        cid, await contexts.recipient(cid), reveal_protected_id_number=False
    )
    assert lifted.route == "known"
    assert lifted.name == "Hemlig Person"


async def test_registered_protected_from_the_start(contexts: Contexts) -> None:
    cid = await contexts.register("Skyddad Från Början", 4, protected=True)
    view = recipient_for_letter(
        cid, await contexts.recipient(cid), reveal_protected_id_number=False
    )
    assert view.route == "protected"
    assert view.name is None


async def test_a_forgotten_person_leaves_dunnings_copy_empty_too(contexts: Contexts) -> None:
    cid = await contexts.register("Glömd Person", 5)
    assert (await contexts.recipient(cid)) is not None
    # The person's key is deleted (crypto-shredding): dunning's copy was sealed under it
    contexts.keys.forget(cid)
    state = await contexts.recipient(cid)
    assert state is not None
    assert state.personal is None
    view = recipient_for_letter(cid, state, reveal_protected_id_number=True)
    assert view.route == "unknown"
    assert view.name is None
    assert view.id_number is None
    # The copy itself is intact, only without its personal part
    copied = await contexts.dunning.read_stream(recipient_stream(cid))
    assert copied[0].event_type == "DunningRecipientRegistered"
    assert copied[0].personal_data is None


async def test_forgotten_before_dunning_heard_of_them(contexts: Contexts) -> None:
    cid = await contexts.register("Tidigt Glömd", 6)
    contexts.keys.forget(cid)
    state = await contexts.recipient(cid)
    assert state is not None
    assert state.personal is None


async def test_a_customer_dunning_has_not_heard_of_is_unknown(contexts: Contexts) -> None:
    assert await load_recipient(contexts.dunning, contexts.registry, "nobody") is None
    view = recipient_for_letter("nobody", None, reveal_protected_id_number=True)
    assert view.route == "unknown"


async def test_a_redelivery_changes_nothing(contexts: Contexts) -> None:
    cid = await contexts.register("Två Gånger", 7)
    await contexts.deliver()
    before = await contexts.dunning.read_stream(recipient_stream(cid))
    # The bus delivers the whole log again (a restart before its offset was committed)
    await contexts.runner.handle("invoicing", await contexts.invoicing.read_log(0))
    assert await contexts.dunning.read_stream(recipient_stream(cid)) == before
    assert len(before) == 1
