"""The back-off rule and what waits for delivery (issue 15 "Outbound"; domain/delivery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from fordra.agency_gateway.domain.delivery import (
    agencies_without_secret,
    fold_pending,
    next_attempt_at,
    retry_delay,
)
from fordra.agency_gateway.domain.outbound import OutboundDelivered, OutboundFailed, OutboundQueued
from fordra.agency_gateway.domain.settings import AgencyEndpoint, AgencySettings

T0 = datetime(2026, 4, 21, 10, 0, tzinfo=UTC)


def queued(message_id: str) -> OutboundQueued:
    return OutboundQueued(
        message_id=message_id, case_id=message_id, agency="reference", kind="claim", payload={}
    )


def test_the_wait_doubles_from_the_first_up_to_the_cap() -> None:
    waits = [retry_delay(n, first_seconds=60, cap_seconds=3600) for n in range(1, 9)]
    minutes = [w.total_seconds() / 60 for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]
    # A very long outage stays at the cap, without overflowing.
    assert retry_delay(10_000, first_seconds=60, cap_seconds=3600) == timedelta(hours=1)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, first_seconds=60, cap_seconds=3600)


def test_the_next_attempt_follows_the_settings() -> None:
    settings = AgencySettings(delivery_retry_first_seconds=0.5, delivery_retry_cap_seconds=2)
    assert next_attempt_at(T0, 1, settings) == T0 + timedelta(seconds=0.5)
    assert next_attempt_at(T0, 3, settings) == T0 + timedelta(seconds=2)


def test_a_message_waits_until_delivered_and_a_failure_sets_its_next_attempt() -> None:
    # Given two messages queued, one failed once and one delivered
    retry_at = T0 + timedelta(minutes=1)
    waiting = fold_pending(
        {},
        [
            (queued("a"), 1),
            (queued("b"), 1),
            (
                OutboundFailed(
                    message_id="a", case_id="a", attempt=1, error="down", retry_at=retry_at
                ),
                2,
            ),
            (OutboundDelivered(message_id="b", case_id="b", delivered_at=T0, attempts=1), 2),
        ],
    )
    # Then only the failed one waits, due at its retry time and not before
    assert list(waiting) == ["a"]
    assert (waiting["a"].attempts, waiting["a"].version) == (1, 2)
    assert not waiting["a"].due(T0)
    assert waiting["a"].due(retry_at)
    # and a later fold starts from what was waiting
    later = fold_pending(
        waiting, [(OutboundDelivered(message_id="a", case_id="a", delivered_at=T0, attempts=2), 3)]
    )
    assert later == {}


def test_an_agency_without_a_secret_is_named() -> None:
    settings = AgencySettings(
        agencies={
            "reference": AgencyEndpoint(url="http://127.0.0.1:8090"),
            "filebyran": AgencyEndpoint(kind="file", file_dir="/tmp/x"),
        },
        secrets={"reference": SecretStr("s3cret"), "filebyran": SecretStr("")},
    )
    assert agencies_without_secret(settings) == ["filebyran"]
    assert agencies_without_secret(AgencySettings()) == ["reference"]
