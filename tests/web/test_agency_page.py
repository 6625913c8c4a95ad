"""The agency cases' deadlines on the ops web (issue 17, domain.md §5): after an objection, the
task to decide on the district court shows with its deadline on the tasks page and on the
customer's ledger, as the API answers them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fordra.app.ops.session import COOKIE
from fordra.kernel.auth import Role
from tests.utils.agency import AGENCY_SETTINGS, advance, handed_over, list_tasks, report
from tests.utils.platform import running_platform


async def test_an_objections_deadline_shows_on_the_tasks_page_and_the_ledger(
    tmp_path: Path,
) -> None:
    async with running_platform(
        "embedded", tmp_path, today=date(2026, 3, 2), agency=AGENCY_SETTINGS
    ) as fordra:
        # Given a claim handed over, a payment order filed and the debtor's objection, its
        # notice sent on 2026-05-05
        invoice = await handed_over(fordra)
        base = {"case_id": invoice["case_id"]}
        await advance(fordra, "2026-04-28")
        for n, kind in enumerate(("opened", "payment_order_filed"), start=1):
            await report(
                fordra, {**base, "event_id": f"e{n}", "kind": kind, "occurred_on": "2026-04-28"}
            )
        await advance(fordra, "2026-05-06")
        await report(
            fordra,
            {
                **base,
                "event_id": "e3",
                "kind": "objection",
                "occurred_on": "2026-05-06",
                "notice_sent_on": "2026-05-05",
            },
        )
        (task,) = await list_tasks(fordra)
        headers = {"Accept": "text/html", "Cookie": f"{COOKIE}={fordra.token(Role.CASE_OFFICER)}"}

        # Then the tasks page shows the court decision due 3 weeks after the notice
        page = await fordra.client.get("/ops/agency/tasks", headers=headers)
        assert page.status_code == 200
        row = re.search(rf'<tr data-task-id="{task["task_id"]}">(.*?)</tr>', page.text, re.S)
        assert row, page.text
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row[1], re.S)
        ]
        assert cells[0] == task["deadline"] == "2026-05-26"
        assert cells[1] == "Beslut om tingsrätt efter bestridande"
        assert cells[3] == task["invoice_id"] == invoice["invoice_id"]
        # And the customer's ledger shows the case's status with the same deadline
        ledger = await fordra.client.get(
            f"/ops/customers/{invoice['customer_id']}", headers=headers
        )
        assert "Bestridande, frist 2026-05-26" in ledger.text
