"""Versioned event contracts and the registry that turns them into envelopes and back.

Each context publishes its events as frozen pydantic models in ``fordra.contracts.<context>``. A
model names its type and schema version; an upcaster lifts an old stored payload to the current
version, so that old events are read by current code without being rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import UnknownEventType
from fordra.kernel.ids import new_id

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Event(BaseModel):
    """Base of every event contract.

    ``personal_field`` names the one field holding a ``PersonalData`` model (or None) and
    ``subject_field`` the field whose value identifies the data subject; the registry moves that
    part out of the payload into the envelope's sealed part. ``upcasters`` lift a payload stored
    by an older version (the key: the version lifted from); the registry takes them on with the
    model, so that every registry of the contract reads its old events.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    personal_field: ClassVar[str | None] = None
    subject_field: ClassVar[str | None] = None
    upcasters: ClassVar[dict[int, Upcaster]] = {}


class PersonalData(BaseModel):
    """The marked part of an event that holds personal data."""

    model_config = ConfigDict(frozen=True, extra="forbid")


E = TypeVar("E", bound=Event)


class EventRegistry:
    """Maps ``(type, version)`` to a contract model and holds upcasters from old versions."""

    def __init__(self) -> None:
        self._models: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, *models: type[Event]) -> None:
        for model in models:
            known = self._models.get(model.event_type)
            if known is not None and known is not model:
                raise ValueError(f"two contracts claim event type {model.event_type!r}")
            self._models[model.event_type] = model
            for from_version, up in model.upcasters.items():
                self._upcasters[(model.event_type, from_version)] = up

    def register_all(self, models: Iterable[type[Event]]) -> None:
        self.register(*models)

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function lifting a payload from ``from_version`` to ``from_version + 1``."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def model_for(self, event_type: str) -> type[Event]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(event_type, 0) from None

    def knows(self, event_type: str) -> bool:
        return event_type in self._models

    def envelope(
        self,
        event: Event,
        *,
        context: str,
        stream_id: str,
        version: int,
        metadata: Metadata,
        occurred_at: datetime,
        event_id: str | None = None,
    ) -> Envelope:
        data = event.model_dump(mode="json")
        personal: dict[str, Any] | None = None
        subject: str | None = None
        if event.personal_field is not None:
            personal = data.pop(event.personal_field)
        if event.subject_field is not None:
            subject = str(data[event.subject_field])
        return Envelope(
            event_id=event_id or new_id(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            context=context,
            stream_id=stream_id,
            version=version,
            occurred_at=occurred_at,
            metadata=metadata,
            payload=data,
            personal_data=personal,
            data_subject=subject,
        )

    def envelopes(
        self,
        events: Sequence[Event],
        *,
        context: str,
        stream_id: str,
        after_version: int,
        metadata: Metadata,
        occurred_at: datetime,
    ) -> list[Envelope]:
        return [
            self.envelope(
                e,
                context=context,
                stream_id=stream_id,
                version=after_version + i,
                metadata=metadata,
                occurred_at=occurred_at,
            )
            for i, e in enumerate(events, start=1)
        ]

    def load(self, envelope: Envelope) -> Event:
        """The current contract model of a stored event, upcast from its stored version."""
        model = self._models.get(envelope.event_type)
        if model is None:
            raise UnknownEventType(envelope.event_type, envelope.schema_version)
        data = dict(envelope.payload)
        if model.personal_field is not None:
            # A forgotten person's sealed part opens to None: contracts keep that field optional.
            # Set before upcasting, so that an upcaster may move a field into the sealed part.
            data[model.personal_field] = envelope.personal_data
        version = envelope.schema_version
        while version < model.schema_version:
            up = self._upcasters.get((envelope.event_type, version))
            if up is None:
                raise UnknownEventType(envelope.event_type, version)
            data = up(data)
            version += 1
        return model.model_validate(data)

    def load_as(self, envelope: Envelope, model: type[E]) -> E:
        event = self.load(envelope)
        if not isinstance(event, model):
            raise TypeError(f"{envelope.event_type} is not a {model.__name__}")
        return event
