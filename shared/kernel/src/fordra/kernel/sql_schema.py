"""The tables every SQL event store shares (SQLite and PostgreSQL): events, tracking and
idempotency records. Declared once with SQLAlchemy Core; each adapter creates them in its own
database (SQLite) or schema (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)


def event_store_metadata(schema: str | None = None) -> MetaData:
    metadata = MetaData(schema=schema)
    Table(
        "events",
        metadata,
        # Global position: handed out under the store's write lock, so it commits in order.
        Column(
            "position",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("stream_id", String(200), nullable=False),
        Column("version", Integer, nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("occurred_at", Text, nullable=False),
        Column("recorded_at", Text, nullable=False),
        Column("tenant", String(100), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("correlation_id", String(64), nullable=False),
        Column("causation_id", String(64)),
        Column("data_subject", String(64)),
        Column("payload", LargeBinary, nullable=False),
        Column("personal_data", LargeBinary),
        UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    )
    Table(
        "tracking",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("upstream", String(100), primary_key=True),
        Column("position", BigInteger, nullable=False),
    )
    Table(
        "idempotency",
        metadata,
        Column("key", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("recorded_at", Text, nullable=False),
    )
    # No index on data_subject: forgetting a person deletes a key and never looks events up by
    # subject, and every index costs each append (docs/performance.md).
    return metadata
