"""Fordra's own errors: driver errors become these at the adapter edge, so that no context ever
catches an ``sqlite3`` or ``asyncpg`` exception."""

from __future__ import annotations


class FordraError(Exception):
    """Base of every error the platform raises on purpose."""


class ConcurrencyConflict(FordraError):
    """An append expected a stream version that is no longer the current one.

    Never a silent overwrite: the writer reloads the stream and decides again.
    """

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the append expected {expected}"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReused(FordraError):
    """The same idempotency key came back with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used for a different request")
        self.key = key


class UnknownEventType(FordraError):
    def __init__(self, event_type: str, schema_version: int) -> None:
        super().__init__(f"no contract for event {event_type!r} version {schema_version}")


class StoreUnavailable(FordraError):
    """The event store could not be reached or refused the operation for a transient reason."""


class DomainRuleViolation(FordraError):
    """A command broke a business rule. ``field`` names the input at fault when there is one."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


class NotFound(FordraError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} does not exist")
        self.what = what
        self.ident = ident


class AlreadyExists(FordraError):
    def __init__(self, message: str, *, field: str | None = None, existing_id: str | None = None):
        super().__init__(message)
        self.field = field
        self.existing_id = existing_id
