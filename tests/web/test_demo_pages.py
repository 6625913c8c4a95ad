"""``fordra run --demo`` gives the ops web something true to show (issue 17): the demo's work
reaches the queues through the use cases, and the pages show what the API answers."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fordra.app.demo import load_demo
from fordra.app.ops.session import COOKIE
from fordra.kernel.auth import Role
from tests.utils.platform import running_platform


async def test_the_demo_fills_the_queues_the_pages_show(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=date(2026, 1, 20)) as fordra:
        ids = await load_demo(fordra.platform)
        api = fordra.auth(Role.CASE_OFFICER)
        page = {"Accept": "text/html", "Cookie": f"{COOKIE}={fordra.token(Role.CASE_OFFICER)}"}

        async def both(api_url: str, page_url: str) -> tuple[list[dict[str, object]], str]:
            r = await fordra.client.get(api_url, headers=api)
            assert r.status_code == 200, r.text
            p = await fordra.client.get(page_url, headers=page)
            assert p.status_code == 200, p.text
            return list(r.json()["items"]), p.text

        # A payment without its OCR number, with the water invoice of that amount suggested
        (payment,), html = await both("/api/v1/payments/unmatched", "/ops/unmatched")
        suggestions = payment["suggestions"]
        assert isinstance(suggestions, list)
        assert len(suggestions) == 1
        assert re.findall(r'data-payment-id="([^"]+)"', html) == [payment["payment_id"]]
        assert "Vatten Kyrkvägen 12" in html
        # A disputed invoice, and a payment plan awaiting the customer's signature
        (dispute,), html = await both("/api/v1/dunning/disputed", "/ops/disputes")
        assert str(dispute["invoice_id"]) in html
        (plan,), html = await both("/api/v1/payment-plans", "/ops/payment-plans")
        assert plan["status"] == "awaiting_signature"
        assert plan["customer_id"] == ids[0]
        assert "Väntar på underskrift" in html
