"""Factories for tests: a running platform on an engine, and an HTTP client with a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from fordra.app.bootstrap import Platform, build_embedded
from fordra.app.http import create_app
from fordra.app.settings import Settings
from fordra.kernel.auth import Role

ENGINES = ("embedded",)


@dataclass
class Running:
    platform: Platform
    client: httpx.AsyncClient

    def token(self, role: Role, **scope: str) -> str:
        return self.platform.tokens.issue(role, **scope)  # type: ignore[arg-type]

    def auth(self, role: Role = Role.ADMIN, **scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **scope)}"}


@asynccontextmanager
async def running_platform(
    engine: str, data_dir: Path, *, today: date | None = None, **settings: object
) -> AsyncIterator[Running]:
    if engine != "embedded":
        raise ValueError(f"unknown engine {engine!r}")
    config = Settings(
        data_dir=data_dir,
        clock="manual" if today else "system",
        **settings,  # type: ignore[arg-type]
    )
    platform = build_embedded(config, today=today)
    await platform.start()
    app = create_app(platform, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://fordra.test") as client:
            yield Running(platform, client)
    finally:
        await platform.stop()
