"""Envelope <-> stored row. Shared by every event-store adapter so that all of them store the same
bytes: the payload as JSON (orjson, the hot path), the personal part sealed per subject."""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.personal_data import PersonalDataSealer

# The order of the values in a row; the adapters' INSERT statements follow it.
ROW_COLUMNS: tuple[str, ...] = (
    "position",
    "event_id",
    "stream_id",
    "version",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "tenant",
    "actor",
    "correlation_id",
    "causation_id",
    "data_subject",
    "payload",
    "personal_data",
)


class EnvelopeCodec:
    def __init__(self, context: str, sealer: PersonalDataSealer) -> None:
        self.context = context
        self._sealer = sealer

    def to_row(self, env: Envelope) -> list[Any]:
        """A row without position and recorded time (index 0 and 7): the store fills those in."""
        return list(self._encode(env, 0, None))

    def stored_row(self, env: Envelope, recorded_at: str) -> tuple[Any, ...]:
        """The row of an envelope as stored (its position set; ``recorded_at`` its recorded time
        as ISO text, formatted once per commit): what a store encodes as it writes, one row at a
        time, so that a large append is held once, as envelopes, not twice."""
        return self._encode(env, env.position, recorded_at)

    def check(self, env: Envelope) -> None:
        """Refuse what ``to_row`` would refuse, without encoding: a store checks every envelope
        when an append is made and encodes it only when it writes."""
        if env.personal_data is not None and env.data_subject is None:
            raise ValueError(f"{env.event_type}: personal data without a data subject")

    def _encode(self, env: Envelope, position: int, recorded_at: str | None) -> tuple[Any, ...]:
        sealed: bytes | None = None
        if env.personal_data is not None:
            if env.data_subject is None:
                raise ValueError(f"{env.event_type}: personal data without a data subject")
            sealed = self._sealer.seal(env.data_subject, env.personal_data)
        m = env.metadata
        return (
            position,
            env.event_id,
            env.stream_id,
            env.version,
            env.event_type,
            env.schema_version,
            env.occurred_at.isoformat(),
            recorded_at,
            m.tenant,
            m.actor,
            m.correlation_id,
            m.causation_id,
            env.data_subject,
            orjson.dumps(env.payload),
            sealed,
        )

    def from_row(self, row: Sequence[Any]) -> Envelope:
        (
            position,
            event_id,
            stream_id,
            version,
            event_type,
            schema_version,
            occurred_at,
            recorded_at,
            tenant,
            actor,
            correlation_id,
            causation_id,
            data_subject,
            payload,
            sealed,
        ) = row
        personal = None
        if sealed is not None and data_subject is not None:
            personal = self._sealer.open(data_subject, bytes(sealed))
        return Envelope(
            event_id=event_id,
            event_type=event_type,
            schema_version=schema_version,
            context=self.context,
            stream_id=stream_id,
            version=version,
            # SQLite gives back the ISO text we wrote, PostgreSQL a datetime. Inline: this runs
            # twice for every event read, and a helper's call cost more than the parse.
            occurred_at=(
                occurred_at if occurred_at.__class__ is datetime else _parse_time(occurred_at)
            ),
            metadata=Metadata(
                tenant=tenant, actor=actor, correlation_id=correlation_id, causation_id=causation_id
            ),
            payload=orjson.loads(payload),
            personal_data=personal,
            data_subject=data_subject,
            position=position,
            recorded_at=(
                None
                if recorded_at is None
                else recorded_at
                if recorded_at.__class__ is datetime
                else _parse_time(recorded_at)
            ),
        )


# Timestamps repeat: every event of one commit has the same recorded time, and the events of one
# command mostly the same occurred time, so the text of each is parsed once (the cache is C).
_parse_time = functools.lru_cache(maxsize=4096)(datetime.fromisoformat)


def message_from_envelope(codec: EnvelopeCodec, env: Envelope) -> bytes:
    """The Kafka message value of a stored event: the envelope with its personal part *sealed*, so
    that a forgotten person's data is unreadable in the broker's log as well."""
    row = codec.to_row(env)
    sealed: bytes | None = row[14]
    return orjson.dumps(
        {
            "event_id": env.event_id,
            "event_type": env.event_type,
            "schema_version": env.schema_version,
            "context": env.context,
            "stream_id": env.stream_id,
            "version": env.version,
            "position": env.position,
            "occurred_at": env.occurred_at.isoformat(),
            "recorded_at": env.recorded_at.isoformat() if env.recorded_at else None,
            "tenant": env.metadata.tenant,
            "actor": env.metadata.actor,
            "correlation_id": env.metadata.correlation_id,
            "causation_id": env.metadata.causation_id,
            "data_subject": env.data_subject,
            "payload": env.payload,
            "personal_data": base64.b64encode(sealed).decode() if sealed is not None else None,
        }
    )


def envelope_from_message(codec: EnvelopeCodec, value: bytes) -> Envelope:
    m = orjson.loads(value)
    sealed = base64.b64decode(m["personal_data"]) if m["personal_data"] is not None else None
    row = [
        m["position"],
        m["event_id"],
        m["stream_id"],
        m["version"],
        m["event_type"],
        m["schema_version"],
        m["occurred_at"],
        m["recorded_at"],
        m["tenant"],
        m["actor"],
        m["correlation_id"],
        m["causation_id"],
        m["data_subject"],
        orjson.dumps(m["payload"]),
        sealed,
    ]
    return codec.from_row(row)
