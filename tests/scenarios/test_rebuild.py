"""The read side rebuilt from zero equals the one built as events came, whichever context's log
is replayed first (a rebuild has no order between contexts)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.scenarios.test_payments import BGMAX, COMPANY, PRINTED, advance, issue, post_file
from tests.utils.platform import Engine, Running, running_platform


async def snapshot(fordra: Running, customer_id: str) -> tuple[Any, Any]:
    ledger = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    queue = await fordra.client.get(
        "/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD)
    )
    return ledger.json(), queue.json()


async def test_a_rebuild_in_any_order_ends_identical(tmp_path: Path) -> None:
    # Embedded only: it replays through the runners directly; the Kafka engine's rebuild from
    # zero is covered by tests/distributed/test_faults.py.
    engine = Engine("embedded")
    async with running_platform(engine, tmp_path, today=PRINTED) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
        cid = r.json()["customer_id"]
        await issue(fordra, cid, ocr="524967", price_ore=190000)
        await issue(fordra, cid, ocr="525766", price_ore=30000)
        await issue(fordra, cid, ocr="1234574", price_ore=40000)
        await advance(fordra, date(2004, 5, 26))
        assert (await post_file(fordra, BGMAX.read_bytes())).status_code == 201
        before = await snapshot(fordra, cid)

        # When every projection is reset and replayed, payments' log before invoicing's
        platform = fordra.platform
        assert platform.bus is not None
        await platform.bus.stop()
        for runner in platform.runners:
            await runner.reset()
            for upstream in sorted(runner.projection.upstreams, reverse=True):
                events = await platform.stores[upstream].read_log(0, 100_000)
                await runner.handle(upstream, events)
        await platform.bus.start()

        # Then the ledger and the queue are what they were
        assert await snapshot(fordra, cid) == before
