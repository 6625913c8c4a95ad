"""The shared append path's checks, in their order, without a store: which answer wins when an
append fails more than one check."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from fordra.kernel.appending import (
    AppendRequest,
    GroupFacts,
    QueuedAppend,
    StoredFacts,
    accept_group,
)
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from fordra.kernel.eventstore import (
    AlreadyProcessed,
    IdempotencyRecord,
    RequestAlreadyDone,
    StreamAppend,
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


# -- a group checked at once ----------------------------------------------------------------------


def _queued(*appends: StreamAppend, idempotency: IdempotencyRecord | None = None) -> QueuedAppend:
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    return QueuedAppend.queue(codec, appends, None, idempotency)


async def test_a_group_is_checked_as_if_each_append_were_written_before_the_next() -> None:
    # Given a group: one append creates stream s, the next continues it, a third creates it again,
    # and a fourth repeats the second's idempotency key
    create = _queued(stream_append("s", 0, [{"n": 1}]))
    follow = _queued(stream_append("s", 1, [{"n": 2}]), idempotency=_FIRST)
    again = _queued(stream_append("s", 0, [{"n": 3}]))
    repeat = _queued(stream_append("t", 0, [{"n": 4}]), idempotency=_FIRST)

    # When the group is checked against a store that holds none of it, after position 10
    facts = GroupFacts(versions={}, first_answers={}, tracked={})
    write = accept_group([create, follow, again, repeat], facts, 10, _NOW)

    # Then the first two are accepted and numbered in order, the third lost to the first, the
    # fourth is told the second's answer
    assert write.jobs == [create, follow]
    assert [(e.stream_id, e.version, e.position) for e in write.events] == [
        ("s", 1, 11),
        ("s", 2, 12),
    ]
    assert write.position == 12
    assert isinstance(again.result, ConcurrencyConflict)
    assert (again.result.expected, again.result.actual) == (0, 2)
    assert isinstance(repeat.result, RequestAlreadyDone)
    # and the rows written carry the positions and the recorded time
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    rows = list(write.rows(codec, _NOW))
    assert [(r[0], r[2], r[3], r[7]) for r in rows] == [
        (11, "s", 1, _NOW.isoformat()),
        (12, "s", 2, _NOW.isoformat()),
    ]


async def test_streams_the_group_only_creates_are_not_read() -> None:
    # Given a group creating streams a and b, and continuing stream c
    group = [
        _queued(stream_append("a", 0, [{"n": 1}]), stream_append("c", 4, [{"n": 2}])),
        _queued(stream_append("b", 0, [{"n": 3}])),
    ]

    # Then only c is read; every stream when the adapter writes append by append
    assert GroupFacts.wanted(group)[0] == ["c"]
    assert GroupFacts.wanted(group, new_streams=True)[0] == ["a", "c", "b"]


async def test_an_envelope_the_codec_refuses_fails_when_the_append_is_made() -> None:
    # Given an envelope with personal data but no data subject
    (env,) = stream_append("a", 0, [{"n": 1}]).events
    bad = StreamAppend("a", 0, [dataclasses.replace(env, personal_data={"name": "A"})])

    # When it is queued, Then it is refused at once, before any writer sees it
    with pytest.raises(ValueError, match="without a data subject"):
        _queued(bad)
