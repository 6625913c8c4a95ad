"""The shared append path's checks, in their order, without a store: which answer wins when an
append fails more than one check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fordra.kernel.appending import AppendRequest, StoredFacts
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    AlreadyProcessed,
    IdempotencyRecord,
    RequestAlreadyDone,
    Tracking,
)
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from tests.kernel.contracts.eventstore import stream_append

_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_FIRST = IdempotencyRecord("v2:key", "fp-a", b"first answer")


def _request(
    *, tracking: Tracking | None = None, idempotency: IdempotencyRecord | None = None
) -> AppendRequest:
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    appends = [stream_append("a", 0, [{"n": 1}, {"n": 2}]), stream_append("b", 3, [{"n": 3}])]
    return AppendRequest.encode(codec, appends, tracking, idempotency)


def test_a_repeated_request_is_answered_its_first_answer_even_when_it_would_conflict() -> None:
    # Given a request whose key was used, whose tracking is behind and whose streams moved on
    request = _request(tracking=Tracking("dunning", "invoicing", 4), idempotency=_FIRST)
    facts = StoredFacts(first_answer=_FIRST, tracked=9, versions=[5, 5])

    # When it is checked, Then the first answer wins
    with pytest.raises(RequestAlreadyDone) as done:
        request.accept(facts, 10, _NOW)
    assert done.value.record == _FIRST


def test_a_reused_key_with_another_body_is_refused_before_anything_else() -> None:
    request = _request(idempotency=IdempotencyRecord("v2:key", "fp-b", b""))
    with pytest.raises(IdempotencyKeyReused):
        request.accept(StoredFacts(first_answer=_FIRST, tracked=None, versions=[5, 5]), 10, _NOW)


def test_a_redelivery_is_already_processed_even_when_it_would_conflict() -> None:
    request = _request(tracking=Tracking("dunning", "invoicing", 4))
    with pytest.raises(AlreadyProcessed):
        request.accept(StoredFacts(first_answer=None, tracked=4, versions=[5, 5]), 10, _NOW)


def test_the_first_stale_stream_is_named() -> None:
    request = _request()
    with pytest.raises(ConcurrencyConflict) as caught:
        request.accept(StoredFacts(first_answer=None, tracked=None, versions=[1, 2]), 10, _NOW)
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("a", 0, 1)


def test_an_accepted_append_numbers_its_rows_and_answers_them_as_stored() -> None:
    # Given a request that passes every check, after position 10
    request = _request(tracking=Tracking("dunning", "invoicing", 4), idempotency=_FIRST)

    # When it is accepted
    stored = request.accept(StoredFacts(first_answer=None, tracked=3, versions=[0, 3]), 10, _NOW)

    # Then the rows and the envelopes carry positions 11..13 and the recorded time, in order
    assert [row[0] for row in request.rows] == [11, 12, 13]
    assert {row[7] for row in request.rows} == {_NOW.isoformat()}
    assert [(e.stream_id, e.version, e.position) for e in stored] == [
        ("a", 1, 11),
        ("a", 2, 12),
        ("b", 4, 13),
    ]
    assert all(e.recorded_at == _NOW for e in stored)
