"""The dunning policies over HTTP (issue 13; domain.md §3-4), on a real ``MemoryEventStore`` and
``SqliteEventStore``, with the app's own error mapping: an ops lead sets a version, others get
403, a fee without legal ground or a date in the past is a 422 naming the rule, and the same
request again changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from fordra.app.http import install_error_handlers
from fordra.contracts import all_contracts
from fordra.contracts.invoicing import SERVICE_TYPES
from fordra.dunning.application.policies import PoliciesDeps, policy_book
from fordra.dunning.domain.policy_events import POLICY_EVENTS, POLICY_STREAM
from fordra.dunning.domain.settings import DunningSettings
from fordra.dunning.entrypoints.policies_http import make_router
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from fordra.kernel.web import RouterDeps

TENANT = "svenljunga"
TODAY = date(2026, 3, 2)


@dataclass
class Policies:
    client: httpx.AsyncClient
    deps: PoliciesDeps
    clock: ManualClock

    async def put(
        self, service_type: str, role: Role = Role.OPS_LEAD, key: str | None = None, **body: Any
    ) -> httpx.Response:
        headers = {"x-role": role.value}
        if key:
            headers["Idempotency-Key"] = key
        return await self.client.put(
            f"/api/v1/dunning/policies/{service_type}", json=body, headers=headers
        )

    async def get(self, role: Role = Role.CASE_OFFICER) -> httpx.Response:
        return await self.client.get("/api/v1/dunning/policies", headers={"x-role": role.value})

    async def stored(self) -> int:
        return await self.deps.store.stream_version(POLICY_STREAM)


def water(**changes: Any) -> dict[str, Any]:
    return {
        "valid_from": "2026-04-01",
        "model": "reminder_then_handover",
        "reminder_after_days": 7,
        "reminder_fee_ore": 0,
        "reminder_fee_agreed": False,
        "handover_after_reminder_days": 10,
        "next_step": "agency",
        "exempt_customer_ids": [],
        **changes,
    }


def app_for(deps: PoliciesDeps) -> FastAPI:
    async def authenticate(request: Request) -> Principal:
        # The role comes from a test header: the token service is the app's, not this router's.
        return Principal(subject="t", role=Role(request.headers["x-role"]), tenant=TENANT)

    async def settle() -> None:
        return None

    app = FastAPI()
    app.include_router(make_router(deps, RouterDeps(authenticate=authenticate, settle=settle)))
    install_error_handlers(app)
    return app


def make_store(kind: str, tmp_path: Path) -> EventStore:
    codec = EnvelopeCodec("dunning", PersonalDataSealer(InMemoryKeyRing()))
    if kind == "memory":
        return MemoryEventStore("dunning", codec)
    return SqliteEventStore(tmp_path / "dunning.sqlite", "dunning", codec)


@pytest.fixture(params=["memory", "sqlite"])
async def policies(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Policies]:
    registry = EventRegistry()
    registry.register_all(all_contracts())
    registry.register_all(POLICY_EVENTS)
    store = make_store(request.param, tmp_path)
    await store.start()
    clock = ManualClock(TODAY)
    deps = PoliciesDeps(store=store, registry=registry, clock=clock, settings=DunningSettings())
    try:
        transport = httpx.ASGITransport(app=app_for(deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Policies(client, deps, clock)
    finally:
        await store.close()


def rule_of(response: httpx.Response) -> tuple[str, list[Any]]:
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    return problem["type"], problem["loc"]


async def test_every_service_has_seed_001s_policy_until_one_is_set(policies: Policies) -> None:
    # When a case officer lists the policies of a new installation
    r = await policies.get()
    # Then every service has one, in force since always, seed 001's
    assert r.status_code == 200
    items = r.json()["items"]
    assert [p["service_type"] for p in items] == list(SERVICE_TYPES)
    water_policy = items[SERVICE_TYPES.index("water")]
    assert water_policy == {
        "service_type": "water",
        "valid_from": "1900-01-01",
        "model": "reminder_then_handover",
        "reminder_after_days": 7,
        "reminder_fee_ore": 0,
        "reminder_fee_agreed": False,
        "handover_after_reminder_days": 10,
        "next_step": "agency",
        "exempt_customer_ids": [],
    }
    assert items[SERVICE_TYPES.index("childcare")]["next_step"] == "termination_warning"


async def test_an_ops_lead_sets_a_version_that_takes_effect_on_its_date(
    policies: Policies,
) -> None:
    # Given a water policy from April with a 60 kr reminder fee, agreed, and an exempt customer
    body = water(reminder_fee_ore=6_000, reminder_fee_agreed=True, exempt_customer_ids=["c-9"])
    # When the ops lead sets it
    r = await policies.put("water", **body)
    # Then it is answered as stored
    assert r.status_code == 200, r.text
    assert r.json() == {"service_type": "water", **body}
    # and the listing shows today's default and April's version to come
    listed = [p for p in (await policies.get()).json()["items"] if p["service_type"] == "water"]
    assert [p["valid_from"] for p in listed] == ["1900-01-01", "2026-04-01"]
    # and the daily run's lookup answers the default before April and the version from it
    book = await policy_book(policies.deps)
    assert book.policy_for("water", date(2026, 3, 31)).reminder_fee_ore == 0
    assert book.policy_for("water", date(2026, 4, 1)).reminder_fee_ore == 6_000
    assert book.policy_for("water", date(2026, 4, 1)).is_exempt("c-9")
    # and once the clock reaches April, the listing has it as the one in force
    policies.clock.set_today(date(2026, 4, 2))
    listed = [p for p in (await policies.get()).json()["items"] if p["service_type"] == "water"]
    assert [p["valid_from"] for p in listed] == ["2026-04-01"]


@pytest.mark.parametrize("role", [Role.CASE_OFFICER, Role.ADMIN, Role.DEPARTMENT])
async def test_only_an_ops_lead_sets_a_policy(policies: Policies, role: Role) -> None:
    r = await policies.put("water", role=role, **water())
    assert r.status_code == 403
    assert "ops_lead" in r.json()["detail"]
    assert await policies.stored() == 0


async def test_a_department_may_not_read_the_policies(policies: Policies) -> None:
    assert (await policies.get(Role.DEPARTMENT)).status_code == 403
    assert (await policies.get(Role.OPS_LEAD)).status_code == 200


@pytest.mark.parametrize(
    ("service_type", "body", "rule", "field"),
    [
        ("water", water(reminder_fee_ore=1), "check_reminder_fee_agreed", "reminder_fee_ore"),
        (
            "water",
            water(reminder_fee_ore=6_001, reminder_fee_agreed=True),
            "check_reminder_fee_within_cap",
            "reminder_fee_ore",
        ),
        (
            "water",
            water(reminder_after_days=6),
            "check_reminder_not_before_seven_days",
            "reminder_after_days",
        ),
        (
            "water",
            water(valid_from="2026-03-01"),
            "check_change_never_rewrites_history",
            "valid_from",
        ),
        ("parking", water(), "check_service_type_known", "service_type"),
        (
            "waste",
            water(next_step="disconnection"),
            "check_next_step_is_a_real_process",
            "next_step",
        ),
        (
            "housing_rent",
            water(
                model="handover_then_agency_reminder",
                reminder_fee_ore=6_000,
                reminder_fee_agreed=True,
            ),
            "check_no_own_reminder_fee_when_agency_reminds",
            "reminder_fee_ore",
        ),
        (
            "waste",
            water(handover_after_reminder_days=90),
            "check_claims_go_without_delay",
            "handover_after_reminder_days",
        ),
    ],
)
async def test_a_rule_broken_is_a_422_naming_it_and_nothing_is_stored(
    policies: Policies, service_type: str, body: dict[str, Any], rule: str, field: str
) -> None:
    r = await policies.put(service_type, **body)
    assert rule_of(r) == (rule, ["body", field])
    assert await policies.stored() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (water(reminder_fee_ore=-1), "reminder_fee_ore"),
        (water(handover_after_reminder_days=0), "handover_after_reminder_days"),
        (water(model="court_first"), "model"),
        (water(next_step="eviction"), "next_step"),
        (water(valid_from="2026-02-30"), "valid_from"),
        (water(valid_from="9999-01-01"), "valid_from"),
        (water(exempt_customer_ids=[""]), "exempt_customer_ids"),
        (water(reminder_fee="60"), "reminder_fee"),
    ],
)
async def test_a_malformed_body_is_a_422_naming_the_field(
    policies: Policies, body: dict[str, Any], field: str
) -> None:
    r = await policies.put("water", **body)
    assert r.status_code == 422
    assert field in r.json()["detail"][0]["loc"]
    assert await policies.stored() == 0


async def test_the_same_put_again_changes_nothing(policies: Policies) -> None:
    # Given a version set once
    first = await policies.put("water", **water(reminder_after_days=8))
    assert first.status_code == 200
    # When the same request comes again, without a key, and again after the date has come
    again = await policies.put("water", **water(reminder_after_days=8))
    policies.clock.set_today(date(2026, 4, 5))
    later = await policies.put("water", **water(reminder_after_days=8))
    # Then each answers the same and one event is stored
    assert again.json() == first.json() == later.json()
    assert later.status_code == 200
    assert await policies.stored() == 1


async def test_an_idempotency_key_replays_and_refuses_another_body(policies: Policies) -> None:
    first = await policies.put("waste", key="k-1", **water(reminder_after_days=9))
    replay = await policies.put("waste", key="k-1", **water(reminder_after_days=9))
    assert replay.status_code == 200
    assert replay.json() == first.json()
    other = await policies.put("waste", key="k-1", **water(reminder_after_days=10))
    assert rule_of(other)[0] == "idempotency_key_reused"
    assert await policies.stored() == 1


async def test_a_version_to_come_may_be_corrected_but_one_in_force_never(
    policies: Policies,
) -> None:
    # Given an April version set in March
    assert (await policies.put("water", **water(reminder_after_days=8))).status_code == 200
    # When it is corrected before April: the correction replaces it
    corrected = await policies.put("water", **water(reminder_after_days=12))
    assert corrected.status_code == 200
    book = await policy_book(policies.deps)
    assert book.policy_for("water", date(2026, 4, 1)).reminder_after_days == 12
    # But once April has come, it is refused: a new version from a later date is the way
    policies.clock.set_today(date(2026, 4, 1))
    refused = await policies.put("water", **water(reminder_after_days=14))
    assert rule_of(refused) == ("check_change_never_rewrites_history", ["body", "valid_from"])
    newer = await policies.put("water", **water(valid_from="2026-04-02", reminder_after_days=14))
    assert newer.status_code == 200
    book = await policy_book(policies.deps)
    assert book.policy_for("water", date(2026, 4, 1)).reminder_after_days == 12
    assert book.policy_for("water", date(2026, 4, 2)).reminder_after_days == 14
    assert await policies.stored() == 3


async def test_the_agency_model_and_childcares_termination_warning_are_set(
    policies: Policies,
) -> None:
    agency = await policies.put("housing_rent", **water(model="handover_then_agency_reminder"))
    assert agency.status_code == 200, agency.text
    childcare = await policies.put("childcare", **water(next_step="termination_warning"))
    assert childcare.status_code == 200, childcare.text
    book = await policy_book(policies.deps)
    assert book.policy_for("housing_rent", date(2026, 4, 1)).model == (
        "handover_then_agency_reminder"
    )
    assert book.policy_for("childcare", date(2026, 4, 1)).next_step == "termination_warning"


async def test_two_ops_leads_at_once_both_have_their_version_kept(policies: Policies) -> None:
    # Given two ops leads setting water's and waste's policies at the same moment (one stream)
    water_r, waste_r = await asyncio.gather(
        policies.put("water", **water(reminder_after_days=8)),
        policies.put("waste", **water(reminder_after_days=9)),
    )
    # Then the one that lost the race decided again: both versions are stored, once each
    assert (water_r.status_code, waste_r.status_code) == (200, 200)
    book = await policy_book(policies.deps)
    assert book.policy_for("water", date(2026, 4, 1)).reminder_after_days == 8
    assert book.policy_for("waste", date(2026, 4, 1)).reminder_after_days == 9
    assert await policies.stored() == 2
