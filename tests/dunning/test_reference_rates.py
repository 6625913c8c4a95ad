"""The reference-rate table (domain.md §3: "keep as a dated table an admin extends"): the rules
for adding a half-year, then ``GET/POST /api/v1/admin/reference-rates`` through the router as the
app mounts it (its error handlers), over the real in-memory and SQLite event stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from fordra.app.http import install_error_handlers
from fordra.contracts import all_contracts
from fordra.contracts.dunning import ReferenceRateAdded
from fordra.dunning.application.reference_rates import (
    REFERENCE_RATES_STREAM,
    ReferenceRatesDeps,
    reference_rates_in_force,
)
from fordra.dunning.domain.reference_rates import (
    add_reference_rate,
    parse_rate_percent,
    rate_text,
    rates_in_force,
)
from fordra.dunning.entrypoints.reference_rates_http import make_router
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from fordra.kernel.web import RouterDeps

TENANT = "svenljunga"
SHIPPED = rates_in_force([])

# -- the rules -----------------------------------------------------------------------------------


def test_the_table_ships_every_half_year_since_the_reference_rate_exists() -> None:
    days = [d for d, _ in SHIPPED.rows]
    assert days[0] == date(2002, 7, 1)  # it replaced the discount rate then
    assert days[-1] == date(2026, 1, 1)
    assert len(days) == 48  # every 1 January and 1 July in between, none left out
    assert all(d.day == 1 and d.month in (1, 7) for d in days)
    assert SHIPPED.at(date(2017, 3, 1)) == Decimal("-0.50")
    assert SHIPPED.at(date(2025, 7, 1)) == Decimal("2.00")


def test_a_half_year_starts_on_1_january_or_1_july() -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        add_reference_rate(SHIPPED, date(2026, 7, 2), "1.75")
    assert refused.value.field == "valid_from"
    added = add_reference_rate(SHIPPED, date(2026, 7, 1), "1.75")
    assert added == ReferenceRateAdded(valid_from=date(2026, 7, 1), rate_percent="1.75")


@pytest.mark.parametrize("text", ["2.505", "2,50", "abc", "", "1e2", "100.00", " 2.50", "NaN"])
def test_a_rate_is_a_decimal_with_at_most_two_places(text: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        parse_rate_percent(text)
    assert refused.value.field == "rate_percent"


def test_rates_are_kept_with_two_places() -> None:
    assert parse_rate_percent("2.5") == Decimal("2.50")
    assert rate_text(parse_rate_percent("2.5")) == "2.50"
    assert rate_text(parse_rate_percent("-0.50")) == "-0.50"
    assert rate_text(parse_rate_percent("-0")) == "0.00"
    assert rate_text(parse_rate_percent("4")) == "4.00"


def test_a_half_year_in_the_table_with_another_rate_is_refused_and_the_same_changes_nothing() -> (
    None
):
    assert add_reference_rate(SHIPPED, date(2025, 1, 1), "2.50") is None
    assert add_reference_rate(SHIPPED, date(2025, 1, 1), "2.5") is None
    with pytest.raises(DomainRuleViolation) as refused:
        add_reference_rate(SHIPPED, date(2025, 1, 1), "3.00")
    assert refused.value.rule == "reference_rate_already_set"


def test_no_half_year_is_left_out() -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        add_reference_rate(SHIPPED, date(2027, 1, 1), "1.75")
    assert refused.value.rule == "reference_rate_no_gap"
    # Not before the table either: the reference rate did not exist before 2002-07-01.
    with pytest.raises(DomainRuleViolation):
        add_reference_rate(SHIPPED, date(2002, 1, 1), "4.00")


# -- over HTTP -----------------------------------------------------------------------------------


def _registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register_all(all_contracts())
    return registry


def _app(deps: ReferenceRatesDeps) -> FastAPI:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
        return Principal(subject="t", role=Role(request.headers["x-role"]), tenant=TENANT)

    async def settle() -> None:
        return None

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(make_router(deps, RouterDeps(authenticate=authenticate, settle=settle)))
    return app


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    codec = EnvelopeCodec("dunning", PersonalDataSealer(InMemoryKeyRing()))
    made: EventStore = (
        MemoryEventStore("dunning", codec)
        if request.param == "memory"
        else SqliteEventStore(tmp_path / "dunning.sqlite", "dunning", codec)
    )
    await made.start()
    yield made
    await made.close()


@pytest.fixture
async def client(store: EventStore) -> AsyncIterator[httpx.AsyncClient]:
    deps = ReferenceRatesDeps(store, _registry(), ManualClock(date(2026, 7, 1)))
    transport = httpx.ASGITransport(app=_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


ADMIN = {"x-role": "admin"}


async def _post(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post(
        "/api/v1/admin/reference-rates", json=body, headers={**ADMIN, **headers}
    )


async def test_the_table_lists_the_shipped_rates(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/admin/reference-rates", headers=ADMIN)
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert items[0] == {"valid_from": "2002-07-01", "rate_percent": "4.50"}
    assert {"valid_from": "2016-07-01", "rate_percent": "-0.50"} in items
    assert {"valid_from": "2025-01-01", "rate_percent": "2.50"} in items
    assert items[-1] == {"valid_from": "2026-01-01", "rate_percent": "2.00"}


async def test_an_admin_adds_a_half_year_once(client: httpx.AsyncClient, store: EventStore) -> None:
    added = await _post(client, {"valid_from": "2026-07-01", "rate_percent": "1.75"})
    assert added.status_code == 201
    assert added.json() == {"valid_from": "2026-07-01", "rate_percent": "1.75", "added": True}
    listed = (await client.get("/api/v1/admin/reference-rates", headers=ADMIN)).json()["items"]
    assert listed[-1] == {"valid_from": "2026-07-01", "rate_percent": "1.75"}
    # The same again: 200, and nothing new in the store.
    log_before = await store.max_position()
    again = await _post(client, {"valid_from": "2026-07-01", "rate_percent": "1.75"})
    assert again.status_code == 200
    assert again.json()["added"] is False
    assert await store.max_position() == log_before
    # Stored as the public event, on the table's stream.
    stored = await store.read_stream(REFERENCE_RATES_STREAM)
    assert [e.event_type for e in stored] == ["ReferenceRateAdded"]
    table = await reference_rates_in_force(store, _registry())
    assert table.at(date(2026, 12, 31)) == Decimal("1.75")


async def test_a_repeated_request_with_its_key_answers_the_first_result(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    body = {"valid_from": "2026-07-01", "rate_percent": "1.75"}
    first = await _post(client, body, **{"Idempotency-Key": "k-1"})
    second = await _post(client, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(await store.read_stream(REFERENCE_RATES_STREAM)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"valid_from": "2026-07-02", "rate_percent": "1.75"}, "valid_from"),
        ({"valid_from": "2026-07-01", "rate_percent": "1.755"}, "rate_percent"),
        ({"valid_from": "2026-07-01", "rate_percent": "one"}, "rate_percent"),
        ({"valid_from": "2026-01-01", "rate_percent": "2.50"}, "rate_percent"),
        ({"valid_from": "2027-07-01", "rate_percent": "1.75"}, "valid_from"),
        ({"valid_from": "2026-13-01", "rate_percent": "1.75"}, "valid_from"),
        ({"valid_from": "2026-07-01"}, "rate_percent"),
        ({"valid_from": "2026-07-01", "rate_percent": 1.75}, "rate_percent"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_adds_nothing(
    client: httpx.AsyncClient, store: EventStore, body: dict[str, Any], field: str
) -> None:
    answer = await _post(client, body)
    assert answer.status_code == 422, answer.text
    assert any(problem["loc"][-1] == field for problem in answer.json()["detail"]), answer.json()
    assert await store.read_stream(REFERENCE_RATES_STREAM) == []


@pytest.mark.parametrize("role", ["ops_lead", "case_officer", "department", "bank_ingest"])
async def test_only_an_admin_adds_a_rate(
    client: httpx.AsyncClient, store: EventStore, role: str
) -> None:
    answer = await _post(
        client, {"valid_from": "2026-07-01", "rate_percent": "1.75"}, **{"x-role": role}
    )
    assert answer.status_code == 403
    assert await store.read_stream(REFERENCE_RATES_STREAM) == []


async def test_who_may_read_the_table(client: httpx.AsyncClient) -> None:
    for role, code in [("ops_lead", 200), ("case_officer", 200), ("department", 403)]:
        answer = await client.get("/api/v1/admin/reference-rates", headers={"x-role": role})
        assert answer.status_code == code


async def test_a_rate_not_yet_known_is_refused_and_adds_nothing(store: EventStore) -> None:
    # On 2026-05-18 the rate from 2026-07-01 is not known: it is the policy rate on 2026-06-30.
    # Added then, it was a guess the table could never correct (a half-year is never changed).
    clock = ManualClock(date(2026, 5, 18))
    deps = ReferenceRatesDeps(store, _registry(), clock)
    transport = httpx.ASGITransport(app=_app(deps))
    body = {"valid_from": "2026-07-01", "rate_percent": "1.75"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        early = await _post(client, body)
        assert early.status_code == 422, early.text
        (problem,) = early.json()["detail"]
        assert (problem["loc"][-1], problem["type"]) == (
            "valid_from",
            "reference_rate_not_yet_known",
        )
        assert await store.read_stream(REFERENCE_RATES_STREAM) == []
        # On the half-year's eve it is known, and added
        clock.set_today(date(2026, 6, 30))
        assert (await _post(client, body)).status_code == 201
