"""The event envelope: what every stored and published event carries besides its payload.

Personal data (names, addresses, identity numbers) never sits in ``payload``: it travels in the one
marked part ``personal_data``, tied to ``data_subject``, which the codec seals per data subject so
that forgetting a person (crypto-shredding) is deleting one key, never rewriting an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who did it, for whom, and why: copied from a command to every event it causes, and from an
    event to every event a handler appends because of it."""

    tenant: str
    actor: str
    correlation_id: str
    causation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    event_id: str
    event_type: str
    schema_version: int
    context: str
    stream_id: str
    version: int
    occurred_at: datetime
    metadata: Metadata
    payload: dict[str, Any]
    personal_data: dict[str, Any] | None = None
    data_subject: str | None = None
    # Assigned by the store on commit: 0 and None before.
    position: int = 0
    recorded_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return self.metadata.tenant

    @property
    def correlation_id(self) -> str:
        return self.metadata.correlation_id

    def stored(self, position: int, recorded_at: datetime) -> Envelope:
        # The constructor, not dataclasses.replace: this runs once per appended event (2x faster).
        return Envelope(
            self.event_id,
            self.event_type,
            self.schema_version,
            self.context,
            self.stream_id,
            self.version,
            self.occurred_at,
            self.metadata,
            self.payload,
            self.personal_data,
            self.data_subject,
            position,
            recorded_at,
            self.extra,
        )

    def caused_metadata(self, actor: str | None = None) -> Metadata:
        """Metadata for an event a handler appends because of this one."""
        return Metadata(
            tenant=self.metadata.tenant,
            actor=actor or self.metadata.actor,
            correlation_id=self.metadata.correlation_id,
            causation_id=self.event_id,
        )
