"""``execute`` and its idempotency (issue 10, items 2 and 3): keys per caller, records without
personal fields, a refused decision that replays a parallel request's answer. Against a real
SQLite store: nothing here is faked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel

from fordra.kernel.application import (
    PERSONAL,
    Decision,
    execute,
    idempotent,
    personal_fields,
    stored_response,
)
from fordra.kernel.auth import Principal, Role
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import DomainRuleViolation, IdempotencyKeyReused
from fordra.kernel.eventstore import EventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from tests.kernel.contracts.eventstore import stream_append


class Address(BaseModel):
    street: Annotated[str | None, PERSONAL] = None
    country: str


class View(BaseModel):
    customer_id: str
    name: Annotated[str | None, PERSONAL] = None
    addresses: list[Address] = []
    home: Address | None = None


WASTE = Principal("system", Role.DEPARTMENT, "svenljunga", department="waste")
SCHOOL = Principal("system", Role.DEPARTMENT, "svenljunga", department="school")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
    opened = SqliteEventStore(tmp_path / "ledger.sqlite", "ledger", codec)
    await opened.start()
    yield opened
    await opened.close()


def test_personal_fields_are_found_in_nested_models_and_never_stored() -> None:
    assert personal_fields(View) == {
        "name": True,
        "addresses": {"__all__": {"street": True}},
        "home": {"street": True},
    }
    view = View(
        customer_id="c-1",
        name="Tolvan",
        addresses=[Address(street="Storgatan 1", country="SE")],
        home=Address(street="Hemliga vägen 7", country="SE"),
    )
    kept = stored_response(view)
    assert b"c-1" in kept
    assert b"SE" in kept
    for secret in (b"Tolvan", b"Storgatan", b"Hemliga"):
        assert secret not in kept


def test_a_key_is_its_callers_and_names_nothing_it_was_made_of() -> None:
    a = idempotent(WASTE, "1", "IssueInvoice", {"amount": 1})
    b = idempotent(SCHOOL, "1", "IssueInvoice", {"amount": 1})
    officer = idempotent(Principal("anna", Role.CASE_OFFICER, "svenljunga"), "1", "X")
    assert a is not None
    assert b is not None
    assert officer is not None
    assert len({a.key, b.key, officer.key}) == 3
    assert a.fingerprint != b.fingerprint  # keyed with the scoped key, so not comparable
    assert "waste" not in a.key
    long = idempotent(WASTE, "x" * 200, "IssueInvoice")
    assert long is not None
    assert len(long.key) == len(a.key) < 200  # fits the column whatever the header's length
    assert idempotent(WASTE, None, "IssueInvoice") is None
    assert idempotent(WASTE, "1", "IssueInvoice", {"amount": 1}) == a


async def test_a_response_with_personal_fields_needs_a_rebuild(store: EventStore) -> None:
    async def decide() -> Decision[View]:
        return Decision([], View(customer_id="c-1"))

    with pytest.raises(TypeError, match="rebuild"):
        await execute(store, decide, View, idempotency=idempotent(WASTE, "k", "X"))


async def test_a_replay_rebuilds_the_personal_fields_from_now(store: EventStore) -> None:
    names: list[str | None] = ["Tolvan"]

    async def decide() -> Decision[View]:
        return Decision([stream_append("s-1", 0, [{}])], View(customer_id="c-1", name=names[0]))

    async def rebuild(first: View) -> View:
        return first.model_copy(update={"name": names[0]})

    key = idempotent(WASTE, "k", "Change", "c-1")
    first = await execute(store, decide, View, idempotency=key, rebuild=rebuild)
    assert (first.replayed, first.response.name) == (False, "Tolvan")
    names[0] = None  # the person was forgotten since
    again = await execute(store, decide, View, idempotency=key, rebuild=rebuild)
    assert (again.replayed, again.response.name) == (True, None)
    assert again.response.customer_id == "c-1"


async def test_parallel_requests_with_one_key_are_done_once(store: EventStore) -> None:
    # A rule that refuses the request once its effect is there (like a credit already refunded)
    class Done(BaseModel):
        n: int

    async def decide() -> Decision[Done]:
        if await store.stream_version("refund-1"):
            raise DomainRuleViolation("nothing left to refund", rule="refund_within_credit")
        await asyncio.sleep(0)
        return Decision([stream_append("refund-1", 0, [{}])], Done(n=1))

    key = idempotent(WASTE, "k", "Refund")

    async def one(delay: float) -> Done:
        await asyncio.sleep(delay)
        return (await execute(store, decide, Done, idempotency=key)).response

    answers = await asyncio.gather(*(one(0.002 * (n % 4)) for n in range(8)))
    assert answers == [Done(n=1)] * 8
    assert await store.stream_version("refund-1") == 1
    # while the same key with another request is refused, naming the client's own key
    other = idempotent(WASTE, "k", "Refund", "more")
    with pytest.raises(IdempotencyKeyReused, match="'k'"):
        await execute(store, decide, Done, idempotency=other)


def test_every_use_case_names_its_record_through_the_kernel() -> None:
    # One way to scope a key (issue 10: a key built by hand leaked one department's answer to
    # another): only fordra.kernel.application builds an idempotency record.
    root = Path(__file__).resolve().parents[2]
    by_hand = [
        str(py.relative_to(root))
        for folder in ("services", "app")
        for py in (root / folder).rglob("*.py")
        for text in [py.read_text(encoding="utf-8")]
        if "IdempotencyRecord(" in text or 'idempotency_key=f"{principal' in text
    ]
    assert by_hand == []
