"""A read side rebuilt from zero gives the same pages (issue 17, "Done when"): every projection
reset and replayed from the stores, the ops web's pages are what they were, byte for byte but
for the idempotency key each form is drawn with."""

from __future__ import annotations

import re
from pathlib import Path

from fordra.app.ops.session import COOKIE
from fordra.kernel.auth import Role
from tests.utils.platform import Running, running_platform
from tests.web.work import TODAY, given_work_in_every_queue


async def pages(fordra: Running, token: str, urls: list[str]) -> dict[str, str]:
    headers = {"Accept": "text/html", "Cookie": f"{COOKIE}={token}"}
    shown: dict[str, str] = {}
    for url in urls:
        r = await fordra.client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        shown[url] = re.sub(r'name="idempotency_key" value="[^"]*"', "", r.text)
    return shown


async def test_a_rebuilt_read_side_gives_the_same_pages(tmp_path: Path) -> None:
    # Embedded only: the runners are replayed directly, as tests/scenarios/test_rebuild.py does
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        work = await given_work_in_every_queue(fordra)
        urls = [
            f"/ops/customers/{work.customer_id}",
            f"/ops/customers/{work.protected_customer_id}",
            "/ops/unmatched",
            "/ops/dunning/proposals",
            "/ops/disputes",
            "/ops/payment-plans",
            "/ops/agency/tasks",
        ]
        token = fordra.token(Role.CASE_OFFICER)  # one sign-in: the forms' CSRF token alike
        before = await pages(fordra, token, urls)

        # When every projection is reset and replayed from the stores
        platform = fordra.platform
        assert platform.bus is not None
        await platform.bus.stop()
        for runner in platform.runners:
            await runner.reset()
            for upstream in runner.projection.upstreams:
                events = await platform.stores[upstream].read_log(0, 100_000)
                await runner.handle(upstream, events)
        await platform.bus.start()

        # Then every page shows what it showed
        after = await pages(fordra, token, urls)
        assert after == before
