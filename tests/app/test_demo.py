"""The demo municipality loads under every rule, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.app.demo import load_demo
from fordra.kernel.auth import Role
from tests.utils.platform import running_platform


async def test_the_demo_loads_once_under_every_rule(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=date(2026, 1, 20)) as fordra:
        # When the demo is loaded twice
        ids = await load_demo(fordra.platform)
        head = await fordra.platform.stores["invoicing"].max_position()
        assert await load_demo(fordra.platform) == ids
        # Then the second load appended nothing, and the first issued all six invoices
        assert await fordra.platform.stores["invoicing"].max_position() == head
        invoices = 0
        for cid in ids:
            r = await fordra.client.get(
                f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
            )
            invoices += len(r.json()["invoices"])
        assert invoices == 6
