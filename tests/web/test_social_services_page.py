"""The social welfare board's page (issue 17, domain.md §2 and §6): the board of the
municipality where the electricity is delivered sees its messages as its API answers them, a
protected identity without name or site, and marks a message read through the page; another
municipality's board sees none of them."""

from __future__ import annotations

import re
from pathlib import Path

from fordra.app.ops.session import COOKIE, csrf_token
from fordra.kernel.auth import Role
from tests.scenarios.test_dunning_flow import advance
from tests.utility_disconnect.test_disconnection_cases import TODAY, open_case, step
from tests.utility_disconnect.test_social_services import queue
from tests.utility_disconnect.test_supply_points import (
    PERSON,
    customer,
    electricity_invoice,
    supply_point,
)
from tests.utils.platform import Running, running_platform

HIDDEN = {
    **PERSON,
    "id_number": "196501133372",
    "name": "Hemlig Person",
    "protected_identity": True,
}


async def noticed_cases(fordra: Running, *people: dict[str, object]) -> None:
    """Each person's flat in Tranemo with 1,200 kr unpaid since 2026-02-02, taken to the notice
    on 2026-03-16 (tests/utility_disconnect/test_social_services.py, for several at once)."""
    cases = []
    for person in people:
        cid = await customer(fordra, person)
        flat = await supply_point(
            fordra, cid, site_municipality="Tranemo", site_address="Ågatan 3, 514 30 Tranemo"
        )
        await electricity_invoice(
            fordra, cid, flat, ("electricity_supply", 120_000), invoice_date="2026-01-02"
        )
        cases.append(flat)
    await advance(fordra, "2026-02-16")
    ids = [(await open_case(fordra, flat))["case_id"] for flat in cases]
    for day in ("2026-02-27", "2026-03-16"):
        for case_id in ids:
            await step(fordra, case_id)
        await advance(fordra, day)
    for case_id in ids:
        assert (await step(fordra, case_id))["kind"] == "notice"


def board_page(fordra: Running, municipality: str) -> dict[str, str]:
    token = fordra.token(Role.SOCIAL_SERVICES, municipality=municipality)
    return {"Accept": "text/html", "Cookie": f"{COOKIE}={token}"}


async def test_the_board_sees_its_messages_as_the_api_answers_them(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given notices for a flat in Tranemo, one of them a protected identity's
        await noticed_cases(fordra, PERSON, HIDDEN)
        messages = await queue(fordra, "Tranemo")
        assert sorted(m["protected_identity"] for m in messages) == [False, True]

        # Then Tranemo's board sees both on its page, the protected one without name or site
        headers = board_page(fordra, "Tranemo")
        page = await fordra.client.get("/ops/social-services", headers=headers)
        assert page.status_code == 200
        rows = re.findall(r'data-notification-id="([^"]+)"', page.text)
        assert rows == [m["notification_id"] for m in messages]
        assert "Tolvan Tolvansson" in page.text
        assert "Hemlig" not in page.text
        assert page.text.count("Skyddad identitet") == 1
        for m in messages:
            assert f'data-ore="{m["debt_ore"]}"' in page.text
        # Another municipality's board sees none of them
        other = await fordra.client.get("/ops/social-services", headers=board_page(fordra, "Borås"))
        assert re.findall(r'data-notification-id="([^"]+)"', other.text) == []

        # When the board marks the first message read through the page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf
        first = messages[0]["notification_id"]
        url = f"/ops/social-services/{first}/acknowledge"
        r = await fordra.client.post(url, data={"csrf": csrf.group(1)}, headers=headers)
        assert r.status_code == 303, r.text
        # Then the API has it read on the business date, and the other not
        read = {m["notification_id"]: m["acknowledged_on"] for m in await queue(fordra, "Tranemo")}
        assert read[first] is not None
        assert [v for k, v in read.items() if k != first] == [None]
        # And Borås's board may not mark Tranemo's message: not found for it
        boras = board_page(fordra, "Borås")
        own = re.search(r'name="csrf" value="([0-9a-f]+)"', other.text)
        assert own is None  # nothing to mark on its own page: take the token as a form would
        token = boras["Cookie"].split("=", 1)[1]
        r = await fordra.client.post(
            f"/ops/social-services/{messages[1]['notification_id']}/acknowledge",
            data={"csrf": csrf_token(fordra.platform.secrets.token_key, token)},
            headers=boras,
        )
        assert r.status_code == 404
