"""The event registry: contract models to envelopes and back, the personal-data split, upcasting."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import UnknownEventType
from fordra.kernel.events import Event, EventRegistry, PersonalData
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer

METADATA = Metadata(tenant="kommun-1", actor="clerk-7", correlation_id="corr-1")
OCCURRED = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


class Person(PersonalData):
    name: str
    id_number: str


class CustomerRegistered(Event):
    event_type: ClassVar[str] = "CustomerRegistered"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    segment: str
    personal: Person | None


class InvoiceIssued(Event):
    """Version 2: the amount in öre (an integer) and its currency; version 1 had ``amount`` as a
    decimal string in kronor."""

    event_type: ClassVar[str] = "InvoiceIssued"
    schema_version: ClassVar[int] = 2

    invoice_id: str
    amount_ore: int
    currency: str


class InvoiceIssuedV3(Event):
    """A third version (the due date became required), to check that upcasters chain."""

    event_type: ClassVar[str] = "InvoiceIssued"
    schema_version: ClassVar[int] = 3

    invoice_id: str
    amount_ore: int
    currency: str
    due_days: int


class InvoicePaid(Event):
    event_type: ClassVar[str] = "InvoicePaid"

    invoice_id: str


def registry(*models: type[Event]) -> EventRegistry:
    reg = EventRegistry()
    reg.register(*(models or (CustomerRegistered, InvoiceIssued, InvoicePaid)))

    @reg.upcaster("InvoiceIssued", 1)
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        kronor = Decimal(data.pop("amount"))
        return {**data, "amount_ore": int(kronor * 100), "currency": "SEK"}

    @reg.upcaster("InvoiceIssued", 2)
    def v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "due_days": 30}

    return reg


def customer(personal: Person | None = None) -> CustomerRegistered:
    return CustomerRegistered(
        customer_id="cust-42",
        segment="household",
        personal=personal or Person(name="Selma Lagerlöf", id_number="18581120-1234"),
    )


def stored_v1(payload: dict[str, Any], event_type: str = "InvoiceIssued") -> Envelope:
    """An envelope as an old version of the code stored it."""
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        context="invoicing",
        stream_id="invoice-1",
        version=1,
        occurred_at=OCCURRED,
        metadata=METADATA,
        payload=payload,
        position=17,
        recorded_at=OCCURRED,
    )


def to_envelope(reg: EventRegistry, event: Event, **kwargs: Any) -> Envelope:
    return reg.envelope(
        event,
        context="invoicing",
        stream_id=kwargs.pop("stream_id", "customer-42"),
        version=kwargs.pop("version", 1),
        metadata=METADATA,
        occurred_at=OCCURRED,
        **kwargs,
    )


# -- the personal-data split ----------------------------------------------------------------------


def test_envelope_moves_the_personal_part_out_of_the_payload() -> None:
    # Given a registry and an event with personal data
    reg = registry()
    event = customer()

    # When it becomes an envelope
    env = to_envelope(reg, event)

    # Then the personal part sits apart, tied to the data subject, and not in the payload
    assert env.personal_data == {"name": "Selma Lagerlöf", "id_number": "18581120-1234"}
    assert env.data_subject == "cust-42"
    assert env.payload == {"customer_id": "cust-42", "segment": "household"}
    assert "Selma" not in repr(env.payload)
    # and the envelope carries the contract's type and version, and what it was given
    assert (env.event_type, env.schema_version) == ("CustomerRegistered", 1)
    assert (env.context, env.stream_id, env.version) == ("invoicing", "customer-42", 1)
    assert env.metadata == METADATA
    assert env.occurred_at == OCCURRED
    assert (env.position, env.recorded_at) == (0, None)
    uuid.UUID(env.event_id)


def test_an_event_without_personal_data_has_no_personal_part() -> None:
    # Given an event whose contract has no personal field
    reg = registry()

    # When it becomes an envelope
    env = to_envelope(reg, InvoicePaid(invoice_id="inv-1"), event_id="fixed-id")

    # Then it has neither a personal part nor a subject, and keeps the given event id
    assert env.personal_data is None
    assert env.data_subject is None
    assert env.payload == {"invoice_id": "inv-1"}
    assert env.event_id == "fixed-id"


def test_load_puts_the_personal_part_back() -> None:
    # Given an envelope made from an event with personal data
    reg = registry()
    event = customer()
    env = to_envelope(reg, event)

    # When it is loaded
    loaded = reg.load(env)

    # Then it is the same event
    assert loaded == event
    assert reg.load_as(env, CustomerRegistered).personal == event.personal


def test_a_forgotten_person_loads_with_no_personal_part() -> None:
    # Given an envelope whose personal part opened to None (the key was deleted)
    reg = registry()
    env = to_envelope(reg, customer())
    forgotten = replace(env, personal_data=None)

    # When it is loaded
    loaded = reg.load_as(forgotten, CustomerRegistered)

    # Then the rest of the event is intact and the personal field is None
    assert loaded.personal is None
    assert (loaded.customer_id, loaded.segment) == ("cust-42", "household")


def test_round_trip_through_the_codec_and_crypto_shredding() -> None:
    # Given an envelope with personal data, sealed into a row by the codec
    reg = registry()
    sealer = PersonalDataSealer(InMemoryKeyRing())
    codec = EnvelopeCodec("invoicing", sealer)
    env = to_envelope(reg, customer())
    row = codec.to_row(env)
    assert b"Selma" not in b"".join(v for v in row if isinstance(v, bytes))

    # When the row is read back, then again after the customer is forgotten
    opened = reg.load_as(codec.from_row(row), CustomerRegistered)
    sealer.forget("cust-42")
    shredded = reg.load_as(codec.from_row(row), CustomerRegistered)

    # Then the first gives the whole event, the second the event without the personal part
    assert opened == customer()
    assert shredded.personal is None
    assert shredded.customer_id == "cust-42"


def test_envelopes_number_the_versions_after_the_stream() -> None:
    # Given two events for a stream at version 4
    reg = registry()

    # When they become envelopes
    envs = reg.envelopes(
        [InvoicePaid(invoice_id="a"), InvoicePaid(invoice_id="b")],
        context="invoicing",
        stream_id="invoice-1",
        after_version=4,
        metadata=METADATA,
        occurred_at=OCCURRED,
    )

    # Then they follow the stream's version with distinct ids
    assert [e.version for e in envs] == [5, 6]
    assert [e.payload["invoice_id"] for e in envs] == ["a", "b"]
    assert len({e.event_id for e in envs}) == 2


# -- upcasting ------------------------------------------------------------------------------------


def test_upcaster_lifts_a_v1_payload_to_v2() -> None:
    # Given a v1 envelope as stored by old code, and the v2 contract with an upcaster
    reg = registry()
    old = stored_v1({"invoice_id": "inv-1", "amount": "1250.50"})

    # When it is loaded
    loaded = reg.load_as(old, InvoiceIssued)

    # Then it is the current version, with the amount converted
    assert loaded == InvoiceIssued(invoice_id="inv-1", amount_ore=125050, currency="SEK")
    # and the stored envelope is untouched
    assert old.payload == {"invoice_id": "inv-1", "amount": "1250.50"}
    assert old.schema_version == 1


def test_a_current_version_is_loaded_without_upcasting() -> None:
    # Given a v2 event made by current code
    reg = registry()
    event = InvoiceIssued(invoice_id="inv-2", amount_ore=500, currency="EUR")
    env = to_envelope(reg, event, stream_id="invoice-2")

    # When it is loaded
    loaded = reg.load(env)

    # Then it is stored as version 2 and loads unchanged
    assert env.schema_version == 2
    assert loaded == event


def test_upcasters_chain_over_several_versions() -> None:
    # Given the v3 contract and upcasters 1->2 and 2->3
    reg = registry(CustomerRegistered, InvoiceIssuedV3)

    # When a v1 payload is loaded
    loaded = reg.load_as(stored_v1({"invoice_id": "inv-1", "amount": "10"}), InvoiceIssuedV3)

    # Then both upcasters ran, in order
    assert loaded == InvoiceIssuedV3(
        invoice_id="inv-1", amount_ore=1000, currency="SEK", due_days=30
    )


def test_a_missing_upcaster_is_an_unknown_version() -> None:
    # Given the v2 contract but no upcaster from version 1
    reg = EventRegistry()
    reg.register(InvoiceIssued)

    # When a v1 payload is loaded, then it is refused as an unknown version
    with pytest.raises(UnknownEventType, match="InvoiceIssued"):
        reg.load(stored_v1({"invoice_id": "inv-1", "amount": "10"}))


# -- the registry itself --------------------------------------------------------------------------


def test_an_unknown_event_type_is_refused() -> None:
    # Given a registry that does not know "InvoiceCancelled"
    reg = registry()
    env = stored_v1({"invoice_id": "inv-1"}, event_type="InvoiceCancelled")

    # When it is loaded or looked up, then it is refused
    assert not reg.knows("InvoiceCancelled")
    with pytest.raises(UnknownEventType, match="InvoiceCancelled"):
        reg.load(env)
    with pytest.raises(UnknownEventType, match="InvoiceCancelled"):
        reg.model_for("InvoiceCancelled")


def test_two_models_cannot_claim_one_event_type() -> None:
    # Given a registry with the v2 contract of InvoiceIssued
    reg = registry()

    # When another model claims the same type, then it is refused
    with pytest.raises(ValueError, match="InvoiceIssued"):
        reg.register(InvoiceIssuedV3)
    assert reg.model_for("InvoiceIssued") is InvoiceIssued
    # and registering the same model again is harmless
    reg.register_all([InvoiceIssued, InvoicePaid])
    assert reg.model_for("InvoicePaid") is InvoicePaid


def test_load_as_refuses_another_model() -> None:
    # Given an InvoicePaid envelope
    reg = registry()
    env = to_envelope(reg, InvoicePaid(invoice_id="inv-1"))

    # When it is loaded as a CustomerRegistered, then it is refused
    with pytest.raises(TypeError, match="InvoicePaid"):
        reg.load_as(env, CustomerRegistered)
