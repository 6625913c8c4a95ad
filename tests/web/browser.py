"""The ops web served for a real browser: the app on a free port (uvicorn in the test's event
loop, so the test, the server and the platform share one loop), and headless Chromium from the
Debian package driven by Playwright (which downloads no browser here: it is given the path)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from fordra.app.http import create_app
from fordra.app.ops.session import COOKIE
from tests.utils.platform import Running

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@asynccontextmanager
async def served(fordra: Running) -> AsyncIterator[str]:
    """The app over HTTP on 127.0.0.1 and a port the OS picks (xdist workers never collide)."""
    app = create_app(fordra.platform, manage_lifecycle=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why the server did not start
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Chromium as installed by deploy/install-servers.sh; missing, the test fails (no skip)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "no chromium on PATH: run deploy/install-servers.sh (apt-get install chromium)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, base_url: str, token: str) -> None:
    """Through the sign-in page, by keyboard: the token typed, Enter pressed."""
    await page.goto(f"{base_url}/ops/sign-in")
    await page.get_by_label("Token").fill(token)
    await page.get_by_label("Token").press("Enter")
    await page.wait_for_url(f"{base_url}/ops/")


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def cookie_of(page: Page) -> dict[str, object]:
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    return dict(cookie)
