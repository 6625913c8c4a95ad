"""Factories for tests: a running platform on an engine, and an HTTP client with a token.

Scenario tests take the ``engine`` fixture and run on both engines. The distributed engine gets a
fresh PostgreSQL database and a Kafka topic namespace of its own per test, on the session's real
servers (tests/utils/servers.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import make_url

from fordra.app.bootstrap import Platform, build_distributed, build_embedded
from fordra.app.http import create_app
from fordra.app.settings import Settings
from fordra.kernel.auth import Role
from fordra.kernel.postgres_eventstore import asyncpg_dsn
from fordra.kernel.telemetry import Telemetry


@dataclass(frozen=True)
class Engine:
    name: str
    postgres_url: str | None = None
    kafka_bootstrap: str | None = None

    def __str__(self) -> str:
        return self.name


@dataclass
class Running:
    platform: Platform
    client: httpx.AsyncClient

    def token(self, role: Role, **scope: str) -> str:
        return self.platform.tokens.issue(role, **scope)  # type: ignore[arg-type]

    def auth(self, role: Role = Role.ADMIN, **scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **scope)}"}


async def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; answers its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def build_platform(
    engine: Engine | str,
    settings: Settings,
    *,
    today: date | None = None,
    telemetry: Telemetry | None = None,
) -> Platform:
    if str(engine) == "embedded":
        return build_embedded(settings, today=today, telemetry=telemetry)
    return build_distributed(settings, today=today, telemetry=telemetry)


async def engine_settings(engine: Engine | str, data_dir: Path, **settings: Any) -> Settings:
    if str(engine) == "distributed":
        assert isinstance(engine, Engine)
        assert engine.postgres_url
        assert engine.kafka_bootstrap
        settings.setdefault("store", await fresh_database(engine.postgres_url))
        settings.setdefault("bus", f"kafka://{engine.kafka_bootstrap}")
        settings.setdefault("kafka_namespace", f"t{uuid.uuid4().hex[:10]}")
    return Settings(data_dir=data_dir, **settings)


@asynccontextmanager
async def running_platform(
    engine: Engine | str,
    data_dir: Path,
    *,
    today: date | None = None,
    telemetry: Telemetry | None = None,
    **settings: Any,
) -> AsyncIterator[Running]:
    if today is not None:
        settings.setdefault("clock", "manual")
    config = await engine_settings(engine, data_dir, **settings)
    platform = build_platform(engine, config, today=today, telemetry=telemetry)
    await platform.start()
    app = create_app(platform, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://fordra.test") as client:
            yield Running(platform, client)
    finally:
        await platform.stop()


# A property for water and waste invoices: its owner is liable (seed 001, domain.md §2).
PROPERTY = "Svenljunga Kyrkan 1:23"


async def record_ownership(
    fordra: Running,
    customer_id: str,
    *,
    property_designation: str = PROPERTY,
    owned_from: str = "2000-01-01",
    headers: dict[str, str] | None = None,
) -> None:
    """The customer owns the property (PropertyOwnershipRecorded), so water and waste can be
    invoiced to them."""
    body = {"property_designation": property_designation, "owned_from": owned_from}
    r = await fordra.client.post(
        f"/api/v1/customers/{customer_id}/properties", json=body, headers=headers or fordra.auth()
    )
    assert r.status_code == 200, r.text
